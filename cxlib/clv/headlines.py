"""The CLV page's headline numbers, computed once by tested code."""

from __future__ import annotations

import pandas as pd

from cxlib.clv.kinds import display_name
from cxlib.clv.scenario import retention_headlines
from cxlib.settings.headline import Headline

__all__ = ["clv_headlines"]


def clv_headlines(
    fit,
    total: pd.Series,
    top20_share: float,
    scenario,
    *,
    retention_gain: float,
    currency: str,
) -> list[Headline]:
    """Return the headline numbers the CLV page records for the executive summary.

    Parameters
    ----------
    fit : CustomerValueFit
        The run's CLV fit (:func:`cxlib.clv.fit_customer_value`); its values carry their
        horizon (``fit.values.attrs["horizon_months"]``), which the labels state.
    total : Series
        The all-customer row of :func:`cxlib.clv.segment_value` (``total``, ``total_low``,
        ``total_high``).
    top20_share : float
        :func:`cxlib.clv.top_share` of the values at 20%.
    scenario : RetentionScenario
        :func:`cxlib.clv.retention_scenario`.
    retention_gain : float
        The scenario's relative reduction of dropout.
    currency : str
        For the notes.

    Returns
    -------
    list of Headline
        ``total_clv`` (with its bootstrap interval), ``top20_value_share``, one
        ``retention_value_<months>m`` per horizon of the scenario
        (:func:`cxlib.clv.retention_headlines`), ``holdout_error``, ``clv_model``, then one
        reviewer warning per :attr:`~cxlib.clv.CustomerValueFit.flags` item (key
        ``clv_model_warning`` or ``spend_model_warning``, the sentence as its value, the numbers
        it rests on as its evidence).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> values = pd.DataFrame()
    >>> values.attrs["horizon_months"] = 12  # customer_value's values carry their horizon
    >>> fit = NS(selection=NS(kind="bgnbd", validation=NS(relative_error=0.012)), values=values)
    >>> total = pd.Series({"total": 1000.0, "total_low": 900.0, "total_high": 1100.0})
    >>> gains = pd.DataFrame({"uplift": [20.0, 90.0], "uplift_share": [0.02, 0.04],
    ...                       "basis": "discounted gross margin"}, index=[12, 60])
    >>> scenario = NS(retention_gain=0.05, horizons=gains)
    >>> headlines = clv_headlines(fit, total, 0.6, scenario, retention_gain=0.05, currency="EUR")
    >>> [h.key for h in headlines][:4]
    ['total_clv', 'top20_value_share', 'retention_value_12m', 'retention_value_60m']
    >>> next(h.value for h in headlines if h.key == "clv_model")  # named for a reader
    'BG/NBD'
    """
    return [
        Headline(
            "total_clv",
            f"Total {fit.values.attrs['horizon_months']}-month CLV (gross margin, discounted)",
            float(total["total"]),
            unit="currency",
            ci_low=float(total["total_low"]),
            ci_high=float(total["total_high"]),
            note="interval: bootstrap over customers",
        ),
        Headline(
            "top20_value_share",
            "Share of value held by the top 20% of customers",
            float(top20_share),
            unit="percent",
        ),
        *retention_headlines(scenario),
        Headline(
            "holdout_error",
            "Holdout purchases: predicted vs actual (relative error)",
            float(fit.selection.validation.relative_error),
            unit="percent",
        ),
        Headline(
            "clv_model",
            "Purchase model chosen on the holdout",
            display_name(fit.selection.kind),  # "Pareto/NBD", for a reader
            unit="text",
        ),
    ] + [  # a degenerate fit (no dropout) is flagged in the summary, not only on the page
        flag.headline() for flag in getattr(fit, "flags", [])
    ]
