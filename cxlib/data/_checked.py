"""The checking pass: parse and check the canonical columns of ``src`` in one query.

Offending rows are set aside or raised on, and the canonical frame is built with its
data-quality records.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cxlib.data import _schema
from cxlib.data._limits import _check_columns
from cxlib.data._schema import (
    _ARROW_STRINGS,
    _COMPACT_TEXT,
    _FLOAT_TYPES,
    _LINE_ITEM,
    _NUMERIC_TYPES,
    _TEMPORAL_TYPES,
    NO_REASON,
    PURCHASE_COUNT_REASON,
    PURCHASE_COUNTS,
    _Check,
    _literal,
    _quote,
)
from cxlib.data._sources import _register_frame, _relation_types, _repeated, _Source
from cxlib.data._sql import (
    _date_format,
    _expressions,
    _not_a_null_marker,
    _number_format,
    _number_stats_sql,
    _range_reason,
    _reason,
    _resolve_columns,
)
from cxlib.settings.config import Limits
from cxlib.settings.validation import DataError, format_offenders


def _extra_types(con: duckdb.DuckDBPyConnection, extras: list[str]) -> dict[str, str]:
    """Numeric type of text extra columns whose every value is a number (else VARCHAR).

    One pass over the cells of every extra column (UNPIVOT, then one group per column): the
    cost grows with the number of cells, so a table of 10,000 columns is typed in seconds
    (one SELECT with four aggregates per column took minutes).
    """
    if not extras:
        return {}
    text = "NULLIF(trim(v), '')"
    columns = ", ".join(f"{_quote(name)} AS {_quote(f'x{j}')}" for j, name in enumerate(extras))
    rows = con.execute(
        f"SELECT name, count({text}), "
        f"count_if(regexp_matches({text}, '^[+-]?[0-9]{{1,18}}$')), "
        f"count(TRY_CAST({text} AS DOUBLE)), "
        f"count_if(regexp_matches({text}, '^[+-]?0[0-9]')) "
        f"FROM (UNPIVOT (SELECT {columns} FROM src) ON COLUMNS(*) INTO NAME name VALUE v) "
        "GROUP BY name"
    ).fetchall()
    counts = {int(name[1:]): found for name, *found in rows}
    types = {}
    for j, name in enumerate(extras):
        n, n_int, n_float, leading_zero = counts.get(j, (0, 0, 0, 0))
        if n == 0 or leading_zero:
            types[name] = "VARCHAR"
        elif n_int == n:
            types[name] = "BIGINT"
        elif n_float == n:
            types[name] = "DOUBLE"
        else:
            types[name] = "VARCHAR"
    return types


def _load_checked(
    con: duckdb.DuckDBPyConnection,
    src: _Source,
    table: str,
    columns: dict[str, str],
    date_format: str | None,
    on_invalid: str,
    caller: str,
    *,
    rules: list[dict[str, Any]] | None = None,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    decimal: str | None = None,
    limits: Limits | None = None,
) -> pd.DataFrame:
    rules = rules or []
    file_types: dict[str, str] = {}
    if src.frame is not None:
        available = [str(c) for c in src.frame.columns]
    else:
        file_types = _relation_types(con)
        available = list(file_types)
    _check_columns(len(available), limits or Limits(), src.name, caller)
    duplicated = _repeated(available)
    if duplicated:
        raise DataError(f"{caller} ({src.name}): duplicate column(s) {duplicated}; got {available}")
    checks = _resolve_columns(src, available, table, columns, caller)
    _check_exclude_columns(rules, available, src.name, caller)
    used = {check.client for check in checks}
    if src.frame is not None:
        frame = src.frame.copy(deep=False)
        frame.columns = available
        registered = used | {rule["column"] for rule in rules}
        _register_frame(con, frame, sorted(registered, key=available.index))
        types = _relation_types(con)
    else:
        types = file_types
    extras = [name for name in available if name not in used]
    extra_types: dict[str, str] = {}
    if src.text_file:
        extra_types = _extra_types(con, extras)
    row_hash = table == "transactions" and src.frame is None
    zero_fraction = {
        check.client: _ids_all_end_in_zero_fraction(con, check.client, types[check.client])
        for check in checks
        if check.kind == "id"
    }
    separators = _decimal_separators(con, src, checks, types, decimal, caller)

    def run(formats: dict[str, str | None]) -> pa.Table:
        # Nested SELECTs so that each column's text, parsed value and flags are computed
        # once, however many later expressions read them.
        source, trimmed, inner, parse, clamp, flag, select = [], [], [], ["*"], ["*"], ["*"], []
        for i, check in enumerate(checks):
            sql = _expressions(
                check,
                types[check.client],
                formats.get(check.canonical),
                i,
                bounds=bounds,
                zero_fraction_ids=zero_fraction.get(check.client, False),
                decimal=separators.get(check.client),
            )
            q = _quote(check.client)
            source.append(f"{q} AS c{i}")
            inner.append(f"c{i}")
            parse.append(f"{sql.parsed} AS p{i}")
            clamp.append(f"{sql.value} AS v{i}")
            if check.kind == "string":  # kept as it is: nothing to check
                select += [
                    f"v{i}",
                    f"false AS m{i}",
                    f"false AS b{i}",
                    f"false AS o{i}",
                    f"NULL::VARCHAR AS r{i}",
                ]
                continue
            trimmed.append(f"trim(CAST({q} AS VARCHAR)) AS s{i}")
            source.append(f"CAST({q} AS VARCHAR) AS raw{i}")
            inner += [f"{sql.text} AS t{i}", f"raw{i}"]
            flag += [
                f"coalesce({sql.missing}, false) AS m{i}",
                f"coalesce({sql.bad}, false) AS b{i}",
                f"coalesce({sql.out_of_range}, false) AS o{i}",
            ]
            select += [
                f"v{i}",
                f"m{i}",
                f"b{i}",
                f"o{i}",
                f"CASE WHEN m{i} OR b{i} OR o{i} THEN coalesce(raw{i}, '') END AS r{i}",
            ]
        for k, rule in enumerate(rules):
            cell = f"trim(CAST({_quote(rule['column'])} AS VARCHAR))"
            tests = (
                [f"{cell} IN ({', '.join(_literal(v) for v in rule['values'])})"]
                if rule.get("values")
                else []
            )
            tests += [f"starts_with({cell}, {_literal(p)})" for p in rule.get("prefixes", [])]
            source.append(f"coalesce({' OR '.join(tests)}, false) AS e{k}")
            inner.append(f"e{k}")
            select.append(f"e{k}")
        if src.frame is None:
            for j, name in enumerate(extras):
                target = extra_types.get(name)
                q = _quote(name)
                if target is None or target == "VARCHAR":
                    source.append(f"{q} AS x{j}")
                else:
                    # TRY_CAST trims, and reads '' as NULL: one function per cell
                    source.append(f"TRY_CAST({q} AS {target}) AS x{j}")
                inner.append(f"x{j}")
                select.append(f"x{j}")
        if row_hash:  # identical rows, counted without a pandas pass over every column
            source.append(f"hash({', '.join(_quote(name) for name in available)}) AS h")
            inner.append("h")
            select.append("h")
        source += trimmed
        query = f"SELECT {', '.join(source)} FROM src"
        for stage in (inner, parse, clamp, flag, select):
            query = f"SELECT {', '.join(stage)} FROM ({query})"
        reader = con.sql(query).arrow()
        try:
            return reader.read_all()  # streamed: DuckDB never holds the whole result
        except (OSError, pa.ArrowException) as exc:  # a DuckDB error surfacing through Arrow
            raise duckdb.InvalidInputException(str(exc)) from exc

    # Parse text dates as ISO first; only a column with failures is examined for day/month
    # order (no extra pass over a clean file).
    formats = {check.canonical: date_format for check in checks if check.kind == "date"}
    result = run(formats)
    if date_format is None:
        inferred = {}
        for i, check in enumerate(checks):
            if (
                check.kind == "date"
                and types[check.client].upper() == "VARCHAR"
                and pc.any(result.column(f"b{i}")).as_py()
            ):
                inferred_format = _date_format(
                    con, check, src, caller, _mixed_examples(result, i, src)
                )
                if inferred_format is not None:
                    inferred[check.canonical] = inferred_format
        if inferred:
            del result
            formats.update(inferred)
            result = run(formats)
    n_rows = result.num_rows
    if n_rows == 0 and src.frame is None or n_rows == 0 and src.name != "DataFrame":
        raise DataError(f"{caller} ({src.name}): the file has a header but no data rows")

    # Which rows are set aside, and why: excluded rows first (the config's rules explain
    # them, even when they are also invalid), then the first failing check in column order.
    reasons: list[str] = []
    code = np.zeros(n_rows, dtype=np.int16)
    for k, rule in enumerate(rules):
        mask = result.column(f"e{k}").to_numpy(zero_copy_only=False)
        if mask.any():
            reasons.append(_excluded_reason(rule))
            code[mask & (code == 0)] = len(reasons)
    excluded = code > 0
    offences: list[tuple[_Check, str, np.ndarray, int]] = []
    for i, check in enumerate(checks):
        for flag, is_missing in ((f"m{i}", True), (f"b{i}", False), (f"o{i}", False)):
            mask = result.column(flag).to_numpy(zero_copy_only=False) & ~excluded
            if check.kind in ("string", "text") and not is_missing:
                continue
            if not check.required and is_missing:
                continue
            if mask.any():
                reasons.append(
                    _range_reason(check, bounds) if flag[0] == "o" else _reason(check, is_missing)
                )
                code[mask & (code == 0)] = len(reasons)
                offences.append((check, reasons[-1], mask, i))
    if table == "customers":
        ids = pd.Series(result.column("v0").to_numpy(zero_copy_only=False), dtype=object)
        valid = code == 0
        repeated_all = ids.duplicated(keep=False).to_numpy() & valid
        if repeated_all.any():
            # Compare only among otherwise-valid rows: keep each id's first valid row.
            later = ids[valid].duplicated(keep="first")
            repeated_later = np.zeros(n_rows, dtype=bool)
            repeated_later[np.flatnonzero(valid)[later.to_numpy()]] = True
            reasons.append("duplicate customer_id")
            code[repeated_later] = len(reasons)
            offences.append((checks[0], reasons[-1], repeated_all, 0))

    if offences and on_invalid == "raise":
        check, reason, mask, i = offences[0]
        raise _offence_error(
            src,
            caller,
            check,
            reason,
            mask,
            result.column(f"v{i}") if reason == "duplicate customer_id" else result.column(f"r{i}"),
        )

    keep = code == 0
    n_kept = int(keep.sum())
    value_names = [f"v{i}" for i in range(len(checks))]
    extra_names = [f"x{j}" for j in range(len(extras))] if src.frame is None else []
    duplicates = None
    if row_hash:
        hashes = np.sort(result.column("h").to_numpy(zero_copy_only=False)[keep])
        duplicates = int((hashes[1:] == hashes[:-1]).sum())  # sorting beats np.unique here
    out_table = result.select(value_names + extra_names)
    del result
    if n_kept < n_rows:
        out_table = out_table.filter(pa.array(keep))
    # Read at call time: cxlib.data._schema.LARGE_TABLE_ROWS is the setting a test changes.
    compact = n_kept > _schema.LARGE_TABLE_ROWS
    out = out_table.to_pandas(
        coerce_temporal_nanoseconds=True,
        split_blocks=True,
        self_destruct=True,
        types_mapper=_ARROW_STRINGS.get if compact else None,
    )
    del out_table
    out.columns = [check.canonical for check in checks] + (extras if src.frame is None else [])
    out = _rename_clashes(out, checks)  # before _finish: it reads each canonical column once
    out = _finish(out, checks, table, text_dtype=_COMPACT_TEXT if compact else object)
    if src.frame is not None and extras:
        rest = src.frame.iloc[np.flatnonzero(keep)]
        rest = rest.set_axis(available, axis=1)[extras].reset_index(drop=True)
        out = pd.concat([out, rest], axis=1)
    out = _rename_clashes(out, checks)

    set_aside = {reason: int((code == k + 1).sum()) for k, reason in enumerate(reasons)}
    set_aside = {reason: n for reason, n in set_aside.items() if n}
    records = [
        {
            "table": table,
            "source": src.short_name,
            "rows_read": n_rows,
            "rows_kept": n_kept,
            "rows_set_aside": n,
            "reason": reason,
            "rows_flagged": 0,
        }
        for reason, n in (set_aside.items() if set_aside else [(NO_REASON, 0)])
    ]
    records += [
        {
            "table": table,
            "source": src.short_name,
            "rows_read": n_rows,
            "rows_kept": n_kept,
            "rows_set_aside": 0,
            "reason": reason,
            "rows_flagged": n,
        }
        for reason, n in _flagged_rows(out, table, duplicates).items()
    ]
    out.attrs["quality"] = records
    if table == "transactions" and not {c.canonical for c in checks} & {"amount", "quantity"}:
        out.attrs["amount_basis"] = PURCHASE_COUNTS
        records.append({**records[0], "rows_set_aside": 0, "reason": PURCHASE_COUNT_REASON,
                        "rows_flagged": n_kept})  # fmt: skip
    if set_aside:
        detail = ", ".join(f"{n:,} {reason}" for reason, n in set_aside.items())
        warnings.warn(
            f"{caller} ({src.name}): set aside {n_rows - n_kept:,} of {n_rows:,} rows: {detail}",
            stacklevel=4,
        )
    return out


def _decimal_separators(
    con: duckdb.DuckDBPyConnection,
    src: _Source,
    checks: list[_Check],
    types: dict[str, str],
    decimal: str | None,
    caller: str,
) -> dict[str, str | None]:
    """Return the decimal separator of each text number column (see :func:`_sql._number_format`)."""
    text = [c for c in checks if c.kind == "number" and not _NUMERIC_TYPES.match(types[c.client])]
    if not text:
        return {}
    if decimal is not None:
        return {check.client: decimal for check in text}
    inner = ", ".join(
        f"{_not_a_null_marker(f'trim(CAST({_quote(c.client)} AS VARCHAR))')} AS t{k}"
        for k, c in enumerate(text)
    )
    parts = [sql for k in range(len(text)) for sql in _number_stats_sql(f"t{k}")]
    row = con.execute(f"SELECT {', '.join(parts)} FROM (SELECT {inner} FROM src)").fetchall()[0]
    width = len(row) // len(text)
    return {
        check.client: _number_format(
            row[k * width : (k + 1) * width],
            f"{caller} ({src.name}): column {check.client!r} (canonical {check.canonical!r})",
            None,
        )
        for k, check in enumerate(text)
    }


def _check_exclude_columns(
    rules: list[dict[str, Any]], available: list[str], name: str, caller: str
) -> None:
    """Refuse ``exclude`` rules naming a column the source does not have."""
    absent = [rule["column"] for rule in rules if rule["column"] not in available]
    if absent:
        raise DataError(
            f"{caller} ({name}): exclude names column(s) {absent}, which the "
            f"file does not have; the file has {available}"
        )


def _excluded_reason(rule: dict[str, Any]) -> str:
    """Return the quality table's reason for the rows an ``exclude`` rule set aside."""
    return f"excluded: {rule['reason']}"


