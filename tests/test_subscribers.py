"""Subscribers' churn page: leakage kept out, the separating attribute, out-of-fold risk.

Simulations from this file's own generator (not the demo's): a telecom-like table where the
contract type drives churn and total charges are the monthly charge times tenure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.churn import (
    at_risk_subscribers,
    model_attributes,
    subscriber_churn,
    subscriber_churn_rate,
    survival_splits,
    tenure_leakage,
)
from cxlib.churn.contractual import contractual_churn_model
from cxlib.settings.config import AnalysisConfig


def telecom(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    """Monthly contracts: month-to-month customers leave fast, two-year ones slowly."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["month-to-month", "one year", "two year"], n, p=[0.5, 0.3, 0.2])
    hazard = np.select(
        [contract == "month-to-month", contract == "one year"], [0.08, 0.03], default=0.01
    )
    lifetime = rng.geometric(hazard)
    observed = rng.integers(1, 73, n)  # months since signup at the export
    churned = lifetime <= observed
    tenure = np.where(churned, lifetime, observed)
    monthly = rng.uniform(20, 110, n).round(2)
    frame = pd.DataFrame(
        {
            "tenure": tenure,
            "churned": churned,
            "contract": contract,
            "monthly_charges": monthly,
            "total_charges": (monthly * tenure + rng.normal(0, 3, n)).round(2),
            "gender": rng.choice(["female", "male"], n),
            "senior": rng.integers(0, 2, n),
        },
        index=pd.Index([f"c{i:05d}" for i in range(n)], name="customer_id"),
    )
    frame.attrs["period"] = "M"
    return frame


def test_a_total_charges_column_is_excluded_and_a_plain_attribute_kept():
    contracts = telecom()
    leaky = tenure_leakage(contracts).set_index("column")
    assert list(leaky.index) == ["total_charges"]
    assert "tenure x monthly_charges" in leaky.loc["total_charges", "reason"]
    used, left_out = model_attributes(contracts)
    assert "total_charges" not in used and "total_charges" in set(left_out["column"])
    assert {"contract", "monthly_charges", "gender", "senior"} <= set(used)
    # the classifier of the CLV page leaves it out too
    model = contractual_churn_model(contracts, n_folds=3)
    assert not any(f.startswith("total_charges") for f in model.features)
    assert "total_charges" in model.excluded


def test_a_count_growing_with_tenure_and_a_date_are_leaks():
    contracts = telecom(600)
    rng = np.random.default_rng(0)
    contracts["payments_made"] = contracts["tenure"] + rng.integers(0, 2, len(contracts))
    contracts["contract_end"] = pd.Timestamp("2024-01-01")
    leaky = set(tenure_leakage(contracts)["column"])
    assert {"payments_made", "total_charges", "contract_end"} <= leaky
    assert "monthly_charges" not in leaky and "senior" not in leaky


def test_the_attribute_that_drives_churn_is_chosen_over_noise():
    splits = survival_splits(telecom(), ["gender", "monthly_charges", "contract"])
    assert splits.best == "contract"
    assert splits.tests.index[0] == "contract" and bool(splits.tests.loc["contract", "significant"])
    # Holm: each adjusted p-value at least the raw one, at most three times it
    tests = splits.tests
    assert (tests["p_holm"] >= tests["p_value"]).all()
    assert (tests["p_holm"] <= 3 * tests["p_value"] + 1e-300).all()
    # the short table: a row per contract type, a few tenures, survival falling with tenure
    table = splits.table
    assert list(table.index) == ["month-to-month", "one year", "two year"]
    points = [c for c in table.columns if c.startswith("survival after")]
    assert points == [f"survival after {m} months" for m in (3, 6, 12, 24, 36, 60)]
    assert (table[points].diff(axis=1).iloc[:, 1:] <= 1e-12).all().all()
    year = "survival after 12 months"
    assert table.loc["month-to-month", year] < table.loc["two year", year]


def test_churn_per_period_is_churners_over_exposure_with_the_plan_gap():
    contracts = telecom()
    table = subscriber_churn_rate(contracts, target_rate=0.02)
    total = table.loc["total"]
    expected = contracts["churned"].sum() / contracts["tenure"].clip(lower=1).sum()
    assert total["churn_rate"] == pytest.approx(expected)
    assert total["churn_rate_low"] < expected < total["churn_rate_high"]
    assert total["excess_churners"] == pytest.approx(
        contracts["churned"].sum() - 0.02 * contracts["tenure"].clip(lower=1).sum()
    )


