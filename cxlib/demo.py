"""A seeded, realistic demo client generated from explicit behavioural mechanisms.

:func:`make_demo` simulates a retailer's customers over three observed years
(2023-01-01 .. 2025-12-31) and a six-month holdout (2026-01-01 .. 2026-06-30) that is kept out
of the observed data and returned, with every latent quantity, in ``.truth``.

The mechanisms, in the order they are simulated:

1. **Segments.** Each customer belongs to one of five latent segments (:data:`DEFAULT_SEGMENTS`)
   that differ in purchase rate, dropout, order value, categories, channels, satisfaction,
   share of wallet and acquisition channel.
2. **Acquisition.** Customers arrive over the three years, more early than late; their first
   purchase is on the acquisition day. Acquisition cost depends on the channel, with noise.
3. **Satisfaction.** A latent, roughly standard-normal score per customer with a segment mean.
   It raises the purchase rate and order value a little, and lowers the dropout probability
   with a *segment-dependent* slope (weak for the most valuable segment).
4. **Complaints.** The lower the satisfaction, the likelier a customer complains; each complaint
   theme (:data:`DEFAULT_THEMES`) raises dropout by its own amount. Complainers write one or
   two feedback texts on their theme, late in their active life; satisfied customers
   sometimes write praise.
5. **Purchasing (BG/NBD).** Weekly rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase
   the customer drops out with probability ``p`` (``logit p = logit(Beta(a, b)) - slope *
   satisfaction + theme effect``). At most one order per day.
6. **Spend (Gamma-Gamma).** ``nu ~ Gamma(q, v)`` per customer, order value ``~ Gamma(p, nu)``,
   times ``exp(spend_slope * satisfaction)``. About 3% of orders are refunded (fully or partly)
   a few days later, as a negative-amount row with the same ``order_id``.
7. **Surveys.** About 25% of customers answer 1-3 NPS surveys during their active life (the
   more they bought, the likelier they answer: non-response bias); the score is a noisy
   monotone function of satisfaction, sometimes with a short comment.
8. **Wallet.** Each customer's share of wallet is Beta-distributed (segment mean, raised by
   satisfaction); the wallet is the expected annual spend divided by that share, so the truth
   is consistent with the simulated purchases. The wallet is split by category (spend in the
   segment's category mix plus headroom in the market's mix). Age band and region depend on
   the wallet, so a wallet model has something to learn from.

The segments at a glance (defaults; weekly rate mean ``r/alpha``, dropout mean ``a/(a+b)``
before the satisfaction and complaint effects, mean order value ``p v/(q-1)``, satisfaction
mean, and its slope on the logit of dropout):

==================  =====  ========  ========  ==========  ============  ===============
segment             share  rate/wk   dropout   order val   satisfaction  dropout slope
==================  =====  ========  ========  ==========  ============  ===============
Premium loyalists   0.12   0.24      0.05      110         +0.15         0.1 (weak)
Bargain regulars    0.26   0.32      0.09      20          -0.15         0.7
Occasional gifters  0.20   0.06      0.11      67          +0.85         0.5
Digital newcomers   0.22   0.12      0.13      35          +0.10         0.9
Lapsing mainstream  0.20   0.15      0.26      40          -0.55         0.5
==================  =====  ========  ========  ==========  ============  ===============

Premium loyalists carry about half of the revenue, yet the Occasional gifters have the highest
NPS. ``truth.params["pooled"]`` gives the single-population BG/NBD and Gamma-Gamma parameters
closest to the latent values (what one model fitted to all customers should find). A customer
leaves right after their last purchase (BG/NBD), so ``dropout_date`` is that purchase's day.

Examples
--------
>>> demo = make_demo(n_customers=500, seed=1)
>>> sorted(demo.transactions.columns)
['amount', 'category', 'channel', 'customer_id', 'date', 'order_id']
>>> bool((demo.truth.future_transactions["date"] >= demo.truth.holdout_start).all())
True
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlib._demo_experiment import DEFAULT_EXPERIMENT, simulate_experiment

__all__ = [
    "ACQUISITION_CHANNELS",
    "AGE_BANDS",
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_SEGMENTS",
    "DEFAULT_SETTINGS",
    "DEFAULT_THEMES",
    "DemoData",
    "DemoTruth",
    "HOLDOUT_END",
    "HOLDOUT_START",
    "OBSERVATION_END",
    "REGIONS",
    "START",
    "make_demo",
    "read_demo",
]

START = pd.Timestamp("2023-01-01")
OBSERVATION_END = pd.Timestamp("2025-12-31")
HOLDOUT_START = pd.Timestamp("2026-01-01")
HOLDOUT_END = pd.Timestamp("2026-06-30")
DAYS_PER_WEEK = 7.0
WEEKS_PER_YEAR = 365.25 / 7.0

CATEGORIES = ("groceries", "electronics", "home", "fashion", "beauty", "toys")
CHANNELS = ("store", "online", "app")
ACQUISITION_CHANNELS = ("paid_search", "social", "referral", "store", "affiliate")
REGIONS = ("Capital", "North", "South", "East", "West")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")

#: Latent segments. ``r``/``alpha``: Gamma prior of the weekly purchase rate (shape, rate);
#: ``a``/``b``: Beta prior of the dropout probability; ``p``/``q``/``v``: Gamma-Gamma spend;
#: ``satisfaction_mean``: mean latent satisfaction; ``satisfaction_dropout_slope``: how strongly
#: satisfaction lowers the logit of dropout; ``wallet_share_mean``: mean share of wallet at
#: satisfaction 0; the rest are probabilities over CATEGORIES, CHANNELS, ACQUISITION_CHANNELS.
DEFAULT_SEGMENTS: dict[str, dict[str, Any]] = {
    "Premium loyalists": {
        "share": 0.12,
        "r": 2.2,
        "alpha": 9.0,
        "a": 0.35,
        "b": 7.0,
        "p": 6.0,
        "q": 4.0,
        "v": 55.0,
        "satisfaction_mean": 0.15,
        "satisfaction_dropout_slope": 0.1,
        "wallet_share_mean": 0.55,
        "categories": [0.15, 0.30, 0.25, 0.20, 0.08, 0.02],
        "channels": [0.55, 0.30, 0.15],
        "acquisition_channels": [0.15, 0.05, 0.35, 0.35, 0.10],
    },
    "Bargain regulars": {
        "share": 0.26,
        "r": 1.6,
        "alpha": 5.0,
        "a": 0.6,
        "b": 6.0,
        "p": 4.0,
        "q": 5.0,
        "v": 20.0,
        "satisfaction_mean": -0.15,
        "satisfaction_dropout_slope": 0.7,
        "wallet_share_mean": 0.45,
        "categories": [0.60, 0.03, 0.15, 0.07, 0.10, 0.05],
        "channels": [0.70, 0.15, 0.15],
        "acquisition_channels": [0.20, 0.15, 0.15, 0.40, 0.10],
    },
    "Occasional gifters": {
        "share": 0.20,
        "r": 0.9,
        "alpha": 14.0,
        "a": 0.5,
        "b": 4.0,
        "p": 5.0,
        "q": 4.0,
        "v": 40.0,
        "satisfaction_mean": 0.85,
        "satisfaction_dropout_slope": 0.5,
        "wallet_share_mean": 0.12,
        "categories": [0.03, 0.15, 0.10, 0.17, 0.25, 0.30],
        "channels": [0.40, 0.50, 0.10],
        "acquisition_channels": [0.30, 0.15, 0.25, 0.15, 0.15],
    },
    "Digital newcomers": {
        "share": 0.22,
        "r": 1.1,
        "alpha": 9.0,
        "a": 0.7,
        "b": 4.5,
        "p": 4.0,
        "q": 3.5,
        "v": 22.0,
        "satisfaction_mean": 0.10,
        "satisfaction_dropout_slope": 0.9,
        "wallet_share_mean": 0.25,
        "categories": [0.10, 0.30, 0.08, 0.30, 0.17, 0.05],
        "channels": [0.05, 0.35, 0.60],
        "acquisition_channels": [0.30, 0.45, 0.05, 0.02, 0.18],
    },
    "Lapsing mainstream": {
        "share": 0.20,
        "r": 1.2,
        "alpha": 8.0,
        "a": 1.2,
        "b": 3.5,
        "p": 4.0,
        "q": 3.5,
        "v": 25.0,
        "satisfaction_mean": -0.55,
        "satisfaction_dropout_slope": 0.5,
        "wallet_share_mean": 0.30,
        "categories": [0.35, 0.10, 0.20, 0.20, 0.10, 0.05],
        "channels": [0.50, 0.35, 0.15],
        "acquisition_channels": [0.30, 0.25, 0.10, 0.20, 0.15],
    },
}

#: Complaint themes: ``dropout_effect`` is added to the logit of the dropout probability,
#: ``weight`` is the theme's base probability among complainers, ``refund_rate`` the share
#: of the complainer's orders that are refunded.
DEFAULT_THEMES: dict[str, dict[str, float]] = {
    "late_delivery": {"weight": 0.25, "dropout_effect": 0.5, "refund_rate": 0.04},
    "refund_hassle": {"weight": 0.20, "dropout_effect": 1.4, "refund_rate": 0.08},
    "product_quality": {"weight": 0.25, "dropout_effect": 0.8, "refund_rate": 0.08},
    "app_problems": {"weight": 0.15, "dropout_effect": 0.15, "refund_rate": 0.03},
    "rude_staff": {"weight": 0.15, "dropout_effect": 0.6, "refund_rate": 0.03},
}

#: Everything else the generator uses (recorded in ``truth.params``).
DEFAULT_SETTINGS: dict[str, Any] = {
    "acquisition_beta": [1.0, 1.6],  # acquisition day ~ Beta(1, 1.6) over the observed period
    "acquisition_cost_mean": {
        "paid_search": 42.0,
        "social": 30.0,
        "referral": 18.0,
        "store": 12.0,
        "affiliate": 25.0,
    },
    "acquisition_cost_sigma": 0.35,  # lognormal noise
    "satisfaction_sd": 1.0,
    "satisfaction_rate_slope": 0.15,  # purchase rate *= exp(slope * satisfaction)
    "satisfaction_spend_slope": 0.08,  # order value *= exp(slope * satisfaction)
    "complaint_intercept": -2.2,  # P(complain) = expit(intercept + slope * satisfaction)
    "complaint_slope": -1.0,
    "complaint_two_texts": 0.3,  # share of complainers who write twice
    "complaint_timing_power": 0.5,  # complaint at acquisition + U**power x active life
    "digital_app_theme_boost": 2.5,  # Digital newcomers: app_problems weight multiplier
    "praise_intercept": -3.2,  # P(praise | no complaint) = expit(intercept + slope * sat)
    "praise_slope": 0.9,
    "refund_rate": 0.03,
    "refund_full_share": 0.5,  # else a partial refund of 20-80%
    "refund_delay_days": [1, 14],
    "survey_response_rate": 0.25,  # at average activity
    "survey_activity_slope": 0.4,  # logit(respond) per unit of log(1 + observed orders)
    "survey_answers_probs": [0.6, 0.3, 0.1],  # 1, 2 or 3 answers
    "survey_intercept": 7.2,  # score = round(intercept + slope * sat + N(0, noise)), clipped
    "survey_slope": 1.5,
    "survey_noise": 1.1,
    "survey_comment_rate": 0.4,
    "wallet_share_concentration": 12.0,
    "wallet_share_satisfaction_slope": 0.35,  # logit(share mean) += slope * satisfaction
    "wallet_share_min": 0.02,
    "market_category_mix": {  # how the headroom (wallet - spend) splits across categories
        "groceries": 0.35,
        "electronics": 0.15,
        "home": 0.15,
        "fashion": 0.15,
        "beauty": 0.1,
        "toys": 0.1,
    },
    "market_mix_concentration": 20.0,  # Dirichlet concentration of each customer's headroom mix
    "demographic_wallet_noise": 0.8,
    "age_band_wallet_slopes": [-0.9, -0.3, 0.4, 0.6, 0.1, -0.4],
    "region_wallet_slopes": [0.7, 0.0, -0.2, -0.4, 0.0],
}

_FEEDBACK_CHANNELS = ("email", "app_review", "call_centre", "store", "social_media")


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
        The seeded experiment's assignments (:mod:`cxlib._demo_experiment`): ``customer_id``,
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


# --------------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------------


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element of ``rows`` from the probability row ``probs[rows]``."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int8)
    for k in range(probs.shape[0]):
        mask = rows == k
        out[mask] = np.searchsorted(cum[k], u[mask], side="right")
    return np.minimum(out, probs.shape[1] - 1)


def _choice_logits(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``logits`` (n x k) by the Gumbel-max trick."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def _to_dates(day_index: np.ndarray) -> np.ndarray:
    """Day numbers since START as datetime64[ns]."""
    days = np.datetime64(START.date(), "D") + day_index.astype("timedelta64[D]")
    return days.astype("datetime64[ns]")


def _check_params(n_customers: Any, seed: Any) -> None:
    if (
        isinstance(n_customers, bool)
        or not isinstance(n_customers, (int, np.integer))
        or (n_customers < 1)
    ):
        raise ValueError(
            "The 'n_customers' parameter of make_demo must be a positive integer. "
            f"Got {n_customers!r} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            "The 'seed' parameter of make_demo must be a non-negative integer. "
            f"Got {seed!r} instead."
        )


def _pooled_params(
    rate: np.ndarray, dropout: np.ndarray, order_value: np.ndarray, p_shape: np.ndarray
) -> dict[str, float]:
    """Single-population BG/NBD and Gamma-Gamma parameters closest to the latent values.

    The generator is a mixture of segments (with satisfaction effects), so no single
    ``(r, alpha, a, b, p, q, v)`` is "the truth" for a one-population model. These are the
    maximum-likelihood fits of Gamma(r, alpha) to the customers' weekly purchase rates,
    Beta(a, b) to their dropout probabilities and, with ``p`` the customers' mean spend shape,
    Gamma(q, v) to ``p / expected order value``: the parameters a well-fitted model should be
    near.
    """
    from scipy import stats

    if len(rate) < 10:
        return {}
    r, _, scale = stats.gamma.fit(rate, floc=0)
    a, b, _, _ = stats.beta.fit(np.clip(dropout, 1e-9, 1 - 1e-9), floc=0, fscale=1)
    p = float(np.mean(p_shape))
    q, _, v_scale = stats.gamma.fit(p / order_value, floc=0)
    return {
        "r": float(r),
        "alpha": float(1 / scale),
        "a": float(a),
        "b": float(b),
        "p": p,
        "q": float(q),
        "v": float(1 / v_scale),
    }


def _check_overrides(overrides: Any, name: str, what: str, allowed: list[str]) -> None:
    """Check that ``overrides`` is None or a dict using only ``allowed`` names or keys."""
    if overrides is None:
        return
    if not isinstance(overrides, dict):
        raise ValueError(
            f"The '{name}' parameter of make_demo must be a dict or None. "
            f"Got {type(overrides).__name__} instead."
        )
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(
            f"The '{name}' parameter of make_demo must use {what} from {allowed}. "
            f"Got {unknown} instead."
        )


def _merge(defaults: dict[str, Any], overrides: Any, name: str) -> dict[str, Any]:
    """Return a deep copy of ``defaults`` with the keys of ``overrides`` replaced."""
    _check_overrides(overrides, name, "keys", sorted(defaults))
    merged = copy.deepcopy(defaults)
    if overrides is not None:
        merged.update(copy.deepcopy(overrides))
    return merged


def make_demo(
    n_customers: int = 20_000,
    seed: int = 42,
    *,
    segments: dict[str, dict[str, Any]] | None = None,
    themes: dict[str, dict[str, float]] | None = None,
    settings: dict[str, Any] | None = None,
) -> DemoData:
    """Simulate the demo client: observed exports plus the ground truth.

    Parameters
    ----------
    n_customers : int, default 20_000
        Number of customers acquired over the observed three years.
    seed : int, default 42
        Random seed: the same seed (and ``n_customers``) gives identical frames.
    segments, themes, settings : dict, optional
        Overrides of :data:`DEFAULT_SEGMENTS`, :data:`DEFAULT_THEMES` and
        :data:`DEFAULT_SETTINGS`, merged key by key: ``segments={"Premium loyalists":
        {"satisfaction_dropout_slope": 0.8}}`` changes one value and keeps the rest. Segment
        and theme names and keys must exist in the defaults.

    Returns
    -------
    DemoData
        ``.transactions``, ``.customers``, ``.surveys``, ``.feedback`` (canonical frames),
        ``.truth`` (:class:`DemoTruth`) and ``.write(directory)``.

    Examples
    --------
    >>> demo = make_demo(n_customers=300, seed=3)
    >>> len(demo.customers)
    300
    >>> demo.truth.customers["segment"].nunique()
    5
    """
    _check_params(n_customers, seed)
    _check_overrides(segments, "segments", "names", list(DEFAULT_SEGMENTS))
    _check_overrides(themes, "themes", "names", list(DEFAULT_THEMES))
    spec = _Spec(
        n=int(n_customers),
        segments={
            name: _merge(values, (segments or {}).get(name), f"segments[{name!r}]")
            for name, values in DEFAULT_SEGMENTS.items()
        },
        themes={
            name: _merge(values, (themes or {}).get(name), f"themes[{name!r}]")
            for name, values in DEFAULT_THEMES.items()
        },
        settings=_merge(DEFAULT_SETTINGS, settings, "settings"),
    )
    # One independent stream per stage: changing one stage leaves the others' draws alone.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    rng = dict(
        zip(
            (
                "customers",
                "purchases",
                "spend",
                "refunds",
                "surveys",
                "feedback",
                "texts",
                "wallet",
                "category_wallet",
            ),
            streams,
            strict=True,
        )
    )

    pop = _simulate_customers(rng["customers"], spec)
    purchases = _simulate_purchases(rng["purchases"], spec, pop)
    # Gamma-Gamma spend scale per customer, nu ~ Gamma(q, rate v).
    nu = rng["spend"].gamma(spec.seg_array("q")[pop.seg], 1.0 / spec.seg_array("v")[pop.seg])
    rows = _simulate_orders(rng["spend"], rng["refunds"], spec, pop, purchases, nu)
    wallet = _simulate_wallet(rng["wallet"], rng["category_wallet"], spec, pop, purchases.rate, nu)

    ids = np.array(
        [f"C{i:0{max(6, len(str(spec.n)))}d}" for i in range(1, spec.n + 1)], dtype=object
    )
    observed = rows.day < OBS_DAYS
    n_obs_orders = np.bincount(rows.cust[rows.is_order & observed], minlength=spec.n)
    transactions = rows.frame(ids, observed)
    future = rows.frame(ids, ~observed)
    del rows, observed
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": _to_dates(pop.acq_day),
            "acquisition_channel": np.array(ACQUISITION_CHANNELS, dtype=object)[pop.acq_channel],
            "acquisition_cost": pop.acq_cost,
            "region": np.array(REGIONS, dtype=object)[wallet["region"]],
            "age_band": np.array(AGE_BANDS, dtype=object)[wallet["age"]],
        }
    )
    # The seeded experiment: its own stream (the tenth child of the seed), extra orders only.
    extra, experiments, experiment_truth = simulate_experiment(
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(9,))),
        start_date=START,
        n=spec.n,
        ids=ids,
        order_cust=purchases.cust,
        order_day=purchases.day,
        dies=purchases.dies,
        drop_day=purchases.drop_day,
        order_value=(
            spec.seg_array("p")[pop.seg],
            nu,
            np.exp(spec.settings["satisfaction_spend_slope"] * pop.satisfaction),
        ),
        mixes=(pop.seg, spec.seg_array("categories"), spec.seg_array("channels")),
        labels=(CATEGORIES, CHANNELS),
        next_order_id=len(purchases.cust) + 100_001,
        to_dates=_to_dates,
        choice_rows=_choice_rows,
    )
    if len(extra):
        transactions = pd.concat([transactions, extra], ignore_index=True)
        is_refund = transactions["amount"] < 0
        order = (
            transactions.assign(_refund=is_refund)
            .sort_values(["date", "customer_id", "_refund"], kind="stable")
            .index
        )
        transactions = transactions.loc[order].reset_index(drop=True)
    active_end = np.where(purchases.alive_at_end, OBS_DAYS - 1, purchases.drop_day)
    surveys = _simulate_surveys(rng["surveys"], spec, pop, active_end, n_obs_orders, ids)
    feedback, feedback_themes = _simulate_feedback(
        rng["feedback"], rng["texts"], spec, pop, active_end, ids
    )

    theme_names = list(spec.themes)
    theme_of_customer = np.where(
        pop.theme >= 0, np.array(theme_names, dtype=object)[np.maximum(pop.theme, 0)], None
    )
    truth_customers = pd.DataFrame(
        {
            "customer_id": ids,
            "segment": np.array(list(spec.segments), dtype=object)[pop.seg],
            "purchase_rate": purchases.rate,
            "dropout_probability": purchases.dropout,
            "satisfaction": pop.satisfaction,
            "nu": nu,
            "expected_order_value": wallet["expected_order_value"],
            "expected_annual_spend": wallet["expected_annual_spend"],
            "wallet": wallet["wallet"],
            "share_of_wallet": wallet["share_of_wallet"],
            **{f"wallet_{c}": wallet["wallet_by_category"][:, k] for k, c in enumerate(CATEGORIES)},
            "complaint_theme": theme_of_customer,
            "alive_at_end": purchases.alive_at_end,
            "alive_at_holdout_end": ~purchases.dies,
            "dropout_date": np.where(
                purchases.dies, _to_dates(purchases.drop_day), np.datetime64("NaT", "ns")
            ).astype("datetime64[ns]"),
        }
    )
    params = {
        "n_customers": spec.n,
        "seed": int(seed),
        "start": str(START.date()),
        "observation_end": str(OBSERVATION_END.date()),
        "holdout_start": str(HOLDOUT_START.date()),
        "holdout_end": str(HOLDOUT_END.date()),
        "time_unit": "week (purchase_rate, r/alpha); currency units (p/q/v, wallet)",
        "segments": spec.segments,
        "themes": spec.themes,
        "settings": spec.settings,
        "categories": list(CATEGORIES),
        "channels": list(CHANNELS),
        "acquisition_channels": list(ACQUISITION_CHANNELS),
        "regions": list(REGIONS),
        "age_bands": list(AGE_BANDS),
        "experiment": experiment_truth,
        "pooled": _pooled_params(
            purchases.rate,
            purchases.dropout,
            wallet["expected_order_value"],
            spec.seg_array("p")[pop.seg],
        ),
    }
    truth = DemoTruth(
        params=params,
        customers=truth_customers,
        future_transactions=future,
        feedback_themes=feedback_themes,
    )
    return DemoData(transactions, customers, surveys, feedback, truth, experiments)


# --------------------------------------------------------------------------------------------
# simulation stages
# --------------------------------------------------------------------------------------------

OBS_DAYS = (OBSERVATION_END - START).days + 1  # 1096 observed days
HORIZON_DAYS = (HOLDOUT_END - START).days + 1  # 1277 days including the holdout


@dataclass
class _Spec:
    """The merged generator parameters."""

    n: int
    segments: dict[str, dict[str, Any]]
    themes: dict[str, dict[str, float]]
    settings: dict[str, Any]

    def seg_array(self, key: str) -> np.ndarray:
        """One value (or one probability row) per segment, in segment order."""
        return np.array([values[key] for values in self.segments.values()], dtype=float)


@dataclass
class _Population:
    """Per-customer latent draws, in customer-id order (= acquisition order)."""

    seg: np.ndarray  # segment index
    t0: np.ndarray  # continuous acquisition day since START
    acq_day: np.ndarray
    acq_channel: np.ndarray
    acq_cost: np.ndarray
    satisfaction: np.ndarray
    theme: np.ndarray  # complaint theme index, -1 for none


@dataclass
class _Purchases:
    """BG/NBD draws and the resulting order days (sorted by customer, then day)."""

    rate: np.ndarray  # weekly purchase rate
    dropout: np.ndarray  # dropout probability after each repeat purchase
    cust: np.ndarray
    day: np.ndarray
    dies: np.ndarray  # dropped out before the holdout end
    drop_day: np.ndarray  # day of the last purchase for those who died, else -1
    alive_at_end: np.ndarray


@dataclass
class _Rows:
    """Orders and refunds, sorted by day, customer, order before refund."""

    cust: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    order_id: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    is_order: np.ndarray

    def frame(self, ids: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": ids[self.cust[rows]],
                "date": _to_dates(self.day[rows]),
                "amount": self.amount[rows],
                "order_id": self.order_id[rows],
                "category": np.array(CATEGORIES, dtype=object)[self.category[rows]],
                "channel": np.array(CHANNELS, dtype=object)[self.channel[rows]],
            }
        )


def _simulate_customers(rng: np.random.Generator, spec: _Spec) -> _Population:
    """Segment, acquisition day/channel/cost, satisfaction and complaint theme per customer."""
    n, settings = spec.n, spec.settings
    seg_share = spec.seg_array("share")
    seg = rng.choice(len(seg_share), size=n, p=seg_share / seg_share.sum()).astype(np.int8)
    beta_a, beta_b = settings["acquisition_beta"]
    t0 = rng.beta(beta_a, beta_b, size=n) * OBS_DAYS
    # Customer ids follow the acquisition order, like a sequential CRM key.
    order = np.argsort(t0, kind="stable")
    t0, seg = t0[order], seg[order]

    acq_channel = _choice_rows(rng, spec.seg_array("acquisition_channels"), seg)
    cost_mean = np.array([settings["acquisition_cost_mean"][c] for c in ACQUISITION_CHANNELS])
    sigma = settings["acquisition_cost_sigma"]
    acq_cost = np.round(
        cost_mean[acq_channel] * np.exp(rng.normal(-(sigma**2) / 2, sigma, size=n)), 2
    )
    satisfaction = spec.seg_array("satisfaction_mean")[seg] + rng.normal(
        0.0, settings["satisfaction_sd"], size=n
    )
    p_complain = _expit(
        settings["complaint_intercept"] + settings["complaint_slope"] * satisfaction
    )
    complains = rng.random(n) < p_complain
    theme_names = list(spec.themes)
    theme_weights = np.tile(
        [spec.themes[t]["weight"] for t in theme_names], (len(spec.segments), 1)
    )
    digital = list(spec.segments).index("Digital newcomers")
    theme_weights[digital, theme_names.index("app_problems")] *= settings["digital_app_theme_boost"]
    theme = np.where(complains, _choice_rows(rng, theme_weights, seg), -1)
    return _Population(
        seg=seg,
        t0=t0,
        acq_day=np.floor(t0).astype(np.int64),
        acq_channel=acq_channel,
        acq_cost=acq_cost,
        satisfaction=satisfaction,
        theme=theme,
    )


def _simulate_purchases(rng: np.random.Generator, spec: _Spec, pop: _Population) -> _Purchases:
    """BG/NBD purchases from acquisition to the holdout end, at most one order a day.

    Weekly rate ``lambda ~ Gamma(r, alpha) * exp(rate_slope * satisfaction)``; dropout
    ``logit p = logit(Beta(a, b)) - slope_segment * satisfaction + theme effect``. Repeat
    purchases form a Poisson process on (t0, horizon); the customer leaves right after the
    K-th repeat purchase, K ~ Geometric(p). With N events in the window the first
    M = min(N, K) are kept; their times are the first M order statistics of N uniforms, drawn
    as S_k / S_{N+1} with S the partial sums of Exp(1) gaps, so memory grows with the kept
    purchases only.
    """
    n, settings, seg, sat = spec.n, spec.settings, pop.seg, pop.satisfaction
    theme_dropout = np.array([values["dropout_effect"] for values in spec.themes.values()])
    lam = rng.gamma(spec.seg_array("r")[seg], 1.0 / spec.seg_array("alpha")[seg])
    lam *= np.exp(settings["satisfaction_rate_slope"] * sat)  # per week
    p_base = np.clip(rng.beta(spec.seg_array("a")[seg], spec.seg_array("b")[seg]), 1e-6, 1 - 1e-6)
    logit_p = _logit(p_base) - spec.seg_array("satisfaction_dropout_slope")[seg] * sat
    logit_p += np.where(pop.theme >= 0, theme_dropout[np.maximum(pop.theme, 0)], 0.0)
    p_drop = _expit(logit_p)

    span = HORIZON_DAYS - pop.t0
    n_events = rng.poisson(lam * span / DAYS_PER_WEEK)
    k_drop = rng.geometric(p_drop)
    dies = k_drop <= n_events
    m_keep = np.minimum(n_events, k_drop)
    csum = np.cumsum(rng.exponential(1.0, size=int(m_keep.sum())))
    cust_rep = np.repeat(np.arange(n, dtype=np.int32), m_keep)
    group_end = np.cumsum(m_keep)
    first_pos = group_end - m_keep
    base = np.zeros(n)  # partial sum before each customer's first gap
    has = m_keep > 0
    base[has] = np.where(first_pos[has] > 0, csum[np.maximum(first_pos[has] - 1, 0)], 0.0)
    s_within = csum - base[cust_rep]
    del csum
    s_m = np.zeros(n)
    s_m[has] = s_within[group_end[has] - 1]
    s_total = s_m + rng.gamma(np.maximum(n_events - m_keep + 1, 1).astype(float), 1.0)
    rep_time = pop.t0[cust_rep] + span[cust_rep] * s_within / s_total[cust_rep]
    del s_within, cust_rep

    # First purchase at acquisition, then the repeats; one order per customer and day.
    counts = m_keep + 1
    cust = np.repeat(np.arange(n, dtype=np.int32), counts)
    first = np.zeros(len(cust), dtype=bool)
    first[np.cumsum(counts) - counts] = True
    time = np.empty(len(cust))
    time[first] = pop.t0
    time[~first] = rep_time
    del rep_time, first
    day = np.minimum(np.floor(time).astype(np.int32), HORIZON_DAYS - 1)
    del time
    keep = np.ones(len(day), dtype=bool)
    keep[1:] = (day[1:] != day[:-1]) | (cust[1:] != cust[:-1])
    cust, day = cust[keep], day[keep]
    last_day = np.full(n, -1, dtype=np.int64)
    last_day[cust] = day  # rows are sorted by customer then day, so the last write wins
    drop_day = np.where(dies, last_day, -1)
    return _Purchases(
        rate=lam,
        dropout=p_drop,
        cust=cust,
        day=day,
        dies=dies,
        drop_day=drop_day,
        alive_at_end=~(dies & (drop_day < OBS_DAYS)),
    )


def _simulate_orders(
    rng_spend: np.random.Generator,
    rng_refund: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    purchases: _Purchases,
    nu: np.ndarray,
) -> _Rows:
    """Gamma-Gamma order values (``Gamma(p, nu)``), category and channel, and refund rows."""
    settings, seg = spec.settings, pop.seg
    cust, day = purchases.cust, purchases.day
    spend_mult = np.exp(settings["satisfaction_spend_slope"] * pop.satisfaction)
    p_seg = spec.seg_array("p")[seg]
    amount = rng_spend.gamma(p_seg[cust], 1.0 / nu[cust]) * spend_mult[cust]
    amount = np.maximum(np.round(amount, 2), 1.0)
    category = _choice_rows(rng_spend, spec.seg_array("categories"), seg[cust])
    channel = _choice_rows(rng_spend, spec.seg_array("channels"), seg[cust])
    n_orders = len(cust)

    theme_refund = np.array([values["refund_rate"] for values in spec.themes.values()])
    refund_rate = np.where(
        pop.theme >= 0, theme_refund[np.maximum(pop.theme, 0)], settings["refund_rate"]
    )
    refunded = rng_refund.random(n_orders) < refund_rate[cust]
    # An order on the last day of its window (observed or holdout) cannot be refunded inside it.
    refunded &= (day != OBS_DAYS - 1) & (day != HORIZON_DAYS - 1)
    r_idx = np.flatnonzero(refunded)
    full = rng_refund.random(len(r_idx)) < settings["refund_full_share"]
    fraction = np.where(full, 1.0, rng_refund.uniform(0.2, 0.8, size=len(r_idx)))
    lo, hi = settings["refund_delay_days"]
    r_day = day[r_idx] + rng_refund.integers(lo, hi + 1, size=len(r_idx))
    # A refund stays in the window of its order (observed or holdout).
    r_day = np.where(day[r_idx] < OBS_DAYS, np.minimum(r_day, OBS_DAYS - 1), r_day)
    r_day = np.minimum(r_day, HORIZON_DAYS - 1)
    r_amount = -np.round(amount[r_idx] * fraction, 2)

    # Order ids increase with the order date (ties: customer id).
    order_rank = np.argsort(day.astype(np.int64) * spec.n + cust, kind="stable")
    order_id = np.empty(n_orders, dtype=np.int64)
    order_id[order_rank] = np.arange(n_orders, dtype=np.int64) + 100_001
    del order_rank

    all_cust = np.concatenate([cust, cust[r_idx]])
    all_day = np.concatenate([day, r_day])
    is_order = np.arange(len(all_day)) < n_orders
    # Rows by date, customer, then order before refund; refunds of several orders on one day
    # keep their order-id order (the stable sort keeps the generation order).
    key = (all_day.astype(np.int64) * spec.n + all_cust) * 2 + ~is_order
    sort = np.argsort(key, kind="stable")
    del key
    return _Rows(
        cust=all_cust[sort],
        day=all_day[sort],
        amount=np.concatenate([amount, r_amount])[sort],
        order_id=np.concatenate([order_id, order_id[r_idx]])[sort],
        category=np.concatenate([category, category[r_idx]])[sort],
        channel=np.concatenate([channel, channel[r_idx]])[sort],
        is_order=is_order[sort],
    )


def _simulate_wallet(
    rng: np.random.Generator,
    rng_category: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    rate: np.ndarray,
    nu: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw share of wallet; derive wallet (total, by category), age band and region.

    The wallet is derived from the simulated behaviour: expected annual spend (weekly rate x
    52.18 x expected order value ``p / nu``, times the satisfaction effect on spend) divided
    by a Beta-distributed share of wallet. Age band and region are drawn from the wallet
    (plus noise), so they carry information about it.
    """
    n, settings, seg, sat = spec.n, spec.settings, pop.seg, pop.satisfaction
    spend_mult = np.exp(settings["satisfaction_spend_slope"] * sat)
    expected_order_value = spec.seg_array("p")[seg] * spend_mult / np.maximum(nu, 1e-12)
    expected_annual_spend = rate * WEEKS_PER_YEAR * expected_order_value
    share_mean = _expit(
        _logit(spec.seg_array("wallet_share_mean")[seg])
        + settings["wallet_share_satisfaction_slope"] * sat
    )
    kappa = settings["wallet_share_concentration"]
    share_of_wallet = np.clip(
        rng.beta(share_mean * kappa, (1 - share_mean) * kappa), settings["wallet_share_min"], 1.0
    )
    wallet = expected_annual_spend / share_of_wallet
    # Split by category: what the customer spends with the client (the segment's category mix)
    # plus the headroom, which follows the market's mix; so a segment's share of wallet is low
    # in the categories it rarely buys here (cross-sell gaps).
    market_mix = np.array([settings["market_category_mix"][c] for c in CATEGORIES])
    headroom_mix = rng_category.gamma(
        settings["market_mix_concentration"] * market_mix, size=(n, len(CATEGORIES))
    )
    headroom_mix /= np.maximum(headroom_mix.sum(axis=1, keepdims=True), 1e-300)
    cat_probs = spec.seg_array("categories")[seg]
    spend_mix = cat_probs / cat_probs.sum(axis=1, keepdims=True)
    wallet_by_category = (
        expected_annual_spend[:, None] * spend_mix
        + (wallet - expected_annual_spend)[:, None] * headroom_mix
    )
    log_w = np.log(np.maximum(wallet, 1e-9))
    z = (log_w - np.median(log_w)) / max(float(np.std(log_w)), 1e-9)
    z = z + rng.normal(0.0, settings["demographic_wallet_noise"], size=n)
    return {
        "expected_order_value": expected_order_value,
        "expected_annual_spend": expected_annual_spend,
        "share_of_wallet": share_of_wallet,
        "wallet": wallet,
        "wallet_by_category": wallet_by_category,
        "age": _choice_logits(rng, np.outer(z, settings["age_band_wallet_slopes"])),
        "region": _choice_logits(rng, np.outer(z, settings["region_wallet_slopes"])),
    }


