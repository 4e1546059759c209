"""What-if scenarios and grids for figures: lower dropout, RFM matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.clv.purchase import PurchaseModel, lower_dropout
from cxlib.clv.spend import SpendModel
from cxlib.clv.value import _check_value_options, _purchase_flows, _value_frame, customer_value


@dataclass
class RetentionScenario:
    """What a lower dropout rate is worth.

    Attributes
    ----------
    retention_gain : float
        Relative reduction of the dropout rate.
    base_total, scenario_total : float
        Total CLV without and with the reduction.
    uplift : float
        ``scenario_total - base_total``.
    uplift_share : float
        ``uplift / base_total``.
    values : DataFrame
        Per customer: ``clv`` and ``clv_scenario``.
    params : DataFrame
        Model parameters, columns ``base`` and ``scenario``.
    horizons : DataFrame or None
        The same scenario over the CLV horizon and the multi-year ``horizons_months``
        (:func:`retention_scenario_horizons` layout), or None when none were asked for.
    """

    retention_gain: float
    base_total: float
    scenario_total: float
    uplift: float
    uplift_share: float
    values: pd.DataFrame
    params: pd.DataFrame
    horizons: pd.DataFrame | None = None


def retention_scenario(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model: SpendModel,
    *,
    retention_gain: float = 0.05,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 0.30,
    freq: str = "W",
    horizons_months=(36, 60),
) -> RetentionScenario:
    """Change in total CLV if the dropout rate were ``retention_gain`` (relative) lower.

    Only the future changes: each customer keeps today's probability of being active (from
    ``purchase_model``); their expected purchases while active are recomputed with the lower
    dropout (:func:`lower_dropout`). A customer kept today pays back in the years after, so the
    result also states the gain over the multi-year ``horizons_months`` (default 3 and 5
    years) in :attr:`RetentionScenario.horizons`; pass ``()`` to skip them.
    """
    caller = "retention_scenario"
    _check_value_options(caller, horizon_months, discount_rate, margin, freq)
    if not 0 < retention_gain < 1:
        raise ValueError(
            f"The 'retention_gain' parameter of {caller} must be in (0, 1). "
            f"Got {retention_gain!r} instead."
        )
    options = dict(horizon_months=horizon_months, discount_rate=discount_rate, freq=freq)
    base = customer_value(summary, purchase_model, spend_model, margin=margin, **options)
    better = lower_dropout(purchase_model, retention_gain)
    x, tx, T = purchase_model._arrays(summary, caller)
    alive, total, discounted = _purchase_flows(
        better._model, better.params_.to_numpy(), x, tx, T, options, alive=base["p_alive"]
    )
    scenario = _value_frame(
        summary,
        alive,
        total,
        discounted,
        base["expected_spend"].to_numpy(),
        margin=margin,
        customers=None,
        caller=caller,
    )
    base_total, scenario_total = float(base["clv"].sum()), float(scenario["clv"].sum())
    extra = sorted({int(m) for m in horizons_months} - {int(horizon_months)})
    horizons = None
    if extra:
        horizons = retention_scenario_horizons(
            summary,
            purchase_model,
            spend_model,
            retention_gain=retention_gain,
            horizons_months=extra,
            discount_rate=discount_rate,
            margin=margin,
            freq=freq,
        )
        first = pd.DataFrame(
            {
                "years": horizon_months / 12,
                "base_total": base_total,
                "scenario_total": scenario_total,
                "uplift": scenario_total - base_total,
                "uplift_share": (scenario_total - base_total) / base_total
                if base_total
                else np.nan,
                "basis": horizons["basis"].iloc[0],
            },
            index=pd.Index([int(horizon_months)], name="horizon_months"),
        )
        horizons = pd.concat([first, horizons]).sort_index()
    return RetentionScenario(
        retention_gain=retention_gain,
        base_total=base_total,
        scenario_total=scenario_total,
        uplift=scenario_total - base_total,
        uplift_share=(scenario_total - base_total) / base_total if base_total else np.nan,
        values=pd.DataFrame({"clv": base["clv"], "clv_scenario": scenario["clv"]}),
        params=pd.DataFrame({"base": purchase_model.params_, "scenario": better.params_}),
        horizons=horizons,
    )


def retention_scenario_horizons(
    summary: pd.DataFrame,
    purchase_model: PurchaseModel,
    spend_model: SpendModel,
    *,
    retention_gain: float = 0.05,
    horizons_months=(12, 36, 60),
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
    >>> from cxlib.datasets import load_cdnow_summary
    >>> summary = load_cdnow_summary()
    >>> purchases = PurchaseModel().fit(summary)
    >>> spend = SpendModel().fit(summary)
    >>> table = retention_scenario_horizons(summary, purchases, spend)
    >>> bool(table["uplift"].is_monotonic_increasing)
    True
    """
    rows = []
    for months in horizons_months:
        result = retention_scenario(
            summary,
            purchase_model,
            spend_model,
            retention_gain=retention_gain,
            horizon_months=months,
            discount_rate=discount_rate,
            margin=margin,
            freq=freq,
            horizons_months=(),
        )
        rows.append(
            {
                "horizon_months": int(months),
                "years": months / 12,
                "base_total": result.base_total,
                "scenario_total": result.scenario_total,
                "uplift": result.uplift,
                "uplift_share": result.uplift_share,
            }
        )
    table = pd.DataFrame(rows).set_index("horizon_months")
    table["basis"] = f"discounted gross margin ({margin:.0%} of revenue)"
    return table


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
    if what not in ("p_alive", "expected_purchases"):
        raise ValueError(
            f"The 'what' parameter of {caller} must be 'p_alive' or 'expected_purchases'. "
            f"Got {what!r} instead."
        )
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
