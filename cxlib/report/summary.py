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
from cxlib.settings.i18n import N_, month, ngettext, number, percent
from cxlib.settings.i18n import day as format_day
from cxlib.settings.i18n import gettext as _

__all__ = [
    "GLOSSARY",
    "actions_markdown",
    "actions_table",
    "actions_view",
    "glossary_markdown",
    "situation",
]


_NO_TREND = N_("There is no revenue trend to show.")


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
            return _(str(attrs.get("note", _NO_TREND)))
        first, end = pd.Timestamp(attrs["first"]), pd.Timestamp(attrs["observation_end"])
        total = _money(attrs["last_12m"], currency)
        if covers(first, end.normalize() - pd.Timedelta(days=364)):
            said = _("Net revenue over the last 12 months was %(total)s") % {"total": total}
        else:
            said = _(
                "Net revenue over the whole history (%(first)s to %(end)s, under a year) was "
                "%(total)s"
            ) % {"first": format_day(first), "end": format_day(end), "total": total}
        customers = int(attrs["customers_12m"])
        return ngettext(
            "**Revenue.** %(said)s, from %(customers)s customers. The data start on %(first)s, "
            "after the 12 months before the last 12 begin (%(start)s): there is no comparison "
            "with them, and no count of new, returning and lost customers.",
            "**Revenue.** %(said)s, from %(customers)s customers. The data start on %(first)s, "
            "after the 12 months before the last 12 begin (%(start)s): there is no comparison "
            "with them, and no count of new, returning and lost customers.",
            customers,
        ) % {
            "said": said,
            "customers": number(customers, ",d"),
            "first": format_day(first),
            "start": format_day(previous_year_start(end)),
        }
    r, n = bridge["revenue"], bridge["customers"]
    previous, last = r["previous 12 months"], r["last 12 months"]
    retained = r["expansion"] + r["contraction"]
    before = _money(previous, currency)
    if previous > 0:
        change = last / previous - 1
        versus = (
            _("up %(change)s on the 12 months before (%(before)s)")
            if change >= 0
            else _("down %(change)s on the 12 months before (%(before)s)")
        ) % {"change": percent(abs(change)), "before": before}
    else:  # no revenue (or a net refund) the year before: no percentage to give
        versus = _("against %(before)s in the 12 months before") % {"before": before}
    if attrs.get("history_before", True):
        arrivals = _arrivals(n, r, currency)
    else:  # the data start with the previous 12 months: nothing tells new from returning
        came = int(n["new customers"] + n["reactivated customers"])
        money = r["new customers"] + r["reactivated customers"]
        arrivals = ngettext(
            "%(came)s customers who had not bought in the 12 months before brought %(money)s "
            "(the data start on %(first)s, so new customers cannot be told from returning ones)",
            "%(came)s customers who had not bought in the 12 months before brought %(money)s "
            "(the data start on %(first)s, so new customers cannot be told from returning ones)",
            came,
        ) % {
            "came": number(came, ",d"),
            "money": _money(money, currency),
            "first": format_day(attrs["first"]),
        }
    lost = int(n["lost customers"])
    left = ngettext(
        "%(lost)s customers who stopped buying took %(money)s with them",
        "%(lost)s customers who stopped buying took %(money)s with them",
        lost,
    ) % {"lost": number(lost, ",d"), "money": _money(-r["lost customers"], currency)}
    stayed = (
        _(
            "customers who bought in both years spent %(amount)s more (expansion %(expansion)s, "
            "contraction %(contraction)s)"
        )
        if retained >= 0
        else _(
            "customers who bought in both years spent %(amount)s less (expansion %(expansion)s, "
            "contraction %(contraction)s)"
        )
    ) % {
        "amount": _money(abs(retained), currency),
        "expansion": _money(r["expansion"], currency),
        "contraction": _money(-r["contraction"], currency),
    }
    return _(
        "**Revenue.** Net revenue over the last 12 months was %(last)s, %(versus)s. "
        "%(arrivals)s; %(left)s; %(stayed)s."
    ) % {
        "last": _money(last, currency),
        "versus": versus,
        "arrivals": arrivals,
        "left": left,
        "stayed": stayed,
    }