def _dates_in_life(
    rng: np.random.Generator,
    pop: _Population,
    active_end: np.ndarray,
    who: np.ndarray,
    power: float | np.ndarray = 1.0,
) -> np.ndarray:
    """Draw a day between each customer's acquisition and the end of their active life.

    The position in the active life is ``U ** power``: uniform for 1, later for powers below 1.
    """
    lo = pop.acq_day[who]
    position = rng.random(len(who)) ** power
    return lo + np.floor(position * (active_end[who] - lo + 1)).astype(np.int64)


def _simulate_surveys(
    rng: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    active_end: np.ndarray,
    n_obs_orders: np.ndarray,
    ids: np.ndarray,
) -> pd.DataFrame:
    """NPS answers: who answers (more of the active customers), when, score and comment."""
    n, settings = spec.n, spec.settings
    # Surveys follow purchases, so active customers answer more often (non-response bias):
    # logit P(respond) = logit(rate) + slope * (log(1 + orders) - its mean).
    activity = np.log1p(n_obs_orders)
    rate = float(np.clip(settings["survey_response_rate"], 0.0, 1.0))
    if 0.0 < rate < 1.0:
        slope = settings["survey_activity_slope"]
        p_respond = _expit(_logit(np.array(rate)) + slope * (activity - activity.mean()))
    else:
        p_respond = np.full(n, rate)
    responds = np.flatnonzero(rng.random(n) < p_respond)
    n_answers = rng.choice(3, size=len(responds), p=settings["survey_answers_probs"]) + 1
    who = np.repeat(responds, n_answers)
    day = _dates_in_life(rng, pop, active_end, who)
    latent_score = (
        settings["survey_intercept"]
        + settings["survey_slope"] * pop.satisfaction[who]
        + rng.normal(0.0, settings["survey_noise"], size=len(who))
    )
    score = np.clip(np.round(latent_score), 0, 10).astype(np.int64)
    has_comment = rng.random(len(who)) < settings["survey_comment_rate"]
    comment = _survey_comments(rng, score, has_comment)
    order = np.lexsort((who, day))
    return pd.DataFrame(
        {
            "customer_id": ids[who[order]],
            "date": _to_dates(day[order]),
            "score": score[order],
            "comment": comment[order],
        }
    )


