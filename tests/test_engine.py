"""The engines: DuckDB (default) and Spark run the same aggregations and give the same numbers."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from cxlib import DataError
from cxlib.churn import cohort_retention
from cxlib.customers import customer_base, rfm_summary, spark
from cxlib.data import engine, load_transactions, quality_report
from cxlib.segmentation.trend import active_customers_over_time, revenue_bridge
from cxlib.settings.config import load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory, small_demo):
    folder = tmp_path_factory.mktemp("engine_demo")
    small_demo.write(folder)
    return folder


@pytest.fixture(scope="module")
def both(spark, demo_files):
    """The demo's transactions loaded by DuckDB (pandas) and by Spark (Spark rows)."""
    from cxlib.data._spark_loader import read_transactions

    path = demo_files / "transactions.csv.gz"
    frame = load_transactions(path, date_format="%Y-%m-%d")
    rows, records = read_transactions(spark, path=path, date_format="%Y-%m-%d")
    return frame, rows, records


def test_the_sql_is_written_once_and_transpiles_to_spark():
    sql = engine.customer_totals_sql(freq="W", observation_end=pd.Timestamp("2024-12-31"))
    spark_sql = engine.to_spark_sql(sql)
    assert "DATEDIFF" in spark_sql and "GROUP BY customer_id, period, calibration" in spark_sql


def test_engine_defaults_to_duckdb_and_a_metastore_table_needs_spark(tmp_path):
    config = tmp_path / "c.yaml"
    (tmp_path / "t.csv").write_text("customer_id,date,amount\na,2024-01-01,1\n")
    config.write_text(
        f"client: c\ndata_dir: {tmp_path}\ntables:\n  transactions: {{path: t.csv}}\n"
    )
    assert load_config(config).engine == "duckdb"
    config.write_text(
        f"client: c\ndata_dir: {tmp_path}\ntables:\n  transactions: {{table: lake.tx}}\n"
    )
    with pytest.raises(DataError, match="engine: spark"):
        load_config(config)
    config.write_text(
        f"client: c\ndata_dir: {tmp_path}\nengine: spark\nspark: {{master: 'spark://h:7077'}}\n"
        "tables:\n  transactions: {table: lake.tx}\n"
    )
    loaded = load_config(config)
    assert loaded.spark.master == "spark://h:7077" and loaded.table_path("transactions") is None


@pytest.mark.slow
def test_spark_loads_the_same_rows_and_quality_as_duckdb(both):
    from cxlib.data._spark_loader import to_pandas

    frame, rows, records = both
    assert_frame_equal(to_pandas(rows), frame)
    assert records == frame.attrs["quality"]


@pytest.mark.slow
def test_spark_customer_base_and_rfm_summary_equal_duckdb_to_the_bit(both):
    frame, rows, _ = both
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert_frame_equal(spark.spark_customer_base(rows), customer_base(frame), check_exact=True)
        for freq, resolution in (("W", "D"), ("M", "period")):
            kwargs = dict(freq=freq, resolution=resolution, calibration_end="2025-06-30")
            spark_summary = spark.spark_rfm_summary(rows, **kwargs)
            duckdb_summary = rfm_summary(frame, **kwargs)
            assert_frame_equal(spark_summary, duckdb_summary, check_exact=True)
            assert spark_summary.attrs == duckdb_summary.attrs


@pytest.mark.slow
def test_spark_period_cohort_and_bridge_tables_equal_duckdb(both):
    frame, rows, _ = both
    for freq in ("Q", "M"):
        duck = active_customers_over_time(frame, freq=freq)
        assert len(duck) > 3
        assert_frame_equal(active_customers_over_time(rows, freq=freq), duck, check_exact=True)
    for freq in ("M", "W"):
        duck_cohorts, spark_cohorts = (
            cohort_retention(frame, freq=freq),
            cohort_retention(rows, freq=freq),
        )
        assert duck_cohorts.table["customers"].sum() > 0
        assert_frame_equal(spark_cohorts.table, duck_cohorts.table, check_exact=True)
    for end in (None, "2025-03-31"):
        duck_bridge = revenue_bridge(frame, observation_end=end)
        assert_frame_equal(revenue_bridge(rows, observation_end=end), duck_bridge, check_exact=True)
        assert duck_bridge.attrs == revenue_bridge(rows, observation_end=end).attrs


