"""Drivers of churn: a Cox proportional-hazards model on the survival table (lifelines).

:func:`cox_drivers` fits it on :func:`cxlib.churn.survival_table`'s lifetimes, on the
attributes the client's data carry or, without any, on what the purchase history fixes at
acquisition, and checks the proportional-hazards assumption.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlib.churn._common import DEFAULT_FEATURE_LABELS, DEFAULT_MAX_LEVELS
from cxlib.churn.survival import MIN_GROUP_SIZE
from cxlib.settings.params import param_error
from cxlib.settings.validation import validate_columns


@dataclass
class CoxResult:
    """A Cox proportional-hazards model of churn drivers.

    Attributes
    ----------
    hazard_ratios : DataFrame
        One row per covariate: ``covariate`` (column name), ``name`` (plain language),
        ``hazard_ratio``, ``ci_lower``, ``ci_upper``, ``p_value``, ``ph_p_value`` (test of
        proportional hazards for that covariate; small = the effect changes over time).
        Sorted by hazard ratio, highest first. Empty when no driver could be estimated.
    reference_levels : dict
        For each categorical driver, the level the others are compared with.
    concordance : float
        Harrell's C of the fitted model (NaN without a model).
    ph_violations : list of str
        Covariates whose proportional-hazards test has p < 0.01.
    model : lifelines.CoxPHFitter or None
    method : str
        One sentence on the fit (penalised or not), for the page; without a model, why not.
    note : str
        For the page: the drivers the model uses and where they come from (the client's
        attributes, or the first purchase when it has none), those left out for having one
        value, or why there is no model at all.
    """

    hazard_ratios: pd.DataFrame
    reference_levels: dict
    concordance: float
    ph_violations: list
    model: Any = field(repr=False)
    method: str = ""
    note: str = ""

    @property
    def fit_note(self) -> str:
        """The concordance and the effects that change with tenure; empty without a model."""
        if self.model is None:
            return ""
        names = self.hazard_ratios.set_index("covariate")["name"]
        changing = ", ".join(str(names.get(c, c)) for c in self.ph_violations) or "none"
        return f"Concordance {self.concordance:.3f}; effects that change with tenure: {changing}."

    @classmethod
    def empty(cls, note: str) -> CoxResult:
        """Return a result without a model, carrying the sentence that says why."""
        columns = ["covariate", "name", "hazard_ratio", "ci_lower", "ci_upper", "p_value",
                   "ph_p_value"]  # fmt: skip
        return cls(pd.DataFrame(columns=columns), {}, float("nan"), [], None, note, note)


#: Columns :func:`cox_drivers` uses by default: the attributes the client's data carry.
COX_ATTRIBUTES = (
    "segment",
    "acquisition_channel",
    "first_category",
    "first_channel",
    "acquisition_cost",
    "n_complaints",
)
#: What the purchase history itself fixes at acquisition (:func:`survival_table`): the drivers
#: :func:`cox_drivers` falls back on when the table has none of :data:`COX_ATTRIBUTES`.
COX_HISTORY = ("first_purchase_value", "acquisition_month")

_ATTRIBUTE_WORDS = {"n_complaints": "complaints during the lifetime"}
_HISTORY_WORDS = {
    "first_purchase_value": "the value of the first purchase (the ratio is per doubling)",
    "acquisition_month": "when the customer was acquired",
}


def cox_drivers(
    table: pd.DataFrame,
    *,
    covariates: list[str] | None = None,
    penalizer: float = 0.01,
    max_levels: int = DEFAULT_MAX_LEVELS,
    ph_sample: int = 5000,
    seed: int = 0,
) -> CoxResult:
    """Fit a Cox model of the drivers of churn and check proportional hazards (lifelines).

    Categorical covariates are one-hot encoded against their most common level (levels
    beyond ``max_levels`` pooled as ``"other"``); numeric ones are used as they are (missing
    values -> median), except ``first_purchase_value``, used on a log2 scale (its ratio is per
    doubling). Covariates with one value for every customer are left out. Hazard ratios above
    1 mean faster churn.

    A client whose data carry none of :data:`COX_ATTRIBUTES` (a transactions table with
    customer, date and amount only) gets the drivers its purchase history fixes at
    acquisition, :data:`COX_HISTORY`: the first purchase's value and the acquisition month
    (coarsened to quarters or years when there are more than ``max_levels`` months). When
    nothing varies, or no customer's churn was observed, the result has no model and its
    ``note`` says why.

    Parameters
    ----------
    table : DataFrame
        From :func:`survival_table`.
    covariates : list of str, optional
        Defaults to those of :data:`COX_ATTRIBUTES` present, else those of
        :data:`COX_HISTORY`.
    penalizer : float, default 0.01
        L2 penalty of :class:`lifelines.CoxPHFitter` (keeps separated levels finite).
    max_levels : int
    ph_sample : int, default 5000
        The proportional-hazards test runs on at most this many rows (seeded sample).
    seed : int

    Returns
    -------
    CoxResult

    Examples
    --------
    >>> t = pd.DataFrame({"duration_days": [10, 20, 30], "event": [False, False, False],
    ...                   "acquisition_channel": ["web", "store", "web"]})
    >>> cox_drivers(t).note
    'No driver of churn can be estimated: no customer in the data has churned yet.'
    """
    caller = "cox_drivers"
    if covariates is not None and not covariates:
        raise param_error(
            "covariates", covariates, "a list naming at least one column", caller=caller
        )
    history = False
    if covariates is None:
        covariates = [c for c in COX_ATTRIBUTES if c in table.columns]
        if not covariates:
            covariates, history = [c for c in COX_HISTORY if c in table.columns], True
    validate_columns(table, ["duration_days", "event", *covariates], caller=caller)
    if not table["event"].astype(bool).any():
        return CoxResult.empty(
            "No driver of churn can be estimated: no customer in the data has churned yet."
        )
    table = _history_covariates(table, covariates, max_levels)
    design, names, references = _cox_design(table, covariates, max_levels)
    design = design.loc[:, design.std() > 0]
    used = [c for c in covariates if any(k == c or k.startswith(f"{c}=") for k in design.columns)]
    constant = [c for c in covariates if c not in used]
    note = _cox_note(used, constant, history, references, table.attrs.get("acquisition_pooled"))
    if not used:
        return CoxResult.empty(note)
    return _fit_cox(table, design, names, references, penalizer, ph_sample, seed, note)


def _fit_cox(table, design, names, references, penalizer, ph_sample, seed, note) -> CoxResult:
    """Fit the Cox model on ``design``, test proportional hazards, and tabulate the ratios."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    design["duration_days"] = table["duration_days"].astype(float) + 0.5  # strictly positive
    design["event"] = table["event"].astype(bool)
    cph = CoxPHFitter(penalizer=penalizer).fit(design, "duration_days", "event")
    summary = cph.summary
    ph_model, sample = cph, design
    if len(design) > ph_sample:  # the Schoenfeld-residual test needs the model's own rows
        sample = design.sample(ph_sample, random_state=seed)
        sample = sample.loc[:, sample.std() > 0]  # a rare level may be absent from the sample
        if "event" not in sample.columns:  # every sampled customer churned (or none did)
            sample["event"] = design["event"].loc[sample.index]
        ph_model = CoxPHFitter(penalizer=penalizer).fit(sample, "duration_days", "event")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ph = proportional_hazard_test(ph_model, sample, time_transform="rank").summary["p"]
    out = pd.DataFrame(
        {
            "covariate": summary.index.astype(str),
            "name": [names.get(c, c) for c in summary.index],
            "hazard_ratio": summary["exp(coef)"].to_numpy(),
            "ci_lower": summary["exp(coef) lower 95%"].to_numpy(),
            "ci_upper": summary["exp(coef) upper 95%"].to_numpy(),
            "p_value": summary["p"].to_numpy(),
            "ph_p_value": ph.reindex(summary.index).to_numpy(),
        }
    ).sort_values("hazard_ratio", ascending=False, ignore_index=True)
    violations = out.loc[out["ph_p_value"] < 0.01, "covariate"].tolist()
    method = (
        f"Cox model with a ridge penalty (penalizer={penalizer:g}): hazard ratios are shrunk "
        "slightly toward 1 (pass penalizer=0 for unshrunk estimates)."
        if penalizer > 0
        else "Unpenalised Cox proportional-hazards model."
    )
    references = {
        k: v for k, v in references.items() if any(c.startswith(f"{k}=") for c in out["covariate"])
    }
    return CoxResult(out, references, float(cph.concordance_index_), violations, cph, method, note)