def _simulate_feedback(
    rng: np.random.Generator,
    rng_text: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    active_end: np.ndarray,
    ids: np.ndarray,
) -> tuple[pd.DataFrame, pd.Series]:
    """Complaint texts (1-2 per complainer, on their theme) and praise from happy customers."""
    n, settings = spec.n, spec.settings
    theme_names = list(spec.themes)
    complainers = np.flatnonzero(pop.theme >= 0)
    n_texts = 1 + (rng.random(len(complainers)) < settings["complaint_two_texts"])
    who_complains = np.repeat(complainers, n_texts)
    p_praise = _expit(settings["praise_intercept"] + settings["praise_slope"] * pop.satisfaction)
    praisers = np.flatnonzero((pop.theme < 0) & (rng.random(n) < p_praise))
    who = np.concatenate([who_complains, praisers])
    theme = np.concatenate([pop.theme[who_complains], np.full(len(praisers), len(theme_names))])
    # Complaints come late in the active life (closer to a dropout), praise at any time.
    power = np.where(theme < len(theme_names), settings["complaint_timing_power"], 1.0)
    day = _dates_in_life(rng, pop, active_end, who, power)
    texts, channel = _feedback_texts(rng_text, theme, theme_names)
    order = np.lexsort((who, day))
    feedback = pd.DataFrame(
        {
            "customer_id": ids[who[order]],
            "date": _to_dates(day[order]),
            "text": texts[order],
            "channel": np.array(_FEEDBACK_CHANNELS, dtype=object)[channel[order]],
        }
    )
    labels = np.array([*theme_names, "positive"], dtype=object)
    return feedback, pd.Series(labels[theme[order]], name="theme")


