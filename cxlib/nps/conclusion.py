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
from cxlib.settings.i18n import language, ngettext, number, percent

__all__ = ["conclusion_markdown", "nps_headlines"]


def _money(value: float, currency: str) -> str:
    if value is None or math.isnan(value):
        return _("n/a")
    sign = "-" if value < 0 else ""
    if language() == "en":
        return f"{sign}{currency} {abs(value):,.0f}"
    from babel.numbers import get_currency_symbol

    symbol = get_currency_symbol(currency, language()) if currency.isupper() else currency
    return f"{number(value, ',.0f')}\xa0{symbol}"


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

    def ci(self, low: str, high: str) -> str:
        """Say an interval: "95% CI a to b"."""
        return _("%(level)s%% CI %(low)s to %(high)s") % {
            "level": self.level,
            "low": low,
            "high": high,
        }

    def verdict(self, p_value: float) -> str:
        real = p_value < self.alpha
        return _(", a real difference.") if real else _(", not distinguishable from zero.")

    def incremental(self, row, what: str) -> None:
        """Sort 'does the score add to past behaviour' into what NPS does / does not tell."""
        if row["adds_value"]:
            self.does.append(
                _("%(what)s beyond what past behaviour already predicts") % {"what": what}
            )
        elif row["p_value"] < self.alpha:
            self.does_not.append(
                _(
                    "much about %(what)s beyond past behaviour (the extra signal is real but too "
                    "small to change who you would target)"
                )
                % {"what": what}
            )
        else:
            self.does_not.append(
                _("%(what)s beyond what past behaviour already predicts") % {"what": what}
            )


def _pct(v: float) -> str:
    return percent(v, 0)


def _pts(v: float) -> str:
    return _("%(value)s pts") % {"value": number(100 * v, "+.0f")}


def _effect(result, metric: str):
    effects = result.effects.set_index("metric")
    if metric in effects.index and not math.isnan(effects.loc[metric, "difference"]):
        return effects.loc[metric]
    return None


def _spend_and_churn(result, text: _Text) -> None:
    s = result.summary
    months = s["follow_up_months"]
    e = _effect(result, "subsequent_spend")
    if e is not None:
        text.lines.append(
            _(
                "In the %(months)s months after answering, promoters spent %(promoters)s on "
                "average and detractors %(detractors)s: a gap of **%(gap)s** (%(ci)s)"
            )
            % {
                "months": months,
                "promoters": text.money(e["promoter_mean"]),
                "detractors": text.money(e["detractor_mean"]),
                "gap": text.money(e["difference"]),
                "ci": text.ci(text.money(e["ci_low"]), text.money(e["ci_high"])),
            }
            + text.verdict(e["p_value"])
        )
        if e["p_value"] < text.alpha:
            text.does.append(
                _("promoters go on to spend more than detractors")
                if e["difference"] > 0
                else _("promoters go on to spend less than detractors")
            )
        else:
            text.does_not.append(_("whether a customer will spend more in the coming months"))
    leave, who = _("detractors are more likely to stop buying"), _("who is about to stop buying")
    e = _effect(result, "churned")
    if e is not None:
        text.lines.append(
            _(
                "By the end of the data, %(detractors)s of detractors had stopped buying "
                "(%(definition)s) versus %(promoters)s of promoters (gap **%(gap)s**, %(ci)s)"
            )
            % {
                "detractors": _pct(e["detractor_mean"]),
                "definition": s["churn_definition"],
                "promoters": _pct(e["promoter_mean"]),
                "gap": _pts(-e["difference"]),
                "ci": text.ci(_pts(-e["ci_high"]), _pts(-e["ci_low"])),
            }
            + text.verdict(e["p_value"])
        )
        if e["p_value"] < text.alpha and e["difference"] < 0:
            text.does.append(leave)
        elif e["p_value"] < text.alpha:
            text.does.append(_("promoters are more likely to stop buying than detractors"))
        else:
            text.does_not.append(who)
    e = _effect(result, "churned_within_segment")
    if e is not None:
        text.lines.append(
            _(
                "Comparing promoters and detractors within the same segment, detractors' churn "
                "is higher by %(gap)s (%(ci)s)"
            )
            % {
                "gap": _pts(-e["difference"]),
                "ci": text.ci(_pts(-e["ci_high"]), _pts(-e["ci_low"])),
            }
            + text.verdict(e["p_value"])
        )
        real = e["p_value"] < text.alpha and e["difference"] < 0
        if real and leave not in text.does:
            text.does.append(_("within a segment, detractors are more likely to stop buying"))
            if who in text.does_not:
                text.does_not.remove(who)
    e = _effect(result, "prior_spend")
    if e is not None and e["p_value"] < text.alpha:
        text.lines.append(
            _(
                "Part of that gap was there before the answer: in the %(months)s months before "
                "it, promoters had already spent %(promoters)s and detractors %(detractors)s."
            )
            % {
                "months": s["prior_months"],
                "promoters": text.money(e["promoter_mean"]),
                "detractors": text.money(e["detractor_mean"]),
            }
        )


