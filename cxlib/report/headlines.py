"""Headline numbers: what each topic notebook records for the executive summary.

A topic notebook ends with::

    cxlib.report.headlines.save_headlines("04_clv", [
        cxlib.settings.headline.Headline("total_clv", "Total 12-month CLV", 1.2e6, unit="currency",
                                 ci_low=1.1e6, ci_high=1.3e6),
    ], path=headlines_path)

``cxlib report`` passes ``headlines_path`` to each notebook, collects the JSON files, and the
summary notebook reads them with :func:`load_headlines` instead of recomputing anything.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from cxlib.report.pages import Page, summary_sections
from cxlib.settings import i18n
from cxlib.settings.escape import escape_markdown
from cxlib.settings.headline import INVEST_PREFIX, Headline

__all__ = [
    "DEFAULT_AT_STAKE_WORDS",
    "INVEST_PREFIX",
    "Headline",
    "escape_markdown",
    "executive_summary",
    "format_table",
    "format_value",
    "headline_table",
    "load_facts",
    "load_headlines",
    "page_title",
    "save_facts",
    "save_headlines",
]


def format_value(value: float | str | None, unit: str, *, currency: str = "EUR") -> str:
    """Format a headline value for a reader.

    Examples
    --------
    >>> format_value(1234567.8, "currency", currency="EUR")
    'EUR 1.23M'
    >>> format_value(2901.42, "currency"), format_value(45.2, "currency")
    ('EUR 2,901', 'EUR 45.20')
    >>> format_value(0.2346, "percent")
    '23.5%'
    >>> format_value(12.3456, "points")
    '12.3'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return i18n.gettext("n/a")
    if unit == "text" or isinstance(value, str):
        return str(value)
    if unit == "currency":
        return i18n.money(value, currency, compact=True)
    if unit == "percent":
        return i18n.percent(value)
    if unit == "count":
        return i18n.number(value, ",.0f")
    if unit == "points":
        return i18n.number(value, ".1f")
    if unit == "ratio":
        return i18n.number(value, ".2f") + "x"
    return i18n.number(value, ",.3g")


def format_table(
    frame: pd.DataFrame,
    units: dict[str, str],
    *,
    currency: str = "EUR",
    index: bool = True,
):
    """Show a table with its money, shares and counts formatted like the headlines.

    Parameters
    ----------
    frame : DataFrame
        The table to show; it is not modified.
    units : dict
        Column -> unit (``"currency"``, ``"percent"``, ``"count"``, ``"points"``, ``"ratio"``,
        ``"number"``), as for :func:`format_value`. Other columns keep pandas' formatting.
    currency : str, default "EUR"
        Currency code for ``"currency"`` columns.
    index : bool, default True
        Show the index (e.g. segment names); False hides it.

    Returns
    -------
    pandas.io.formats.style.Styler
        Displays as a formatted HTML table in a notebook and in the report.

    Examples
    --------
    >>> table = pd.DataFrame({"revenue": [1.25e6], "share": [0.4]}, index=["Champions"])
    >>> html = format_table(table, {"revenue": "currency", "share": "percent"}).to_html()
    >>> "EUR 1.25M" in html and "40.0%" in html
    True
    """
    from cxlib.settings.escape import escaped_style
    from cxlib.settings.validation import validate_columns

    validate_columns(frame, units, caller="format_table")
    # Cells, labels and formatted values are escaped: names in a client's export (categories,
    # segments, themes) are untrusted text, and a Styler writes its cells as raw HTML.
    formatters = {
        column: (lambda value, unit=unit: format_value(value, unit, currency=currency))
        for column, unit in units.items()
    }
    styler = escaped_style(frame, formatters)
    return styler if index else styler.hide(axis="index")


def save_headlines(
    notebook: str, headlines: Iterable[Headline], *, path: str | Path | None = None
) -> pd.DataFrame:
    """Record a notebook's headline numbers; write them as JSON when ``path`` is given.

    Returns the headlines as a frame, so the notebook can show what it recorded.
    """
    rows = [{"notebook": notebook, **asdict(item)} for item in headlines]
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2, default=_plain), encoding="utf-8")
    return pd.DataFrame(rows, columns=["notebook", *Headline.__dataclass_fields__])


def _plain(value):
    """JSON for numpy numbers and arrays (a headline's value, an evidence check's numbers)."""
    if hasattr(value, "tolist"):  # numpy scalar or array
        return value.tolist()
    return float(value)


def load_headlines(directory: str | Path | None) -> pd.DataFrame:
    """Read every headline JSON file in ``directory`` into one frame.

    The frame is empty (with the same columns) when ``directory`` is ``None``, does not exist
    or holds no JSON files, e.g. when the summary notebook runs on its own. ``evidence`` is
    None for headlines recorded without it (and by earlier versions).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check = {"name": "r", "value": 0.5, "op": ">", "threshold": 0.3}
    >>> _ = save_headlines("04_clv", [Headline("x_warning", "Warning", "r is high", unit="text",
    ...                                        evidence={"checks": [check]})],
    ...                    path=folder / "04_clv.json")
    >>> load_headlines(folder).loc[0, "evidence"]["checks"][0]["threshold"]
    0.3
    """
    rows: list[dict] = []
    if directory is not None:
        for file in sorted(Path(directory).glob("*.json")):
            rows.extend(json.loads(file.read_text(encoding="utf-8")))
    frame = pd.DataFrame(rows, columns=["notebook", *Headline.__dataclass_fields__])
    frame["evidence"] = [e if isinstance(e, dict) else None for e in frame["evidence"]]
    return frame


