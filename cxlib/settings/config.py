"""Client configuration: one YAML per client, validated once, before any analysis runs.

A config names the client, where its exports are, how their columns map to cxlib's canonical
names, and the analysis settings every notebook reads. Example (``clients/demo.yaml``)::

    client: demo
    currency: EUR
    data_dir: ../data/demo          # relative to this YAML file
    tables:
      transactions:
        path: transactions.csv.gz   # relative to data_dir; may not leave it
        columns: {customer_id: customer_id, date: date, amount: amount}
        date_format: "%Y-%m-%d"
      customers: {path: customers.csv}
    analysis:
      freq: W
      horizon_months: 12

Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cxlib.settings.validation import DataError

__all__ = [
    "ISO_4217",
    "AnalysisConfig",
    "ClientConfig",
    "ExcludeRule",
    "ExperimentCost",
    "Limits",
    "SparkConfig",
    "TableConfig",
    "check_currency",
    "file_sha256",
    "load_config",
]

TABLES = ("transactions", "customers", "surveys", "feedback", "experiments")

_CLIENT_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

#: ISO 4217 currency codes (current and recently withdrawn, plus the X* funds and metals).
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BYR BZD CAD CDF CHE CHF CHW CLF CLP CNH CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
    DZD EEK EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS
    INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL
    LYD MAD MDL MGA MKD MMK MNT MOP MRO MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
    OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
    SRD SSP STD STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW
    UZS VED VEF VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS
    XUA XXX YER ZAR ZMW ZWG ZWL
    """.split()
)


def check_currency(currency: str) -> str:
    """Return ``currency`` when it is an ISO 4217 code or a short currency symbol, else raise.

    A symbol is at most four characters, each a letter, a currency sign or ``.``, e.g. ``€``,
    ``R$``, ``kr``, ``zł``, ``Fr.``; three capital letters must be an ISO 4217 code.
    The currency is printed next to every amount of the report, so nothing else is allowed.

    Examples
    --------
    >>> check_currency("EUR"), check_currency("R$")
    ('EUR', 'R$')
    >>> check_currency("<b>")
    Traceback (most recent call last):
    ...
    ValueError: currency '<b>' must be an ISO 4217 code (EUR, USD, GBP, ...) or a short ...
    """
    looks_like_code = len(currency) == 3 and currency.isascii() and currency.isalpha()
    if looks_like_code and currency.upper() in ISO_4217:
        if currency != currency.upper():
            raise ValueError(
                f"currency {currency!r}: ISO 4217 codes are upper case ({currency.upper()!r})"
            )
        return currency
    symbol = (
        0 < len(currency) <= 4
        and not (looks_like_code and currency.isupper())
        and all(c.isalpha() or c == "." or unicodedata.category(c) == "Sc" for c in currency)
    )
    if not symbol:
        raise ValueError(
            f"currency {currency!r} must be an ISO 4217 code (EUR, USD, GBP, ...) "
            "or a short symbol (€, $, £, R$, kr)"
        )
    return currency


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExcludeRule(_Strict):
    """Rows to set aside and count: non-product codes (postage, bank charges, adjustments).

    ``column`` is the client's column; a row is excluded when its value is one of ``values``
    or starts with one of ``prefixes``. ``reason`` names the rule in the data-quality table.
    """

    column: str
    values: list[str] | None = None
    prefixes: list[str] | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _something_to_match(self) -> ExcludeRule:
        if not self.values and not self.prefixes:
            raise ValueError("an exclude rule needs 'values' or 'prefixes'")
        return self


class Limits(_Strict):
    """What one input may cost, checked before it is read: ``limits:`` in the client's YAML.

    A limit protects the run from an export that would hang it or exhaust its memory (a
    spreadsheet that expands to gigabytes, a line of 100 MB, thousands of columns) and the
    report from text that would swamp a page. An input over a limit is refused with a
    :class:`~cxlib.DataError` naming the file and the setting to raise; raise it only for
    an export you trust. The defaults::

        limits:
          max_columns: 2000           # columns in one table
          max_line_bytes: 2000000     # bytes in one line of a CSV (a row)
          max_xlsx_bytes: 200000000   # uncompressed size of an Excel workbook
          max_xlsx_rows: 1048576      # rows of the worksheet read (Excel's own limit)
          max_label_chars: 60         # a client's name in a figure
          max_text_chars: 200         # a client's text in a table or a sentence

    The last two only shorten what a page shows (with "…"): the data, the exports
    (``actions.json``, the headlines) and the cache keep every value whole.
    """

    max_columns: int = Field(2_000, ge=10)
    max_line_bytes: int = Field(2_000_000, ge=1_000)
    max_xlsx_bytes: int = Field(200_000_000, ge=10_000)
    max_xlsx_rows: int = Field(1_048_576, ge=10)
    max_label_chars: int = Field(60, ge=10)
    max_text_chars: int = Field(200, ge=20)

    @field_validator("*", mode="before")
    @classmethod
    def _a_whole_number(cls, value: Any) -> Any:
        # `max_columns: yes` or `max_columns: "5000"` must be an error, not 1 or 5000.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r} ({type(value).__name__})")
        return value


