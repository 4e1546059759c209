"""Segment cards on a page: the cards grid, the cards as a table, the segment trend table.

The numbers are computed in the analyses: each card's (the pages' per-segment numbers and the
play worth most) by :func:`cxlib.segmentation.plays.segment_cards`, each segment's trend by
:func:`cxlib.segmentation.trend.segment_trend`. This module records the pages' per-segment
tables with :func:`save_segment_facts` (next to their headline numbers) and reads them back with
:func:`load_segment_facts`, so every card shows the very numbers of the pages, and shows the
cards (:func:`cards_view`, from ``templates/cards.html.j2``) and tables. Any input may be
missing (a client without surveys or feedback, a page that did not run): its numbers are then
shown as "—".
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from cxlib.report.present import MISSING, format_cell
from cxlib.report.render import render
from cxlib.segmentation.plays import CARD_COLUMNS, DEFAULT_CAPTURE_RATE, segment_cards
from cxlib.segmentation.trend import TREND_COLUMNS, segment_trend
from cxlib.settings.i18n import day, percent
from cxlib.settings.i18n import gettext as _

__all__ = [
    "CARD_COLUMNS",
    "DEFAULT_CAPTURE_RATE",
    "FACTS_DIR",
    "TREND_COLUMNS",
    "CardsView",
    "cards_table",
    "cards_view",
    "change_text",
    "load_segment_facts",
    "save_segment_facts",
    "segment_cards",
    "segment_trend",
    "trend_table",
]

#: Subfolder of the headlines folder holding each page's per-segment tables.
FACTS_DIR = "segments"


def save_segment_facts(
    page: str, tables: dict[str, pd.DataFrame], *, path: str | Path | None = None
) -> None:
    """Record a page's per-segment tables (indexed by segment) next to its headlines.

    ``path`` is the page's headline file (the runner's ``headlines_path``); the tables go to
    ``segments/<page>.json`` beside it. Without ``path`` (a notebook run by hand) nothing is
    written.
    """
    if path is None:
        return
    target = Path(path).parent / FACTS_DIR / Path(path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {name: json.loads(_to_json(frame)) for name, frame in tables.items()}
    target.write_text(json.dumps({"page": page, "tables": payload}, indent=1), encoding="utf-8")


def _to_json(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    frame.index = frame.index.astype(str).rename(frame.index.name or "segment")
    return frame.to_json(orient="table", default_handler=str)


def load_segment_facts(directory: str | Path | None) -> dict[str, pd.DataFrame]:
    """Read every page's per-segment tables: ``{table name: frame indexed by segment}``.

    Empty when ``directory`` (the headlines folder) is None or holds no segment facts.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> risk = pd.DataFrame({"revenue_at_risk": [1.5]}, index=pd.Index(["A"], name="segment"))
    >>> save_segment_facts("02_churn", {"risk": risk}, path=folder / "02_churn.json")
    >>> load_segment_facts(folder)["risk"].loc["A", "revenue_at_risk"]
    np.float64(1.5)
    """
    found: dict[str, pd.DataFrame] = {}
    if directory is None or not (Path(directory) / FACTS_DIR).is_dir():
        return found
    for file in sorted((Path(directory) / FACTS_DIR).glob("*.json")):
        payload = json.loads(file.read_text(encoding="utf-8"))
        for name, table in payload.get("tables", {}).items():
            frame = pd.read_json(io.StringIO(json.dumps(table)), orient="table")
            frame.index = frame.index.astype(str)
            found[name] = frame
    return found


def cards_table(cards: pd.DataFrame, *, currency: str = "EUR"):
    """Return the cards as one formatted table (a row per segment; wide, so it is split)."""
    from cxlib.report.present import table

    shown = cards.drop(columns=["basis", "play_low", "play_high", "complaint_lift"]).copy()
    shown["play_value"] = [
        _interval(v, lo, hi) for v, lo, hi in zip(
            cards["play_value"], cards["play_low"], cards["play_high"], strict=True)
    ]  # fmt: skip
    units = {"customers_change": "percent", "revenue_change": "percent", "trend_note": "text",
             "churn_probability": "percent", "nps": "points", "play_value": "text",
             "nps_responses": "count"}  # fmt: skip
    money = {"currency": currency}
    labels = {
        "customers_change": _("Customers vs a year before"),
        "revenue_12m": _("Revenue, last 12 months (%(currency)s)") % money,
        "revenue_change": _("Revenue vs a year before"),
        "trend_note": _("Why no change on a year before"),
        "churn_probability": _("Churn risk"),
        "revenue_at_risk": _("Revenue at risk a year (%(currency)s)") % money,
        "headroom": _("Wallet headroom a year (%(currency)s)") % money,
        "play_value": _("Play worth a year (%(currency)s, gross margin net of campaign cost)")
        % money,
        "nps_responses": _("NPS answers"),
    }
    return table(shown, units, currency=currency, labels=labels, keys=["segment"])


def trend_table(trend: pd.DataFrame, *, currency: str = "EUR"):
    """Show :func:`segment_trend` on a page: each segment now, a year before, and the change.

    Examples
    --------
    >>> import numpy as np
    >>> trend = pd.DataFrame({"customers": [120, 5], "revenue_12m": [9_000.0, 0.0],
    ...     "customers_before": [100, 0], "revenue_12m_before": [10_000.0, 0.0],
    ...     "customers_change": [0.2, np.nan], "revenue_change": [-0.1, np.nan],
    ...     "kept_share": [0.75, np.nan],
    ...     "trend_note": [None, "none in this segment"]},
    ...     index=pd.Index(["Champions", "New Customers"], name="segment"))
    >>> trend_table(trend).cells.iloc[:, [0, 4, 7, 8]].to_numpy().tolist()
    [['Champions', '+20%', '-10%', '—'], ['New Customers', '—', '—', 'none in this segment']]
    """
    from cxlib.report.present import table

    shown = trend.reindex(columns=[
        "customers", "customers_before", "kept_share", "customers_change", "revenue_12m",
        "revenue_12m_before", "revenue_change", "trend_note"])  # fmt: skip
    for column in ("customers_change", "revenue_change"):  # signed, as the cards say it
        shown[column] = [None if pd.isna(x) else change_text(x) for x in shown[column]]
    if shown["trend_note"].isna().all():  # every change is known: no column of dashes
        shown = shown.drop(columns="trend_note")
    units = {"customers": "count", "customers_before": "count", "customers_change": "text",
             "kept_share": "percent",
             "revenue_12m": "currency", "revenue_12m_before": "currency",
             "revenue_change": "text", "trend_note": "text"}  # fmt: skip
    money = {"currency": currency}
    labels = {
        "customers": _("Customers now"),
        "customers_before": _("Customers a year before"),
        "customers_change": _("Customers, change"),
        "kept_share": _("Of those, still in it"),
        "revenue_12m": _("Revenue, last 12 months (%(currency)s)") % money,
        "revenue_12m_before": _("Revenue, 12 months a year before (%(currency)s)") % money,
        "revenue_change": _("Revenue, change"),
        "trend_note": _("Why no change"),
    }
    year_before = trend.attrs.get("year_before")
    caption = _(
        "Each segment now against the same segment a year before%(when)s: the customers then "
        "segmented with the same rules, the share of them in the same segment now, and the "
        "segment's net revenue in the 12 months up to each date."
    ) % {"when": f" ({day(year_before)})" if year_before is not None else ""}
    units, labels = ({k: v for k, v in m.items() if k in shown} for m in (units, labels))
    return table(shown, units, currency=currency, labels=labels, caption=caption)


class CardsView:
    """Segment cards as HTML: a grid of small boxes, one per segment (see :func:`cards_view`)."""

    def __init__(self, cards: pd.DataFrame, currency: str) -> None:
        self.cards, self.currency = cards, currency

    def to_html(self) -> str:
        """Return the cards' HTML (``templates/cards.html.j2``); client strings are escaped."""
        if self.cards.empty:
            return render("cards.html.j2", cards=[], missing=MISSING)
        shown, absent = self._shown_lines()
        cards = [_card_numbers(row) for row in self.cards.to_dict("records")]
        return render(
            "cards.html.j2",
            cards=cards,
            shown=shown,
            absent=absent,
            currency=self.currency,
            missing=MISSING,
        )

    def _shown_lines(self) -> tuple[set[str], list[str]]:
        """Return the optional lines some card has a number for, and why the others are not.

        A line that no segment has a number for (no surveys: no NPS; a history under two
        years: no year before) would print a dash on every card; it is left out and said once.
        """
        cards = self.cards
        shown, absent = {"trend", "risk", "nps", "complaint", "headroom"}, []
        if cards["customers_change"].isna().all():
            shown.discard("trend")
            notes = cards["trend_note"].dropna().unique()
            why = f" ({notes[0]})" if len(notes) == 1 else ""
            absent.append(_("No segment has a year before to compare with%(why)s") % {"why": why})
        named = {
            "risk": ("churn_probability", _("churn risk")),
            "nps": ("nps", _("NPS")),
            "complaint": ("top_complaint", _("top complaint")),
            "headroom": ("headroom", _("wallet headroom")),
        }
        missing = [words for key, (column, words) in named.items() if cards[column].isna().all()]
        for key, (column, _words) in named.items():
            if cards[column].isna().all():
                shown.discard(key)
        if missing:
            absent.append(
                _("No segment has a number for %(missing)s (see the topic pages)")
                % {"missing": _(", ").join(missing)}
            )
        return shown, absent

    def _repr_html_(self) -> str:
        return self.to_html()


