"""Does NPS track money: :func:`nps_vs_revenue` joins survey answers to what customers spend.

The function runs in steps, each a helper here or in :mod:`cxlib.nps.outcomes`:

1. check the inputs (:func:`cxlib.settings.validation.check_transactions`, the answers' scores);
2. one row per customer from the customer base (revenue, orders, tenure, CLV, segment);
3. each respondent's latest answer and the overall NPS;
4. the forward-looking sample: answers with enough follow-up, spend before and after them, and
   churn under the client's one definition;
5. promoter-versus-detractor effects and the outcome at each score point;
6. regressions: does the score add anything to past behaviour;
7. segments (through :func:`cxlib.nps.nps_by_segment`), quarters, respondents versus the rest;
8. the scalars the conclusion needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.customers import customer_base
from cxlib.nps import outcomes
from cxlib.nps.groups import latest_answers
from cxlib.nps.outcomes import MIN_USEFUL_AUC_GAIN, MIN_USEFUL_R2_GAIN
from cxlib.nps.score import (
    DEFAULT_DETRACTOR_MAX,
    DEFAULT_PROMOTER_MIN,
    NPSResult,
    _check_thresholds,
    _validated_scores,
    nps,
    nps_category,
)
from cxlib.settings.i18n import N_, gettext
from cxlib.settings.params import Options, check_param
from cxlib.settings.validation import (
    DataError,
    check_fraction,
    check_positive_int,
    check_transactions,
    dated_answers,
    validate_columns,
)

__all__ = [
    "DEFAULT_FOLLOW_UP_MONTHS",
    "DEFAULT_PRIOR_MONTHS",
    "MIN_USEFUL_AUC_GAIN",
    "MIN_USEFUL_R2_GAIN",
    "NPSRevenueResult",
    "nps_vs_revenue",
]


#: Months after a survey answer in which subsequent spend and retention are measured.
DEFAULT_FOLLOW_UP_MONTHS = 6
#: Months before a survey answer summarised as the customer's prior behaviour.
DEFAULT_PRIOR_MONTHS = 12


@dataclass
class NPSRevenueResult:
    """What :func:`nps_vs_revenue` found. Every frame is tidy; intervals are at ``confidence``.

    Attributes
    ----------
    overall : NPSResult
        NPS of each respondent's latest answer.
    by_category : DataFrame
        ``metric``, ``category``, ``n``, ``mean``, ``ci_low``, ``ci_high``: each metric's mean
        for detractors, passives and promoters. Metrics: ``revenue``, ``orders``, ``aov``,
        ``tenure_years``, ``clv`` (when given) over the whole history (latest answer per
        customer), and ``prior_spend``, ``subsequent_spend`` (in the follow-up window) and
        ``churned`` (share churned by the end of the data under the client's churn definition,
        named in ``summary["churn_definition"]``) around each customer's latest answer with
        enough follow-up.
    effects : DataFrame
        One row per metric: ``promoter_mean``, ``detractor_mean``, ``difference`` (promoters
        minus detractors), ``ci_low``, ``ci_high`` (Welch), ``relative`` (difference over the
        detractor mean), ``p_value``.
    by_score : DataFrame
        ``score``, ``n``, ``subsequent_spend``, ``spend_ci_low``, ``spend_ci_high``,
        ``churned``, ``churned_ci_low``, ``churned_ci_high``.
    regressions : DataFrame
        ``model`` (``"subsequent_spend"`` OLS with HC1 standard errors, ``"churn"`` logistic),
        ``term``, ``coef``, ``se``, ``ci_low``, ``ci_high``, ``p_value``. Controls: log prior
        spend, log prior orders, tenure in years and segment dummies (plus, for churn, the years
        from the answer to the data end). The spend coefficient of ``score`` is currency per
        score point; the churn one is a log-odds per point.
    incremental : DataFrame
        Does the score add anything: ``model``, ``metric`` (``r2`` / ``cv_auc``), ``without_score``,
        ``with_score``, ``gain``, ``p_value`` (robust t test / likelihood-ratio test),
        ``adds_value``.
    segments : DataFrame
        Per segment (when segments are given): ``n_answers``, NPS ``score`` with ``ci_low``,
        ``ci_high``, ``customers``, ``revenue_per_customer``, ``revenue_growth`` (last 12 months
        over the 12 before), ``churn_detractors``, ``churn_promoters``, ``churn_gap``
        (detractors minus promoters), ``spend_gap`` (promoters minus detractors, subsequent),
        ``reliable`` (at least :data:`MIN_RELIABLE_N` answers).
    periods : DataFrame
        Per calendar quarter (``period`` = its start): ``n``, ``score``, ``ci_low``, ``ci_high``,
        ``change``, ``change_p_value`` (versus the previous quarter, see :func:`nps_by`),
        ``revenue`` and ``revenue_growth_next`` (next quarter's revenue over this one's, minus 1;
        complete quarters only).
    respondents : DataFrame
        ``metric`` (``revenue``, ``orders``, ``tenure_years``), ``respondents``,
        ``non_respondents``, ``difference``, ``ci_low``, ``ci_high``, ``p_value``.
    customers : DataFrame
        The forward-looking sample, one row per customer: ``customer_id``, ``survey_date``,
        ``score``, ``category``, ``segment``, ``prior_spend``, ``prior_orders``, ``tenure_years``,
        ``subsequent_spend``, ``churned``, ``years_to_end``.
    summary : dict
        Scalars used by :meth:`conclusion` (sample sizes, correlations, settings, and
        ``churn_definition``: the churn definition in words).
    """

    overall: NPSResult
    by_category: pd.DataFrame
    effects: pd.DataFrame
    by_score: pd.DataFrame
    regressions: pd.DataFrame
    incremental: pd.DataFrame
    segments: pd.DataFrame
    periods: pd.DataFrame
    respondents: pd.DataFrame
    customers: pd.DataFrame
    summary: dict = field(default_factory=dict)

    def predictive_value(self, model: str = "churn") -> str:
        """Say whether the score adds to past behaviour for ``model`` (churn or spend).

        Returns ``"useful"`` (significant and at least :data:`MIN_USEFUL_AUC_GAIN` /
        :data:`MIN_USEFUL_R2_GAIN` better), ``"real but small"`` (significant only), ``"none"``
        (not significant) or ``"not measured"`` (too few answers with follow-up).
        """
        choices = Options(("churn", "subsequent_spend"), words="'churn' or 'subsequent_spend'")
        check_param("model", model, choices, caller="predictive_value")
        rows = self.incremental[self.incremental["model"] == model]
        if rows.empty:
            return N_("not measured")
        row = rows.iloc[0]
        if row["adds_value"]:
            return N_("useful")
        if row["p_value"] < 1 - self.summary["confidence"]:
            return N_("real but small")
        return N_("none")

    def conclusion(self, *, currency: str = "EUR") -> str:
        """State what NPS does and does not tell this client about money, as Markdown.

        Every sentence is derived from the estimates in this result (signs, intervals, tests),
        so the text changes with the data. See :func:`cxlib.nps.conclusion_markdown`.
        """
        from cxlib.nps.conclusion import conclusion_markdown  # conclusion reads this class

        return conclusion_markdown(self, currency=currency)


def _as_customer_series(values, name: str, caller: str) -> pd.Series | None:
    """Accept a Series indexed by customer_id, or a frame with customer_id and ``name``."""
    if values is None:
        return None
    if isinstance(values, pd.DataFrame):
        if "customer_id" in values.columns:
            validate_columns(values, ["customer_id", name], caller=caller)
            values = values.set_index("customer_id")[name]
        else:
            validate_columns(values, [name], caller=caller)
            values = values[name]
    if not isinstance(values, pd.Series):
        raise ValueError(
            f"The '{name}' parameter of {caller} must be a Series indexed by customer_id or a "
            f"frame with a '{name}' column. Got {type(values).__name__} instead."
        )
    values = values.copy()
    values.index = values.index.astype(str)
    return values[~values.index.duplicated(keep="last")]


def _transactions_with_order_keys(transactions: pd.DataFrame, caller: str) -> pd.DataFrame:
    """Check transactions; add ``order_key`` (the order_id, else the purchase day)."""
    checked = check_transactions(transactions, caller=caller)
    tx = pd.DataFrame(
        {
            "customer_id": checked["customer_id"].astype(str).to_numpy(),
            "date": checked["date"].to_numpy(),
            "amount": checked["amount"].to_numpy(float),
        }
    )
    if "order_id" in checked.columns and checked["order_id"].notna().any():
        present = checked["order_id"].notna().to_numpy()
        keys = checked["order_id"].astype(str).to_numpy(dtype=object)
        if not present.all():  # rows without an id: one order per purchase day
            days = tx["date"].dt.strftime("day:%Y-%m-%d").to_numpy(dtype=object)
            keys = np.where(present, keys, days)
        tx["order_key"] = pd.factorize(keys)[0]
    else:
        tx["order_key"] = tx["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    return tx


def _answers(surveys: pd.DataFrame, end: pd.Timestamp, thresholds: dict, caller: str):
    """Every answer up to ``end`` with its category (ids as text, dates as datetime64)."""
    sv = pd.DataFrame(
        {
            "customer_id": surveys["customer_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(surveys["date"]).to_numpy(),
            "score": _validated_scores(surveys["score"], caller),
        }
    )
    sv = sv[sv["date"] <= end]
    if len(sv) == 0:
        raise DataError(f"{caller}: no survey answers on or before {end.date()}")
    sv["category"] = nps_category(sv["score"], **thresholds).to_numpy()
    return sv


_BASE_COLUMNS = ("revenue", "orders", "first_purchase", "last_purchase")


def _customer_table(base, transactions, sv, customers, end, caller) -> pd.DataFrame:
    """One row per customer: the base's revenue, orders and first purchase, then tenure.

    Respondents without purchases and customers of the customers table count too, with zero
    revenue (not missing values), so the respondent comparison covers everyone.
    """
    if base is None:
        base = customer_base(transactions, observation_end=end)
    else:
        validate_columns(base, list(_BASE_COLUMNS), caller=caller)
    table = pd.DataFrame({c: base[c] for c in _BASE_COLUMNS})
    table.index = table.index.astype(str)
    ids = table.index.union(pd.Index(sv["customer_id"].unique()))
    if customers is not None:
        validate_columns(customers, ["customer_id"], caller=caller)
        ids = ids.union(pd.Index(customers["customer_id"].astype(str).unique()))
    table = table.reindex(ids)
    table[["revenue", "orders"]] = table[["revenue", "orders"]].fillna(0.0)
    start = table["first_purchase"]
    if customers is not None and "signup_date" in customers.columns:
        signup = pd.Series(
            pd.to_datetime(customers["signup_date"]).to_numpy(),
            index=customers["customer_id"].astype(str),
        )
        start = signup[~signup.index.duplicated(keep="last")].reindex(ids).fillna(start)
    table["start"] = start
    table["tenure_years"] = (end - start).dt.days / 365.25
    table["aov"] = table["revenue"] / table["orders"].where(table["orders"] > 0)
    return table


def _churn_rule(base, churned, churn_days, churn_definition, follow_up_months, caller):
    """Pick the churn rule after answering: (status per customer or None, days, words).

    The client's status (``churned``, else ``base["churned"]``) wins; the base also says what
    it means (``attrs["churn_words"]``) and how many days of data an answer needs after it
    (``attrs["churn_follow_up_days"]``), both set by the run from its churn definition
    (:meth:`cxlib.churn.ChurnDefinition.base_attrs`). Without a status, an inactivity rule of
    ``churn_days`` days (default: the follow-up window) is applied to the last purchase.
    ``churn_days`` also keeps answers given inside that window out.
    """
    if churn_days is not None:
        churn_days = check_positive_int(churn_days, "churn_days", caller=caller)
    status = _as_customer_series(churned, "churned", caller)
    if status is None and base is not None and "churned" in base:
        status = _as_customer_series(base["churned"], "churned", caller)
        if churn_definition is None:
            churn_definition = base.attrs.get("churn_words")
        if churn_days is None:
            churn_days = base.attrs.get("churn_follow_up_days")
    if churn_definition is None and churn_days is not None:
        churn_definition = gettext("no purchase in the last %(days)s days") % {"days": churn_days}
    elif churn_definition is None and status is not None:
        churn_definition = gettext("churned under the client's churn definition")
    elif churn_definition is None:
        churn_definition = gettext("no purchase in the last %(months)s months") % {
            "months": follow_up_months
        }
    return (None if status is None else status.astype(bool)), churn_days, churn_definition


def _forward_sample(sv, tx, table, end, *, follow_up_months, prior_months, churn) -> pd.DataFrame:
    """Each customer's latest answer with enough follow-up, and what they did around it."""
    status, churn_days, _ = churn
    offset = pd.DateOffset(months=follow_up_months)
    eligible = sv["date"] + offset <= end
    if churn_days is not None:  # the whole inactivity window must come after the answer
        eligible &= sv["date"] <= end - pd.Timedelta(days=churn_days)
    forward = sv[eligible].sort_values(["customer_id", "date"]).groupby("customer_id").tail(1)
    forward = forward.rename(columns={"date": "survey_date"}).reset_index(drop=True)
    joined = forward[["customer_id", "survey_date"]].merge(tx, on="customer_id", how="inner")
    delta = joined["date"] - joined["survey_date"]
    after = (delta > pd.Timedelta(0)) & (joined["date"] <= joined["survey_date"] + offset)
    before = (delta <= pd.Timedelta(0)) & (
        joined["date"] > joined["survey_date"] - pd.DateOffset(months=prior_months)
    )
    sums = (
        pd.DataFrame(
            {
                "prior_spend": joined["amount"].where(before, 0.0),
                "subsequent_spend": joined["amount"].where(after, 0.0),
                "customer_id": joined["customer_id"],
            }
        )
        .groupby("customer_id")
        .sum()
    )
    is_order = joined["amount"] > 0
    for name, window in (("prior_orders", before), ("subsequent_orders", after)):
        in_window = joined[window & is_order]
        sums[name] = in_window.groupby("customer_id")["order_key"].nunique().astype(float)
    forward = forward.set_index("customer_id").join(sums, how="left")
    forward[sums.columns] = forward[sums.columns].fillna(0.0)
    start_of = table["start"].reindex(forward.index)
    tenure = ((forward["survey_date"] - start_of).dt.days / 365.25).clip(lower=0)
    forward["tenure_years"] = tenure.fillna(0.0)
    if status is not None:  # customers outside the base never bought: churned
        churned = status.reindex(forward.index, fill_value=True).astype(bool)
    else:
        lapse = pd.Timedelta(days=churn_days) if churn_days is not None else offset
        last = table["last_purchase"].reindex(forward.index)
        churned = ~(last > end - lapse)
    forward["churned"] = np.asarray(churned, dtype=float)
    forward["years_to_end"] = (end - forward["survey_date"]).dt.days / 365.25
    forward["segment"] = table["segment"].reindex(forward.index).fillna("unknown")
    return forward


