"""Segment plays: per segment, the numbers the pages publish and the play worth most.

A card gathers, for one segment, the numbers the topic pages publish about it — its size and
revenue and NPS (segmentation page), its churn risk and revenue at risk (churn page), the
complaint it raises most (NPS page) and its wallet headroom — with its trend
(:func:`cxlib.segmentation.trend.segment_trend`), and adds a suggested play with the money it is
expected to bring a year, on the actions' one basis (:data:`BASIS`, annual gross margin net of
campaign cost), with an interval. :mod:`cxlib.report.cards` shows them.

The plays and their assumptions:

* **Retain**: contact the segment's customers at risk; worth its revenue at risk x margin x an
  assumed save rate (:data:`DEFAULT_SAVE_RATE`, 20%, range 10% to 30%), the churn page's
  retention action applied to one segment.
* **Grow**: win a share of the segment's wallet headroom (annual spend it places elsewhere);
  worth headroom x margin x an assumed capture rate (:data:`DEFAULT_CAPTURE_RATE`, 10%, range
  5% to 15%).

Both plays contact the segment's customers: each contact costs ``contact_cost`` (the client's
``analysis.retention_contact_cost``), and each customer a Retain play keeps costs ``incentive``
(``analysis.retention_incentive``; kept customers = customers x churn probability x save rate).
A play's value, low and high are net of those costs (zero when no cost is given). Each card gets
the play worth more; a segment with neither input, or whose plays both cost more than they bring,
gets none.

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

import numpy as np
import pandas as pd

from cxlib.settings.i18n import N_, gettext
from cxlib.settings.validation import DataError

__all__ = [
    "BASIS",
    "CARD_COLUMNS",
    "DEFAULT_CAPTURE_RATE",
    "DEFAULT_SAVE_RATE",
    "segment_cards",
]

#: The one money basis every action and play is valued on.
BASIS = N_("annual gross margin net of campaign cost")
#: Assumed share of contacted at-risk customers a retention campaign keeps, and its range: an
#: assumption, stated on the page, to be replaced by a measured rate once a test has run.
DEFAULT_SAVE_RATE = (0.20, 0.10, 0.30)
#: Assumed share of a segment's wallet headroom a growth play wins, with its range.
DEFAULT_CAPTURE_RATE = (0.10, 0.05, 0.15)
#: The cards' columns, in order.
CARD_COLUMNS = [
    "segment", "customers", "customer_share", "customers_change", "kept_share", "revenue_12m",
    "revenue_change", "trend_note", "revenue", "revenue_share", "churn_probability",
    "revenue_at_risk", "nps", "nps_responses", "top_complaint",
    "complaint_lift", "headroom", "play", "play_value", "play_low", "play_high", "basis",
]  # fmt: skip
_PLAYS = {
    "Retain": N_("contact its customers at risk (churn page)"),
    "Grow": N_("win part of its wallet headroom: cross-sell (segmentation page)"),
}
#: The plays' names as a reader sees them (the keys stay English: they are the code's names).
_PLAY_NAMES = {"Retain": N_("Retain"), "Grow": N_("Grow")}


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
    contact_cost: float = 0.0,
    incentive: float = 0.0,
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
        :func:`cxlib.segmentation.trend.segment_trend`: the segment now against the same
        segment a year before (``customers_change``, ``kept_share``, ``revenue_12m``,
        ``revenue_change``, ``trend_note``).
    margin : float
        The client's gross margin (``analysis.margin``), for the plays' money.
    save_rate, capture_rate : (float, float, float)
        Assumed rates of the Retain and Grow plays and their low and high ends.
    contact_cost : float, default 0
        Cost of contacting one customer of the segment (both plays contact all of them).
    incentive : float, default 0
        Cost of the incentive per customer a Retain play keeps.

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
    if contact_cost < 0 or incentive < 0:
        raise DataError(
            f"segment_cards: contact_cost and incentive must be >= 0, got {contact_cost!r}, "
            f"{incentive!r}"
        )
    plays = _play_values(cards, margin, save_rate, capture_rate, contact_cost, incentive)
    options = pd.DataFrame({name: money[0] for name, money in plays.items()})
    paying = options.notna().any(axis=1) & (options.max(axis=1) >= 0)  # costs more: no play
    best = options.fillna(-np.inf).idxmax(axis=1).where(paying)
    cards["play"] = best.map(
        lambda p: f"{gettext(_PLAY_NAMES[p])}: {gettext(_PLAYS[p])}" if isinstance(p, str) else None
    )
    known = best.notna().to_numpy()
    for position, column in enumerate(["play_value", "play_low", "play_high"]):
        chosen = np.where(best == "Retain", plays["Retain"][position], plays["Grow"][position])
        cards[column] = np.where(known, chosen, np.nan)
    cards["basis"] = np.where(known, BASIS, None)
    cards = cards.reset_index()
    order = cards["play_value"].fillna(-np.inf).argsort(kind="stable")[::-1]
    return cards.iloc[order].reset_index(drop=True)[CARD_COLUMNS]


def _play_values(cards, margin, save_rate, capture_rate, contact_cost, incentive) -> dict:
    """Each play's (value, low, high) per segment, net of the contact and incentive costs.

    A segment's customers come from the profiles; without them a play has a cost only when no
    cost is given (zero), otherwise its value is unknown (NaN), never a gross figure.
    """
    customers = cards["customers"].astype(float)
    if contact_cost == 0 and incentive == 0:
        customers = customers.fillna(0.0)
    contacts = customers * contact_cost
    kept = customers * cards["churn_probability"].astype(float).fillna(0.0)
    retain = cards["revenue_at_risk"].clip(lower=0) * margin
    grow = cards["headroom"].clip(lower=0) * margin
    out = {}
    for name, gross, rates in (("Retain", retain, save_rate), ("Grow", grow, capture_rate)):
        ends = [gross * r - contacts - (kept * r * incentive if name == "Retain" else 0.0)
                for r in rates]  # fmt: skip
        frame = pd.concat(ends, axis=1)
        out[name] = (ends[0], frame.min(axis=1, skipna=False), frame.max(axis=1, skipna=False))
    return out


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
