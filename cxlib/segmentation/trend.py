"""The trend an executive summary starts with: the revenue bridge and active customers over time.

Also each RFM segment against the same segment a year before (:func:`segment_trend`), which the
segment cards of the summary quote.

:func:`revenue_bridge` explains how the last 12 months' revenue came from the 12 months before:
revenue of new and reactivated customers, revenue lost with customers who stopped buying, and the
expansion or contraction of those who bought in both years. The windows are those of
:func:`cxlib.customers.customer_base`'s ``revenue_12m`` (the 365 days up to ``observation_end``),
so the bridge's last-12-months total equals the base's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlib.data import engine
from cxlib.settings import units
from cxlib.settings.i18n import N_, day, gettext
from cxlib.settings.validation import DataError, check_transactions, validate_columns

__all__ = [
    "BRIDGE_STEPS",
    "active_customers_over_time",
    "covers",
    "data_coverage",
    "history_note",
    "previous_year_start",
    "revenue_bridge",
    "segment_trend",
    "TREND_COLUMNS",
]

#: Rows of :func:`revenue_bridge`, in reading order.
BRIDGE_STEPS = ("previous 12 months", "new customers", "reactivated customers",
                "lost customers", "expansion", "contraction", "last 12 months")  # fmt: skip


#: Columns of :func:`segment_trend`: each segment now and a year before, and the changes.
TREND_COLUMNS = [
    "customers", "revenue_12m", "customers_before", "revenue_12m_before", "customers_change",
    "revenue_change", "kept_share", "trend_note",
]  # fmt: skip

#: Period lengths of :func:`active_customers_over_time` (weeks start on Monday).
_PERIOD_FREQS = ("W", "M", "Q", "Y")

#: ``attrs["note"]`` of the empty bridge of a client without a transactions table.
NO_TRANSACTIONS = N_("No transactions table: there is no revenue trend to show.")


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
    return gettext("under two years of history (data from %(first)s)") % {"first": day(first)}


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
            note=gettext(
                "No revenue bridge: the data start on %(first)s, and the 12 months before the "
                "last 12\nstart on %(start)s."
            )
            % {"first": day(first), "start": day(previous_year_start(end))},
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


def segment_trend(
    transactions: pd.DataFrame | None,
    *,
    base: pd.DataFrame | None = None,
    threshold_days: float | None = None,
    observation_end=None,
) -> pd.DataFrame:
    """Each RFM segment now against the same segment a year before: customers and revenue.

    The trend of the segment, not of its current customers: a year before, the customers are
    segmented with the same rules (:func:`cxlib.customers.customer_base` at
    ``observation_end - 365`` days, then :func:`cxlib.segmentation.rfm_segments` with the same
    inactivity threshold), and the segment's revenue then is its customers' net revenue in the
    365 days up to that day. (Keeping today's segment for both years would restate the RFM
    rules: customers now in a recent segment bought recently by construction, so their money
    "grows", and lapsed segments "shrink".) Only the segmentation's inputs are computed for the
    year before: no CLV model, no order counts.

    Parameters
    ----------
    transactions : DataFrame or None
        Canonical transactions (``customer_id``, ``date``, ``amount``). None: an empty table.
    base : DataFrame, optional
        The run's customer base with ``segment`` and ``revenue_12m`` (``client.base``): the
        segments now, so the cards count the segmentation page's customers. Built from
        ``transactions`` when not given.
    threshold_days : float
        The client's inactivity threshold in days (``client.churn_threshold_days``), used for
        both years; required when there are transactions (the segmentation sits below the
        churn analysis that reads a threshold from the history).
    observation_end : date-like, optional
        The day "now" describes; default the base's, or else the last transaction date.

    Returns
    -------
    DataFrame
        Indexed by ``segment`` (segments now, most revenue first, then those only a year
        before), columns :data:`TREND_COLUMNS`: ``customers`` and ``revenue_12m`` (net revenue
        in the 365 days up to ``observation_end``) now, ``customers_before`` and
        ``revenue_12m_before`` a year before, ``customers_change`` and ``revenue_change``
        (relative: 0.08 is +8%), ``kept_share`` (of the segment's customers a year before, the
        share in it now: a size can hold while its people change), and ``trend_note``: why a
        change is missing, as the card says
        it: "under two years of history (data from ...)", "none in this segment" (a year
        before), "no net revenue" (a year before).
        ``attrs``: ``observation_end``, ``year_before``, ``threshold_days``.

    Examples
    --------
    A year before, ``a`` was a Champion, ``b`` Lost and ``d`` Promising; now ``a`` is
    Hibernating, ``b`` Loyal, ``d`` Lost and ``c`` a new customer:

    >>> tx = pd.DataFrame({"customer_id": list("aabbcd"),
    ...     "amount": [10.0, 20.0, 5.0, 5.0, 40.0, 8.0],
    ...     "date": pd.to_datetime(["2022-12-01", "2023-12-01", "2022-12-15", "2024-12-01",
    ...                             "2024-12-20", "2023-11-01"])})
    >>> trend = segment_trend(tx, threshold_days=200, observation_end="2024-12-31")
    >>> trend[["customers", "customers_before", "customers_change"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                   customers  customers_before  customers_change
    segment
    New Customers          1                 0               NaN
    Loyal                  1                 0               NaN
    Hibernating            1                 0               NaN
    Lost                   1                 1               0.0
    Champions              0                 1              -1.0
    Promising              0                 1              -1.0
    >>> trend.loc["Loyal", "trend_note"]
    'none in this segment'
    >>> segment_trend(tx.iloc[3:], threshold_days=200)["trend_note"].iloc[0]
    'under two years of history (data from 01 Nov 2023)'
    """
    if transactions is None or transactions.empty:
        empty = pd.DataFrame({column: pd.Series(dtype=float) for column in TREND_COLUMNS})
        return empty.astype({"trend_note": object}).rename_axis("segment")
    # Only what the segmentation reads: without order_id the base skips its order counts.
    tx = check_transactions(transactions, caller="segment_trend")[["customer_id", "date", "amount"]]
    if observation_end is None and base is not None:
        observation_end = base.attrs.get("observation_end")
    end = pd.Timestamp(tx["date"].max() if observation_end is None else observation_end)
    year_before = end - pd.Timedelta(days=365)
    if threshold_days is None:
        raise DataError(
            "segment_trend needs the client's inactivity threshold: pass "
            "threshold_days=client.churn_threshold_days"
        )
    if base is None:
        base = _segmented_base(tx, end, threshold_days, freq="W")
    validate_columns(base, ["segment", "revenue_12m"], caller="segment_trend base")
    now = _segment_totals(base).sort_values("revenue_12m", ascending=False, kind="stable")
    first = tx.loc[tx["date"] <= end, "date"].min()
    # The year before needs a full 12 months of its own: the 365 days up to year_before.
    if not covers(first, previous_year_start(end)):
        before = pd.DataFrame({"customers": pd.Series(dtype=float), "revenue_12m": np.nan})
        before["kept"], short = np.nan, history_note(first)
    else:
        earlier = _segmented_base(tx, year_before, threshold_days, base.attrs.get("freq", "W"))
        then = earlier["segment"].astype(str)
        # a segment's customers then who are in it now (a size can hold while its people change)
        stayed = base["segment"].reindex(then.index).astype(str).eq(then)
        before = _segment_totals(earlier).assign(kept=stayed.groupby(then).sum().astype(float))
        short = None
    names = list(now.index) + [name for name in before.index if name not in now.index]
    out = now.reindex(names).fillna(0.0).join(before.add_suffix("_before"))
    out["customers"] = out["customers"].astype(int)
    if short is None:  # a segment absent a year before had no customers then
        out[["customers_before", "revenue_12m_before"]] = out[
            ["customers_before", "revenue_12m_before"]].fillna(0.0)  # fmt: skip
        out["customers_before"] = out["customers_before"].astype(int)
    had_customers, had_revenue = out["customers_before"] > 0, out["revenue_12m_before"] > 0
    out["customers_change"] = out["customers"] / out["customers_before"].where(had_customers) - 1
    kept = out["kept_before"].fillna(0.0)
    out["kept_share"] = kept / out["customers_before"].where(had_customers)
    out["revenue_change"] = out["revenue_12m"] / out["revenue_12m_before"].where(had_revenue) - 1
    notes = np.select(
        [np.full(len(out), short is not None), ~had_customers, ~had_revenue],
        [short, gettext("none in this segment"), gettext("no net revenue")],
        "",
    )
    out["trend_note"] = pd.Series(notes, index=out.index, dtype=object).replace("", None)
    out = out[TREND_COLUMNS].rename_axis("segment")
    out.attrs.update(observation_end=end, year_before=year_before, threshold_days=threshold_days)
    return out


def _segmented_base(tx: pd.DataFrame, end, threshold_days, freq: str) -> pd.DataFrame:
    """Build the customer base as of ``end`` with its RFM segment, as the client does."""
    from cxlib import customers
    from cxlib.segmentation.rfm import rfm_segments

    with warnings.catch_warnings():
        # customers without a purchase are counted in the quality table; coarse scores on a
        # small base are reported by the segmentation page itself
        warnings.simplefilter("ignore", UserWarning)
        base = customers.customer_base(tx, observation_end=end, freq=freq)
        base["segment"] = rfm_segments(base, threshold_days=threshold_days)["segment"]
    return base


def _segment_totals(base: pd.DataFrame) -> pd.DataFrame:
    """Count each segment's customers and sum their net revenue of the last 365 days."""
    groups = base.groupby(base["segment"].astype(str), sort=True)["revenue_12m"]
    return pd.DataFrame({"customers": groups.size().astype(float), "revenue_12m": groups.sum()})
