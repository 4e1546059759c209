"""Transactions read and checked by Spark (``engine: spark``): files or a metastore table.

The policy is the DuckDB loader's (:func:`cxlib.data.load_transactions`), with its parameter
checks, column mapping, reasons, messages and quality records (one definition, imported from
:mod:`cxlib.data`), computed as Spark SQL over the rows (nothing raw is collected to the
driver; only the five offending values an error shows):

- a missing customer id (empty or a null marker) or one with a control character; ids that
  all read ``17850.0`` (a float export's artefact) lose the ``.0``, as with DuckDB;
- a missing or unparseable date, a date before :data:`cxlib.data.MIN_DATE` or after the export
  date; without ``date_format``, ISO dates parse (an explicit UTC offset is applied) and
  day/month dates only when some day above 12 says which part is the day: a column where both
  readings are possible, or that mixes ISO and day/month dates, is a :class:`~cxlib.DataError`;
- a missing, non-numeric or infinite amount, an amount beyond :data:`cxlib.data.MAX_ABS_AMOUNT`
  (or, for line items, the same checks of ``quantity`` and ``unit_price``; the amount is then
  their product); a table with neither (customer and date only) counts purchases: each row's
  amount is 1, as with DuckDB (:data:`cxlib.data._schema.PURCHASE_COUNTS`);
- ``exclude:`` rules (set aside and counted whatever ``on_invalid`` says);
- ``limits:`` (:class:`cxlib.settings.config.Limits`): a table with more columns than
  ``max_columns``, or a value longer than ``max_line_bytes`` (Spark's ``maxCharsPerColumn``),
  is refused with the DuckDB loader's message;
- thousands separators: a text amount's decimal separator is read from the column's values
  ("1.234.567" makes "12.500" twelve thousand five hundred) or given as ``decimal:``, and a
  column that could be read two ways is refused, as with DuckDB;
- ``encoding:`` (Spark's CSV ``encoding`` option); bytes that are not valid in the encoding
  are an error naming the line (Java reads them as U+FFFD, so a U+FFFD character in a text
  file is refused too).

Offending rows raise a :class:`~cxlib.DataError` naming the column, the reason and up to five
values with their row numbers, or (``on_invalid: drop``) are set aside and counted under the
same reasons in the same quality records; refunds, zero amounts and duplicate lines are kept
and counted. A CSV's extra columns whose every value is a number become numbers, and a file
name is read literally (``y[12].csv`` is that file), as with DuckDB. Not done here, unlike the
DuckDB loader: Excel workbooks (an error says to save the sheet as CSV or Parquet), quoted
values spanning lines (each line is a row), and Parquet nanosecond timestamps (an error says
to write microseconds). The Spark SQL itself is in :mod:`cxlib.data._spark_sql`, the opening
of the source in :mod:`cxlib.data._spark_read`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlib.data._checked import (
    _check_exclude_columns,
    _excluded_reason,
    _offence_message,
)
from cxlib.data._limits import _check_columns, _limits
from cxlib.data._loaders import (
    _check_columns_parameter,
    _check_exclude_parameter,
    _check_read_options,
    _date_bounds,
)
from cxlib.data._schema import (
    _LINE_ITEM,
    NO_REASON,
    PURCHASE_COUNT_REASON,
    PURCHASE_COUNTS,
)
from cxlib.data._sources import _decoding_error
from cxlib.data._spark_read import _line_limit, _read
from cxlib.data._spark_sql import (
    _DMY_SQL,
    _FLOAT,
    _NUMERIC,
    _TEMPORAL,
    _column_sql,
    _extra_sql,
    _extra_type,
    _extra_types_sql,
    _literal,
    _not_a_null_marker,
    _number_stats_sql,
    _quote,
    spark_date_pattern,  # noqa: F401 - public here before it moved
)
from cxlib.data._sql import (
    _day_month_format,
    _number_formats,
    _range_reason,
    _reason,
    _resolve_columns,
)
from cxlib.settings.validation import DataError

_OPTIONAL_TEXT = ("order_id", "category", "channel")
#: The date format and id decision of each checked source, so that the lazy re-read of
#: :func:`spark_rows` applies what the counted load decided, without another pass.
_DECIDED: dict[tuple, tuple[str | None, bool, dict[str, str]]] = {}


def _ids_all_end_in_zero_fraction(raw, column: str, dtype: str) -> bool:
    """Say whether every id carries a float artefact (17850.0): the DuckDB loader's decision."""
    q = _quote(column)
    if _FLOAT.match(dtype):
        value, artefact = q, f"({q} = floor({q}) OR isnan({q}) OR abs({q}) = double('inf'))"
    elif _NUMERIC.match(dtype) or _TEMPORAL.match(dtype):
        return False
    else:
        value = _not_a_null_marker(f"trim({q})")
        artefact = f"(endswith({value}, '.0') AND {value} rlike '^[+-]?[0-9]+[.]0+$')"
    present = raw.where(f"{value} IS NOT NULL")
    # The first id without the artefact settles it (limit 1 stops the scan there).
    if present.where(f"NOT coalesce({artefact}, false)").limit(1).count():
        return False
    return bool(present.limit(1).count())


