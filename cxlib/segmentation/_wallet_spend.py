"""What active customers spend: the spend side of the share of wallet.

Which customers have a wallet to win (:func:`active_customers`), what they spent in the
trailing 12 months (:func:`trailing_spend`, the spend that
:func:`cxlib.segmentation.wallet.estimate_wallet` models) and their annual rate while active
(:func:`spend_rate`), from the one customer base. Public through
:mod:`cxlib.segmentation.wallet`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.segmentation.features import _base_for, _row_numbers, summed_by
from cxlib.settings.params import Satisfies, check_param, check_positive_int
from cxlib.settings.validation import check_transactions, validate_columns

_DAYS_PER_YEAR = 365.25
_TRAILING_DAYS = 365
_ACTIVE = Satisfies(
    lambda active: isinstance(active, pd.Series) and pd.api.types.is_bool_dtype(active),
    "a boolean Series indexed by customer_id",
)


def active_customers(base: pd.DataFrame, active=None, *, caller: str) -> pd.Index:
    """Return the ids (str) of the customers with a wallet to win.

    ``active`` (a boolean Series by customer) wins; else ``~base["churned"]`` (the run's one
    churn definition, as in ``client.base``); else customers who bought in the trailing 12
    months (``revenue_12m > 0``).
    """
    if active is None:
        if "churned" in base.columns:
            active = ~base["churned"].astype(bool)
        else:
            validate_columns(base, ["revenue_12m"], caller=f"{caller} base")
            active = base["revenue_12m"] > 0
    check_param("active", active, _ACTIVE, caller=caller, got=type(active).__name__)
    ids = active.index[active.to_numpy()].astype(str)
    return base.index.astype(str).intersection(ids, sort=False)


def _text_ids(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return the transactions with text customer ids, like the customer base's index."""
    if pd.api.types.is_string_dtype(transactions["customer_id"]):
        return transactions
    return transactions.assign(customer_id=transactions["customer_id"].astype(str))


def _active_years(base: pd.DataFrame, min_active_days: int) -> pd.Series:
    """Each customer's active period in years, from the customer base (see :func:`spend_rate`)."""
    repeat_days = base["purchases"].to_numpy(dtype=float) - 1
    span = (base["tenure_days"] - base["days_since_last"]).to_numpy(dtype=float)
    active = np.where(
        repeat_days > 0,
        span * (repeat_days + 1) / np.clip(repeat_days, 1, None),
        base["tenure_days"].to_numpy(dtype=float),
    )
    return pd.Series(
        np.maximum(active, float(min_active_days)) / _DAYS_PER_YEAR, index=base.index.astype(str)
    )


def spend_rate(
    transactions: pd.DataFrame,
    *,
    by: str | None = None,
    observation_end=None,
    min_active_days: int = 90,
    base: pd.DataFrame | None = None,
) -> pd.DataFrame | pd.Series:
    """Annual spend rate while active, per customer (and per ``by`` value, e.g. category).

    A customer's net spend (the customer base's ``revenue``: all history, refunds deducted)
    divided by the years they were active: the span from their first to their last purchase,
    stretched by ``(n + 1) / n`` for ``n`` repeat purchase days (the span of ``n + 1`` purchases
    underestimates the active period by about one gap), or the time since the first purchase
    for one-time buyers, and never less than ``min_active_days``. A purchase is a day with
    positive net spend (:func:`cxlib.customers.customer_base`): a day of refunds only is not
    one. Unlike last-year spend (the base's ``revenue_12m``), it does not count a customer who
    stopped buying as having no spend capacity.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (read for the ``by`` split only when a base is given).
    by : str, optional
        A transactions column (e.g. ``"category"``) to split spend by; the active period is the
        customer's, whatever they bought.
    observation_end : date-like, optional
        Defaults to the base's (or the last transaction date).
    min_active_days : int
        Floor on the active period, so recent first-time buyers are not annualised from a few
        days.
    base : DataFrame, optional
        :func:`cxlib.customers.customer_base` output (e.g. ``client.base``); built from
        ``transactions`` when omitted.

    Returns
    -------
    Series or DataFrame
        Indexed by ``customer_id`` (the customers of the base: those with a purchase): the
        annual rate (Series named ``spend``), or one column per value of ``by`` (0 where the
        customer never bought it).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [100.0, 100.0, 50.0],
    ...                    "date": pd.to_datetime(["2023-01-01", "2023-07-02", "2023-12-31"])})
    >>> spend_rate(tx).round(1).tolist()
    [200.7, 202.9]
    """
    check_positive_int(min_active_days, "min_active_days", caller="spend_rate")
    tx = check_transactions(transactions, caller="spend_rate")
    base = _base_for(
        tx,
        base,
        observation_end,
        "spend_rate",
        columns=["purchases", "revenue", "tenure_days", "days_since_last"],
    )
    years = _active_years(base, min_active_days)
    if by is None:
        rate = pd.Series(base["revenue"].to_numpy(dtype=float), index=years.index) / years
        rate.name = "spend"
        rate.index.name = "customer_id"
        return rate
    validate_columns(tx, [by], caller="spend_rate")
    end = base.attrs.get("observation_end", observation_end)
    spend = _spend_by(tx, by, years.index, end=None if end is None else pd.Timestamp(end))
    out = spend.div(years, axis=0)
    out.columns.name = by
    out.index.name = "customer_id"
    return out


