"""Tests for cxlib.open_client: tables loaded once, the base and the CLV fit computed once."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import cxlib
from cxlib import DataError
from cxlib.run.client import RUN_COLUMNS, open_client
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    from cxlib.demo import make_demo

    data = tmp_path_factory.mktemp("client_data")
    make_demo(n_customers=1_500, seed=3).write(data)
    text = (ROOT / "clients" / "demo.yaml").read_text()
    config = data / "demo.yaml"
    config.write_text(text.replace("data_dir: ../data/demo", f"data_dir: {data}"))
    return config


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_open_client_builds_one_base_with_the_run_columns(demo_config, cache):
    client = cxlib.open_client(demo_config)
    base = client.base
    assert set(RUN_COLUMNS) <= set(base.columns)
    assert base.index.is_unique and base.index.name == "customer_id"
    # the base's CLV and p_alive are the run's one CLV fit
    fit = client.value_fit
    assert_frame_equal(
        base[["frequency", "recency", "T"]], fit.summary[["frequency", "recency", "T"]]
    )
    assert (base["clv"] == fit.values["clv"].reindex(base.index)).all()
    # the churn flag follows the client's one definition (inactivity on the demo)
    assert client.analysis.churn_definition == "inactivity"
    expected = base["days_since_last"] > client.churn_threshold_days
    assert (base["churned"] == expected).all()
    assert base.attrs["churn_definition"] == "inactivity"


def test_a_second_open_reads_the_disk_cache_and_gives_the_same_numbers(demo_config, cache):
    first = open_client(demo_config)
    first.prepare()
    assert first.timings["value_fit"] > 0
    second = open_client(demo_config)
    base = second.base
    # read, not computed (value_fit not even needed)
    assert second.timings == {"tables": 0.0, "base": 0.0}
    assert_frame_equal(base, first.base)
    assert any(p.name.startswith("tables.") for p in cache.rglob("*.arrow"))
    assert not list(cache.rglob("*.pkl"))


def test_a_changed_data_file_is_not_served_from_the_cache(demo_config, cache, tmp_path):
    data = demo_config.parent
    copy = tmp_path / "copy"
    copy.mkdir()
    for file in data.iterdir():
        if file.is_file():
            (copy / file.name).write_bytes(file.read_bytes())
    config = copy / "demo.yaml"
    config.write_text(demo_config.read_text().replace(f"data_dir: {data}", f"data_dir: {copy}"))
    before = open_client(config).base
    tx = pd.read_csv(copy / "transactions.csv.gz")
    tx.iloc[:-200].to_csv(copy / "transactions.csv.gz", index=False)
    after = open_client(config)
    assert len(after.transactions) == len(tx) - 200
    assert after.base["revenue"].sum() != pytest.approx(before["revenue"].sum())


def test_the_runs_churn_is_computed_once_from_the_registry_and_cached(demo_config, cache):
    from cxlib import churn

    first = open_client(demo_config)
    result = first.churn
    settings, tx = first.analysis, first.transactions
    assert result.definition is churn.DEFINITIONS["inactivity"]
    assert result.words == f"no purchase for more than {first.churn_threshold_days} days"
    assert first.base.attrs["churn_words"] == result.words
    assert first.base.attrs["churn_follow_up_days"] == first.churn_threshold_days
    assert (result.churned == first.base["churned"]).all()
    # the numbers the churn page computed itself before reading client.churn
    cutoff = churn.resolve_cutoff(tx, None, horizon_days=settings.churn_horizon_days)
    rate = churn.churn_rate(
        tx, start=cutoff, end=cutoff + pd.Timedelta(days=settings.churn_horizon_days),
        threshold_days=first.churn_threshold_days, freq=settings.freq,
    )  # fmt: skip
    assert (result.rate.rate, result.rate.description) == (rate.rate, rate.description)
    assert result.rate_note.startswith(rate.description + " 95% interval ")
    survival = churn.survival_table(tx, threshold_days=first.churn_threshold_days)
    assert_frame_equal(result.survival[survival.columns], survival)
    # survival events are the base's churned flags (one definition, one end of the data)
    assert (result.survival["event"] == first.base["churned"].reindex(survival.index)).all()
    second = open_client(demo_config)
    again = second.churn
    assert second.timings["churn"] == 0.0  # read from the disk cache, not computed
    assert_frame_equal(again.survival, result.survival)
    assert_frame_equal(again.rate.table, result.rate.table)
    assert again.definition is result.definition


def test_open_client_says_how_to_write_missing_demo_data(tmp_path, cache):
    config = tmp_path / "demo.yaml"
    config.write_text(
        (ROOT / "clients" / "demo.yaml")
        .read_text()
        .replace("data_dir: ../data/demo", f"data_dir: {tmp_path / 'nowhere'}")
    )
    with pytest.raises(DataError, match="cxlib demo --out data/demo"):
        open_client(config)


def test_the_p_alive_churn_definition_uses_the_runs_clv_model(demo_config, cache, tmp_path):
    config = tmp_path / "p_alive.yaml"
    config.write_text(
        demo_config.read_text().replace("churn_definition: inactivity", "churn_definition: p_alive")
    )
    client = open_client(config)
    base = client.base
    assert base.attrs["churn_definition"] == "p_alive"
    assert base["p_alive"].notna().all()
    assert (base["churned"] == (base["p_alive"] < 0.5)).all()
    assert 0 < base["churned"].mean() < 1


def test_a_data_file_is_hashed_once_per_version(tmp_path, cache, monkeypatch):
    import os

    from cxlib.run import client as client_module

    hashed = []
    real = client_module.file_sha256
    monkeypatch.setattr(client_module, "file_sha256", lambda p: hashed.append(p) or real(p))
    data = tmp_path / "tx.csv"
    data.write_text("customer_id,date,amount\nA,2024-01-01,1\n")

    first = client_module.file_digest(data)
    client_module._DIGESTS.clear()  # a new kernel: only the disk memo remains
    assert client_module.file_digest(data) == first
    assert len(hashed) == 1

    data.write_text("customer_id,date,amount\nA,2024-01-01,2\n")
    os.utime(data, ns=(1, 1))  # even with an old modification time, the change time moves
    second = client_module.file_digest(data)
    assert second != first and second == real(data)
    assert len(hashed) == 2


def test_a_client_whose_purchase_model_cannot_be_fitted_keeps_its_base(tmp_path, cache):
    from tests.test_report import write_client

    client = open_client(write_client(tmp_path))  # three transactions: no model can be fitted
    base = client.base
    assert base["segment"].notna().all() and base["churned"].dtype == bool
    assert base[["p_alive", "clv"]].isna().all().all()
    assert "could be fitted" in base.attrs["value_fit_error"]
    with pytest.raises(DataError, match="could be fitted"):
        client.value_fit  # noqa: B018 - the property raises
    with pytest.raises(DataError, match="could be fitted"):
        client.prepare()  # the runner reports the failed step; the base is cached already
    assert "value_fit" not in client.timings


def test_a_client_without_transactions_says_which_cells_do_not_apply(tmp_path, cache):
    (tmp_path / "surveys.csv").write_text(
        "customer_id,date,score\nA,2024-01-05,9\nB,2024-02-05,3\n", encoding="utf-8"
    )
    config = tmp_path / "client.yaml"
    config.write_text(
        "client: surveys_only\ndata_dir: .\ntables:\n  surveys: {path: surveys.csv}\n",
        encoding="utf-8",
    )
    client = open_client(config)
    assert client.transactions is None and len(client.surveys) == 2
    with pytest.raises(DataError, match="value_fit needs a transactions table") as raised:
        client.value_fit  # noqa: B018 - the property raises
    assert "report runner leaves them out" in str(raised.value)


def test_a_client_without_amounts_counts_purchases_from_the_cache_too(tmp_path, cache):
    (tmp_path / "tx.csv").write_text(
        "customer_id,date\nA,2024-01-05\nA,2024-03-05\nB,2024-02-05\n", encoding="utf-8"
    )
    config = tmp_path / "client.yaml"
    config.write_text(
        "client: counts\ndata_dir: .\ntables:\n  transactions: {path: tx.csv}\n"
        "analysis:\n  churn_inactivity_days: 40\n",
        encoding="utf-8",
    )
    for _ in range(2):  # loaded, then read from the disk cache
        client = open_client(config)
        assert client.currency == "purchases"
        assert client.base["revenue"].to_dict() == {"A": 2.0, "B": 1.0}  # purchases, not money
        assert client.churn_threshold_days == 40 and client.repeat_purchases
