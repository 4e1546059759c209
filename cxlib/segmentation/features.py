"""Per-customer behaviour for clustering and profiling, derived from the one customer base.

Timing, frequency and money come from :func:`cxlib.customers.customer_base` (one definition of a
purchase: a day with positive net spend, refunds netted within the day); only what customers buy
and where (category and channel shares of gross spend) is read from the transactions here.
"""

from __future__ import annotations

import pandas as pd

from cxlib.settings.dates import to_timestamp
from cxlib.settings.params import param_error
from cxlib.settings.validation import DataError, check_transactions, validate_columns

__all__ = ["customer_features", "spend_mix", "summed_by"]

CATEGORY_PREFIX = "category_"
CHANNEL_PREFIX = "channel_"
#: The transactions columns whose gross-spend shares describe what and where customers buy.
MIX_COLUMNS = {"category": CATEGORY_PREFIX, "channel": CHANNEL_PREFIX}


def is_share(column: str) -> bool:
    """Whether a feature column is a category or channel share."""
    return column.startswith(CATEGORY_PREFIX) or column.startswith(CHANNEL_PREFIX)


_FEATURE_BASE_COLUMNS = [
    "frequency",
    "orders",
    "revenue",
    "revenue_12m",
    "days_since_last",
    "tenure_days",
]


def _base_for(
    transactions: pd.DataFrame, base, observation_end, caller: str, columns=_FEATURE_BASE_COLUMNS
) -> pd.DataFrame:
    """Return the caller's customer base, or build it from the checked transactions.

    Shared by the segmentation and wallet functions that accept ``base=client.base``.
    """
    from cxlib.customers import customer_base

    if base is None:
        return customer_base(transactions, observation_end=observation_end)
    validate_columns(base, list(columns), caller=f"{caller} base")
    end = base.attrs.get("observation_end")
    if observation_end is None or end is None:
        return base
    if to_timestamp(observation_end, "observation_end", caller) != end:
        must = f"the customer base's observation end ({end.date()})"
        raise param_error("observation_end", observation_end, must, caller=caller)
    return base


def spend_mix(
    transactions: pd.DataFrame,
    by: str,
    *,
    index=None,
    observation_end=None,
    key: str = "customer_id",
) -> pd.DataFrame:
    """Share of gross spend per value of ``by`` (e.g. category), for each customer or segment.

    Refund lines are left out: the mix says where the money goes, not where it came back from.

    Parameters
    ----------
    transactions : DataFrame
        Checked transactions with the ``by`` and ``key`` columns.
    by : str
        Column to split spend by, e.g. ``"category"`` or ``"channel"``.
    index : Index, optional
        Rows of the result (missing rows get zero shares); default the keys that bought.
    observation_end : date-like, optional
        Later transactions are ignored.
    key : str
        Column to group by: ``"customer_id"`` (per customer) or a segment column.

    Returns
    -------
    DataFrame
        One row per key, one column ``<by>_<value>`` per value, shares 0-1.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a"], "channel": ["web", "shop", "web"],
    ...                    "amount": [30.0, 10.0, -5.0]})
    >>> spend_mix(tx, "channel")  # doctest: +NORMALIZE_WHITESPACE
                 channel_shop  channel_web
    customer_id
    a                    0.25         0.75
    """
    keep = transactions["amount"].to_numpy() > 0
    if observation_end is not None:
        end = to_timestamp(observation_end, "observation_end", "spend_mix")
        keep &= (transactions["date"] <= end).to_numpy()
    spend = summed_by(transactions.loc[keep], key, by)
    shares = spend.div(spend.sum(axis=1), axis=0)
    if index is not None:
        shares = shares.reindex(index)
    shares = shares.fillna(0.0)
    shares.columns = [f"{by}_{value}" for value in shares.columns]
    shares.index.name = key
    return shares


def summed_by(transactions: pd.DataFrame, key: str, by: str, values: str = "amount"):
    """Sum ``values`` per ``key`` (rows) and ``by`` value (columns), zero where none.

    What ``pivot_table(index=key, columns=by, values=values, aggfunc="sum", fill_value=0,
    observed=True)`` gives (sorted rows and columns, missing keys or levels left out), from one
    integer coding of each column and a ``bincount``: several times faster on millions of
    rows, as nothing is grouped by text twice.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["b", "a", "b"], "category": ["x", "y", "x"],
    ...                    "amount": [1.0, 2.0, 3.0]})
    >>> summed_by(tx, "customer_id", "category")  # doctest: +NORMALIZE_WHITESPACE
    category       x    y
    customer_id
    a            0.0  2.0
    b            4.0  0.0
    """
    import numpy as np

    rows, row_values = pd.factorize(transactions[key], sort=True)
    columns, column_values = pd.factorize(transactions[by], sort=True)
    known = (rows >= 0) & (columns >= 0)  # missing keys or levels are left out, as pivot_table
    n_rows, n_columns = len(row_values), len(column_values)
    flat = rows[known].astype(np.int64) * n_columns + columns[known]
    weights = transactions[values].to_numpy(dtype=float)[known]
    sums = np.bincount(flat, weights=weights, minlength=n_rows * n_columns)
    table = pd.DataFrame(
        sums.reshape(n_rows, n_columns),
        index=pd.Index(row_values, name=key),
        columns=pd.Index(column_values, name=by),
    )
    seen_rows = np.bincount(rows[known], minlength=n_rows) > 0
    seen_columns = np.bincount(columns[known], minlength=n_columns) > 0
    return table.loc[seen_rows, seen_columns]