def test_active_subscribers_are_scored_out_of_fold_by_revenue_at_risk():
    contracts = telecom()
    used, _ = model_attributes(contracts)
    value = contracts["monthly_charges"]
    risk = at_risk_subscribers(contracts, used, value=value, seed=1)
    scores = risk.scores
    active = contracts.index[~contracts["churned"]]
    assert sorted(scores["customer_id"]) == sorted(active)  # active only, each once
    assert scores["revenue_at_risk"].is_monotonic_decreasing
    np.testing.assert_allclose(
        scores["revenue_at_risk"], scores["value_per_period"] * scores["expected_periods_lost"]
    )
    assert (scores["expected_periods_lost"] <= 12 * scores["churn_probability"] + 1e-9).all()
    assert risk.metrics["concordance"] > 0.6
    # past the longest tenure observed no churn was seen: a zero risk, and the note says why
    longest = scores["tenure"] >= contracts["tenure"].max()
    assert longest.any() and (scores.loc[longest, "churn_probability"] == 0).all()
    assert "longest tenure observed" in risk.note
    # month-to-month subscribers are likelier to leave within a year than two-year ones
    by_contract = (
        scores.set_index("customer_id")["churn_probability"]
        .groupby(contracts.loc[active, "contract"])
        .mean()
    )
    assert by_contract["month-to-month"] > by_contract["two year"]
    # out of fold: a customer's score does not move when only their own outcome is flipped
    # much, whereas an in-sample fit would follow it; here: changing the seed moves the folds
    # and so the scores, which an in-sample score would not do
    other = at_risk_subscribers(contracts, used, value=value, seed=2).scores
    moved = (
        scores.set_index("customer_id")["churn_probability"]
        - other.set_index("customer_id")["churn_probability"]
    )
    assert moved.abs().max() > 0


def test_the_page_object_keeps_leaks_out_of_every_model():
    contracts = telecom()
    page = subscriber_churn(contracts, value="monthly_charges", target_churn_rate=0.02)
    assert "total_charges" in set(page.left_out["column"])
    assert "total_charges" not in page.attributes
    assert not page.drivers.hazard_ratios["covariate"].str.startswith("total_charges").any()
    assert page.splits.best == "contract"
    keys = [h.key for h in page.headlines]
    assert keys[:3] == ["churn_rate", "churn_target", "churn_gap"]
    assert "revenue_at_risk" in keys


def test_the_actions_retain_the_at_risk_top_and_test_the_longer_plan():
    from cxlib.report.subscriber_actions import subscriber_actions

    contracts = telecom()
    page = subscriber_churn(contracts, value="monthly_charges", seed=0)
    actions = subscriber_actions(page, AnalysisConfig(margin=0.5), contracts=contracts)
    retain, move = actions
    # retention: the top tenth of the list, a year's revenue at risk x margin x save rate
    scores = page.at_risk.scores
    top = scores.nlargest(int(np.ceil(0.1 * len(scores))), "revenue_at_risk")
    assert retain.customers == len(top)
    assert retain.value == pytest.approx(top["revenue_at_risk"].sum() * 0.5 * 0.2)
    assert retain.segment.startswith(("contract ", "mostly contract "))
    # the plan test: worded as an association to test, moving to the longest-lasting plan
    assert "'two year' contract" in move.action and "association" in move.action
    assert move.action.startswith("Test")
    assert move.value_low < move.value < move.value_high
    # without a payment per period there is no money: no action
    unvalued = subscriber_churn(contracts)
    assert subscriber_actions(unvalued, AnalysisConfig(margin=0.5), contracts=contracts) == []


def test_the_subscriber_actions_are_net_of_the_campaigns_cost():
    from cxlib.report.subscriber_actions import subscriber_actions

    contracts = telecom()
    page = subscriber_churn(contracts, value="monthly_charges", seed=0)
    gross = subscriber_actions(page, AnalysisConfig(margin=0.5), contracts=contracts)
    costs = AnalysisConfig(margin=0.5, retention_contact_cost=2.0, retention_incentive=5.0)
    net = subscriber_actions(page, costs, contracts=contracts)
    (retain, move), (retain_net, move_net) = gross, net
    scores = page.at_risk.scores
    top = scores.nlargest(retain.customers, "revenue_at_risk")
    saved = top["churn_probability"].sum() * 0.2
    assert retain_net.value == pytest.approx(retain.value - 2.0 * retain.customers - 5.0 * saved)
    # the offer goes to every active subscriber on the other plans
    plan = contracts["contract"].astype("string")
    offered = int(plan.reindex(scores["customer_id"].astype(str)).ne("two year").sum())
    assert move_net.value == pytest.approx(move.value - 2.0 * offered)
    assert "net of contact cost 2.00 per offer" in move_net.kpi