def _history_covariates(table: pd.DataFrame, covariates: list, max_levels: int) -> pd.DataFrame:
    """``table`` with the first purchase value on a log2 scale and acquisition periods.

    Months, else quarters, else years: the finest with at most ``max_levels`` periods of
    :data:`MIN_GROUP_SIZE` customers or more; smaller periods (a customer whose first purchase
    came late, after a zero-amount line) are pooled as ``"other"``.
    """
    table = table.copy()
    if "first_purchase_value" in covariates:
        value = table["first_purchase_value"].astype(float)
        table["first_purchase_value"] = np.log2(value.where(value > 0))
    if "acquisition_month" in covariates:
        months = pd.PeriodIndex(table["acquisition_month"].astype(str), freq="M")
        for periods, form in (
            (months, "%Y-%m"),
            (months.asfreq("Q"), "%YQ%q"),
            (months.asfreq("Y"), "%Y"),
        ):
            labels = pd.Series(periods.strftime(form), index=table.index)
            counts = labels.value_counts()
            if (counts >= MIN_GROUP_SIZE).sum() <= max_levels:
                break
        small = counts.index[counts < MIN_GROUP_SIZE]
        if 0 < len(small) < len(counts):
            n_small = int(counts[small].sum())
            # too few even together for a ratio of their own: counted with the largest period
            into = "other" if n_small >= MIN_GROUP_SIZE else str(counts.index[0])
            labels = labels.where(~labels.isin(small), into)
            table.attrs["acquisition_pooled"] = (n_small, into)
        table["acquisition_month"] = labels
    return table