def _beyond_behaviour(result, text: _Text) -> None:
    s = result.summary
    if result.incremental.empty:
        return
    inc = result.incremental.set_index("model")
    reg = result.regressions.set_index(["model", "term"])
    controls = (
        _("prior spend, prior orders, tenure and segment")
        if s["segment_controlled"]
        else _("prior spend, prior orders and tenure")
    )
    if "subsequent_spend" in inc.index:
        row, i = reg.loc[("subsequent_spend", "score")], inc.loc["subsequent_spend"]
        text.lines.append(
            _(
                "Holding %(controls)s fixed, each extra point on the 0-10 scale goes with "
                "%(coef)s of spend in the next %(months)s months (%(ci)s, %(p)s); the share of "
                "spend explained moves from %(without)s to %(with)s."
            )
            % {
                "controls": controls,
                "coef": text.money(row["coef"]),
                "months": s["follow_up_months"],
                "ci": text.ci(text.money(row["ci_low"]), text.money(row["ci_high"])),
                "p": p_value_text(row["p_value"]),
                "without": number(i["without_score"], ".3f"),
                "with": number(i["with_score"], ".3f"),
            }
        )
        text.incremental(i, _("future spend"))
    if "churn" in inc.index:
        row, i = reg.loc[("churn", "score")], inc.loc["churn"]
        text.lines.append(
            _(
                "For churn, each extra point multiplies the odds of having stopped buying by "
                "%(ratio)s (%(ci)s); adding the score to a model of past behaviour moves its "
                "cross-validated ROC AUC from %(without)s to %(with)s (likelihood-ratio %(p)s)."
            )
            % {
                "ratio": number(math.exp(row["coef"]), ".2f"),
                "ci": text.ci(
                    number(math.exp(row["ci_low"]), ".2f"), number(math.exp(row["ci_high"]), ".2f")
                ),
                "without": number(i["without_score"], ".3f"),
                "with": number(i["with_score"], ".3f"),
                "p": p_value_text(i["p_value"]),
            }
        )
        text.incremental(i, _("churn risk"))


def _segments_and_quarters(result, text: _Text) -> None:
    s, seg = result.summary, result.segments
    if s["has_segments"] and len(seg) >= 2:
        top = seg.sort_values("revenue_per_customer", ascending=False).iloc[0]
        rank = int((seg["score"] > top["score"]).sum()) + 1
        text.lines.append(
            _(
                "The most valuable segment, %(segment)s (%(revenue)s per customer), has NPS "
                "%(score)s (%(ci)s), rank %(rank)s of %(n)s segments by NPS."
            )
            % {
                "segment": escape_markdown(_(str(top["segment"]))),
                "revenue": text.money(top["revenue_per_customer"]),
                "score": number(top["score"], "+.0f"),
                "ci": text.ci(number(top["ci_low"], "+.0f"), number(top["ci_high"], "+.0f")),
                "rank": rank,
                "n": len(seg),
            }
        )
        if rank > 1:
            text.does_not.append(
                _(
                    "which segments bring the money (the highest-NPS segment is not the most "
                    "valuable)"
                )
            )
        rho, p_value, k = s["segment_nps_vs_growth"]
        if not math.isnan(rho):
            caveat = (
                "."
                if s["segment_controlled"]
                else _(
                    " (and these segments were measured at the end of the data, so their "
                    "growth partly reflects how they are defined)."
                )
            )
            text.lines.append(
                _(
                    "Across %(k)s segments, NPS and revenue growth have a rank correlation of "
                    "%(rho)s (p=%(p)s); with so few segments this is a hint, not evidence"
                )
                % {"k": k, "rho": number(rho, "+.2f"), "p": number(p_value, ".2f")}
                + caveat
            )
    _quarters(s, text)