def test_no_plan_test_when_the_plans_do_not_differ():
    from cxlib.report.subscriber_actions import plan_move_action

    contracts = telecom()
    rng = np.random.default_rng(9)
    contracts["contract"] = rng.choice(["basic", "plus"], len(contracts))  # unrelated to churn
    page = subscriber_churn(contracts, value="monthly_charges")
    assert plan_move_action(page, contracts, margin=0.5) is None


def test_subscriber_segments_are_named_from_tenure_and_value_with_their_numbers():
    from cxlib.segmentation.subscribers import subscriber_profiles, subscriber_segments

    contracts = telecom()
    value = contracts["monthly_charges"]
    segments = subscriber_segments(contracts, value=value)
    years = contracts["tenure"] / 12
    high = value > value.quantile(0.75)
    assert (segments[(years < 1) & high] == "New, high value").all()
    assert (segments[(years >= 3) & ~high] == "Long-standing, standard value").all()
    risk = at_risk_subscribers(contracts, model_attributes(contracts)[0], value=value).scores
    clv = pd.Series(1.0, index=contracts.index).where(~contracts["churned"], 0.0)
    profiles = subscriber_profiles(contracts, segments, value=value, clv=clv, risk=risk)
    assert profiles["customers"].sum() == len(contracts)
    assert profiles["customer_share"].sum() == pytest.approx(1.0)
    active = ~contracts["churned"]
    assert profiles["revenue"].sum() == pytest.approx(12 * value[active].sum())
    assert profiles["revenue_at_risk"].sum() == pytest.approx(risk["revenue_at_risk"].sum())
    assert profiles["clv"].sum() == pytest.approx(active.sum())
    new = segments.str.startswith("New")
    exposure = contracts["tenure"].clip(lower=1)
    row = profiles.loc["New, high value"]
    mask = segments == "New, high value"
    assert row["churn_rate"] == pytest.approx(
        contracts.loc[mask, "churned"].sum() / exposure[mask].sum()
    )
    assert new.any()


def test_without_a_payment_products_held_name_the_segments():
    from cxlib.segmentation.subscribers import subscriber_segments

    contracts = telecom(200).drop(columns=["monthly_charges", "total_charges"])
    contracts["NumOfProducts"] = np.random.default_rng(1).integers(1, 4, len(contracts))
    segments = subscriber_segments(contracts)
    assert segments.attrs["basis"] == "tenure and products held (NumOfProducts)"
    multi = contracts["NumOfProducts"] >= 2
    assert segments[multi].str.endswith("multi-product").all()
    assert segments[~multi].str.endswith("single-product").all()


def test_with_dates_churn_is_also_measured_over_the_export_s_last_year():
    from cxlib.churn.contractual import contract_table
    from cxlib.churn.subscribers import window_churn_rate

    rng = np.random.default_rng(4)
    n = 400
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    length = pd.to_timedelta(rng.geometric(1 / 400, n), unit="D")
    end = (start + length).where(start + length <= pd.Timestamp("2024-12-31"))
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "signup_date": start,
                              "contract_end": end, "plan": rng.choice(["a", "b"], n)})  # fmt: skip
    contracts = contract_table(customers, as_of="2024-12-31")
    window = window_churn_rate(contracts)
    held = (start <= "2024-01-01") & (end.isna() | (end > "2024-01-01"))
    left = held & end.notna()
    assert window["customers"] == held.sum() and window["churned"] == left.sum()
    assert window["ci_low"] < window["rate"] < window["ci_high"]
    note = subscriber_churn(contracts).rate_note
    assert f"{int(left.sum()):,} of the {int(held.sum()):,} subscribers" in note
    assert window_churn_rate(telecom()) is None  # tenure only: no calendar


def test_the_separation_figure_draws_one_bar_per_attribute_greyed_when_not_significant():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.colors import to_rgba

    from cxlib.plots import plot_survival_separation

    contracts = telecom()
    contracts["noise"] = np.random.default_rng(5).choice(["x", "y"], len(contracts))
    splits = survival_splits(contracts, ["noise", "contract"])
    ax = plot_survival_separation(splits.tests)
    bars = ax.patches
    assert len(bars) == 2
    labels = [t.get_text() for t in ax.get_yticklabels()]
    by_label = dict(zip(labels, bars, strict=True))
    assert by_label["contract"].get_width() > by_label["noise"].get_width()
    grey = to_rgba("lightgrey")
    noise_significant = bool(splits.tests.loc["noise", "significant"])
    assert (by_label["noise"].get_facecolor() == grey) == (not noise_significant)
    assert by_label["contract"].get_facecolor() != grey
