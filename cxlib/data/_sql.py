"""Mapping client columns to canonical ones, and the SQL that parses and checks each one."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import duckdb
import pandas as pd

from cxlib.data._schema import (
    _DMY,
    _EVENT_DATES,
    _FLOAT_TYPES,
    _LINE_ITEM,
    _MAX_YEAR,
    _MIN_YEAR,
    _NUMERIC_TYPES,
    _TEMPORAL_TYPES,
    MAX_ABS_AMOUNT,
    MIN_DATE,
    NULL_MARKERS,
    SCHEMAS,
    _Check,
    _literal,
    _quote,
)
from cxlib.data._sources import _Source
from cxlib.settings.validation import DataError


def _resolve_columns(
    src: _Source,
    available: list[str],
    table: str,
    columns: dict[str, str],
    caller: str,
) -> list[_Check]:
    schema = SCHEMAS[table]
    required = dict(schema["required"])
    if table == "transactions":
        mapped_line_items = [key for key in _LINE_ITEM if key in columns]
        if "amount" in columns and mapped_line_items:
            raise DataError(
                f"{caller}: columns maps both 'amount' and {mapped_line_items}; map either "
                "'amount' or both 'quantity' and 'unit_price'"
            )
        if len(mapped_line_items) == 1:
            raise DataError(
                f"{caller}: columns maps {mapped_line_items[0]!r} alone; the amount of a line "
                "item needs both 'quantity' and 'unit_price'"
            )
        amount_present = columns.get("amount", "amount") in available
        line_items_present = all(columns.get(k, k) in available for k in _LINE_ITEM)
        if mapped_line_items or (not amount_present and line_items_present):
            del required["amount"]
            required.update({"quantity": "number", "unit_price": "number"})

    if table == "surveys" and _uses_period(columns, available):
        required = {"customer_id": "id", "period": "period", "score": "score"}

    missing = [name for name in required if columns.get(name, name) not in available]
    if table == "transactions" and missing == ["amount"] and _counts_purchases(columns, available):
        del required["amount"]  # each row is one purchase (see _checked._finish)
        missing = []
    if missing:
        lines = []
        for name in missing:
            wanted = columns.get(name, name)
            close = difflib.get_close_matches(wanted, available, n=1, cutoff=0.6)
            hint = f" (closest: {close[0]!r})" if close else ""
            lines.append(f"{name!r} (looked for column {wanted!r}){hint}")
        also = " (or 'quantity' and 'unit_price')" if "amount" in missing else ""
        if table == "surveys" and "date" in missing:
            also += " (or a 'period' column such as 2024Q1, 2024-03 or 2024)"
        example = ", ".join(f"{name!r}: '<column>'" for name in missing)
        raise DataError(
            f"{caller} ({src.name}): missing column(s) {', '.join(lines)}{also}; the file has "
            f"{available}. Map the client's names with columns={{{example}}}."
        )
    checks = [_Check(name, columns.get(name, name), kind, True) for name, kind in required.items()]
    for name, kind in schema["optional"].items():
        if name in required:
            continue
        client = columns.get(name, name)
        if client in available:
            checks.append(_Check(name, client, kind, False))
        elif name in columns:
            raise DataError(
                f"{caller} ({src.name}): columns maps {name!r} to {client!r}, which the file "
                f"does not have; the file has {available}"
            )
    return checks


def _counts_purchases(columns: dict[str, str], available: list[str]) -> bool:
    """Say whether a transactions table without an amount is read as one purchase per row.

    Only when the mapping names no amount (a mapped column the file lacks is a mistake) and no
    column of the file looks like a misspelt ``amount`` ("Amount ", "amt"): then the table has
    customer and date only, and the loader counts purchases (:data:`PURCHASE_COUNTS`).

    Examples
    --------
    >>> _counts_purchases({}, ["customer_id", "date", "store"])
    True
    >>> [_counts_purchases({}, ["customer_id", "date", c]) for c in ("Amount_EUR", "ammount")]
    [False, False]
    """
    if "amount" in columns:
        return False
    names = [str(a).strip().lower() for a in available]
    return not any("amount" in n for n in names) and not difflib.get_close_matches(
        "amount", names, cutoff=0.8
    )


def _uses_period(columns: dict[str, str], available: list[str]) -> bool:
    """Say whether a survey table has a period column and no date column (mapped or named)."""
    has_period = columns.get("period", "period") in available
    return has_period and "date" not in columns and "date" not in available


#: Periods a survey may carry instead of dates, as (SQL regex on the upper-cased text, SQL
#: building the canonical text: "2024Q1", "2024-03" or "2024"). "T" is the French
#: "trimestre" (T1 2024). Only [0-9] and literal spaces: DuckDB's strings keep backslashes.
_PERIOD_FORMATS = (
    ("^[0-9]{4} ?[-/ ]? ?[QT][1-4]$", "left({u}, 4) || 'Q' || right({u}, 1)"),
    ("^[QT][1-4] ?[-/ ]? ?[0-9]{4}$", "right({u}, 4) || 'Q' || substr({u}, 2, 1)"),
    (
        "^[0-9]{4}[-/.](0?[1-9]|1[0-2])$",
        "left({u}, 4) || '-' || lpad(regexp_extract({u}, '([0-9]+)$', 1), 2, '0')",
    ),
    (
        "^(0?[1-9]|1[0-2])[-/.][0-9]{4}$",
        "right({u}, 4) || '-' || lpad(regexp_extract({u}, '^([0-9]+)', 1), 2, '0')",
    ),
    ("^[0-9]{4}$", "{u}"),
)


def _period_sql(t: str) -> str:
    """Return SQL for the canonical period text of ``t`` ("2024Q1", "2024-03", "2024") or NULL."""
    u = f"upper({t})"
    cases = " ".join(
        f"WHEN regexp_matches({u}, {_literal(pattern)}) THEN {build.format(u=u)}"
        for pattern, build in _PERIOD_FORMATS
    )
    parsed = f"CASE {cases} END"
    year = f"TRY_CAST(left({parsed}, 4) AS INTEGER)"
    return f"CASE WHEN {year} BETWEEN {MIN_DATE.year} AND {_MAX_YEAR} THEN {parsed} END"


def _date_format(
    con: duckdb.DuckDBPyConnection,
    check: _Check,
    src: _Source,
    caller: str,
    mixed: tuple[str, str] | None = None,
) -> str | None:
    """Infer the format of a text date column: ISO (None) or unambiguous day/month order.

    ``mixed`` is an ISO row and a failing row: a column holding both ISO and day/month/year
    dates is an error naming both formats (guessing the order for some rows would misread
    ``05/01`` as May 1 or January 5 without a word).
    """
    text = "t"  # the trimmed text, computed once in the inner SELECT
    stats = con.execute(
        f"""
        SELECT count(TRY_CAST({text} AS TIMESTAMP)) AS iso,
               count_if(regexp_matches({text}, '{_DMY}')) AS dmy,
               max(TRY_CAST(regexp_extract({text}, '{_DMY}', 1) AS INTEGER)) AS first,
               max(TRY_CAST(regexp_extract({text}, '{_DMY}', 3) AS INTEGER)) AS second,
               arg_min(regexp_extract({text}, '{_DMY}', 2), {text})
                   FILTER (WHERE regexp_matches({text}, '{_DMY}')) AS separator,
               max(length(regexp_extract({text}, '{_DMY}', 4))) AS year_digits,
               arg_min({text}, {text}) FILTER (WHERE regexp_matches({text}, '{_DMY}'))
                   AS example
        FROM (SELECT NULLIF(trim({_quote(check.client)}), '') AS t FROM src)
        """
    ).fetchall()[0]
    where = f"{caller} ({src.name}): column {check.client!r} (canonical {check.canonical!r})"
    return _day_month_format(stats, where, mixed)


def _day_month_format(stats: tuple, where: str, mixed: tuple[str, str] | None = None) -> str | None:
    """Decide a text date column's format from its statistics (see :func:`_date_format`).

    ``stats`` is (ISO dates, day/month/year dates, largest first part, largest second part,
    the separator and the year's digits of the smallest such date, that date); ``where``
    names the file and column. The Spark loader computes the same statistics and calls this,
    so both engines decide (and word their errors) alike.
    """
    iso, dmy, first, second, separator, year_digits, example = stats
    if dmy == 0:
        return None
    year = "%Y" if year_digits == 4 else "%y"
    day_first = f"%d{separator}%m{separator}{year}"
    month_first = f"%m{separator}%d{separator}{year}"
    if iso and mixed is not None:
        raise DataError(
            f"{where} mixes date formats: {iso:,} ISO date(s) ({mixed[0]}) and {dmy:,} "
            f"day/month/year or month/day/year date(s) ({mixed[1]}). Pass "
            f"date_format={day_first!r} or date_format={month_first!r} for the others "
            "(ISO dates always parse)."
        )
    if first <= 12 and second <= 12:
        raise DataError(
            f"{where} has ambiguous dates such as {example!r}: no day is above 12, so each "
            f"date reads both as day/month and as month/day. Pass date_format={day_first!r} "
            f"or date_format={month_first!r} to say which."
        )
    if first > 12 and second > 12:
        raise DataError(
            f"{where} mixes day/month and month/day dates (both parts go above 12). "
            f"Fix the export, or pass date_format={day_first!r} or date_format={month_first!r}; "
            f"dates that do not fit the format are then reported."
        )
    return day_first if first > 12 else month_first


#: Text numbers by what they say about the separators (SQL regexes; ``[0-9]``, no backslash):
#: thousands dots proven ("1.234.567", "1.234,50"), thousands commas proven ("1,234,567",
#: "1,234.50"), a decimal dot ("12.5", "0.125", "1234.567"), a decimal comma ("12,50"), and the
#: two readable either way: "6.135" and "6,135" (one separator before exactly three digits).
_NUMBER_CLASSES = {
    "thousands_dot": "^[+-]?[1-9][0-9]{0,2}(([.][0-9]{3}){2,}(,[0-9]+)?|([.][0-9]{3})+,[0-9]+)$",
    "thousands_comma": "^[+-]?[1-9][0-9]{0,2}((,[0-9]{3}){2,}([.][0-9]+)?|(,[0-9]{3})+[.][0-9]+)$",
    "decimal_dot": "^[+-]?[0-9]*[.][0-9]+$",
    "decimal_comma": "^[+-]?[0-9]*,[0-9]+$",
    "either_dot": "^[+-]?[1-9][0-9]{0,2}[.][0-9]{3}$",
    "either_comma": "^[+-]?[1-9][0-9]{0,2},[0-9]{3}$",
}
#: A number written with thousands separators, given the decimal separator.
_GROUPED = {
    ".": "^[+-]?[0-9]{1,3}(,[0-9]{3})+([.][0-9]+)?$",
    ",": "^[+-]?[0-9]{1,3}([.][0-9]{3})+(,[0-9]+)?$",
}


def _number_stats_sql(text: str) -> list[str]:
    """Return the aggregates of ``text``: count and smallest example per number class.

    "6.135" counts as ``either_dot`` only, "0.125" as ``decimal_dot``.
    """
    out = []
    for name, pattern in _NUMBER_CLASSES.items():
        test = f"regexp_matches({text}, {_literal(pattern)})"
        if name in ("decimal_dot", "decimal_comma"):
            either = _NUMBER_CLASSES["either_" + name.split("_")[1]]
            test = f"({test} AND NOT regexp_matches({text}, {_literal(either)}))"
        out += [f"count_if({test})", f"min({text}) FILTER (WHERE {test})"]
    return out


def _number_formats(row: tuple, text: list, source: str, caller: str) -> dict[str, str | None]:
    """Each text column's decimal separator, from one row of :func:`_number_stats_sql` aggregates.

    ``row`` holds the aggregates of the columns of ``text`` (their checks, each with ``client``
    and ``canonical`` names) one after another, in the same order; DuckDB's and Spark's loaders
    both compute it in their engine and decide here.
    """
    width = len(row) // len(text)
    return {
        check.client: _number_format(
            row[k * width : (k + 1) * width],
            f"{caller} ({source}): column {check.client!r} (canonical {check.canonical!r})",
            None,
        )
        for k, check in enumerate(text)
    }


def _number_format(stats: tuple, where: str, decimal: str | None) -> str | None:
    """Decide the decimal separator of a text number column from its values' classes.

    ``stats`` holds, per class of :data:`_NUMBER_CLASSES` in order, its count and an example.
    Returns ``decimal`` when given; else ``"."`` (commas separate thousands), ``","`` (dots
    separate thousands) or None (numbers as written: no separators to resolve). Thousands
    dots ("1.234.567") show that "12.500" is twelve thousand five hundred; a decimal dot
    ("12.5") that "1,234" is one thousand two hundred and thirty-four. A column whose dots
    mean both, or whose "6.135" nothing explains, is a :class:`DataError` saying to set
    ``decimal`` (whatever ``on_invalid`` says: no row is wrong on its own). A value that does
    not fit the format decided ("12,50" among decimal dots) is an offending value, as before.
    The Spark loader computes the same statistics and calls this.
    """
    if decimal is not None:
        return decimal
    count = {name: stats[2 * k] for k, name in enumerate(_NUMBER_CLASSES)}
    example = {name: stats[2 * k + 1] for k, name in enumerate(_NUMBER_CLASSES)}
    comma = [n for n in ("thousands_dot", "decimal_comma") if count[n]]
    dot = [n for n in ("thousands_comma", "decimal_dot") if count[n]]
    choose = "pass decimal='.' if '.' is the decimal separator, or decimal=',' if it is ','"
    if count["thousands_dot"] and dot:  # the dot means two things: no "12.500" is safe
        raise DataError(
            f"{where} mixes number formats: {example['thousands_dot']!r} has dots between "
            f"thousands, {example[dot[0]]!r} a decimal dot. Fix the export, or "
            f"{choose} (values that do not fit are then reported)."
        )
    if count["thousands_dot"]:
        return ","
    if dot:
        return "."
    either = next((example[n] for n in ("either_dot", "either_comma") if count[n]), None)
    if either is not None:
        whole = either.replace(".", "").replace(",", "")
        fraction = either.replace(",", ".")
        settles = (
            f"{example['decimal_comma']!r} has a decimal comma, but no value shows a dot "
            "separating thousands"
            if comma
            else "no other value shows which"
        )
        raise DataError(
            f"{where} has numbers such as {either!r} that read two ways, as {fraction} or as "
            f"{int(whole):,}, and {settles}: {choose}."
        )
    return None


def _number_text(t: str, decimal: str | None) -> str:
    """Return SQL for the text of a number given its decimal separator (None: as written)."""
    if decimal == ".":
        return (
            f"CASE WHEN regexp_matches({t}, {_literal(_GROUPED['.'])}) "
            f"THEN replace({t}, ',', '') ELSE {t} END"
        )
    if decimal == ",":
        return (
            f"CASE WHEN regexp_matches({t}, {_literal(_GROUPED[','])}) "
            f"THEN replace(replace({t}, '.', ''), ',', '.') "
            f"WHEN regexp_matches({t}, '^[+-]?[0-9]+(,[0-9]+)?$') THEN replace({t}, ',', '.') "
            "END"
        )
    return t


@dataclass
class _Sql:
    """The SQL of one canonical column in stages, so each expression is computed once.

    ``text`` (from the source column, aliased ``t{i}``; the source column itself is ``c{i}``),
    ``parsed`` (from those, aliased ``p{i}``), ``value`` (from ``p{i}``, aliased ``v{i}``),
    then the flags (from all of them).
    """

    text: str
    parsed: str
    value: str
    missing: str
    bad: str
    out_of_range: str


def _not_a_null_marker(trimmed: str) -> str:
    """Return SQL for ``trimmed``, or NULL when it is empty or one of :data:`NULL_MARKERS`."""
    markers = ", ".join(_literal(m) for m in NULL_MARKERS)
    longest = max(len(m) for m in NULL_MARKERS)
    # The length test first: lower() runs only on the few short values.
    return (
        f"CASE WHEN length({trimmed}) <= {longest} AND lower({trimmed}) IN ({markers}) "
        f"THEN NULL ELSE NULLIF({trimmed}, '') END"
    )


def _expressions(
    check: _Check,
    dtype: str,
    date_format: str | None,
    i: int,
    *,
    bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    zero_fraction_ids: bool = False,
    decimal: str | None = None,
) -> _Sql:
    """Build the SQL for (text, parsed value, 'missing', 'bad', 'out of range') of column i."""
    t, c, v = f"t{i}", f"c{i}", f"v{i}"
    text = _not_a_null_marker(f"s{i}")  # s{i}: the trimmed text of the source column
    numeric = bool(_NUMERIC_TYPES.match(dtype))
    temporal = bool(_TEMPORAL_TYPES.match(dtype))
    if _FLOAT_TYPES.match(dtype):  # 1001.0 -> '1001' (yyyymmdd dates from Excel/pandas)
        text = (
            f"CASE WHEN isfinite({c}) AND {c} = trunc({c}) AND abs({c}) < 1e18 "
            f"THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END"
        )
    false = "false"
    if check.kind == "id":
        if _FLOAT_TYPES.match(dtype) and not zero_fraction_ids:
            text = f"CAST({c} AS VARCHAR)"  # 1.5 and 2.0 stay as they are
        elif zero_fraction_ids and not numeric:  # every id is '17850.0': the export's artefact
            text = f"regexp_replace({text}, '\\.0+$', '')"
        control = f"regexp_matches({t}, '[\\x00-\\x1f\\x7f]')"
        return _Sql(text, t, f"p{i}", f"{t} IS NULL", control, false)
    if check.kind == "date":
        if temporal:
            parsed = f"CAST({c} AS TIMESTAMP)"
        else:
            # An explicit UTC offset is applied (the session's time zone is UTC); ISO dates
            # parse whatever date_format says.
            # The slower time-zone-aware cast only where something follows the time that
            # could be an offset or a zone name; "yyyy-" first, so 2024/02/29 stays unparsed.
            zone = "'[+Zz]|-|[A-Za-z]{2}'"
            iso = (
                f"CASE WHEN substr({t}, 5, 1) <> '-' THEN NULL "
                f"WHEN length({t}) > 10 AND regexp_matches(substr({t}, 11), {zone}) "
                f"THEN CAST(TRY_CAST({t} AS TIMESTAMPTZ) AS TIMESTAMP) "
                f"ELSE TRY_CAST({t} AS TIMESTAMP) END"
            )
            if date_format is None:
                parsed = iso
            else:
                parsed = (
                    f"coalesce(CAST(try_strptime({t}, {_literal(date_format)}) "
                    f"AS TIMESTAMP), {iso})"
                )
        value = f"CASE WHEN year(p{i}) BETWEEN {_MIN_YEAR} AND {_MAX_YEAR} THEN p{i} END"
        source_missing = f"{c} IS NULL" if temporal else f"{t} IS NULL"
        bad = f"(NOT ({source_missing}) AND {v} IS NULL)"
        out_of_range = false
        if bounds is not None:
            earliest, latest = (_literal(str(b)) for b in bounds)
            out_of_range = f"{v} < TIMESTAMP {earliest}"
            if check.canonical in _EVENT_DATES:
                out_of_range += f" OR {v} >= TIMESTAMP {latest}"
        return _Sql(text, parsed, value, source_missing, bad, out_of_range)
    if check.kind in ("number", "score"):
        if numeric:
            value = f"CAST({c} AS DOUBLE)"
            source_missing = f"{c} IS NULL"
        else:
            value = f"TRY_CAST({_number_text(t, decimal)} AS DOUBLE)"
            source_missing = f"{t} IS NULL"
        bad = f"(NOT ({source_missing}) AND ({v} IS NULL OR NOT isfinite({v})))"
        out_of_range = f"abs({v}) > {MAX_ABS_AMOUNT!r}"
        if check.kind == "score":
            bad = f"({bad} OR {v} <> round({v}) OR {v} < 0 OR {v} > 10)"
            out_of_range = false
        return _Sql(text, value, f"p{i}", source_missing, bad, out_of_range)
    if check.kind == "period":
        bad = f"(NOT ({t} IS NULL) AND {v} IS NULL)"
        return _Sql(text, _period_sql(t), f"p{i}", f"{t} IS NULL", bad, false)
    if check.kind == "text":
        return _Sql(text, f"CAST({c} AS VARCHAR)", f"p{i}", f"{t} IS NULL", false, false)
    return _Sql(text, f"CAST({c} AS VARCHAR)", f"p{i}", false, false, false)  # "string"


def _reason(check: _Check, missing: bool, *, bounds=None) -> str:
    if missing:
        return f"missing {check.canonical}"
    return {
        "id": f"control character in {check.canonical}",
        "date": f"unparseable {check.canonical}",
        "period": f"unparseable {check.canonical} (expected e.g. 2024Q1, 2024-03 or 2024)",
        "number": f"non-numeric {check.canonical}",
        "score": "score not an integer 0-10",
    }[check.kind]


def _range_reason(check: _Check, bounds: tuple[pd.Timestamp, pd.Timestamp]) -> str:
    if check.kind == "number":
        return f"{check.canonical} beyond ±{MAX_ABS_AMOUNT:.0e}"
    earliest, latest = bounds
    if check.canonical in _EVENT_DATES:
        last = (latest - pd.Timedelta(days=1)).date()
        return f"{check.canonical} before {earliest.date()} or after the export date {last}"
    return f"{check.canonical} before {earliest.date()}"