@pytest.mark.slow
def test_spark_applies_the_loader_policy_to_bad_rows(spark, tmp_path):
    from cxlib.data._spark_loader import read_transactions

    path = tmp_path / "bad.csv"
    path.write_text(
        "customer_id,date,amount\n"
        "a,2024-01-02,10.5\n"
        "n/a,2024-01-03,4\n"  # a null marker: missing id
        "b,2024-13-45,3\n"  # not a date
        "c,2024-01-05,twelve\n"  # not a number
        "d,2024-01-06,7\n"
    )
    # The first reason in the DuckDB loader's order, with the file's line number.
    with pytest.raises(
        DataError, match=r"'customer_id'\): 1 row\(s\) with missing customer_id: row 3"
    ):
        read_transactions(spark, path=path, date_format="%Y-%m-%d")
    with pytest.raises(
        DataError, match=r"missing column\(s\) 'amount' \(looked for column 'total'\)"
    ):
        read_transactions(spark, path=path, columns={"amount": "total"})
    near_amount = tmp_path / "near_amount.csv"
    near_amount.write_text("customer_id,date,Amount_EUR\na,2024-01-02,3\n")
    with pytest.raises(
        DataError, match=r"missing column\(s\) 'amount'.*or 'quantity' and 'unit_price'"
    ):
        read_transactions(spark, path=near_amount)
    with pytest.warns(UserWarning, match="set aside 3 of 5 rows"):
        rows, records = read_transactions(spark, path=path, on_invalid="drop")
    with pytest.warns(UserWarning, match="set aside 3 of 5 rows"):
        duck = load_transactions(path, on_invalid="drop")
    got = pd.DataFrame(records)[["reason", "rows_set_aside"]].sort_values("reason")
    want = quality_report(duck)[["reason", "rows_set_aside"]].sort_values("reason")
    assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert sorted(r.customer_id for r in rows.collect()) == ["a", "d"]


@pytest.mark.slow
def test_spark_counts_purchases_like_duckdb_when_there_is_no_amount(spark, tmp_path):
    from cxlib.data._spark_loader import load_transactions_spark

    (tmp_path / "tx.csv").write_text(
        "customer_id,date,store\na,2024-01-02,x\na,2024-01-02,x\nb,2024-02-03,y\n"
    )
    (tmp_path / "c.yaml").write_text(
        "client: c\ndata_dir: .\nengine: spark\ntables:\n  transactions: {path: tx.csv}\n"
    )
    config = load_config(tmp_path / "c.yaml")
    spark_frame = load_transactions_spark(config.table_path("transactions"), config=config)
    duck = load_transactions(tmp_path / "tx.csv")
    assert_frame_equal(spark_frame, duck, check_dtype=False)
    assert spark_frame["amount"].tolist() == [1.0, 1.0, 1.0]
    assert spark_frame.attrs == duck.attrs  # the quality line and the purchases basis


def _headlines(report) -> dict[str, float]:
    return {
        (file.stem, item["key"]): item["value"]
        for file in sorted((report.run_dir / "headlines").glob("*.json"))
        for item in json.loads(file.read_text())
    }


@pytest.mark.slow
def test_the_demo_report_on_spark_records_the_same_headlines_as_on_duckdb(
    spark, tmp_path, monkeypatch
):
    from cxlib.report import build_report

    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "cache"))
    data = ROOT / "data" / "demo"
    if not (data / ".complete").is_file():
        pytest.fail("the demo data are missing: run `make demo`")
    text = (ROOT / "clients" / "demo.yaml").read_text()
    text = text.replace("data_dir: ../data/demo", f"data_dir: {data}")
    (tmp_path / "duck.yaml").write_text(text)
    (tmp_path / "spark.yaml").write_text(text + "engine: spark\nspark: {master: 'local[2]'}\n")
    duck = build_report(tmp_path / "duck.yaml", out=tmp_path / "duck", progress=False)
    on_spark = build_report(tmp_path / "spark.yaml", out=tmp_path / "spark", progress=False)
    statuses = {nb.name: nb.status for nb in on_spark.notebooks}
    assert statuses == {nb.name: nb.status for nb in duck.notebooks}, statuses
    assert "failed" not in statuses.values(), statuses
    expected, got = _headlines(duck), _headlines(on_spark)
    assert len(expected) > 10 and got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert got[key] == value, key
