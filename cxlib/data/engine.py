"""Where the per-transaction aggregations run: DuckDB (embedded, the default) or Spark.

The aggregations that read every transaction row -- the per-customer totals behind
:func:`cxlib.customers.customer_base` and :func:`cxlib.customers.rfm_summary`, and the
per-period table of :func:`cxlib.segmentation.trend.active_customers_over_time` -- are written
**once**, as
SQL in DuckDB's dialect, and run unchanged by DuckDB or, transpiled by sqlglot, by Spark SQL.
Only their results (one row per customer, or per period) come back to pandas, where the models
run.

Why SQL + sqlglot rather than Ibis expressions: the aggregations are a handful of GROUP BYs,
which both engines run natively; a short spike showed the one SQL text transpiles to Spark with
sqlglot (already a dependency of nothing else, ~10 MB, pure Python) and runs there unchanged,
whereas Ibis adds a large dependency tree and its PySpark backend trails pyspark releases. SQL
is also what a client's data engineer reads and can run by hand in their warehouse.

Input of every query: a table ``tx`` with ``customer_id`` (any type the engine can group by:
text in Spark, integer codes from DuckDB's caller), ``date`` (TIMESTAMP, UTC, no zone) and
``amount`` (DOUBLE), plus ``order_id`` when :func:`customer_totals_sql` is asked for orders.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pandas as pd

from cxlib.settings import units

__all__ = [
    "ENGINES",
    "NET_SPEND_TOLERANCE",
    "active_periods_sql",
    "bridge_sql",
    "cohort_sql",
    "customer_totals_sql",
    "first_date",
    "last_date",
    "run",
    "run_duckdb",
    "run_spark",
    "spark_session",
    "to_spark_sql",
]

#: The engines a client's config may name (``engine:``); the first is the default.
ENGINES = ("duckdb", "spark")

#: Money is summed as exact decimals (to the millionth): every engine, and every run of one
#: (parallel float sums depend on the order the threads finish in), gets the same bits.
_MONEY = "DECIMAL(38, 6)"

#: A period is a purchase when its net spend exceeds this amount (in currency units); the
#: tolerance only absorbs floating-point residue of refunds that cancel their purchase. The one
#: definition: cxlib.customers re-exports it for the Python side of the same rule.
NET_SPEND_TOLERANCE = 1e-6


def _period_of(column: str, freq: str) -> str:
    """Return SQL for the integer index of the period of ``column``.

    Days, Monday-weeks, months or quarters since 1970 (cxlib.customers' numbering: 1970-01-01
    was a Thursday, so +3 makes weeks start on Monday; months and quarters are pandas' Period
    ordinals).
    """
    day = f"date_diff('day', DATE '1970-01-01', CAST({column} AS DATE))"
    return {
        "D": day,
        "W": f"CAST(FLOOR(({day} + 3) / 7.0) AS BIGINT)",
        "M": f"CAST((year({column}) - 1970) * 12 + month({column}) - 1 AS BIGINT)",
        "Q": f"CAST((year({column}) - 1970) * 4 + FLOOR((month({column}) - 1) / 3) AS BIGINT)",
    }[freq]


_PERIOD = {freq: _period_of("date", freq) for freq in ("D", "W", "M")}


def _timestamp(value: pd.Timestamp) -> str:
    return f"TIMESTAMP '{pd.Timestamp(value).isoformat(sep=' ')}'"


def customer_totals_sql(
    *,
    freq: str,
    observation_end: pd.Timestamp,
    calibration_end: pd.Timestamp | None = None,
    with_orders: bool = False,
) -> str:
    """Return the SQL for one row per customer with a transaction up to ``observation_end``.

    A purchase is a period of ``freq`` (``"D"``, ``"W"``, ``"M"``) with positive net spend;
    periods are netted separately on either side of ``calibration_end``.

    Returns columns ``customer_id``; ``purchases``, ``first_period``, ``last_period``
    (integer period numbers), ``spend`` (net spend of those purchases) and ``first_spend`` (of
    the first) in the calibration window (``date <= calibration_end``, the whole history
    without it); ``holdout_purchases`` and ``holdout_spend`` after it; ``revenue`` (net, all
    rows), ``revenue_12m`` (the 365 days up to ``observation_end``), ``refunds`` (positive),
    ``holdout_rows`` (rows after ``calibration_end``) and, ``with_orders``, ``orders``
    (distinct ``order_id`` among positive rows).

    Examples
    --------
    >>> sql = customer_totals_sql(freq="W", observation_end=pd.Timestamp("2024-12-31"))
    >>> "GROUP BY customer_id, period, calibration" in sql
    True
    """
    end = _timestamp(observation_end)
    cut = _timestamp(observation_end if calibration_end is None else calibration_end)
    year_ago = _timestamp(observation_end - pd.Timedelta(days=365))
    order_column = ", order_id" if with_orders else ""
    orders = (
        ",\n    COUNT(DISTINCT CASE WHEN amount > 0 THEN order_id END) AS orders"
        if with_orders
        else ""
    )
    return f"""
