"""One client's run: its tables loaded once, its customer base and CLV fit computed once, cached.

:func:`open_client` is how both the report runner and a notebook opened by hand start::

    client = cxlib.open_client("clients/acme.yaml")
    client.transactions      # the validated tables (None for a table the client does not have)
    client.analysis          # the YAML's analysis settings, defaults from AnalysisConfig
    client.base              # per customer: purchases, revenue, churned, p_alive, clv, segment
    client.value_fit         # the CLV model, chosen and fitted once (cxlib.clv.fit_customer_value)

The runner opens the client once before any notebook runs (:meth:`Client.prepare`); each notebook
then opens it again in its own kernel and finds the tables, the base and the fit in the disk
cache, so every page of a run stands on the same numbers and nothing expensive runs twice. A
notebook opened by hand in JupyterLab reads the same YAML and the same cache, so it gives the
report's numbers.

The disk cache lives in ``$CXLIB_CACHE_DIR`` (default ``$XDG_CACHE_HOME/cxlib``, else
``~/.cache/cxlib``). Its key covers the config file, every data file's SHA-256 and cxlib's own
source, so a changed export, setting or cxlib version never reuses a stale result. Entries are
written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from cxlib._validation import DataError
from cxlib.config import AnalysisConfig, ClientConfig, amount_basis, file_sha256, load_client

__all__ = ["Client", "cache_dir", "open_client"]

#: Columns :attr:`Client.base` adds to :func:`cxlib.customers.customer_base`'s.
RUN_COLUMNS = ("churned", "p_alive", "clv", "segment")


def cache_dir() -> Path:
    """Folder of cxlib's disk cache (``$CXLIB_CACHE_DIR``, else the user's cache folder)."""
    if os.environ.get("CXLIB_CACHE_DIR"):
        return Path(os.environ["CXLIB_CACHE_DIR"])
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "cxlib"


def _source_digest() -> str:
    """SHA-256 of cxlib's own Python files: a code change invalidates every cached result."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
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


def _read_digest_memo() -> dict[str, tuple[str, str]]:
    try:
        entries = json.loads(_digest_memo_path().read_text(encoding="utf-8"))
        return {key: (value[0], value[1]) for key, value in entries.items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return {}  # absent or damaged: hash again


def _write_digest_memo(key: str, stamp: str, digest: str) -> None:
    entries = _read_digest_memo()
    entries[key] = (stamp, digest)
    try:
        _replace_atomically(
            _digest_memo_path(), lambda handle: handle.write(json.dumps(entries).encode())
        )
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

    def __init__(self, loaded, *, cache: Path | None):
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
        (:func:`cxlib.trend.active_customers_over_time`, :func:`cxlib.trend.revenue_bridge`,
        :func:`cxlib.churn.cohort_retention`).
        """
        if self.config.engine == "spark" and self.transactions is not None:
            from cxlib._spark_loader import spark_rows

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

    def _cached(self, name: str, compute: Callable[[], Any]) -> Any:
        if name in self._memory:
            return self._memory[name]
        path = None if self._cache is None else self._cache / f"{name}.pkl"
        value = _read_cached(path)
        if value is not None:
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
        if path is not None:
            _write_atomically(path, value)
        return value

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
        )

    @property
    def churn_threshold_days(self) -> int:
        """Days without a purchase after which a customer counts as churned (inactivity)."""
        from cxlib import churn

        days = self.analysis.churn_inactivity_days  # set in the YAML, else read from the gaps
        return self._cached(
            "churn_threshold_days",
            lambda: int(churn.inactivity_threshold(self._history(), days=days).days),
        )

    @property
    def repeat_purchases(self) -> bool:
        """Whether some customer bought on two different days (False without transactions)."""
        from cxlib import churn

        if self.transactions is None:
            return False
        return self._cached("repeat_purchases", lambda: churn.repeat_purchases(self._history()))

    @property
    def base(self) -> pd.DataFrame:
        """The run's customer base: :func:`cxlib.customers.customer_base` plus run columns.

        ``churned`` (bool) under the client's one ``churn_definition``; ``p_alive`` and ``clv``
        from :attr:`value_fit`; ``segment``, the RFM segment. Indexed by ``customer_id``.
        """
        return self._cached("base", self._build_base)

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
                from cxlib.engine import spark_customer_base as build

                source = self.rows
            base = build(
                source,
                customers=self.customers,
                observation_end=settings.observation_end,
                freq=settings.freq,
            )
        definition = settings.churn_definition
        try:
            fit = self.value_fit
        except DataError as exc:
            if definition == "p_alive":
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
            definition=definition,
            customers=self.customers,
            threshold_days=self.churn_threshold_days if definition == "inactivity" else None,
            p_alive=base["p_alive"] if definition == "p_alive" else None,
        )
        base["churned"] = status["churned"].reindex(base.index).fillna(False).astype(bool)
        base["segment"] = segmentation.rfm_segments(base, threshold_days=self.churn_threshold_days)[
            "segment"
        ]
        base.attrs["churn_definition"] = definition
        return base

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


def _read_cached(path: Path | None) -> Any:
    """Return the cached value at ``path``, or None (absent, damaged or from an older cxlib)."""
    if path is None or not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None


def _replace_atomically(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write ``path`` through a temporary file renamed over it: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        write(handle)
    temporary.replace(path)


def _write_atomically(path: Path, value: Any) -> None:
    try:
        _replace_atomically(
            path, lambda handle: pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        )
    except OSError as exc:  # a full or read-only cache costs speed, not correctness
        warnings.warn(f"cxlib could not write its cache entry {path}: {exc}", stacklevel=3)


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
    from cxlib.config import load_config

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
    key_dir = cache_dir() / f"{config.client}-{_cache_key(config)}" if cache else None
    started, cpu = time.perf_counter(), time.process_time()
    loaded = _read_cached(key_dir / "tables.pkl") if key_dir is not None else None
    from_cache = loaded is not None
    if loaded is None:
        loaded = load_client(path)  # validates and reads every table
        if key_dir is not None:
            _write_atomically(key_dir / "tables.pkl", loaded)
    loaded.config = amount_basis(config, loaded.transactions)  # "purchases" without amounts
    client = Client(loaded, cache=key_dir)
    client.timings["tables"] = 0.0 if from_cache else round(time.perf_counter() - started, 3)
    client.cpu_timings["tables"] = 0.0 if from_cache else round(time.process_time() - cpu, 3)
    return client
