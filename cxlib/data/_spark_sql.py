"""Spark SQL for the Spark loader's checks: the DuckDB loader's expressions in Spark's dialect.

Each function mirrors its counterpart in :mod:`cxlib.data._sql` (same stages, same flags), so
that both engines parse and check a column alike; :mod:`cxlib.data._spark_loader` runs them.
"""

from __future__ import annotations

import re

from cxlib.data._schema import _DMY, _MAX_YEAR, _MIN_YEAR, MAX_ABS_AMOUNT, NULL_MARKERS, _Check
from cxlib.data._sql import _GROUPED, _NUMBER_CLASSES
from cxlib.settings.validation import DataError

#: strftime directive -> Spark datetime pattern letter(s).
_PATTERNS = {"%Y": "yyyy", "%y": "yy", "%m": "M", "%d": "d", "%H": "H", "%I": "h",
             "%M": "m", "%S": "s", "%f": "SSSSSS", "%p": "a", "%b": "MMM",
             "%B": "MMMM"}  # fmt: skip
_NUMERIC = re.compile(r"^(tinyint|smallint|int|bigint|float|double|decimal.*)$")
_FLOAT = re.compile(r"^(float|double|decimal.*)$")
_TEMPORAL = re.compile(r"^(date|timestamp.*)$")
#: Texts DuckDB reads as a DOUBLE (digits, '_' between digits, a fraction, an exponent); Spark
#: alone would also take '12d', '12f' and '0x1p3'.
_DECIMAL = r"^[+-]?([0-9](_?[0-9])*([.]([0-9](_?[0-9])*)?)?|[.][0-9](_?[0-9])*)([eE][+-]?[0-9]+)?$"
_DMY_SQL = _DMY.replace(r"\d", "[0-9]")  # no backslashes in Spark SQL literals


def spark_date_pattern(date_format: str, caller: str) -> str:
    """Translate a strftime format to a Spark datetime pattern.

    Numbers separated by literals take one or two digits, as with DuckDB's ``strptime``
    (``%d/%m/%Y`` reads ``3/2/2024``); adjacent ones take their full width.

    Examples
    --------
    >>> spark_date_pattern("%d/%m/%Y", "x")
    'd/M/yyyy'
    >>> spark_date_pattern("%Y-%m-%dT%H:%M", "x")
    "yyyy-M-d'T'H:m"
    >>> spark_date_pattern("%Y%m%d", "x")
    'yyyyMMdd'
    """
    tokens = [t for t in re.split(r"(%.)", date_format) if t]
    out = []
    for k, token in enumerate(tokens):
        if not token.startswith("%"):
            out.append(re.sub(r"([A-Za-z]+)", r"'\1'", token.replace("'", "''")))
            continue
        if token not in _PATTERNS:
            raise DataError(
                f"{caller}: date_format {date_format!r}: {token} has no Spark equivalent "
                f"(supported: {' '.join(_PATTERNS)})"
            )
        letter = _PATTERNS[token]
        neighbours = tokens[max(k - 1, 0) : k] + tokens[k + 1 : k + 2]
        if len(letter) == 1 and any(t.startswith("%") for t in neighbours):
            letter *= 2
        out.append(letter)
    return "".join(out)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    """Quote ``text`` as a Spark SQL string literal (Spark reads backslash escapes in literals)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _double(text: str) -> str:
    """Return Spark SQL for ``text`` read as DuckDB's ``TRY_CAST(text AS DOUBLE)`` reads it."""
    special = (
        f"WHEN lower({text}) rlike '^[+-]?nan$' THEN double('NaN') "
        f"WHEN lower({text}) rlike '^[+]?inf(inity)?$' THEN double('inf') "
        f"WHEN lower({text}) rlike '^-inf(inity)?$' THEN -double('inf')"
    )
    number = f"try_cast(replace({text}, '_', '') AS DOUBLE)"
    return f"CASE WHEN {text} rlike '{_DECIMAL}' THEN {number} {special} END"


def _extra_types_sql(value: str = "v") -> list[str]:
    """Return the aggregates that decide the type of a text extra column (as DuckDB's loader).

    Over the column's cells ``value`` (one long column of every extra column's cells, grouped
    by column): values, integers, numbers, leading zeros; see :func:`_extra_type`.
    """
    text = f"nullif(trim({value}), '')"
    return [
        f"count({text})",
        f"count_if({text} rlike '^[+-]?[0-9]{{1,18}}$')",
        f"count({_double(text)})",
        f"count_if({text} rlike '^[+-]?0[0-9]')",
    ]


def _extra_type(n: int, n_int: int, n_float: int, leading_zero: int) -> str:
    """Return the type of a text column from its counts: BIGINT, DOUBLE or STRING.

    Examples
    --------
    >>> _extra_type(3, 3, 3, 0), _extra_type(3, 2, 3, 0), _extra_type(3, 3, 3, 1)
    ('BIGINT', 'DOUBLE', 'STRING')
    """
    if n == 0 or leading_zero:  # 007 stays 007
        return "STRING"
    return "BIGINT" if n_int == n else "DOUBLE" if n_float == n else "STRING"


def _extra_sql(name: str, target: str) -> str:
    """Return Spark SQL for an extra column's value in ``target`` type."""
    q = _quote(name)
    if target == "BIGINT":
        return f"try_cast(nullif(trim({q}), '') AS BIGINT)"
    if target == "DOUBLE":
        return _double(f"nullif(trim({q}), '')")
    return q


