"""Churn at a date and over a period: the cutoff, churn status, churn rate, the gap to plan.

Each status is computed by the client's definition from :data:`cxlib.churn.registry.DEFINITIONS`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn._common import _as_timestamp, _customer_base, _observation_end, _wilson
from cxlib.churn.inactivity import inactivity_threshold
from cxlib.churn.registry import ChurnDefinition, ChurnInputs, churn_definition
from cxlib.segmentation import rfm_segments
from cxlib.settings.params import Interval, check_param, param_error
from cxlib.settings.validation import check_transactions


def default_cutoff(transactions: pd.DataFrame, *, horizon_days: int, observation_end=None):
    """Return the default churn cutoff: the observation end minus the horizon.

    With this cutoff the label window ``(cutoff, cutoff + horizon_days]`` ends exactly on the
    last observed day, so the model is trained on the most recent complete window.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``).
    horizon_days : int
        Length of the label window.
    observation_end : date-like, optional
        Last observed day; defaults to the last transaction date.

    Returns
    -------
    Timestamp

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2025-12-31"]),
    ...                    "amount": [1.0]})
    >>> default_cutoff(tx, horizon_days=90)
    Timestamp('2025-10-02 00:00:00')
    """
    transactions = check_transactions(transactions, caller="default_cutoff")
    return _observation_end(transactions, observation_end) - pd.Timedelta(days=int(horizon_days))


def resolve_cutoff(
    transactions: pd.DataFrame, cutoff=None, *, horizon_days: int, observation_end=None
) -> pd.Timestamp:
    """Return ``cutoff`` when given, else :func:`default_cutoff`; check the label window fits.

    Notebooks take ``churn_cutoff = None`` as a parameter and call this, so the rule for the
    default lives here and not in the notebook.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    cutoff : date-like, optional
        The requested cutoff.
    horizon_days : int
        Length of the label window.
    observation_end : date-like, optional
        Last observed day; defaults to the last transaction date.

    Returns
    -------
    Timestamp

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2025-12-31"]),
    ...                    "amount": [1.0]})
    >>> resolve_cutoff(tx, None, horizon_days=90)
    Timestamp('2025-10-02 00:00:00')
    >>> resolve_cutoff(tx, "2025-08-01", horizon_days=90)
    Timestamp('2025-08-01 00:00:00')
    """
    latest = default_cutoff(
        transactions, horizon_days=horizon_days, observation_end=observation_end
    )
    if cutoff is None:
        return latest
    cutoff = _as_timestamp(cutoff, "cutoff", "resolve_cutoff")
    if cutoff > latest:
        must = (
            f"a date leaving {horizon_days} days of data after it (latest possible cutoff "
            f"{latest.date()})"
        )
        raise param_error("cutoff", cutoff, must, caller="resolve_cutoff", got=str(cutoff.date()))
    return cutoff


def churn_status(
    transactions: pd.DataFrame,
    *,
    as_of=None,
    definition: str = "inactivity",
    customers: pd.DataFrame | None = None,
    threshold_days: int | None = None,
    p_alive_threshold: float = 0.5,
    purchase_model=None,
    freq: str = "D",
    p_alive: pd.Series | None = None,
) -> pd.DataFrame:
    """Flag each customer as churned or not at a date, under one churn definition.

    Only data dated ``<= as_of`` is used. The per-customer figures come from the one customer
    base (:func:`cxlib.customers.customer_base`): a purchase is a day with positive net spend.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    as_of : date-like, optional
        The date of the status; defaults to the last transaction date.
    definition : str, default "inactivity"
        A name of :data:`cxlib.churn.DEFINITIONS`. ``"inactivity"``: no purchase for more
        than ``threshold_days`` days (default from :func:`inactivity_threshold` on the
        history). ``"contract"``: the customer's
        ``contract_end`` (or ``cancellation_date``) in ``customers`` is on or before ``as_of``.
        ``"p_alive"``: the purchase model's probability of being alive below
        ``p_alive_threshold``.
    customers : DataFrame, optional
        Needed for ``"contract"``.
    threshold_days : int, optional
        Inactivity threshold.
    p_alive_threshold : float, default 0.5
    purchase_model : cxlib.clv.PurchaseModel, optional
        For ``"p_alive"``: the client's fitted purchase model (e.g.
        ``client.value_fit.purchase_model``), applied to the base at ``as_of`` in units of
        ``freq``. Without it (and without ``p_alive``) a BG/NBD is fitted on daily summaries.
    freq : {"D", "W", "M"}, default "D"
        Time unit of the customer base's ``recency`` and ``T`` (the client's ``freq``): the
        unit the ``purchase_model`` was fitted in.
    p_alive : Series, optional
        For ``"p_alive"``: each customer's probability of being alive at ``as_of``, already
        computed by the caller (e.g. ``client.base["p_alive"]``); used as it is.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (customers with a purchase or, for contracts, a start on or
        before ``as_of``): ``first_purchase``, ``last_purchase``, ``days_since_last``,
        ``revenue_12m`` (net spend in the 365 days up to ``as_of``), ``churned`` (bool), and
        ``p_alive`` for that definition.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"],
    ...     "date": pd.to_datetime(["2025-01-01", "2025-03-01"]), "amount": [5.0, 5.0]})
    >>> churn_status(tx, as_of="2025-03-31", threshold_days=60)["churned"].tolist()
    [True, False]
    """
    caller = "churn_status"
    transactions = check_transactions(transactions, caller=caller)
    rule = churn_definition(definition, caller=caller)
    as_of = (
        _observation_end(transactions, None)
        if as_of is None
        else _as_timestamp(as_of, "as_of", caller)
    )
    inputs = ChurnInputs(customers, threshold_days, p_alive_threshold, purchase_model, freq,
                         p_alive, caller)  # fmt: skip
    return _status(transactions, as_of, rule, inputs)[0]


def _status(
    transactions: pd.DataFrame, as_of: pd.Timestamp, rule: ChurnDefinition, inputs: ChurnInputs
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute :func:`churn_status`'s table; return it with the customer base it reads."""
    history = transactions.loc[transactions["date"] <= as_of]
    base = _customer_base(history, as_of, freq=inputs.freq)
    columns = ["first_purchase", "last_purchase", "days_since_last", "revenue_12m"]
    table = rule.flags(base[columns].copy(), base, history, as_of, inputs)
    table.index.name = "customer_id"
    return table, base


