"""Presentation-grade tables: what a reviewer page shows instead of a raw data frame.

Every table on a report page goes through :func:`table`: readable headers with their unit
("Revenue (EUR)", not ``revenue``), no positional index, numbers with thousands separators and
sensible decimals, shares as percentages, yes/no instead of booleans, and "—" for anything
missing. A table with many columns is split into several narrower tables that repeat its key
columns, so no table is wider than the page. Client text (segment, category and theme names) is
escaped on its way into the HTML, stripped of control characters, isolated for direction
(``<bdi>``) and shortened with "…" past ``limits.max_text_chars``
(:func:`cxlib.settings.escape.safe_text`).

Examples
--------
>>> frame = pd.DataFrame({"segment": ["Champions", "Lost"], "revenue": [1234567.891, None],
...                       "churn_rate": [0.1234, 0.5], "contacted": [True, False]})
>>> shown = table(frame, {"revenue": "currency", "churn_rate": "percent"})
>>> shown.headers
['Segment', 'Revenue (EUR)', 'Churn rate', 'Contacted']
>>> shown.cells.iloc[0].tolist(), shown.cells.iloc[1].tolist()
(['Champions', '1,234,568', '12.3%', 'yes'], ['Lost', '—', '50.0%', 'no'])
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlib.report.render import render
from cxlib.settings import escape as _html
from cxlib.settings import i18n
from cxlib.settings.escape import escape_html
from cxlib.settings.formats import p_value_text
from cxlib.settings.i18n import N_

__all__ = [
    "MISSING",
    "UNITS",
    "PresentedTable",
    "format_cell",
    "headlines_table",
    "note",
    "p_value_text",
    "readable_label",
    "table",
]

#: Width a table may take on the page (px): the report's 1280 px page less margins and the
#: output area's padding (measured: 1,090 px of room), with a safety margin.
PAGE_PX = 1000

#: What a missing value looks like on a page.
MISSING = "—"

#: The units a column can have (see :func:`format_cell`).
UNITS = (
    "currency",
    "percent",
    "points",
    "count",
    "number",
    "ratio",
    "days",
    "months",
    "p_value",
    "yesno",
    "date",
    "text",
)

# Words a reader knows in capitals; the rest of a snake_case name becomes lower-case words.
_ACRONYMS = {
    "nps": "NPS",
    "clv": "CLV",
    "rfm": "RFM",
    "ci": "CI",
    "aov": "AOV",
    "auc": "AUC",
    "roc": "ROC",
    "pr": "PR",
    "id": "ID",
    "kpi": "KPI",
    "ltv": "LTV",
    "cac": "CAC",
    "yoy": "YoY",
    "km": "KM",
    "se": "SE",
    "sd": "SD",
    "std": "SD",
    "coef": "coefficient",
    "r2": "R²",
    "mde": "MDE",
}
# Header suffix per unit; percent, points and ratios show their unit in the cells.
_HEADER_UNIT = {"days": N_("days"), "months": N_("months")}
# Column-name hints for columns without an explicit unit (checked in this order).
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    (r"^p$|^p_|(^|_)p_value", "p_value"),
    (
        r"share|rate$|_rate_|probability|penetration|_pct$|^pct_|^churn|survival|"
        r"^(promoters|passives|detractors)$",
        "percent",
    ),
    (
        r"customers$|buyers$|^n$|^n_|_n$|count$|^orders$|responses$|answers$|^texts$|churners",
        "count",
    ),
    (r"(^|_)nps(_|$)", "points"),
    (r"lift|hazard_ratio|^ratio$|_ratio$|_to_", "ratio"),
    (r"days|recency_d|tenure_d", "days"),
    (r"months", "months"),
    (
        r"revenue|clv|spend|value|margin|headroom|wallet|at_risk|monetary|cost|amount|aov|"
        r"price|income|profit|money|sales|(^|_)cac(_|$)|(^|_)net(_|$)|opportunity",
        "currency",
    ),
)
# A text cell that is an identifier from our own code ("subsequent_spend", "held_out") is shown
# as words; ID columns keep their values as they are.
_CODE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
#: Words kept as they are: capitalised, they would read as Python's None/True/False.
_REPR_WORDS = frozenset({"none", "nan", "nat", "null", "true", "false"})
_TABLE_STYLES = [
    # Headers wrap on word boundaries instead of stretching the table past the page.
    {"selector": "th", "props": "white-space: normal; max-width: 11em; text-align: right;"},
    {"selector": "td", "props": "max-width: 28em; overflow-wrap: break-word;"},
    {"selector": "th.col_heading", "props": "vertical-align: bottom;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; color: #555;"},
]


# Names whose readable form is not just their words.
_LABELS = {
    "p_value": "p-value",
    "p_value_unadjusted": "p-value (unadjusted)",
    "p_holm": "p-value (Holm)",
    "ph_p_value": "p-value, proportional hazards",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "ci_lower": "95% CI low",
    "ci_upper": "95% CI high",
    "n": "N",
}


def readable_label(name: Any) -> str:
    """Turn a column name into a header a reader understands.

    Examples
    --------
    >>> readable_label("revenue_at_risk"), readable_label("nps_ci_low"), readable_label("T")
    ('Revenue at risk', 'NPS CI low', 'T')
    >>> readable_label(("revenue", "mean"))
    'Revenue mean'
    """
    if isinstance(name, tuple):
        return readable_label("_".join(str(part) for part in name if str(part) != ""))
    text = str(name)
    if text in _LABELS:
        return _LABELS[text]
    if "_" not in text and not text.islower():
        return text  # already written for a reader ("Revenue", "T", "Cluster 1")
    words = [w for w in re.split(r"[_\s]+", text) if w]
    if not words:
        return text
    shown = [_ACRONYMS.get(w.lower(), w) for w in words]
    first = shown[0]
    if first == words[0] and first.islower():
        shown[0] = first[:1].upper() + first[1:]
    return " ".join(shown)


def infer_unit(name: Any, values: pd.Series) -> str:
    """Guess a column's unit from its dtype and name (explicit units always win).

    Examples
    --------
    >>> infer_unit("revenue_share", pd.Series([0.2])), infer_unit("flag", pd.Series([True]))
    ('percent', 'yesno')
    """
    if pd.api.types.is_bool_dtype(values):
        return "yesno"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if not pd.api.types.is_numeric_dtype(values):
        present = values.dropna()
        if len(present) and present.map(lambda v: isinstance(v, bool | np.bool_)).all():
            return "yesno"
        return "text"
    key = "_".join(str(part) for part in name) if isinstance(name, tuple) else str(name)
    key = key.lower()
    if re.search(r"growth|trend", key):
        return "percent"  # a relative change, which may exceed 100%
    for pattern, unit in _NAME_HINTS:
        if re.search(pattern, key):
            if unit == "percent" and values.abs().max(skipna=True) > 1.5:
                continue  # a "rate" column in points or counts, not a share
            return unit
    return "count" if pd.api.types.is_integer_dtype(values) else "number"


def format_cell(value: Any, unit: str) -> str:
    """Format one value for a page; missing values (None, NaN, NaT, pd.NA) become "—".

    Examples
    --------
    >>> [format_cell(v, "number") for v in (1234.5678, 3.14159, 0.000123456, float("nan"))]
    ['1,235', '3.14', '<0.001', '—']
    >>> format_cell(0.0004, "p_value"), format_cell(12.345, "points"), format_cell(1.5, "ratio")
    ('<0.001', '+12.3', '1.50×')
    >>> format_cell(-1234.5, "currency"), format_cell(12.345, "currency")
    ('-1,234', '12.35')
    """
    if _is_missing(value):
        return MISSING
    if unit == "text":
        if isinstance(value, list | tuple):
            return "; ".join(str(v) for v in value)
        if isinstance(value, bool | np.bool_):
            return _yes_no(value)
        if isinstance(value, float | np.floating):
            return format_cell(value, "number")
        return str(value)
    if unit == "yesno" or isinstance(value, bool | np.bool_):
        return _yes_no(value)
    if unit == "date":
        return i18n.date(pd.Timestamp(value))
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timedelta):
        return f"{i18n.number(value.days)} {i18n.ngettext('day', 'days', value.days)}"
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else i18n.localise("-") + "∞"
    formats: dict[str, Callable[[float], str]] = {
        "currency": lambda x: i18n.number(x, ",.0f" if abs(x) >= 100 else ",.2f"),
        "percent": lambda x: i18n.percent(x),
        "points": lambda x: i18n.number(x, "+.1f"),
        "count": lambda x: i18n.number(x),
        "ratio": lambda x: i18n.number(x, ".2f") + "×",
        "days": lambda x: i18n.number(x),
        "months": lambda x: i18n.number(x, ",.0f" if x == int(x) else ",.1f"),
        "p_value": lambda x: _below_0001() if x < 0.001 else i18n.number(x, ".3f"),
    }
    return formats.get(unit, _number)(number)


def _yes_no(value: Any) -> str:
    return i18n.gettext("yes") if bool(value) else i18n.gettext("no")


def _number(x: float) -> str:
    magnitude = abs(x)
    if magnitude >= 100 or x == int(x):
        return i18n.number(x)
    if magnitude >= 1:
        return i18n.number(x, ",.2f")
    if magnitude >= 0.001:
        return i18n.number(x, ".3f")
    # a reader does not parse 1.2e-27; what matters is that the value is nearly zero
    return _below_0001() if x > 0 else "> " + i18n.number(-0.001, ".3f")


def _below_0001() -> str:
    return "<" + i18n.number(0.001, ".3f")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


@dataclass
class PresentedTable:
    """A formatted table, shown as one or more HTML tables (see :func:`table`).

    Attributes
    ----------
    cells : DataFrame
        Every cell as the text a reader sees, columns named by their readable headers.
    keys : list of str
        Headers of the key columns, repeated in every part of a split table.
    caption : str
        Text above the (first) table.
    """

    cells: pd.DataFrame
    keys: list[str] = field(default_factory=list)
    caption: str = ""
    max_columns: int = 12
    numeric: set[str] = field(default_factory=set)

    @property
    def headers(self) -> list[str]:
        """Return the headers a reader sees, in order."""
        return [str(c) for c in self.cells.columns]

    def set_caption(self, caption: str) -> PresentedTable:
        """Set the text shown above the table (as ``Styler.set_caption``); returns self."""
        self.caption = str(caption or "")
        return self

    def parts(self) -> list[pd.DataFrame]:
        """Return the table split into pieces that fit the page (keys repeated in each).

        A piece holds at most ``max_columns`` columns and, by an estimate of each column's
        width from its text, at most :data:`PAGE_PX` pixels; the pieces are balanced.
        """
        others = [c for c in self.cells.columns if c not in self.keys]
        room = PAGE_PX - sum(self._width(c) for c in self.keys)
        limit = max(1, self.max_columns - len(self.keys))
        pieces: list[list[str]] = [[]]
        for column in others:
            used = sum(self._width(c) for c in pieces[-1])
            if pieces[-1] and (len(pieces[-1]) >= limit or used + self._width(column) > room):
                pieces.append([])
            pieces[-1].append(column)
        if len(pieces) == 1:
            return [self.cells]
        # Same number of pieces, columns spread evenly (no piece of one lonely column).
        size = math.ceil(len(others) / len(pieces))
        if all(
            sum(self._width(c) for c in others[i : i + size]) <= room
            for i in range(0, len(others), size)
        ):
            pieces = [others[i : i + size] for i in range(0, len(others), size)]
        return [self.cells[self.keys + piece] for piece in pieces]

    def _width(self, header: str) -> float:
        """Rough rendered width of a column in pixels: its longest cell or header word."""
        values = self.cells[header].astype(str)
        longest = int(values.str.len().max()) if len(values) else 0
        if header not in self.numeric:
            longest = min(longest, 40)  # text wraps at 28em
        words = max((len(w) for w in str(header).split()), default=0)
        head = min(len(str(header)), 16)  # headers wrap at 11em
        return 7.5 * max(longest, words, head) + 22

    def to_html(self) -> str:
        """Return the HTML of every part, escaped, without an index."""
        pieces = []
        for number, part in enumerate(self.parts()):
            styler = part.style.format(escape="html").format_index(escape="html", axis=1)
            styler = styler.hide(axis="index").set_table_styles(_TABLE_STYLES)
            numeric = [c for c in part.columns if c in self.numeric]
            if numeric:
                styler = styler.set_properties(
                    subset=numeric, **{"text-align": "right", "white-space": "nowrap"}
                )
            text = [c for c in part.columns if c not in self.numeric]
            if text:
                # client text isolated for direction: right-to-left text stays in its cell
                styler = styler.format(_html.isolated_html, subset=text)
                styler = styler.set_properties(subset=text, **{"text-align": "left"})
                left = [{"selector": "th", "props": "text-align: left;"}]
                styler = styler.set_table_styles(dict.fromkeys(text, left), overwrite=False)
            if number == 0 and self.caption:
                styler = styler.set_caption(escape_html(self.caption))
            pieces.append(styler.to_html())
        return render("table.html.j2", parts=pieces)

    def _repr_html_(self) -> str:
        return self.to_html()


def table(
    frame: pd.DataFrame | pd.Series,
    units: Mapping[Any, str] | None = None,
    *,
    currency: str = "EUR",
    labels: Mapping[Any, str] | None = None,
    keys: Sequence[Any] | None = None,
    max_columns: int = 12,
    caption: str = "",
) -> PresentedTable:
    """Format a frame for a report page.

    Parameters
    ----------
    frame : DataFrame or Series
        The table to show; it is not modified. A meaningful index (named, or not the default
        0..n-1) becomes the first column(s); a default index is dropped.
    units : mapping, optional
        Column -> unit, one of :data:`UNITS`: ``"currency"`` (header gets the currency code),
        ``"percent"`` (a share, 0.25 -> 25.0%), ``"points"`` (signed, NPS), ``"count"``,
        ``"number"``, ``"ratio"`` (1.50×), ``"days"``, ``"months"``, ``"p_value"``, ``"yesno"``,
        ``"date"``, ``"text"``. Columns not listed get a unit from their dtype and name.
    currency : str, default "EUR"
        Currency code shown in money columns' headers.
    labels : mapping, optional
        Column -> header, overriding the readable version of its name.
    keys : sequence, optional
        Columns repeated in every part of a split table (default: the former index columns,
        or else the first column when it holds text).
    max_columns : int, default 12
        Most columns in one part, key columns included; a table with more columns, or wider
        than the page by an estimate from its text, is split.
    caption : str, optional
        Text above the table.

    Returns
    -------
    PresentedTable
        Displays as HTML in a notebook; ``.cells`` holds the formatted text.

    Examples
    --------
    >>> group = pd.Index(["a"], name="group")
    >>> wide = pd.DataFrame({f"metric_{i}": [0.5 * i] for i in range(10)}, index=group)
    >>> shown = table(wide, max_columns=6)
    >>> [list(part.columns)[:2] for part in shown.parts()]
    [['Group', 'Metric 0'], ['Group', 'Metric 5']]
    >>> "<td" in shown.to_html() and "metric_0" not in shown.to_html()
    True
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(frame.name if frame.name is not None else "value")
    data, index_columns = _with_index_as_columns(frame)
    units = dict(units or {})
    labels = dict(labels or {})
    unknown = [c for c in [*units, *labels] if c not in data.columns]
    if unknown:
        raise ValueError(
            f"table: columns {unknown!r} are not in the frame; its columns are "
            f"{list(data.columns)!r}."
        )
    bad = {c: u for c, u in units.items() if u not in UNITS}
    if bad:
        raise ValueError(f"table: unknown units {bad!r}; use one of {UNITS!r}.")
    cells, numeric, headers = {}, set(), []
    for position, column in enumerate(data.columns):
        values = data.iloc[:, position]
        unit = units.get(column) or infer_unit(column, values)
        label = labels.get(column) or readable_label(column)
        header = i18n.gettext(label)  # English, or the catalogue's translation when it has one
        if column not in labels:
            suffix = currency if unit == "currency" else _HEADER_UNIT.get(unit)
            if suffix and suffix.lower() not in label.lower():
                header = f"{header} ({suffix if unit == 'currency' else i18n.gettext(suffix)})"
        header = _unique(_html.safe_text(header, _html.MAX_TEXT_CHARS), headers)
        headers.append(header)
        shown_values = [format_cell(v, unit) for v in values.tolist()]
        if unit == "text":
            # a client's text: no control characters, at most limits.max_text_chars shown
            shown_values = [_html.safe_text(v, _html.MAX_TEXT_CHARS) for v in shown_values]
        if unit == "text" and not re.search(r"(^|_)id$", str(column).lower()):
            # codes such as "paid_search" or "referral" read as labels, in every text column
            # alike, so a pair of columns ("Segment a", "Segment b") shows one group one way
            shown_values = [
                i18n.gettext(readable_label(v)) if _CODE.match(v) and v not in _REPR_WORDS else v
                for v in shown_values
            ]
        cells[header] = shown_values
        if unit not in ("text", "yesno", "date"):
            numeric.add(header)
    shown = pd.DataFrame(cells, columns=headers)
    if keys is not None:
        key_headers = [headers[list(data.columns).index(k)] for k in keys]
    elif index_columns:
        key_headers = headers[: len(index_columns)]
    elif headers and headers[0] not in numeric:
        key_headers = headers[:1]
    else:
        key_headers = []
    return PresentedTable(shown, key_headers, str(caption or ""), max_columns, numeric)


