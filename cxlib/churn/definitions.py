"""Churn definitions: the cutoff, the inactivity threshold, churn status, churn rate, plan gap."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn._common import (
    DEFAULT_INACTIVITY_QUANTILE,
    _as_timestamp,
    _customer_base,
    _day_numbers,
    _observation_end,
    _purchase_days,
    _wilson,
)
from cxlib.segmentation import rfm_segments
from cxlib.settings.validation import DataError, check_transactions


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
        raise ValueError(
            f"The 'cutoff' parameter of resolve_cutoff must leave {horizon_days} days of data "
            f"after it (latest possible cutoff {latest.date()}). Got {cutoff.date()} instead."
        )
    return cutoff


# =============================================================================================
# Definitions
# =============================================================================================


@dataclass
class InactivityThreshold:
    """The inactivity rule chosen from the inter-purchase times.

    Attributes
    ----------
    days : int
        Threshold: no purchase for more than ``days`` days means churned.
    quantile : float
        Quantile of the gaps the threshold was taken at.
    n_gaps, n_customers : int
        Gaps observed, and repeat customers they come from.
    median_gap : float
        Median gap in days.
    gap_quantiles : DataFrame
        ``quantile``, ``days``: a few quantiles of the gap distribution, for the report.
    explanation : str
        One paragraph for the report.
    """

    days: int
    quantile: float
    n_gaps: int
    n_customers: int
    median_gap: float
    gap_quantiles: pd.DataFrame
    explanation: str


def _purchase_gaps(transactions: pd.DataFrame) -> pd.DataFrame:
    """Gaps in days between consecutive purchase days of each customer."""
    days = _purchase_days(transactions)
    same = days["customer_id"].to_numpy()[1:] == days["customer_id"].to_numpy()[:-1]
    gaps = np.diff(_day_numbers(days["date"]))[same]
    owners = days["customer_id"].to_numpy()[1:][same]
    return pd.DataFrame({"customer_id": owners, "gap_days": gaps})


def repeat_purchases(transactions: pd.DataFrame) -> bool:
    """Say whether some customer bought on two different days (a purchase: positive net spend).

    Without one there is no gap between purchases: no inactivity threshold to read from the
    data, no purchase model to fit, and no churn a model could learn to tell apart.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-02"]),
    ...     "amount": [5.0, 5.0, 5.0]})
    >>> repeat_purchases(tx), repeat_purchases(tx.assign(customer_id="a"))
    (False, True)
    """
    transactions = check_transactions(transactions, caller="repeat_purchases")
    return not _purchase_gaps(transactions).empty


def inactivity_threshold(
    transactions: pd.DataFrame,
    *,
    quantile: float = DEFAULT_INACTIVITY_QUANTILE,
    days: int | None = None,
) -> InactivityThreshold:
    """Choose the non-contractual churn threshold from the inter-purchase time distribution.

    The threshold is the ``quantile`` of all gaps between consecutive purchase days of repeat
    customers, rounded up to whole days: with ``quantile=0.9``, 90% of returning customers
    come back within the threshold, so a longer silence is unusual enough to call churn.
    Gaps still open at the end of the data are not observed, so the quantile is a slight
    underestimate for slow buyers.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    quantile : float, default 0.9
        Between 0.5 and 1 (exclusive).
    days : int, optional
        The threshold the client's config sets (``churn_inactivity_days``): used as it is, the
        gaps described beside it when there are any.

    Returns
    -------
    InactivityThreshold

    Raises
    ------
    DataError
        When ``days`` is not given and no customer bought on two different days; the message
        names the YAML key that sets the threshold.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": list("aaab"),
    ...     "date": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-01-31", "2025-01-05"]),
    ...     "amount": [5.0, 5.0, 5.0, 5.0]})
    >>> inactivity_threshold(tx, quantile=0.5).days
    15
    """
    transactions = check_transactions(transactions, caller="inactivity_threshold")
    if not 0.5 <= quantile < 1:
        raise ValueError(
            "The 'quantile' parameter of inactivity_threshold must be a float in [0.5, 1). "
            f"Got {quantile!r} instead."
        )
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise ValueError(
            "The 'days' parameter of inactivity_threshold must be a positive whole number of "
            f"days. Got {days!r} instead."
        )
    gaps = _purchase_gaps(transactions)
    if gaps.empty and days is None:
        raise DataError(
            "inactivity_threshold: no customer bought on two different days, so there is no "
            "inter-purchase time to choose a churn threshold from; set one with "
            "`churn_inactivity_days: <days>` under `analysis:` in the client's YAML (the days "
            "without a purchase after which a customer counts as churned)."
        )
    values = gaps["gap_days"].to_numpy(dtype=float)
    qs = [0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
    n_customers = int(gaps["customer_id"].nunique())
    if gaps.empty:
        table = pd.DataFrame({"quantile": qs, "days": np.nan})
        text = (
            f"The client's config sets the churn threshold (churn_inactivity_days: {days}): a "
            f"customer with no purchase for more than {days} days is counted as churned. No "
            "customer bought on two different days, so the data cannot check it."
        )
        return InactivityThreshold(days, float(quantile), 0, 0, float("nan"), table, text)
    table = pd.DataFrame({"quantile": qs, "days": np.quantile(values, qs)})
    median = float(np.median(values))
    observed = int(math.ceil(np.quantile(values, quantile)))
    gaps_text = (
        f"{quantile:.0%} of repeat purchases come within {observed} days of the previous one "
        f"(median gap {median:.0f} days; {len(values):,} gaps from {n_customers:,} repeat "
        "customers)."
    )
    if days is None:
        days = observed
        text = (
            f"{gaps_text} A customer with no purchase for more than {days} days is counted as "
            "churned."
        )
    else:
        text = (
            f"The client's config sets the churn threshold (churn_inactivity_days: {days}): a "
            f"customer with no purchase for more than {days} days is counted as churned. For "
            f"comparison, {gaps_text}"
        )
    return InactivityThreshold(days, float(quantile), len(values), n_customers, median, table, text)


_DEFINITIONS = ("inactivity", "contract", "p_alive")


def _check_definition(definition: str, caller: str) -> None:
    if definition not in _DEFINITIONS:
        raise ValueError(
            f"The 'definition' parameter of {caller} must be one of {list(_DEFINITIONS)}. "
            f"Got {definition!r} instead."
        )


def _contract_end_column(customers: pd.DataFrame | None, caller: str) -> str:
    if customers is None:
        raise ValueError(
            f"The 'customers' parameter of {caller} must be a customers table with a "
            "'contract_end' or 'cancellation_date' column when definition='contract'. "
            "Got None instead."
        )
    for column in ("contract_end", "cancellation_date"):
        if column in customers.columns:
            return column
    raise DataError(
        f"{caller}: definition='contract' needs a 'contract_end' or 'cancellation_date' column "
        f"in customers; got {list(customers.columns)}"
    )


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
    definition : {"inactivity", "contract", "p_alive"}
        ``"inactivity"``: no purchase for more than ``threshold_days`` days (default from
        :func:`inactivity_threshold` on the history). ``"contract"``: the customer's
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
    _check_definition(definition, caller)
    as_of = (
        _observation_end(transactions, None)
        if as_of is None
        else _as_timestamp(as_of, "as_of", caller)
    )
    options = dict(customers=customers, threshold_days=threshold_days, freq=freq)
    return _status(transactions, as_of, definition, caller=caller, purchase_model=purchase_model,
                   p_alive=p_alive, p_alive_threshold=p_alive_threshold, **options)[0]  # fmt: skip


def _status(
    transactions,
    as_of,
    definition,
    *,
    customers,
    threshold_days,
    p_alive_threshold,
    purchase_model,
    freq,
    p_alive,
    caller,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute :func:`churn_status`'s table; return it with the customer base it reads."""
    history = transactions.loc[transactions["date"] <= as_of]
    base = _customer_base(history, as_of, freq=freq)
    columns = ["first_purchase", "last_purchase", "days_since_last", "revenue_12m"]
    table = base[columns].copy()
    if definition == "inactivity":
        if threshold_days is None:
            threshold_days = inactivity_threshold(history).days
        table["churned"] = table["days_since_last"] > int(threshold_days)
    elif definition == "contract":
        table = _contract_status(table, customers, as_of, caller)
    else:
        table["p_alive"] = _p_alive(base, purchase_model, p_alive, p_alive_threshold, caller)
        table["churned"] = table["p_alive"] < p_alive_threshold
    table.index.name = "customer_id"
    return table, base  # fmt: skip


