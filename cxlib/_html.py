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

__all__ = ["escape_html", "escape_markdown", "escaped_style"]

# Characters that would make inline markdown (emphasis, code, links, images, tables,
# strikethrough) out of a value in the middle of a line; < > & become entities instead.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_html(value: Any) -> str:
    """Return ``value`` as text with ``& < > " '`` replaced by HTML entities.

    Examples
    --------
    >>> escape_html("Fish & <chips>")
    'Fish &amp; &lt;chips&gt;'
    """
    return html.escape(str(value), quote=True)


def escape_markdown(value: Any) -> str:
    r"""Return ``value`` as markdown that renders as exactly this text.

    HTML special characters become entities (a markdown renderer passes raw HTML through) and
    markdown punctuation is backslash-escaped, so a client string can make neither an element
    nor a link, emphasis or heading. Line breaks become spaces: one value stays one line.

    Examples
    --------
    >>> print(escape_markdown("A&B_c"))
    A&amp;B\_c
    """
    text = " ".join(str(value).splitlines())
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return html.escape(text, quote=False)


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
    styler = frame.style.format(None, na_rep=na_rep, escape="html")
    if formatters:
        escaping = {column: _escaping(format_) for column, format_ in formatters.items()}
        styler = styler.format(escaping, subset=list(escaping), na_rep=na_rep)
    styler = styler.format_index(escape="html", axis=0)
    return styler.format_index(escape="html", axis=1)


def _escaping(format_: str | Callable[[Any], str]) -> Callable[[Any], str]:
    if callable(format_):
        return lambda value: escape_html(format_(value))
    return lambda value: escape_html(format_.format(value))