def _with_index_as_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Any]]:
    data = frame.copy()
    if isinstance(data.columns, pd.MultiIndex):
        data.columns = [readable_label(c) for c in data.columns]
    data.columns.name = None
    index = data.index
    # Positions (0..n-1, or what is left of them after sorting or filtering) say nothing.
    default = (
        not isinstance(index, pd.MultiIndex)
        and index.name is None
        and pd.api.types.is_integer_dtype(index)
    )
    if default:
        return data.reset_index(drop=True), []
    names = [
        name if name is not None else ("" if index.nlevels == 1 else f"level_{i}")
        for i, name in enumerate(index.names)
    ]
    if index.nlevels == 1 and names[0] == "":
        names = [" "]  # an unnamed label column (segment names, metrics)
    data.index = data.index.set_names(names)
    taken = [n for n in names if n in data.columns]
    if taken:
        data = data.rename(columns={n: f"{n} " for n in taken})
    return data.reset_index(), names


def _unique(header: str, taken: list[str]) -> str:
    candidate, n = header, 2
    while candidate in taken:
        candidate, n = f"{header} ({n})", n + 1
    return candidate


def note(*paragraphs: Any, escape: bool = True):
    r"""Return prose for a page as markdown (not a monospace ``print``), one paragraph each.

    Parameters
    ----------
    *paragraphs : str
        The text; empty paragraphs are left out.
    escape : bool, default True
        Escape markdown and HTML in the text (it may hold client names); False for markdown
        written by cxlib itself.

    Examples
    --------
    >>> print(note("7 clusters", "chosen by *silhouette*").data)
    7 clusters
    <BLANKLINE>
    chosen by \*silhouette\*
    """
    from IPython.display import Markdown

    from cxlib.settings.escape import escape_markdown

    shown = [str(p) for p in paragraphs if p is not None and str(p).strip()]
    return Markdown("\n\n".join(escape_markdown(p) if escape else p for p in shown))


def headlines_table(recorded: pd.DataFrame, *, currency: str = "EUR") -> PresentedTable:
    """Show the headline numbers a page recorded (``cxlib.report.headlines.save_headlines``' frame).

    Examples
    --------
    >>> from cxlib.report.headlines import Headline, save_headlines
    >>> shown = headlines_table(save_headlines("02_churn", [Headline("r", "Churn rate", 0.25,
    ...                                                              unit="percent")]))
    >>> shown.cells.iloc[0].tolist()
    ['Churn rate', '25.0%', '—', '—']
    """
    from cxlib.report.headlines import headline_table

    rows = headline_table(recorded, currency=currency).drop(columns="Topic")
    rows = rows.replace("", None)
    return table(rows, {c: "text" for c in rows.columns}, labels={"Number": "Measure"})
