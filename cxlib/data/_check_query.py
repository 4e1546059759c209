"""The checking query: one SQL over ``src`` that parses, flags and keeps every column.

:func:`_checking_query` writes it from a :class:`_Layout` (the checked columns, their source
types and what the probes below decided); :func:`_read_checked` runs it. The probes read the
source once each before: which text extra columns hold numbers (:func:`_extra_types`), whether
every id carries a float export's ``.0`` (:func:`_ids_all_end_in_zero_fraction`) and each text
number column's decimal separator (:func:`_decimal_separators`). The column SQL itself is in
:mod:`cxlib.data._sql`; the pass that reads the result is :mod:`cxlib.data._checked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from cxlib.data._schema import (
    _FLOAT_TYPES,
    _NUMERIC_TYPES,
    _TEMPORAL_TYPES,
    _Check,
    _literal,
    _quote,
)
from cxlib.data._sources import _Source
from cxlib.data._sql import _expressions, _not_a_null_marker, _number_formats, _number_stats_sql


@dataclass
class _Layout:
    """What the checking query reads from ``src``.

    ``available`` are the source's column names, ``checks`` the canonical columns found among
    them with their source ``types``, ``extras`` the other columns (``extra_types``: the text
    ones that hold numbers), ``zero_fraction`` the id columns whose ``.0`` is dropped,
    ``separators`` each text number column's decimal separator; ``row_hash`` says to hash
    whole rows (to count identical transactions of a file without a pandas pass).
    """

    available: list[str]
    checks: list[_Check]
    types: dict[str, str]
    extras: list[str]
    extra_types: dict[str, str]
    zero_fraction: dict[str, bool]
    separators: dict[str, str | None]
    row_hash: bool


def _checking_query(
    layout: _Layout,
    formats: dict[str, str | None],
    rules: list[dict[str, Any]],
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None,
    *,
    from_file: bool,
) -> str:
    """Return the SELECT giving, per checked column ``i``, ``v{i}``, flags and raw text.

    Columns: ``v{i}`` (the value), ``m{i}`` / ``b{i}`` / ``o{i}`` (missing, bad, out of range)
    and ``r{i}`` (the raw text of a flagged row); ``e{k}`` per ``exclude`` rule; ``x{j}`` per
    extra column of a file (typed); ``h`` (the row's hash) with ``layout.row_hash``.
    ``formats`` is the date format of each date column (None: ISO).
    """
    # Nested SELECTs so that each column's text, parsed value and flags are computed
    # once, however many later expressions read them.
    stages: dict[str, list[str]] = {
        "source": [], "trimmed": [], "inner": [], "parse": ["*"], "clamp": ["*"],
        "flag": ["*"], "select": [],
    }  # fmt: skip
    for i, check in enumerate(layout.checks):
        _check_stages(stages, i, check, layout, formats.get(check.canonical), bounds)
    for k, rule in enumerate(rules):
        cell = f"trim(CAST({_quote(rule['column'])} AS VARCHAR))"
        tests = (
            [f"{cell} IN ({', '.join(_literal(v) for v in rule['values'])})"]
            if rule.get("values")
            else []
        )
        tests += [f"starts_with({cell}, {_literal(p)})" for p in rule.get("prefixes", [])]
        stages["source"].append(f"coalesce({' OR '.join(tests)}, false) AS e{k}")
        stages["inner"].append(f"e{k}")
        stages["select"].append(f"e{k}")
    if from_file:
        for j, name in enumerate(layout.extras):
            target = layout.extra_types.get(name)
            q = _quote(name)
            if target is None or target == "VARCHAR":
                stages["source"].append(f"{q} AS x{j}")
            else:
                # TRY_CAST trims, and reads '' as NULL: one function per cell
                stages["source"].append(f"TRY_CAST({q} AS {target}) AS x{j}")
            stages["inner"].append(f"x{j}")
            stages["select"].append(f"x{j}")
    if layout.row_hash:  # identical rows, counted without a pandas pass over every column
        stages["source"].append(f"hash({', '.join(_quote(n) for n in layout.available)}) AS h")
        stages["inner"].append("h")
        stages["select"].append("h")
    query = f"SELECT {', '.join(stages['source'] + stages['trimmed'])} FROM src"
    for stage in ("inner", "parse", "clamp", "flag", "select"):
        query = f"SELECT {', '.join(stages[stage])} FROM ({query})"
    return query


def _check_stages(
    stages: dict[str, list[str]],
    i: int,
    check: _Check,
    layout: _Layout,
    date_format: str | None,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> None:
    """Add checked column ``i``'s expressions to each stage of the checking query."""
    sql = _expressions(
        check,
        layout.types[check.client],
        date_format,
        i,
        bounds=bounds,
        zero_fraction_ids=layout.zero_fraction.get(check.client, False),
        decimal=layout.separators.get(check.client),
    )
    q = _quote(check.client)
    stages["source"].append(f"{q} AS c{i}")
    stages["inner"].append(f"c{i}")
    stages["parse"].append(f"{sql.parsed} AS p{i}")
    stages["clamp"].append(f"{sql.value} AS v{i}")
    if check.kind == "string":  # kept as it is: nothing to check
        stages["select"] += [
            f"v{i}",
            f"false AS m{i}",
            f"false AS b{i}",
            f"false AS o{i}",
            f"NULL::VARCHAR AS r{i}",
        ]
        return
    stages["trimmed"].append(f"trim(CAST({q} AS VARCHAR)) AS s{i}")
    stages["source"].append(f"CAST({q} AS VARCHAR) AS raw{i}")
    stages["inner"] += [f"{sql.text} AS t{i}", f"raw{i}"]
    stages["flag"] += [
        f"coalesce({sql.missing}, false) AS m{i}",
        f"coalesce({sql.bad}, false) AS b{i}",
        f"coalesce({sql.out_of_range}, false) AS o{i}",
    ]
    stages["select"] += [
        f"v{i}",
        f"m{i}",
        f"b{i}",
        f"o{i}",
        f"CASE WHEN m{i} OR b{i} OR o{i} THEN coalesce(raw{i}, '') END AS r{i}",
    ]


def _read_checked(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """Run the checking query; return its result as one Arrow table."""
    reader = con.sql(query).arrow()
    try:
        return reader.read_all()  # streamed: DuckDB never holds the whole result
    except (OSError, pa.ArrowException) as exc:  # a DuckDB error surfacing through Arrow
        raise duckdb.InvalidInputException(str(exc)) from exc


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
    return _number_formats(row, text, src.name, caller)


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