#: Subfolder of the headlines folder holding the facts pages record for the audit.
FACTS_DIR = "facts"


def save_facts(page: str, facts: dict, *, path: str | Path | None = None) -> None:
    """Record numbers a page shows that are not headlines, for ``cxlib audit`` to re-check.

    E.g. what the names of the behavioural clusters rest on
    (:meth:`cxlib.segmentation.ClusterResult.name_facts`). ``path`` is the page's headline file
    (the runner's ``headlines_path``); the facts go to ``facts/<page>.json`` beside it. Without
    ``path`` (a notebook run by hand) nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> save_facts("01_segmentation", {"clusters": {"threshold_days": 90.0}},
    ...            path=folder / "01_segmentation.json")
    >>> load_facts(folder)["01_segmentation"]["clusters"]["threshold_days"]
    90.0
    """
    if path is None:
        return
    target = Path(path).parent / FACTS_DIR / Path(path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(facts, indent=1, default=_plain), encoding="utf-8")


def load_facts(directory: str | Path | None) -> dict[str, dict]:
    """Read the facts every page recorded with :func:`save_facts`: ``{page: facts}``."""
    found: dict[str, dict] = {}
    if directory is None or not (Path(directory) / FACTS_DIR).is_dir():
        return found
    for file in sorted((Path(directory) / FACTS_DIR).glob("*.json")):
        found[file.stem] = json.loads(file.read_text(encoding="utf-8"))
    return found


def page_title(page: str, pages: Sequence[Page] | None = None) -> str:
    """Return the plain-language title of a topic page, for tables and links that name it.

    The summary section of a page of the manifest (``pages``, default
    :data:`cxlib.report.pages.PAGES`); another page's name without its number prefix.

    Examples
    --------
    >>> page_title("02_churn")
    'Who is leaving, and how much money leaves with them'
    >>> page_title("07_store_visits")
    'Store visits'
    """
    sections = summary_sections(pages)
    if page in sections:
        return sections[page]
    words = str(page).split("_")
    if len(words) > 1 and words[0].isdigit():
        words = words[1:]
    text = " ".join(w for w in words if w)
    return text[:1].upper() + text[1:] if text else str(page)


#: A headline whose key contains one of these words says where money is at stake; "Where to
#: invest" lists them (e.g. ``revenue_at_risk``, ``total_headroom``, ``churn_gap_segment``).
DEFAULT_AT_STAKE_WORDS: tuple[str, ...] = (
    "risk",
    "headroom",
    "gap",
    "uplift",
    "stake",
    "potential",
)


def _interval(row, currency: str) -> str:
    low, high = row.ci_low, row.ci_high
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return f"{format_value(low, row.unit, currency=currency)} – " + format_value(
        high, row.unit, currency=currency
    )


def headline_table(headlines: pd.DataFrame, *, currency: str = "EUR") -> pd.DataFrame:
    """Format headlines for reading: one row each, values as text with their units.

    Parameters
    ----------
    headlines : DataFrame
        As returned by :func:`load_headlines`.
    currency : str, default "EUR"
        Currency code for ``unit="currency"`` values.

    Returns
    -------
    DataFrame
        Columns ``Topic``, ``Number``, ``Value``, ``95% interval`` and ``Note`` (all text,
        ready to show a reader).

    Examples
    --------
    >>> frame = save_headlines("02_churn", [Headline("at_risk", "Revenue at risk", 2.5e5,
    ...                                              unit="currency")])
    >>> headline_table(frame).loc[0, "Value"]
    'EUR 250.0k'
    """
    columns = ["Topic", "Number", "Value", "95% interval", "Note"]
    rows = [
        {
            "Topic": row.notebook,
            "Number": row.label,
            "Value": format_value(row.value, row.unit, currency=currency),
            "95% interval": _interval(row, currency),
            "Note": row.note or "",
        }
        for row in headlines.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=columns)


def _bullet(row, currency: str) -> str:
    # Labels, values and notes may carry client text (segment, category and theme names):
    # escaped, so the markdown cannot make HTML elements or links out of them.
    value = format_value(row.value, row.unit, currency=currency)
    if row.unit == "text":  # a word a module chose (N_-marked), or client text left as it is
        value = i18n.gettext(value)
    label = i18n.gettext(row.label)  # a label recorded in English, or already translated
    text = f"- **{escape_markdown(label)}**: {escape_markdown(value)}"
    interval = _interval(row, currency)
    if interval:
        text += i18n.gettext(" (95%% interval %(interval)s)") % {
            "interval": escape_markdown(interval)
        }
    if row.note:
        text += f" — {escape_markdown(i18n.gettext(row.note))}"
    return text