class TableConfig(_Strict):
    """Where one table lives and how to read it (the keyword arguments of its loader).

    ``path`` names a file under ``data_dir``; with ``engine: spark`` the transactions may
    instead name a ``table`` of the Spark metastore (e.g. ``lake.sales.transactions``).
    """

    path: str | None = None
    table: str | None = None  # a Spark metastore table instead of a file (engine: spark)
    columns: dict[str, str] | None = None
    date_format: str | None = None
    encoding: str | None = None
    on_invalid: Literal["raise", "drop"] = "raise"
    sheet: str | int | None = None  # the worksheet of a workbook with several
    exclude: list[ExcludeRule] | None = None
    # the decimal separator of text numbers: "." (thousands ",") or "," (thousands ".");
    # None: read from the values (see cxlib.data.load_transactions)
    decimal: Literal[".", ","] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TableConfig:
        if (self.path is None) == (self.table is None):
            raise ValueError("give the table's file as `path:` (or, engine spark, `table:`)")
        return self

    @field_validator("sheet", mode="before")
    @classmethod
    def _sheet_is_a_name_or_position(cls, sheet: Any) -> Any:
        if isinstance(sheet, bool | float):  # `sheet: yes` must not become sheet 1
            raise ValueError(f"expected a sheet name or 0-based position, got {sheet!r}")
        return sheet


class ExperimentCost(_Strict):
    """What treating one customer in a client's test costs: ``analysis.experiment_costs``.

    ``cost_per_treated`` is the money one treated customer costs per campaign (sending the
    offer, printing, the call; and, when ``revenue: before_discount``, the average discount a
    treated customer redeems). ``revenue`` says whether the transactions' amounts, from which
    the effect is measured, are **after** the discount (the discount already lowered the
    measured revenue effect; the cost is then the contact alone) or **before** it (list
    prices: the discount is a cost the measured effect does not show, so it belongs in
    ``cost_per_treated``, which then cannot be zero).
    """

    cost_per_treated: float = Field(0.0, ge=0)
    revenue: Literal["after_discount", "before_discount"] = "after_discount"

    @field_validator("cost_per_treated", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool | str):
            raise ValueError(f"expected a number, got {value!r} ({type(value).__name__})")
        return value

    @model_validator(mode="after")
    def _discount_costs_something(self) -> ExperimentCost:
        if self.revenue == "before_discount" and self.cost_per_treated == 0:
            raise ValueError(
                "revenue: before_discount means the discount is not in the measured revenue: "
                "set cost_per_treated to the contact cost plus the average discount per "
                "treated customer"
            )
        return self


