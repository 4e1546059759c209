"""The customer base: one row per customer, the table every analysis of a run stands on."""

from __future__ import annotations

import pandas as pd

from cxlib.customers.purchases import check_freq, check_resolution, clean_transactions
from cxlib.customers.summary import resolve_ends
from cxlib.customers.totals import base_from, duckdb_totals
from cxlib.settings.validation import DataError, validate_columns

__all__ = ["customer_base", "join_customers"]


def customer_base(
    transactions: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    observation_end=None,
    freq: str = "W",
    resolution: str = "D",
) -> pd.DataFrame:
    """Build the one per-customer table every analysis of a run stands on.

    One row per customer with at least one purchase up to ``observation_end``. A purchase is
    a day with positive net spend (refunds netted within the day), as in :func:`rfm_summary`,
    whose columns this table contains with the same values.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``; ``order_id`` optional).
    customers : DataFrame, optional
        The customers table (``customer_id`` plus attributes): its columns are joined on. Its
        customers without a purchase are not rows of the base (counted in
        ``attrs["customers_without_transactions"]``).
    observation_end : date-like, optional
        The day the base describes; later transactions are ignored. Defaults to the last
        transaction date.
    freq : {"W", "D", "M"}, default "W"
        Time unit of ``recency`` and ``T`` (see :func:`rfm_summary`).
    resolution : {"D", "period"}, default "D"
        What one purchase is for ``frequency``, ``recency`` and ``T`` (see :func:`rfm_summary`).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), with columns:

        * ``frequency``, ``recency``, ``T``, ``monetary_value``: as :func:`rfm_summary`;
        * ``first_purchase``, ``last_purchase``: the days of the first and last purchase;
        * ``purchases``: purchase days (``frequency + 1`` at day resolution);
        * ``orders``: distinct ``order_id`` values among the customer's positive lines when the
          table has an ``order_id`` column, otherwise the purchase days;
        * ``revenue``: net spend over the whole history up to ``observation_end`` (refunds
          included); ``revenue_12m``: net spend in the 365 days up to ``observation_end``;
          ``refunds``: the amount refunded (positive);
        * ``days_since_last``: days from the last purchase to ``observation_end``;
          ``tenure_days``: days from the first purchase to ``observation_end``;
        * the attribute columns of ``customers``.

        ``attrs`` holds ``observation_end``, ``freq``, ``resolution``,
        ``customers_without_purchase`` and, with ``customers``,
        ``customers_without_transactions``.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-15", "2024-01-08"]),
    ...     "amount": [10.0, -10.0, 20.0, 8.0],
    ... })
    >>> base = customer_base(tx, observation_end="2024-01-29")
    >>> base[["frequency", "purchases", "revenue", "refunds", "days_since_last"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                 frequency  purchases  revenue  refunds  days_since_last
    customer_id
    a                  1.0        2.0     20.0     10.0             14.0
    b                  0.0        1.0      8.0      0.0             21.0
    """
    caller = "customer_base"
    check_freq(freq, caller)
    check_resolution(resolution, caller)
    ids, dates, amounts = clean_transactions(transactions, caller)
    obs_end, _ = resolve_ends(dates, observation_end, None, caller)
    orders = transactions["order_id"].to_numpy() if "order_id" in transactions.columns else None
    base = base_from(
        duckdb_totals(ids, dates, amounts, orders, caller),
        obs_end=obs_end,
        freq=freq,
        resolution=resolution,
        with_orders=orders is not None,
        caller=caller,
    )
    if customers is not None:
        base = join_customers(base, customers, caller)
    return base


def join_customers(base: pd.DataFrame, customers: pd.DataFrame, caller: str) -> pd.DataFrame:
    """Join the customers table's attributes onto the base, counting customers without purchases."""
    validate_columns(customers, ["customer_id"], caller=caller)
    table = customers.drop_duplicates("customer_id").set_index("customer_id")
    clashes = sorted(set(table.columns) & set(base.columns))
    if clashes:
        raise DataError(
            f"{caller}: the customers table has column(s) {clashes} that the customer base "
            "computes; rename them in the client's config"
        )
    attrs = dict(base.attrs)
    joined = base.join(table, how="left")
    joined.attrs = attrs
    joined.attrs["customers_without_transactions"] = int((~table.index.isin(base.index)).sum())
    return joined
