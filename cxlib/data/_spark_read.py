"""Opening a source with Spark: a metastore table, a Parquet file or a (gzipped) text file.

The first step of :func:`cxlib.data._spark_loader.read_transactions`: every column of a text
file is read as text under the header's names (as DuckDB reads them), in the file's encoding
(the JVM's name for it), a file name is read literally, and a value longer than the line limit
becomes the DuckDB loader's error (:func:`_line_limit`). What Spark cannot read (Excel, Parquet
nanosecond timestamps) is a :class:`~cxlib.DataError` saying what to do instead.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from cxlib.data._limits import _check_columns, _line_error
from cxlib.data._sources import (
    _codec,
    _detect_delimiter,
    _file_kind,
    _header_names,
    _open_binary,
    _sniff_header,
    _Source,
)
from cxlib.settings.config import Limits
from cxlib.settings.validation import DataError

#: The charsets Spark 4 reads without ``spark.sql.legacy.javaCharsets``.
_SPARK_CHARSETS = {"iso-8859-1", "us-ascii", "utf-16", "utf-16be", "utf-16le", "utf-32", "utf-8"}


def _read(spark, path: Path | None, table: str | None, encoding, sheet, caller: str, limits=None):
    """Open the raw rows: a metastore table, a Parquet file or a (gzipped) CSV/TSV of text.

    Returns the DataFrame, the row naming (:class:`cxlib.data._sources._Source`) and the
    codec of a text file (None otherwise).
    """
    if table is not None:
        if encoding is not None or sheet is not None:
            raise DataError(
                f"{caller} ({table}): `encoding:` and `sheet:` are for files; a metastore "
                "table has neither: remove them"
            )
        return spark.table(table), _Source(table, table, row_offset=1), None
    name, suffixes = str(path), [s.lower() for s in path.suffixes[-2:]]
    kind = _file_kind(suffixes)
    if kind == "excel":
        raise DataError(
            f"{caller} ({name}): engine spark does not read Excel workbooks. Save the sheet "
            "as a CSV (UTF-8) or Parquet file and point `path:` at it, or use `engine: duckdb`"
        )
    if kind is None:
        raise DataError(
            f"{caller} ({name}): engine spark reads .csv, .tsv, .txt (optionally .gz) and "
            ".parquet files or a metastore table (`table:`); convert the file or use the "
            "duckdb engine"
        )
    if not path.is_file():
        raise DataError(f"{caller}: file {path} does not exist")
    if sheet is not None:
        raise DataError(f"{caller} ({name}): sheet={sheet!r} is only for Excel workbooks")
    if kind == "parquet":
        frame = _read_parquet(spark, _literal_path(name), name, caller)
        return frame, _Source(name, path.name, row_offset=1), None
    from pyspark.sql.types import StringType, StructField, StructType

    codec = _codec(encoding, caller)
    limits = limits or Limits()
    header = _sniff_header(
        path, gzipped=suffixes[-1] == ".gz", codec=codec, caller=caller,
        limit=limits.max_line_bytes,
    )  # fmt: skip
    delimiter = _detect_delimiter(header, tab_default=".tsv" in suffixes)
    names = _header_names(header, delimiter, name, caller)
    _check_columns(len(names), limits, name, caller)
    # The header's names as DuckDB reads them, every column text (no inference); quotes
    # doubled inside quoted values, as DuckDB reads them.
    schema = StructType([StructField(n, StringType()) for n in names])
    reader = (
        spark.read.schema(schema)
        .option("header", True)
        .option("enforceSchema", True)
        .option("sep", delimiter)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        # no value longer than a line may be: a longer one fails the read (see _line_failure)
        .option("maxCharsPerColumn", limits.max_line_bytes)
        .option("encoding", _java_charset(spark, codec, name, caller))
    )
    frame = reader.csv(_literal_path(name))
    return frame, _Source(name, path.name, row_offset=2, text_file=True), codec


def _literal_path(name: str) -> str:
    r"""Return ``name`` with Hadoop's glob characters escaped: exactly the named file is read.

    Examples
    --------
    >>> _literal_path("data/y[12].csv"), _literal_path("data/tx.csv")
    ('data/y\\[12\\].csv', 'data/tx.csv')
    """
    return re.sub(r"([\\*?\[\]{}])", r"\\\1", name)


def _read_parquet(spark, read_path: str, name: str, caller: str):
    """Open a Parquet file; a file Spark cannot read is a DataError saying what to do."""
    from pyspark.errors import PySparkException

    try:
        return spark.read.parquet(read_path)
    except PySparkException as exc:
        if "NANOS" in str(exc):  # pandas' default before 3.0: nanosecond timestamps
            raise DataError(
                f"{caller} ({name}): could not read the file: its timestamps are in "
                "nanoseconds, which Spark does not read. Write the file with microseconds "
                "(pandas: to_parquet(..., coerce_timestamps='us')) or use `engine: duckdb`"
            ) from None
        raise DataError(
            f"{caller} ({name}): could not read the file as Parquet. Check that it is a "
            "complete Parquet file (not cut short, not another format renamed .parquet)."
        ) from None


def _java_charset(spark, codec: str, name: str, caller: str) -> str:
    """Return the JVM's name for a Python codec (``cp1251``, ``iso8859-1``, ``utf-8``)."""
    charset = {"utf-8-sig": "UTF-8"}.get(codec, codec)
    jvm = getattr(spark, "_jvm", None)  # absent with Spark Connect: the cluster decides
    if jvm is None:
        return charset
    known = jvm.java.nio.charset.Charset
    candidates = [charset, charset.replace("_", "-"), re.sub(r"^iso(\d)", r"ISO-\1", charset)]
    found = next((c for c in candidates if known.isSupported(c)), None)
    if found is None:
        raise DataError(
            f"{caller} ({name}): Spark (Java) has no text encoding {codec!r}; convert the "
            "file to UTF-8 or use `engine: duckdb`"
        )
    charset = str(known.forName(found).name())
    if charset.lower() not in _SPARK_CHARSETS:
        # Spark 4 reads only Unicode, ASCII and Latin-1 CSVs unless this (session) setting
        # lets it use every charset of the JVM: a client's cp1251 export needs it.
        spark.conf.set("spark.sql.legacy.javaCharsets", "true")
    return charset


@contextmanager
def _line_limit(path, codec, limits, name: str, caller: str):
    """Turn Spark's failure on a value longer than the line limit into a DataError.

    Spark reads the file when a result is needed, so the failure (the CSV parser's
    ``maxCharsPerColumn``) can surface from any action; the error then names the line.
    """
    try:
        yield
    except DataError:
        raise
    except Exception as exc:
        if codec is None or path is None or "maximum number of characters" not in str(exc):
            raise
        opener = partial(_open_binary, gzipped=path.suffix.lower() == ".gz")
        raise _line_error(path, opener, limits.max_line_bytes, name, caller) or DataError(
            f"{caller} ({name}): a value is longer than the limit of "
            f"{limits.max_line_bytes:,} bytes (limits.max_line_bytes); fix the export, or, "
            f"if it is meant to be this long, pass limits={{'max_line_bytes': "
            f"{10 * limits.max_line_bytes}}}."
        ) from None
