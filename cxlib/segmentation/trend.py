"""The trend an executive summary starts with: the revenue bridge and active customers over time.

:func:`revenue_bridge` explains how the last 12 months' revenue came from the 12 months before:
revenue of new and reactivated customers, revenue lost with customers who stopped buying, and the
expansion or contraction of those who bought in both years. The windows are those of
:func:`cxlib.customers.customer_base`'s ``revenue_12m`` (the 365 days up to ``observation_end``),
so the bridge's last-12-months total equals the base's.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from cxlib.data import engine
from cxlib.settings import units
from cxlib.settings.validation import check_transactions

__all__ = [
    "BRIDGE_STEPS",
    "active_customers_over_time",
    "covers",
    "data_coverage",
    "history_note",
    "previous_year_start",
    "revenue_bridge",
]

#: Rows of :func:`revenue_bridge`, in reading order.
BRIDGE_STEPS = ("previous 12 months", "new customers", "reactivated customers",
                "lost customers", "expansion", "contraction", "last 12 months")  # fmt: skip


#: Period lengths of :func:`active_customers_over_time` (weeks start on Monday).
_PERIOD_FREQS = ("W", "M", "Q", "Y")

#: ``attrs["note"]`` of the empty bridge of a client without a transactions table.
NO_TRANSACTIONS = "No transactions table: there is no revenue trend to show."


def covers(first, start) -> bool:
    """Whether data that start on ``first`` cover a period that starts on ``start``.

    The one test of the report for "do the data cover this period": a comparison between
    periods (the revenue bridge, a segment against a year before, a quarter against a year
    earlier, new customers) is stated only when it holds, and ``cxlib audit`` checks the pages
    with it. Whole days count; there is no tolerance, so a file that starts one day into a
    window does not cover it.

    Examples
    --------
    >>> covers("2024-01-01", "2024-01-01"), covers("2024-01-02", "2024-01-01")
    (True, False)
    """
    return pd.Timestamp(first).normalize() <= pd.Timestamp(start).normalize()


def data_coverage(tables: dict) -> dict[str, dict]:
    """Return the first and last date and the row count of each table with a ``date`` column.

    What a run's manifest records (``coverage``), so that ``cxlib audit`` can tell whether the
    data cover the periods a page compares.

    Parameters
    ----------
    tables : dict
        Table name -> frame (pandas, or a Spark DataFrame of checked rows) or None.

    Examples
    --------
    >>> tx = pd.DataFrame({"date": pd.to_datetime(["2024-03-01", "2025-06-30"])})
    >>> data_coverage({"transactions": tx, "surveys": None})
    {'transactions': {'first': '2024-03-01', 'last': '2025-06-30', 'rows': 2}}
    """
    out = {}
    for name, frame in tables.items():
        if frame is None:
            continue
        if hasattr(frame, "sparkSession"):
            first, last, rows = engine.first_date(frame), engine.last_date(frame), None
        elif "date" in getattr(frame, "columns", ()) and len(frame):
            dates = pd.to_datetime(frame["date"])
            first, last, rows = dates.min(), dates.max(), len(frame)
        else:
            continue
        if pd.isna(first) or pd.isna(last):
            continue
        out[name] = {"first": f"{first:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}", "rows": rows}
    return out


def previous_year_start(end) -> pd.Timestamp:
    """First day of the 12 months before the last 12 up to ``end``: ``end`` - 729 days.

    The last 12 months are the 365 days up to ``end`` (inclusive), the 12 months before the
    365 days before them; comparing the two needs data from this day (:func:`covers`).

    Examples
    --------
    >>> previous_year_start("2025-12-31")
    Timestamp('2024-01-02 00:00:00')
    """
    return pd.Timestamp(end).normalize() - pd.Timedelta(days=729)


def history_note(first) -> str:
    """Say why there is no comparison with a year before: the short history, and its start.

    Examples
    --------
    >>> history_note(pd.Timestamp("2023-11-01"))
    'under two years of history (data from 01 Nov 2023)'
    """
    return f"under two years of history (data from {pd.Timestamp(first):%d %b %Y})"


def revenue_bridge(transactions: pd.DataFrame, *, observation_end=None) -> pd.DataFrame:
    """Bridge the previous 12 months' net revenue to the last 12 months'.

    Windows: the last 12 months are the 365 days up to ``observation_end`` (inclusive); the
    previous 12 months the 365 days before them. A customer counts as buying in a window when
    they have any transaction in it (refunds included, so every amount is accounted for):

    - **new**: first transaction ever in the last 12 months (+ their revenue);
    - **reactivated**: no transaction in the previous 12 months but some before (+ revenue);
    - **lost**: a transaction in the previous 12 months, none in the last (- previous revenue);
    - **expansion** / **contraction**: transactions in both windows, spending more / less
      (+ / - the change).

    Parameters
    ----------
    transactions : DataFrame or Spark DataFrame
        ``customer_id``, ``date``, ``amount`` (checked Spark rows with ``engine: spark``: the
        per-customer sums then run in Spark).
    observation_end : date-like, optional
        End of the last 12 months; default the last transaction date.

    Returns
    -------
    DataFrame
        Indexed by :data:`BRIDGE_STEPS` with ``revenue`` (signed: lost and contraction are
        negative) and ``customers``. The steps add up: previous + new + reactivated + lost +
        expansion + contraction = last. ``attrs``: ``observation_end``, ``start``
        (the previous 12 months are the 365 days after it), ``first`` (the first transaction
        date) and ``history_before`` (True when the data reach before the previous 12 months,
        so new customers can be told from returning ones).

        When the data do not cover the previous 12 months (:func:`covers` of
        :func:`previous_year_start`) there is no bridge: the table is empty, ``attrs["note"]``
        says what is missing, and ``attrs`` keep ``last_12m`` and ``customers_12m`` (net revenue
        and customers of the last 12 months, or of the whole history when it is shorter).
        ``transactions=None`` gives an empty table with the reason in ``attrs["note"]``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "d", "d"],
    ...     "date": pd.to_datetime(["2024-03-01", "2025-03-01", "2024-05-01", "2025-02-01",
    ...                             "2022-01-01", "2025-01-01"]),
    ...     "amount": [100.0, 150.0, 80.0, 40.0, 10.0, 20.0]})
    >>> bridge = revenue_bridge(tx, observation_end="2025-06-30")
    >>> bridge["revenue"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'previous 12 months': 180.0, 'new customers': 40.0, 'reactivated customers': 20.0,
     'lost customers': -80.0, 'expansion': 50.0, 'contraction': 0.0, 'last 12 months': 210.0}

    Eighteen months of data do not cover the 12 months before the last 12:

    >>> short = revenue_bridge(tx[tx["date"] >= "2024-01-01"], observation_end="2025-06-30")
    >>> short.empty, short.attrs["last_12m"]
    (True, 210.0)
    >>> print(short.attrs["note"])
    No revenue bridge: the data start on 01 Mar 2024, and the 12 months before the last 12
    start on 02 Jul 2023.
    """
    empty = pd.DataFrame({"revenue": pd.Series(dtype=float), "customers": pd.Series(dtype=int)})
    if transactions is None:  # a client without transactions: an empty bridge that says so
        empty.attrs["note"] = NO_TRANSACTIONS
        return empty
    if not hasattr(transactions, "sparkSession"):  # a Spark DataFrame: checked rows
        transactions = check_transactions(transactions, caller="revenue_bridge")
    end = (
        engine.last_date(transactions) if observation_end is None else pd.Timestamp(observation_end)
    )
    mid = end - pd.Timedelta(days=365)
    start = mid - pd.Timedelta(days=365)
    # Each customer's spend per window, summed in the engine (cxlib.data.engine.bridge_sql).
    spend = engine.run(engine.bridge_sql(observation_end=end), transactions)
    spend = spend.set_index("customer_id").sort_index()
    first = engine.first_date(transactions)
    last = spend["last_12m"].dropna()
    if not covers(first, previous_year_start(end)):  # no year before to compare with
        empty.attrs.update(
            observation_end=end,
            start=start,
            first=first,
            history_before=False,
            last_12m=float(last.sum()),
            customers_12m=len(last),
            note=(
                f"No revenue bridge: the data start on {first:%d %b %Y}, and the 12 months "
                f"before the last 12\nstart on {previous_year_start(end):%d %b %Y}."
            ),
        )
        return empty
    previous = spend["previous_12m"].dropna()
    earlier = set(spend.index[spend["earlier"].to_numpy() == 1])

    both = last.index.intersection(previous.index)
    change = last[both] - previous[both]
    only_last = last.drop(both)
    reactivated = only_last[only_last.index.isin(earlier)]
    new = only_last[~only_last.index.isin(earlier)]
    lost = previous.drop(both)
    rows = {
        "previous 12 months": (previous.sum(), len(previous)),
        "new customers": (new.sum(), len(new)),
        "reactivated customers": (reactivated.sum(), len(reactivated)),
        "lost customers": (-lost.sum(), len(lost)),
        "expansion": (change[change > 0].sum(), int((change > 0).sum())),
        "contraction": (change[change <= 0].sum(), int((change <= 0).sum())),
        "last 12 months": (last.sum(), len(last)),
    }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["revenue", "customers"])
    out["revenue"] = out["revenue"].astype(float)
    out["customers"] = out["customers"].astype(int)
    out.index.name = "step"
    out.attrs.update(observation_end=end, start=start, first=first, history_before=first <= start)
    return out


def active_customers_over_time(
    transactions: pd.DataFrame, *, freq: str = "Q", observation_end=None
) -> pd.DataFrame:
    """Count customers buying, and their net revenue, per complete period.

    Only periods that end on or before ``observation_end`` (default the last transaction date)
    are counted, so a half-finished quarter does not look like a fall. The counting runs in
    the client's engine (:func:`cxlib.data.engine.active_periods_sql`): DuckDB over a pandas frame,
    Spark over a Spark DataFrame of checked transactions (``engine: spark``).

    Parameters
    ----------
    transactions : DataFrame or Spark DataFrame
        ``customer_id``, ``date``, ``amount``.
    freq : {"Q", "M", "W", "Y"}, default "Q"
        Period length.
    observation_end : date-like, optional
        Last observed day; default the last transaction date.

    Returns
    -------
    DataFrame
        One row per period: ``period`` (its first day), ``active_customers`` (customers with a
        positive-spend transaction), ``revenue`` (net) and ``new_customers`` (first transaction
        ever in the period). ``attrs["first"]``: the first transaction date (a count of new
        customers means little for a period the data start shortly before; see :func:`covers`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a"], "amount": [5.0, 3.0, 2.0],
    ...     "date": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-04-02"])})
    >>> active_customers_over_time(tx, observation_end="2025-06-30")["active_customers"].tolist()
    [2, 1]
    """
    if transactions is None:  # a client without transactions: no periods
        return pd.DataFrame(columns=["period", "active_customers", "revenue", "new_customers"])
    units.period(freq, codes=_PERIOD_FREQS, caller="active_customers_over_time")
    if hasattr(transactions, "sparkSession"):  # engine spark: checked rows, aggregated there
        rows = transactions
        last = rows.selectExpr("max(date)").first()[0]
        end = pd.Timestamp(last) if observation_end is None else pd.Timestamp(observation_end)
        out = engine.run_spark(engine.active_periods_sql(freq=freq, observation_end=end), rows)
        first = engine.first_date(rows)
    else:
        tx = check_transactions(transactions, caller="active_customers_over_time")
        end = tx["date"].max() if observation_end is None else pd.Timestamp(observation_end)
        columns = {name: pa.array(tx[name].to_numpy()) for name in ("date", "amount")}
        codes, _ = pd.factorize(tx["customer_id"])  # ids as codes: any id type groups the same
        table = pa.table({"customer_id": pa.array(codes), **columns})
        out = engine.run_duckdb(engine.active_periods_sql(freq=freq, observation_end=end), table)
        first = engine.first_date(tx)
    # Only complete periods: one that ends after observation_end would look like a fall.
    out["period"] = pd.to_datetime(out["period"]).astype("datetime64[ns]")
    ends = (out["period"].dt.to_period(freq).dt.end_time).dt.normalize()
    out = out.loc[ends <= end.normalize()].sort_values("period").reset_index(drop=True)
    out = out.astype({"active_customers": int, "revenue": float, "new_customers": int})
    out = out[["period", "active_customers", "revenue", "new_customers"]]
    out.attrs["first"] = first
    return out