class _Plan:
    """The checked columns of one source and the Spark SQL that stages them.

    ``reasons`` lists (label, condition, check index or None for an ``exclude`` rule) in the
    DuckDB loader's order: the rules first, then each column's missing / bad / out of range.
    """

    def __init__(self, raw, src, checks, rules, bounds, zero_fraction, text_file):
        self.raw, self.src, self.checks, self.rules = raw, src, checks, rules
        self.bounds, self.zero_fraction, self.text_file = bounds, zero_fraction, text_file
        self.raw_table = None  # the metastore table read, if any
        self.extra_types: dict[str, str] = {}  # text extras that hold numbers: BIGINT/DOUBLE
        self.decimals: dict[str, str | None] = {}  # text numbers' decimal separator
        self.types = dict(raw.dtypes)
        used = {check.client for check in checks}
        self.extras = [name for name in raw.columns if name not in used]
        self.date = next(i for i, check in enumerate(checks) if check.kind == "date")
        self.reasons: list[tuple[str, str, int | None]] = [
            (_excluded_reason(rule), f"__e{k}", None) for k, rule in enumerate(rules)
        ]
        for i, check in enumerate(checks):
            if check.kind in ("string", "text"):
                continue
            self.reasons += [
                (_reason(check, True), f"__m{i}", i),
                (_reason(check, False), f"__b{i}", i),
            ]
            if check.kind in ("date", "number"):
                self.reasons.append((_range_reason(check, bounds), f"__o{i}", i))

    @property
    def counts_purchases(self) -> bool:
        """Say whether the table has no amount (nor line items): one purchase per row."""
        return not {check.canonical for check in self.checks} & {"amount", "quantity"}

    def text_date(self) -> bool:
        """Say whether the date column is text (and so may need its day/month order inferred)."""
        return not _TEMPORAL.match(self.types[self.checks[self.date].client])

    def staged(self, date_format: str | None):
        """Return every row with its raw texts ``__raw{i}``, values ``__v{i}``, flags, reason.

        Internal columns start with ``__`` so that they cannot clash with the client's.
        """
        source = ["*"]
        for i, check in enumerate(self.checks):
            q = _quote(check.client)
            source += [f"{q} AS __c{i}", f"trim(CAST({q} AS STRING)) AS __s{i}"]
            source.append(f"CAST({q} AS STRING) AS __raw{i}")
        for k, rule in enumerate(self.rules):
            cell = f"trim(CAST({_quote(rule['column'])} AS STRING))"
            tests = [f"{cell} IN ({', '.join(_literal(v) for v in rule.get('values', []))})"]
            tests = tests if rule.get("values") else []
            tests += [f"startswith({cell}, {_literal(p)})" for p in rule.get("prefixes", [])]
            source.append(f"coalesce({' OR '.join(tests)}, false) AS __e{k}")
        if self.text_file:  # Java decodes an invalid byte as U+FFFD
            cells = [f"coalesce(instr({_quote(c)}, '\ufffd') > 0, false)" for c in self.raw.columns]
            source.append(f"({' OR '.join(cells)}) AS __undecodable")
        stages: list[list[str]] = [["*"] for _ in range(4)]
        for i, check in enumerate(self.checks):
            text, parsed, value, missing, bad, out = _column_sql(
                check, i, self.types[check.client], date_format, self.bounds,
                self.zero_fraction and check.kind == "id", self.decimals.get(check.client),
            )  # fmt: skip
            stages[0].append(f"{text} AS __t{i}")
            stages[1].append(f"{parsed} AS __p{i}")
            stages[2].append(f"{value} AS __v{i}")
            for flag, sql in (("m", missing), ("b", bad), ("o", out)):
                stages[3].append(f"coalesce({sql}, false) AS __{flag}{i}")
        rows = self.raw.selectExpr(*source)
        for stage in stages:
            rows = rows.selectExpr(*stage)
        cases = " ".join(f"WHEN {flag} THEN {k}" for k, (_, flag, _) in enumerate(self.reasons))
        reason = f"CASE {cases} END" if cases else "NULL"
        return rows.selectExpr("*", f"{reason} AS __reason")

    def canonical(self, staged):
        """Return the kept rows as the DuckDB loader does (line items: amount = q × price)."""
        names = {check.canonical: f"__v{i}" for i, check in enumerate(self.checks)}
        out = []
        for i, check in enumerate(self.checks):
            if check.canonical == "quantity":
                out.append(f"{names['quantity']} * {names['unit_price']} AS amount")
            name = check.client if check.canonical in _LINE_ITEM else check.canonical
            out.append(f"__v{i} AS {_quote(name)}")
            if check.canonical == "date" and self.counts_purchases:
                out.append("CAST(1.0 AS DOUBLE) AS amount")  # after the date, as with DuckDB
        taken = {check.client if check.canonical in _LINE_ITEM else check.canonical
                 for check in self.checks} | {"amount"}  # fmt: skip
        for name in self.extras:  # as _rename_clashes: a clash keeps the canonical column
            alias = f"{name}_unmapped" if name in taken else name
            value = _extra_sql(name, self.extra_types.get(name, "STRING"))
            out.append(f"{value} AS {_quote(alias)}")
        return staged.where("__reason IS NULL").selectExpr(*out)


