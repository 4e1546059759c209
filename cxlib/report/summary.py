"""Words of the executive summary: the situation, the ranked actions, and a glossary.

Pure text from tables computed elsewhere (:mod:`cxlib.segmentation.trend`,
:mod:`cxlib.report.actions`,
:func:`cxlib.nps.nps_by`); every client string is escaped with
:func:`cxlib.settings.escape.escape_markdown`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cxlib.report.actions import BASIS, COLUMNS
from cxlib.report.headlines import format_value, page_title
from cxlib.report.pages import Page
from cxlib.segmentation.trend import covers, previous_year_start
from cxlib.settings import units
from cxlib.settings.escape import escape_markdown

__all__ = [
    "GLOSSARY",
    "actions_markdown",
    "actions_table",
    "actions_view",
    "glossary_markdown",
    "situation",
]


def _money(value: float, currency: str) -> str:
    return escape_markdown(format_value(float(value), "currency", currency=currency))


def situation(
    bridge: pd.DataFrame,
    periods: pd.DataFrame | None = None,
    nps: pd.DataFrame | None = None,
    *,
    currency: str = "EUR",
) -> str:
    """Describe the trend in a few sentences of markdown: revenue bridge, customers, NPS.

    A comparison between periods is stated only when the data cover both
    (:func:`cxlib.segmentation.trend.covers`); otherwise the sentence says what is missing. New
    customers
    are told from returning ones only when the data reach 12 months before the period.

    Parameters
    ----------
    bridge : DataFrame
        :func:`cxlib.segmentation.trend.revenue_bridge` (empty, with ``attrs["note"]``, when the
        data do not
        cover the 12 months before the last 12).
    periods : DataFrame, optional
        :func:`cxlib.segmentation.trend.active_customers_over_time`.
    nps : DataFrame, optional
        :func:`cxlib.nps.nps_by` with ``freq`` (``period``, ``score``, ``ci_low``,
        ``ci_high``, ``n``); quarters with fewer than 30 answers are not quoted.

    Examples
    --------
    >>> bridge = pd.DataFrame({"revenue": [100.0, 30.0, 0.0, -20.0, 15.0, -5.0, 120.0],
    ...     "customers": [10, 3, 0, 2, 4, 4, 11]}, index=["previous 12 months", "new customers",
    ...     "reactivated customers", "lost customers", "expansion", "contraction",
    ...     "last 12 months"])
    >>> print(situation(bridge)[:76])
    **Revenue.** Net revenue over the last 12 months was EUR 120.00, up 20.0% on
    """
    lines = [_revenue_trend(bridge, currency)]
    if periods is not None and len(periods):
        lines += _customer_trend(periods)
    return "\n\n".join(lines + _nps_trend(nps))


def _revenue_trend(bridge: pd.DataFrame, currency: str) -> str:
    """Write the revenue sentence of :func:`situation`: the bridge, or what it lacks."""
    attrs = bridge.attrs
    if bridge.empty:
        if "last_12m" not in attrs:  # no transactions table
            return str(attrs.get("note", "There is no revenue trend to show."))
        first, end = pd.Timestamp(attrs["first"]), pd.Timestamp(attrs["observation_end"])
        total = _money(attrs["last_12m"], currency)
        if covers(first, end.normalize() - pd.Timedelta(days=364)):
            said = f"Net revenue over the last 12 months was {total}"
        else:
            said = (
                f"Net revenue over the whole history ({first:%d %b %Y} to {end:%d %b %Y}, under "
                f"a year) was {total}"
            )
        return (
            f"**Revenue.** {said}, from {int(attrs['customers_12m']):,} customers. The data "
            f"start on {first:%d %b %Y}, after the 12 months before the last 12 begin "
            f"({previous_year_start(end):%d %b %Y}): there is no comparison with them, and no "
            "count of new, returning and lost customers."
        )
    r, n = bridge["revenue"], bridge["customers"]
    previous, last = r["previous 12 months"], r["last 12 months"]
    retained = r["expansion"] + r["contraction"]
    if previous > 0:
        change = last / previous - 1
        versus = (
            f"{'up' if change >= 0 else 'down'} {abs(change):.1%} on the 12 months before "
            f"({_money(previous, currency)})"
        )
    else:  # no revenue (or a net refund) the year before: no percentage to give
        versus = f"against {_money(previous, currency)} in the 12 months before"
    if attrs.get("history_before", True):
        arrivals = (
            f"{n['new customers']:,} new customers brought {_money(r['new customers'], currency)} "
            f"and {n['reactivated customers']:,} returning ones "
            f"{_money(r['reactivated customers'], currency)}"
        )
    else:  # the data start with the previous 12 months: nothing tells new from returning
        came = n["new customers"] + n["reactivated customers"]
        money = r["new customers"] + r["reactivated customers"]
        arrivals = (
            f"{came:,} customers who had not bought in the 12 months before brought "
            f"{_money(money, currency)} (the data start on {pd.Timestamp(attrs['first']):%d %b %Y}"
            ", so new customers cannot be told from returning ones)"
        )
    return (
        f"**Revenue.** Net revenue over the last 12 months was {_money(last, currency)}, "
        f"{versus}. {arrivals}; {n['lost customers']:,} customers who "
        f"stopped buying took {_money(-r['lost customers'], currency)} with them; customers who "
        f"bought in both years spent {_money(abs(retained), currency)} "
        f"{'more' if retained >= 0 else 'less'} (expansion {_money(r['expansion'], currency)}, "
        f"contraction {_money(-r['contraction'], currency)})."
    )


def _customer_trend(periods: pd.DataFrame) -> list[str]:
    """Write the customers sentence of :func:`situation`: a quarter against a year earlier.

    Each comparison is stated only when the data cover it
    (:func:`cxlib.segmentation.trend.covers`): the
    quarter a year earlier, and the 12 months before a quarter for its count of new customers
    (without them a returning customer looks new); otherwise the sentence says what is missing.
    """
    now = periods.iloc[-1]
    start = pd.Timestamp(now["period"])
    first = periods.attrs.get("first")
    since = f"the data start on {pd.Timestamp(first):%d %b %Y}" if first is not None else ""

    def covered(day: pd.Timestamp) -> bool:
        return first is None or covers(first, day)

    year_ago = start - pd.DateOffset(years=1)
    ago = periods.loc[periods["period"] == year_ago]
    ago_customers = int(ago["active_customers"].sum())  # no row: nobody bought then
    text = (
        f"**Customers.** {int(now['active_customers']):,} customers bought in the last complete "
        f"quarter (starting {start:%d %b %Y})"
    )
    if not covered(year_ago):
        return [
            f"{text}. The data start on {pd.Timestamp(first):%d %b %Y}: too late to compare "
            "with the same quarter a year earlier, or to tell new customers from returning ones."
        ]
    text += f", against {ago_customers:,} a year earlier"
    if not covered(start - pd.Timedelta(days=365)):
        return [f"{text}; {since}, too late to tell new customers from returning ones."]
    text += f"; {int(now['new_customers']):,} of them were new"
    if covered(year_ago - pd.Timedelta(days=365)):
        text += f" (a year earlier: {int(ago['new_customers'].sum()):,})"
    elif covered(year_ago):
        text += f" (new customers a year earlier are not counted: {since})"
    return [text + "."]


def _nps_trend(nps: pd.DataFrame | None) -> list[str]:
    """Return the NPS sentence of :func:`situation` (none without two periods of 30+ answers)."""
    if nps is None or not len(nps):
        return []
    quoted = nps[nps["n"] >= 30]
    if len(quoted) < 2:
        return []
    freq = nps.attrs.get("freq", "Q")  # a survey dated by year keeps its years
    first, latest = quoted.iloc[0], quoted.iloc[-1]
    return [
        f"**NPS.** The Net Promoter Score moved from {first['score']:+.0f} in "
        f"{_period_label(first['period'], freq)} to {latest['score']:+.0f} in "
        f"{_period_label(latest['period'], freq)} (95% interval {latest['ci_low']:+.0f} to "
        f"{latest['ci_high']:+.0f}, {int(latest['n']):,} answers); "
        f"{units.period_name(freq, 2) if freq in units.PERIODS else 'periods'} with fewer "
        "than 30 answers are not quoted."
    ]


def _period_label(start, freq: str) -> str:
    period = pd.Period(start, freq=freq if freq in units.PERIODS else "Q")
    if period.freqstr.startswith("Q"):
        return f"Q{period.quarter} {period.year}"
    if period.freqstr.startswith("Y"):
        return str(period.year)
    if period.freqstr.startswith("M"):
        return f"{period.start_time:%b %Y}"
    return f"{period.start_time:%d %b %Y}"


def actions_table(actions: pd.DataFrame, *, currency: str = "EUR") -> pd.DataFrame:
    """Format ranked actions for reading: text columns with money, interval and page.

    Examples
    --------
    >>> from cxlib.report.actions import Action, rank_actions
    >>> table = actions_table(rank_actions([Action("Fix X", "all", 10, 5e4, 2e4, 8e4,
    ...                                            kpi="churn", page="03_nps")]))
    >>> table.loc[0, "Value a year"], table.loc[0, "Interval"]
    ('EUR 50.0k', 'EUR 20.0k – EUR 80.0k')
    """
    frame = actions.reindex(columns=COLUMNS)

    def money(value):
        return format_value(float(value), "currency", currency=currency)

    return pd.DataFrame({
        "Rank": range(1, len(frame) + 1),
        "Action": frame["action"].astype(str),
        "Customers targeted": [f"{s} ({int(c):,})" for s, c in zip(frame["segment"],
                                                                     frame["customers"],
                                                                     strict=True)],
        "Value a year": frame["value"].map(money),
        "Interval": [f"{money(lo)} – {money(hi)}" for lo, hi in zip(frame["value_low"],
                                                                   frame["value_high"],
                                                                   strict=True)],
        "KPI to watch": frame["kpi"].astype(str),
        "Page": frame["page"].astype(str).map(page_title),
    })  # fmt: skip


def actions_view(actions: pd.DataFrame, *, currency: str = "EUR"):
    """Show ranked actions on a page: :func:`actions_table`, escaped, without the index.

    Examples
    --------
    >>> from cxlib.report.actions import Action, rank_actions
    >>> view = actions_view(rank_actions([Action("<b>x</b>", "all", 1, 1.0, 0.0, 2.0)]))
    >>> "&lt;b&gt;x&lt;/b&gt;" in view.to_html()
    True
    """
    from cxlib.report.present import table

    shown = actions_table(actions, currency=currency)
    return table(shown, {c: "text" for c in shown.columns if c != "Rank"}, keys=["Rank", "Action"])


def actions_markdown(
    actions: pd.DataFrame,
    *,
    currency: str = "EUR",
    margin: float | None = None,
    limit: int = 5,
    cards: pd.DataFrame | None = None,
    pages: Sequence[Page] | None = None,
) -> str:
    """Write the ranked actions (top ``limit``) as a numbered markdown list with links.

    Each item: the action, its value and interval on the one basis, the customers targeted,
    the KPI to watch, and a link to the page that backs it (``<page>.html``, beside the
    summary's reviewer HTML). Without actions, it says so, and points to the segment cards'
    plays when ``cards`` (:func:`cxlib.report.cards.segment_cards`) has some, so the summary never
    says there is no money play while its cards show one. Pages are named by their summary
    section in ``pages`` (the run's, :func:`cxlib.report.pages.run_pages`; default the
    manifest's).

    Examples
    --------
    >>> from cxlib.report.actions import Action, rank_actions
    >>> text = actions_markdown(rank_actions([Action("Fix X", "all", 10, 5e4, 2e4, 8e4,
    ...                                              kpi="churn", page="03_nps")]), margin=0.3)
    >>> "1. **Fix X**: EUR 50.0k a year" in text
    True
    """
    if actions.empty:
        plays = _card_plays(cards)
        if plays.empty:
            return (
                "*No page recorded an action with money attached; see the topic pages for the "
                "findings.*"
            )
        top = plays.iloc[0]
        return (
            "*No topic page recorded a ranked action with money attached; the segment cards "
            f"below suggest a play for {len(plays)} segment{'s' if len(plays) > 1 else ''} "
            f"(the largest: {escape_markdown(str(top['play']).split(':')[0])} for "
            f"{escape_markdown(top['segment'])}, {_money(top['play_value'], currency)} a year).*"
        )
    basis = actions["basis"].iloc[0] or BASIS
    stated = f" ({margin:.0%} of revenue, the client's margin)" if margin else ""
    lines = [
        f"Ranked by **{escape_markdown(basis)}** a year{stated}, undiscounted; "
        "the interval is the range the page that backs the action gives.",
        "",
    ]
    for i, row in enumerate(actions.head(limit).itertuples(index=False), start=1):
        low, high = _money(row.value_low, currency), _money(row.value_high, currency)
        page, title = escape_markdown(row.page), escape_markdown(page_title(row.page, pages))
        lines.append(
            f"{i}. **{escape_markdown(row.action)}**: {_money(row.value, currency)} a year "
            f"({low} to {high}). Targets {escape_markdown(row.segment)} "
            f"({int(row.customers):,} customers). KPI to watch: {escape_markdown(row.kpi)}. "
            f"Evidence: [{title}]({page}.html)."
        )
    if len(actions) > limit:
        lines.append(f"\n*{len(actions) - limit} smaller actions are in actions.json.*")
    return "\n".join(lines)


def _card_plays(cards: pd.DataFrame | None) -> pd.DataFrame:
    """Return the cards with a play worth money, the largest first."""
    if cards is None or cards.empty or "play_value" not in cards:
        return pd.DataFrame(columns=["segment", "play", "play_value"])
    plays = cards[cards["play"].notna() & cards["play_value"].notna()]
    return plays.sort_values("play_value", ascending=False, kind="stable")


#: Methods used in the report, in plain words.
GLOSSARY: dict[str, str] = {
    "95% interval": "the range the true value lies in with 95% confidence; a wide one means "
    "the data cannot pin the number down.",
    "Kaplan-Meier curve": "the share of customers still buying after each length of time, "
    "counting customers who joined recently for as long as we have seen "
    "them.",
    "Log-rank test": "checks whether two or more Kaplan-Meier curves differ by more than chance "
    "would explain.",
    "Cox model (hazard ratio)": "which customer traits make leaving sooner more or less likely; "
    "a hazard ratio of 1.5 means leaving 50% faster, all else equal.",
    "Concordance / ROC AUC": "how often a model ranks a customer who left above one who stayed "
    "(0.5 is a coin toss, 1.0 is perfect).",
    "Brier score": "the average squared gap between predicted probabilities and what happened; "
    "lower is better.",
    "BG/NBD and Pareto/NBD": "models of how often each customer buys and how likely they are "
    "still a customer, from their purchase history alone.",
    "Gamma-Gamma": "a model of how much each customer spends per purchase; with BG/NBD it gives "
    "the customer lifetime value (CLV).",
    "CLV": "the margin or revenue a customer is expected to bring over the coming period.",
    "RFM": "recency, frequency and monetary value: how recently, how often and how much a "
    "customer buys, scored 1-5 each.",
    "Silhouette": "how well separated customer clusters are (from -1 to 1; above 0.25 means "
    "the groups are distinct).",
    "NPS": "Net Promoter Score: share of promoters (9-10) minus share of detractors (0-6), "
    "in points from -100 to +100.",
    "CUPED": "a way to read a test more precisely by discounting what each customer spent "
    "before the test.",
    "Annual gross margin net of campaign cost": "revenue a year x the client's gross margin, "
    "minus what the action costs (contacts, incentives, discounts): the one basis the actions "
    "are ranked on.",
}


def glossary_markdown(terms: dict[str, str] | None = None) -> str:
    """Return the glossary as a markdown section.

    Examples
    --------
    >>> glossary_markdown({"NPS": "a score."}).splitlines()[-1]
    '- **NPS**: a score.'
    """
    terms = GLOSSARY if terms is None else terms
    items = [f"- **{escape_markdown(k)}**: {escape_markdown(v)}" for k, v in terms.items()]
    return "## Glossary of methods\n\n" + "\n".join(items)