def _ids_all_end_in_zero_fraction(con: duckdb.DuckDBPyConnection, column: str, dtype: str) -> bool:
    """Whether every id of the column carries a float artefact: 17850.0 (text or a float).

    Only then is the ``.0`` dropped, so the same customer reads the same from a CSV, an Excel
    sheet or a parquet file; an id column that mixes ``17850`` and ``17850.0`` is kept as is.
    """
    q = _quote(column)
    if _FLOAT_TYPES.match(dtype):
        value, artefact = q, f"{q} = trunc({q}) OR NOT isfinite({q})"
    elif _NUMERIC_TYPES.match(dtype) or _TEMPORAL_TYPES.match(dtype):
        return False
    else:
        value = _not_a_null_marker(f"trim({q})")
        artefact = f"ends_with({value}, '.0') AND regexp_matches({value}, '^[+-]?[0-9]+[.]0+$')"
    # The first id without the artefact settles it (LIMIT 1 stops the scan there).
    found = con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM src WHERE {value} IS NOT NULL AND NOT "
        f"coalesce({artefact}, false) LIMIT 1) UNION ALL "
        f"SELECT count(*) FROM (SELECT 1 FROM src WHERE {value} IS NOT NULL LIMIT 1)"
    ).fetchall()
    without, any_id = (row[0] for row in found)
    return bool(any_id and not without)


