"""Hostile exports built on the spot for the tests and benchmarks of issue 27 (limits)."""

from __future__ import annotations

import zipfile
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def zip_bomb_xlsx(path: Path, *, rows: int = 3_000_000, row_xml: str | None = None) -> Path:
    """Write a small .xlsx whose one sheet expands to ``rows`` rows of repeated XML.

    The default row (an id, a date and an amount as inline strings, 138 bytes) makes 3M rows
    414 MB of XML in a file of 1.6 MB. The XML is streamed into the zip: writing it never
    holds the sheet in memory.
    """
    row_xml = row_xml or (
        '<row><c t="inlineStr"><is><t>C1</t></is></c><c t="inlineStr"><is><t>2024-01-05'
        '</t></is></c><c t="inlineStr"><is><t>12.5</t></is></c></row>'
    )
    header = (
        '<row><c t="inlineStr"><is><t>customer_id</t></is></c><c t="inlineStr"><is><t>date'
        '</t></is></c><c t="inlineStr"><is><t>amount</t></is></c></row>'
    )
    block = (row_xml * 10_000).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + header.encode()
            )
            for _ in range(rows // 10_000):
                sheet.write(block)
            sheet.write((row_xml * (rows % 10_000)).encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


def wide_csv(path: Path, *, columns: int, rows: int = 20) -> Path:
    """Write a CSV with the three transaction columns and ``columns`` extra numeric columns."""
    header = "customer_id,date,amount," + ",".join(f"attribute_{i}" for i in range(columns))
    lines = [header]
    for r in range(rows):
        values = ",".join(str((r * 7 + i) % 100) for i in range(columns))
        lines.append(f"C{r},2024-01-{1 + r % 28:02d},{r}.5,{values}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
