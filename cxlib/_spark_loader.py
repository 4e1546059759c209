"""Transactions read and checked by Spark (``engine: spark``): files or a metastore table.

The policy is the DuckDB loader's (:func:`cxlib.data.load_transactions`), for the checks that
decide whether a row is usable: a missing customer id (empty or a null marker), a missing or
unparseable date, a date before :data:`cxlib.data.MIN_DATE` or after the export date, a missing,
non-numeric or infinite amount, an amount beyond :data:`cxlib.data.MAX_ABS_AMOUNT`. Such rows
raise a :class:`~cxlib.DataError` naming the column, the reason and up to five values with
their row numbers, or (``on_invalid: drop``) are set aside and counted under the same reasons in
the same quality records. Not checked here, unlike the DuckDB loader: control characters in ids,
``17850.0``-style float ids, ambiguous day/month dates, Excel sources, exclude rules and type
inference of extra columns (they stay text).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlib._validation import DataError, format_offenders

#: strftime directive -> Spark datetime pattern.
_PATTERNS = {"%Y": "yyyy", "%y": "yy", "%m": "MM", "%d": "dd", "%H": "HH", "%I": "hh",
             "%M": "mm", "%S": "ss", "%f": "SSSSSS", "%p": "a", "%b": "MMM",
             "%B": "MMMM"}  # fmt: skip
_OPTIONAL_TEXT = ("order_id", "category", "channel")


def spark_date_pattern(date_format: str, caller: str) -> str:
    """Translate a strftime format to a Spark datetime pattern.

    Examples
    --------
    >>> spark_date_pattern("%d/%m/%Y", "x")
    'dd/MM/yyyy'
    >>> spark_date_pattern("%Y-%m-%dT%H:%M", "x")
    "yyyy-MM-dd'T'HH:mm"
    """
    out = []
    for token in re.split(r"(%.)", date_format):
        if token.startswith("%"):
            if token not in _PATTERNS:
                raise DataError(
                    f"{caller}: date_format {date_format!r}: {token} has no Spark equivalent "
                    f"(supported: {' '.join(_PATTERNS)})"
                )
            out.append(_PATTERNS[token])
        elif token:
            out.append(re.sub(r"([A-Za-z]+)", r"'\1'", token.replace("'", "''")))
    return "".join(out)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _read(spark, path: Path | None, table: str | None, caller: str):
    """Open the raw rows: a metastore table, a Parquet file or a (gzipped) CSV/TSV of text."""
    if table is not None:
        return spark.table(table), 1
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        return spark.read.parquet(str(path)), 1
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in (".csv", ".tsv", ".txt"):
        raise DataError(
            f"{caller} ({path}): engine spark reads .csv, .tsv, .txt (optionally .gz) and "
            ".parquet files or a metastore table (`table:`); convert the file or use the "
            "duckdb engine"
        )
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    delimiter = max((",", ";", "\t", "|"), key=header.count)
    reader = spark.read.option("header", True).option("sep", delimiter).option("mode", "PERMISSIVE")
    return reader.csv(str(path)), 2  # the header is line 1


def _checked_columns(raw, mapping, date_format, bounds, caller, name):
    """Spark SQL for the canonical values and the reason (if any) each row is unusable."""
    from cxlib.data import MAX_ABS_AMOUNT, NULL_MARKERS

    types = dict(raw.dtypes)
    for canonical, client in mapping.items():
        if client not in types:
            raise DataError(
                f"{caller} ({name}): missing column(s) {client!r} (canonical {canonical!r}); "
                f"the source has {sorted(types)}"
            )
    markers = ", ".join("'" + m.replace("'", "''") + "'" for m in NULL_MARKERS)
    ident, day, money = (_quote(mapping[c]) for c in ("customer_id", "date", "amount"))
    text_id = f"trim(CAST({ident} AS STRING))"
    value_id = (
        f"CASE WHEN lower({text_id}) IN ({markers}) OR {text_id} = '' THEN NULL ELSE {text_id} END"
    )
    if types[mapping["date"]] in ("date", "timestamp", "timestamp_ntz"):
        value_date, missing_date = f"CAST({day} AS TIMESTAMP_NTZ)", "_raw_date IS NULL"
    else:
        text = f"nullif(trim({day}), '')"
        iso = f"CASE WHEN substr({text}, 5, 1) = '-' THEN try_cast({text} AS TIMESTAMP_NTZ) END"
        value_date = iso
        if date_format is not None:
            pattern = spark_date_pattern(date_format, caller).replace("'", "\\'")
            value_date = (
                f"coalesce(CAST(try_to_timestamp({text}, '{pattern}') AS TIMESTAMP_NTZ), {iso})"
            )
        missing_date = "nullif(trim(_raw_date), '') IS NULL"
    numeric = re.match(
        r"^(tinyint|smallint|int|bigint|float|double|decimal.*)$", types[mapping["amount"]]
    )
    if numeric:
        value_amount, missing_amount = f"CAST({money} AS DOUBLE)", "_raw_amount IS NULL"
    else:
        value_amount = f"try_cast(trim({money}) AS DOUBLE)"
        missing_amount = "nullif(trim(_raw_amount), '') IS NULL"
    earliest, latest = (f"TIMESTAMP_NTZ '{b.isoformat(sep=' ')}'" for b in bounds)
    finite = "(isnan(amount) OR abs(amount) = double('Infinity'))"
    reasons = [  # the DuckDB loader's reasons, in its order
        ("missing customer_id", "customer_id IS NULL", "customer_id"),
        ("missing date", missing_date, "date"),
        ("unparseable date", "date IS NULL", "date"),
        ("missing amount", missing_amount, "amount"),
        ("non-numeric amount", f"amount IS NULL OR {finite}", "amount"),
        (
            f"date before {bounds[0].date()} or after the export date "
            f"{(bounds[1] - pd.Timedelta(days=1)).date()}",
            f"date < {earliest} OR date >= {latest}",
            "date",
        ),
        (f"amount beyond ±{MAX_ABS_AMOUNT:.0e}", f"abs(amount) > {MAX_ABS_AMOUNT!r}", "amount"),
    ]
    reason = (
        "CASE " + " ".join(f"WHEN {sql} THEN {k}" for k, (_, sql, _) in enumerate(reasons)) + " END"
    )
    values = [f"{value_id} AS customer_id", f"{value_date} AS date", f"{value_amount} AS amount"]
    values += [
        f"CAST({_quote(mapping[c])} AS STRING) AS {c}" for c in _OPTIONAL_TEXT if c in mapping
    ]
    extras = [c for c in raw.columns if c not in mapping.values()]
    values += [_quote(c) for c in extras]
    return values, reason, reasons


def read_transactions(
    spark,
    *,
    path: Path | None = None,
    table: str | None = None,
    columns: dict[str, str] | None = None,
    date_format: str | None = None,
    on_invalid: str = "raise",
    observation_end: Any = None,
    count: bool = True,
):
    """Read and check the transactions with Spark; return the canonical rows and quality records.

    Returns
    -------
    (spark DataFrame, list of dict)
        ``customer_id`` (string), ``date`` (TIMESTAMP_NTZ), ``amount`` (double), then
        ``order_id``, ``category``, ``channel`` when present and the other columns, the
        unusable rows left out (``on_invalid="drop"``); and the quality records of
        :func:`cxlib.data.quality_report`. ``count=False`` skips the counting (and so the
        ``raise`` policy: for rows a load already checked) and returns no records.
    """
    from cxlib.data._loaders import _date_bounds

    caller = "load_transactions (spark)"
    name = table if table is not None else str(path)
    raw, first_row = _read(spark, path, table, caller)
    mapping = {c: c for c in ("customer_id", "date", "amount") + _OPTIONAL_TEXT if c in raw.columns}
    mapping.update(columns or {})
    absent = [c for c in ("customer_id", "date", "amount") if c not in mapping]
    if absent:  # line items (quantity x unit_price) are read by the duckdb engine only
        raise DataError(
            f"{caller} ({name}): missing column(s) {absent}; the source has "
            f"{sorted(raw.columns)}. Map them under `columns:` in the client's config"
        )
    bounds = _date_bounds(observation_end, caller)
    values, reason_sql, reasons = _checked_columns(raw, mapping, date_format, bounds, caller, name)
    # The canonical values first, then the reason computed on them (one pass, one plan).
    staged = raw.selectExpr(
        *values, *[f"{_quote(mapping[c])} AS `_raw_{c}`" for c in ("customer_id", "date", "amount")]
    )
    staged = staged.selectExpr("*", f"{reason_sql} AS _reason")
    if not count:
        return staged.where("_reason IS NULL").drop(
            "_reason", "_raw_customer_id", "_raw_date", "_raw_amount"
        ), []
    grouped = staged.groupBy("_reason").count().collect()
    counts = {None if r["_reason"] is None else int(r["_reason"]): int(r["count"]) for r in grouped}
    n_rows = sum(counts.values())
    bad = {k: n for k, n in counts.items() if k is not None}
    if bad and on_invalid == "raise":
        k = min(bad)
        label, _, canonical = reasons[k]
        raise _offence_error(
            staged, k, label, mapping[canonical], canonical, bad[k], first_row, caller, name
        )
    kept = staged.where("_reason IS NULL").drop(
        "_reason", "_raw_customer_id", "_raw_date", "_raw_amount"
    )
    n_kept = counts.get(None, 0)
    source = Path(name).name if table is None else table
    records = [
        {"table": "transactions", "source": source, "rows_read": n_rows, "rows_kept": n_kept,
         "rows_set_aside": n, "reason": reasons[k][0], "rows_flagged": 0}
        for k, n in sorted(bad.items())
    ] or [{"table": "transactions", "source": source, "rows_read": n_rows, "rows_kept": n_kept,
           "rows_set_aside": 0, "reason": "none", "rows_flagged": 0}]  # fmt: skip
    records += _flagged(kept, source, n_rows, n_kept)
    if bad:
        detail = ", ".join(f"{n:,} {reasons[k][0]}" for k, n in sorted(bad.items()))
        warnings.warn(
            f"{caller} ({name}): set aside {n_rows - n_kept:,} of {n_rows:,} rows: {detail}",
            stacklevel=3,
        )
    return kept, records


def _flagged(kept, source, n_rows, n_kept) -> list[dict[str, Any]]:
    """Count the DuckDB loader's ``kept:`` records: refunds, zero amounts, duplicate lines."""
    negative, zero = kept.selectExpr("count_if(amount < 0)", "count_if(amount = 0)").first()
    duplicates = n_kept - kept.distinct().count()
    counts = {
        "kept: negative amount (refund or cancellation line)": negative,
        "kept: zero amount": zero,
        "kept: identical to an earlier row (duplicate line)": duplicates,
    }
    return [
        {"table": "transactions", "source": source, "rows_read": n_rows, "rows_kept": n_kept,
         "rows_set_aside": 0, "reason": reason, "rows_flagged": int(n)}
        for reason, n in counts.items() if n
    ]  # fmt: skip


