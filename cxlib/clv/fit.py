"""fit_customer_value: the one way the report computes CLV."""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass

import pandas as pd

from cxlib.clv.flags import FitWarning
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
        Gamma-Gamma, fitted on ``summary`` (or, with constant spend, the constant:
        ``spend_model.constant_spend_``).
    values : DataFrame
        :func:`customer_value` per customer (``clv``, ``clv_net``, ...).
    margin : float
        The margin the values were computed with.
    """

    summary: pd.DataFrame
    holdout: pd.DataFrame
    selection: ModelSelection
    purchase_model: PurchaseModel
    spend_model: SpendModel
    values: pd.DataFrame
    margin: float = 0.30

    @property
    def purchase_flags(self) -> list[FitWarning]:
        """The purchase model's flags, then the model comparison's (:mod:`cxlib.clv.flags`)."""
        return [*self.purchase_model.flags_, *self.selection.flags]

    @property
    def spend_flags(self) -> list[FitWarning]:
        """The spend model's flags (correlated spend, constant spend)."""
        return list(self.spend_model.flags_)

    @property
    def flags(self) -> list[FitWarning]:
        """Every reason not to trust the fit as it is, each with the numbers it rests on."""
        return [*self.purchase_flags, *self.spend_flags]

    @property
    def warnings(self) -> list[str]:
        """The sentences of :attr:`flags`: what the fits warned with, word for word."""
        return [flag.message for flag in self.flags]

    @property
    def purchase_warnings(self) -> list[str]:
        """The sentences of :attr:`purchase_flags`."""
        return [flag.message for flag in self.purchase_flags]

    @property
    def spend_text(self) -> str:
        """The spend model's check and warnings for the page; with constant spend, the basis."""
        spend = self.spend_model
        text = " ".join([spend.check_text, *spend.warnings_])
        if spend.constant_spend_ is not None:
            text += (
                f" CLV is therefore each customer's expected purchases times "
                f"{spend.constant_spend_:,.2f}, times the {self.margin:.0%} margin, discounted "
                "like every CLV in this report."
            )
        return text

    def warn(self) -> list[str]:
        """Issue each of :attr:`warnings` as a ``UserWarning`` again; return them.

        The fits issued them when they were made; a fit read from the run's cache is not
        re-made, so the page calls this to show them in the output.
        """
        for message in self.warnings:
            _warnings.warn(message, UserWarning, stacklevel=2)
        return self.warnings


def degenerate_fit_warnings(fit: CustomerValueFit) -> list[str]:
    """Say what is wrong with the purchase-model side of a fit, in plain words.

    The conditions are decided once, where the models are fitted: the dropout parameters at
    their bound and P(alive) near 1 for nearly everyone (:attr:`PurchaseModel.warnings_`,
    :func:`~cxlib.clv.purchase.dropout_at_bound`), and compared models with the same
    likelihood (:func:`~cxlib.clv.holdout.same_likelihood`). This returns their sentences.

    Examples
    --------
    >>> import cxlib
    >>> demo = cxlib.demo.make_demo(n_customers=1_000, seed=3)
    >>> degenerate_fit_warnings(fit_customer_value(demo.transactions))
    []
    """
    return fit.purchase_warnings


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

    Each fit warns (``UserWarning``) about what it finds wrong (no dropout, models with the
    same likelihood, correlated or constant spend) and keeps the sentences; the result gathers
    them in :attr:`CustomerValueFit.warnings`. The calibration-period candidates' own flags
    are kept on them (``selection.models[kind].warnings_``) and not issued again.

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
    selection = _select_quietly(holdout, clv_model)
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
    return CustomerValueFit(
        summary=summary,
        holdout=holdout,
        selection=selection,
        purchase_model=purchase_model,
        spend_model=spend_model,
        values=values,
        margin=margin,
    )


def _select_quietly(holdout: pd.DataFrame, clv_model: str) -> ModelSelection:
    """:func:`select_model`, without the calibration fits' own flags (the refit has its own).

    Each candidate keeps its flags in ``warnings_``; the comparison's flag and every other
    warning (a candidate that could not be fitted, a penalised retry) are issued as they come.
    """
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        selection = select_model(holdout, kind=clv_model)
    own = {m for model in selection.models.values() for m in model.warnings_}
    for item in caught:
        if not (issubclass(item.category, UserWarning) and str(item.message) in own):
            _warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return selection