def _extra_types(raw, extras: list[str]) -> dict[str, str]:
    """Return the type of each text extra column, as the DuckDB loader decides it (one pass).

    The extra columns' cells are unpivoted into one long column and grouped by column: the
    work grows with the number of cells, not with the square of the number of columns.
    """
    from pyspark.sql import functions as F

    if not extras:
        return {}
    names = [f"x{j}" for j in range(len(extras))]
    wide = raw.select(
        *(F.col(_quote(n)).cast("string").alias(a) for n, a in zip(extras, names, strict=True))
    )
    long = wide.unpivot([], names, "name", "v")
    rows = long.groupBy("name").agg(*(F.expr(sql) for sql in _extra_types_sql("v"))).collect()
    counts = {row[0]: tuple(row[1:]) for row in rows}
    return {name: _extra_type(*counts.get(f"x{j}", (0, 0, 0, 0))) for j, name in enumerate(extras)}


def _first_rows(staged, condition: str, columns: list[str], first_row: int, n: int = 5):
    """Return the row numbers and values of the first ``n`` rows meeting ``condition``.

    A row's number is its position in the source (partitions in file order) plus
    ``first_row``, computed in the JVM: the position within its partition (the low bits of
    ``monotonically_increasing_id``) plus the rows of the partitions before it.
    """
    picked = staged.selectExpr(
        "spark_partition_id() AS __part",
        "monotonically_increasing_id() AS __id",
        f"coalesce({condition}, false) AS __hit",
        *columns,
    )
    hits = picked.where("__hit").orderBy("__id").limit(n).collect()
    if not hits:
        return []
    sizes = dict(picked.groupBy("__part").count().collect())
    before = {
        part: sum(sizes.get(k, 0) for k in range(part)) for part in {r["__part"] for r in hits}
    }
    return [
        (before[row["__part"]] + (row["__id"] - (row["__part"] << 33)) + first_row, row)
        for row in hits
    ]


