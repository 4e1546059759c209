"""Whom to treat: each customer's effect from a test, the policy it implies, and its net value.

:func:`target` learns from a finished test (treatment vs control) which customers respond:

1. **Features** of every tested customer as of the day before the start: the customer base as
   of that day (:func:`cxlib.customers.customer_base`), the metric's pre-period (what CUPED
   uses) and the customer table's attributes (one-hot, as the churn page's Cox model); and the
   **outcome** over the test's window (``revenue`` or ``retention``, read exactly as
   :func:`cxlib.experiments.measure` reads it).
2. **Out-of-fold effects**: the customers are split in ``n_folds`` folds (stratified by group);
   each learner (:class:`~cxlib.experiments._uplift.TLearner`,
   :class:`~cxlib.experiments._uplift.XLearner`) is fitted on all folds but one and scores the
   one left out, so every customer's score comes from a model that never saw them.
3. **Which learner**: the one whose out-of-fold scores rank customers best, by the area of the
   doubly robust uplift curve (:func:`~cxlib.experiments._uplift.qini_area`); the result says
   which won and by how much.
4. **The policy**: treat a customer when ``margin x uplift > cost_per_treated``. Its **net
   value** on the tested customers (gross margin of the extra metric minus the cost of those
   treated, over the test's horizon, against treating no one) is estimated out of fold with
   each customer's doubly robust effect (the outcome models of the held-out fold), with a 95%
   interval from its influence function (normal approximation). The same estimate is given
   for treating everyone, and for the gain of targeting over the better of "everyone" and
   "no one".
5. **Targeting adds nothing** when that gain's interval includes zero: the recommendation is
   then the simple policy (everyone when it pays, else no one), and the result says so.

Honesty notes: the scores, the outcome models in the value and the curve are all out of fold;
choosing one learner of two on the same folds adds a small optimism, not corrected. The
interval treats the policy as fixed and the customers as independent (a normal approximation):
on ``tests/test_targeting.py``'s simulation (4,000 customers, seeds 10 to 29) it covered the
policy's true net value 17 times in 20, with the learner fixed as well, so read it as
approximate: it ignores that the folds' models share training customers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from cxlib.customers import customer_base
from cxlib.data._assignments import CONTROL
from cxlib.experiments._uplift import TLearner, XLearner, dr_effects, qini_area, uplift_curve
from cxlib.experiments.measure import _assigned, _outcomes, active_customers
from cxlib.settings.i18n import gettext as _
from cxlib.settings.i18n import ngettext, number
from cxlib.settings.params import Options, check_param, check_positive_int
from cxlib.settings.validation import DataError, check_transactions

__all__ = ["LEARNERS", "TargetingResult", "responders", "responders_text", "target"]

#: The learners compared, by name (see :mod:`cxlib.experiments._uplift`).
LEARNERS = {"T-learner": TLearner, "X-learner": XLearner}
#: Attribute levels kept (the rest pooled as "other"), as the churn page's Cox model.
_MAX_LEVELS = 8
_Z = float(stats.norm.ppf(0.975))


def _one_thread(function):
    """Run ``function`` with one OpenMP thread.

    Its many short gradient-boosting fits stall whenever another job holds a core (as the
    churn model's, :mod:`cxlib.churn.model`).
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="openmp"):
            return function(*args, **kwargs)

    return wrapper


