r"""Escaping of client-controlled text on its way into HTML: the one place that does it.

A client's exports are untrusted input and the report's HTML is mailed to its executives, so a
category called ``<script>…</script>`` must reach the page as text. pandas' ``DataFrame.to_html``
escapes cell text, but a ``Styler`` does not by default and Jupyter renders markdown's raw HTML
as it is; every Styler and markdown path that shows client strings goes through these helpers.

Examples
--------
>>> escape_html('<img src=x onerror="alert(1)">')
'&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
>>> print(escape_markdown("[click](javascript:alert(1)) *bold* <b>"))
\[click\](javascript:alert(1)) \*bold\* &lt;b&gt;
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_TEXT_CHARS",
    "escape_html",
    "escape_markdown",
    "escaped_style",
    "isolated_html",
    "safe_text",
    "set_text_limits",
]

#: Longest client text a table cell or a sentence of a page shows (``limits.max_text_chars``);
#: :func:`cxlib.open_client` sets it from the client's YAML.
MAX_TEXT_CHARS = 200
#: Longest client name a figure shows (``limits.max_label_chars``).
MAX_LABEL_CHARS = 60

# Characters that would make inline markdown (emphasis, code, links, images, tables,
# strikethrough) out of a value in the middle of a line; < > & become entities instead.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# Line and tab characters become a space (one value stays one line); the other C0 and C1
# control characters (NUL, ESC, DEL, ...) go.
_SPACING = re.compile("[\t\n\r\v\f\x85\u2028\u2029]+")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Marks, embeddings, overrides and isolates of the Unicode bidirectional algorithm: in a client
# string they can reorder what follows them ("groceries 19%" shown as "%91 seirecorg").
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A run of right-to-left script (Hebrew, Arabic, Syriac, Thaana, N'Ko, ...), with the spaces
# and punctuation between its words: isolated in markdown so that a number after it stays after.
_RTL = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
_RTL_RUN = re.compile(f"[{_RTL}]+(?:[\\s'.,-]+[{_RTL}]+)*")


def set_text_limits(*, text_chars: int | None = None, label_chars: int | None = None) -> None:
    """Set how long a client text a page (``text_chars``) or a figure (``label_chars``) shows.

    :func:`cxlib.open_client` calls it with the client's ``limits:``; the data keep every value
    whole, only what a page shows is shortened (with "…").
    """
    global MAX_TEXT_CHARS, MAX_LABEL_CHARS
    if text_chars is not None:
        MAX_TEXT_CHARS = int(text_chars)
    if label_chars is not None:
        MAX_LABEL_CHARS = int(label_chars)


def safe_text(value: Any, limit: int | None = None) -> str:
    r"""Return a client string as a page, a table or a figure may show it.

    Control characters go (NUL, ESC, DEL; line breaks and tabs become one space), so do the
    Unicode bidirectional controls (an override would reverse the rest of a line, the number
    after the name included), and a text longer than ``limit`` characters ends in "…". The one
    function every client string passes on its way to a page; the data keep the value whole.

    Examples
    --------
    >>> safe_text("groceries\u202e 19%"), safe_text("a\x00b\nc")
    ('groceries 19%', 'ab c')
    >>> safe_text("a very long category name", limit=10)
    'a very lo…'
    """
    text = _SPACING.sub(" ", str(value))
    text = _BIDI.sub("", _CONTROL.sub("", text))
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 1)].rstrip() + "…"
    return text


def isolated_html(value: Any, limit: int | None = None) -> str:
    r"""Return a client string as escaped HTML isolated for direction (``<bdi>``).

    Right-to-left text in the cell of a table then cannot pull the cell's other text, or a
    number, into its direction.

    Examples
    --------
    >>> isolated_html("<b>Fish</b>\u202e")
    '<bdi>&lt;b&gt;Fish&lt;/b&gt;</bdi>'
    """
    return f"<bdi>{escape_html(safe_text(value, limit))}</bdi>"


def escape_html(value: Any) -> str:
    r"""Return ``value`` as text with ``& < > " '`` replaced by HTML entities.

    Control and bidirectional control characters are removed first (:func:`safe_text`).

    Examples
    --------
    >>> escape_html("Fish & <chips>\x00")
    'Fish &amp; &lt;chips&gt;'
    """
    return html.escape(safe_text(value), quote=True)


def escape_markdown(value: Any) -> str:
    r"""Return ``value`` as markdown that renders as exactly this text.

    HTML special characters become entities (a markdown renderer passes raw HTML through) and
    markdown punctuation is backslash-escaped, so a client string can make neither an element
    nor a link, emphasis or heading. Line breaks become spaces: one value stays one line.
    Control and bidirectional control characters go (:func:`safe_text`), a run of
    right-to-left script is isolated (``<bdi>``) so that a number after it stays after it, and
    an unbroken word longer than :data:`MAX_TEXT_CHARS` is shortened with "…".

    Examples
    --------
    >>> print(escape_markdown("A&B_c"))
    A&amp;B\_c
    >>> print(escape_markdown("\u202egroceries 19%"))
    groceries 19%
    """
    text = safe_text(value)
    # an unbroken word a browser cannot wrap: shortened
    longest = max(MAX_TEXT_CHARS, 20)
    text = re.sub(rf"\S{{{longest + 1},}}", lambda m: safe_text(m.group(0), longest), text)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = html.escape(text, quote=False)
    return _RTL_RUN.sub(lambda m: f"<bdi>{m.group(0)}</bdi>", text)


def escaped_style(
    frame: pd.DataFrame,
    formatters: Mapping[Any, str | Callable[[Any], str]] | None = None,
    *,
    na_rep: str | None = None,
) -> Styler:
    """Return ``frame.style`` with every cell, index label and column label escaped.

    Parameters
    ----------
    frame : DataFrame
        The table to show.
    formatters : mapping, optional
        Column -> format string (``"{:.1%}"``) or callable, as for ``Styler.format``; their
        output is escaped too. Other columns keep pandas' formatting, escaped.
    na_rep : str, optional
        Text for missing values.

    Notes
    -----
    A later ``styler.format(...)`` call replaces the escaping of the cells it covers; pass
    every formatter here instead.

    Examples
    --------
    >>> frame = pd.DataFrame({"<b>col</b>": ["<i>x</i>"], "n": [0.25]}, index=["<script>"])
    >>> page = escaped_style(frame, {"n": "{:.0%}"}).to_html()
    >>> any(tag in page for tag in ("<script>", "<i>", "<b>"))
    False
    >>> "&lt;script&gt;" in page, "25%" in page
    (True, True)
    """
    formatters = dict(formatters or {})
    frame = _without_controls(frame)
    styler = frame.style.format(None, na_rep=na_rep, escape="html")
    if formatters:
        escaping = {column: _escaping(format_) for column, format_ in formatters.items()}
        styler = styler.format(escaping, subset=list(escaping), na_rep=na_rep)
    styler = styler.format_index(escape="html", axis=0)
    return styler.format_index(escape="html", axis=1)


def _without_controls(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with control characters removed from its text cells and labels."""

    def clean(value: Any) -> Any:
        return safe_text(value) if isinstance(value, str) else value

    text = [c for c in frame.columns if frame[c].dtype == object or frame[c].dtype == "string"]
    out = frame.copy() if text else frame
    for column in text:
        out[column] = out[column].map(clean)
    return out.rename(index=clean, columns=clean)


def _escaping(format_: str | Callable[[Any], str]) -> Callable[[Any], str]:
    if callable(format_):
        return lambda value: escape_html(format_(value))
    return lambda value: escape_html(format_.format(value))