# --------------------------------------------------------------------------------------------
# texts
# --------------------------------------------------------------------------------------------

_COMMENTS = {
    "detractor": (
        "Delivery was late again",
        "Prices keep going up",
        "Refund took ages",
        "Quality is not what it was",
        "The app is a pain",
        "Staff were unhelpful",
        "Not impressed",
        "Too many problems lately",
    ),
    "passive": (
        "It was fine",
        "Okay overall",
        "Decent but nothing special",
        "Good prices, slow delivery",
        "Mostly happy",
        "Could be better",
    ),
    "promoter": (
        "Great service",
        "Love the range",
        "Fast delivery, thanks",
        "Always helpful staff",
        "Best shop around",
        "Easy to order in the app",
        "Very happy",
    ),
}


def _pick(rng: np.random.Generator, options: tuple[str, ...], size: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), size=size)]


def _survey_comments(
    rng: np.random.Generator, score: np.ndarray, has_comment: np.ndarray
) -> np.ndarray:
    out = np.full(len(score), None, dtype=object)
    bands = np.where(score <= 6, "detractor", np.where(score <= 8, "passive", "promoter"))
    for band, options in _COMMENTS.items():
        mask = has_comment & (bands == band)
        out[mask] = _pick(rng, options, int(mask.sum()))
    return out