def _not_a_null_marker(trimmed: str) -> str:
    markers = ", ".join(_literal(m) for m in NULL_MARKERS)
    return f"CASE WHEN lower({trimmed}) IN ({markers}) THEN NULL ELSE nullif({trimmed}, '') END"


def _number_stats_sql(text: str) -> list[str]:
    """Return the aggregates of ``text`` that ``cxlib.data._sql._number_format`` decides on.

    As ``cxlib.data._sql._number_stats_sql``: per number class, its count and smallest example.
    """
    out = []
    for name, pattern in _NUMBER_CLASSES.items():
        test = f"{text} rlike {_literal(pattern)}"
        if name in ("decimal_dot", "decimal_comma"):
            either = _NUMBER_CLASSES["either_" + name.split("_")[1]]
            test = f"({test} AND NOT {text} rlike {_literal(either)})"
        out += [f"count_if({test})", f"min({text}) FILTER (WHERE {test})"]
    return out


def _number_text(t: str, decimal: str | None) -> str:
    """Return Spark SQL for the text of a number given its decimal separator (None: as written)."""
    if decimal == ".":
        return (
            f"CASE WHEN {t} rlike {_literal(_GROUPED['.'])} THEN replace({t}, ',', '') ELSE {t} END"
        )
    if decimal == ",":
        return (
            f"CASE WHEN {t} rlike {_literal(_GROUPED[','])} "
            f"THEN replace(replace({t}, '.', ''), ',', '.') "
            f"WHEN {t} rlike '^[+-]?[0-9]+(,[0-9]+)?$' THEN replace({t}, ',', '.') END"
        )
    return t


def _column_sql(
    check: _Check, i: int, dtype: str, date_format, bounds, zero_fraction: bool, decimal=None
):
    """Return the Spark SQL of column ``i``: (text, parsed, value, missing, bad, out of range).

    As ``cxlib.data._sql._expressions``: the text reads ``__s{i}`` (the trimmed source text) and
    ``__c{i}`` (the source column), the parsed value ``__t{i}``, the value ``__p{i}``, the flags all
    of them and ``__v{i}``.
    """
    c, t, v = f"__c{i}", f"__t{i}", f"__v{i}"
    text = _not_a_null_marker(f"__s{i}")
    numeric, temporal = bool(_NUMERIC.match(dtype)), bool(_TEMPORAL.match(dtype))
    if _FLOAT.match(dtype):  # 1001.0 -> '1001'
        text = (
            f"CASE WHEN NOT isnan({c}) AND abs({c}) < 1e18 AND {c} = floor({c}) "
            f"THEN CAST(CAST({c} AS BIGINT) AS STRING) ELSE CAST({c} AS STRING) END"
        )
    if check.kind == "id":
        if _FLOAT.match(dtype) and not zero_fraction:
            text = f"CAST({c} AS STRING)"
        elif zero_fraction and not numeric:
            text = f"regexp_replace({text}, '[.]0+$', '')"
        return text, t, f"__p{i}", f"{t} IS NULL", rf"{t} rlike '[\\x00-\\x1f\\x7f]'", "false"
    if check.kind == "date":
        if temporal:
            parsed = f"CAST({c} AS TIMESTAMP_NTZ)"
        else:
            zoned = f"CAST(try_cast({t} AS TIMESTAMP) AS TIMESTAMP_NTZ)"
            parsed = (  # an explicit offset or zone is applied: the UTC wall time
                f"CASE WHEN NOT {t} rlike '^[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}' THEN NULL "
                f"WHEN length({t}) > 10 AND substr({t}, 11) rlike '[+Zz]|-|[A-Za-z]{{2}}' "
                f"THEN convert_timezone(current_timezone(), 'UTC', {zoned}) "
                f"ELSE try_cast({t} AS TIMESTAMP_NTZ) END"
            )
            if date_format is not None:
                pattern = _literal(spark_date_pattern(date_format, "load_transactions (spark)"))
                parsed = (
                    f"coalesce(CAST(try_to_timestamp({t}, {pattern}) AS TIMESTAMP_NTZ), {parsed})"
                )
        value = f"CASE WHEN year(__p{i}) BETWEEN {_MIN_YEAR} AND {_MAX_YEAR} THEN __p{i} END"
        missing = f"{c} IS NULL" if temporal else f"{t} IS NULL"
        earliest, latest = (f"TIMESTAMP_NTZ '{b.isoformat(sep=' ')}'" for b in bounds)
        return (
            text,
            parsed,
            value,
            missing,
            f"(NOT ({missing}) AND {v} IS NULL)",
            f"({v} < {earliest} OR {v} >= {latest})",
        )
    if check.kind == "number":
        if numeric:
            value, missing = f"CAST({c} AS DOUBLE)", f"{c} IS NULL"
        else:
            value = _double(_number_text(t, decimal))
            missing = f"{t} IS NULL"
        infinite = f"(isnan({v}) OR abs({v}) = double('inf'))"
        bad = f"(NOT ({missing}) AND ({v} IS NULL OR {infinite}))"
        return text, value, f"__p{i}", missing, bad, f"abs({v}) > {MAX_ABS_AMOUNT!r}"
    return text, f"CAST({c} AS STRING)", f"__p{i}", "false", "false", "false"  # kept as it is