def _arrivals(n: pd.Series, r: pd.Series, currency: str) -> str:
    """Say what new and returning customers brought (the data reach a year before)."""
    new, back = int(n["new customers"]), int(n["reactivated customers"])
    return ngettext(
        "%(new)s new customers brought %(money)s",
        "%(new)s new customers brought %(money)s",
        new,
    ) % {"new": number(new, ",d"), "money": _money(r["new customers"], currency)} + ngettext(
        " and %(back)s returning ones %(money)s",
        " and %(back)s returning ones %(money)s",
        back,
    ) % {"back": number(back, ",d"), "money": _money(r["reactivated customers"], currency)}


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
    since = (
        _("the data start on %(first)s") % {"first": format_day(first)} if first is not None else ""
    )

    def covered(day: pd.Timestamp) -> bool:
        return first is None or covers(first, day)

    year_ago = start - pd.DateOffset(years=1)
    ago = periods.loc[periods["period"] == year_ago]
    ago_customers = int(ago["active_customers"].sum())  # no row: nobody bought then
    active = int(now["active_customers"])
    text = ngettext(
        "**Customers.** %(active)s customers bought in the last complete quarter (starting "
        "%(start)s)",
        "**Customers.** %(active)s customers bought in the last complete quarter (starting "
        "%(start)s)",
        active,
    ) % {"active": number(active, ",d"), "start": format_day(start)}
    if not covered(year_ago):
        return [
            _(
                "%(text)s. The data start on %(first)s: too late to compare with the same "
                "quarter a year earlier, or to tell new customers from returning ones."
            )
            % {"text": text, "first": format_day(first)}
        ]
    text += _(", against %(ago)s a year earlier") % {"ago": number(ago_customers, ",d")}
    if not covered(start - pd.Timedelta(days=365)):
        return [
            _("%(text)s; %(since)s, too late to tell new customers from returning ones.")
            % {"text": text, "since": since}
        ]
    new = int(now["new_customers"])
    text += ngettext("; %(new)s of them were new", "; %(new)s of them were new", new) % {
        "new": number(new, ",d")
    }
    if covered(year_ago - pd.Timedelta(days=365)):
        text += _(" (a year earlier: %(new)s)") % {
            "new": number(int(ago["new_customers"].sum()), ",d")
        }
    elif covered(year_ago):
        text += _(" (new customers a year earlier are not counted: %(since)s)") % {"since": since}
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
    answers = int(latest["n"])
    # the plural of many (ru: the genitive, "показатели кварталов"); English: "quarters"
    periods = units.period_name(freq, 5) if freq in units.PERIODS else _("periods")
    return [
        ngettext(
            "**NPS.** The Net Promoter Score moved from %(first)s in %(first_period)s to "
            "%(latest)s in %(latest_period)s (95%% interval %(low)s to %(high)s, %(n)s answers); "
            "%(periods)s with fewer than 30 answers are not quoted.",
            "**NPS.** The Net Promoter Score moved from %(first)s in %(first_period)s to "
            "%(latest)s in %(latest_period)s (95%% interval %(low)s to %(high)s, %(n)s answers); "
            "%(periods)s with fewer than 30 answers are not quoted.",
            answers,
        )
        % {
            "first": number(first["score"], "+.0f"),
            "first_period": _period_label(first["period"], freq),
            "latest": number(latest["score"], "+.0f"),
            "latest_period": _period_label(latest["period"], freq),
            "low": number(latest["ci_low"], "+.0f"),
            "high": number(latest["ci_high"], "+.0f"),
            "n": number(answers, ",d"),
            "periods": periods,
        }
    ]


def _period_label(start, freq: str) -> str:
    period = pd.Period(start, freq=freq if freq in units.PERIODS else "Q")
    if period.freqstr.startswith("Q"):
        return _("Q%(quarter)s %(year)s") % {"quarter": period.quarter, "year": period.year}
    if period.freqstr.startswith("Y"):
        return str(period.year)
    if period.freqstr.startswith("M"):
        return month(period.start_time)
    return format_day(period.start_time)


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
            return _(
                "*No page recorded an action with money attached; see the topic pages for the "
                "findings.*"
            )
        top = plays.iloc[0]
        return ngettext(
            "*No topic page recorded a ranked action with money attached; the segment cards "
            "below suggest a play for %(n)s segment (the largest: %(play)s for %(segment)s, "
            "%(value)s a year).*",
            "*No topic page recorded a ranked action with money attached; the segment cards "
            "below suggest a play for %(n)s segments (the largest: %(play)s for %(segment)s, "
            "%(value)s a year).*",
            len(plays),
        ) % {
            "n": len(plays),
            "play": escape_markdown(str(top["play"]).split(":")[0]),
            "segment": escape_markdown(_(str(top["segment"]))),
            "value": _money(top["play_value"], currency),
        }
    basis = actions["basis"].iloc[0] or BASIS
    stated = (
        _(" (%(margin)s of revenue, the client's margin)") % {"margin": percent(margin, 0)}
        if margin
        else ""
    )
    lines = [
        _(
            "Ranked by **%(basis)s** a year%(stated)s, undiscounted; the interval is the range "
            "the page that backs the action gives."
        )
        % {"basis": escape_markdown(_(basis)), "stated": stated},
        "",
    ]
    for i, row in enumerate(actions.head(limit).itertuples(index=False), start=1):
        lines.append(_action_item(i, row, currency, pages))
    if len(actions) > limit:
        smaller = len(actions) - limit
        lines.append(
            "\n"
            + ngettext(
                "*%(n)s smaller actions are in actions.json.*",
                "*%(n)s smaller actions are in actions.json.*",
                smaller,
            )
            % {"n": smaller}
        )
    return "\n".join(lines)