@dataclass
class TargetingResult:
    """What :func:`target` learned; every money figure is gross margin net of campaign cost.

    Attributes
    ----------
    scores : DataFrame
        Indexed by ``customer_id``: ``uplift`` (predicted extra metric over the horizon if
        treated, out of fold), ``group``.
    treat : Series
        Recommended policy (bool per ``customer_id``).
    value, value_low, value_high : float
        Net value of the recommended policy on the tested customers over the horizon, 95%.
    everyone, everyone_low, everyone_high : float
        Net value of treating every tested customer, the same way.
    targeted, targeted_low, targeted_high : float
        Net value of treating where ``margin x uplift > cost`` (the scores' own policy).
    gain, gain_low, gain_high : float
        ``targeted`` minus the better simple policy (everyone, or no one).
    policy : str
        ``"targeted"``, ``"everyone"`` or ``"no one"``.
    qini : DataFrame
        The uplift curve of the chosen scores (``customers``, ``share``, ``uplift``,
        ``random``, ``net_value``, ``net_random``), with ``attrs`` ``area``, ``area_low``,
        ``area_high`` (per customer; 95% bootstrap) and ``best_customers`` (the k worth most).
    learner : str
        The learner chosen; ``learners`` compares them (out-of-fold Qini area and interval).
    choice, verdict : str
        Sentences: which learner won and why; what to do and what it is worth.
    """

    scores: pd.DataFrame
    treat: pd.Series
    value: float
    value_low: float
    value_high: float
    everyone: float
    everyone_low: float
    everyone_high: float
    targeted: float
    targeted_low: float
    targeted_high: float
    gain: float
    gain_low: float
    gain_high: float
    policy: str
    qini: pd.DataFrame
    learner: str
    learners: pd.DataFrame
    choice: str
    verdict: str
    metric: str
    margin: float
    cost_per_treated: float
    horizon_days: int
    start: pd.Timestamp
    treatment: str
    model: TLearner = field(repr=False)
    feature_columns: list[str] = field(repr=False)
    customers: pd.DataFrame | None = field(default=None, repr=False)
    effects: pd.Series | None = field(default=None, repr=False)
    features: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def picked(self) -> pd.Series:
        """The scores' own policy: treat where ``margin x uplift > cost`` (bool per customer)."""
        picked = self.margin * self.scores["uplift"] > self.cost_per_treated
        return picked.rename("picked")

    @property
    def targeting_adds_value(self) -> bool:
        """True when ranking by the scores is worth more than the better simple policy."""
        return self.policy == "targeted"

    @_one_thread
    def score(self, transactions: pd.DataFrame, *, as_of=None, days: int = 365) -> pd.DataFrame:
        """Score the active base for the next campaign with the chosen learner (all tested).

        Every customer with a purchase in the ``days`` days before ``as_of`` (default: the
        day after the last transaction; :func:`cxlib.experiments.active_customers`, the
        roll-out's customers) gets ``uplift`` (predicted extra metric over the test's
        horizon) and ``treat`` (``margin x uplift > cost``), from features as of the day before
        ``as_of``. The model is the chosen learner refitted on every tested customer.
        """
        tx = check_transactions(transactions, caller="TargetingResult.score")
        as_of = tx["date"].max().normalize() + pd.Timedelta(days=1) if as_of is None else (
            pd.Timestamp(as_of))  # fmt: skip
        ids = active_customers(tx, as_of=as_of, days=days).astype(str)
        table = pd.DataFrame({"customer_id": ids, "start": as_of})
        X = _features(tx, self.customers, table, self.horizon_days, self.feature_columns)
        uplift = self.model.predict(X.to_numpy(dtype=float))
        out = pd.DataFrame({"uplift": uplift}, index=ids)
        out["treat"] = self.margin * out["uplift"] > self.cost_per_treated
        return out.sort_values("uplift", ascending=False, kind="stable")


def _one_hot(table: pd.DataFrame) -> pd.DataFrame:
    """Attributes as numbers: numeric as they are (missing: the median), text one-hot.

    Text columns are encoded as the churn page's Cox model encodes them (against their most
    common level, the top :data:`_MAX_LEVELS` levels kept and the rest pooled as ``"other"``,
    columns named ``column=level``); a text column with a value for most customers (an
    identifier or free text) is not a group and is left out.
    """
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            continue
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(float).fillna(values.median())
            continue
        values = values.astype(str).where(values.notna(), "missing")
        counts = values.value_counts()
        if len(counts) > max(_MAX_LEVELS, 0.5 * len(values)):
            continue
        values = values.where(values.isin(counts.index[:_MAX_LEVELS]), "other")
        for level in sorted(set(values) - {counts.index[0]}):
            out[f"{column}={level}"] = (values == level).astype(float)
    return out