def nps_vs_revenue(
    surveys: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    base: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    segments: pd.Series | pd.DataFrame | None = None,
    clv: pd.Series | pd.DataFrame | None = None,
    churned: pd.Series | pd.DataFrame | None = None,
    churn_days: int | None = None,
    churn_definition: str | None = None,
    control_for_segment: bool = True,
    promoter_min: int = DEFAULT_PROMOTER_MIN,
    detractor_max: int = DEFAULT_DETRACTOR_MAX,
    follow_up_months: int = DEFAULT_FOLLOW_UP_MONTHS,
    prior_months: int = DEFAULT_PRIOR_MONTHS,
    observation_end=None,
    confidence: float = 0.95,
    seed: int = 0,
) -> NPSRevenueResult:
    """Join survey answers to what customers spend, before and after they answered.

    Parameters
    ----------
    surveys : DataFrame
        ``customer_id``, ``date``, ``score`` (0-10). Customers may answer several times; the
        customer-level views use each customer's latest answer (latest with enough follow-up
        for the forward-looking ones), so no customer counts twice.
    transactions : DataFrame
        ``customer_id``, ``date`` (datetime64), ``amount`` (refunds negative), optional
        ``order_id``; checked by :func:`cxlib.settings.validation.check_transactions`. An order is a
        distinct ``order_id`` (else a distinct purchase day) with a positive amount.
    base : DataFrame, optional, keyword-only
        The run's customer base (:func:`cxlib.customers.customer_base`, e.g. ``client.base``)
        at ``observation_end``: past ``revenue``, ``orders``, ``first_purchase``,
        ``last_purchase`` come from it, and, when present and not given separately, its
        ``segment``, ``clv`` and ``churned`` columns. Default: built from ``transactions``.
    customers : DataFrame, optional, keyword-only
        With ``customer_id``; its customers count as non-respondents even without purchases,
        and ``signup_date`` (when present) starts tenure instead of the first purchase.
    segments : Series or DataFrame, optional, keyword-only
        Segment per customer (Series indexed by ``customer_id``, or a frame with a ``segment``
        column, e.g. :func:`cxlib.segmentation.rfm_segments`). Used as a control and for the
        segment-level view (NPS by :func:`cxlib.nps.nps_by_segment`).
    clv : Series or DataFrame, optional, keyword-only
        CLV per customer (Series, or a frame with a ``clv`` column); adds a ``clv`` metric.
    churned : Series or DataFrame, optional, keyword-only
        The client's churn status per customer at ``observation_end`` (bool). Default: the
        base's ``churned`` column (the client's one churn definition, named in
        ``base.attrs["churn_definition"]`` and put in words in ``base.attrs["churn_words"]``).
    churn_days : int, optional, keyword-only
        Only answers given before the last ``churn_days`` days count for churn. Default: the
        base's ``attrs["churn_follow_up_days"]`` (the inactivity threshold for a definition
        read from a silence; none for a contract's end). Without a churn status, churned
        means no purchase in the last ``churn_days`` days (default: in the last
        ``follow_up_months``).
    churn_definition : str, optional, keyword-only
        The churn definition in words, for the output (``summary["churn_definition"]``);
        default the base's ``attrs["churn_words"]``, else the rule above.
    control_for_segment : bool, keyword-only
        Use the segments as a control in the regressions and for the within-segment effects
        (default True). Set it to False when the segments are measured *after* the answers
        from the same behaviour as the outcome — e.g. RFM segments at the data end, where
        "Lost" or "At Risk" already encode churn — so the segments only describe.
    promoter_min, detractor_max : int, keyword-only
        Category thresholds.
    follow_up_months : int, keyword-only
        Window after the answer for subsequent spend (default 6). Only answers given at least
        this long before ``observation_end`` enter the forward-looking views.
    prior_months : int, keyword-only
        Window before the answer for prior spend and orders (default 12).
    observation_end : date-like, optional, keyword-only
        End of the data; default the base's ``observation_end``, else the last transaction date.
    confidence : float, keyword-only
        Interval level for every interval (default 0.95).
    seed : int, keyword-only
        Seed for the cross-validation folds.

    Returns
    -------
    NPSRevenueResult
        Tidy frames (see the class) and :meth:`NPSRevenueResult.conclusion`.

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=1)
    >>> result = nps_vs_revenue(demo.surveys, demo.transactions)
    >>> print(result.conclusion().splitlines()[0])
    NPS is **-1** (95% CI -8 to +6) over 497 customers' latest answers.
    """
    caller = "nps_vs_revenue"
    if isinstance(surveys, pd.DataFrame):  # a survey dated by period: its periods' last days
        surveys = dated_answers(surveys, caller=caller)
    validate_columns(surveys, ["customer_id", "date", "score"], caller=caller)
    _check_thresholds(promoter_min, detractor_max, caller)
    confidence = check_fraction(confidence, "confidence", caller=caller)
    check_positive_int(follow_up_months, "follow_up_months", caller=caller)
    check_positive_int(prior_months, "prior_months", caller=caller)
    thresholds = dict(promoter_min=promoter_min, detractor_max=detractor_max)
    z = float(stats.norm.ppf(0.5 + confidence / 2))

    tx = _transactions_with_order_keys(transactions, caller)
    if observation_end is None and base is not None:
        observation_end = base.attrs.get("observation_end")
    end = pd.Timestamp(observation_end) if observation_end is not None else tx["date"].max()
    tx = tx[tx["date"] <= end]
    sv = _answers(surveys, end, thresholds, caller)
    if base is not None:
        segments = base["segment"] if segments is None and "segment" in base else segments
        clv = base["clv"] if clv is None and "clv" in base else clv
    segment_of = _as_customer_series(segments, "segment", caller)
    clv_of = _as_customer_series(clv, "clv", caller)
    churn = _churn_rule(base, churned, churn_days, churn_definition, follow_up_months, caller)

    table = _customer_table(base, transactions, sv, customers, end, caller)
    if clv_of is not None:
        table["clv"] = clv_of.reindex(table.index).astype(float)
    table["segment"] = (
        segment_of.reindex(table.index).astype(object).fillna("unknown")
        if segment_of is not None
        else "all"
    )
    latest = latest_answers(sv, caller=caller)
    latest["category"] = nps_category(latest["score"], **thresholds).to_numpy()
    overall = nps(latest["score"], confidence=confidence, **thresholds)
    history = latest.join(table, how="left")
    history_metrics = ["revenue", "orders", "aov", "tenure_years"] + (
        ["clv"] if clv_of is not None else []
    )
    forward = _forward_sample(
        sv,
        tx,
        table,
        end,
        follow_up_months=follow_up_months,
        prior_months=prior_months,
        churn=churn,
    )
    by_category, effects = outcomes.category_effects(
        [(history, history_metrics), (forward, ["prior_spend", "subsequent_spend", "churned"])],
        z=z,
        within_segment=control_for_segment and forward["segment"].nunique() > 1,
    )
    regressions, incremental = outcomes.regressions(
        forward,
        control_for_segment=control_for_segment,
        confidence=confidence,
        seed=seed,
        caller=caller,
        follow_up_months=follow_up_months,
    )
    segments_table = outcomes.segment_table(
        latest, table, forward, tx, end, thresholds=thresholds, confidence=confidence
    )
    periods = outcomes.period_table(sv, tx, end, thresholds=thresholds, confidence=confidence)
    answered = table.index.isin(latest.index)
    respondents = outcomes.respondent_table(table, answered, z)
    summary = outcomes.summary_scalars(segments_table, periods)
    summary.update(
        observation_end=end,
        follow_up_months=follow_up_months,
        prior_months=prior_months,
        confidence=confidence,
        n_answers=len(sv),
        n_respondents=len(latest),
        n_forward=len(forward),
        response_rate=float(answered.mean()),
        churn_definition=churn[2],
        has_segments=segment_of is not None,
        segment_controlled=segment_of is not None and control_for_segment,
        has_clv=clv_of is not None,
    )
    n_tests = _adjust_for_multiplicity(effects, regressions, incremental, respondents)
    summary["multiplicity"] = gettext(
        "p-values are Benjamini-Hochberg adjusted over the %(n)s tests of this analysis "
        "(column p_value; the raw ones are in p_value_unadjusted)"
    ) % {"n": n_tests}
    return NPSRevenueResult(
        overall=overall,
        by_category=by_category,
        effects=effects,
        by_score=outcomes.score_table(forward, z),
        regressions=regressions,
        incremental=incremental,
        segments=segments_table,
        periods=periods,
        respondents=respondents,
        customers=forward.reset_index()[list(_CUSTOMER_COLUMNS)],
        summary=summary,
    )


_CUSTOMER_COLUMNS = (
    "customer_id",
    "survey_date",
    "score",
    "category",
    "segment",
    "prior_spend",
    "prior_orders",
    "tenure_years",
    "subsequent_spend",
    "churned",
    "years_to_end",
)


def _adjust_for_multiplicity(*tables: pd.DataFrame) -> int:
    """Benjamini-Hochberg over every p-value of one call, in place; return how many tests.

    One call runs dozens of tests (effects, regression terms, incremental value, respondents);
    at 5% each, one or two would look real by chance. ``p_value`` becomes the adjusted value
    (so every verdict reads it) and the raw one is kept as ``p_value_unadjusted``.
    """
    from cxlib.settings.multiplicity import benjamini_hochberg

    raw = np.concatenate([t["p_value"].to_numpy(dtype=float) for t in tables if len(t)] or [[]])
    adjusted = benjamini_hochberg(raw)
    start = 0
    for table in tables:
        if not len(table):
            continue
        table["p_value_unadjusted"] = table["p_value"].to_numpy(dtype=float)
        table["p_value"] = adjusted[start : start + len(table)]
        start += len(table)
    return int(np.isfinite(raw).sum())