def executive_summary(
    headlines: pd.DataFrame,
    *,
    currency: str = "EUR",
    sections: dict[str, str] | None = None,
    at_stake: tuple[str, ...] | None = None,
    where_to_invest: bool = True,
    pages: Sequence[Page] | None = None,
) -> str:
    """Write the executive summary, as markdown, from the headlines the topic notebooks recorded.

    Nothing is recomputed: each topic's numbers are listed under a plain-language heading
    (its page's section in the manifest, :mod:`cxlib.report.pages`), then "Where to invest"
    lists the recommendations (headlines whose key starts with :data:`INVEST_PREFIX`) and where
    the money at stake sits (headlines whose key contains a word of ``at_stake``, e.g.
    ``revenue_at_risk``, ``total_headroom``); when there are neither, the largest money amounts
    recorded. Topics without numbers are named (unless the manifest marks them optional), so a
    failed notebook cannot go unnoticed.

    Parameters
    ----------
    headlines : DataFrame
        As returned by :func:`load_headlines`; may be empty.
    currency : str, default "EUR"
        Currency code for ``unit="currency"`` values.
    sections : dict, optional
        Notebook name -> section heading; overrides the manifest's.
    at_stake : tuple of str, optional
        Words that mark a headline key as money at stake; default
        :data:`DEFAULT_AT_STAKE_WORDS`.
    where_to_invest : bool, default True
        False leaves out "Where to invest" and the ``invest_`` headlines, e.g. when the summary
        shows the pages' ranked actions (:mod:`cxlib.report.actions`) instead.
    pages : sequence of Page, optional
        The run's pages (:func:`cxlib.report.pages.run_pages`); default the manifest's.

    Returns
    -------
    str
        Markdown. When ``headlines`` is empty it says so instead of failing.

    Examples
    --------
    >>> executive_summary(load_headlines(None)).startswith("**No headline numbers were found.**")
    True
    """
    if headlines.empty:
        return i18n.gettext(
            "**No headline numbers were found.** This summary is assembled from the numbers "
            "that the topic notebooks record; run the whole report "
            "(`cxlib report clients/<name>.yaml`) to fill it."
        )
    titles = {**summary_sections(pages), **(sections or {})}
    is_invest = headlines["key"].astype(str).str.startswith(INVEST_PREFIX)
    findings, invest = headlines[~is_invest], headlines[is_invest]
    order = [name for name in titles if name in set(findings["notebook"])]
    order += sorted(set(findings["notebook"]) - set(order))

    lines = [i18n.gettext("## The numbers that matter"), ""]
    for notebook in order:
        lines += [f"### {escape_markdown(titles.get(notebook, notebook))}", ""]
        lines += [
            _bullet(row, currency)
            for row in findings[findings["notebook"] == notebook].itertuples(index=False)
        ]
        lines.append("")
    expected = summary_sections(pages, optional=False)
    missing = [name for name in expected if name not in set(headlines["notebook"])]
    if sections is None and missing:
        lines += [
            i18n.gettext(
                "*No numbers were recorded by %(pages)s; check those pages in the report index.*"
            )
            % {"pages": ", ".join(f"`{m}`" for m in missing)},
            "",
        ]

    if not where_to_invest:
        return "\n".join(lines).rstrip() + "\n"
    lines += [i18n.gettext("## Where to invest"), ""]
    words = DEFAULT_AT_STAKE_WORDS if at_stake is None else tuple(at_stake)
    keys = findings["key"].astype(str).str.lower()
    stake = findings[keys.apply(lambda key: any(word in key for word in words))]
    stake = stake.assign(_order=stake["notebook"].map({n: i for i, n in enumerate(order)}))
    stake = stake.sort_values("_order", kind="stable")
    if not invest.empty:
        lines += [i18n.gettext("Recommended by the analyses:"), ""]
        lines += [_bullet(row, currency) for row in invest.itertuples(index=False)]
        lines.append("")
    if not stake.empty:
        lines += [i18n.gettext("Where the money at stake sits:"), ""]
        lines += [_bullet(row, currency) for row in stake.itertuples(index=False)]
    if invest.empty and stake.empty:
        money = findings[(findings["unit"] == "currency")].copy()
        money = money[pd.to_numeric(money["value"], errors="coerce").notna()]
        if money.empty:
            lines.append(
                i18n.gettext("No notebook recorded a recommendation or an amount of money.")
            )
        else:
            money = money.assign(_v=pd.to_numeric(money["value"]).abs()).nlargest(3, "_v")
            lines.append(
                i18n.gettext(
                    "No notebook recorded an explicit recommendation; these are the largest "
                    "amounts the analyses put a number on:"
                )
            )
            lines += [_bullet(row, currency) for row in money.itertuples(index=False)]
    return "\n".join(lines).rstrip() + "\n"