def _features(tx, customers, table, horizon_days, columns=None) -> pd.DataFrame:
    """Features of ``table``'s customers as of the day before the (earliest) start.

    The customer base as of that day (:func:`cxlib.customers.customer_base`: frequency,
    recency, revenue, tenure, refunds, ...; customers without a purchase get zeros and
    ``no_history``), the metric's pre-period (the ``horizon_days`` before the start, as
    :func:`measure` reads it for CUPED) and the customer table's attributes (:func:`_one_hot`).
    ``columns`` (scoring) reindexes to the training columns: a level unseen then counts as 0.
    """
    ids = pd.Index(table["customer_id"], name="customer_id")
    as_of = pd.Timestamp(table["start"].min()) - pd.Timedelta(days=1)
    base = customer_base(tx, observation_end=as_of)
    numeric = base.select_dtypes("number").drop(columns=["T"], errors="ignore")
    out = numeric.reindex(ids).fillna(0.0)
    out["no_history"] = (~ids.isin(base.index)).astype(float)
    pre = _outcomes(tx, table, horizon_days, None, 9, 6)
    out = out.join(pre[["pre_revenue", "pre_retention"]])
    if customers is not None:
        attributes = customers.assign(customer_id=customers["customer_id"].astype(str))
        attributes = attributes.drop_duplicates("customer_id").set_index("customer_id")
        out = out.join(_one_hot(attributes.reindex(ids)))
    if columns is not None:
        out = out.reindex(columns=columns, fill_value=0.0)
    return out.astype(float)


def _policy_values(effects, treat, margin, cost) -> dict[str, tuple[float, float, float]]:
    """Net values (value, low, high) of a policy, of everyone, and of the gain; 95%."""
    net = margin * effects - cost
    n = len(net)

    def total(x: np.ndarray) -> tuple[float, float, float]:
        value, se = float(x.sum()), float(np.std(x, ddof=1) * np.sqrt(n)) if n > 1 else 0.0
        return value, value - _Z * se, value + _Z * se

    targeted = treat * net
    everyone = total(net)
    simple = net if everyone[0] > 0 else np.zeros(n)
    return {"targeted": total(targeted), "everyone": everyone, "gain": total(targeted - simple)}


def _cross_fit(X, y, w, folds, seed) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Out-of-fold effects per learner, and out-of-fold outcome models (mu_1, mu_0).

    The X-learner's first stage is the T-learner (the same two outcome models, same seed), so
    one fit per fold gives both learners' scores.
    """
    n = len(y)
    scores = {name: np.empty(n) for name in LEARNERS}
    mu1, mu0 = np.empty(n), np.empty(n)
    for train, test in folds.split(X, w):
        model = XLearner(random_state=seed).fit(X[train], y[train], w[train])
        mu1[test], mu0[test] = model.outcomes(X[test])
        scores["T-learner"][test] = mu1[test] - mu0[test]
        scores["X-learner"][test] = model.predict(X[test])
    return scores, mu1, mu0


def _compare(scores, effects, seed, n_boot) -> pd.DataFrame:
    """Each learner's out-of-fold Qini area with a bootstrap interval (same draws for all)."""
    rng = np.random.default_rng(seed)
    weights = rng.poisson(1.0, size=(len(effects), n_boot))
    rows = {}
    for name, s in scores.items():
        area = float(qini_area(uplift_curve(s, effects)))
        boot = qini_area(uplift_curve(s, effects, weights=weights))
        rows[name] = {"qini_area": area, "area_low": float(np.quantile(boot, 0.025)),
                      "area_high": float(np.quantile(boot, 0.975))}  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("learner")
    return table.sort_values("qini_area", ascending=False, kind="stable")


def _choice_sentence(learners: pd.DataFrame, unit: str) -> str:
    best, other = learners.index[0], learners.index[1]
    a, b = learners["qini_area"].iloc[0], learners["qini_area"].iloc[1]
    return _(
        "%(best)s chosen: its out-of-fold scores rank customers better (Qini area %(a)s "
        "%(unit)s per customer, 95%% interval %(low)s to %(high)s) than the %(other)s's "
        "(%(b)s); the area is the extra effect per tested customer that ranking by the score "
        "captures over random picks, averaged over how many are treated."
    ) % {
        "best": best,
        "a": number(a, "+,.3f"),
        "unit": unit,
        "low": number(learners["area_low"].iloc[0], "+,.3f"),
        "high": number(learners["area_high"].iloc[0], "+,.3f"),
        "other": other,
        "b": number(b, "+,.3f"),
    }