WITH rows_ AS (
  SELECT customer_id, date, CAST(amount AS {_MONEY}) AS amount{order_column},
    {_PERIOD[freq]} AS period, date <= {cut} AS calibration
  FROM tx WHERE date <= {end}
),
periods AS (
  SELECT customer_id, period, calibration, SUM(amount) AS net
  FROM rows_ GROUP BY customer_id, period, calibration
),
purchases AS (
  SELECT * FROM periods WHERE net > {NET_SPEND_TOLERANCE!r}
),
bought AS (
  SELECT customer_id,
    SUM(CASE WHEN calibration THEN 1 ELSE 0 END) AS purchases,
    MIN(CASE WHEN calibration THEN period END) AS first_period,
    MAX(CASE WHEN calibration THEN period END) AS last_period,
    SUM(CASE WHEN calibration THEN net ELSE 0 END) AS spend,
    SUM(CASE WHEN calibration THEN 0 ELSE 1 END) AS holdout_purchases,
    SUM(CASE WHEN calibration THEN 0 ELSE net END) AS holdout_spend
  FROM purchases GROUP BY customer_id
),
firsts AS (
  SELECT p.customer_id, p.net AS first_spend
  FROM purchases p JOIN bought b
    ON p.customer_id = b.customer_id AND p.period = b.first_period AND p.calibration
),
money AS (
  SELECT customer_id,
    SUM(amount) AS revenue,
    SUM(CASE WHEN date > {year_ago} THEN amount ELSE 0 END) AS revenue_12m,
    SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS refunds,
    SUM(CASE WHEN calibration THEN 0 ELSE 1 END) AS holdout_rows{orders}
  FROM rows_ GROUP BY customer_id
)
SELECT m.customer_id, CAST(m.revenue AS DOUBLE) AS revenue,
  CAST(m.revenue_12m AS DOUBLE) AS revenue_12m, CAST(m.refunds AS DOUBLE) AS refunds,
  m.holdout_rows{", m.orders" if with_orders else ""},
  COALESCE(b.purchases, 0) AS purchases, b.first_period, b.last_period,
  CAST(COALESCE(b.spend, 0) AS DOUBLE) AS spend,
  CAST(COALESCE(f.first_spend, 0) AS DOUBLE) AS first_spend,
  COALESCE(b.holdout_purchases, 0) AS holdout_purchases,
  CAST(COALESCE(b.holdout_spend, 0) AS DOUBLE) AS holdout_spend
FROM money m
LEFT JOIN bought b ON m.customer_id = b.customer_id
LEFT JOIN firsts f ON m.customer_id = f.customer_id
"""


def active_periods_sql(*, freq: str, observation_end: pd.Timestamp) -> str:
    """Return the SQL for one row per period (``W``, ``M``, ``Q``, ``Y``) with a transaction.

    Columns ``period`` (its first day), ``active_customers`` (customers with a positive-amount
    row), ``revenue`` (net) and ``new_customers`` (first transaction ever in the period), over
    the rows up to ``observation_end``.

    Examples
    --------
    >>> "DATE_TRUNC('quarter'" in active_periods_sql(freq="Q",
    ...                                              observation_end=pd.Timestamp("2024-12-31"))
    True
    """
    unit = units.period(freq, caller="active_periods_sql").sql_unit
    end = _timestamp(observation_end)
    return f"""
