"""What one input may cost: the checks of :class:`~cxlib.settings.config.Limits`, errors in words.

Each check runs before the expensive step it protects: the column count from the header,
the size and the rows of an Excel workbook from its zip directory and a streamed count of its
rows (never parsing the XML), the line length by DuckDB's own limit. Errors name the file, the
limit and the setting (``limits.<key>``); the hint says how to raise it (``limits={...}`` from
Python, ``limits:`` in the YAML, see :func:`cxlib.run.loading.yaml_hints`).

A file DuckDB cannot read is described in cxlib's words (the line, the number of fields),
never with the engine's own message, which speaks of parser options the user cannot set.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cxlib.settings.config import Limits
from cxlib.settings.params import param_error
from cxlib.settings.validation import DataError

#: Bytes read from a file at a time when looking for an over-long line.
_CHUNK = 1 << 20
#: A workbook's parts other than the sheets (workbook.xml, relations) larger than this are
#: not parsed for sheet names: no real workbook has 10 MB of them.
_MAX_PART_BYTES = 10_000_000


def _limits(value: Limits | Mapping[str, int] | None, caller: str) -> Limits:
    """Return the limits a loader applies: the defaults, or those given (a mapping or Limits)."""
    if value is None:
        return Limits()
    if isinstance(value, Limits):
        return value
    must = f"a mapping of limits, some of {sorted(Limits.model_fields)} (whole numbers)"
    if not isinstance(value, Mapping):
        raise param_error("limits", value, must, caller=caller)
    try:
        return Limits.model_validate(dict(value))
    except ValidationError:
        raise param_error("limits", dict(value), must, caller=caller) from None


def _raise_hint(key: str, needed: int) -> str:
    """Return the hint to raise limit ``key`` to ``needed`` (Python; yaml_hints rewrites it)."""
    return f"pass limits={{'{key}': {needed}}}"


def _check_columns(n: int, limits: Limits, name: str, caller: str) -> None:
    """Refuse a table with more columns than ``limits.max_columns``."""
    if n > limits.max_columns:
        raise DataError(
            f"{caller} ({name}): the table has {n:,} columns, more than the limit of "
            f"{limits.max_columns:,} (limits.max_columns). Export only the columns the "
            f"analysis needs, or, if the table is meant to be this wide, "
            f"{_raise_hint('max_columns', n)}."
        )


def _long_line(path: Path, opener: Any, limit: int) -> tuple[int, int] | None:
    """Return (line number, bytes) of the first line of ``path`` longer than ``limit``, if any.

    Streams the file in chunks of at most ``limit`` bytes, so a line that ends in the chunk it
    starts in fits, and only the lines crossing a chunk's edge are measured: a few operations
    per chunk, at the speed of reading the file. ``opener`` opens it in binary mode
    (``gzip.open`` for a gzipped file).
    """
    size = max(1, min(_CHUNK, limit))
    line, carry = 1, 0  # carry: the bytes of the line still open at the chunk's end
    with opener(path, "rb") as handle:
        while chunk := handle.read(size):
            first = chunk.find(b"\n")
            if first < 0:
                carry += len(chunk)
                continue
            if carry + first > limit:
                return line, carry + first
            line += chunk.count(b"\n")
            carry = len(chunk) - chunk.rfind(b"\n") - 1
    return (line, carry) if carry > limit else None


def _open_binary(path: Path, mode: str = "rb", *, gzipped: bool):
    return gzip.open(path, mode) if gzipped else open(path, mode)


def _check_last_line(path: Path, gzipped: bool, limit: int, name: str, caller: str) -> None:
    """Refuse a file whose last line is longer than ``limit`` bytes, before DuckDB reads it.

    DuckDB's parallel CSV reader drops a last line longer than its buffer (32 MB) without a
    word; every other over-long line fails the read, and :func:`_line_error` names it. A plain
    file's end is read directly; a gzipped file is streamed through.
    """
    opener = partial(_open_binary, gzipped=gzipped)
    if not gzipped:
        size = path.stat().st_size
        if size <= limit:
            return
        with open(path, "rb") as handle:
            handle.seek(size - limit - 2)
            tail = handle.read().rstrip(b"\r\n")
        if b"\n" in tail:
            return
    error = _line_error(path, opener, limit, name, caller)
    if error is not None:
        raise error


def _line_error(path: Path, opener: Any, limit: int, name: str, caller: str) -> DataError | None:
    """Return the error for a line longer than ``limit`` bytes, or None when every line fits."""
    found = _long_line(path, opener, limit)
    if found is None:
        return None
    line, size = found
    return DataError(
        f"{caller} ({name}): line {line:,} is {size:,} bytes long, more than the limit of "
        f"{limit:,} (limits.max_line_bytes). A line this long is usually a broken export "
        "(a quote that never closes, or a file that is not text); if the line is meant to be "
        f"this long, {_raise_hint('max_line_bytes', size + 1)}."
    )


def _read_error(message: str, name: str, caller: str, *, text: bool) -> DataError:
    """Describe a DuckDB read failure in cxlib's words (no engine wording passed on)."""
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f" (line {int(line.group(1)):,})" if line else ""
    fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if fields and line:
        expected, found = int(fields.group(1)), int(fields.group(2))
        shown = re.search(r"Original Line: ([^\n]*)", message)
        quoted = f": {_shorten(shown.group(1))!r}" if shown else ""
        return DataError(
            f"{caller} ({name}): line {int(line.group(1)):,} has "
            f"{'more' if found > expected else 'fewer'} fields than the header's "
            f"{expected:,}{quoted}. A value that holds the delimiter must be quoted "
            '("Smith, John"); fix the export, or remove the line.'
        )
    if "unterminated quote" in message.lower():
        return DataError(
            f"{caller} ({name}): a quoted value opened{where} never closes (a '\"' without "
            "its partner). Fix the export: a quote inside a quoted value is written twice "
            '("" ).'
        )
    if text:
        return DataError(
            f"{caller} ({name}): could not read the file as delimited text{where}. Check that "
            "it is a complete CSV export (not cut short, not a spreadsheet renamed .csv)."
        )
    return DataError(
        f"{caller} ({name}): could not read the file as Parquet. Check that it is a complete "
        "Parquet file (not cut short, not another format renamed .parquet)."
    )


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- Excel workbooks, inspected as the zip files they are