def _action_item(i: int, row, currency: str, pages: Sequence[Page] | None) -> str:
    """Write one ranked action as a numbered markdown item with the link to its page."""
    page, title = escape_markdown(row.page), escape_markdown(page_title(row.page, pages))
    customers = int(row.customers)
    return ngettext(
        "%(i)s. **%(action)s**: %(value)s a year (%(low)s to %(high)s). Targets %(segment)s "
        "(%(n)s customers). KPI to watch: %(kpi)s. Evidence: [%(title)s](%(page)s.html).",
        "%(i)s. **%(action)s**: %(value)s a year (%(low)s to %(high)s). Targets %(segment)s "
        "(%(n)s customers). KPI to watch: %(kpi)s. Evidence: [%(title)s](%(page)s.html).",
        customers,
    ) % {
        "i": i,
        "action": escape_markdown(row.action),
        "value": _money(row.value, currency),
        "low": _money(row.value_low, currency),
        "high": _money(row.value_high, currency),
        "segment": escape_markdown(row.segment),
        "n": number(customers, ",d"),
        "kpi": escape_markdown(row.kpi),
        "title": title,
        "page": page,
    }


def _card_plays(cards: pd.DataFrame | None) -> pd.DataFrame:
    """Return the cards with a play worth money, the largest first."""
    if cards is None or cards.empty or "play_value" not in cards:
        return pd.DataFrame(columns=["segment", "play", "play_value"])
    plays = cards[cards["play"].notna() & cards["play_value"].notna()]
    return plays.sort_values("play_value", ascending=False, kind="stable")


#: Methods used in the report, in plain words.
GLOSSARY: dict[str, str] = {
    N_("95% interval"): N_(
        "the range the true value lies in with 95% confidence; a wide one means "
        "the data cannot pin the number down."
    ),
    N_("Kaplan-Meier curve"): N_(
        "the share of customers still buying after each length of time, "
        "counting customers who joined recently for as long as we have seen "
        "them."
    ),
    N_("Log-rank test"): N_(
        "checks whether two or more Kaplan-Meier curves differ by more than chance would explain."
    ),
    N_("Cox model (hazard ratio)"): N_(
        "which customer traits make leaving sooner more or less likely; "
        "a hazard ratio of 1.5 means leaving 50% faster, all else equal."
    ),
    N_("Concordance / ROC AUC"): N_(
        "how often a model ranks a customer who left above one who stayed "
        "(0.5 is a coin toss, 1.0 is perfect)."
    ),
    N_("Brier score"): N_(
        "the average squared gap between predicted probabilities and what happened; "
        "lower is better."
    ),
    N_("BG/NBD and Pareto/NBD"): N_(
        "models of how often each customer buys and how likely they are "
        "still a customer, from their purchase history alone."
    ),
    N_("Gamma-Gamma"): N_(
        "a model of how much each customer spends per purchase; with BG/NBD it gives "
        "the customer lifetime value (CLV)."
    ),
    N_("CLV"): N_("the margin or revenue a customer is expected to bring over the coming period."),
    N_("RFM"): N_(
        "recency, frequency and monetary value: how recently, how often and how much a "
        "customer buys, scored 1-5 each."
    ),
    N_("Silhouette"): N_(
        "how well separated customer clusters are (from -1 to 1; above 0.25 means "
        "the groups are distinct)."
    ),
    N_("NPS"): N_(
        "Net Promoter Score: share of promoters (9-10) minus share of detractors (0-6), "
        "in points from -100 to +100."
    ),
    N_("CUPED"): N_(
        "a way to read a test more precisely by discounting what each customer spent "
        "before the test."
    ),
    N_("Annual gross margin net of campaign cost"): N_(
        "revenue a year x the client's gross margin, "
        "minus what the action costs (contacts, incentives, discounts): the one basis the actions "
        "are ranked on."
    ),
}


def glossary_markdown(terms: dict[str, str] | None = None) -> str:
    """Return the glossary as a markdown section.

    Examples
    --------
    >>> glossary_markdown({"NPS": "a score."}).splitlines()[-1]
    '- **NPS**: a score.'
    """
    terms = GLOSSARY if terms is None else terms
    items = [f"- **{escape_markdown(_(k))}**: {escape_markdown(_(v))}" for k, v in terms.items()]
    return _("## Glossary of methods") + "\n\n" + "\n".join(items)