WITH rows_ AS (
  SELECT customer_id, amount, CAST(DATE_TRUNC('{unit}', date) AS DATE) AS period
  FROM tx WHERE date <= {end}
),
firsts AS (
  SELECT customer_id, MIN(period) AS first_period FROM rows_ GROUP BY customer_id
)
SELECT r.period,
  COUNT(DISTINCT CASE WHEN r.amount > 0 THEN r.customer_id END) AS active_customers,
  CAST(SUM(CAST(r.amount AS {_MONEY})) AS DOUBLE) AS revenue,
  COUNT(DISTINCT CASE WHEN r.period = f.first_period THEN r.customer_id END) AS new_customers
FROM rows_ r JOIN firsts f ON r.customer_id = f.customer_id
GROUP BY r.period ORDER BY r.period
"""


def cohort_sql(*, freq: str, observation_end: pd.Timestamp) -> str:
    """Return the SQL for the cohort cells: acquisition cohort x periods since acquisition.

    A customer's cohort is the period (``M``, ``Q``, ``W``; see :func:`_period_of`) of their
    first purchase day (a day with positive net spend). Columns ``cohort``, ``k`` (periods
    since), ``customers`` (cohort members with a purchase day in that period, NULL for none),
    ``revenue`` (their net spend, all rows) and ``cohort_size``.

    Examples
    --------
    >>> "HAVING" in cohort_sql(freq="M", observation_end=pd.Timestamp("2024-12-31"))
    True
    """
    end = _timestamp(observation_end)
    return f"""
WITH rows_ AS (
  SELECT customer_id, CAST(date AS DATE) AS day, CAST(amount AS {_MONEY}) AS amount
  FROM tx WHERE date <= {end}
),
days AS (
  SELECT customer_id, day FROM rows_ GROUP BY customer_id, day
  HAVING SUM(amount) > {NET_SPEND_TOLERANCE!r}
),
cohorts AS (
  SELECT customer_id, {_period_of("MIN(day)", freq)} AS cohort FROM days GROUP BY customer_id
),
sizes AS (SELECT cohort, COUNT(*) AS cohort_size FROM cohorts GROUP BY cohort),
buyers AS (
  SELECT c.cohort, {_period_of("d.day", freq)} - c.cohort AS k,
    COUNT(DISTINCT d.customer_id) AS customers
  FROM days d JOIN cohorts c ON d.customer_id = c.customer_id GROUP BY 1, 2
),
money AS (
  SELECT c.cohort, {_period_of("r.day", freq)} - c.cohort AS k,
    CAST(SUM(r.amount) AS DOUBLE) AS revenue
  FROM rows_ r JOIN cohorts c ON r.customer_id = c.customer_id GROUP BY 1, 2
)
SELECT COALESCE(b.cohort, m.cohort) AS cohort, COALESCE(b.k, m.k) AS k, b.customers,
  m.revenue, s.cohort_size
FROM buyers b FULL OUTER JOIN money m ON b.cohort = m.cohort AND b.k = m.k
JOIN sizes s ON s.cohort = COALESCE(b.cohort, m.cohort)
"""


def bridge_sql(*, observation_end: pd.Timestamp) -> str:
    """Return the SQL for each customer's net spend in the last and the previous 365 days.

    Columns ``customer_id``, ``last_12m`` and ``previous_12m`` (NULL without a transaction in
    the window) and ``earlier`` (1 when the customer has a transaction before both windows).

    Examples
    --------
    >>> "previous_12m" in bridge_sql(observation_end=pd.Timestamp("2024-12-31"))
    True
    """
    end = pd.Timestamp(observation_end)
    mid, start = end - pd.Timedelta(days=365), end - pd.Timedelta(days=730)
    money = f"CAST(amount AS {_MONEY})"
    return f"""
SELECT customer_id,
  CAST(SUM(CASE WHEN date > {_timestamp(mid)} THEN {money} END) AS DOUBLE) AS last_12m,
  CAST(SUM(CASE WHEN date > {_timestamp(start)} AND date <= {_timestamp(mid)} THEN {money} END)
    AS DOUBLE) AS previous_12m,
  MAX(CASE WHEN date <= {_timestamp(start)} THEN 1 ELSE 0 END) AS earlier