class AnalysisConfig(_Strict):
    """Settings shared by the notebooks; each notebook reads the ones it declares as parameters."""

    freq: Literal["D", "W", "M"] = "W"
    seed: int = 0
    observation_end: dt.date | None = None
    calibration_end: dt.date | None = None
    # CLV holdout length; None: 26 weeks, or a third of a shorter history
    holdout_weeks: int | None = Field(None, ge=1, le=260)
    horizon_months: int = Field(12, ge=1, le=120)
    discount_rate: float = Field(0.10, ge=0, lt=1, description="annual")
    margin: float = Field(0.30, gt=0, le=1)
    # "auto" or a purchase model; the choices are cxlib.clv's registry (checked at loading)
    clv_model: str = "auto"
    retention_gain: float = Field(0.05, gt=0, lt=1)
    # a name from cxlib.churn.DEFINITIONS, checked there by cxlib.run.loading.check_settings
    churn_definition: str = "inactivity"
    churn_cutoff: dt.date | None = None
    churn_horizon_days: int = Field(90, ge=7)
    # days without a purchase after which a customer counts as churned (inactivity); None: read
    # from the gaps between purchases (churn.inactivity_threshold), which needs repeat buyers
    churn_inactivity_days: int | None = Field(None, ge=1, le=3650)
    # survival-table column to split curves by; None: one the client has (churn.survival_split)
    churn_survival_by: str | None = None
    target_churn_rate: float | None = Field(None, gt=0, lt=1)
    promoter_min: int = Field(9, ge=0, le=10)
    detractor_max: int = Field(6, ge=0, le=10)
    feedback_stop_words: (
        Literal["english", "russian", "french", "german", "spanish"] | list[str] | None
    ) = "english"
    n_themes: int | None = Field(None, ge=2, le=30)
    n_clusters_max: int = Field(8, ge=2, le=20)
    wallet_column: str | None = None  # a customers column with each customer's stated wallet
    # contractual clients: the customers columns with tenure (whole periods) and the churned
    # flag, the contract period, and the payment per period (a column or one number; None:
    # value counted in periods)
    contract_tenure: str = "tenure"
    contract_churned: str = "churned"
    contract_period: Literal["D", "W", "M", "Q", "Y"] = "M"
    contract_value: str | float | None = None
    # what actions cost (the ranked actions are net of it): per experiment name, the cost per
    # treated customer and whether the measured revenue is before or after the discount
    # (ExperimentCost); a retention campaign's cost per contacted customer and its incentive
    # per saved customer (a customer who stays because of the contact); a complaint fix's
    # yearly cost. Zero means "no cost given", and the actions say so.
    experiment_costs: dict[str, ExperimentCost] = {}
    retention_contact_cost: float = Field(0.0, ge=0)
    retention_incentive: float = Field(0.0, ge=0)
    complaint_fix_cost: float = Field(0.0, ge=0)

    @field_validator("*", mode="before")
    @classmethod
    def _no_silent_conversion(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic would read `seed: true` as 1 and `margin: "0.3"` as 0.3: a typo in a YAML
        # must be an error, not a different number.
        annotation = str(cls.model_fields[info.field_name].annotation)
        numeric = "int" in annotation or "float" in annotation
        if numeric and (
            isinstance(value, bool) or (isinstance(value, str) and "str" not in annotation)
        ):
            raise ValueError(f"expected a number, got {value!r} ({type(value).__name__})")
        return value

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> AnalysisConfig:
        if self.promoter_min <= self.detractor_max:
            raise ValueError(
                f"promoter_min ({self.promoter_min}) must be above detractor_max "
                f"({self.detractor_max}), e.g. `promoter_min: 9` and `detractor_max: 6`"
            )
        return self


class SparkConfig(_Strict):
    """Where Spark runs (``engine: spark``): ``master`` and extra Spark settings.

    ``master`` is a Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``,
    ``k8s://...``); unset, Spark's own default applies (``spark-submit``'s, else local).
    ``conf`` entries are passed to the session builder, e.g.
    ``{"spark.sql.catalogImplementation": "hive"}`` to read metastore tables.
    """

    master: str | None = None
    conf: dict[str, str] = {}


class ClientConfig(_Strict):
    """A validated client config. Build it with :func:`load_config`.

    ``engine`` says where the per-transaction work runs: ``duckdb`` (embedded, the default) or
    ``spark`` (the transactions are read, checked and aggregated by Spark; see
    :mod:`cxlib.data.engine`), with ``spark:`` settings. ``limits:`` bounds what an input may
    cost (:class:`Limits`). ``language`` is the language the report is written in (``en``, the
    default, or ``ru``; :mod:`cxlib.settings.i18n`); ``cxlib report --language`` overrides it.
    """

    client: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    currency: str = "EUR"
    data_dir: Path
    tables: dict[str, TableConfig]
    analysis: AnalysisConfig = AnalysisConfig()
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark: SparkConfig = SparkConfig()
    limits: Limits = Limits()
    language: Literal["en", "ru"] = "en"
    config_path: Path | None = None

    @field_validator("client")
    @classmethod
    def _client_is_a_slug(cls, client: str) -> str:
        # The name becomes a folder under --out: "." or ".." would write outside the client's
        # own folder.
        if not _CLIENT_SLUG.fullmatch(client):
            raise ValueError(
                f"client name {client!r} must be a slug: 1-64 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit (it names the report folder)"
            )
        return client

    @field_validator("currency")
    @classmethod
    def _currency_is_a_code_or_symbol(cls, currency: str) -> str:
        return check_currency(currency)

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, tables: dict[str, TableConfig]) -> dict[str, TableConfig]:
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; expected some of {list(TABLES)}")
        if not tables:
            raise ValueError(f"at least one table is required, from {list(TABLES)}")
        return tables

    @model_validator(mode="after")
    def _metastore_tables_need_spark(self) -> ClientConfig:
        named = sorted(name for name, table in self.tables.items() if table.table is not None)
        if named and (self.engine != "spark" or named != ["transactions"]):
            raise ValueError(
                f"`table:` (a Spark metastore table) is read by `engine: spark` for the "
                f"transactions only; got it for {named} with engine {self.engine!r}"
            )
        return self

    def table_path(self, table: str) -> Path | None:
        """Absolute path of ``table``'s file (None for a Spark metastore table)."""
        if self.tables[table].path is None:
            return None
        return (self.data_dir / self.tables[table].path).resolve()

    def notebook_parameters(self) -> dict[str, Any]:
        """Every analysis setting plus client and currency, JSON-ready (dates as ISO strings)."""
        values = self.analysis.model_dump(mode="json")
        values.update(client=self.client, currency=self.currency)
        if self.config_path is not None:
            values["config_path"] = str(self.config_path)
        return values