def _contract_status(table, customers, as_of, caller) -> pd.DataFrame:
    """Add the customers under contract at ``as_of``; churned = the contract has ended."""
    column = _contract_end_column(customers, caller)
    ends = pd.to_datetime(customers.set_index("customer_id")[column])
    starts = None
    if "signup_date" in customers.columns:
        starts = pd.to_datetime(customers.set_index("customer_id")["signup_date"])
    ids = ends.index if starts is None else starts.index[starts <= as_of]
    table = table.reindex(table.index.union(pd.Index(ids, name="customer_id")))
    end = ends.reindex(table.index)
    table["churned"] = end.notna() & (end <= as_of)
    return table


def _p_alive(base, purchase_model, p_alive, threshold, caller) -> pd.Series:
    """Each customer's probability of being alive: given, from the client's model, or a default.

    The default (a BG/NBD fitted on the base in days) keeps a bare call working; a report
    passes the client's own model or values so that every page uses the same ones.
    """
    if not 0 < threshold < 1:
        raise ValueError(
            f"The 'p_alive_threshold' parameter of {caller} must be in (0, 1). "
            f"Got {threshold!r} instead."
        )
    if p_alive is not None:
        given = pd.Series(p_alive, dtype=float)
        return given.reindex(base.index)
    summary = base[["frequency", "recency", "T", "monetary_value"]]
    if purchase_model is None:
        from cxlib.clv import PurchaseModel

        purchase_model = PurchaseModel(kind="bgnbd").fit(summary)
    values = purchase_model.p_alive(summary)
    return pd.Series(np.asarray(values, dtype=float), index=base.index)


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
    _check_definition(definition, caller)
    start = _as_timestamp(start, "start", caller)
    end = _observation_end(transactions, None) if end is None else _as_timestamp(end, "end", caller)
    if end <= start:
        raise ValueError(
            f"The 'end' parameter of {caller} must be after 'start' ({start.date()}). "
            f"Got {end.date()} instead."
        )
    if definition == "inactivity" and threshold_days is None:
        threshold_days = inactivity_threshold(transactions.loc[transactions["date"] <= start]).days
    options = dict(
        customers=customers,
        threshold_days=threshold_days,
        p_alive_threshold=p_alive_threshold,
        purchase_model=purchase_model,
        freq=freq,
        p_alive=None,
        caller=caller,
    )
    before, base = _status(transactions, start, definition, **options)
    after, _ = _status(transactions, end, definition, **options)
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
    text = _rate_description(
        definition, n_at_risk, n_churned, start, end, threshold_days, p_alive_threshold
    )
    low, high = _wilson(n_churned, n_at_risk)
    return ChurnRate(rate, low, high, n_at_risk, n_churned, start, end, definition, text, table)