def _row_numbers(ids: pd.Series, index: pd.Index):
    """Position in ``index`` (text ids) of each transaction's customer; -1 when absent.

    Each distinct id is turned into text and looked up once, not every row.
    """
    codes, distinct = pd.factorize(ids)
    position = index.get_indexer(pd.Index(distinct).astype(str))
    return position[codes]


def customer_mix(transactions: pd.DataFrame, index: pd.Index, *, observation_end=None):
    """:func:`spend_mix` by category and by channel (those present) for the customers of ``index``.

    One row per customer of ``index`` (text ids; zero shares for a customer without gross
    spend), the ``category_*`` then the ``channel_*`` columns. The ids of the transactions are
    hashed once, and each mix is grouped by the customer's row number.
    """
    columns = [c for c in MIX_COLUMNS if c in transactions.columns]
    out = pd.DataFrame(index=index)
    if not columns:
        return out
    rows = _row_numbers(transactions["customer_id"], index)
    mixed = transactions[["date", "amount", *columns]].assign(customer_id=rows)
    mixed = mixed.loc[rows >= 0]  # customers outside the index
    for column in columns:
        shares = spend_mix(mixed, column, index=range(len(index)), observation_end=observation_end)
        out = out.join(shares.set_axis(index))
    return out


def customer_features(
    transactions: pd.DataFrame,
    summary: pd.DataFrame | None = None,
    *,
    base: pd.DataFrame | None = None,
    observation_end=None,
) -> pd.DataFrame:
    """Per-customer behaviour for clustering and profiling.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions: ``customer_id``, ``date``, ``amount``; optional ``order_id``,
        ``category``, ``channel`` (read only for the category and channel shares).
    summary : DataFrame, optional
        A per-customer frame (e.g. :func:`cxlib.clv.rfm_summary` output) whose index sets the
        rows and their order; every one of its customers must have a purchase.
    base : DataFrame, optional
        :func:`cxlib.customers.customer_base` output (e.g. ``client.base``), so a run builds it
        once; built from ``transactions`` when omitted.
    observation_end : date-like, optional
        End of observation; defaults to the base's (or the last transaction date).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one row per customer of the base: ``frequency`` (repeat
        purchase days: a purchase is a day with positive net spend), ``orders`` (distinct orders
        among positive lines, or purchase days without ``order_id``), ``days_since_last``,
        ``tenure_days`` (days since the first purchase), ``total_spend`` (the base's
        ``revenue``: net of refunds), ``avg_order_value``, ``annual_spend`` (the base's
        ``revenue_12m``: net spend in the last 365 days), then one ``category_<name>`` column
        per category and one ``channel_<name>`` column per channel: the share of the customer's
        gross spend (0-1).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-11",
    ...                                            "2024-01-11"]),
    ...                    "amount": [10.0, -10.0, 30.0, 5.0], "channel": ["web", "web", "shop",
    ...                                                                   "web"]})
    >>> features = customer_features(tx)
    >>> features[["frequency", "tenure_days", "total_spend", "channel_web"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                 frequency  tenure_days  total_spend  channel_web
    customer_id
    a                    1           10         30.0         0.25
    b                    0            0          5.0         1.00
    """
    caller = "customer_features"
    tx = check_transactions(transactions, caller=caller)
    base = _base_for(tx, base, observation_end, caller)
    end = base.attrs.get("observation_end", observation_end)
    base = base.set_axis(base.index.astype(str))  # ids are text, whatever the client's dtype
    orders = base["orders"].clip(lower=1)
    features = pd.DataFrame(
        {
            "frequency": base["frequency"].round().astype(int),
            "orders": orders.round().astype(int),
            "days_since_last": base["days_since_last"].round().astype(int),
            "tenure_days": base["tenure_days"].round().astype(int),
            "total_spend": base["revenue"].astype(float),
            "avg_order_value": (base["revenue"] / orders).astype(float),
            "annual_spend": base["revenue_12m"].astype(float),
        }
    )
    features.index.name = "customer_id"
    features = features.join(customer_mix(tx, features.index, observation_end=end))
    if summary is not None:
        index = summary.index.astype(str)
        missing = index.difference(features.index)
        if len(missing):
            raise DataError(
                f"{caller}: {len(missing)} customer(s) of the summary have no purchase in the "
                f"transactions, e.g. {list(missing[:5])}"
            )
        features = features.loc[index]
        features.index.name = "customer_id"
    return features
