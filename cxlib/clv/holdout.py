"""Validation on a holdout (Fader & Hardie) and the choice of purchase model.

Holdout summaries, predicted versus actual purchases, tracking curves.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.clv.flags import FitWarning, check, issue
from cxlib.clv.kinds import AUTO, continuous_kinds, display_name, purchase_kinds
from cxlib.clv.purchase import PurchaseModel, dropout_at_bound
from cxlib.customers import DEFAULT_HOLDOUT_WEEKS, default_calibration_end, rfm_summary
from cxlib.customers.purchases import check_freq as _check_freq
from cxlib.customers.purchases import clean_transactions as _clean_transactions
from cxlib.customers.purchases import factorize_ids as _factorize_ids
from cxlib.customers.purchases import period_ordinal as _period_ordinal
from cxlib.customers.purchases import positive_periods as _positive_periods
from cxlib.settings.dates import to_timestamp as _to_timestamp
from cxlib.settings.params import Options, check_param
from cxlib.settings.validation import DataError, validate_columns


def holdout_summary(
    transactions: pd.DataFrame,
    *,
    freq: str = "W",
    calibration_end=None,
    observation_end=None,
    holdout_weeks: int | None = DEFAULT_HOLDOUT_WEEKS,
) -> pd.DataFrame:
    """:func:`rfm_summary` with a holdout: ``calibration_end`` or, when None, cxlib's default.

    The default leaves the last ``holdout_weeks`` weeks for the holdout
    (:func:`default_calibration_end`; ``None`` derives the length from the history). The
    calibration end used is in
    ``summary.attrs["calibration_end"]``.
    """
    if calibration_end is None:
        calibration_end = default_calibration_end(
            transactions, observation_end=observation_end, holdout_weeks=holdout_weeks
        )
    summary = rfm_summary(
        transactions, freq=freq, observation_end=observation_end, calibration_end=calibration_end
    )
    summary.attrs["calibration_end"] = pd.Timestamp(calibration_end)
    return summary


@dataclass
class HoldoutValidation:
    """How well a purchase model fitted on the calibration period predicts the holdout.

    Attributes
    ----------
    kind : str
        The model.
    by_frequency : DataFrame
        Indexed by calibration ``frequency`` (the last bin is "N+"): ``customers``,
        ``actual`` and ``predicted`` mean holdout purchases per customer.
    actual_total, predicted_total : float
        Holdout purchases of all calibration customers.
    relative_error : float
        ``predicted_total / actual_total - 1``.
    mean_absolute_error : float
        Mean absolute difference per customer.
    """

    kind: str
    by_frequency: pd.DataFrame
    actual_total: float
    predicted_total: float
    relative_error: float
    mean_absolute_error: float


def validate_holdout(
    summary: pd.DataFrame, model: PurchaseModel, *, max_frequency: int = 7
) -> HoldoutValidation:
    """Compare predicted and actual holdout purchases (Fader & Hardie's conditional expectations).

    Parameters
    ----------
    summary : DataFrame
        From :func:`rfm_summary` with ``calibration_end`` (holdout columns required).
    model : PurchaseModel
        Fitted on the calibration columns of ``summary``.
    max_frequency : int, default 7
        Calibration frequencies at or above it are pooled into one "N+" bin.
    """
    caller = "validate_holdout"
    validate_columns(summary, ["frequency_holdout", "duration_holdout"], caller=caller)
    predicted = model.predict_purchases(summary, summary["duration_holdout"].to_numpy())
    actual = summary["frequency_holdout"].astype(float)
    capped = summary["frequency"].clip(upper=max_frequency).astype(int)
    table = pd.DataFrame({"bin": capped, "actual": actual, "predicted": predicted})
    grouped = table.groupby("bin").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    grouped.index = [str(i) if i < max_frequency else f"{max_frequency}+" for i in grouped.index]
    grouped.index.name = "frequency"
    actual_total, predicted_total = float(actual.sum()), float(predicted.sum())
    return HoldoutValidation(
        kind=model.kind,
        by_frequency=grouped,
        actual_total=actual_total,
        predicted_total=predicted_total,
        relative_error=predicted_total / actual_total - 1 if actual_total > 0 else np.nan,
        mean_absolute_error=float((predicted - actual).abs().mean()),
    )


def tracking(
    transactions: pd.DataFrame,
    model: PurchaseModel,
    *,
    calibration_end,
    observation_end=None,
    freq: str = "W",
) -> pd.DataFrame:
    """Repeat purchases per period, actual versus the model, across calibration and holdout.

    Fader & Hardie's tracking plot: for the customers whose first purchase falls in the
    calibration period, the model's expected repeat purchases in each calendar period are
    ``sum over cohorts of n_cohort * (E[X(k - f)] - E[X(k - 1 - f)])``, with ``f`` the cohort's
    first period and ``E[X(t)]`` the expected repeat purchases ``t`` periods after a first
    purchase. Purchases are counted as in :func:`rfm_summary` (one per customer and period
    with positive net spend).

    Returns
    -------
    DataFrame
        One row per period: ``period_start``, ``actual``, ``predicted``, ``actual_cumulative``,
        ``predicted_cumulative``, ``holdout`` (bool).
    """
    caller = "tracking"
    _check_freq(freq, caller)
    ids, dates, amounts = _clean_transactions(transactions, caller)
    cal_end = _to_timestamp(calibration_end, "calibration_end", caller)
    obs_end = (
        pd.Timestamp(dates.max())
        if observation_end is None
        else _to_timestamp(observation_end, "observation_end", caller)
    )
    if cal_end >= obs_end:
        raise DataError(f"{caller}: calibration_end must be before observation_end")
    codes, _ = _factorize_ids(ids, caller)
    keep = dates <= obs_end.to_datetime64()
    # A purchase is a day with positive net spend (as in rfm_summary); each is then counted in
    # the period of ``freq`` it falls in.
    days = _period_ordinal(dates, "D")
    cust, day, _ = _positive_periods(codes[keep], days[keep], amounts[keep])
    per = _period_ordinal(day.astype("datetime64[D]"), freq)
    first_day = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_day, cust, day)
    first = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, cust, per)
    cal_period = _period_ordinal(np.array([cal_end.to_datetime64()]), freq)[0]
    end_period = _period_ordinal(np.array([obs_end.to_datetime64()]), freq)[0]
    cohort = first <= cal_period
    start_period = per.min()
    span = np.arange(start_period, end_period + 1)
    repeat = (day > first_day[cust]) & cohort[cust]
    actual = np.bincount(per[repeat] - start_period, minlength=len(span))[: len(span)]
    cohorts = np.bincount(first[cohort] - start_period, minlength=len(span))[: len(span)]
    steps = np.arange(len(span))
    curve = model.expected_repeat_purchases(steps.astype(float))  # E[X(t)], t = 0, 1, ...
    cumulative = np.convolve(cohorts, curve)[: len(span)]
    predicted = np.diff(np.r_[0.0, cumulative])
    starts = _period_starts(span, freq)
    return pd.DataFrame(
        {
            "period_start": starts,
            "actual": actual.astype(float),
            "predicted": predicted,
            "actual_cumulative": np.cumsum(actual).astype(float),
            "predicted_cumulative": cumulative,
            "holdout": span > cal_period,
        }
    )


def _period_starts(ordinals: np.ndarray, freq: str) -> pd.DatetimeIndex:
    if freq == "M":
        return pd.DatetimeIndex(ordinals.astype("datetime64[M]").astype("datetime64[ns]"))
    days = ordinals * 7 - 3 if freq == "W" else ordinals
    return pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ns]"))


@dataclass
class ModelSelection:
    """Purchase models compared on the holdout, and the one chosen.

    Attributes
    ----------
    kind : str
        The chosen model.
    table : DataFrame
        One row per kind: ``log_likelihood``, ``actual_total``, ``predicted_total``,
        ``relative_error``, ``mean_absolute_error``, ``chosen``.
    models : dict of str to PurchaseModel
        The models fitted on the calibration period.
    validations : dict of str to HoldoutValidation
        Their holdout validations.
    flags : list of FitWarning
        Why the comparison carries no information (:func:`same_likelihood`); empty when the
        models differ. Issued as a ``UserWarning`` by :func:`select_model`.
    """

    kind: str
    table: pd.DataFrame
    models: dict
    validations: dict
    flags: list = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """The sentences of :attr:`flags`."""
        return [flag.message for flag in self.flags]

    @property
    def model(self) -> PurchaseModel:
        """The chosen model (fitted on the calibration period)."""
        return self.models[self.kind]

    @property
    def validation(self) -> HoldoutValidation:
        """The chosen model's holdout validation."""
        return self.validations[self.kind]

    @property
    def name(self) -> str:
        """The chosen model's name for a reader ("Pareto/NBD", not ``pareto_nbd``)."""
        return display_name(self.kind)

    @property
    def named_table(self) -> pd.DataFrame:
        """:attr:`table` indexed by the models' names for a reader (the page's table)."""
        names = [display_name(kind) for kind in self.table.index]
        return self.table.set_axis(pd.Index(names, name="model"))


#: How :func:`select_model` ranks models: absolute relative error of the holdout total.
SELECTION_CRITERIA = ("total", "mae")

#: Largest spread of the compared models' log-likelihoods, per calibration customer, that
#: counts as the same likelihood (:func:`same_likelihood`).
SAME_LIKELIHOOD_PER_CUSTOMER = 1e-6


def same_likelihood(selection: ModelSelection) -> list[FitWarning]:
    """Flag a model comparison whose models have the same likelihood on the calibration period.

    The compared models have the same number of parameters (four), so their maximised
    log-likelihoods compare directly. They are "the same" when their spread (largest minus
    smallest) is at most :data:`SAME_LIKELIHOOD_PER_CUSTOMER` (1e-6) per calibration customer.
    Why that tolerance: when nobody drops out every model reduces to the NBD and the maxima
    agree to the optimiser's precision, about 1e-11 per customer (1e-8 over 500 simulated
    customers); models that really differ are of order 1e-3 per customer apart (CDNOW:
    77 log-likelihood units over 23,570 customers, 3e-3). 1e-6 sits three orders of magnitude
    below a real difference and five above the numerical noise; as a likelihood ratio it is
    ``exp(1e-6 n)``, 1.02 at CDNOW's size, which no selection criterion could act on.

    Returns
    -------
    list of FitWarning
        One flag when the likelihoods are the same (it says whether every model's dropout is
        at its bound, :func:`~cxlib.clv.purchase.dropout_at_bound`), else none.
    """
    table = selection.table
    if len(table) < 2:
        return []
    likelihoods = table["log_likelihood"].to_numpy(dtype=float)
    if not np.isfinite(likelihoods).all():
        return []
    n_customers = max(model.n_customers_ for model in selection.models.values())
    tolerance = SAME_LIKELIHOOD_PER_CUSTOMER * n_customers
    spread = float(np.ptp(likelihoods))
    if spread > tolerance:
        return []
    names = [display_name(kind) for kind in table.index]
    shown = ", ".join(f"{n} {v:,.2f}" for n, v in zip(names, likelihoods, strict=True))
    no_dropout = all(dropout_at_bound(m).at_bound for m in selection.models.values())
    why = (
        "with no dropout in any of them they all reduce to the same model (the NBD)"
        if no_dropout
        else "the calibration data cannot tell them apart"
    )
    return [
        FitWarning(
            "clv_model_warning",
            "Warning on the purchase model",
            "The purchase models compared on the holdout are indistinguishable (same "
            f"likelihood): their calibration log-likelihoods ({shown}) differ by {spread:.3g}, "
            f"within {tolerance:.3g} ({SAME_LIKELIHOOD_PER_CUSTOMER:.0e} per customer); {why}, "
            "so the choice among them carries no information.",
            (
                check("calibration log-likelihoods of the compared models", likelihoods, "finite"),
                check(
                    "spread (largest minus smallest) of the compared models' calibration "
                    "log-likelihoods",
                    spread,
                    "<=",
                    tolerance,
                ),
            ),
        )
    ]


def select_model(
    summary: pd.DataFrame,
    *,
    kind: str = "auto",
    kinds=None,
    criterion: str = "total",
    penalizer: float = 0.0,
) -> ModelSelection:
    """Fit each purchase model on the calibration period and pick one by holdout error.

    Parameters
    ----------
    summary : DataFrame
        From :func:`rfm_summary` with ``calibration_end`` (see :func:`holdout_summary`).
    kind : {"auto", "bgnbd", "pareto_nbd", "mbgnbd"}, default "auto"
        "auto" chooses by ``criterion``; a model name overrides the choice (all are still
        fitted and reported).
    kinds : sequence of str, optional
        Models to compare; by default every model of a summary in periods
        (:func:`~cxlib.clv.kinds.continuous_kinds`), in the registry's order.
    criterion : {"total", "mae"}, default "total"
        "total": smallest absolute error of the aggregate holdout purchases; "mae": smallest
        mean absolute error per customer.
    penalizer : float, default 0.0
        Passed to :class:`PurchaseModel`.

    Warns
    -----
    UserWarning
        When the compared models have the same likelihood (:func:`same_likelihood`), besides
        the candidate fits' own warnings (:attr:`PurchaseModel.warnings_`).
    """
    caller = "select_model"
    names = list(purchase_kinds())
    check_param("kind", kind, Options([AUTO, *names], words=f"{AUTO!r} or one of {names}"),
                caller=caller)  # fmt: skip
    check_param("criterion", criterion, Options(SELECTION_CRITERIA), caller=caller)
    kinds = list(continuous_kinds() if kinds is None else kinds)
    if kind != AUTO and kind not in kinds:
        kinds.append(kind)
    models, validations, rows = {}, {}, []
    for name in kinds:
        try:
            model = PurchaseModel(name, penalizer=penalizer).fit(summary)
        except DataError as exc:
            warnings.warn(f"{caller}: {name} could not be fitted: {exc}", stacklevel=2)
            continue
        check = validate_holdout(summary, model)
        models[name], validations[name] = model, check
        rows.append(
            {
                "kind": name,
                "log_likelihood": model.log_likelihood_,
                "actual_total": check.actual_total,
                "predicted_total": check.predicted_total,
                "relative_error": check.relative_error,
                "mean_absolute_error": check.mean_absolute_error,
            }
        )
    if not rows:
        raise DataError(f"{caller}: none of the purchase models {kinds} could be fitted")
    table = pd.DataFrame(rows).set_index("kind")
    score = table["relative_error"].abs() if criterion == "total" else table["mean_absolute_error"]
    if kind == AUTO and score.isna().all():  # no holdout purchase: no error to rank by
        raise DataError(
            f"{caller}: the holdout has no purchase ({int(table['actual_total'].iloc[0])} "
            f"actual), so the relative error of the models cannot be computed and no model can "
            "be chosen on it; use a longer holdout, or name the model (clv_model in the config)"
        )
    chosen = str(score.idxmin()) if kind == AUTO else kind
    if chosen not in models:
        raise DataError(f"{caller}: the requested model {kind!r} could not be fitted")
    table["chosen"] = table.index == chosen
    selection = ModelSelection(kind=chosen, table=table, models=models, validations=validations)
    selection.flags = same_likelihood(selection)
    issue(selection.flags)
    return selection
