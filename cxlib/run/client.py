"""One client's run: its tables loaded once, its customer base and CLV fit computed once, cached.

:func:`open_client` is how both the report runner and a notebook opened by hand start::

    client = cxlib.open_client("clients/acme.yaml")
    client.transactions      # the validated tables (None for a table the client does not have)
    client.analysis          # the YAML's analysis settings, defaults from AnalysisConfig
    client.base              # per customer: purchases, revenue, churned, p_alive, clv, segment
    client.churn             # the churn definition, rate and survival table (cxlib.churn.run_churn)
    client.value_fit         # the CLV model, chosen and fitted once (cxlib.clv.fit_customer_value)

The runner opens the client once before any notebook runs (:meth:`Client.prepare`); each notebook
then opens it again in its own kernel and finds the tables, the base and the fit in the disk
cache, so every page of a run stands on the same numbers and nothing expensive runs twice. A
notebook opened by hand in JupyterLab reads the same YAML and the same cache, so it gives the
report's numbers.

The disk cache lives in ``$CXLIB_CACHE_DIR`` (default ``$XDG_CACHE_HOME/cxlib``, else
``~/.cache/cxlib``). Its key covers the config file, every data file's SHA-256 and cxlib's own
source, so a changed export, setting or cxlib version never reuses a stale result. Entries are
Arrow and JSON files, never pickle, each checked against its SHA-256 before it is read; a
damaged entry is recomputed with a one-line notice; the folders are private to the user
(:mod:`cxlib.run._cache`).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlib.run._cache import MISSING, Cache, cache_dir, private_folder, replace_atomically
from cxlib.run.loading import ClientTables as LoadedTables
from cxlib.run.loading import amount_basis, load_client
from cxlib.settings import escape as _html
from cxlib.settings.config import AnalysisConfig, ClientConfig, file_sha256
from cxlib.settings.validation import DataError

__all__ = ["Client", "cache_dir", "open_client"]

#: Columns :attr:`Client.base` adds to :func:`cxlib.customers.customer_base`'s.
RUN_COLUMNS = ("churned", "p_alive", "clv", "segment")


def _source_digest() -> str:
    """SHA-256 of cxlib's own Python files: a code change invalidates every cached result."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]  # cxlib/
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file, hashed once per version of the file on this machine.

    The runner, :func:`open_client` and every notebook kernel of a run need the digest of the
    same data files; hashing a gigabyte export three or more times costs seconds each. The
    digest is remembered (in memory and in the cache folder) under the file's identity: its
    device, inode, size and modification and change times in nanoseconds, which any rewrite of
    the file changes, as git's index does.
    """
    path = Path(path).resolve()
    stat = path.stat()
    stamp = f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"
    key = str(path)
    remembered = _DIGESTS.get(key)
    if remembered is None:
        remembered = _read_digest_memo().get(key)
    if remembered is not None and remembered[0] == stamp:
        _DIGESTS[key] = remembered
        return remembered[1]
    digest = file_sha256(path)
    _DIGESTS[key] = (stamp, digest)
    _write_digest_memo(key, stamp, digest)
    return digest


_DIGESTS: dict[str, tuple[str, str]] = {}


def _digest_memo_path() -> Path:
    return cache_dir() / "file-digests.json"


def _memo_checksum(entries: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def _read_digest_memo() -> dict[str, tuple[str, str]]:
    """Return the remembered digests if the memo is private to the user and its checksum holds.

    A damaged or foreign memo is ignored (the files are hashed again): a wrong digest would
    otherwise go into the run's manifest.
    """
    path = _digest_memo_path()
    if not path.is_file() or private_folder(path.parent) is not None:
        return {}
    try:
        memo = json.loads(path.read_text(encoding="utf-8"))
        entries = memo["entries"]
        if memo.get("sha256") != _memo_checksum(entries):
            return {}
        return {key: (str(value[0]), str(value[1])) for key, value in entries.items()}
    except (OSError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return {}  # absent or damaged: hash again


def _write_digest_memo(key: str, stamp: str, digest: str) -> None:
    if private_folder(_digest_memo_path().parent) is not None:
        return  # not a folder of this user's alone: the digest is remembered in memory only
    entries = {k: list(v) for k, v in _read_digest_memo().items()}
    entries[key] = [stamp, digest]
    text = json.dumps({"sha256": _memo_checksum(entries), "entries": entries}).encode()
    try:
        replace_atomically(_digest_memo_path(), lambda handle: handle.write(text))
    except OSError:
        pass  # a read-only cache costs a second hash, not correctness


def data_files(config: ClientConfig) -> dict[str, dict[str, Any]]:
    """Path, SHA-256 and size of each of the client's data files (the run manifest's record)."""
    return {
        table: {
            "path": str(config.table_path(table)),
            "sha256": file_digest(config.table_path(table)),
            "bytes": config.table_path(table).stat().st_size,
        }
        for table in config.tables
        if config.table_path(table) is not None  # a Spark metastore table is not a file
    }


def _cache_key(config: ClientConfig) -> str:
    digest = hashlib.sha256()
    digest.update(_source_digest().encode())
    if config.config_path is not None:
        digest.update(file_sha256(config.config_path).encode())
    for table, record in sorted(data_files(config).items()):
        digest.update(table.encode())
        digest.update(record["sha256"].encode())
    return digest.hexdigest()[:24]


class Client:
    """A client's tables, settings and shared per-customer results for one run.

    Build it with :func:`open_client`. Tables are attributes (``None`` when the client does not
    have them); :attr:`base` and :attr:`value_fit` are computed on first use, once, and cached in
    memory and on disk.

    Attributes
    ----------
    config : ClientConfig
        The validated YAML.
    analysis : AnalysisConfig
        The analysis settings (the YAML's ``analysis:`` over cxlib's defaults).
    name, currency : str
        From the config.
    transactions, customers, surveys, feedback, experiments : DataFrame or None
        The canonical tables.
    quality : DataFrame
        The data-quality table of every loaded table.
    timings : dict
        Seconds spent per step in this process (``0`` for a step read from the cache).
    cpu_timings : dict
        CPU seconds of the same steps (the report's manifest records both).
    """

    def __init__(self, loaded, *, cache: Cache | None):
        self.config: ClientConfig = loaded.config
        self.transactions: pd.DataFrame | None = loaded.transactions
        self.customers: pd.DataFrame | None = loaded.customers
        self.surveys: pd.DataFrame | None = loaded.surveys
        self.feedback: pd.DataFrame | None = loaded.feedback
        self.experiments: pd.DataFrame | None = getattr(loaded, "experiments", None)
        self.quality: pd.DataFrame = loaded.quality
        self._cache = cache
        self._memory: dict[str, Any] = {}
        self._failed: dict[str, Exception] = {}
        self.timings: dict[str, float] = {}
        self.cpu_timings: dict[str, float] = {}  # CPU seconds of the same steps

    def __repr__(self) -> str:
        tables = [
            t
            for t in ("transactions", "customers", "surveys", "feedback")
            if getattr(self, t) is not None
        ]
        return f"Client({self.name!r}, tables={tables})"

    @property
    def rows(self):
        """The transactions where the client's engine aggregates them.

        The pandas frame (:attr:`transactions`) with ``engine: duckdb``; with ``engine: spark``
        a Spark DataFrame of the checked rows, for the functions that aggregate in Spark
        (:func:`cxlib.segmentation.trend.active_customers_over_time`,
        :func:`cxlib.segmentation.trend.revenue_bridge`,
        :func:`cxlib.churn.cohort_retention`).
        """
        if self.config.engine == "spark" and self.transactions is not None:
            from cxlib.data._spark_loader import spark_rows

            if "rows" not in self._memory:  # a lazy Spark plan: kept in memory, not on disk
                self._memory["rows"] = spark_rows(self.config)
            return self._memory["rows"]
        return self.transactions

    @property
    def analysis(self) -> AnalysisConfig:
        """The client's analysis settings."""
        return self.config.analysis

    @property
    def name(self) -> str:
        """The client's name (``client:`` in the YAML)."""
        return self.config.client

    @property
    def currency(self) -> str:
        """The client's currency (``currency:`` in the YAML)."""
        return self.config.currency

    # --- cached steps ---------------------------------------------------------------------

    def _cached(
        self, name: str, compute: Callable[[], Any], check: Callable[[Any], str | None]
    ) -> Any:
        if name in self._memory:
            return self._memory[name]
        value = MISSING if self._cache is None else self._cache.read(name, check)
        if value is not MISSING:
            self.timings.setdefault(name, 0.0)
            self.cpu_timings.setdefault(name, 0.0)
            self._memory[name] = value
            return value
        if name in self._failed:  # a step that failed once fails the same way: not refitted
            raise self._failed[name]
        started, cpu = time.perf_counter(), time.process_time()
        try:
            value = compute()
        except DataError as exc:
            self._failed[name] = exc
            raise
        self.timings[name] = round(time.perf_counter() - started, 3)
        self.cpu_timings[name] = round(time.process_time() - cpu, 3)
        self._memory[name] = value
        if self._cache is not None:
            self._cache.write(name, value)
        return value

    @property
    def cache_notices(self) -> list[str]:
        """The disk cache's notices in this process: entries recomputed or not cached."""
        return [] if self._cache is None else list(self._cache.notices)

    @property
    def value_fit(self):
        """The run's CLV fit (:func:`cxlib.clv.fit_customer_value` on the client's settings)."""
        from cxlib import clv

        settings = self.analysis
        return self._cached(
            "value_fit",
            lambda: clv.fit_customer_value(
                self._require_transactions("value_fit"),
                freq=settings.freq,
                clv_model=settings.clv_model,
                horizon_months=settings.horizon_months,
                discount_rate=settings.discount_rate,
                margin=settings.margin,
                customers=self.customers,
                observation_end=settings.observation_end,
                calibration_end=settings.calibration_end,
                holdout_weeks=settings.holdout_weeks,
            ),
            _check_value_fit,
        )

    @property
    def contracts(self) -> pd.DataFrame | None:
        """Contract customers (:func:`cxlib.churn.contractual.contract_table`), or None.

        None unless the customers table holds a contract history: the ``contract_tenure`` and
        ``contract_churned`` columns, or ``signup_date`` with ``contract_end`` dates.
        """
        from cxlib.churn import contractual

        settings = self.analysis
        columns = dict(tenure=settings.contract_tenure, churned=settings.contract_churned)
        if contractual.contract_columns(self.customers, **columns) is None:
            return None
        return self._cached(
            "contracts",
            lambda: contractual.contract_table(
                self.customers,
                **columns,
                period=settings.contract_period,
                as_of=settings.observation_end,
            ),
            _check_frame,
        )

    @property
    def churn_threshold_days(self) -> int:
        """Days without a purchase after which a customer counts as churned (inactivity)."""
        from cxlib import churn

        days = self.analysis.churn_inactivity_days  # set in the YAML, else read from the gaps
        return self._cached(
            "churn_threshold_days",
            lambda: int(churn.inactivity_threshold(self._history(), days=days).days),
            _check_days,
        )

    @property
    def repeat_purchases(self) -> bool:
        """Whether some customer bought on two different days (False without transactions)."""
        from cxlib import churn

        if self.transactions is None:
            return False
        return self._cached(
            "repeat_purchases", lambda: churn.repeat_purchases(self._history()), _check_flag
        )

    @property
    def base(self) -> pd.DataFrame:
        """The run's customer base: :func:`cxlib.customers.customer_base` plus run columns.

        ``churned`` (bool) under the client's one ``churn_definition``; ``p_alive`` and ``clv``
        from :attr:`value_fit`; ``segment``, the RFM segment. Indexed by ``customer_id``.
        """
        return self._cached("base", self._build_base, _check_base)

    def _history(self) -> pd.DataFrame:
        tx = self._require_transactions("base")
        end = self.analysis.observation_end
        return tx if end is None else tx.loc[tx["date"] <= pd.Timestamp(end)]

    def _build_base(self) -> pd.DataFrame:
        from cxlib import churn, customers, segmentation

        settings = self.analysis
        with warnings.catch_warnings():
            # customers without a purchase are counted in the base's attrs and the quality table
            warnings.simplefilter("ignore", UserWarning)
            build = customers.customer_base
            source = self._require_transactions("base")
            if self.config.engine == "spark":  # aggregated in Spark, from the source itself
                from cxlib.customers.spark import spark_customer_base as build

                source = self.rows
            base = build(
                source,
                customers=self.customers,
                observation_end=settings.observation_end,
                freq=settings.freq,
            )
        rule = churn.churn_definition(settings.churn_definition, caller="churn_definition")
        try:
            fit = self.value_fit
        except DataError as exc:
            if rule.uses_model:
                raise
            # The customers' facts and segments do not depend on the CLV model: a client whose
            # purchase model cannot be fitted keeps its base, with the model's columns missing
            # and the reason recorded (the CLV page reports the error itself).
            base["p_alive"] = np.nan
            base["clv"] = np.nan
            base.attrs["value_fit_error"] = str(exc)
        else:
            base["p_alive"] = fit.purchase_model.p_alive(fit.summary).reindex(base.index)
            base["clv"] = fit.values["clv"].reindex(base.index)
        status = churn.churn_status(
            self._history(),
            as_of=base.attrs["observation_end"],
            definition=rule.name,
            customers=self.customers,
            threshold_days=self.churn_threshold_days if rule.uses_threshold else None,
            p_alive=base["p_alive"] if rule.uses_model else None,
        )
        base["churned"] = status["churned"].reindex(base.index).fillna(False).astype(bool)
        base["segment"] = segmentation.rfm_segments(base, threshold_days=self.churn_threshold_days)[
            "segment"
        ]
        # the name, the words and the follow-up the NPS and feedback pages read from the base
        base.attrs.update(rule.base_attrs(threshold_days=self.churn_threshold_days))
        return base

    @property
    def churn(self):
        """The run's churn (:func:`cxlib.churn.run_churn`), computed once.

        The client's definition (``churn.definition``), each customer's status (the
        :attr:`base`'s ``churned``), the churn rate over the window from ``churn_cutoff`` and
        ``churn_horizon_days`` (``churn.rate``) and the survival table (``churn.survival``):
        what the churn page shows, so that no page computes churn again.
        """
        return self._cached("churn", self._compute_churn, _check_churn)

    def _compute_churn(self):
        from cxlib import churn

        settings = self.analysis
        rule = churn.churn_definition(settings.churn_definition, caller="churn_definition")
        base = self.base
        return churn.run_churn(
            self._history(),
            base=base,
            definition=rule.name,
            customers=self.customers,
            feedback=self.feedback,
            threshold_days=self.churn_threshold_days,
            inactivity_days=settings.churn_inactivity_days,
            cutoff=settings.churn_cutoff,
            horizon_days=settings.churn_horizon_days,
            purchase_model=self.value_fit.purchase_model if rule.uses_model else None,
            freq=settings.freq,
            observation_end=base.attrs["observation_end"],
        )

    def _require_transactions(self, step: str) -> pd.DataFrame:
        if self.transactions is None:
            raise DataError(
                f"{self.name}: {step} needs a transactions table, and the config has none. "
                "Cells that need transactions do not apply to this client (for example the "
                "purchase-model cells of 04_clv for a subscription client): the report runner "
                "leaves them out, and in a notebook run by hand they can be skipped"
            )
        return self.transactions

    def prepare(self) -> dict[str, float]:
        """Compute (or read from the cache) every shared step; return the seconds per step.

        The report runner calls this once before the notebooks run. A client without
        transactions has no shared steps (its pages that need them are skipped).
        """
        if self.transactions is None:
            return dict(self.timings)
        self.base  # noqa: B018 - computed for its side effect (cached)
        self.value_fit  # noqa: B018 - raises here when the CLV model could not be fitted
        return dict(self.timings)


# --- what each cache entry must hold (anything else is recomputed) ------------------------------


def _check_frame(value: Any, columns: tuple[str, ...] = ()) -> str | None:
    if type(value) is not pd.DataFrame:
        return f"holds a {type(value).__name__}, not a DataFrame"
    missing = [column for column in columns if column not in value.columns]
    return f"misses the columns {missing}" if missing else None


def _check_base(value: Any) -> str | None:
    problem = _check_frame(value, RUN_COLUMNS)
    if problem is None and value.index.name != "customer_id":
        return "is not indexed by customer_id"
    return problem


def _check_churn(value: Any) -> str | None:
    from cxlib.churn import ChurnRate, ChurnResult

    if type(value) is not ChurnResult:
        return f"holds a {type(value).__name__}, not a ChurnResult"
    if type(getattr(value, "rate", None)) is not ChurnRate:
        return "has no churn rate"
    if type(getattr(value, "survival", None)) is not pd.DataFrame:
        return "has no survival frame"
    if type(getattr(value, "churned", None)) is not pd.Series:
        return "has no churned flags"
    return None


def _check_flag(value: Any) -> str | None:
    return (
        None if type(value) is bool else f"holds {type(value).__name__} {value!r:.40}, not a flag"
    )


def _check_days(value: Any) -> str | None:
    ok = type(value) is int and value >= 0
    return None if ok else f"holds {type(value).__name__} {value!r:.40}, not a number of days"


def _check_value_fit(value: Any) -> str | None:
    from cxlib.clv.fit import CustomerValueFit
    from cxlib.clv.holdout import ModelSelection
    from cxlib.clv.purchase import PurchaseModel

    if type(value) is not CustomerValueFit:
        return f"holds a {type(value).__name__}, not a CustomerValueFit"
    for name in ("summary", "holdout", "values"):
        if type(getattr(value, name, None)) is not pd.DataFrame:
            return f"has no {name} frame"
    if type(getattr(value, "selection", None)) is not ModelSelection:
        return "has no model selection"
    model = getattr(value, "purchase_model", None)
    if type(model) is not PurchaseModel or type(getattr(model, "params_", None)) is not pd.Series:
        return "has no fitted purchase model"
    if not isinstance(getattr(value, "warnings", None), list):
        return "has no list of warnings"
    return None


def _check_tables(value: Any) -> str | None:
    if type(value) is not dict or set(value) != set(_TABLES):
        return f"holds a {type(value).__name__}, not the client's tables"
    for name, frame in value.items():
        if frame is None and name != "quality":
            continue
        if type(frame) is not pd.DataFrame:
            return f"holds a {type(frame).__name__} as the {name} table"
    return None


#: The frames of :class:`cxlib.run.loading.ClientTables` the ``tables`` entry holds.
_TABLES = ("transactions", "customers", "surveys", "feedback", "experiments", "quality")


def open_client(path: str | Path, *, cache: bool = True) -> Client:
    """Open a client from its YAML config: tables loaded and validated once, results cached.

    Parameters
    ----------
    path : str or Path
        The client's YAML file (e.g. ``clients/demo.yaml``).
    cache : bool, default True
        Read and write the disk cache (see the module docstring); ``False`` computes everything
        in this process.

    Returns
    -------
    Client

    Raises
    ------
    DataError
        For an invalid config or data file, with a hint when the demo data were never written.

    Examples
    --------
    Opening the demo client needs its data (``cxlib demo --out data/demo``)::

        client = cxlib.open_client("clients/demo.yaml")
        client.base[["frequency", "revenue_12m", "churned", "clv", "segment"]].head()
    """
    from cxlib.settings.config import load_config

    try:
        config = load_config(path)
    except DataError as exc:
        if "data_dir" in str(exc) and "does not exist" in str(exc):
            raise DataError(
                f"{exc}. For the demo client, write its data first: "
                "`cxlib demo --out data/demo` (or `make demo`)"
            ) from None
        raise
    # A Spark metastore table has no file to hash: results from it are never cached.
    cache = cache and all(config.table_path(t) is not None for t in config.tables)
    store = Cache.open(f"{config.client}-{_cache_key(config)}") if cache else None
    started, cpu = time.perf_counter(), time.process_time()
    tables = MISSING if store is None else store.read("tables", _check_tables)
    from_cache = tables is not MISSING
    if from_cache:
        loaded = LoadedTables(config=config, **tables)
    else:
        loaded = load_client(path)  # validates and reads every table
        if store is not None:
            store.write("tables", {name: getattr(loaded, name) for name in _TABLES})
    loaded.config = amount_basis(config, loaded.transactions)  # "purchases" without amounts
    # what this client's pages show of a long text (limits: in the YAML)
    _html.set_text_limits(
        text_chars=config.limits.max_text_chars, label_chars=config.limits.max_label_chars
    )
    client = Client(loaded, cache=store)
    client.timings["tables"] = 0.0 if from_cache else round(time.perf_counter() - started, 3)
    client.cpu_timings["tables"] = 0.0 if from_cache else round(time.process_time() - cpu, 3)
    return client
