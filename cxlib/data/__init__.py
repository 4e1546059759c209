"""Loaders for the four canonical tables: client exports in, validated canonical frames out.

Every loader takes a path (``.csv``, ``.csv.gz``, ``.tsv``, ``.txt``, ``.parquet``, ``.xlsx``) or a
DataFrame, maps the client's column names to cxlib's canonical names, parses and checks each
canonical column, and returns a new frame:

===============  ==========================================  ======================================
table            required columns (dtype)                    optional canonical columns
===============  ==========================================  ======================================
transactions     customer_id (str), date (datetime64[ns]),    order_id, category, channel
                 amount (float64; negative = refund)
customers        customer_id (str, unique)                   signup_date, contract_end
                                                             (datetime64[ns]), acquisition_cost
                                                             (float64)
surveys          customer_id (str), date, score (int64 0-10)  comment, period (instead of date:
                                                             pandas Period, see load_surveys)
feedback         customer_id (str), date, text (str)          channel, topic
===============  ==========================================  ======================================

The client's other columns are kept after the canonical ones. Exports are read as they are,
never as the consultant hoped: a file name is read literally (``y[12].csv`` is that file,
never a pattern); a workbook with several sheets needs ``sheet=``; ``NULL``, ``N/A``, ``nan``,
``-`` and the other :data:`NULL_MARKERS` are missing values; an id is text (``007`` stays
``007``; a float artefact ``17850.0`` loses its ``.0`` only when every id has one, so CSV,
Excel and parquet exports of one table agree), and a control character in it is an offence;
explicit UTC offsets are applied and ISO dates always parse; event dates after the export
date or before :data:`MIN_DATE` and amounts beyond :data:`MAX_ABS_AMOUNT` are offences; a
file with a header and no rows is an error.

Invalid rows either raise a
:class:`cxlib.DataError` (``on_invalid="raise"``, the default) or are set aside and counted
(``on_invalid="drop"``); in both cases nothing disappears silently. Each returned frame carries
its data-quality records in ``frame.attrs["quality"]``; :func:`quality_report` turns the
records of one or more frames into the table the report shows.

Files are read by DuckDB (every column as text, then parsed with explicit types, validation
flags computed in the same pass), so a CSV of tens of millions of rows loads in tens of seconds
without pandas' memory blow-up. Above :data:`LARGE_TABLE_ROWS` kept rows, text columns
(``customer_id`` included) come back as pyarrow-backed strings (``string[pyarrow]``) rather than
Python objects; see ``benchmarks/load_memory.py`` (10 million rows in well under 4 GiB).

The package's modules: :mod:`._loaders` (the public loaders and their parameters),
:mod:`._sources` (opening, sniffing and transcoding exports), :mod:`._sql` (column mapping and
the SQL that parses and checks each column), :mod:`._check_query` (the one query over a
source and the probes it needs), :mod:`._checked` (the checking pass and the canonical frame),
:mod:`._quality` (the data-quality table) and :mod:`._schema` (canonical columns and limits);
the Spark loader is :mod:`._spark_loader`, with :mod:`._spark_read` (opening the source) and
:mod:`._spark_sql` (its SQL).
"""

from cxlib.data._loaders import (
    load_customers,
    load_experiments,
    load_feedback,
    load_surveys,
    load_transactions,
)
from cxlib.data._quality import quality_report
from cxlib.data._schema import (
    LARGE_TABLE_ROWS,
    MAX_ABS_AMOUNT,
    MIN_DATE,
    NULL_MARKERS,
    QUALITY_COLUMNS,
    SCHEMAS,
)

__all__ = [
    "LARGE_TABLE_ROWS",
    "MAX_ABS_AMOUNT",
    "MIN_DATE",
    "NULL_MARKERS",
    "QUALITY_COLUMNS",
    "SCHEMAS",
    "load_customers",
    "load_experiments",
    "load_feedback",
    "load_surveys",
    "load_transactions",
    "quality_report",
]