def _flagged_rows(out: pd.DataFrame, table: str, duplicates: int | None) -> dict[str, int]:
    """Count the kept rows a reader should know about: refunds, zero amounts, repeated rows."""
    if table != "transactions" or out.empty:
        return {}
    amount = out["amount"].to_numpy()
    counts = {
        "kept: negative amount (refund or cancellation line)": int((amount < 0).sum()),
        "kept: zero amount": int((amount == 0).sum()),
        "kept: identical to an earlier row (duplicate line)": int(
            out.duplicated().sum() if duplicates is None else duplicates
        ),
    }
    return {reason: n for reason, n in counts.items() if n}


def _mixed_examples(result: pa.Table, i: int, src: _Source) -> tuple[str, str] | None:
    """Return an ISO row and a failing row of date column ``i`` (for a mixed-format error)."""
    parsed = result.column(f"v{i}")
    bad = result.column(f"b{i}").to_numpy(zero_copy_only=False)
    good = np.flatnonzero(pc.is_valid(parsed).to_numpy(zero_copy_only=False))
    if not len(good) or not bad.any():
        return None
    first_good, first_bad = int(good[0]), int(np.flatnonzero(bad)[0])
    iso = f"row {src.labels(np.array([first_good]))[0]}: {parsed[first_good].as_py():%Y-%m-%d}"
    other = (
        f"row {src.labels(np.array([first_bad]))[0]}: {result.column(f'r{i}')[first_bad].as_py()!r}"
    )
    return iso, other


