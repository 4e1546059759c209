"""What keeping customers is worth (the retention scenario), and RFM grids for figures.

A retention gain lowers **each customer's own future dropout** by a relative amount: a
customer's posterior dropout (what their own history says about them) is scaled, the
population prior is not. For a customer who has bought for years the posterior is dominated by
their own history, so changing the prior would barely move the customers a business could
keep; scaling the posterior does. Each model's exact expectation is in its module
(``expected_given_alive_lower_dropout`` of :mod:`~cxlib.clv.bgnbd`,
:mod:`~cxlib.clv.mbgnbd`, :mod:`~cxlib.clv.pareto_nbd`; the ``reduction`` of
:meth:`~cxlib.clv.RetentionModel.residual_lifetime` for subscribers); the tests check each
against a simulation of the fitted model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.clv.kinds import purchase_kinds
from cxlib.clv.purchase import PurchaseModel
from cxlib.clv.retention import RetentionModel, contractual_value
from cxlib.clv.value import _check_value_options, _purchase_flows, _value_frame, customer_value
from cxlib.settings.headline import Headline
from cxlib.settings.params import Interval, Options, check_param

#: Horizons (months) over which the scenario states the gain by default: 1, 3 and 5 years.
RETENTION_HORIZONS_MONTHS = (12, 36, 60)


@dataclass
class RetentionScenario:
    """What a lower dropout is worth.

    Attributes
    ----------
    retention_gain : float
        Relative reduction of each customer's own future dropout.
    base_total, scenario_total : float
        Total CLV without and with the reduction.
    uplift : float
        ``scenario_total - base_total``.
    uplift_share : float
        ``uplift / base_total``.
    values : DataFrame
        Per customer: ``clv`` and ``clv_scenario`` (with the ``attrs`` of
        :func:`~cxlib.clv.customer_value`'s values for a purchase model).
    horizons : DataFrame or None
        The same scenario over the CLV horizon and the multi-year ``horizons_months``
        (:func:`retention_scenario_horizons` layout), or None when none were asked for.
    horizon_months : int or None
        The horizon of ``values`` and the totals; None for a subscriber's whole remaining
        lifetime.
    basis : str
        What the money is (``"discounted gross margin (30% of revenue)"``).
    """

    retention_gain: float
    base_total: float
    scenario_total: float
    uplift: float
    uplift_share: float
    values: pd.DataFrame
    horizons: pd.DataFrame | None = None
    horizon_months: int | None = None
    basis: str = ""


def _check_gain(caller, retention_gain):
    check_param("retention_gain", retention_gain, Interval(float, 0, 1, closed="neither"),
                caller=caller)  # fmt: skip


def _share(uplift, base_total):
    return uplift / base_total if base_total else np.nan


def _horizon_table(rows, basis) -> pd.DataFrame:
    """Return the :func:`retention_scenario_horizons` layout of (months, base, scenario) rows."""
    table = pd.DataFrame(
        [
            {
                "horizon_months": int(months),
                "years": months / 12,
                "base_total": base,
                "scenario_total": scenario,
                "uplift": scenario - base,
                "uplift_share": _share(scenario - base, base),
            }
            for months, base, scenario in rows
        ]
    ).set_index("horizon_months")
    table["basis"] = basis
    return table.sort_index()


def _scenario_values(summary, purchase_model, spend_model, retention_gain, options, margin,
                     caller):  # fmt: skip
    """Per customer ``clv`` and ``clv_scenario`` over one horizon."""
    module = purchase_model._model
    if module.scenario_changes is None:
        scenarios = [name for name, kind in purchase_kinds().items() if kind.scenario_changes]
        raise ValueError(
            f"{caller}: the retention scenario values the purchase models that say what it "
            f"changes ({', '.join(scenarios)}); got {purchase_model.kind!r}. "
            f"{module.display_name} counts {module.time_units}, not periods."
        )
    base = customer_value(summary, purchase_model, spend_model, margin=margin, **options)
    x, tx, T = purchase_model._arrays(summary, caller)
    params = purchase_model._customer_params(summary, caller)
    alive, total, discounted = _purchase_flows(
        module, params, x, tx, T, options, reduction=retention_gain
    )
    spend = base["expected_spend"].to_numpy()  # read once, by customer_value
    kept = _value_frame(
        summary,
        alive,
        total,
        discounted,
        spend,
        margin=margin,
        customers=None,
        caller=caller,
        options=options,
    )
    values = pd.DataFrame({"clv": base["clv"], "clv_scenario": kept["clv"]})
    values.attrs = dict(base.attrs)  # the same horizon and basis as customer_value's
    return values


def retention_scenario(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model,
    *,
    retention_gain: float = 0.05,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
    horizons_months=RETENTION_HORIZONS_MONTHS,
) -> RetentionScenario:
    """Change in total CLV if each customer's own future dropout were ``retention_gain`` lower.

    Only the future changes. Today's probability that a customer is still active is kept; for
    an active customer, the dropout their own history implies (their posterior: BG/NBD and
    MBG/NBD the dropout probability after each purchase, Pareto/NBD the dropout rate) is
    multiplied by ``1 - retention_gain`` from now on, and their expected purchases are
    recomputed exactly over that posterior (``expected_given_alive_lower_dropout`` of the
    model's module), discounted as :func:`customer_value` does. A customer kept today pays
    back in the years after, so the result also states the gain over ``horizons_months``
    (default 1, 3 and 5 years) in :attr:`RetentionScenario.horizons`; pass ``()`` for none.

    Parameters
    ----------
    summary, purchase_model, horizon_months, discount_rate, margin, freq
        As :func:`customer_value`; the purchase model is BG/NBD, MBG/NBD or Pareto/NBD.
    spend_model
        The expected spend per order, as :func:`customer_value` takes it.
    retention_gain : float, default 0.05
        Relative reduction of the future dropout, in (0, 1).
    horizons_months : sequence of int, default (12, 36, 60)
        Further horizons for :attr:`RetentionScenario.horizons` (with ``horizon_months``).

    Returns
    -------
    RetentionScenario

    Examples
    --------
    >>> from cxlib.clv import SpendModel
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> purchases = PurchaseModel("pareto_nbd").fit(summary)
    >>> result = retention_scenario(summary, purchases, SpendModel().fit(summary))
    >>> bool(0 < result.horizons.loc[12, "uplift"] < result.horizons.loc[60, "uplift"])
    True
    """
    caller = "retention_scenario"
    _check_value_options(caller, horizon_months, discount_rate, margin, freq)
    _check_gain(caller, retention_gain)
    rows, main = [], None
    for months in sorted({int(m) for m in horizons_months} | {int(horizon_months)}):
        options = dict(horizon_months=months, discount_rate=discount_rate, freq=freq)
        values = _scenario_values(
            summary, purchase_model, spend_model, retention_gain, options, margin, caller
        )
        rows.append((months, float(values["clv"].sum()), float(values["clv_scenario"].sum())))
        if months == horizon_months:
            main = values
    base_total, scenario_total = float(main["clv"].sum()), float(main["clv_scenario"].sum())
    basis = main.attrs["basis"]
    return RetentionScenario(
        retention_gain=retention_gain,
        base_total=base_total,
        scenario_total=scenario_total,
        uplift=scenario_total - base_total,
        uplift_share=_share(scenario_total - base_total, base_total),
        values=main,
        horizons=_horizon_table(rows, basis) if len(rows) > 1 else None,
        horizon_months=int(horizon_months),
        basis=basis,
    )


def retention_scenario_horizons(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model,
    *,
    retention_gain: float = 0.05,
    horizons_months=RETENTION_HORIZONS_MONTHS,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
) -> pd.DataFrame:
    """:func:`retention_scenario` over several horizons: a retention gain pays back over years.

    A customer kept today buys in the years after, so the 12-month CLV horizon shows only the
    first slice of the gain; the table states it over multi-year horizons too (default 1, 3 and
    5 years), all discounted gross margin.

    Parameters
    ----------
    summary, purchase_model, spend_model, retention_gain, discount_rate, margin, freq
        As :func:`retention_scenario`.
    horizons_months : sequence of int
        Horizons, in months (each a positive integer).

    Returns
    -------
    DataFrame
        One row per horizon (index ``horizon_months``): ``years``, ``base_total``,
        ``scenario_total``, ``uplift`` and ``uplift_share`` (discounted gross margin over the
        horizon), ``basis``.

    Examples
    --------
    >>> from cxlib.clv import SpendModel
    >>> from cxlib.data.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> purchases = PurchaseModel().fit(summary)
    >>> spend = SpendModel().fit(summary)
    >>> table = retention_scenario_horizons(summary, purchases, spend)
    >>> bool(table["uplift"].is_monotonic_increasing)
    True
    """
    months = sorted({int(m) for m in horizons_months})
    if not months:
        raise ValueError("retention_scenario_horizons: 'horizons_months' names no horizon")
    result = retention_scenario(
        summary,
        purchase_model,
        spend_model,
        retention_gain=retention_gain,
        horizon_months=months[0],
        discount_rate=discount_rate,
        margin=margin,
        freq=freq,
        horizons_months=months,
    )
    if result.horizons is not None:
        return result.horizons
    return _horizon_table([(months[0], result.base_total, result.scenario_total)], result.basis)


def contractual_retention_scenario(
    frame: pd.DataFrame,
    model: RetentionModel,
    *,
    value_per_period,
    retention_gain: float = 0.05,
    discount_rate: float = 0.10,
    periods_per_year: float = 12,
    horizons_months=RETENTION_HORIZONS_MONTHS,
    basis: str = "discounted value of the periods paid",
) -> RetentionScenario:
    """Value a lower churn of subscribers (the shifted-beta-geometric model).

    Each active subscriber's own churn probability per period (their posterior ``theta ~
    Beta(alpha, beta + tenure)``) is multiplied by ``1 - retention_gain`` from the next
    renewal on; customers who have left stay worth 0. Totals are the whole remaining lifetime
    (as :func:`contractual_value`), and :attr:`RetentionScenario.horizons` states the gain
    over ``horizons_months`` (the renewals due within each horizon).

    Parameters
    ----------
    frame, model, value_per_period, discount_rate, periods_per_year
        As :func:`contractual_value`.
    retention_gain : float, default 0.05
        Relative reduction of the churn probability, in (0, 1).
    horizons_months : sequence of int, default (12, 36, 60)
        Horizons for :attr:`RetentionScenario.horizons`; ``()`` for none.
    basis : str
        What the money is (for the horizons table), e.g. "discounted gross margin".

    Returns
    -------
    RetentionScenario

    Examples
    --------
    >>> from cxlib.clv import cohort_frame
    >>> frame = cohort_frame([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> model = RetentionModel().fit(frame)
    >>> result = contractual_retention_scenario(frame, model, value_per_period=10.0,
    ...                                         periods_per_year=1)
    >>> bool(0 < result.horizons.loc[12, "uplift"] < result.horizons.loc[60, "uplift"])
    True
    """
    caller = "contractual_retention_scenario"
    _check_gain(caller, retention_gain)
    options = dict(
        value_per_period=value_per_period,
        discount_rate=discount_rate,
        periods_per_year=periods_per_year,
    )

    def clv(**extra):
        return contractual_value(frame, model, **options, **extra)["clv"]

    values = pd.DataFrame({"clv": clv(), "clv_scenario": clv(retention_gain=retention_gain)})
    rows = []
    for months in sorted({int(m) for m in horizons_months}):
        base = float(clv(horizon_months=months).sum())
        kept = float(clv(horizon_months=months, retention_gain=retention_gain).sum())
        rows.append((months, base, kept))
    base_total, scenario_total = float(values["clv"].sum()), float(values["clv_scenario"].sum())
    return RetentionScenario(
        retention_gain=retention_gain,
        base_total=base_total,
        scenario_total=scenario_total,
        uplift=scenario_total - base_total,
        uplift_share=_share(scenario_total - base_total, base_total),
        values=values,
        horizons=_horizon_table(rows, basis) if rows else None,
        basis=basis,
    )


def retention_headlines(scenario: RetentionScenario, *, unit: str = "currency") -> list[Headline]:
    """Headlines for the summary: what the scenario's churn reduction is worth over each horizon.

    One ``retention_value_<months>m`` headline per row of :attr:`RetentionScenario.horizons`
    (by default 12, 36 and 60 months): the uplift (``unit``, money by default), with the rise
    of the total over the same horizon in the note.

    Examples
    --------
    >>> from cxlib.clv import cohort_frame
    >>> frame = cohort_frame([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> model = RetentionModel().fit(frame)
    >>> result = contractual_retention_scenario(frame, model, value_per_period=10.0,
    ...                                         periods_per_year=1)
    >>> [h.key for h in retention_headlines(result)]
    ['retention_value_12m', 'retention_value_36m', 'retention_value_60m']
    >>> retention_headlines(result)[2].label
    'What 5% less churn is worth over 5 years'
    """
    if scenario.horizons is None:
        return []
    gain = scenario.retention_gain
    out = []
    for months, row in scenario.horizons.iterrows():
        years, rest = divmod(int(months), 12)
        span = f"{months} months" if rest or not years else f"{years} year" + "s" * (years > 1)
        out.append(
            Headline(
                f"retention_value_{int(months)}m",
                f"What {gain:.0%} less churn is worth over {span}",
                float(row["uplift"]),
                unit=unit,
                note=f"{row['uplift_share']:+.1%} on what today's customers are worth over {span}, "
                f"each customer's own future dropout {gain:.0%} lower; {row['basis']}",
            )
        )
    return out


def rfm_matrix(
    model: PurchaseModel,
    *,
    what: str = "p_alive",
    T: float | None = None,
    max_frequency: int | None = None,
    t: float = 52.0,
) -> pd.DataFrame:
    """P(alive) or expected purchases over a frequency x recency grid, for customers of age T.

    Parameters
    ----------
    model : PurchaseModel
        Fitted.
    what : {"p_alive", "expected_purchases"}
        The quantity.
    T : float, optional
        Customer age in periods; defaults to the largest T the model was fitted on.
    max_frequency : int, optional
        Largest frequency shown; defaults to the 99th percentile of the fitted frequencies.
    t : float, default 52
        Horizon (periods) for "expected_purchases".

    Returns
    -------
    DataFrame
        Index ``frequency`` (0..max_frequency), columns ``recency`` (0..T); NaN where the
        combination is impossible (recency > 0 with frequency 0).
    """
    caller = "rfm_matrix"
    whats = Options(("p_alive", "expected_purchases"), words="'p_alive' or 'expected_purchases'")
    check_param("what", what, whats, caller=caller)
    model._fitted(caller)
    T = float(model.max_T_ if T is None else T)
    max_frequency = int(model.frequency_q99_ if max_frequency is None else max_frequency)
    freq_grid = np.arange(max_frequency + 1, dtype=float)
    rec_grid = np.arange(int(T) + 1, dtype=float)
    x, tx = np.meshgrid(freq_grid, rec_grid, indexing="ij")
    flat = pd.DataFrame({"frequency": x.ravel(), "recency": tx.ravel(), "T": T})
    if what == "p_alive":
        values = model.p_alive(flat).to_numpy()
    else:
        values = model.predict_purchases(flat, t).to_numpy()
    # A copy: under copy-on-write (pandas 3) to_numpy() returns a read-only view.
    values = values.reshape(x.shape).copy()
    values[(x == 0) & (tx > 0)] = np.nan
    return pd.DataFrame(
        values,
        index=pd.Index(freq_grid.astype(int), name="frequency"),
        columns=pd.Index(rec_grid.astype(int), name="recency"),
    )