_OPENERS = (
    "",
    "",
    "",
    "Hi,",
    "Hello,",
    "Honestly,",
    "Not happy.",
    "Very disappointed:",
    "Second time this month:",
    "I have been a customer for years and",
    "Just so you know,",
    "To whom it may concern,",
    "Sorry to say",
    "Again!",
    "Frankly,",
    "Dear team,",
    "I am writing because",
    "Quick complaint:",
)
_CLOSERS = (
    "",
    "",
    "",
    "Please sort this out.",
    "Very disappointed.",
    "Not acceptable.",
    "I expect better.",
    "Will think twice before ordering again.",
    "Thanks.",
    "Fix it please.",
    "Considering other shops now.",
    "Regards.",
    "Waiting for your answer.",
    "So frustrating.",
    "Shame, I used to like you.",
    "Do better.",
    "Please call me back.",
)
_VAGUE = (
    "the whole experience was bad",
    "nothing works the way it should with you",
    "this was not okay",
    "really poor experience overall",
    "not what I signed up for",
    "I am fed up",
    "you let me down again",
)
_PRAISE_OPENERS = (
    "",
    "",
    "Hi,",
    "Just wanted to say",
    "Honestly,",
    "Wow!",
    "A quick note:",
    "Dear team,",
    "Credit where it is due:",
)
_PRAISE_CLOSERS = ("", "", "Cheers.", "Thanks again.", "Five stars.", "Regards.")

