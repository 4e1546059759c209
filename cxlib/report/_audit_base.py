"""What the audit reads and how a rule is written: the run's text, findings, the rule registry.

The rules themselves are in :mod:`cxlib.report._audit_rules`; :mod:`cxlib.report.audit` runs them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "RULES",
    "Finding",
    "NotARunError",
    "RunText",
    "page_text",
    "quote",
    "read_run",
    "rule",
    "sentences",
]

#: Longest offending text a finding quotes (longer sentences are cut around the match).
QUOTE_LIMIT = 240


class NotARunError(ValueError):
    """The folder given to :func:`audit_run` is not a report run (no ``manifest.json``)."""


@dataclass(frozen=True)
class Finding:
    """One defect the audit found.

    Attributes
    ----------
    rule : str
        The rule's id (a key of :data:`RULES`), e.g. ``"period-not-covered"``.
    page : str
        Where: a notebook (``"00_summary"``), ``"index"``, ``"actions.json"`` or
        ``"manifest.json"``.
    text : str
        The offending text, as the reader sees it (cut to :data:`QUOTE_LIMIT` characters).
    why : str
        One plain line: what is wrong with it.
    """

    rule: str
    page: str
    text: str
    why: str

    def line(self) -> str:
        """Return the finding on one line: rule, page, why, and the quoted text."""
        text = " ".join(self.text.split())
        return f'{self.rule} {self.page}: {self.why}: "{text}"'

    def to_dict(self) -> dict[str, str]:
        """Return the finding as the manifest records it."""
        return asdict(self)


# --- what a run wrote, as text ------------------------------------------------------------------

_BLOCKS = {
    "p", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "div", "pre", "caption",
    "br", "table", "ul", "ol", "section", "blockquote", "dt", "dd",
}  # fmt: skip
_VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "source", "wbr"}
_HIDDEN = {"style", "script", "head", "nav", "template", "svg"}


class _PageParser(HTMLParser):
    """Text blocks and tables of an HTML page, as a reader sees them.

    Scripts, styles, the head, navigation and any element marked ``data-audit="skip"`` (the
    index's own list of findings) are left out.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._buffer: list[str] = []
        self._hidden: list[str] = []  # open tags whose content is not read
        self._table_stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden:
            if tag not in _VOID:
                self._hidden.append(tag)
            return
        if tag in _HIDDEN or ("data-audit", "skip") in attrs:
            if tag not in _VOID:
                self._hidden.append(tag)
            return
        if tag in _BLOCKS:
            self._flush()
        if tag == "table":
            self._table_stack.append([])
        elif tag == "tr" and self._table_stack:
            self._table_stack[-1].append([])
        elif tag in ("td", "th") and self._table_stack:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag == self._hidden[-1]:
                self._hidden.pop()
            return
        if tag in _BLOCKS:
            self._flush()
        if tag in ("td", "th") and self._cell is not None and self._table_stack:
            rows = self._table_stack[-1]
            if not rows:
                rows.append([])
            rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._table_stack:
            self.tables.append([row for row in self._table_stack.pop() if row])

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self._buffer.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).replace("\xa0", " ").split())
        text = text.replace("¶", "").strip()
        if text:
            self.blocks.append(text)
        self._buffer = []

    def close(self) -> None:
        super().close()
        self._flush()


def page_text(html: str) -> tuple[list[str], list[list[list[str]]]]:
    """Read an HTML page as a reviewer does: its text blocks, and its tables as rows of cells.

    Examples
    --------
    >>> blocks, tables = page_text(
    ...     "<style>p{}</style><p>Net revenue was <b>EUR&nbsp;5</b>.</p>"
    ...     "<table><tr><th>Table</th></tr><tr><td>tx</td></tr></table>"
    ...     '<section data-audit="skip"><p>not read</p></section>')
    >>> blocks
    ['Net revenue was EUR 5.', 'Table', 'tx']
    >>> tables
    [[['Table'], ['tx']]]
    """
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser.blocks, parser.tables