def _known_keys(loc: tuple) -> list[str]:
    """Return the keys the YAML allows where ``loc`` points (``("analysis", "holdout_week")``)."""
    parents = [part for part in loc[:-1] if not isinstance(part, int)]
    if not parents:
        model: type[BaseModel] = ClientConfig
    elif parents[0] == "analysis":
        model = AnalysisConfig
    elif parents[0] == "limits":
        model = Limits
    elif parents[0] == "tables" and parents[-1] == "exclude":
        model = ExcludeRule
    elif parents[0] == "tables" and len(parents) == 2:
        model = TableConfig
    else:
        return []
    return [name for name in model.model_fields if name != "config_path"]


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            known = _known_keys(item["loc"])
            close = difflib.get_close_matches(str(item["loc"][-1]), known, n=1, cutoff=0.6)
            message = (
                f"unknown key; did you mean `{close[0]}:`?"
                if close
                else f"unknown key (check its spelling; known here: {', '.join(known)})"
            )
        lines.append(f"{where}: {message}")
    # One line, like every other config error: the CLI prints it after "error:".
    return f"{path}: invalid client config: " + "; ".join(lines)


def load_config(path: str | Path) -> ClientConfig:
    """Read and validate a client config; check that every data file exists inside ``data_dir``.

    Parameters
    ----------
    path : str or Path
        The client's YAML file.

    Returns
    -------
    ClientConfig
        With ``data_dir`` made absolute (relative paths are relative to the YAML file).

    Raises
    ------
    DataError
        For unreadable YAML, unknown or invalid keys, missing files, or a table path that
        escapes ``data_dir``.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise DataError(f"{path}: client config not found")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    raw = dict(raw)
    raw["data_dir"] = (path.parent / str(raw.get("data_dir", "."))).resolve()
    raw["config_path"] = path
    try:
        config = ClientConfig.model_validate(raw)
    except ValidationError as exc:
        raise DataError(_format_validation_error(path, exc)) from None

    data_dir = config.data_dir
    if not data_dir.is_dir():
        raise DataError(f"{path}: data_dir {data_dir} does not exist")
    for table in config.tables:
        file = config.table_path(table)
        if file is None:  # a Spark metastore table: Spark finds it when the data are loaded
            continue
        if not file.is_relative_to(data_dir):
            raise DataError(
                f"{path}: tables.{table}.path {config.tables[table].path!r} escapes the client's "
                f"data folder {data_dir}"
            )
        if not file.is_file():
            raise DataError(f"{path}: tables.{table}.path: file {file} does not exist")
    return config


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep=False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
            seen[key] = line
        except TypeError:  # an unhashable key: let PyYAML report it
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (lines {first} and {line})", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _read_yaml(path: Path) -> Any:
    """Parse a YAML file; any problem is a one-line :class:`DataError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not a text YAML file (not valid UTF-8 at byte {exc.start})"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: could not read the config: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problem = " ".join(str(problem).split())
        raise DataError(f"{path}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise DataError(f"{path}: not valid YAML: nested too deeply") from None


def file_sha256(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, read in chunks (data files may be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