def _infer_date_format(plan: _Plan, staged, caller: str) -> str | None:
    """Return the day/month order of a text date column with non-ISO dates, as the DuckDB loader."""
    from pyspark.sql import functions as F

    i, check = plan.date, plan.checks[plan.date]
    text = f"nullif(trim({_quote(check.client)}), '')"
    dmy = f"{text} rlike '{_DMY_SQL}'"

    def part(k: int) -> str:
        return f"regexp_extract({text}, '{_DMY_SQL}', {k})"

    _, iso_sql, *_ = _column_sql(check, i, "string", None, plan.bounds, False)
    iso_sql = iso_sql.replace(f"__t{i}", text)
    stats = plan.raw.agg(
        F.expr(f"count({iso_sql})"),
        F.expr(f"count_if({dmy})"),
        F.expr(f"max(try_cast({part(1)} AS INT))"),
        F.expr(f"max(try_cast({part(3)} AS INT))"),
        F.expr(f"min_by({part(2)}, {text}) FILTER (WHERE {dmy})"),
        F.expr(f"max(length({part(4)}))"),
        F.expr(f"min({text}) FILTER (WHERE {dmy})"),
    ).first()
    mixed = None
    if stats[0] and stats[1]:  # an ISO row and a failing row, for the mixed-formats error
        offset = plan.src.row_offset
        ((good_row, good),) = _first_rows(staged, f"__v{i} IS NOT NULL", [f"__v{i}"], offset, 1)
        ((bad_row, bad),) = _first_rows(staged, f"__b{i}", [f"__raw{i}"], offset, 1)
        good, bad = good[f"__v{i}"], bad[f"__raw{i}"]
        mixed = (f"row {good_row}: {good:%Y-%m-%d}", f"row {bad_row}: {bad!r}")
    where = f"{caller} ({plan.src.name}): column {check.client!r} (canonical {check.canonical!r})"
    return _day_month_format(tuple(stats), where, mixed)


def _source_key(path, table, columns, encoding, date_format) -> tuple:
    stat = path.stat() if path is not None else None
    return (
        str(path), table, stat and (stat.st_mtime_ns, stat.st_size),
        tuple(sorted(columns.items())), encoding, date_format,
    )  # fmt: skip