def _offence_error(staged, k, label, client, canonical, n, first_row, caller, name) -> DataError:
    """Build the DuckDB loader's message: column, reason, up to five values with row numbers."""
    indexed = staged.rdd.zipWithIndex().filter(lambda pair: pair[0]["_reason"] == k).take(5)
    raw_column = f"_raw_{canonical}"
    values = ["" if row[raw_column] is None else row[raw_column] for row, _ in indexed]
    rows = [index + first_row for _, index in indexed]
    offenders = format_offenders(pd.Series(values, index=rows, dtype=object))
    if n > 5:
        offenders += f" (and {n - 5:,} more)"
    return DataError(
        f"{caller} ({name}): column {client!r} (canonical {canonical!r}): {n:,} row(s) with "
        f"{label}: {offenders}. Fix the export, or set `on_invalid: drop` to set these rows aside."
    )


def to_pandas(rows) -> pd.DataFrame:
    """Collect checked Spark rows as the canonical pandas frame (Arrow transfer)."""
    table = rows.toArrow()
    out = table.to_pandas(coerce_temporal_nanoseconds=True)
    out["date"] = out["date"].astype("datetime64[ns]")
    out["amount"] = out["amount"].astype(np.float64)
    for column in out.columns:
        if (
            out[column].dtype != object
            and column not in ("date", "amount")
            and out[column].dtype.kind in "OUS"
        ):
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
        "observation_end": config.analysis.observation_end,
    }


def _session(config):
    from cxlib.engine import spark_session

    return spark_session(config.spark.master, conf=config.spark.conf)


def spark_rows(config):
    """Return the client's checked transactions as a Spark DataFrame (read lazily)."""
    # Checked and counted once, when the client was loaded: here only the lazy filter.
    rows, _ = read_transactions(_session(config), **_options(config), count=False)
    return rows


def load_transactions_spark(path, *, config, **ignored) -> pd.DataFrame:
    """Load the transactions with Spark for :func:`cxlib.config.load_client` (engine spark).

    The pages that still need the raw rows get them as the canonical pandas frame, with the
    quality records of the Spark checks in ``attrs["quality"]``.
    """
    for option in ("encoding", "sheet", "exclude"):
        if ignored.get(option) is not None:
            raise DataError(
                f"load_transactions (spark): `{option}:` is read by the duckdb engine only; "
                "remove it or use `engine: duckdb`"
            )
    rows, records = read_transactions(_session(config), **_options(config))
    out = to_pandas(rows)
    out.attrs["quality"] = records
    return out