@dataclass
class ChurnRate:
    """Churn over a period: customers alive at ``start`` and churned by ``end``.

    Attributes
    ----------
    rate : float
        ``n_churned / n_at_risk``.
    ci_low, ci_high : float
        95% Wilson interval of the rate.
    n_at_risk, n_churned : int
    start, end : Timestamp
    definition : str
    description : str
        The definition in one sentence, for the report.
    table : DataFrame
        Indexed by ``customer_id`` (customers alive at ``start``): ``churned`` (bool),
        ``revenue_before`` (the customer base's ``revenue_12m`` at ``start``: net revenue in
        the year up to it), ``segment`` (RFM segment at ``start``, from the same base, so it
        does not use the outcome; ``"unknown"`` for contract customers without a purchase).
    """

    rate: float
    ci_low: float
    ci_high: float
    n_at_risk: int
    n_churned: int
    start: pd.Timestamp
    end: pd.Timestamp
    definition: str
    description: str
    table: pd.DataFrame


def churn_rate(
    transactions: pd.DataFrame,
    *,
    start,
    end=None,
    definition: str = "inactivity",
    customers: pd.DataFrame | None = None,
    threshold_days: int | None = None,
    p_alive_threshold: float = 0.5,
    purchase_model=None,
    freq: str = "D",
) -> ChurnRate:
    """Share of customers alive at ``start`` (by the definition) who have churned by ``end``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    start, end : date-like
        The period; ``end`` defaults to the last transaction date.
    definition, customers, threshold_days, p_alive_threshold, purchase_model, freq
        As in :func:`churn_status`. The inactivity threshold, when not given, is chosen from
        the history up to ``start`` (never from the period being measured). For ``"p_alive"``
        pass the client's fitted ``purchase_model`` and its ``freq``: it is applied at both
        dates. ``freq`` is also the unit of the base the ``segment`` column is scored on.

    Returns
    -------
    ChurnRate

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "b"],
    ...     "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-03-01"]),
    ...     "amount": [5.0, 5.0, 5.0]})
    >>> churn_rate(tx, start="2025-01-31", end="2025-03-31", threshold_days=45).rate
    0.5
    """
    caller = "churn_rate"
    transactions = check_transactions(transactions, caller=caller)
    rule = churn_definition(definition, caller=caller)
    start = _as_timestamp(start, "start", caller)
    end = _observation_end(transactions, None) if end is None else _as_timestamp(end, "end", caller)
    if end <= start:
        must = f"after 'start' ({start.date()})"
        raise param_error("end", end, must, caller=caller, got=str(end.date()))
    if rule.uses_threshold and threshold_days is None:  # read before the period, used at both ends
        threshold_days = inactivity_threshold(transactions.loc[transactions["date"] <= start]).days
    inputs = ChurnInputs(customers, threshold_days, p_alive_threshold, purchase_model, freq,
                         None, caller)  # fmt: skip
    before, base = _status(transactions, start, rule, inputs)
    after, _ = _status(transactions, end, rule, inputs)
    alive = before.index[~before["churned"].astype(bool)]
    with warnings.catch_warnings():  # coarse scores on a small base: the segment page says so
        warnings.filterwarnings("ignore", message="rfm_segments:", category=UserWarning)
        segments = rfm_segments(base[["frequency", "recency", "T", "monetary_value"]])["segment"]
    table = pd.DataFrame(
        {
            "churned": after["churned"].reindex(alive).fillna(False).astype(bool),
            # the base's revenue_12m at the start: net spend in the year up to it
            "revenue_before": before["revenue_12m"].reindex(alive).fillna(0.0),
            # segments at the start of the period, so that they do not use the outcome
            "segment": segments.reindex(alive).astype(object).fillna("unknown").astype(str),
        }
    )
    table.index.name = "customer_id"
    n_at_risk, n_churned = len(table), int(table["churned"].sum())
    rate = n_churned / n_at_risk if n_at_risk else float("nan")
    low, high = _wilson(n_churned, n_at_risk)
    result = ChurnRate(rate, low, high, n_at_risk, n_churned, start, end, definition, "", table)
    result.description = rule.sentence(
        result, threshold_days=threshold_days, p_alive_threshold=p_alive_threshold
    )
    return result