def _verdict(values, policy, n_treat, n, unit) -> str:
    v, lo, hi = values["targeted"]
    e, elo, ehi = values["everyone"]
    g, glo, ghi = values["gain"]

    def money(value, low, high) -> str:
        return _("%(unit)s %(value)s (%(low)s to %(high)s)") % {
            "unit": unit,
            "value": number(value, ",.0f"),
            "low": number(low, ",.0f"),
            "high": number(high, ",.0f"),
        }

    if policy == "targeted":
        return _(
            "Treat %(picked)s of the %(n)s tested customers, not all: worth %(value)s net of "
            "campaign cost over the test's horizon, against %(everyone)s for treating "
            "everyone; targeting adds %(gain)s."
        ) % {
            "picked": number(n_treat, ","),
            "n": number(n, ","),
            "value": money(v, lo, hi),
            "everyone": money(e, elo, ehi),
            "gain": money(g, glo, ghi),
        }
    simple = (
        _("Treat all %(n)s tested customers") % {"n": number(n, ",")}
        if policy == "everyone"
        else _("Treat no one")
    )
    worth = money(e, elo, ehi) if policy == "everyone" else f"{unit} 0"
    picked = {"picked": number(n_treat, ",")}
    if ghi < 0:
        why = _("treating the %(picked)s customers the scores pick would lose %(money)s against it")
        picked["money"] = money(-g, -ghi, -glo)
    else:
        why = _(
            "treating the %(picked)s customers the scores pick would gain %(money)s, an interval "
            "including zero"
        )
        picked["money"] = money(g, glo, ghi)
    return _(
        "%(simple)s (%(worth)s net of campaign cost over the test's horizon): targeting adds "
        "nothing measurable (%(why)s)."
    ) % {"simple": simple, "worth": worth, "why": why % picked}