def _check_workbook(path: Path, sheet: str | int | None, limits: Limits, caller: str) -> None:
    """Refuse a workbook that would expand beyond the limits, before any XML is parsed.

    The uncompressed sizes come from the zip directory (Python's zipfile never returns more
    than a member declares, so a lying size cannot let more through); the rows of the sheet to
    read are counted in a stream of its XML (``<row`` tags, without parsing), stopping at the
    limit. A file that is not a zip is left to the Excel reader's own error.
    """
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with book:
        members = book.infolist()
        total = sum(member.file_size for member in members)
        if total > limits.max_xlsx_bytes:
            raise DataError(
                f"{caller} ({path}): the workbook expands to {total:,} bytes of XML, more than "
                f"the limit of {limits.max_xlsx_bytes:,} (limits.max_xlsx_bytes); reading it "
                "would take minutes and gigabytes. Save the sheet as CSV (read in a stream, "
                f"whatever its size), or, if you trust the file, "
                f"{_raise_hint('max_xlsx_bytes', total)}."
            )
        part = _sheet_part(book, sheet)
        if part is None:
            return
        rows = _count_rows(book, part, stop_after=limits.max_xlsx_rows)
        if rows > limits.max_xlsx_rows:
            raise DataError(
                f"{caller} ({path}): the sheet has more than {limits.max_xlsx_rows:,} rows, "
                f"the limit (limits.max_xlsx_rows). Save the sheet as CSV (read in a stream, "
                f"whatever its size), or, if you trust the file, "
                f"{_raise_hint('max_xlsx_rows', 10 * limits.max_xlsx_rows)}."
            )


def _sheet_part(book: zipfile.ZipFile, sheet: str | int | None) -> str | None:
    """Return the zip member holding the sheet to read (the first when ``sheet`` is None)."""
    names = set(book.namelist())
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return None
    if any(
        book.getinfo(part).file_size > _MAX_PART_BYTES
        for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    ):
        return None
    workbook = book.read("xl/workbook.xml").decode("utf-8", errors="replace")
    relations = book.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="replace")
    sheets = [
        (_attribute(tag, "name"), _attribute(tag, "r:id") or _attribute(tag, "id"))
        for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook)
    ]
    if isinstance(sheet, int):
        chosen = sheets[sheet] if 0 <= sheet < len(sheets) else None
    elif isinstance(sheet, str):
        chosen = next((s for s in sheets if s[0] == sheet), None)
    else:
        chosen = sheets[0] if sheets else None
    if chosen is None:
        return None  # the Excel reader names the missing sheet
    for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", relations):
        if _attribute(tag, "Id") == chosen[1]:
            target = _attribute(tag, "Target") or ""
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            return part if part in names else None
    return None


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{re.escape(name)}="([^"]*)"', tag)
    return found.group(1) if found else None


def _count_rows(book: zipfile.ZipFile, part: str, *, stop_after: int) -> int:
    """Count the ``<row`` elements of a sheet's XML in a stream; stop above ``stop_after``."""
    tag = re.compile(rb"<(?:\w{1,10}:)?row[\s>/]")
    rows, tail = 0, b""
    with book.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            data = tail + chunk
            # a tag cut by the previous chunk's end is counted now; one inside the tail was
            # counted then
            rows += sum(1 for found in tag.finditer(data) if found.end() > len(tail))
            tail = data[-16:]
            if rows > stop_after:
                break
    return rows
