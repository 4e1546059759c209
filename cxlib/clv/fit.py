"""fit_customer_value: the one way the report computes CLV."""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.clv.holdout import ModelSelection, holdout_summary, select_model
from cxlib.clv.purchase import PurchaseModel
from cxlib.clv.spend import SpendModel
from cxlib.clv.value import customer_value
from cxlib.customers import rfm_summary


@dataclass
class CustomerValueFit:
    """Everything :func:`fit_customer_value` fitted, so every report page uses the same values.

    Attributes
    ----------
    summary : DataFrame
        :func:`rfm_summary` of the whole observation period.
    holdout : DataFrame
        :func:`holdout_summary` used to choose the purchase model.
    selection : ModelSelection
        The purchase models compared on the holdout, and the one chosen.
    purchase_model : PurchaseModel
        The chosen kind, refitted on ``summary``.
    spend_model : SpendModel
        Gamma-Gamma, fitted on ``summary``.
    values : DataFrame
        :func:`customer_value` per customer (``clv``, ``clv_net``, ...).
    warnings : list of str
        Why the fit should not be trusted as it is (:func:`degenerate_fit_warnings`); empty
        when nothing is wrong. Each was issued as a ``UserWarning`` when the fit was made;
        :meth:`warn` issues them again (a cached fit is read without re-fitting).
    """

    summary: pd.DataFrame
    holdout: pd.DataFrame
    selection: ModelSelection
    purchase_model: PurchaseModel
    spend_model: SpendModel
    values: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def warn(self) -> list[str]:
        """Issue each of :attr:`warnings` as a ``UserWarning``; return them."""
        for message in self.warnings:
            _warnings.warn(message, UserWarning, stacklevel=2)
        return list(self.warnings)


#: P(alive) above this for (nearly) every customer means the model sees no dropout at all.
ALIVE_EVERYONE = 0.99

#: Below this mean dropout (per purchase for BG/NBD and MBG/NBD, per period for Pareto/NBD) the
#: fitted dropout process has collapsed onto its bound.
DROPOUT_AT_BOUND = 1e-4


def degenerate_fit_warnings(fit: CustomerValueFit) -> list[str]:
    """Say what is wrong with a purchase-model fit that found no dropout, in plain words.

    Three signs, each one message: the dropout parameters at their bound (a mean dropout below
    :data:`DROPOUT_AT_BOUND`), P(alive) above :data:`ALIVE_EVERYONE` for 99% of customers or
    more, and the compared models giving the same likelihood (they all reduce to "nobody
    leaves", so the choice among them means nothing).

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=1_000, seed=3)
    >>> degenerate_fit_warnings(fit_customer_value(demo.transactions))
    []
    """
    messages = []
    params = fit.purchase_model.params_
    if "s" in params:  # Pareto/NBD: mean dropout rate per period
        dropout = params["s"] / params["beta"]
    elif "gamma" in params:  # BG/BB: mean dropout probability per opportunity
        dropout = params["gamma"] / (params["gamma"] + params["delta"])
    else:  # BG/NBD, MBG/NBD: mean dropout probability per purchase
        dropout = params["a"] / (params["a"] + params["b"])
    if dropout < DROPOUT_AT_BOUND:
        messages.append(
            f"The {fit.purchase_model.kind} fit found no dropout: its dropout parameters are at "
            f"their bound (mean dropout {dropout:.1e}), so the model assumes customers never "
            "leave and CLV grows with the horizon. Read CLV as an upper bound; for a client "
            "whose customers do stop buying, check the data (a short or partial history)."
        )
    p_alive = fit.purchase_model.p_alive(fit.summary)
    share_alive = float((p_alive > ALIVE_EVERYONE).mean())
    if share_alive >= 0.99:
        messages.append(
            f"P(alive) is above {ALIVE_EVERYONE:.0%} for {share_alive:.0%} of customers, "
            "including those who stopped buying long ago: the purchase model cannot tell "
            "active from lapsed customers (no dropout in the fit)."
        )
    likelihoods = fit.selection.table["log_likelihood"].to_numpy(dtype=float)
    if len(likelihoods) > 1 and np.ptp(likelihoods) < 1e-3 * max(1.0, abs(likelihoods).max()):
        messages.append(
            "The purchase models compared on the holdout are indistinguishable (same "
            "likelihood): with no dropout they all reduce to the same model, so the choice "
            "among them carries no information."
        )
    return messages


def fit_customer_value(
    transactions: pd.DataFrame,
    *,
    freq: str = "W",
    clv_model: str = "auto",
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    customers: pd.DataFrame | None = None,
    observation_end=None,
    calibration_end=None,
    holdout_weeks: int | None = None,
) -> CustomerValueFit:
    """Choose a purchase model on a holdout, refit it on all data, and value every customer.

    The one way the report computes CLV, so the segmentation, NPS and CLV pages agree:

    1. :func:`holdout_summary` (the last ``holdout_weeks`` weeks unless ``calibration_end`` is
       given) and :func:`select_model` with ``kind=clv_model``;
    2. the chosen kind refitted on :func:`rfm_summary` of the whole period, and
       :class:`SpendModel` on the same summary;
    3. :func:`customer_value` over ``horizon_months``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``).
    freq : {"D", "W", "M"}, default "W"
        Period length (see :func:`rfm_summary`).
    clv_model : {"auto", "bgnbd", "pareto_nbd", "mbgnbd"}, default "auto"
        "auto" picks the model with the smallest holdout error; a name forces that model.
    horizon_months, discount_rate, margin
        Passed to :func:`customer_value` (``discount_rate`` is annual).
    customers : DataFrame, optional
        With ``acquisition_cost``, adds ``clv_net``.
    observation_end, calibration_end : date-like, optional
        End of the data used, and start of the holdout.
    holdout_weeks : int, optional
        Holdout length when ``calibration_end`` is not given; by default
        :data:`DEFAULT_HOLDOUT_WEEKS`, shortened to a third of a short history
        (:func:`cxlib.customers.derived_holdout_weeks`).

    Returns
    -------
    CustomerValueFit

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=2_000, seed=3)
    >>> fit = fit_customer_value(demo.transactions, clv_model="bgnbd")
    >>> fit.purchase_model.kind, fit.values.index.equals(fit.summary.index)
    ('bgnbd', True)
    """
    holdout = holdout_summary(
        transactions,
        freq=freq,
        calibration_end=calibration_end,
        observation_end=observation_end,
        holdout_weeks=holdout_weeks,
    )
    selection = select_model(holdout, kind=clv_model)
    summary = rfm_summary(transactions, freq=freq, observation_end=observation_end)
    purchase_model = PurchaseModel(selection.kind).fit(summary)
    spend_model = SpendModel().fit(summary)
    values = customer_value(
        summary,
        purchase_model,
        spend_model,
        horizon_months=horizon_months,
        discount_rate=discount_rate,
        margin=margin,
        freq=freq,
        customers=customers,
    )
    fit = CustomerValueFit(
        summary=summary,
        holdout=holdout,
        selection=selection,
        purchase_model=purchase_model,
        spend_model=spend_model,
        values=values,
    )
    fit.warnings = degenerate_fit_warnings(fit)
    fit.warn()
    return fit