def _quarters(s: dict, text: _Text) -> None:
    """Say whether a quarter's NPS runs ahead of the next quarter's revenue growth."""
    rho_raw, _p, _k = s["period_nps_vs_growth"]
    rho, p_value, k = s["period_nps_vs_growth_detrended"]
    if math.isnan(rho):
        return
    real = p_value < text.alpha
    if real and rho > 0:
        verdict = _("quarters with higher NPS were followed by faster growth")
    elif real:
        verdict = _(
            "quarters with higher NPS were followed by slower growth, more likely a drift both "
            "share (such as a maturing customer base) than NPS hurting revenue; either way NPS "
            "is no leading indicator of growth here"
        )
    else:
        verdict = _("no reliable sign that NPS moves ahead of revenue")
    text.lines.append(
        _(
            "Across %(k)s quarters with at least %(min_n)s answers, once the shared time trend "
            "is removed, a quarter's NPS and the next quarter's revenue growth have a rank "
            "correlation of %(rho)s (p=%(p)s; %(raw)s before removing the trend): %(verdict)s."
        )
        % {
            "k": k,
            "min_n": MIN_RELIABLE_N,
            "rho": number(rho, "+.2f"),
            "p": number(p_value, ".2f"),
            "raw": number(rho_raw, "+.2f"),
            "verdict": verdict,
        }
    )
    if not (real and rho > 0):
        text.does_not.append(_("next quarter's revenue growth"))


def _who_answers(result, text: _Text) -> None:
    resp = result.respondents.set_index("metric")
    if "revenue" not in resp.index or math.isnan(resp.loc["revenue", "difference"]):
        return
    r = resp.loc["revenue"]
    if r["p_value"] < text.alpha:
        bias = (
            _(
                "respondents spent more than non-respondents, so NPS speaks for the customers "
                "who answer, not for the whole base"
            )
            if r["difference"] > 0
            else _(
                "respondents spent less than non-respondents, so NPS speaks for the customers "
                "who answer, not for the whole base"
            )
        )
    else:
        bias = _("respondents and non-respondents spent about the same")
    text.lines.append(
        _(
            "%(rate)s of customers answered a survey; %(respondents)s versus "
            "%(non_respondents)s revenue per customer (%(level)s%% CI of the gap %(low)s to "
            "%(high)s): %(bias)s."
        )
        % {
            "rate": _pct(result.summary["response_rate"]),
            "respondents": text.money(r["respondents"]),
            "non_respondents": text.money(r["non_respondents"]),
            "level": text.level,
            "low": text.money(r["ci_low"]),
            "high": text.money(r["ci_high"]),
            "bias": bias,
        }
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
        ngettext(
            "NPS is **%(score)s** (%(ci)s) over %(n)s customers' latest answers.",
            "NPS is **%(score)s** (%(ci)s) over %(n)s customers' latest answers.",
            o.n,
        )
        % {
            "score": number(o.score, "+.0f"),
            "ci": text.ci(number(o.ci_low, "+.0f"), number(o.ci_high, "+.0f")),
            "n": number(o.n, ","),
        }
    )
    _spend_and_churn(result, text)
    _beyond_behaviour(result, text)
    _segments_and_quarters(result, text)
    _who_answers(result, text)
    text.lines.append(
        _(
            "*These are associations between what customers answered and what they did next, "
            "not causes: raising a customer's score will not by itself raise their spend. "
        )
        + (
            s["multiplicity"][0].upper() + s["multiplicity"][1:] + ".*"
            if "multiplicity" in s
            else "*"
        )
    )
    if text.does:
        short = _("In short: for this client, NPS tells you that %(does)s") % {
            "does": "; ".join(text.does)
        }
    else:
        short = _("In short: for this client, NPS tells little about money")
    if text.does_not:
        short += _(". It does not tell you %(does_not)s") % {
            "does_not": _("; nor ").join(text.does_not)
        }
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
