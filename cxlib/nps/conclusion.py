"""What NPS does and does not tell a client about money: the page's text and headline numbers.

:func:`conclusion_markdown` writes the conclusion of an :class:`NPSRevenueResult` sentence by
sentence from its estimates (signs, intervals, tests); :func:`nps_headlines` returns the numbers
page 03 records for the executive summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from cxlib.nps.score import MIN_RELIABLE_N, NPSResult
from cxlib.settings.escape import escape_markdown
from cxlib.settings.formats import p_value_text
from cxlib.settings.headline import Headline
from cxlib.settings.i18n import gettext as _
from cxlib.settings.i18n import ngettext, number

__all__ = ["conclusion_markdown", "nps_headlines"]


def _money(value: float, currency: str) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency} {abs(value):,.0f}"


@dataclass
class _Text:
    """The sentences written so far and what NPS does / does not tell, with the formats."""

    currency: str
    alpha: float
    level: int
    lines: list = field(default_factory=list)
    does: list = field(default_factory=list)
    does_not: list = field(default_factory=list)

    def money(self, value: float) -> str:
        return _money(value, self.currency)

    def verdict(self, p_value: float) -> str:
        real = p_value < self.alpha
        return ", a real difference." if real else ", not distinguishable from zero."

    def incremental(self, row, what: str) -> None:
        """Sort 'does the score add to past behaviour' into what NPS does / does not tell."""
        if row["adds_value"]:
            self.does.append(f"{what} beyond what past behaviour already predicts")
        elif row["p_value"] < self.alpha:
            self.does_not.append(
                f"much about {what} beyond past behaviour (the extra signal is real but too "
                "small to change who you would target)"
            )
        else:
            self.does_not.append(f"{what} beyond what past behaviour already predicts")


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _pts(v: float) -> str:
    return f"{100 * v:+.0f} pts"


def _effect(result, metric: str):
    effects = result.effects.set_index("metric")
    if metric in effects.index and not math.isnan(effects.loc[metric, "difference"]):
        return effects.loc[metric]
    return None


def _spend_and_churn(result, text: _Text) -> None:
    s, level = result.summary, text.level
    months = s["follow_up_months"]
    e = _effect(result, "subsequent_spend")
    if e is not None:
        text.lines.append(
            f"In the {months} months after answering, promoters spent "
            f"{text.money(e['promoter_mean'])} on average and detractors "
            f"{text.money(e['detractor_mean'])}: a gap of **{text.money(e['difference'])}** "
            f"({level}% CI {text.money(e['ci_low'])} to {text.money(e['ci_high'])})"
            + text.verdict(e["p_value"])
        )
        if e["p_value"] < text.alpha:
            more = "more" if e["difference"] > 0 else "less"
            text.does.append(f"promoters go on to spend {more} than detractors")
        else:
            text.does_not.append("whether a customer will spend more in the coming months")
    e = _effect(result, "churned")
    if e is not None:
        text.lines.append(
            f"By the end of the data, {_pct(e['detractor_mean'])} of detractors had stopped "
            f"buying ({s['churn_definition']}) versus {_pct(e['promoter_mean'])} of promoters "
            f"(gap **{_pts(-e['difference'])}**, {level}% CI {_pts(-e['ci_high'])} to "
            f"{_pts(-e['ci_low'])})" + text.verdict(e["p_value"])
        )
        if e["p_value"] < text.alpha and e["difference"] < 0:
            text.does.append("detractors are more likely to stop buying")
        elif e["p_value"] < text.alpha:
            text.does.append("promoters are more likely to stop buying than detractors")
        else:
            text.does_not.append("who is about to stop buying")
    e = _effect(result, "churned_within_segment")
    if e is not None:
        text.lines.append(
            f"Comparing promoters and detractors within the same segment, detractors' churn is "
            f"higher by {_pts(-e['difference'])} ({level}% CI {_pts(-e['ci_high'])} to "
            f"{_pts(-e['ci_low'])})" + text.verdict(e["p_value"])
        )
        real = e["p_value"] < text.alpha and e["difference"] < 0
        if real and "detractors are more likely to stop buying" not in text.does:
            text.does.append("within a segment, detractors are more likely to stop buying")
            if "who is about to stop buying" in text.does_not:
                text.does_not.remove("who is about to stop buying")
    e = _effect(result, "prior_spend")
    if e is not None and e["p_value"] < text.alpha:
        text.lines.append(
            f"Part of that gap was there before the answer: in the {s['prior_months']} months "
            f"before it, promoters had already spent {text.money(e['promoter_mean'])} and "
            f"detractors {text.money(e['detractor_mean'])}."
        )


def _beyond_behaviour(result, text: _Text) -> None:
    s, level = result.summary, text.level
    if result.incremental.empty:
        return
    inc = result.incremental.set_index("model")
    reg = result.regressions.set_index(["model", "term"])
    controls = (
        "prior spend, prior orders, tenure and segment"
        if s["segment_controlled"]
        else "prior spend, prior orders and tenure"
    )
    if "subsequent_spend" in inc.index:
        row, i = reg.loc[("subsequent_spend", "score")], inc.loc["subsequent_spend"]
        text.lines.append(
            f"Holding {controls} fixed, each extra point on the 0-10 scale goes with "
            f"{text.money(row['coef'])} of spend in the next {s['follow_up_months']} months "
            f"({level}% CI {text.money(row['ci_low'])} to {text.money(row['ci_high'])}, "
            f"{p_value_text(row['p_value'])}); the share of spend explained moves from "
            f"{i['without_score']:.3f} to {i['with_score']:.3f}."
        )
        text.incremental(i, "future spend")
    if "churn" in inc.index:
        row, i = reg.loc[("churn", "score")], inc.loc["churn"]
        text.lines.append(
            f"For churn, each extra point multiplies the odds of having stopped buying by "
            f"{math.exp(row['coef']):.2f} ({level}% CI {math.exp(row['ci_low']):.2f} to "
            f"{math.exp(row['ci_high']):.2f}); adding the score to a model of past behaviour "
            f"moves its cross-validated ROC AUC from {i['without_score']:.3f} to "
            f"{i['with_score']:.3f} (likelihood-ratio {p_value_text(i['p_value'])})."
        )
        text.incremental(i, "churn risk")


def _segments_and_quarters(result, text: _Text) -> None:
    s, seg, level = result.summary, result.segments, text.level
    if s["has_segments"] and len(seg) >= 2:
        top = seg.sort_values("revenue_per_customer", ascending=False).iloc[0]
        rank = int((seg["score"] > top["score"]).sum()) + 1
        text.lines.append(
            f"The most valuable segment, {escape_markdown(top['segment'])} "
            f"({text.money(top['revenue_per_customer'])} per customer), has NPS "
            f"{top['score']:+.0f} ({level}% CI {top['ci_low']:+.0f} to {top['ci_high']:+.0f}), "
            f"rank {rank} of {len(seg)} segments by NPS."
        )
        if rank > 1:
            text.does_not.append(
                "which segments bring the money (the highest-NPS segment is not the most valuable)"
            )
        rho, p_value, k = s["segment_nps_vs_growth"]
        if not math.isnan(rho):
            caveat = (
                "."
                if s["segment_controlled"]
                else " (and these segments were measured at the end of the data, so their "
                "growth partly reflects how they are defined)."
            )
            text.lines.append(
                f"Across {k} segments, NPS and revenue growth have a rank correlation of "
                f"{rho:+.2f} (p={p_value:.2f}); with so few segments this is a hint, not evidence"
                + caveat
            )
    rho_raw, _, _ = s["period_nps_vs_growth"]
    rho, p_value, k = s["period_nps_vs_growth_detrended"]
    if math.isnan(rho):
        return
    real = p_value < text.alpha
    if real and rho > 0:
        verdict = "quarters with higher NPS were followed by faster growth"
    elif real:
        verdict = (
            "quarters with higher NPS were followed by slower growth, more likely a drift both "
            "share (such as a maturing customer base) than NPS hurting revenue; either way NPS "
            "is no leading indicator of growth here"
        )
    else:
        verdict = "no reliable sign that NPS moves ahead of revenue"
    text.lines.append(
        f"Across {k} quarters with at least {MIN_RELIABLE_N} answers, once the shared time "
        f"trend is removed, a quarter's NPS and the next quarter's revenue growth have a rank "
        f"correlation of {rho:+.2f} (p={p_value:.2f}; {rho_raw:+.2f} before removing the "
        f"trend): {verdict}."
    )
    if not (real and rho > 0):
        text.does_not.append("next quarter's revenue growth")


def _who_answers(result, text: _Text) -> None:
    resp = result.respondents.set_index("metric")
    if "revenue" not in resp.index or math.isnan(resp.loc["revenue", "difference"]):
        return
    r = resp.loc["revenue"]
    if r["p_value"] < text.alpha:
        direction = "more" if r["difference"] > 0 else "less"
        bias = (
            f"respondents spent {direction} than non-respondents, so NPS speaks for the "
            "customers who answer, not for the whole base"
        )
    else:
        bias = "respondents and non-respondents spent about the same"
    text.lines.append(
        f"{_pct(result.summary['response_rate'])} of customers answered a survey; "
        f"{text.money(r['respondents'])} versus {text.money(r['non_respondents'])} revenue per "
        f"customer ({text.level}% CI of the gap {text.money(r['ci_low'])} to "
        f"{text.money(r['ci_high'])}): {bias}."
    )


def conclusion_markdown(result, *, currency: str = "EUR") -> str:
    """State what NPS does and does not tell this client about money, as Markdown paragraphs.

    Every sentence is derived from the estimates in ``result`` (an
    :class:`~cxlib.nps.NPSRevenueResult`): signs, intervals and tests decide what it says. The
    first line gives the NPS; the last paragraph, in bold, sums up what NPS does and does not
    tell. Display it with ``IPython.display.Markdown``.

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    >>> result = cxlib.nps.nps_vs_revenue(demo.surveys, demo.transactions)
    >>> conclusion_markdown(result, currency="USD").splitlines()[-1][:38]
    '**In short: for this client, NPS tells'
    """
    s = result.summary
    text = _Text(currency=currency, alpha=1 - s["confidence"], level=round(100 * s["confidence"]))
    o = result.overall
    text.lines.append(
        f"NPS is **{o.score:+.0f}** ({text.level}% CI {o.ci_low:+.0f} to {o.ci_high:+.0f}) over "
        f"{o.n:,} customers' latest answers."
    )
    _spend_and_churn(result, text)
    _beyond_behaviour(result, text)
    _segments_and_quarters(result, text)
    _who_answers(result, text)
    text.lines.append(
        "*These are associations between what customers answered and what they did next, not "
        "causes: raising a customer's score will not by itself raise their spend. "
        + (
            s["multiplicity"][0].upper() + s["multiplicity"][1:] + ".*"
            if "multiplicity" in s
            else "*"
        )
    )
    short = "In short: for this client, NPS "
    short += ("tells you that " + "; ".join(text.does)) if text.does else "tells little about money"
    if text.does_not:
        short += ". It does not tell you " + "; nor ".join(text.does_not)
    short += "."
    text.lines.append(f"**{short}**")
    return "\n\n".join(text.lines)


def nps_headlines(
    overall: NPSResult | None,
    result,
    impact: pd.DataFrame | None = None,
    *,
    currency: str = "EUR",
) -> list[Headline]:
    """Return the numbers page 03 records for the executive summary.

    Parameters
    ----------
    overall : NPSResult, optional
        The page's NPS (default ``result.overall``: each customer's latest answer).
    result : NPSRevenueResult
        From :func:`cxlib.nps.nps_vs_revenue`.
    impact : DataFrame, optional
        From :func:`cxlib.feedback.theme_impact` (ranked by revenue at stake); adds the
        ``invest_top_complaint_theme`` headline when it has a row.
    currency : str, keyword-only
        Currency code named in the notes.

    Returns
    -------
    list of Headline
        ``nps`` (points, with interval); ``promoter_detractor_spend_gap`` (promoters minus
        detractors, spend after answering); ``detractor_churn_gap`` (detractors' churn share
        minus promoters', so positive means detractors leave more; the interval is the effect's
        interval flipped: ``(-ci_high, -ci_low)``); ``nps_predicts_churn_beyond_behaviour``
        (:meth:`~cxlib.nps.NPSRevenueResult.predictive_value`); ``invest_top_complaint_theme``.
        Gaps that could not be measured (too few answers) are left out.

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    >>> result = cxlib.nps.nps_vs_revenue(demo.surveys, demo.transactions)
    >>> [h.key for h in nps_headlines(None, result)]  # doctest: +NORMALIZE_WHITESPACE
    ['nps', 'promoter_detractor_spend_gap', 'detractor_churn_gap',
     'nps_predicts_churn_beyond_behaviour']
    """
    overall = result.overall if overall is None else overall
    s = result.summary
    months = s["follow_up_months"]
    out = [
        Headline("nps", _("Net Promoter Score"), overall.score, unit="points",
                 ci_low=overall.ci_low, ci_high=overall.ci_high,
                 note=ngettext("%(n)s customers' latest answers",
                               "%(n)s customers' latest answers", overall.n)
                 % {"n": number(overall.n, ",")}),
    ]  # fmt: skip
    spend = _effect(result, "subsequent_spend")
    if spend is not None:
        out.append(Headline(
            "promoter_detractor_spend_gap",
            _("Extra spend of promoters over detractors in the %(months)s months after answering")
            % {"months": months},
            float(spend["difference"]), unit="currency",
            ci_low=float(spend["ci_low"]), ci_high=float(spend["ci_high"]),
            note=_("promoters %(promoters)s, detractors %(detractors)s per customer") % {
                "promoters": _money(spend["promoter_mean"], currency),
                "detractors": _money(spend["detractor_mean"], currency)},
        ))  # fmt: skip
    churn = _effect(result, "churned")
    if churn is not None:
        # The effect is promoters minus detractors; the headline says how many more detractors
        # leave, so the value and both ends of its interval change sign (and swap).
        out.append(Headline(
            "detractor_churn_gap",
            _("Share of detractors who stopped buying minus that of promoters (percentage points)"),
            -float(churn["difference"]), unit="percent",
            ci_low=-float(churn["ci_high"]), ci_high=-float(churn["ci_low"]),
            note=_("churn: %(definition)s") % {"definition": s["churn_definition"]},
        ))  # fmt: skip
    incremental = result.incremental.set_index("model")
    note = (
        _("cross-validated ROC AUC %(without)s without the score, %(with)s with it")
        % {
            "without": number(incremental.loc["churn", "without_score"], ".3f"),
            "with": number(incremental.loc["churn", "with_score"], ".3f"),
        }
        if "churn" in incremental.index
        else _("too few answers with follow-up to measure")
    )
    out.append(Headline(
        "nps_predicts_churn_beyond_behaviour",
        _("Does the score add to past behaviour in predicting churn"),
        result.predictive_value("churn"), unit="text", note=note,
    ))  # fmt: skip
    if impact is not None and len(impact):
        top = impact.iloc[0]
        out.append(Headline(
            "invest_top_complaint_theme",
            _("Fix the complaint theme with most revenue at stake: %(theme)s")
            % {"theme": top["name"]},
            float(top["revenue_at_stake"]), unit="currency",
            ci_low=float(top["at_stake_ci_low"]), ci_high=float(top["at_stake_ci_high"]),
            note=ngettext("%(n)s customers raised it; yearly revenue x their excess churn",
                          "%(n)s customers raised it; yearly revenue x their excess churn",
                          int(top["customers"])) % {"n": number(int(top["customers"]), ",d")},
        ))  # fmt: skip
    return out