_THEME_VOCAB: dict[str, dict[str, tuple[str, ...]]] = {
    "late_delivery": {
        "article": ("my", "the", "our"),
        "noun": ("delivery", "parcel", "package", "order", "shipment"),
        "problem": (
            "arrived days late",
            "still has not arrived",
            "was delayed again",
            "came a week after the promised date",
            "missed the delivery slot",
            "was late and the courier never called",
        ),
        "extra": (
            "The courier did not show up.",
            "Tracking said out for delivery all day.",
            "No update on the tracking page.",
            "The dispatch date kept moving.",
            "I waited at home for nothing.",
            "Delivery times are a joke.",
        ),
    },
    "refund_hassle": {
        "article": ("my", "the"),
        "noun": ("refund", "return", "money back", "credit note", "reimbursement"),
        "problem": (
            "took weeks to process",
            "was refused without a reason",
            "is still pending",
            "needed five calls to sort out",
            "was only partly paid back",
            "got lost in your returns system",
        ),
        "extra": (
            "I returned the item on time.",
            "The returns form is confusing.",
            "The return label never arrived.",
            "Still waiting for my money.",
            "Nobody can tell me when I get refunded.",
            "Returning things should not be this hard.",
        ),
    },
    "product_quality": {
        "article": ("my", "the", "this"),
        "noun": ("item", "product", "jacket", "kettle", "toy", "blender"),
        "problem": (
            "broke after two days",
            "stopped working within a week",
            "was damaged and cheap",
            "fell apart after one wash",
            "is poor quality",
            "was faulty out of the box",
        ),
        "extra": (
            "The material feels cheap.",
            "It looked nothing like the photos.",
            "The stitching came loose.",
            "Quality has really gone down.",
            "Cheap plastic that cracked.",
            "Not worth the price at all.",
        ),
    },
    "app_problems": {
        "article": ("your", "the"),
        "noun": ("app", "website", "checkout page", "login", "basket"),
        "problem": (
            "keeps crashing",
            "would not let me pay",
            "logged me out repeatedly",
            "showed an error at checkout",
            "is very slow to load",
            "froze after the update",
        ),
        "extra": (
            "The password reset never works.",
            "The page froze twice.",
            "Payment failed with an error code.",
            "I had to use my laptop instead.",
            "The latest update made it worse.",
            "Buttons do nothing on my phone.",
        ),
    },
    "rude_staff": {
        "article": ("your", "the", "one"),
        "noun": ("staff", "cashier", "customer service agent", "store manager", "sales assistant"),
        "problem": (
            "was rude to me",
            "was rude and unhelpful",
            "ignored my question",
            "hung up on me rudely",
            "was dismissive and did not care",
            "was impolite and rude",
        ),
        "extra": (
            "No apology from the staff at all.",
            "The assistant rolled their eyes.",
            "Nobody on the staff offered to help.",
            "I was treated like a nuisance.",
            "Such an unfriendly, rude attitude.",
            "The employee was shouting at me.",
        ),
    },
    "positive": {
        "article": ("your", "the"),
        "noun": ("service", "delivery", "team", "app", "product", "shop", "website"),
        "problem": (
            "was excellent",
            "was really good",
            "made it all really easy",
            "exceeded my expectations",
            "is great",
            "was spot on",
        ),
        "extra": (
            "Thank you!",
            "Will recommend to friends.",
            "Keep it up.",
            "Best shop in town.",
            "Really pleased.",
            "Lovely experience.",
        ),
    },
}