def _offence_error(
    src: _Source, caller: str, check: _Check, reason: str, mask: np.ndarray, raw: pa.ChunkedArray
) -> DataError:
    positions = np.flatnonzero(mask)
    shown = positions[:5]
    values = [raw[int(p)].as_py() for p in shown]
    return _offence_message(
        src.name, caller, check, reason, src.labels(shown), values, len(positions)
    )


def _offence_message(
    name: str, caller: str, check: _Check, reason: str, labels: list, values: list, n: int
) -> DataError:
    """Return the error for ``n`` offending rows: column, reason, first values and rows.

    ``labels`` and ``values`` are the first (up to five) offending rows' numbers and raw
    values. Shared by the DuckDB and the Spark loader, so both word it alike.
    """
    values = ["" if v is None else v for v in values]
    offenders = format_offenders(pd.Series(values, index=labels, dtype=object))
    if n > 5:
        offenders += f" (and {n - 5:,} more)"
    hints = {
        "date": " Pass date_format='%d/%m/%Y' (or the export's own format) if the dates use"
        " another format, or on_invalid='drop' to set these rows aside.",
        "id": " Pass on_invalid='drop' to set these rows aside (e.g. guest checkouts).",
    }
    hint = hints.get(
        check.kind, " Fix the export, or pass on_invalid='drop' to set these rows aside."
    )
    if reason == "duplicate customer_id":
        hint = " Each customer needs one row; pass on_invalid='drop' to keep the first."
    if "after the export date" in reason:
        hint = (
            " If the export was taken later, pass its date as observation_end='YYYY-MM-DD'; "
            "or pass on_invalid='drop' to set these rows aside."
        )
    if check.kind == "number" and any(
        isinstance(v, str) and re.fullmatch(r"\s*[-+]?\d+,\d+\s*", v) for v in values
    ):
        hint = (
            " The values look like decimal commas ('12,50'): pass decimal=',' (or export the "
            "file with '.' as the decimal separator)." + hint
        )
    return DataError(
        f"{caller} ({name}): column {check.client!r} (canonical {check.canonical!r}): "
        f"{n:,} row(s) with {reason}: {offenders}.{hint}"
    )