def _cox_note(
    used: list, constant: list, history: bool, references: dict, pooled: tuple | None = None
) -> str:
    """Say which drivers the model uses, where they come from, and which were left out."""

    def words(column: str) -> str:
        if column == "acquisition_month" and column in used:
            text = (
                f"{_HISTORY_WORDS[column]} (each period against {references[column]}, the "
                "one most customers were acquired in"
            )
            if pooled:
                n, into = pooled
                text += (
                    f"; the {n:,} customers of periods with fewer than {MIN_GROUP_SIZE} are "
                    + ("pooled as 'other'" if into == "other" else f"counted with {into}")
                )
            return text + ")"
        return _HISTORY_WORDS.get(column, column.replace("_", " "))

    if not used:
        what = " and ".join(words(c) for c in constant)
        if history:
            return (
                "No driver of churn can be estimated: the data hold no customer attribute "
                f"the model can use, and {what} is the same for every customer."
            )
        return f"No driver of churn can be estimated: {what} has one value for every customer."
    if history:
        text = (
            "The data hold no customer attribute the model can use (an acquisition channel or "
            "cost in a customers table, a category or channel on the transactions), so the "
            "drivers are what the purchase history fixes when a customer is acquired: "
            + " and ".join(words(c) for c in used)
            + "."
        )
    else:
        names = [_ATTRIBUTE_WORDS.get(c, c.replace("_", " ")) for c in used]
        text = "Drivers in the model: " + ", ".join(names) + "."
    if constant:
        text += (
            " Left out, the same for every customer: "
            + ", ".join(_HISTORY_WORDS.get(c, c.replace("_", " ")).split(" (")[0] for c in constant)
            + "."
        )
    return text


def _cox_design(table: pd.DataFrame, covariates: list, max_levels: int):
    """Design matrix, plain names and reference levels of the Cox covariates.

    Numbers as they are (missing -> median); categories one-hot against their most common
    level, levels beyond ``max_levels`` pooled as ``"other"``.
    """
    design = pd.DataFrame(index=table.index)
    names, references = {}, {}
    for column in covariates:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            design[column] = values.fillna(values.median()).astype(float)
            names[column] = DEFAULT_FEATURE_LABELS.get(
                column, column.replace("_", " ").capitalize()
            )
            if column == "n_complaints":
                names[column] = "Complaints (each)"
            if column == "first_purchase_value":
                names[column] = "First purchase value (per doubling)"
            continue
        values = values.astype(str)
        counts = values.value_counts()
        kept = list(counts.index[:max_levels])
        values = values.where(values.isin(kept), "other")
        reference = counts.index[0]
        references[column] = reference
        for level in sorted(values.unique()):
            if level == reference:
                continue
            key = f"{column}={level}"
            design[key] = (values == level).astype(float)
            names[key] = f"{column.replace('_', ' ')}: {level} (vs {reference})"
    return design, names, references