@dataclass
class RunText:
    """Everything of a run the rules read (:func:`read_run`).

    Attributes
    ----------
    run_dir : Path
    manifest : dict
        ``manifest.json``.
    headlines : DataFrame
        :func:`cxlib.report.headlines.load_headlines` of ``headlines/``.
    facts : dict
        :func:`cxlib.report.headlines.load_facts`: page -> facts it recorded for the audit.
    segment_facts : dict
        :func:`cxlib.report.cards.load_segment_facts`: table name -> frame (the cards' inputs).
    actions : list of dict
        ``actions.json``.
    pages : dict
        Page (``"00_summary"``, ..., ``"index"``) -> its text blocks.
    tables : dict
        Page -> its HTML tables, each a list of rows of cell texts.
    """

    run_dir: Path
    manifest: dict[str, Any]
    headlines: pd.DataFrame
    facts: dict[str, dict] = field(default_factory=dict)
    segment_facts: dict[str, pd.DataFrame] = field(default_factory=dict)
    actions: list[dict] = field(default_factory=list)
    pages: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, list[list[list[str]]]] = field(default_factory=dict)

    def texts(self) -> Iterator[tuple[str, str]]:
        """Every text a reader meets: ``(page, text)`` for page blocks and headline words."""
        for page, blocks in self.pages.items():
            for block in blocks:
                yield page, block
        for row in self.headlines.itertuples(index=False):
            for part in (row.label, row.note, row.value if isinstance(row.value, str) else None):
                if isinstance(part, str) and part:
                    yield str(row.notebook), part


def _reviewer_pages(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    pages: dict[str, Path] = {}
    for entry in manifest.get("notebooks") or []:
        href = (entry.get("outputs") or {}).get("reviewer_html")
        if href and (run_dir / href).is_file():
            pages[str(entry.get("name"))] = run_dir / href
    if not manifest.get("notebooks"):  # a manifest written before the pages: read the folder
        for file in sorted((run_dir / "html").glob("*.html")):
            if not file.name.endswith(".full.html"):
                pages[file.stem] = file
    return pages


def read_run(run_dir: str | Path) -> RunText:
    """Read what the audit checks from a run folder.

    Raises
    ------
    NotARunError
        When ``run_dir`` is not a folder with a readable ``manifest.json``.
    """
    from cxlib.report.cards import load_segment_facts
    from cxlib.report.headlines import load_facts, load_headlines

    run_dir = Path(run_dir)
    manifest_file = run_dir / "manifest.json"
    if not manifest_file.is_file():
        raise NotARunError(f"{run_dir} is not a report run: it has no manifest.json")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotARunError(
            f"{run_dir} is not a report run: manifest.json is unreadable ({exc})"
        ) from None
    if not isinstance(manifest, dict) or "run_id" not in manifest:
        raise NotARunError(f"{run_dir} is not a report run: manifest.json has no run_id")
    headlines_dir = run_dir / "headlines"
    actions_file = run_dir / "actions.json"
    actions = json.loads(actions_file.read_text(encoding="utf-8")) if actions_file.is_file() else []
    run = RunText(
        run_dir=run_dir,
        manifest=manifest,
        headlines=load_headlines(headlines_dir if headlines_dir.is_dir() else None),
        facts=load_facts(headlines_dir),
        segment_facts=load_segment_facts(headlines_dir),
        actions=actions if isinstance(actions, list) else [],
    )
    pages = _reviewer_pages(run_dir, manifest)
    if (run_dir / "index.html").is_file():
        pages["index"] = run_dir / "index.html"
    for page, file in pages.items():
        run.pages[page], run.tables[page] = page_text(file.read_text(encoding="utf-8"))
    return run


# --- the rules ------------------------------------------------------------------------------------

#: Rule id -> (the function that finds its defects, one line saying what it checks).
RULES: dict[str, tuple[Callable[[RunText], Iterable[Finding]], str]] = {}


def rule(rule_id: str, checks: str) -> Callable:
    """Register a rule: a function of a :class:`RunText` that yields :class:`Finding` objects."""

    def register(function: Callable[[RunText], Iterable[Finding]]):
        RULES[rule_id] = (function, checks)
        return function

    return register


def quote(text: str, start: int = 0, end: int | None = None) -> str:
    """Cut ``text`` to :data:`QUOTE_LIMIT` characters around ``text[start:end]``."""
    end = len(text) if end is None else end
    if len(text) <= QUOTE_LIMIT:
        return text
    middle = (start + end) // 2
    left = max(0, min(middle - QUOTE_LIMIT // 2, len(text) - QUOTE_LIMIT))
    cut = text[left : left + QUOTE_LIMIT]
    return ("…" if left else "") + cut + ("…" if left + QUOTE_LIMIT < len(text) else "")


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*(\"'“])")


def sentences(text: str) -> list[str]:
    """Split a text block into sentences (at ". " before a capital, a digit or a bracket).

    Examples
    --------
    >>> sentences("Revenue was USD 1.07M, down 25.3% (USD 1.43M). 0 new customers came.")
    ['Revenue was USD 1.07M, down 25.3% (USD 1.43M).', '0 new customers came.']
    """
    return [part for part in _SENTENCE_END.split(text) if part]