def _finish(
    out: pd.DataFrame, checks: list[_Check], table: str, *, text_dtype: Any
) -> pd.DataFrame:
    """Canonical dtypes; line items become ``amount``; canonical columns first."""
    for check in checks:
        column = check.canonical
        dtype = {"date": "datetime64[ns]", "number": "float64", "score": "int64"}.get(
            check.kind, text_dtype
        )
        if out[column].dtype != dtype:
            out[column] = out[column].astype(dtype)
    mapped = {check.canonical for check in checks}
    if table == "transactions" and not mapped & {"amount", "quantity"}:  # purchase counts
        out.insert(2, "amount", np.ones(len(out)))
    if table == "transactions" and "quantity" in mapped and "amount" not in mapped:
        if "amount" in out.columns:  # the client's own column of that name, kept beside ours
            out = out.rename(columns={"amount": "amount_unmapped"})
        amount = out["quantity"] * out["unit_price"]
        position = list(out.columns).index("quantity")
        out.insert(position, "amount", amount)
        by_client = {check.canonical: check.client for check in checks}
        out = out.rename(columns={name: by_client[name] for name in _LINE_ITEM})
    return out


def _rename_clashes(out: pd.DataFrame, checks: list[_Check]) -> pd.DataFrame:
    """Suffix a kept client column named like a canonical column that came from elsewhere."""
    names = list(out.columns)
    seen: set[str] = set()
    for k, name in enumerate(names):
        if name in seen:
            names[k] = f"{name}_unmapped"
        seen.add(names[k])
    out.columns = names
    return out