def _rate_description(definition, n_at_risk, n_churned, start, end, threshold_days, p_alive):
    """Describe the churn rate's definition and result in one sentence, for the report."""
    rate = n_churned / n_at_risk if n_at_risk else float("nan")
    if definition == "inactivity":
        return (
            f"Inactivity: churned = no purchase for more than {threshold_days} days. "
            f"Of {n_at_risk:,} customers active on {start.date()}, {n_churned:,} ({rate:.1%}) had "
            f"churned by {end.date()} ({(end - start).days} days later)."
        )
    if definition == "contract":
        return (
            f"Contract: churned = contract ended or cancelled. Of {n_at_risk:,} customers under "
            f"contract on {start.date()}, {n_churned:,} ({rate:.1%}) had left by {end.date()}."
        )
    return (
        f"P(alive): churned = the purchase model's probability of being alive below "
        f"{p_alive:.0%}. Of {n_at_risk:,} customers alive on {start.date()}, {n_churned:,} "
        f"({rate:.1%}) were no longer alive by {end.date()}."
    )


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
    if target_rate is not None and not (
        isinstance(target_rate, int | float) and 0 < target_rate < 1
    ):
        raise ValueError(
            "The 'target_rate' parameter of churn_vs_target must be a float in (0, 1). "
            f"Got {target_rate!r} instead."
        )
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
