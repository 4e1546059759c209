"""The canonical tables' columns, the limits every loader checks, and small shared helpers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

#: Canonical columns of each table: name -> kind. ``id``/``date``/``number``/``score``/``text``
#: are parsed and checked; ``string`` columns are kept as they are.
SCHEMAS: dict[str, dict[str, dict[str, str]]] = {
    "transactions": {
        "required": {"customer_id": "id", "date": "date", "amount": "number"},
        "optional": {"order_id": "string", "category": "string", "channel": "string"},
    },
    "customers": {
        "required": {"customer_id": "id"},
        "optional": {
            "signup_date": "date",
            "acquisition_cost": "number",
            "contract_end": "date",
        },
    },
    "surveys": {
        "required": {"customer_id": "id", "date": "date", "score": "score"},
        # A survey without dates may carry a period instead ("2024Q1", "2024-03", "2024"):
        # "date" is then not required (see _sql._resolve_columns).
        "optional": {"comment": "string", "period": "period"},
    },
    "feedback": {
        "required": {"customer_id": "id", "date": "date", "text": "text"},
        "optional": {"channel": "string", "topic": "string"},
    },
    "experiments": {
        "required": {"customer_id": "id", "group": "text", "start": "date"},
        "optional": {"experiment": "string", "end": "date"},
    },
}

#: Columns of :func:`quality_report`. ``rows_flagged`` counts rows that were kept but that a
#: reader should know about (refund or cancellation lines, zero amounts, repeated rows).
QUALITY_COLUMNS = [
    "table",
    "source",
    "rows_read",
    "rows_kept",
    "rows_set_aside",
    "reason",
    "rows_flagged",
]

#: Cell texts that mean "no value" in exports (compared trimmed and case-insensitively): in a
#: checked column they are missing values, never a customer id called "NULL".
NULL_MARKERS = ("null", "n/a", "na", "#n/a", "none", "nan", "nat", "nil", "-", "--", "(null)")

#: Numbers (amounts, costs, prices) larger than this in magnitude are offending values: no
#: purchase is worth a trillion, and 1e308 would sum to infinity.
MAX_ABS_AMOUNT = 1e12

#: Dates before this are offending values (Excel's day 0 is 1899-12-30; 1900-01-00 artefacts).
MIN_DATE = dt.date(1900, 1, 1)

#: Event dates (not, e.g., a contract end) must not lie after the export date.
_EVENT_DATES = {"date", "signup_date"}

#: ``reason`` of a table's quality row when no row was set aside.
NO_REASON = "none"

#: ``attrs["amount_basis"]`` of a transactions table read without an amount (no ``amount``
#: column, no ``quantity`` and ``unit_price``): each row is one purchase, its ``amount`` 1, so
#: every money figure of a report counts purchases and its currency label says so.
PURCHASE_COUNTS = "purchases"

#: The quality records' line for such a table (``rows_flagged``: every row).
PURCHASE_COUNT_REASON = "kept: no amount column, each row counted as one purchase (amount 1)"

#: Tables with more rows than this return their text columns (``customer_id`` included) as
#: pyarrow-backed strings (``pd.StringDtype("pyarrow")``) instead of Python ``object`` strings:
#: ten million Python strings per column would cost gigabytes. Set it to 0 to always get
#: compact strings, or to ``float("inf")`` to never get them.
LARGE_TABLE_ROWS = 2_000_000

_COMPACT_TEXT = pd.StringDtype("pyarrow")
_ARROW_STRINGS = {pa.string(): _COMPACT_TEXT, pa.large_string(): _COMPACT_TEXT}

_LINE_ITEM = ("quantity", "unit_price")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16
_NUMERIC_TYPES = re.compile(
    r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$", re.IGNORECASE
)
_FLOAT_TYPES = re.compile(r"^(FLOAT|DOUBLE|REAL|DECIMAL.*)$", re.IGNORECASE)
_TEMPORAL_TYPES = re.compile(r"^(DATE|TIMESTAMP.*)$", re.IGNORECASE)
# Day/month/year or month/day/year, e.g. 3/2/2024, 03.02.24, 13-02-2024.
_DMY = r"^(\d{1,2})([./-])(\d{1,2})[./-](\d{4}|\d{2})$"
# Year range that fits datetime64[ns].
_MIN_YEAR, _MAX_YEAR = 1678, 2261


@dataclass
class _Check:
    """One canonical column to parse and check."""

    canonical: str
    client: str
    kind: str
    required: bool


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