@_one_thread
def target(
    transactions: pd.DataFrame,
    assignments: pd.DataFrame,
    *,
    start=None,
    horizon_days: int,
    customers: pd.DataFrame | None = None,
    metric: str = "revenue",
    margin: float,
    cost_per_treated: float,
    seed: int = 0,
    treatment: str | None = None,
    n_folds: int = 5,
    n_boot: int = 200,
    unit: str = "",
) -> TargetingResult:
    """Learn from a test whom to treat, and what that policy is worth net of its cost.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (history before the start and the test's window).
    assignments : DataFrame
        One experiment's assignments (``customer_id``, ``group``, ``start`` unless ``start``
        is given), with a ``control`` group and one treatment (or name it: ``treatment``).
    start : date-like, optional
        The test's start (default each customer's ``start``); features are as of the day
        before the earliest start.
    horizon_days : int
        Days of the window the outcome is read over (as :func:`measure`).
    customers : DataFrame, optional
        The customer table; its attributes are features (one-hot, as the churn model's).
    metric : {"revenue", "retention"}
        The outcome: net spend in the window, or whether the customer bought.
    margin : float
        Gross margin on the metric (``analysis.margin`` for revenue; the money of one retained
        customer, as a number, is not a margin: use revenue for money).
    cost_per_treated : float
        Cost of treating one customer (``analysis.experiment_costs``).
    seed : int, default 0
        Folds, models and bootstrap; same data and seed, same numbers.
    treatment : str, optional
        The treatment group when the test has several.
    n_folds : int, default 5
    n_boot : int, default 200
        Bootstrap replicates for the Qini areas' intervals.
    unit : str, default ""
        Currency for the sentences.

    Returns
    -------
    TargetingResult
    """
    caller = "target"
    tx = check_transactions(transactions, caller=caller)
    check_param("metric", metric, Options(("revenue", "retention")), caller=caller)
    check_positive_int(horizon_days, "horizon_days", caller=caller)
    check_positive_int(n_folds, "n_folds", caller=caller)
    if not 0 < margin <= 1 or not np.isfinite(cost_per_treated) or cost_per_treated < 0:
        raise DataError(
            f"{caller}: margin must be in (0, 1] and cost_per_treated >= 0, got {margin!r}, "
            f"{cost_per_treated!r}"
        )
    table = _assigned(assignments, start, caller)
    treatment = _treatment(table, treatment, caller)
    table = table[table["group"].isin([CONTROL, treatment])].reset_index(drop=True)
    if (table["start"] + pd.Timedelta(days=horizon_days - 1)).max() > tx["date"].max():
        raise DataError(f"{caller}: the window of {horizon_days} days runs past the data")
    first = pd.Timestamp(table["start"].min())
    y = _outcomes(tx, table, horizon_days, None, 9, 6)[metric]
    ids = pd.Index(y.index, name="customer_id")
    w = (table.set_index("customer_id")["group"].reindex(ids) == treatment).to_numpy()
    frame = _features(tx, customers, table, horizon_days)
    X, yv = frame.to_numpy(dtype=float), y.to_numpy(dtype=float)
    if min(w.sum(), (~w).sum()) < 2 * n_folds:
        raise DataError(f"{caller}: too few customers per group for {n_folds} folds")
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    oof, mu1, mu0 = _cross_fit(X, yv, w, folds, seed)
    effects = dr_effects(yv, w, mu1, mu0, float(w.mean()))
    learners = _compare(oof, effects, seed, n_boot)
    best = str(learners.index[0])
    chosen = oof[best]
    wanted = margin * chosen > cost_per_treated
    values = _policy_values(effects, wanted, margin, cost_per_treated)
    policy = "targeted" if values["gain"][1] > 0 else (
        "everyone" if values["everyone"][0] > 0 else "no one")  # fmt: skip
    treat = {"targeted": wanted, "everyone": np.ones_like(wanted), "no one": ~np.ones_like(wanted)}
    value = {"targeted": values["targeted"], "everyone": values["everyone"],
             "no one": (0.0, 0.0, 0.0)}[policy]  # fmt: skip
    qini = _qini(chosen, effects, margin, cost_per_treated, learners.loc[best])
    model = LEARNERS[best](random_state=seed).fit(X, yv, w)  # for scoring the next base
    return TargetingResult(
        scores=pd.DataFrame({"uplift": chosen, "group": np.where(w, treatment, CONTROL)},
                            index=ids),
        treat=pd.Series(treat[policy].astype(bool), index=ids, name="treat"),
        value=value[0], value_low=value[1], value_high=value[2],
        everyone=values["everyone"][0], everyone_low=values["everyone"][1],
        everyone_high=values["everyone"][2],
        targeted=values["targeted"][0], targeted_low=values["targeted"][1],
        targeted_high=values["targeted"][2],
        gain=values["gain"][0], gain_low=values["gain"][1], gain_high=values["gain"][2],
        policy=policy, qini=qini, learner=best, learners=learners,
        choice=_choice_sentence(learners, unit or metric),
        verdict=_verdict(values, policy, int(wanted.sum()), len(ids), unit or "money"),
        metric=metric, margin=float(margin), cost_per_treated=float(cost_per_treated),
        horizon_days=int(horizon_days), start=first, treatment=treatment, model=model,
        feature_columns=list(frame.columns), customers=customers,
        effects=pd.Series(effects, index=ids, name="effect"), features=frame,
    )  # fmt: skip


def _treatment(table: pd.DataFrame, treatment: str | None, caller: str) -> str:
    groups = sorted(set(table["group"]) - {CONTROL})
    if treatment is None and len(groups) == 1:
        return groups[0]
    if treatment in groups:
        return str(treatment)
    raise DataError(
        f"{caller}: name the treatment group to target (treatment=...), one of {groups}"
    )


def _qini(scores, effects, margin, cost, areas) -> pd.DataFrame:
    curve = uplift_curve(scores, effects)
    curve["net_value"] = margin * curve["uplift"] - cost * curve["customers"]
    curve["net_random"] = margin * curve["random"] - cost * curve["customers"]
    curve.attrs.update(
        area=float(areas["qini_area"]), area_low=float(areas["area_low"]),
        area_high=float(areas["area_high"]),
        best_customers=int(curve["customers"].iloc[int(curve["net_value"].to_numpy().argmax())]),
    )  # fmt: skip
    return curve


