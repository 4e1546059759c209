"""The checking pass: parse and check the canonical columns of ``src`` in one query.

Offending rows are set aside or raised on, and the canonical frame is built with its
data-quality records. The query itself, and the probes of the source it needs, are in
:mod:`cxlib.data._check_query`.
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
from cxlib.data._check_query import (
    _checking_query,
    _decimal_separators,
    _extra_types,
    _ids_all_end_in_zero_fraction,
    _Layout,
    _read_checked,
)
from cxlib.data._limits import _check_columns
from cxlib.data._schema import (
    _ARROW_STRINGS,
    _COMPACT_TEXT,
    _LINE_ITEM,
    NO_REASON,
    PURCHASE_COUNT_REASON,
    PURCHASE_COUNTS,
    _Check,
)
from cxlib.data._sources import _register_frame, _relation_types, _repeated, _Source
from cxlib.data._sql import (
    _date_format,
    _range_reason,
    _reason,
    _resolve_columns,
)
from cxlib.settings.config import Limits
from cxlib.settings.validation import DataError, format_offenders


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
    """Check ``src`` (registered as ``src`` on ``con``); return the canonical frame.

    Offending rows raise a :class:`~cxlib.DataError` (``on_invalid="raise"``) or are set
    aside; ``attrs["quality"]`` holds the data-quality records of :func:`cxlib.data.quality_report`.
    """
    rules = rules or []
    layout = _layout(con, src, table, columns, rules, decimal, limits, caller)
    result = _parsed(con, src, layout, rules, date_format, bounds, caller)
    n_rows = result.num_rows
    if n_rows == 0 and src.frame is None or n_rows == 0 and src.name != "DataFrame":
        raise DataError(f"{caller} ({src.name}): the file has a header but no data rows")
    reasons, code, offences = _set_aside(result, layout.checks, rules, table, bounds)
    if offences and on_invalid == "raise":
        check, reason, mask, i = offences[0]
        raw = result.column(f"v{i}" if reason == "duplicate customer_id" else f"r{i}")
        raise _offence_error(src, caller, check, reason, mask, raw)
    keep = code == 0
    kept, duplicates = _kept_rows(result, layout, keep, from_file=src.frame is None)
    del result  # before the conversion to pandas: the two never need to be held together
    out = _canonical_frame(kept, src, layout, keep, table)
    set_aside = {reason: int((code == k + 1).sum()) for k, reason in enumerate(reasons)}
    set_aside = {reason: n for reason, n in set_aside.items() if n}
    n_kept = int(keep.sum())
    records = _quality_records(out, table, src, set_aside, n_rows, n_kept, duplicates)
    out.attrs["quality"] = records
    mapped = {check.canonical for check in layout.checks}
    if table == "transactions" and not mapped & {"amount", "quantity"}:
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


def _layout(
    con: duckdb.DuckDBPyConnection,
    src: _Source,
    table: str,
    columns: dict[str, str],
    rules: list[dict[str, Any]],
    decimal: str | None,
    limits: Limits | None,
    caller: str,
) -> _Layout:
    """Find the canonical columns in ``src`` and probe what the checking query needs to know.

    A frame's columns (the checked ones and those the rules read) are registered as ``src``
    here; a file is already registered. Too many, repeated or missing columns, and ``exclude``
    rules naming an absent column, are errors.
    """
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
    return _Layout(
        available=available,
        checks=checks,
        types=types,
        extras=extras,
        extra_types=_extra_types(con, extras) if src.text_file else {},
        zero_fraction={
            check.client: _ids_all_end_in_zero_fraction(con, check.client, types[check.client])
            for check in checks
            if check.kind == "id"
        },
        separators=_decimal_separators(con, src, checks, types, decimal, caller),
        row_hash=table == "transactions" and src.frame is None,
    )


def _parsed(
    con: duckdb.DuckDBPyConnection,
    src: _Source,
    layout: _Layout,
    rules: list[dict[str, Any]],
    date_format: str | None,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None,
    caller: str,
) -> pa.Table:
    """Run the checking query, reading text dates in their day/month order when not ISO."""
    # Parse text dates as ISO first; only a column with failures is examined for day/month
    # order (no extra pass over a clean file).
    checks = layout.checks
    formats = {check.canonical: date_format for check in checks if check.kind == "date"}
    from_file = src.frame is None
    result = _read_checked(
        con, _checking_query(layout, formats, rules, bounds, from_file=from_file)
    )
    if date_format is not None:
        return result
    inferred = {}
    for i, check in enumerate(checks):
        if (
            check.kind == "date"
            and layout.types[check.client].upper() == "VARCHAR"
            and pc.any(result.column(f"b{i}")).as_py()
        ):
            inferred_format = _date_format(con, check, src, caller, _mixed_examples(result, i, src))
            if inferred_format is not None:
                inferred[check.canonical] = inferred_format
    if not inferred:
        return result
    del result
    formats.update(inferred)
    query = _checking_query(layout, formats, rules, bounds, from_file=from_file)
    return _read_checked(con, query)


def _set_aside(
    result: pa.Table,
    checks: list[_Check],
    rules: list[dict[str, Any]],
    table: str,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> tuple[list[str], np.ndarray, list[tuple[_Check, str, np.ndarray, int]]]:
    """Say which rows are set aside and why.

    Returns the reasons, each row's reason code (0: kept, ``k``: ``reasons[k - 1]``) and the
    offences (check, reason, rows, column index) in the order an error names them. Excluded
    rows come first (the config's rules explain them, even when they are also invalid), then
    the first failing check in column order, then repeated customer ids.
    """
    n_rows = result.num_rows
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
    return reasons, code, offences


def _kept_rows(
    result: pa.Table, layout: _Layout, keep: np.ndarray, *, from_file: bool
) -> tuple[pa.Table, int | None]:
    """Return the kept rows' values (and a file's typed extras), and the repeated rows' count.

    The count (rows identical to an earlier kept row) comes from the row hashes, when the
    query computed them; else None (counted on the frame, :func:`_flagged_rows`).
    """
    value_names = [f"v{i}" for i in range(len(layout.checks))]
    extra_names = [f"x{j}" for j in range(len(layout.extras))] if from_file else []
    duplicates = None
    if layout.row_hash:
        hashes = np.sort(result.column("h").to_numpy(zero_copy_only=False)[keep])
        duplicates = int((hashes[1:] == hashes[:-1]).sum())  # sorting beats np.unique here
    kept = result.select(value_names + extra_names)
    if not keep.all():
        kept = kept.filter(pa.array(keep))
    return kept, duplicates


def _canonical_frame(
    kept: pa.Table, src: _Source, layout: _Layout, keep: np.ndarray, table: str
) -> pd.DataFrame:
    """Return the kept rows as the canonical frame: canonical names and dtypes, then extras.

    A frame's extra columns are taken from the frame itself, as they are.
    """
    # Read at call time: cxlib.data._schema.LARGE_TABLE_ROWS is the setting a test changes.
    compact = kept.num_rows > _schema.LARGE_TABLE_ROWS
    out = kept.to_pandas(
        coerce_temporal_nanoseconds=True,
        split_blocks=True,
        self_destruct=True,
        types_mapper=_ARROW_STRINGS.get if compact else None,
    )
    del kept
    checks = layout.checks
    out.columns = [check.canonical for check in checks] + (
        layout.extras if src.frame is None else []
    )
    out = _rename_clashes(out, checks)  # before _finish: it reads each canonical column once
    out = _finish(out, checks, table, text_dtype=_COMPACT_TEXT if compact else object)
    if src.frame is not None and layout.extras:
        rest = src.frame.iloc[np.flatnonzero(keep)]
        rest = rest.set_axis(layout.available, axis=1)[layout.extras].reset_index(drop=True)
        out = pd.concat([out, rest], axis=1)
    return _rename_clashes(out, checks)


def _quality_records(
    out: pd.DataFrame,
    table: str,
    src: _Source,
    set_aside: dict[str, int],
    n_rows: int,
    n_kept: int,
    duplicates: int | None,
) -> list[dict[str, Any]]:
    """Return the data-quality records: the rows set aside per reason, then the kept flagged."""
    base = {"table": table, "source": src.short_name, "rows_read": n_rows, "rows_kept": n_kept}
    records = [
        {**base, "rows_set_aside": n, "reason": reason, "rows_flagged": 0}
        for reason, n in (set_aside.items() if set_aside else [(NO_REASON, 0)])
    ]
    records += [
        {**base, "rows_set_aside": 0, "reason": reason, "rows_flagged": n}
        for reason, n in _flagged_rows(out, table, duplicates).items()
    ]
    return records


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