FROM tx WHERE date <= {_timestamp(end)} GROUP BY customer_id
"""


def run(sql: str, tx) -> pd.DataFrame:
    """Run ``sql`` where ``tx`` lives: Spark for a Spark DataFrame, else DuckDB.

    A pandas frame's ``customer_id`` goes in as integer codes (any id type groups the same);
    results that hold customer ids map them back.
    """
    if hasattr(tx, "sparkSession"):
        return run_spark(sql, tx)
    import pyarrow as pa

    codes, uniques = pd.factorize(tx["customer_id"])
    table = pa.table({
        "customer_id": pa.array(codes),
        "date": pa.array(tx["date"].to_numpy()),
        "amount": pa.array(tx["amount"].to_numpy()),
    })  # fmt: skip
    out = run_duckdb(sql, table)
    if "customer_id" in out:
        out["customer_id"] = uniques[out["customer_id"].to_numpy()]
    return out


def last_date(tx) -> pd.Timestamp:
    """Return the last transaction date of a pandas frame or a Spark DataFrame."""
    if hasattr(tx, "sparkSession"):
        return pd.Timestamp(tx.selectExpr("max(date)").first()[0])
    return pd.Timestamp(tx["date"].max())


def first_date(tx) -> pd.Timestamp:
    """Return the first transaction date of a pandas frame or a Spark DataFrame."""
    if hasattr(tx, "sparkSession"):
        return pd.Timestamp(tx.selectExpr("min(date)").first()[0])
    return pd.Timestamp(tx["date"].min())


def to_spark_sql(sql: str) -> str:
    """Transpile cxlib's DuckDB-dialect SQL to Spark SQL (sqlglot).

    Examples
    --------
    >>> to_spark_sql("SELECT date_diff('day', DATE '1970-01-01', CAST(d AS DATE)) FROM tx")
    "SELECT DATEDIFF(DAY, CAST('1970-01-01' AS DATE), CAST(d AS DATE)) FROM tx"
    """
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def run_duckdb(sql: str, tx: Any) -> pd.DataFrame:
    """Run ``sql`` in an in-memory DuckDB over ``tx`` (a pandas frame or Arrow table).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1], "amount": [2.0, 3.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> run_duckdb("SELECT customer_id, SUM(amount) AS s FROM tx GROUP BY 1", tx)
       customer_id    s
    0            1  5.0
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        try:  # the bar would print over a terminal's output
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:  # a Jupyter kernel without ipywidgets refuses to change it
            pass
        con.register("tx", tx)
        return con.execute(sql).df()
    finally:
        con.close()


_SPARK_LOCK = threading.Lock()


def spark_session(master: str | None = None, *, conf: dict | None = None, app_name: str = "cxlib"):
    """Return the process's SparkSession (created once; UTC session time zone, Arrow transfers).

    ``master`` and ``conf`` (extra settings) are used only when no session exists yet
    (``master=None``: Spark's own default, e.g.
    ``spark-submit``'s, else ``local[*]``).
    """
    from pyspark.sql import SparkSession

    with _SPARK_LOCK:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        builder = SparkSession.builder.appName(app_name)
        if master is not None:
            builder = builder.master(master)
        builder = (
            builder.config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.showConsoleProgress", "false")
        )
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        return builder.getOrCreate()


def run_spark(sql: str, tx) -> pd.DataFrame:
    """Run cxlib's DuckDB-dialect ``sql`` in Spark over the Spark DataFrame ``tx``."""
    view = f"cxlib_tx_{id(tx):x}"
    tx.createOrReplaceTempView(view)
    try:
        spark_sql = re.sub(r"\bFROM tx\b", f"FROM {view}", to_spark_sql(sql))
        # Arrow straight to pandas: pyspark's own toPandas lags pandas releases
        return tx.sparkSession.sql(spark_sql).toArrow().to_pandas()
    finally:
        tx.sparkSession.catalog.dropTempView(view)