# How likely each theme's text arrives through each feedback channel.
_THEME_CHANNELS = {
    "late_delivery": [0.5, 0.1, 0.25, 0.05, 0.1],
    "refund_hassle": [0.45, 0.05, 0.35, 0.1, 0.05],
    "product_quality": [0.4, 0.15, 0.15, 0.2, 0.1],
    "app_problems": [0.2, 0.5, 0.1, 0.0, 0.2],
    "rude_staff": [0.25, 0.05, 0.3, 0.3, 0.1],
    "positive": [0.3, 0.3, 0.05, 0.15, 0.2],
}


def _feedback_texts(
    rng: np.random.Generator, theme: np.ndarray, theme_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised texts from templates.

    A text is: opener, ``"<article> NOUN PROBLEM."``, one or two details of its theme,
    sometimes (20% of complaints) a detail of another complaint theme, and a closer. The
    shared openers and closers are filler that a topic model has to look past; 10% of
    complaints are vague (a generic sentence and at most one detail of the theme).
    """
    labels = [*theme_names, "positive"]
    size = len(theme)
    parts = {key: np.empty(size, dtype=object) for key in ("article", "noun", "problem")}
    extra = np.empty(size, dtype=object)
    extra2 = np.full(size, "", dtype=object)
    channel = np.empty(size, dtype=np.int8)
    second = rng.random(size) < 0.6
    for k, label in enumerate(labels):
        mask = theme == k
        m = int(mask.sum())
        vocab = _THEME_VOCAB[label]
        for key in parts:
            parts[key][mask] = _pick(rng, vocab[key], m)
        # two different details: the second is offset from the first
        n_extra = len(vocab["extra"])
        first = rng.integers(0, n_extra, size=m)
        other = (first + rng.integers(1, n_extra, size=m)) % n_extra
        options = np.array(vocab["extra"], dtype=object)
        extra[mask] = options[first]
        extra2[mask] = np.where(second[mask], " " + options[other], "")
        probs = np.asarray(_THEME_CHANNELS[label], dtype=float)
        channel[mask] = rng.choice(len(_FEEDBACK_CHANNELS), size=m, p=probs / probs.sum())
    n_themes = len(theme_names)
    other_theme = (theme + rng.integers(1, n_themes, size=size)) % n_themes
    cross = (rng.random(size) < 0.2) & (theme < n_themes)
    cross_extra = np.full(size, "", dtype=object)
    for k, label in enumerate(theme_names):
        mask = cross & (other_theme == k)
        cross_extra[mask] = " " + _pick(rng, _THEME_VOCAB[label]["extra"], int(mask.sum()))
    positive = theme == n_themes
    # Some complaints are vague: a generic sentence and at most one hint of the theme.
    vague = (rng.random(size) < 0.1) & ~positive
    n_vague = int(vague.sum())
    parts["article"][vague] = ""
    parts["noun"][vague] = _pick(rng, _VAGUE, n_vague)
    parts["problem"][vague] = ""
    extra2[vague] = ""
    cross_extra[vague] = ""
    extra[vague] = np.where(rng.random(n_vague) < 0.5, extra[vague], "")
    openers = _pick(rng, _OPENERS, size)
    openers[positive] = _pick(rng, _PRAISE_OPENERS, int(positive.sum()))
    closers = _pick(rng, _CLOSERS, size)
    closers[positive] = _pick(rng, _PRAISE_CLOSERS, int(positive.sum()))
    article = parts["article"]
    new_sentence = np.array([o == "" or o.endswith((".", "!")) for o in openers], dtype=bool)
    article[new_sentence] = [a[:1].upper() + a[1:] for a in article[new_sentence]]
    text = (
        openers
        + " "
        + article
        + " "
        + parts["noun"]
        + " "
        + parts["problem"]
        + "."
        + extra
        + extra2
        + cross_extra
        + " "
        + closers
    )
    text = pd.Series(text).str.replace(r"\s+", " ", regex=True).str.replace(" .", ".")
    text = text.str.replace(r"\.(?=\S)", ". ", regex=True).str.strip()
    text = text.str[:1].str.upper() + text.str[1:]
    return text.to_numpy(dtype=object), channel