def churn_vs_target(
    churned: pd.Series,
    *,
    target_rate: float,
    segments: pd.Series | None = None,
    value: pd.Series | None = None,
) -> pd.DataFrame:
    """Churn against plan: the gap to a target churn rate and which segments make it.

    Parameters
    ----------
    churned : Series of bool
        One value per customer at risk (indexed by ``customer_id``), e.g.
        ``ChurnRate.table["churned"]``.
    target_rate : float or None
        The plan's churn rate for the same period, in (0, 1); None (no plan) leaves the
        target columns NaN.
    segments : Series, optional
        Segment of each customer (missing -> ``"unknown"``); without it one ``"all"`` row.
    value : Series, optional
        Value of each customer (e.g. revenue in the year before); churned value is summed.

    Returns
    -------
    DataFrame
        One row per segment plus a final ``"total"`` row: ``customers``, ``churned``,
        ``churn_rate``, ``target_rate``, ``excess_churners`` (churned minus
        ``target_rate x customers``), ``share_of_gap`` (segment's excess over the total excess;
        NaN when churn is at or below target), ``value_lost``. Segments sorted by excess churners.

    Examples
    --------
    >>> churned = pd.Series([True, True, False, False], index=list("abcd"))
    >>> seg = pd.Series(["x", "x", "y", "y"], index=list("abcd"))
    >>> churn_vs_target(churned, target_rate=0.25, segments=seg)["excess_churners"].tolist()
    [1.5, -0.5, 1.0]
    """
    plan = Interval(float, 0, 1, closed="neither", words="a float in (0, 1)")
    check_param("target_rate", target_rate, [plan, None], caller="churn_vs_target")
    churned = churned.astype(bool)
    group = (
        pd.Series("all", index=churned.index)
        if segments is None
        else segments.reindex(churned.index).astype(object).fillna("unknown").astype(str)
    )
    lost = (
        pd.Series(0.0, index=churned.index)
        if value is None
        else value.reindex(churned.index).fillna(0.0).astype(float).where(churned, 0.0)
    )
    frame = pd.DataFrame(
        {"segment": group.to_numpy(), "churned": churned.to_numpy(), "value_lost": lost.to_numpy()}
    )
    out = frame.groupby("segment").agg(
        customers=("churned", "size"), churned=("churned", "sum"), value_lost=("value_lost", "sum")
    )
    total = out.sum().to_frame("total").T
    out = pd.concat([out, total])
    out["churned"] = out["churned"].astype(int)
    out["customers"] = out["customers"].astype(int)
    out["churn_rate"] = out["churned"] / out["customers"]
    target = np.nan if target_rate is None else float(target_rate)
    out["target_rate"] = target
    out["excess_churners"] = out["churned"] - target * out["customers"]
    total_excess = out.loc["total", "excess_churners"]
    out["share_of_gap"] = out["excess_churners"] / total_excess if total_excess > 0 else np.nan
    body = out.drop(index="total").sort_values("excess_churners", ascending=False)
    out = pd.concat([body, out.loc[["total"]]])
    out.index.name = "segment"
    columns = [
        "customers",
        "churned",
        "churn_rate",
        "target_rate",
        "excess_churners",
        "share_of_gap",
        "value_lost",
    ]
    return out[columns]