def _groups(result: TargetingResult) -> pd.Series:
    """Each tested customer's groups: attribute levels and their 12-month spend quarter."""
    labels = []
    ids = result.scores.index
    if result.customers is not None:
        table = result.customers.assign(customer_id=result.customers["customer_id"].astype(str))
        table = table.drop_duplicates("customer_id").set_index("customer_id").reindex(ids)
        for column in table.columns:
            values = table[column]
            text = not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
            if not text or pd.api.types.is_datetime64_any_dtype(values):
                continue
            if values.nunique() <= _MAX_LEVELS:
                labels.append(values.map(lambda v, c=column: f"{c}: {v}", na_action="ignore"))
    spend = result.features["revenue_12m"]
    quarters = [_("bottom quarter"), _("second quarter"), _("third quarter"), _("top quarter")]
    ranked = spend.rank(method="first")
    band = pd.qcut(ranked, 4, labels=quarters).astype(str)
    labels.append(_("spend in the 12 months before the test: ") + band)
    return pd.concat(labels).dropna()


def responders(result: TargetingResult, *, min_customers: int = 100) -> pd.DataFrame:
    """Return customer groups by predicted effect, highest first, with the measured effect.

    The groups are the customer table's attribute levels (at most :data:`_MAX_LEVELS`) and the
    quarters of spend in the 12 months before the test. Per group: ``customers``,
    ``predicted`` (mean out-of-fold uplift) and ``measured`` (mean doubly robust effect, with
    ``ci_low`` / ``ci_high``, 95%): the second checks the first on the same customers, with the
    test's own noise. Groups under ``min_customers`` are left out.
    """
    groups = _groups(result)
    scores = result.scores["uplift"].reindex(groups.index).to_numpy()
    effects = result.effects.reindex(groups.index).to_numpy()
    frame = pd.DataFrame({"group": groups.to_numpy(), "predicted": scores, "effect": effects})
    out = frame.groupby("group").agg(
        customers=("effect", "size"), predicted=("predicted", "mean"),
        measured=("effect", "mean"), sd=("effect", "std"),
    )  # fmt: skip
    half = _Z * out["sd"] / np.sqrt(out["customers"])
    out["ci_low"], out["ci_high"] = out["measured"] - half, out["measured"] + half
    out = out[out["customers"] >= min_customers].drop(columns="sd")
    return out.sort_values(["predicted", "customers"], ascending=[False, False], kind="stable")


def responders_text(table: pd.DataFrame, *, horizon_days: int, unit: str = "", k: int = 2) -> str:
    """Say who responds most and least, from :func:`responders`' table.

    Examples
    --------
    >>> table = pd.DataFrame({"customers": [200, 300], "predicted": [12.0, -1.0],
    ...     "measured": [10.0, 0.5], "ci_low": [4.0, -3.0], "ci_high": [16.0, 4.0]},
    ...     index=pd.Index(["region: north", "region: south"], name="group"))
    >>> responders_text(table, horizon_days=90, unit="EUR", k=1)  # doctest: +NORMALIZE_WHITESPACE
    'Respond most: region: north (200 customers; predicted EUR +12.00 per customer over 90 days,
    measured +10.00, 95% interval +4.00 to +16.00). Respond least: region: south (300 customers;
    predicted EUR -1.00 per customer over 90 days, measured +0.50, 95% interval -3.00 to +4.00).'
    """
    if table.empty:
        return _("No customer group is large enough to compare.")
    k = min(k, len(table) // 2) or 1

    def say(rows: pd.DataFrame) -> str:
        return "; ".join(
            ngettext(
                "%(group)s (%(n)s customers; predicted %(unit)s %(predicted)s per customer over "
                "%(days)s days, measured %(measured)s, 95%% interval %(low)s to %(high)s)",
                "%(group)s (%(n)s customers; predicted %(unit)s %(predicted)s per customer over "
                "%(days)s days, measured %(measured)s, 95%% interval %(low)s to %(high)s)",
                int(row.customers),
            )
            % {
                "group": group,
                "n": number(int(row.customers), ",d"),
                "unit": unit,
                "predicted": number(row.predicted, "+,.2f"),
                "days": horizon_days,
                "measured": number(row.measured, "+,.2f"),
                "low": number(row.ci_low, "+,.2f"),
                "high": number(row.ci_high, "+,.2f"),
            }
            for group, row in rows.iterrows()
        ).replace("  ", " ")

    most = say(table.head(k))
    if len(table) < 2:
        return _("Respond most: %(most)s.") % {"most": most}
    return _("Respond most: %(most)s. Respond least: %(least)s.") % {
        "most": most,
        "least": say(table.tail(k).iloc[::-1]),
    }