def read_transactions(
    spark,
    *,
    path: Path | None = None,
    table: str | None = None,
    columns: dict[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    encoding: str | None = None,
    sheet: str | int | None = None,
    exclude: list[dict[str, Any]] | None = None,
    observation_end: Any = None,
    decimal: str | None = None,
    limits: Any = None,
    count: bool = True,
):
    """Read and check the transactions with Spark; return the canonical rows and quality records.

    Parameters are those of :func:`cxlib.data.load_transactions` (a ``path`` or a metastore
    ``table`` instead of ``source``; ``sheet`` only to say that Spark reads no workbook).

    Returns
    -------
    (spark DataFrame, list of dict)
        ``customer_id`` (string), ``date`` (TIMESTAMP_NTZ), ``amount`` (double), then the
        line items' ``quantity`` and ``unit_price`` (under the client's names), ``order_id``,
        ``category``, ``channel`` when present and the other columns, the unusable and
        excluded rows left out; and the quality records of :func:`cxlib.data.quality_report`.
        ``count=False`` skips the counting (and so the ``raise`` policy: for rows a load
        already checked) and returns no records.
    """
    caller = "load_transactions (spark)"
    limits = _limits(limits, caller)
    _check_read_options(decimal, on_invalid, date_format, caller)
    columns = _check_columns_parameter("transactions", columns, caller)
    rules = _check_exclude_parameter(exclude, caller)
    bounds = _date_bounds(observation_end, caller)
    path = None if path is None else Path(path)
    raw, src, codec = _read(spark, path, table, encoding, sheet, caller, limits)
    with _line_limit(path, codec, limits, src.name, caller):  # Spark reads lines lazily
        available = list(raw.columns)
        _check_columns(len(available), limits, src.name, caller)
        checks = _resolve_columns(src, available, "transactions", columns, caller)
        _check_exclude_columns(rules, available, src.name, caller)
        key = _source_key(path, table, columns, encoding, date_format) + (decimal,)
        decided = _DECIDED.get(key)
        if decided is None:
            ident = checks[0].client
            zero_fraction = _ids_all_end_in_zero_fraction(raw, ident, dict(raw.dtypes)[ident])
        else:
            date_format, zero_fraction, extra_types, decimals = decided
        plan = _Plan(raw, src, checks, rules, bounds, zero_fraction, codec is not None)
        plan.raw_table = table
        if decided is None:  # CSV: an extra column whose every value is a number becomes one
            extra_types = _extra_types(raw, plan.extras) if codec is not None else {}
            decimals = _decimal_separators(plan, decimal, caller)
        plan.extra_types, plan.decimals = extra_types, decimals
        staged = plan.staged(date_format)
        if not count:
            if date_format is None and decided is None and plan.text_date():
                bad_dates = staged.where(f"__b{plan.date}").limit(1).count()
                if bad_dates:
                    staged = plan.staged(_infer_date_format(plan, staged, caller))
            return plan.canonical(staged), []
        counts = _count(plan, staged)
        if counts["__undecodable"]:
            ((line, _),) = _first_rows(
                staged, "__undecodable", ["__undecodable"], src.row_offset, 1
            )
            raise _decoding_error(caller, src.name, codec, line, "invalid byte sequence")
        if date_format is None and plan.text_date() and counts["bad_dates"]:
            inferred = _infer_date_format(plan, staged, caller)
            if inferred is not None:
                date_format, staged = inferred, plan.staged(inferred)
                counts = _count(plan, staged)
        _DECIDED[key] = (date_format, zero_fraction, extra_types, decimals)
        return _checked(plan, staged, counts, on_invalid, caller)


def _decimal_separators(plan: _Plan, decimal: str | None, caller: str) -> dict[str, str | None]:
    """Return the decimal separator of each text number column, as the DuckDB loader decides."""
    from pyspark.sql import functions as F

    text = [
        check
        for check in plan.checks
        if check.kind == "number" and not _NUMERIC.match(plan.types[check.client])
    ]
    if not text or decimal is not None:
        return dict.fromkeys((check.client for check in text), decimal)
    trimmed = [_not_a_null_marker(f"trim(CAST({_quote(c.client)} AS STRING))") for c in text]
    parts = [sql for t in trimmed for sql in _number_stats_sql(t)]
    row = tuple(plan.raw.agg(*(F.expr(sql) for sql in parts)).first())
    return _number_formats(row, text, plan.src.name, caller)


def _count(plan: _Plan, staged) -> dict[str, Any]:
    """One pass: rows per reason, kept refunds and zero amounts, undecodable rows."""
    names = {check.canonical: f"__v{i}" for i, check in enumerate(plan.checks)}
    amount = names.get("amount") or (
        "1.0" if plan.counts_purchases else f"({names['quantity']} * {names['unit_price']})"
    )
    parts = [f"count_if(__reason = {k}) AS r{k}" for k in range(len(plan.reasons))]
    parts += [
        "count(*) AS n_rows",
        f"count_if(__reason IS NULL AND {amount} < 0) AS negative",
        f"count_if(__reason IS NULL AND {amount} = 0) AS zero",
        f"count_if(__b{plan.date}) AS bad_dates",
        "count_if(__undecodable) AS __undecodable" if plan.text_file else "0 AS __undecodable",
    ]
    return staged.selectExpr(*parts).first().asDict()


def _checked(plan: _Plan, staged, counts, on_invalid: str, caller: str):
    """Raise on offending rows, or keep the others and write the quality records."""
    src = plan.src
    n_rows = counts["n_rows"]
    if n_rows == 0 and src.name != plan.raw_table:  # a file (a table may be empty)
        raise DataError(f"{caller} ({src.name}): the file has a header but no data rows")
    bad = {k: counts[f"r{k}"] for k in range(len(plan.reasons)) if counts[f"r{k}"]}
    offences = [k for k in bad if plan.reasons[k][2] is not None]
    if offences and on_invalid == "raise":
        k = offences[0]
        label, _, i = plan.reasons[k]
        shown = _first_rows(staged, f"__reason = {k}", [f"__raw{i}"], src.row_offset)
        raise _offence_message(
            src.name, caller, plan.checks[i], label,
            [row for row, _ in shown], [values[f"__raw{i}"] for _, values in shown], bad[k],
        )  # fmt: skip
    kept = plan.canonical(staged)
    n_kept = n_rows - sum(bad.values())
    distinct = staged.where("__reason IS NULL").select(*map(_quote, plan.raw.columns)).distinct()
    flagged = {
        "kept: negative amount (refund or cancellation line)": counts["negative"],
        "kept: zero amount": counts["zero"],
        "kept: identical to an earlier row (duplicate line)": n_kept - distinct.count(),
    }
    base = {"table": "transactions", "source": src.short_name, "rows_read": n_rows,
            "rows_kept": n_kept}  # fmt: skip
    records = [
        {**base, "rows_set_aside": n, "reason": plan.reasons[k][0], "rows_flagged": 0}
        for k, n in bad.items()
    ] or [{**base, "rows_set_aside": 0, "reason": NO_REASON, "rows_flagged": 0}]
    records += [
        {**base, "rows_set_aside": 0, "reason": reason, "rows_flagged": int(n)}
        for reason, n in flagged.items()
        if n
    ]
    if plan.counts_purchases:
        records.append(
            {**base, "rows_set_aside": 0, "reason": PURCHASE_COUNT_REASON, "rows_flagged": n_kept}
        )
    if bad:
        detail = ", ".join(f"{n:,} {plan.reasons[k][0]}" for k, n in bad.items())
        warnings.warn(
            f"{caller} ({src.name}): set aside {n_rows - n_kept:,} of {n_rows:,} rows: {detail}",
            stacklevel=4,
        )
    return kept, records


def to_pandas(rows) -> pd.DataFrame:
    """Collect checked Spark rows as the canonical pandas frame (Arrow transfer)."""
    table = rows.toArrow()
    out = table.to_pandas(coerce_temporal_nanoseconds=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    out["amount"] = out["amount"].astype(np.float64)
    # Canonical text columns are Python strings, as the DuckDB loader returns them; the
    # client's other columns keep the type Arrow gives them there too.
    for column in ("customer_id", *_OPTIONAL_TEXT):
        if column in out.columns and out[column].dtype != object:
            out[column] = out[column].astype(object)
    return out


def _options(config) -> dict[str, Any]:
    table = config.tables["transactions"]
    return {
        "path": config.table_path("transactions"),
        "table": table.table,
        "columns": table.columns,
        "date_format": table.date_format,
        "on_invalid": table.on_invalid,
        "encoding": table.encoding,
        "sheet": table.sheet,
        "exclude": None
        if table.exclude is None
        else [rule.model_dump(exclude_none=True) for rule in table.exclude],
        "observation_end": config.analysis.observation_end,
        "decimal": table.decimal,
        "limits": config.limits,
    }


def _session(config):
    from cxlib.data.engine import spark_session

    return spark_session(config.spark.master, conf=config.spark.conf)


def spark_rows(config):
    """Return the client's checked transactions as a Spark DataFrame (read lazily)."""
    # Checked and counted once, when the client was loaded: here only the lazy filter.
    rows, _ = read_transactions(_session(config), **_options(config), count=False)
    return rows


def load_transactions_spark(path, *, config, **ignored) -> pd.DataFrame:
    """Load the transactions with Spark for :func:`cxlib.run.loading.load_client` (engine spark).

    The pages that still need the raw rows get them as the canonical pandas frame, with the
    quality records of the Spark checks in ``attrs["quality"]``. The table's options are read
    from ``config`` (the same as those ``load_client`` passes).
    """
    rows, records = read_transactions(_session(config), **_options(config))
    out = to_pandas(rows)
    out.attrs["quality"] = records
    if any(record["reason"] == PURCHASE_COUNT_REASON for record in records):
        out.attrs["amount_basis"] = PURCHASE_COUNTS
    return out
