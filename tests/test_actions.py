"""Ranked actions on one money basis, the revenue bridge, and the summary's words."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.report.actions import (
    BASIS,
    Action,
    complaint_action,
    load_actions,
    rank_actions,
    retention_action,
    rollout_actions,
    save_actions,
)
from cxlib.report.headlines import page_title
from cxlib.report.summary import actions_markdown, actions_table, glossary_markdown, situation
from cxlib.segmentation.trend import active_customers_over_time, revenue_bridge


def test_an_action_whose_interval_does_not_contain_its_value_is_refused():
    with pytest.raises(DataError, match="does not contain"):
        Action("x", "all", 1, 10.0, 11.0, 12.0)
    with pytest.raises(DataError, match="finite"):
        Action("x", "all", 1, float("nan"), 0.0, 1.0)


def test_actions_on_different_bases_are_not_ranked_together():
    revenue = Action("a", "all", 1, 5.0, 1.0, 9.0, basis="annual revenue")
    with pytest.raises(DataError, match="different money bases"):
        rank_actions([revenue, Action("b", "all", 1, 1.0, 0.0, 2.0)])


def test_pages_actions_are_saved_beside_the_headlines_and_loaded_ranked(tmp_path):
    headlines = tmp_path / "headlines"
    save_actions(
        "02_churn", [Action("small", "s", 3, 10.0, 5.0, 15.0)], path=headlines / "02_churn.json"
    )
    save_actions(
        "03_nps", [Action("big", "t", 4, 99.0, 50.0, 120.0), None], path=headlines / "03_nps.json"
    )
    (headlines / "03_nps.json").write_text("[]")  # a headline file is not read as actions
    actions = load_actions(headlines)
    assert actions["action"].tolist() == ["big", "small"]
    assert actions["page"].tolist() == ["03_nps", "02_churn"]  # filled from the page name
    assert set(actions["basis"]) == {BASIS}
    assert json.loads((headlines / "actions" / "02_churn.json").read_text())[0]["customers"] == 3
    assert load_actions(tmp_path / "missing").empty


def test_the_retention_action_is_revenue_at_risk_times_margin_times_the_save_rate():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(200)], "revenue_at_risk": rng.gamma(2.0, 50.0, 200)}
    )
    segments = pd.Series("Loyal", index=scores["customer_id"])
    action = retention_action(
        scores, margin=0.4, segments=segments, top_share=0.1, save_rate=(0.25, 0.1, 0.5)
    )
    top = scores["revenue_at_risk"].nlargest(20).sum()
    assert action.customers == 20
    assert action.value == pytest.approx(top * 0.4 * 0.25)
    assert (action.value_low, action.value_high) == pytest.approx((top * 0.04, top * 0.2))
    assert action.segment == "Loyal" and action.basis == BASIS
    with pytest.raises(DataError, match="save_rate"):
        retention_action(scores, margin=0.4, save_rate=(0.5, 0.6, 0.7))


def test_complaint_and_rollout_actions_are_on_the_margin_basis():
    impact = pd.DataFrame(
        {
            "name": ["delivery", "price"],
            "customers": [30, 10],
            "revenue_at_stake": [1_000.0, 400.0],
            "at_stake_ci_low": [-50.0, 0.0],
            "at_stake_ci_high": [2_000.0, 900.0],
        }
    )
    fix = complaint_action(impact, margin=0.25)
    assert (fix.value, fix.value_low, fix.value_high) == (250.0, 0.0, 500.0)
    assert "delivery" in fix.action and fix.customers == 30
    assert complaint_action(impact.iloc[:0], margin=0.25) is None
    rollout = pd.DataFrame(
        {
            "customers": [500, 500],
            "margin_per_year": [900.0, -10.0],
            "margin_low": [100.0, -50.0],
            "margin_high": [1_700.0, 30.0],
            "significant": [True, False],
            "effect": [3.0, -0.1],
        },
        index=["coupon", "email"],
    )
    assert [a.action.split()[2] for a in rollout_actions(rollout, experiment="q3")] == ["coupon"]


def test_the_revenue_bridge_adds_up_and_matches_a_hand_count():
    rng = np.random.default_rng(3)
    n = 3_000
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 400, n).astype(str),
            "date": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1_200, n), "D"),
            "amount": rng.normal(40, 30, n).round(2),  # refunds included
        }
    )
    end = pd.Timestamp("2025-03-31")
    bridge = revenue_bridge(tx, observation_end=end)
    steps = bridge["revenue"]
    assert steps.iloc[:-1].sum() == pytest.approx(steps["last 12 months"])
    last = tx[(tx["date"] > end - pd.Timedelta(days=365)) & (tx["date"] <= end)]
    assert steps["last 12 months"] == pytest.approx(last["amount"].sum())
    assert bridge.loc["last 12 months", "customers"] == last["customer_id"].nunique()
    prev = tx[
        (tx["date"] > end - pd.Timedelta(days=730)) & (tx["date"] <= end - pd.Timedelta(days=365))
    ]
    lost = set(prev["customer_id"]) - set(last["customer_id"])
    assert bridge.loc["lost customers", "customers"] == len(lost)
    assert steps["lost customers"] == pytest.approx(
        -prev.loc[prev["customer_id"].isin(lost), "amount"].sum()
    )


def test_active_customers_count_only_complete_periods():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "c"],
            "amount": [5.0, 3.0, 2.0, -1.0],
            "date": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-04-02", "2025-05-01"]),
        }
    )
    out = active_customers_over_time(tx, observation_end="2025-05-15")
    assert out["period"].tolist() == [pd.Timestamp("2025-01-01")]  # Q2 is not over
    assert out["active_customers"].tolist() == [2]


def test_summary_words_escape_client_text_and_state_the_basis():
    actions = rank_actions(
        [Action("Fix <script>x</script>", "*VIP*", 12, 5e4, 2e4, 8e4, kpi="churn", page="03_nps")]
    )
    text = actions_markdown(actions, margin=0.3)
    assert "<script>" not in text and "&lt;script&gt;" in text and r"\*VIP\*" in text
    assert "annual gross margin" in text and "30% of revenue" in text
    assert "[Nps](03\\_nps.html)" in text  # a non-standard page: its name, unnumbered
    churn = rank_actions([Action("Keep", "all", 1, 1.0, 0.0, 2.0, page="02_churn")])
    assert "[Who is leaving, and how much money leaves with them](02\\_churn.html)" in (
        actions_markdown(churn)
    )
    assert actions_table(churn).loc[0, "Page"] == page_title("02_churn")
    assert "Kaplan-Meier" in glossary_markdown() and "CUPED" in glossary_markdown()
    bridge = pd.DataFrame(
        {
            "revenue": [100.0, 30.0, 0.0, -50.0, 5.0, -5.0, 80.0],
            "customers": [10, 3, 0, 5, 2, 3, 8],
        },
        index=[
            "previous 12 months",
            "new customers",
            "reactivated customers",
            "lost customers",
            "expansion",
            "contraction",
            "last 12 months",
        ],
    )
    assert "down 20.0%" in situation(bridge)


def test_the_summary_figures_name_the_currency_and_show_every_step_and_action():
    import matplotlib

    matplotlib.use("Agg")
    from cxlib import plots

    bridge = pd.DataFrame(
        {
            "revenue": [100.0, 30.0, 0.0, -50.0, 5.0, -5.0, 80.0],
            "customers": [10, 3, 0, 5, 2, 3, 8],
        },
        index=[
            "previous 12 months",
            "new customers",
            "reactivated customers",
            "lost customers",
            "expansion",
            "contraction",
            "last 12 months",
        ],
    )
    ax = plots.plot_revenue_bridge(bridge, currency="CHF")
    assert "CHF" in ax.get_ylabel() and len(ax.patches) == 7
    assert ax.get_ylim()[1] >= 130.0  # the highest running total (100 + 30) is inside the axes
    actions = rank_actions(
        [Action("a" * 120, "s", 1, 5.0, 1.0, 9.0), Action("b", "s", 1, 7.0, 6.0, 8.0)]
    )
    ax = plots.plot_actions(actions, currency="CHF")
    assert "CHF" in ax.get_xlabel() and "annual gross margin" in ax.get_xlabel().lower()
    assert [t.get_text()[:2] for t in ax.get_yticklabels()] == ["2.", "1."]
    periods = active_customers_over_time(
        pd.DataFrame(
            {
                "customer_id": ["a", "b"],
                "amount": [1.0, 2.0],
                "date": pd.to_datetime(["2025-01-02", "2025-04-02"]),
            }
        ),
        observation_end="2025-07-01",
    )
    nps = pd.DataFrame(
        {
            "period": pd.PeriodIndex(["2025Q1", "2025Q2"], freq="Q"),
            "score": [-10.0, 5.0],
            "ci_low": [-20.0, -5.0],
            "ci_high": [0.0, 15.0],
        }
    )
    ax = plots.plot_active_customers(periods, nps)
    assert len(ax.figure.axes) == 2  # customers and NPS on their own axes


def _risk_list(n: int = 100, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    probability = rng.uniform(0.1, 0.9, n)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "churn_probability": probability,
            "revenue_at_risk": rng.gamma(2.0, 200.0, n) * probability,
        }
    )


def test_the_retention_action_is_its_gross_value_minus_contacts_and_incentives_exactly():
    scores = _risk_list()
    rate = (0.2, 0.1, 0.3)
    gross = retention_action(scores, margin=0.3, save_rate=rate)
    net = retention_action(scores, margin=0.3, save_rate=rate, contact_cost=4.0, incentive=10.0)
    top = scores.nlargest(10, "revenue_at_risk")
    saved = top["churn_probability"].sum() * np.array(rate)  # who would have left and stays
    ends = top["revenue_at_risk"].sum() * 0.3 * np.array(rate) - 4.0 * 10 - 10.0 * saved
    assert net.value == pytest.approx(gross.value - 4.0 * 10 - 10.0 * saved[0], rel=1e-12)
    assert (net.value, net.value_low, net.value_high) == pytest.approx(
        (ends[0], ends.min(), ends.max()), rel=1e-12
    )
    assert net.basis == BASIS == "annual gross margin net of campaign cost"
    assert "contact cost 4.00" in net.kpi and "incentive 10.00" in net.kpi
    assert "no contact cost given" in gross.kpi  # a cost that was not given is said
    # the same call as before the costs existed (other pages call it so) keeps working
    assert retention_action(scores, margin=0.3).value == gross.value


def test_a_campaign_that_costs_more_than_it_brings_is_not_recommended():
    scores = _risk_list()
    gross = retention_action(scores, margin=0.3)
    per_contact = gross.value / gross.customers
    assert retention_action(scores, margin=0.3, contact_cost=per_contact * 1.01) is None
    cheap = retention_action(scores, margin=0.3, contact_cost=per_contact * 0.5)
    assert cheap.value == pytest.approx(gross.value * 0.5)
    with pytest.raises(DataError, match="churn_probability"):
        retention_action(scores.drop(columns="churn_probability"), margin=0.3, incentive=5.0)
    with pytest.raises(DataError, match="contact_cost"):
        retention_action(scores, margin=0.3, contact_cost=-1.0)
    impact = pd.DataFrame(
        {"name": ["delivery"], "customers": [30], "revenue_at_stake": [1_000.0],
         "at_stake_ci_low": [200.0], "at_stake_ci_high": [2_000.0]}
    )  # fmt: skip
    fix = complaint_action(impact, margin=0.25, fix_cost=100.0)
    assert (fix.value, fix.value_low, fix.value_high) == (150.0, -50.0, 400.0)
    assert "fix cost 100.00 a year" in fix.kpi
    assert complaint_action(impact, margin=0.25, fix_cost=250.0) is None


def test_a_rollout_that_does_not_pay_for_its_cost_is_not_ranked_and_cost_reorders_actions():
    from cxlib.experiments import rollout_value

    result = pd.DataFrame(
        {"group": ["coupon", "sms"], "effect": [10.0, 4.0], "ci_low": [4.0, 2.0],
         "ci_high": [16.0, 6.0], "significant": [True, True]},
        index=pd.Index(["revenue", "revenue"], name="metric"),
    )  # fmt: skip
    result.attrs["horizon_days"] = 90
    gross = rollout_value(result, customers=1_000, margin=0.3)
    net = rollout_value(result, customers=1_000, margin=0.3, cost_per_treated=2.0)
    assert (net["margin_per_year"] == gross["margin_per_year"] - 2_000.0).all()
    assert (net["margin_low"] == gross["margin_low"] - 2_000.0).all()
    assert net.loc["sms", "margin_per_year"] == pytest.approx(-800.0)  # 1,200 gross - 2,000
    assert "minus 2.00 per treated customer" in net["basis"].iloc[0]
    ranked = rollout_actions(net, experiment="q3")
    assert [a.action.split()[2] for a in ranked] == ["coupon"]  # sms costs more than it brings
    assert ranked[0].value == pytest.approx(1_000.0) and "2,000 a year" in ranked[0].kpi
    # a costly retention campaign now ranks below a cheap one worth less gross
    scores = _risk_list()
    expensive = retention_action(scores, margin=0.3, contact_cost=20.0, incentive=50.0)
    cheap_fix = complaint_action(
        pd.DataFrame({"name": ["app"], "customers": [5], "revenue_at_stake": [800.0],
                      "at_stake_ci_low": [0.0], "at_stake_ci_high": [900.0]}),
        margin=0.3,
    )  # fmt: skip
    assert retention_action(scores, margin=0.3).value > cheap_fix.value > expensive.value > 0
    order = rank_actions([a for a in (expensive, cheap_fix) if a is not None])["action"]
    assert order.iloc[0] == cheap_fix.action