def _card_numbers(row: dict) -> dict[str, str | None]:
    """One card's numbers as a reader sees them; None where a number is missing (a dash)."""

    def known(value, unit: str) -> str | None:
        return None if pd.isna(value) else format_cell(value, unit)

    def words(value) -> str | None:
        return value if isinstance(value, str) else None

    return {
        "segment": _(str(row["segment"])),  # an RFM segment's name in the run's language
        "customers": format_cell(row["customers"], "count"),
        "customer_share": format_cell(row["customer_share"], "percent"),
        "customers_change": None if pd.isna(row["customers_change"]) else change_text(
            row["customers_change"]),
        "trend_note": words(row["trend_note"]),
        "revenue_12m": known(row["revenue_12m"], "currency"),
        "revenue_change": None if pd.isna(row["revenue_change"]) else change_text(
            row["revenue_change"]),
        "kept_share": known(row["kept_share"], "percent"),
        "revenue": known(row["revenue"], "currency"),
        "revenue_share": format_cell(row["revenue_share"], "percent"),
        "churn_probability": format_cell(row["churn_probability"], "percent"),
        "revenue_at_risk": known(row["revenue_at_risk"], "currency"),
        "nps": format_cell(row["nps"], "points"),
        "nps_responses": format_cell(row["nps_responses"], "count"),
        "top_complaint": format_cell(row["top_complaint"], "text"),
        "headroom": known(row["headroom"], "currency"),
        "play": words(row["play"]),
        "play_value": known(row["play_value"], "currency"),
        "play_low": format_cell(row["play_low"], "currency"),
        "play_high": format_cell(row["play_high"], "currency"),
        "basis": _(row["basis"]) if isinstance(row["basis"], str) else row["basis"],
    }  # fmt: skip


