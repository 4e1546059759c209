"""Contractual clients: contract tables, survival from tenure, the churn classifier, client_value.

References: lifelines' Kaplan-Meier for the survival from tenure, Fader & Hardie's (2007)
"regular" cohort for the sBG, a by-hand survival product, and a simulation with a known churn
driver for the classifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.churn.contractual import (
    contract_columns,
    contract_survival,
    contract_table,
    contractual_churn_model,
)
from cxlib.clv import (
    RetentionModel,
    cohort_frame,
    contractual_total_interval,
    contractual_value,
)
from cxlib.run.value import value_model_kind
from cxlib.settings import units
from tests.client_shapes import real_exports

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def test_tenure_and_dates_describe_the_same_contracts():
    start = pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-15", "2024-05-31"])
    end = pd.to_datetime(["2024-01-20", "2024-04-10", None, None])
    dated = pd.DataFrame({"customer_id": list("abcd"), "signup_date": start, "contract_end": end})
    table = contract_table(dated, as_of="2024-12-31")
    # a churner paid every month started (1, then 4: Jan-Apr); active: months completed
    # (214 days = 7.03 months of 365.25 / 12 days)
    assert table["tenure"].tolist() == [1, 4, 9, 7]
    assert table["churned"].tolist() == [True, True, False, False]
    tenured = pd.DataFrame(
        {"customer_id": list("abcd"), "tenure": [1, 4, 9, 7], "churned": ["yes", "1", "no", "0"]}
    )
    assert contract_table(tenured)[["tenure", "churned"]].equals(table[["tenure", "churned"]])
    assert contract_columns(dated) == "dates" and contract_columns(tenured) == "tenure"
    # an end date after as_of: still a customer then
    assert not contract_table(dated.iloc[:2], as_of="2024-02-01")["churned"].iloc[1]
    with pytest.raises(DataError, match="row 2: 'c', row 3: 'd'"):  # not customers yet
        contract_table(dated, as_of="2024-02-01")


def test_a_customers_table_without_contracts_is_not_contractual():
    plain = pd.DataFrame({"customer_id": ["a"], "signup_date": pd.to_datetime(["2024-01-01"])})
    assert contract_columns(plain) is None
    assert contract_columns(plain.assign(contract_end=pd.NaT)) is None  # no end date at all
    with pytest.raises(DataError, match="no contract history"):
        contract_table(plain)


@pytest.mark.parametrize(
    ("tenure", "churned", "message"),
    [
        ([1, -2], [True, False], "whole periods"),
        ([1.5, 3], [True, False], "whole periods"),
        ([1, 3], ["yes", "maybe"], "true/false"),
    ],
)
def test_bad_contract_rows_are_named(tenure, churned, message):
    frame = pd.DataFrame({"customer_id": ["a", "b"], "tenure": tenure, "churned": churned})
    with pytest.raises(DataError, match=message):
        contract_table(frame)


def test_survival_from_tenure_equals_lifelines_and_the_product_limit_curve():
    from lifelines import KaplanMeierFitter

    frame = cohort_frame(REGULAR)
    frame["plan"] = np.where(np.arange(len(frame)) % 3 == 0, "yearly", "monthly")
    frame.attrs["period"] = "Y"
    result = contract_survival(frame)
    kmf = KaplanMeierFitter().fit(frame["tenure"] * units.days("Y"), frame["churned"])
    expected = kmf.survival_function_.iloc[:, 0].to_numpy()
    assert np.allclose(result.curves["survival"].to_numpy(), expected)
    # in a single cohort, survival after t periods is survivors[t] / survivors[0]
    assert np.allclose(expected, np.array(REGULAR) / REGULAR[0])
    split = contract_survival(frame, by="plan")
    assert split.by == "plan" and set(split.medians.index) == {"monthly", "yearly"}


def test_the_churn_classifier_finds_a_known_driver_out_of_fold():
    rng = np.random.default_rng(4)
    n = 800
    plan = rng.choice(["monthly", "yearly"], n)
    fee = rng.gamma(4.0, 10.0, n)
    churned = rng.random(n) < np.where(plan == "monthly", 0.55, 0.15)
    contracts = pd.DataFrame(
        {"tenure": rng.integers(1, 30, n), "churned": churned, "plan": plan, "fee": fee},
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    model = contractual_churn_model(contracts, seed=1)
    # the best any model can do here: the plan's two rates, AUC = P(monthly churner ranked
    # above yearly stayer) ~ 0.70; a model seeing in-sample noise would not stay near it
    assert 0.62 < model.metrics["roc_auc"] < 0.78
    assert model.metrics["n"] == n and model.metrics["n_folds"] == 5
    assert "tenure" not in model.features and "plan=monthly" in model.features
    assert set(model.scores.index) == set(contracts.index)  # every customer, out of fold
    noise = contracts.assign(plan="same", churned=rng.random(n) < 0.4)
    assert abs(contractual_churn_model(noise, seed=1).metrics["roc_auc"] - 0.5) < 0.08
    with pytest.raises(DataError, match="no attribute"):
        contractual_churn_model(contracts[["tenure", "churned"]])


def test_contractual_interval_brackets_the_total_and_narrows_with_more_customers():
    small = cohort_frame([100, 63, 47, 38, 33, 29, 26, 24])
    large = cohort_frame([10_000, 6_310, 4_680, 3_820, 3_260, 2_890, 2_620, 2_410])
    widths = []
    for frame in (small, large):
        model = RetentionModel().fit(frame)
        band = contractual_total_interval(
            frame, model, value_per_period=10.0, periods_per_year=1, seed=3
        ).loc["All customers"]
        total = contractual_value(frame, model, value_per_period=10.0, periods_per_year=1)
        assert band["total"] == pytest.approx(total["clv"].sum())
        assert band["param_low"] < band["total"] < band["param_high"]
        widths.append((band["param_high"] - band["param_low"]) / band["total"])
    assert widths[1] < widths[0] / 5  # 100x the customers: about 10x narrower


def test_contractual_value_takes_one_margin_per_customer():
    frame = cohort_frame(REGULAR)
    model = RetentionModel().fit(frame)
    flat = contractual_value(frame, model, value_per_period=10.0)
    margins = np.where(np.arange(len(frame)) % 2 == 0, 10.0, 30.0)
    each = contractual_value(frame, model, value_per_period=margins)
    assert np.allclose(each["clv"], flat["clv"] * margins / 10.0)
    with pytest.raises(ValueError, match="values for"):
        contractual_value(frame, model, value_per_period=margins[:-1])


def test_the_value_model_is_chosen_from_the_tables():
    assert value_model_kind(has_contracts=True, has_transactions=True) == "contractual"
    assert value_model_kind(has_contracts=True, has_transactions=False) == "contractual"
    assert value_model_kind(has_contracts=False, has_transactions=True) == "non-contractual"
    with pytest.raises(DataError, match="neither"):
        value_model_kind(has_contracts=False, has_transactions=False)


def test_the_runner_keeps_the_cells_a_client_can_run(tmp_path):
    from types import SimpleNamespace

    import nbformat

    from cxlib.report.runner import _applicable_cells, _unmet

    subscriber = SimpleNamespace(transactions=None, contracts=pd.DataFrame())
    both = SimpleNamespace(transactions=pd.DataFrame(), contracts=pd.DataFrame())
    buyer = SimpleNamespace(transactions=pd.DataFrame(), contracts=None)
    page = {"cxlib": {"requires": ["transactions|contracts"]}}
    assert _unmet(page, subscriber) == [] and _unmet(page, buyer) == []
    assert _unmet(page, SimpleNamespace()) == ["transactions or contracts"]
    purchases_only = {"cxlib": {"requires": ["transactions", "!contracts"]}}
    assert _unmet(purchases_only, buyer) == []
    assert _unmet(purchases_only, both) == ["!contracts"]
    assert _unmet(purchases_only, subscriber) == ["transactions", "!contracts"]

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("shared = 1"),
        nbformat.v4.new_code_cell("purchases = 2", metadata=purchases_only),
        nbformat.v4.new_code_cell("contracts = 3", metadata={"cxlib": {"requires": ["contracts"]}}),
    ]
    source = tmp_path / "04_clv.ipynb"
    nbformat.write(nb, str(source))
    kept = nbformat.read(str(_applicable_cells(source, buyer, tmp_path / "run")), 4)
    assert [c.source for c in kept.cells] == ["shared = 1", "purchases = 2"]
    kept = nbformat.read(str(_applicable_cells(source, subscriber, tmp_path / "run")), 4)
    assert [c.source for c in kept.cells] == ["shared = 1", "contracts = 3"]
    kept = nbformat.read(str(_applicable_cells(source, both, tmp_path / "run")), 4)
    assert [c.source for c in kept.cells] == ["shared = 1", "contracts = 3"]


def test_validate_checks_the_contract_settings_against_the_customers(tmp_path):
    import yaml

    from cxlib.run.loading import load_client

    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "months": [3, 5], "churned": ["yes", "no"]}
    )
    customers.to_csv(tmp_path / "customers.csv", index=False)
    config = {"client": "subs", "data_dir": ".", "tables": {"customers": {"path": "customers.csv"}}}

    def load(analysis):
        path = tmp_path / "client.yaml"
        path.write_text(yaml.safe_dump({**config, "analysis": analysis}), encoding="utf-8")
        return load_client(path)

    assert load({"contract_tenure": "months", "contract_value": 9.5}).customers is not None
    with pytest.raises(DataError, match="contract_value: the customers table has no column 'fee'"):
        load({"contract_tenure": "months", "contract_value": "fee"})
    customers.assign(churned=["yes", "perhaps"]).to_csv(tmp_path / "customers.csv", index=False)
    with pytest.raises(DataError, match="true/false"):
        load({"contract_tenure": "months"})


def test_a_churner_with_tenure_0_left_in_the_first_period_and_counts_as_lost_after_it():
    # a bank counts completed years: Tenure 0 and Exited 1 = left during the first year
    frame = pd.DataFrame(
        {"customer_id": list("abcd"), "tenure": [0, 1, 0, 2], "churned": [1, 1, 0, 0]}
    )
    table = contract_table(frame, period="Y")
    assert table["tenure"].tolist() == [1, 1, 0, 2]  # the churner: lost after period 1
    assert table.attrs["flagged"] == {
        "kept: left during the first period ('tenure' 0), counted as lost after period 1": 1
    }
    # the sBG sees two customers lost after period 1 out of four at risk, as it would had the
    # export written 1; the active customer with tenure 0 is censored before any renewal
    same = contract_table(frame.assign(tenure=[1, 1, 0, 2]), period="Y")
    fitted = RetentionModel().fit(table)
    assert fitted.log_likelihood_ == pytest.approx(RetentionModel().fit(same).log_likelihood_)
    km = contract_survival(table).curves
    assert km.loc[km["days"] == units.days("Y"), "survival"].iloc[0] == pytest.approx(
        1 - 2 / 3  # at the first year's end three are at risk (the active 0 left the risk set)
    )


def test_missing_markers_are_read_counted_per_column_and_set_aside_from_the_history(tmp_path):
    from cxlib.churn.contractual import contract_quality
    from cxlib.data import load_customers, quality_report

    (tmp_path / "bank.csv").write_text(
        "id,Tenure,Exited,Balance,Country\n"
        "1,2,1,10.5,FR\n2,?,0,3.0,?\n3,0,1,NA,DE\n4,5,,1.0,\n5,1,0,7.5,ES\n",
        encoding="utf-8",
    )
    customers = load_customers(tmp_path / "bank.csv", columns={"customer_id": "id"})
    assert customers["Tenure"].dtype.kind == "f" and customers["Balance"].dtype.kind == "f"
    quality = quality_report(customers).set_index("reason")["rows_flagged"]
    assert quality["kept: missing value in column 'Tenure' ('?' 1)"] == 1
    assert quality["kept: missing value in column 'Balance' ('NA' 1)"] == 1
    assert quality["kept: missing value in column 'Country' (empty 1, '?' 1)"] == 2
    assert quality["kept: missing value in column 'Exited' (empty 1)"] == 1
    table = contract_table(customers, tenure="Tenure", churned="Exited", period="Y")
    assert table.index.tolist() == ["1", "3", "5"]  # no tenure (2), no flag (4): set aside
    records = contract_quality(table, rows_read=5, source="bank.csv")
    counts = {r["reason"]: (r["rows_kept"], r["rows_set_aside"], r["rows_flagged"])
              for r in records}  # fmt: skip
    first = "kept: left during the first period ('Tenure' 0), counted as lost after period 1"
    assert counts == {
        "no tenure ('Tenure' missing)": (3, 1, 0),
        "no churned flag ('Exited' missing)": (3, 1, 0),
        first: (3, 0, 1),
    }


@pytest.mark.parametrize(
    "flags", [["Yes", "No", "yes"], [1, 0, 1], ["True", "False", "TRUE"], [True, False, True]]
)
def test_churned_flags_read_in_each_spelling(flags):
    frame = pd.DataFrame({"customer_id": list("abc"), "tenure": [3, 4, 5], "churned": flags})
    assert contract_table(frame)["churned"].tolist() == [True, False, True]


def test_tenure_in_days_is_a_contract_period():
    frame = pd.DataFrame({"customer_id": list("ab"), "tenure": [30, 400], "churned": [1, 0]})
    table = contract_table(frame, period="D")
    survival = contract_survival(table).curves
    assert survival["days"].max() == 400  # a period of one day


def test_the_bank_export_validates_with_its_quality_counted():
    from cxlib.run.loading import load_client

    real = real_exports()
    if real is None or not (real / "bank" / "client.yaml").is_file():
        pytest.skip("the real exports (shared/data/real/bank) are not beside this checkout")
    path = real / "bank" / "client.yaml"
    tables = load_client(path)
    quality = tables.quality.set_index(["table", "reason"])
    first = "kept: left during the first period ('Tenure' 0), counted as lost after period 1"
    assert quality.loc[("contracts", first), "rows_flagged"] == 95
    assert quality.loc[("customers", "kept: missing value in column 'Tenure' ('?' 1)"),
                       "rows_flagged"] == 1  # fmt: skip
    assert quality.loc[("contracts", "no tenure ('Tenure' missing)"), "rows_set_aside"] == 1
