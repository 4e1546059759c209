"""The generated client and its truth, and reading back the tables ``cxlib demo`` writes.

:class:`DemoData` holds the observed tables, :class:`DemoTruth` the latent quantities;
:func:`read_demo` reads a demo folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cxlib.demo._settings import HOLDOUT_END, HOLDOUT_START, OBSERVATION_END


@dataclass(eq=False)
class DemoTruth:
    """What the generator knows and an analyst must estimate.

    Attributes
    ----------
    params : dict
        Every generator parameter: ``segments`` (per segment: share, BG/NBD ``r``, ``alpha``,
        ``a``, ``b``, Gamma-Gamma ``p``, ``q``, ``v``, satisfaction mean and dropout slope,
        share-of-wallet mean, category/channel/acquisition mixes), ``themes`` (dropout
        effects, refund rates), ``settings`` (satisfaction effects on rate and spend, complaint,
        survey, refund and wallet models), dates, ``n_customers``, ``seed``, and ``pooled``:
        the single-population ``r, alpha, a, b, p, q, v`` closest to the latent values (what
        one BG/NBD + Gamma-Gamma fitted to all customers should find). Rates are per week.
    customers : DataFrame
        One row per customer: ``customer_id``, ``segment``, ``purchase_rate`` (per week),
        ``dropout_probability`` (after each repeat purchase), ``satisfaction``, ``nu``
        (Gamma-Gamma scale), ``expected_order_value``, ``expected_annual_spend`` (while alive),
        ``wallet`` (annual spend capacity in the client's categories), ``share_of_wallet``,
        ``wallet_<category>`` (the wallet split by category: expected spend with the client in
        the segment's category mix plus the headroom in the market's mix; they sum to
        ``wallet``),
        ``complaint_theme`` (None if no complaint), ``alive_at_end`` (alive on
        ``observation_end``), ``alive_at_holdout_end``, ``dropout_date`` (the day of the last
        purchase, right after which the customer left; NaT if still alive on ``holdout_end``).
    future_transactions : DataFrame
        Transactions in the holdout window, same columns as the observed transactions.
    feedback_themes : Series
        The true theme of each feedback row (aligned with ``DemoData.feedback``): a complaint
        theme or ``"positive"``.
    observation_end, holdout_start, holdout_end : Timestamp
        The last observed day and the holdout window (inclusive).
    """

    params: dict[str, Any]
    customers: pd.DataFrame
    future_transactions: pd.DataFrame
    feedback_themes: pd.Series
    observation_end: pd.Timestamp = OBSERVATION_END
    holdout_start: pd.Timestamp = HOLDOUT_START
    holdout_end: pd.Timestamp = HOLDOUT_END

    def __repr__(self) -> str:
        return (
            f"DemoTruth(customers={len(self.customers):,}, "
            f"future_transactions={len(self.future_transactions):,}, "
            f"observation_end={self.observation_end.date()}, "
            f"holdout={self.holdout_start.date()}..{self.holdout_end.date()})"
        )


@dataclass(eq=False)
class DemoData:
    """The demo client's exports (canonical frames) and the generator's truth.

    Attributes
    ----------
    transactions : DataFrame
        ``customer_id`` (str), ``date`` (datetime64[ns], whole days), ``amount`` (float, negative
        for refunds), ``order_id`` (int64; a refund repeats its order's id), ``category``,
        ``channel``. Sorted by date, then customer.
    customers : DataFrame
        ``customer_id``, ``signup_date``, ``acquisition_channel``, ``acquisition_cost``,
        ``region``, ``age_band``.
    surveys : DataFrame
        ``customer_id``, ``date``, ``score`` (int64, 0-10), ``comment`` (str or None).
    feedback : DataFrame
        ``customer_id``, ``date``, ``text``, ``channel``.
    truth : DemoTruth
        Latent quantities, parameters and the holdout transactions.
    experiments : DataFrame or None
        The seeded experiment's assignments (:mod:`cxlib.demo._experiment`): ``customer_id``,
        ``experiment``, ``group``, ``start``, ``end``; its true effects are in
        ``truth.params["experiment"]``.
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    surveys: pd.DataFrame
    feedback: pd.DataFrame
    truth: DemoTruth
    experiments: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (
            f"DemoData(customers={len(self.customers):,}, "
            f"transactions={len(self.transactions):,}, surveys={len(self.surveys):,}, "
            f"feedback={len(self.feedback):,}, "
            f"future_transactions={len(self.truth.future_transactions):,})"
        )

    def write(self, directory: str | Path) -> Path:
        """Write the exports and the truth to ``directory``, replacing what was there.

        Files: ``transactions.csv.gz``, ``customers.csv``, ``surveys.csv``, ``feedback.csv``,
        ``experiments.csv``
        (dates as ``%Y-%m-%d``), ``truth/customers.parquet``,
        ``truth/future_transactions.parquet``, ``truth/feedback_themes.csv``,
        ``truth/params.json``, then an empty ``.complete`` marker. Everything is written to a
        temporary sibling folder first and renamed into place, so a folder with ``.complete``
        is never half-written.

        Parameters
        ----------
        directory : str or Path
            Destination folder (created, with its parents, if missing).

        Returns
        -------
        Path
            The destination folder.
        """
        directory = Path(directory).resolve()
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; give it a normal folder's mode
        try:
            self._write_files(tmp)
            old = None
            if directory.exists():
                old = directory.parent / f"{tmp.name}.old"
                os.replace(directory, old)
            os.replace(tmp, directory)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return directory

    def _write_files(self, folder: Path) -> None:
        date_format = "%Y-%m-%d"
        gzip = {"method": "gzip", "compresslevel": 6, "mtime": 0}
        self.transactions.to_csv(
            folder / "transactions.csv.gz",
            index=False,
            date_format=date_format,
            compression=gzip,
        )
        for name in ("customers", "surveys", "feedback", "experiments"):
            if getattr(self, name) is not None:
                getattr(self, name).to_csv(
                    folder / f"{name}.csv", index=False, date_format=date_format
                )
        truth_dir = folder / "truth"
        truth_dir.mkdir()
        self.truth.customers.to_parquet(truth_dir / "customers.parquet", index=False)
        self.truth.future_transactions.to_parquet(
            truth_dir / "future_transactions.parquet", index=False
        )
        self.truth.feedback_themes.rename("theme").to_frame().to_csv(
            truth_dir / "feedback_themes.csv", index=False
        )
        (truth_dir / "params.json").write_text(
            json.dumps(self.truth.params, indent=2, sort_keys=True), encoding="utf-8"
        )
        (folder / ".complete").touch()


def read_demo(directory: str | Path) -> DemoData:
    """Read a folder written by :meth:`DemoData.write` back into a :class:`DemoData`.

    Parameters
    ----------
    directory : str or Path
        A folder written by ``DemoData.write`` (it must contain the ``.complete`` marker).

    Returns
    -------
    DemoData
        The same frames as were written (CSV round trip: comments that were None read as NaN).
    """
    directory = Path(directory)
    if not (directory / ".complete").is_file():
        raise FileNotFoundError(
            f"{directory} is not a complete demo folder (no .complete marker); "
            "run `cxlib demo --out DIR` to write one"
        )
    dates = {"parse_dates": ["date"]}
    transactions = pd.read_csv(
        directory / "transactions.csv.gz", dtype={"customer_id": str}, **dates
    )
    customers = pd.read_csv(
        directory / "customers.csv", dtype={"customer_id": str}, parse_dates=["signup_date"]
    )
    surveys = pd.read_csv(directory / "surveys.csv", dtype={"customer_id": str}, **dates)
    feedback = pd.read_csv(directory / "feedback.csv", dtype={"customer_id": str}, **dates)
    experiments = None
    if (directory / "experiments.csv").is_file():
        experiments = pd.read_csv(
            directory / "experiments.csv", dtype={"customer_id": str}, parse_dates=["start", "end"]
        )
    truth_dir = directory / "truth"
    params = json.loads((truth_dir / "params.json").read_text(encoding="utf-8"))
    truth = DemoTruth(
        params=params,
        customers=pd.read_parquet(truth_dir / "customers.parquet"),
        future_transactions=pd.read_parquet(truth_dir / "future_transactions.parquet"),
        feedback_themes=pd.read_csv(truth_dir / "feedback_themes.csv")["theme"],
        observation_end=pd.Timestamp(params["observation_end"]),
        holdout_start=pd.Timestamp(params["holdout_start"]),
        holdout_end=pd.Timestamp(params["holdout_end"]),
    )
    return DemoData(transactions, customers, surveys, feedback, truth, experiments)