def trailing_spend(
    transactions: pd.DataFrame,
    *,
    base: pd.DataFrame | None = None,
    by: str | None = None,
    customers_index: pd.Index | None = None,
    min_active_days: int = 90,
) -> pd.DataFrame | pd.Series:
    """Annual spend of each customer: net spend in the trailing 12 months (``revenue_12m``).

    Customers who first bought less than a year ago are scaled up to a year from their tenure
    (never less than ``min_active_days``), so a new customer is not read as a small one; nobody
    else is annualised: a customer who stopped buying has the spend they actually made.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (checked; read for the ``by`` split, or for the base).
    base : DataFrame, optional
        :func:`cxlib.customers.customer_base` output (``revenue_12m``, ``tenure_days``), e.g.
        ``client.base``; built from ``transactions`` when omitted.
    by : str, optional
        A transactions column (e.g. ``"category"``) to split the trailing spend by.
    customers_index : Index, optional
        The customers to return (default all of the base).
    min_active_days : int
        Floor on the tenure used to scale up new customers.

    Returns
    -------
    Series or DataFrame
        Indexed by ``customer_id``: annual spend (Series ``spend``) or one column per ``by``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [100.0, 100.0, 50.0],
    ...                    "date": pd.to_datetime(["2023-01-01", "2024-07-02", "2024-10-02"])})
    >>> trailing_spend(tx).round(1).tolist()  # b: 50 over a 90-day floor
    [100.0, 202.8]
    """
    caller = "trailing_spend"
    check_positive_int(min_active_days, "min_active_days", caller=caller)
    tx = _text_ids(check_transactions(transactions, caller=caller))
    base = _base_for(tx, base, None, caller, columns=["revenue_12m", "tenure_days"])
    index = base.index.astype(str) if customers_index is None else customers_index
    table = base.set_axis(base.index.astype(str)).reindex(index)
    tenure = np.clip(table["tenure_days"].to_numpy(dtype=float), min_active_days, _TRAILING_DAYS)
    scale = pd.Series(_TRAILING_DAYS / tenure, index=index)
    if by is None:
        spend = table["revenue_12m"].astype(float) * scale
        spend.name, spend.index.name = "spend", "customer_id"
        return spend
    validate_columns(tx, [by], caller=caller)
    end = pd.Timestamp(base.attrs.get("observation_end", tx["date"].max()))
    spend = _spend_by(tx, by, index, end=end, days=_TRAILING_DAYS)
    out = spend.mul(scale, axis=0)
    out.columns.name, out.index.name = by, "customer_id"
    return out


def _spend_by(
    tx: pd.DataFrame, by: str, index: pd.Index, *, end=None, days: int | None = None
) -> pd.DataFrame:
    """Net spend of each customer of ``index`` (text ids) per ``by`` value, up to ``end``.

    Only the ``days`` up to ``end`` when given. One column per ``by`` value bought by anyone
    in the window (sorted), 0 where the customer never did; the one per-customer spend table
    behind :func:`spend_rate` and :func:`trailing_spend`. Ids are hashed once per distinct id.
    """
    keep = np.ones(len(tx), dtype=bool)
    if end is not None:
        keep &= (tx["date"] <= end).to_numpy()
        if days is not None:
            keep &= (tx["date"] > end - pd.Timedelta(days=days)).to_numpy()
    rows = _row_numbers(tx["customer_id"], pd.Index(index).astype(str))
    # customers outside the index share one extra row, dropped below: what they bought still
    # makes a column, as in a pivot of the whole window
    rows = np.where(rows >= 0, rows, len(index))
    window = pd.DataFrame(
        {"customer_id": rows[keep], by: tx[by].to_numpy()[keep], "amount": tx["amount"][keep]}
    )
    spend = summed_by(window, "customer_id", by).reindex(range(len(index)), fill_value=0.0)
    spend.index = index
    return spend


def _not_applicable(columns: list[str], note: str) -> pd.DataFrame:
    """Return an empty table carrying the sentence the page shows instead of it."""
    table = pd.DataFrame(columns=columns)
    table.attrs["note"] = note
    return table
