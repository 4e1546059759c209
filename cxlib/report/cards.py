"""Segment action cards: per segment, what it is, where it is going, and the play worth most.

A card gathers, for one segment, the numbers the topic pages publish about it — its size and
revenue and NPS (segmentation page), its churn risk and revenue at risk (churn page), the
complaint it raises most (NPS page) and its wallet headroom — and adds its trend (its
customers and their 12-month revenue against the same segment a year before, the segmentation
page's :func:`segment_trend`) and a suggested play with the money it is expected to bring a
year, on the actions' one basis (:data:`cxlib.report.actions.BASIS`, annual gross margin), with an
interval.

The topic pages record their per-segment tables with :func:`save_segment_facts` (next to their
headline numbers); the summary reads them back with :func:`load_segment_facts`, so every card
shows the very numbers of the pages, and builds the cards with :func:`segment_cards`. Any input
may be missing (a client without surveys or feedback, a page that did not run): its columns are
then empty, shown as "—".

The plays and their assumptions:

* **Retain**: contact the segment's customers at risk; worth its revenue at risk x margin x an
  assumed save rate (:data:`cxlib.report.actions.DEFAULT_SAVE_RATE`, 20%, range 10% to 30%), the
  churn page's retention action applied to one segment.
* **Grow**: win a share of the segment's wallet headroom (annual spend it places elsewhere);
  worth headroom x margin x an assumed capture rate (:data:`DEFAULT_CAPTURE_RATE`, 10%, range
  5% to 15%).

Each card gets the play worth more; a segment with neither input gets none.

Examples
--------
>>> profiles = pd.DataFrame({"customers": [10, 30], "revenue": [5_000.0, 3_000.0]},
...                         index=pd.Index(["Champions", "Lost"], name="segment"))
>>> risk = pd.DataFrame({"mean_churn_probability": [0.1, 0.8],
...                      "revenue_at_risk": [400.0, 1_500.0]}, index=["Champions", "Lost"])
>>> cards = segment_cards(profiles=profiles, risk=risk, margin=0.5)
>>> cards[["segment", "play_value"]].to_numpy().tolist()
[['Lost', 150.0], ['Champions', 40.0]]
>>> cards.loc[0, "play"]
'Retain: contact its customers at risk (churn page)'

"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.report.actions import BASIS, DEFAULT_SAVE_RATE
from cxlib.segmentation.trend import covers, history_note, previous_year_start
from cxlib.settings.validation import DataError, check_transactions, validate_columns

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

#: Assumed share of a segment's wallet headroom a growth play wins, with its range.
DEFAULT_CAPTURE_RATE = (0.10, 0.05, 0.15)
#: Subfolder of the headlines folder holding each page's per-segment tables.
FACTS_DIR = "segments"
#: The cards' columns, in order.
CARD_COLUMNS = [
    "segment", "customers", "customer_share", "customers_change", "kept_share", "revenue_12m",
    "revenue_change", "trend_note", "revenue", "revenue_share", "churn_probability",
    "revenue_at_risk", "nps", "nps_responses", "top_complaint",
    "complaint_lift", "headroom", "play", "play_value", "play_low", "play_high", "basis",
]  # fmt: skip
#: Columns of :func:`segment_trend`: each segment now and a year before, and the changes.
TREND_COLUMNS = [
    "customers", "revenue_12m", "customers_before", "revenue_12m_before", "customers_change",
    "revenue_change", "kept_share", "trend_note",
]  # fmt: skip
_PLAYS = {
    "Retain": "contact its customers at risk (churn page)",
    "Grow": "win part of its wallet headroom: cross-sell (segmentation page)",
}


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


def segment_trend(
    transactions: pd.DataFrame | None,
    *,
    base: pd.DataFrame | None = None,
    threshold_days: float | None = None,
    observation_end=None,
) -> pd.DataFrame:
    """Each RFM segment now against the same segment a year before: customers and revenue.

    The trend of the segment, not of its current customers: a year before, the customers are
    segmented with the same rules (:func:`cxlib.customers.customer_base` at
    ``observation_end - 365`` days, then :func:`cxlib.segmentation.rfm_segments` with the same
    inactivity threshold), and the segment's revenue then is its customers' net revenue in the
    365 days up to that day. (Keeping today's segment for both years would restate the RFM
    rules: customers now in a recent segment bought recently by construction, so their money
    "grows", and lapsed segments "shrink".) Only the segmentation's inputs are computed for the
    year before: no CLV model, no order counts.

    Parameters
    ----------
    transactions : DataFrame or None
        Canonical transactions (``customer_id``, ``date``, ``amount``). None: an empty table.
    base : DataFrame, optional
        The run's customer base with ``segment`` and ``revenue_12m`` (``client.base``): the
        segments now, so the cards count the segmentation page's customers. Built from
        ``transactions`` when not given.
    threshold_days : float, optional
        The client's inactivity threshold in days (``client.churn_threshold_days``), used for
        both years. Default: :func:`cxlib.churn.inactivity_threshold` of the history.
    observation_end : date-like, optional
        The day "now" describes; default the base's, or else the last transaction date.

    Returns
    -------
    DataFrame
        Indexed by ``segment`` (segments now, most revenue first, then those only a year
        before), columns :data:`TREND_COLUMNS`: ``customers`` and ``revenue_12m`` (net revenue
        in the 365 days up to ``observation_end``) now, ``customers_before`` and
        ``revenue_12m_before`` a year before, ``customers_change`` and ``revenue_change``
        (relative: 0.08 is +8%), ``kept_share`` (of the segment's customers a year before, the
        share in it now: a size can hold while its people change), and ``trend_note``: why a
        change is missing, as the card says
        it: "under two years of history (data from ...)", "none in this segment" (a year
        before), "no net revenue" (a year before).
        ``attrs``: ``observation_end``, ``year_before``, ``threshold_days``.

    Examples
    --------
    A year before, ``a`` was a Champion, ``b`` Lost and ``d`` Promising; now ``a`` is
    Hibernating, ``b`` Loyal, ``d`` Lost and ``c`` a new customer:

    >>> tx = pd.DataFrame({"customer_id": list("aabbcd"),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 40.0, 8.0],
    ...     "date": pd.to_datetime(["2022-12-01", "2023-12-01", "2022-12-15", "2024-12-01",
    ...                             "2024-12-20", "2023-11-01"])})
    >>> trend = segment_trend(tx, threshold_days=200, observation_end="2024-12-31")
    >>> trend[["customers", "customers_before", "customers_change"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                   customers  customers_before  customers_change
    segment
    New Customers          1                 0               NaN
    Loyal                  1                 0               NaN
    Hibernating            1                 0               NaN
    Lost                   1                 1               0.0
    Champions              0                 1              -1.0
    Promising              0                 1              -1.0
    >>> trend.loc["Loyal", "trend_note"]
    'none in this segment'
    >>> segment_trend(tx.iloc[3:], threshold_days=200)["trend_note"].iloc[0]
    'under two years of history (data from 01 Nov 2023)'
    """
    if transactions is None or transactions.empty:
        empty = pd.DataFrame({column: pd.Series(dtype=float) for column in TREND_COLUMNS})
        return empty.astype({"trend_note": object}).rename_axis("segment")
    from cxlib import churn

    # Only what the segmentation reads: without order_id the base skips its order counts.
    tx = check_transactions(transactions, caller="segment_trend")[["customer_id", "date", "amount"]]
    if observation_end is None and base is not None:
        observation_end = base.attrs.get("observation_end")
    end = pd.Timestamp(tx["date"].max() if observation_end is None else observation_end)
    year_before = end - pd.Timedelta(days=365)
    if threshold_days is None:  # the client's one threshold, as Client.churn_threshold_days
        threshold_days = churn.inactivity_threshold(tx.loc[tx["date"] <= end]).days
    if base is None:
        base = _segmented_base(tx, end, threshold_days, freq="W")
    validate_columns(base, ["segment", "revenue_12m"], caller="segment_trend base")
    now = _segment_totals(base).sort_values("revenue_12m", ascending=False, kind="stable")
    first = tx.loc[tx["date"] <= end, "date"].min()
    # The year before needs a full 12 months of its own: the 365 days up to year_before.
    if not covers(first, previous_year_start(end)):
        before = pd.DataFrame({"customers": pd.Series(dtype=float), "revenue_12m": np.nan})
        before["kept"], short = np.nan, history_note(first)
    else:
        earlier = _segmented_base(tx, year_before, threshold_days, base.attrs.get("freq", "W"))
        then = earlier["segment"].astype(str)
        # a segment's customers then who are in it now (a size can hold while its people change)
        stayed = base["segment"].reindex(then.index).astype(str).eq(then)
        before = _segment_totals(earlier).assign(kept=stayed.groupby(then).sum().astype(float))
        short = None
    names = list(now.index) + [name for name in before.index if name not in now.index]
    out = now.reindex(names).fillna(0.0).join(before.add_suffix("_before"))
    out["customers"] = out["customers"].astype(int)
    if short is None:  # a segment absent a year before had no customers then
        out[["customers_before", "revenue_12m_before"]] = out[
            ["customers_before", "revenue_12m_before"]].fillna(0.0)  # fmt: skip
        out["customers_before"] = out["customers_before"].astype(int)
    had_customers, had_revenue = out["customers_before"] > 0, out["revenue_12m_before"] > 0
    out["customers_change"] = out["customers"] / out["customers_before"].where(had_customers) - 1
    kept = out["kept_before"].fillna(0.0)
    out["kept_share"] = kept / out["customers_before"].where(had_customers)
    out["revenue_change"] = out["revenue_12m"] / out["revenue_12m_before"].where(had_revenue) - 1
    notes = np.select(
        [np.full(len(out), short is not None), ~had_customers, ~had_revenue],
        [short, "none in this segment", "no net revenue"],
        "",
    )
    out["trend_note"] = pd.Series(notes, index=out.index, dtype=object).replace("", None)
    out = out[TREND_COLUMNS].rename_axis("segment")
    out.attrs.update(observation_end=end, year_before=year_before, threshold_days=threshold_days)
    return out


def _segmented_base(tx: pd.DataFrame, end, threshold_days, freq: str) -> pd.DataFrame:
    """Build the customer base as of ``end`` with its RFM segment, as the client does."""
    from cxlib import customers, segmentation

    with warnings.catch_warnings():
        # customers without a purchase are counted in the quality table; coarse scores on a
        # small base are reported by the segmentation page itself
        warnings.simplefilter("ignore", UserWarning)
        base = customers.customer_base(tx, observation_end=end, freq=freq)
        base["segment"] = segmentation.rfm_segments(base, threshold_days=threshold_days)["segment"]
    return base


def _segment_totals(base: pd.DataFrame) -> pd.DataFrame:
    """Count each segment's customers and sum their net revenue of the last 365 days."""
    groups = base.groupby(base["segment"].astype(str), sort=True)["revenue_12m"]
    return pd.DataFrame({"customers": groups.size().astype(float), "revenue_12m": groups.sum()})


def segment_cards(
    *,
    profiles: pd.DataFrame | None = None,
    risk: pd.DataFrame | None = None,
    complaints: pd.DataFrame | None = None,
    wallet: pd.DataFrame | None = None,
    trend: pd.DataFrame | None = None,
    margin: float,
    save_rate: tuple[float, float, float] = DEFAULT_SAVE_RATE,
    capture_rate: tuple[float, float, float] = DEFAULT_CAPTURE_RATE,
) -> pd.DataFrame:
    """One card per segment, the play worth most first.

    Parameters
    ----------
    profiles : DataFrame, optional
        :func:`cxlib.segmentation.segment_profiles` (``customers``, ``customer_share``,
        ``revenue``, ``revenue_share``, ``nps``, ``nps_responses``), indexed by segment.
    risk : DataFrame, optional
        :func:`cxlib.churn.revenue_at_risk_by_segment` (``mean_churn_probability``,
        ``revenue_at_risk``: yearly revenue x churn probability).
    complaints : DataFrame, optional
        :func:`cxlib.feedback.themes_by` over the complaint themes (``group``, ``name``,
        ``lift``); a segment's top complaint is the theme it raises most above average.
    wallet : DataFrame, optional
        :func:`cxlib.segmentation.wallet.wallet_by_segment` (``headroom``: annual spend placed
        elsewhere).
    trend : DataFrame, optional
        :func:`segment_trend`: the segment now against the same segment a year before
        (``customers_change``, ``kept_share``, ``revenue_12m``, ``revenue_change``,
        ``trend_note``).
    margin : float
        The client's gross margin (``analysis.margin``), for the plays' money.
    save_rate, capture_rate : (float, float, float)
        Assumed rates of the Retain and Grow plays and their low and high ends.

    Returns
    -------
    DataFrame
        :data:`CARD_COLUMNS`; NaN or None where an input is missing.
    """
    if not 0 < margin <= 1:
        raise DataError(f"segment_cards: margin must be in (0, 1], got {margin!r}")
    for name, rates in (("save_rate", save_rate), ("capture_rate", capture_rate)):
        if not 0 <= rates[1] <= rates[0] <= rates[2] <= 1:
            raise DataError(f"segment_cards: {name} must be (rate, low, high), got {rates!r}")
    inputs = [t for t in (profiles, risk, wallet) if t is not None]
    names = [str(s) for t in inputs for s in t.index]
    top = _top_complaints(complaints)
    names += [s for s in top.index if s not in names]
    cards = pd.DataFrame(index=pd.Index(list(dict.fromkeys(names)), name="segment"))
    cards = cards.join(_columns(profiles, ["customers", "customer_share", "revenue",
                                           "revenue_share", "nps", "nps_responses"]))  # fmt: skip
    cards = cards.join(_columns(risk, ["mean_churn_probability", "revenue_at_risk"]))
    cards = cards.rename(columns={"mean_churn_probability": "churn_probability"})
    cards = cards.join(_columns(wallet, ["headroom"])).join(top)
    if trend is not None:  # the segments' own trend; their size comes from the profiles
        wanted = ["customers_change", "kept_share", "revenue_12m", "revenue_change"]
        cards = cards.join(_columns(trend, wanted))
        notes = trend.reindex(columns=["trend_note"]).set_axis(trend.index.astype(str))
        cards = cards.join(notes.astype(object).where(notes.notna(), None))
    cards = cards.reindex(columns=[c for c in CARD_COLUMNS if c != "segment"])
    retain = cards["revenue_at_risk"].clip(lower=0) * margin
    grow = cards["headroom"].clip(lower=0) * margin
    options = pd.DataFrame({"Retain": retain * save_rate[0], "Grow": grow * capture_rate[0]})
    best = options.fillna(-np.inf).idxmax(axis=1).where(options.notna().any(axis=1))
    cards["play"] = best.map(lambda p: f"{p}: {_PLAYS[p]}" if isinstance(p, str) else None)
    base = np.where(best == "Retain", retain, grow)
    low = np.where(best == "Retain", save_rate[1], capture_rate[1])
    rate = np.where(best == "Retain", save_rate[0], capture_rate[0])
    high = np.where(best == "Retain", save_rate[2], capture_rate[2])
    known = best.notna().to_numpy()
    cards["play_value"] = np.where(known, base * rate, np.nan)
    cards["play_low"] = np.where(known, base * low, np.nan)
    cards["play_high"] = np.where(known, base * high, np.nan)
    cards["basis"] = np.where(known, BASIS, None)
    cards = cards.reset_index()
    order = cards["play_value"].fillna(-np.inf).argsort(kind="stable")[::-1]
    return cards.iloc[order].reset_index(drop=True)[CARD_COLUMNS]


def _columns(table: pd.DataFrame | None, wanted: list[str]) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame(columns=wanted)
    frame = table.reindex(columns=wanted)
    frame.index = frame.index.astype(str)
    return frame.astype(float)


def _top_complaints(complaints: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["top_complaint", "complaint_lift"]
    if complaints is None or complaints.empty:
        return pd.DataFrame(columns=columns)
    rows = complaints.dropna(subset=["lift"]).sort_values(["lift", "name"], ascending=[False, True])
    first = rows.drop_duplicates("group").set_index("group")
    first.index = first.index.astype(str)
    return first[["name", "lift"]].set_axis(columns, axis=1).astype({"complaint_lift": float})


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
    labels = {
        "customers_change": "Customers vs a year before",
        "revenue_12m": f"Revenue, last 12 months ({currency})",
        "revenue_change": "Revenue vs a year before",
        "trend_note": "Why no change on a year before",
        "churn_probability": "Churn risk",
        "revenue_at_risk": f"Revenue at risk a year ({currency})",
        "headroom": f"Wallet headroom a year ({currency})",
        "play_value": f"Play worth a year ({currency}, gross margin)",
        "nps_responses": "NPS answers",
    }
    return table(shown, units, currency=currency, labels=labels, keys=["segment"])


def trend_table(trend: pd.DataFrame, *, currency: str = "EUR"):
    """Show :func:`segment_trend` on a page: each segment now, a year before, and the change.

    Examples
    --------
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
    labels = {
        "customers": "Customers now",
        "customers_before": "Customers a year before",
        "customers_change": "Customers, change",
        "kept_share": "Of those, still in it",
        "revenue_12m": f"Revenue, last 12 months ({currency})",
        "revenue_12m_before": f"Revenue, 12 months a year before ({currency})",
        "revenue_change": "Revenue, change",
        "trend_note": "Why no change",
    }
    year_before = trend.attrs.get("year_before")
    caption = (
        "Each segment now against the same segment a year before"
        + (f" ({pd.Timestamp(year_before):%d %b %Y})" if year_before is not None else "")
        + ": the customers then segmented with the same rules, the share of them in the same "
        "segment now, and the segment's net revenue in the 12 months up to each date."
    )
    units, labels = ({k: v for k, v in m.items() if k in shown} for m in (units, labels))
    return table(shown, units, currency=currency, labels=labels, caption=caption)


class CardsView:
    """Segment cards as HTML: a grid of small boxes, one per segment (see :func:`cards_view`)."""

    def __init__(self, cards: pd.DataFrame, currency: str) -> None:
        self.cards, self.currency = cards, currency

    def to_html(self) -> str:
        """Return the cards' HTML; every client string (segment, complaint) is escaped."""
        from cxlib.settings.escape import escape_html as esc

        if self.cards.empty:
            return "<p><em>No segment recorded its numbers: see the topic pages.</em></p>"
        shown, absent = self._shown_lines()
        boxes = "".join(self._card(row, shown) for row in self.cards.to_dict("records"))
        said = ""
        if absent:  # said once, not as a dash on every card
            said = f'<p class="cx-absent">{esc("; ".join(absent))}.</p>'
        return f'<style>{_CARD_CSS}</style>{said}<div class="cx-cards">{boxes}</div>'

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
            absent.append(f"No segment has a year before to compare with{why}")
        named = {
            "risk": ("churn_probability", "churn risk"),
            "nps": ("nps", "NPS"),
            "complaint": ("top_complaint", "top complaint"),
            "headroom": ("headroom", "wallet headroom"),
        }
        missing = [words for key, (column, words) in named.items() if cards[column].isna().all()]
        for key, (column, _) in named.items():
            if cards[column].isna().all():
                shown.discard(key)
        if missing:
            absent.append(
                "No segment has a number for " + ", ".join(missing) + " (see the topic pages)"
            )
        return shown, absent

    def _repr_html_(self) -> str:
        return self.to_html()

    def _card(self, row: dict, shown: set[str]) -> str:
        from cxlib.report.present import MISSING, format_cell
        from cxlib.settings.escape import escape_html as esc

        def v(value, unit):  # each number in its own element, as on the topic pages' tables
            return f'<span class="cx-v">{esc(format_cell(value, unit))}</span>'

        def money(value, per_year=""):  # "EUR 1,234 a year", or a bare dash when missing
            if pd.isna(value):
                return MISSING
            # a no-break space: "EUR" does not end one line and its amount start the next
            return f"{esc(self.currency)}&nbsp;{v(value, 'currency')}{per_year}"

        def versus(change):  # ", +8% on a year before", or "—" and why there is no change
            if "trend" not in shown:  # no segment has a year before: said once above the cards
                return ""
            if not pd.isna(change):
                return f', <span class="cx-v">{esc(change_text(change))}</span> on a year before'
            why = f" ({esc(row['trend_note'])})" if isinstance(row["trend_note"], str) else ""
            return f"; a year before: {MISSING}{why}"

        lines = [
            f"Customers: {v(row['customers'], 'count')} ({v(row['customer_share'], 'percent')} "
            f"of all){versus(row['customers_change'])}",
            f"Their revenue, last 12 months: {money(row['revenue_12m'])}"
            f"{versus(row['revenue_change'])}",
        ]
        if not pd.isna(row["kept_share"]):  # only with a year before to compare
            lines.append(f"Of its customers a year before, {v(row['kept_share'], 'percent')} are "
                         "still in it")  # fmt: skip
        optional = {
            "risk": f"Churn risk {v(row['churn_probability'], 'percent')}; revenue at risk "
            f"{money(row['revenue_at_risk'], ' a year')}",
            "nps": f"NPS {v(row['nps'], 'points')} ({v(row['nps_responses'], 'count')} answers)",
            "complaint": f"Top complaint: {esc(format_cell(row['top_complaint'], 'text'))}",
            "headroom": f"Wallet headroom {money(row['headroom'], ' a year')}",
        }
        lines.append(
            f"Revenue, all history: {money(row['revenue'])} "
            f"({v(row['revenue_share'], 'percent')} of all)"
        )
        lines += [line for key, line in optional.items() if key in shown]
        if isinstance(row["play"], str):
            play = (
                f"<strong>{esc(row['play'])}</strong>: {money(row['play_value'], ' a year')} "
                f"({v(row['play_low'], 'currency')} to {v(row['play_high'], 'currency')}), "
                f"{esc(row['basis'])}"
            )
        else:
            play = f"No play: {MISSING}"
        items = "".join(f"<li>{line}</li>" for line in lines)
        return (
            f'<div class="cx-card"><h4>{esc(row["segment"])}</h4><ul>{items}</ul>'
            f'<p class="cx-play">{play}</p></div>'
        )


_CARD_CSS = (
    ".cx-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));"
    "gap:12px;max-width:100%;}"
    ".cx-card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;background:#fafbfc;"
    "font-size:13px;line-height:1.45;}"
    ".cx-card h4{margin:2px 0 6px;font-size:15px;}"
    ".cx-card ul{margin:0;padding-left:16px;}"
    ".cx-v{font-variant-numeric:tabular-nums;white-space:nowrap;}"
    ".cx-play{margin:6px 0 2px;padding-top:6px;border-top:1px solid #d0d7de;}"
    ".cx-absent{font-size:13px;color:#57606a;margin:0 0 8px;}"
)


def change_text(change: float) -> str:
    """Say a relative change as a reader would: "+8%", "-24%", "+0.4%", "no change".

    Examples
    --------
    >>> [change_text(x) for x in (0.0834, -0.243, 0.004, 0.0, 2.5)]
    ['+8%', '-24%', '+0.4%', 'no change', '+250%']
    """
    if change == 0:
        return "no change"
    return f"{100 * change:+.1f}%" if abs(change) < 0.01 else f"{100 * change:+.0f}%"


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
    from cxlib.report.present import format_cell

    if pd.isna(value):
        return None
    return (
        f"{format_cell(value, 'currency')} ({format_cell(low, 'currency')} to "
        f"{format_cell(high, 'currency')})"
    )