def change_text(change: float) -> str:
    """Say a relative change as a reader would: "+8%", "-24%", "+0.4%", "no change".

    Examples
    --------
    >>> [change_text(x) for x in (0.0834, -0.243, 0.004, 0.0, 2.5)]
    ['+8%', '-24%', '+0.4%', 'no change', '+250%']
    """
    if change == 0:
        return _("no change")
    return percent(change, 1 if abs(change) < 0.01 else 0, sign=True)


def cards_view(cards: pd.DataFrame, *, currency: str = "EUR") -> CardsView:
    """Show the cards on a page as a grid of boxes, the play worth most first.

    Missing numbers (no survey, no feedback, a page that did not run) show as "—".

    Examples
    --------
    >>> cards = segment_cards(risk=pd.DataFrame({"mean_churn_probability": [0.5],
    ...     "revenue_at_risk": [1_000.0]}, index=["<b>A</b>"]), margin=0.3)
    >>> html = cards_view(cards).to_html()
    >>> "&lt;b&gt;A&lt;/b&gt;" in html and "<b>A</b>" not in html, ">60.00<" in html
    (True, True)
    """
    return CardsView(cards, currency)


def _interval(value: float, low: float, high: float) -> str | None:
    if pd.isna(value):
        return None
    return _("%(value)s (%(low)s to %(high)s)") % {
        "value": format_cell(value, "currency"),
        "low": format_cell(low, "currency"),
        "high": format_cell(high, "currency"),
    }
