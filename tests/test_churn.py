from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from cxlib import DataError, churn
from cxlib.churn import features as builder


def tx_frame(rows):
    """rows: (customer_id, 'YYYY-MM-DD', amount[, category, channel])."""
    columns = ["customer_id", "date", "amount", "category", "channel"][: len(rows[0])]
    frame = pd.DataFrame(rows, columns=columns)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


# --- synthetic client with a known structure, for model tests -----------------------------------


def synthetic_client(n=1500, seed=3, start="2023-01-01", end="2025-12-31"):
    """Customers buy as Poisson processes and drop out at a random time; fast hazard for 'bad'."""
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    span = (end - start).days
    rows = []
    ids = [f"C{i:05d}" for i in range(n)]
    kind = rng.choice(["good", "bad"], size=n, p=[0.6, 0.4])
    for cid, k in zip(ids, kind, strict=True):
        first = int(rng.integers(0, span - 200))
        life = rng.exponential(900 if k == "good" else 250)
        gap_mean = rng.choice([15.0, 40.0, 90.0])
        day = first
        while day <= min(span, first + life):
            category = "home" if k == "good" else rng.choice(["toys", "home"])
            amount = float(np.round(rng.gamma(2.0, 30.0 if k == "good" else 15.0), 2))
            rows.append((cid, start + pd.Timedelta(days=int(day)), amount, category, "store"))
            day += max(1, int(rng.exponential(gap_mean)))
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "category", "channel"])
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "acquisition_cost": rng.gamma(2.0, 10.0, size=n).round(2),
            "acquisition_channel": np.where(kind == "good", "referral", "social"),
        }
    )
    return tx, customers


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_client()


# --- definitions ---------------------------------------------------------------------------------


def test_inactivity_threshold_is_the_quantile_of_gaps_between_distinct_purchase_days():
    tx = tx_frame(
        [
            ("a", "2025-01-01", 5.0),
            ("a", "2025-01-01", 3.0),  # same day: one purchase day
            ("a", "2025-01-11", 5.0),
            ("a", "2025-01-20", -5.0),  # refund: not a purchase
            ("a", "2025-01-31", 5.0),
            ("b", "2025-02-01", 5.0),
            ("b", "2025-03-03", 5.0),
        ]
    )
    result = churn.inactivity_threshold(tx, quantile=0.5)
    # gaps: a -> 10, 20; b -> 30; the median is 20
    assert result.days == 20
    assert result.n_gaps == 3
    assert result.n_customers == 2
    assert "20 days" in result.explanation


def test_inactivity_threshold_rejects_a_quantile_below_one_half():
    tx = tx_frame([("a", "2025-01-01", 5.0)])
    with pytest.raises(ValueError, match="The 'quantile' parameter of inactivity_threshold"):
        churn.inactivity_threshold(tx, quantile=0.2)


def test_inactivity_threshold_needs_repeat_customers():
    tx = tx_frame([("a", "2025-01-01", 5.0), ("b", "2025-01-02", 5.0)])
    with pytest.raises(DataError, match="no customer bought on two different days"):
        churn.inactivity_threshold(tx)


def test_churn_status_flags_customers_silent_for_longer_than_the_threshold():
    tx = tx_frame(
        [
            ("a", "2025-01-01", 5.0),
            ("b", "2025-01-30", 5.0),
            ("c", "2025-03-01", 5.0),
            ("c", "2025-05-01", 5.0),  # after as_of: ignored
        ]
    )
    status = churn.churn_status(tx, as_of="2025-03-31", threshold_days=60)
    assert status["days_since_last"].to_dict() == {"a": 89, "b": 60, "c": 30}
    assert status["churned"].to_dict() == {"a": True, "b": False, "c": False}


def test_churn_status_contract_uses_the_contract_end_date():
    tx = tx_frame([("a", "2025-01-01", 5.0), ("b", "2025-01-01", 5.0)])
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "contract_end": pd.to_datetime(["2025-02-01", "2025-06-01", None]),
        }
    )
    status = churn.churn_status(tx, as_of="2025-03-01", definition="contract", customers=customers)
    assert status["churned"].to_dict() == {"a": True, "b": False, "c": False}


def test_churn_status_contract_without_contract_column_names_the_columns():
    tx = tx_frame([("a", "2025-01-01", 5.0)])
    with pytest.raises(DataError, match="needs a 'contract_end' or 'cancellation_date'"):
        churn.churn_status(
            tx, definition="contract", customers=pd.DataFrame({"customer_id": ["a"]})
        )


def test_churn_status_rejects_an_unknown_definition():
    tx = tx_frame([("a", "2025-01-01", 5.0)])
    with pytest.raises(ValueError, match="The 'definition' parameter of churn_status"):
        churn.churn_status(tx, definition="vibes")


def test_churn_rate_counts_customers_alive_at_start_and_churned_by_end():
    tx = tx_frame(
        [
            ("a", "2025-01-01", 5.0),  # alive at start (30 days), silent 89 days by end: churned
            ("b", "2025-01-01", 5.0),
            ("b", "2025-03-01", 5.0),  # came back: alive
            ("c", "2024-06-01", 5.0),  # already churned at start: not at risk
        ]
    )
    result = churn.churn_rate(tx, start="2025-01-31", end="2025-03-31", threshold_days=45)
    assert (result.n_at_risk, result.n_churned) == (2, 1)
    assert result.rate == 0.5
    assert result.table["churned"].to_dict() == {"a": True, "b": False}
    assert "45 days" in result.description


def test_churn_vs_target_splits_the_gap_between_segments():
    churned = pd.Series(
        [True, True, True, False, True, False, False, False], index=list("abcdefgh")
    )
    segments = pd.Series(["x"] * 4 + ["y"] * 4, index=list("abcdefgh"))
    value = pd.Series(10.0, index=list("abcdefgh"))
    out = churn.churn_vs_target(churned, target_rate=0.25, segments=segments, value=value)
    # x: 3 churned vs 1 planned -> +2; y: 1 vs 1 -> 0; total 4 vs 2 -> +2
    assert out.index.tolist() == ["x", "y", "total"]
    assert out["excess_churners"].tolist() == [2.0, 0.0, 2.0]
    assert out["share_of_gap"].tolist() == [1.0, 0.0, 1.0]
    assert out["value_lost"].tolist() == [30.0, 10.0, 40.0]
    assert out.loc["total", "churn_rate"] == 0.5


def test_churn_vs_target_rejects_a_rate_outside_zero_one():
    with pytest.raises(ValueError, match="The 'target_rate' parameter of churn_vs_target"):
        churn.churn_vs_target(pd.Series([True]), target_rate=25)


def test_default_cutoff_leaves_exactly_one_horizon_after_it():
    tx = tx_frame([("a", "2025-01-01", 5.0), ("a", "2025-12-31", 5.0)])
    assert churn.default_cutoff(tx, horizon_days=90) == pd.Timestamp("2025-10-02")


# --- cohorts -------------------------------------------------------------------------------------


def test_cohort_retention_counts_rates_and_revenue_by_hand():
    tx = tx_frame(
        [
            ("a", "2025-01-05", 10.0),
            ("a", "2025-02-07", 5.0),
            ("a", "2025-03-01", 20.0),
            ("b", "2025-01-20", 30.0),
            ("b", "2025-03-15", 10.0),
            ("b", "2025-03-20", -4.0),
            ("c", "2025-02-10", 8.0),
            ("d", "2025-01-01", -3.0),  # only a refund: never acquired
        ]
    )
    result = churn.cohort_retention(tx, observation_end="2025-03-31")
    expected = pd.DataFrame(
        {
            "cohort": pd.PeriodIndex(["2025-01"] * 3 + ["2025-02"] * 2, freq="M"),
            "period": [0, 1, 2, 0, 1],
            "cohort_size": [2, 2, 2, 1, 1],
            "customers": [2, 1, 2, 1, 0],
            "retention_rate": [1.0, 0.5, 1.0, 1.0, 0.0],
            "revenue": [40.0, 5.0, 26.0, 8.0, 0.0],
            "revenue_retention": [1.0, 5 / 40, 26 / 40, 1.0, 0.0],
        }
    )
    assert_frame_equal(result.table, expected)
    assert result.rates.shape == (2, 3)
    assert np.isnan(result.rates.loc[pd.Period("2025-02", "M"), 2])  # not observed yet


def test_cohort_retention_leaves_out_an_incomplete_last_period():
    tx = tx_frame([("a", "2025-01-05", 10.0), ("a", "2025-02-07", 5.0)])
    result = churn.cohort_retention(tx)  # data end on 2025-02-07: February is incomplete
    assert result.table["period"].tolist() == [0]


def test_cohort_retention_rejects_an_unknown_frequency():
    tx = tx_frame([("a", "2025-01-05", 10.0)])
    with pytest.raises(ValueError, match="The 'freq' parameter of cohort_retention"):
        churn.cohort_retention(tx, freq="Y")


def test_cohort_retention_names_missing_columns():
    with pytest.raises(DataError, match=r"cohort_retention: missing column\(s\) \['amount'\]"):
        churn.cohort_retention(pd.DataFrame({"customer_id": ["a"], "date": [pd.Timestamp(0)]}))


# --- survival ------------------------------------------------------------------------------------


def test_survival_table_runs_from_first_to_last_purchase_for_churners_and_censors_the_rest():
    tx = tx_frame(
        [
            ("a", "2025-01-01", 5.0, "toys", "web"),
            ("a", "2025-01-11", 5.0, "home", "web"),
            ("b", "2025-02-01", 5.0, "home", "store"),
            ("b", "2025-03-20", 5.0, "toys", "store"),
        ]
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "acquisition_cost": [1.0, 2.0],
            "acquisition_channel": ["ads", "friends"],
        }
    )
    feedback = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2025-01-05", "2025-03-01", "2025-03-01"]),
            "text": ["x", "y", "z"],
        }
    )
    table = churn.survival_table(
        tx,
        observation_end="2025-03-31",
        threshold_days=30,
        customers=customers,
        feedback=feedback,
        segments=pd.Series({"a": "s1"}),
    )
    assert table["duration_days"].to_dict() == {"a": 10, "b": 58}  # b censored at 03-31
    assert table["event"].to_dict() == {"a": True, "b": False}
    assert table["first_category"].to_dict() == {"a": "toys", "b": "home"}
    assert table["segment"].to_dict() == {"a": "s1", "b": "unknown"}
    # complaints during the lifetime only: a's second complaint came after its last purchase
    assert table["n_complaints"].to_dict() == {"a": 1, "b": 1}


def test_survival_table_contract_runs_from_signup_to_contract_end():
    tx = tx_frame([("a", "2025-01-10", 5.0), ("b", "2025-01-10", 5.0)])
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup_date": pd.to_datetime(["2025-01-01", "2025-01-01"]),
            "contract_end": pd.to_datetime(["2025-02-01", "2025-06-01"]),
        }
    )
    table = churn.survival_table(
        tx, definition="contract", customers=customers, observation_end="2025-03-31"
    )
    assert table["duration_days"].to_dict() == {"a": 31, "b": 89}
    assert table["event"].to_dict() == {"a": True, "b": False}


def test_kaplan_meier_by_segment_matches_the_hand_computed_curve_and_median():
    table = pd.DataFrame(
        {
            "duration_days": [1, 2, 3, 4, 1, 5],
            "event": [True, True, False, True, False, True],
            "segment": ["x", "x", "x", "x", "y", "y"],
        }
    )
    result = churn.survival_by_segment(table)
    x = result.curves.query("segment == 'x'")
    # S(1) = 3/4, S(2) = 3/4 * 2/3 = 1/2, censored at 3, S(4) = 0
    assert x["days"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(x["survival"], [1.0, 0.75, 0.5, 0.5, 0.0])
    assert (x["ci_lower"] <= x["survival"] + 1e-12).all()
    assert (x["ci_upper"] >= x["survival"] - 1e-12).all()
    assert result.medians.loc["x", "median_lifetime_days"] == 2.0
    assert result.medians.loc["y", "median_lifetime_days"] == 5.0
    assert result.medians.loc["x", "churned"] == 3


def test_log_rank_statistic_matches_the_hand_computation():
    table = pd.DataFrame(
        {"duration_days": [1, 2, 3, 4], "event": [True] * 4, "segment": ["x", "x", "y", "y"]}
    )
    result = churn.survival_by_segment(table)
    # O - E for x = 2 - (2/4 + 1/3); V = 1/4 + 2/9
    expected = (2 - (0.5 + 1 / 3)) ** 2 / (0.25 + 2 / 9)
    assert result.logrank["test_statistic"] == pytest.approx(expected)
    assert result.pairwise["test_statistic"].iloc[0] == pytest.approx(expected)
    assert result.logrank["degrees_of_freedom"] == 1


def test_cox_drivers_recovers_a_doubled_hazard_and_checks_proportional_hazards():
    rng = np.random.default_rng(0)
    n = 2000
    group = np.where(np.arange(n) < n // 2, "calm", "risky")
    durations = rng.exponential(np.where(group == "risky", 50.0, 100.0)).round() + 1
    censor = durations > 150
    table = pd.DataFrame(
        {
            "duration_days": np.minimum(durations, 150).astype(int),
            "event": ~censor,
            "segment": group,
            "acquisition_cost": rng.normal(10, 2, size=n),
        }
    )
    result = churn.cox_drivers(table)
    row = result.hazard_ratios.set_index("covariate").loc["segment=risky"]
    assert 1.7 < row["hazard_ratio"] < 2.3
    assert row["ci_lower"] < row["hazard_ratio"] < row["ci_upper"]
    assert result.reference_levels == {"segment": "calm"}
    assert "ridge penalty (penalizer=0.01)" in result.method  # the page says it is shrunk
    assert row["name"] == "segment: risky (vs calm)"
    assert 0 <= row["ph_p_value"] <= 1
    cost = result.hazard_ratios.set_index("covariate").loc["acquisition_cost"]
    assert cost["p_value"] > 0.001  # no effect was simulated
    assert result.note == "Drivers in the model: segment, acquisition cost."


def _history_only_table(n=3000, seed=1, months=3):
    """A survival table of a client with customer, date and amount only: value halves the hazard."""
    rng = np.random.default_rng(seed)
    value = rng.choice([10.0, 20.0, 40.0, 80.0], size=n)
    durations = rng.exponential(60.0 * value / 10.0).round() + 1  # hazard x0.5 per doubling
    month = pd.period_range("2024-01", periods=months, freq="M").astype(str)
    return pd.DataFrame(
        {
            "duration_days": np.minimum(durations, 400).astype(int),
            "event": durations <= 400,
            "first_purchase_value": value,
            "acquisition_month": rng.choice(month, size=n),
        }
    )


def test_cox_drivers_without_attributes_reads_the_first_purchase_and_the_acquisition_month():
    result = churn.cox_drivers(_history_only_table())
    ratios = result.hazard_ratios.set_index("covariate")
    value = ratios.loc["first_purchase_value"]
    assert 0.42 < value["hazard_ratio"] < 0.58  # per doubling, as simulated
    assert value["name"] == "First purchase value (per doubling)"
    months = ratios.loc[ratios.index.str.startswith("acquisition_month=")]
    assert len(months) == 2 and (months["p_value"] > 0.001).all()  # no month effect simulated
    assert "no customer attribute" in result.note and "first purchase" in result.note
    assert f"against {result.reference_levels['acquisition_month']}" in result.note
    assert result.fit_note.startswith(f"Concordance {result.concordance:.3f}")
    assert "first_purchase_value" not in result.fit_note  # plain names, never column keys


def test_cox_drivers_pools_many_acquisition_months_into_quarters():
    result = churn.cox_drivers(_history_only_table(months=14))
    levels = result.hazard_ratios["covariate"].str.extract(r"acquisition_month=(.*)")[0].dropna()
    assert len(levels) == 4 and levels.str.fullmatch(r"\d{4}Q[1-4]").all()  # 5 quarters, 1 ref
    # two customers whose first purchase came months later: too few for a ratio of their own
    table = _history_only_table()
    table.loc[:1, "acquisition_month"] = "2025-06"
    result = churn.cox_drivers(table)
    assert not result.hazard_ratios["covariate"].str.contains("2025-06|other").any()
    reference = result.reference_levels["acquisition_month"]
    assert f"the 2 customers of periods with fewer than 30 are counted with {reference}" in (
        result.note
    )


def test_cox_drivers_says_why_when_nothing_can_be_estimated():
    import matplotlib.pyplot as plt

    from cxlib import plots

    table = _history_only_table()
    constant = table.assign(first_purchase_value=5.0, acquisition_month="2024-01")
    nothing_varies = churn.cox_drivers(constant)
    assert nothing_varies.hazard_ratios.empty and nothing_varies.model is None
    assert "the same for every customer" in nothing_varies.note
    assert nothing_varies.fit_note == ""
    no_churn = churn.cox_drivers(table.assign(event=False))
    assert "no customer in the data has churned yet" in no_churn.note
    partly = churn.cox_drivers(table.assign(acquisition_month="2024-01"))
    assert "Left out, the same for every customer: when the customer was acquired" in partly.note
    figures = len(plt.get_fignums())
    assert plots.plot_hazard_ratios(no_churn) is None and len(plt.get_fignums()) == figures
    _, ax = plt.subplots()
    assert plots.plot_hazard_ratios(no_churn, ax=ax) is ax and not ax.has_data()
    with pytest.raises(ValueError, match="must be a list naming at least one column"):
        churn.cox_drivers(table, covariates=[])


def test_survival_table_carries_the_first_purchase_value_and_the_acquisition_month():
    tx = tx_frame(
        [
            ("a", "2025-01-01", -5.0),  # a refund alone is no purchase
            ("a", "2025-01-03", 7.0),
            ("a", "2025-01-03", 3.0),  # the first purchase day nets 10
            ("a", "2025-02-11", 40.0),
            ("b", "2025-02-01", 5.0),
        ]
    )
    table = churn.survival_table(tx, observation_end="2025-03-31", threshold_days=30)
    assert table["first_purchase_value"].to_dict() == {"a": 10.0, "b": 5.0}
    assert table["acquisition_month"].to_dict() == {"a": "2025-01", "b": "2025-02"}


def test_a_configured_inactivity_threshold_is_used_and_said_to_come_from_the_config():
    tx = tx_frame([("a", "2025-01-01", 5.0), ("a", "2025-01-11", 5.0), ("b", "2025-01-05", 5.0)])
    set_days = churn.inactivity_threshold(tx, days=45)
    assert set_days.days == 45 and set_days.median_gap == 10
    assert "churn_inactivity_days: 45" in set_days.explanation
    once = tx.drop_duplicates("customer_id")
    assert not churn.repeat_purchases(once) and churn.repeat_purchases(tx)
    with pytest.raises(DataError, match=r"`churn_inactivity_days: <days>` under `analysis:`"):
        churn.inactivity_threshold(once)
    assert churn.inactivity_threshold(once, days=30).n_gaps == 0
    with pytest.raises(ValueError, match="'days' parameter"):
        churn.inactivity_threshold(tx, days=0)


def test_survival_by_segment_pools_small_groups_and_holm_corrects_the_pairs():
    rng = np.random.default_rng(5)
    sizes = {"a": 200, "b": 200, "c": 150, "tiny1": 1, "tiny2": 3, "tiny3": 2}
    group = np.repeat(list(sizes), list(sizes.values()))
    scale = np.where(group == "a", 100.0, 200.0)
    table = pd.DataFrame({"duration_days": rng.exponential(scale), "event": True, "segment": group})
    km = churn.survival_by_segment(table, min_group_size=30)
    assert set(km.medians.index) == {"a", "b", "c", "other"}
    assert km.medians.loc["other", "customers"] == 6
    # "other" (6 customers) is left out of the tests: 3 pairs among a, b, c
    assert len(km.pairwise) == 3 and km.logrank["degrees_of_freedom"] == 2
    from cxlib.settings.multiplicity import holm

    assert km.pairwise["p_holm"].to_numpy() == pytest.approx(holm(km.pairwise["p_value"]))
    assert (km.pairwise["p_holm"] >= km.pairwise["p_value"]).all()
    assert km.pairwise["significant"].tolist() == (km.pairwise["p_holm"] < 0.05).tolist()
    assert "3 smaller groups pooled" in km.method and "Holm" in km.method


def test_survival_split_uses_a_column_the_client_has_else_one_curve():
    table = pd.DataFrame(
        {
            "duration_days": [1.0, 2.0, 3.0, 4.0],
            "event": True,
            "first_category": ["x", "y", "x", "y"],
        }
    )
    assert churn.survival_split(table) == "first_category"
    km = churn.survival_by_segment(table.drop(columns="first_category"), segment=None)
    assert km.by is None and km.medians.index.tolist() == ["all customers"]
    with pytest.raises(DataError, match=r"churn_survival_by.*missing column\(s\) \['region'\]"):
        churn.survival_split(table, "region")


def test_survival_by_segment_names_a_missing_segment_column():
    with pytest.raises(DataError, match=r"missing column\(s\) \['segment'\]"):
        churn.survival_by_segment(pd.DataFrame({"duration_days": [1], "event": [True]}))


# --- features, labels and leakage ----------------------------------------------------------------


def test_churn_features_by_hand():
    tx = tx_frame(
        [
            ("a", "2025-01-01", 10.0, "toys", "web"),
            ("a", "2025-03-01", 30.0, "home", "web"),
            ("a", "2025-03-05", -10.0, "home", "web"),
            ("a", "2025-06-01", 99.0, "home", "web"),
            ("b", "2024-01-01", 5.0, "toys", "store"),  # inactive at the cutoff (> 365 days)
        ]
    )
    f = churn.churn_features(tx, cutoff="2025-03-31")
    assert f.index.tolist() == ["a"]
    row = f.loc["a"]
    assert row["recency_days"] == 30  # 03-01 -> 03-31
    assert row["tenure_days"] == 89
    assert row["n_purchases"] == 2
    assert row["n_purchases_90"] == 2 and row["n_purchases_prior_90"] == 0
    assert row["revenue_total"] == 30.0  # net of the refund
    assert row["avg_order_value"] == 20.0  # gross 40 over 2 purchases
    assert row["mean_gap_days"] == 59
    assert row["overdue_ratio"] == pytest.approx(30 / 59)
    assert row["refund_share"] == 0.25
    assert row["category_share__home"] == 0.75 and row["category_share__toys"] == 0.25


def test_feature_builder_refuses_transactions_after_the_cutoff():
    tx = tx_frame([("a", "2025-01-01", 10.0), ("a", "2025-05-01", 10.0)])
    cutoff = pd.Timestamp("2025-03-31")
    spec = builder._make_spec(tx, None, None, None, 8)
    with pytest.raises(churn.LeakageError, match="transactions dated up to 2025-05-01"):
        builder._build_features(tx, cutoff, spec)  # what a missing cutoff filter would pass


def test_feature_builder_refuses_surveys_and_feedback_after_the_cutoff():
    tx = tx_frame([("a", "2025-01-01", 10.0)])
    late = pd.DataFrame(
        {
            "customer_id": ["a"],
            "date": pd.to_datetime(["2025-04-01"]),
            "score": [0],
            "text": ["bad"],
        }
    )
    cutoff = pd.Timestamp("2025-03-31")
    spec = builder._make_spec(tx, None, late, late, 8)
    with pytest.raises(churn.LeakageError, match="surveys dated up to 2025-04-01"):
        builder._build_features(tx, cutoff, spec, surveys=late)
    with pytest.raises(churn.LeakageError, match="feedback dated up to 2025-04-01"):
        builder._build_features(tx, cutoff, spec, feedback=late)


def test_features_do_not_change_when_the_label_window_changes(synthetic):
    """Shifting outcomes around after the cutoff must not move a single feature value."""
    tx, customers = synthetic
    cutoff = pd.Timestamp("2025-06-30")
    rng = np.random.default_rng(1)
    after = tx["date"] > cutoff
    # drop half of the label-window purchases and add purchases for others, plus late surveys
    shuffled = pd.concat(
        [
            tx.loc[~after],
            tx.loc[after].sample(frac=0.5, random_state=1),
            tx.loc[~after].sample(300, random_state=2).assign(date=cutoff + pd.Timedelta(days=1)),
        ],
        ignore_index=True,
    )
    surveys = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].unique()[:500],
            "date": cutoff - pd.Timedelta(days=10),
            "score": 7,
        }
    )
    late = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].unique()[:500],
            "date": cutoff + pd.Timedelta(days=5),
            "score": rng.integers(0, 11, 500),
        }
    )
    base = churn.churn_features(tx, cutoff=cutoff, customers=customers, surveys=surveys)
    moved = churn.churn_features(
        shuffled, cutoff=cutoff, customers=customers, surveys=pd.concat([surveys, late])
    )
    assert_frame_equal(base.sort_index(), moved.sort_index())
    # ...while the labels do change, so the test would notice features built from the window
    labels = builder._labels(builder._Bases(tx), base.index, cutoff, 90)
    moved_labels = builder._labels(builder._Bases(shuffled), base.index, cutoff, 90)
    assert (labels != moved_labels).sum() > 50


def test_a_customer_attribute_that_encodes_the_outcome_raises_a_leakage_warning(synthetic):
    tx, customers = synthetic
    cutoff = pd.Timestamp("2025-06-30")
    window = tx.loc[(tx["date"] > cutoff) & (tx["date"] <= cutoff + pd.Timedelta(days=90))]
    leaky = customers.assign(
        acquisition_cost=(~customers["customer_id"].isin(window["customer_id"])).astype(float)
    )
    with pytest.warns(UserWarning, match="suspiciously close to 1"):
        churn.churn_model(tx, cutoff=cutoff, horizon_days=90, customers=leaky, seed=0)


# --- the model -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(synthetic):
    tx, customers = synthetic
    return churn.churn_model(tx, cutoff="2025-06-30", horizon_days=90, customers=customers, seed=0)


def test_churn_model_scores_every_customer_active_at_the_cutoff_exactly_once(synthetic, fitted):
    tx, _ = synthetic
    cutoff = pd.Timestamp("2025-06-30")
    history = tx.loc[(tx["date"] <= cutoff) & (tx["amount"] > 0)]
    last = history.groupby("customer_id")["date"].max()
    active = set(last.index[(cutoff - last).dt.days < 365])
    scores = fitted.scores
    assert set(scores["customer_id"]) == active
    assert scores["customer_id"].is_unique
    window = tx.loc[(tx["date"] > cutoff) & (tx["date"] <= cutoff + pd.Timedelta(days=90))]
    expected = ~scores["customer_id"].isin(window["customer_id"])
    assert (scores["churned"] == expected).all()


def test_scored_list_is_probability_times_trailing_revenue_sorted_by_revenue_at_risk(
    synthetic, fitted
):
    tx, _ = synthetic
    cutoff = pd.Timestamp("2025-06-30")
    year = tx.loc[(tx["date"] <= cutoff) & (tx["date"] > cutoff - pd.Timedelta(days=365))]
    trailing = year.groupby("customer_id")["amount"].sum().clip(lower=0)
    scores = fitted.scores.set_index("customer_id")
    np.testing.assert_allclose(scores["value"], trailing.reindex(scores.index).fillna(0.0))
    np.testing.assert_allclose(
        scores["revenue_at_risk"], scores["churn_probability"] * scores["value"]
    )
    assert fitted.scores["revenue_at_risk"].is_monotonic_decreasing
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["held_out"].mean() == pytest.approx(0.3, abs=0.01)


def test_churn_model_beats_the_recency_rule_and_reports_every_metric(fitted):
    metrics = fitted.metrics
    for key in (
        "roc_auc",
        "pr_auc",
        "top_decile_lift",
        "logistic_roc_auc",
        "recency_roc_auc",
        "out_of_time_roc_auc",
    ):
        assert 0 < metrics[key] < 10, key
    assert metrics["roc_auc"] > metrics["recency_roc_auc"]
    assert metrics["top_decile_lift"] > 1
    assert set(fitted.comparison.index.get_level_values("evaluation")) == {
        "held_out",
        "out_of_time",
    }
    assert fitted.importances["name"].iloc[0] in churn.DEFAULT_FEATURE_LABELS.values()


def test_main_reasons_name_features_that_raise_the_risk(fitted):
    risky = fitted.scores.sort_values("churn_probability").iloc[-1]
    assert risky["main_reasons"]
    first = risky["main_reasons"].split(";")[0].split(":")[0]
    assert first in set(fitted.importances["name"])


def test_main_reasons_are_given_for_the_top_of_the_list_only_when_capped(synthetic, fitted):
    tx, customers = synthetic
    everyone = fitted.score(tx, customers=customers, max_explained_customers=None)
    top = fitted.score(tx, customers=customers, max_explained_customers=25)
    # same ranking; the top 25 explained exactly as when everyone is (same typical values)
    assert_frame_equal(top.drop(columns="main_reasons"), everyone.drop(columns="main_reasons"))
    assert top["main_reasons"].head(25).tolist() == everyone["main_reasons"].head(25).tolist()
    assert top["main_reasons"].iloc[25:].isna().all()
    assert everyone["main_reasons"].notna().all() and (everyone["main_reasons"] != "").any()
    with pytest.raises(ValueError, match="max_explained_customers"):
        fitted.score(tx, customers=customers, max_explained_customers=0)
    capped = churn.churn_model(
        tx, cutoff="2025-06-30", horizon_days=90, customers=customers, seed=0,
        max_explained_customers=40,
    )  # fmt: skip
    assert capped.scores["main_reasons"].notna().sum() == 40
    assert (
        "given for the 40 customers with the most revenue at risk"
        in (capped.definitions["main_reasons"])
    )
    assert "given for" not in fitted.definitions["main_reasons"]  # everyone explained
    assert_frame_equal(
        capped.scores.drop(columns="main_reasons"), fitted.scores.drop(columns="main_reasons")
    )


def test_churn_model_is_deterministic_for_a_seed(synthetic, fitted):
    tx, customers = synthetic
    again = churn.churn_model(tx, cutoff="2025-06-30", horizon_days=90, customers=customers, seed=0)
    assert_frame_equal(fitted.scores, again.scores)
    assert fitted.metrics == again.metrics


def test_score_ranks_the_customers_active_at_a_later_date(synthetic, fitted):
    tx, customers = synthetic
    scores = fitted.score(tx, customers=customers)
    last = tx.loc[tx["amount"] > 0].groupby("customer_id")["date"].max()
    active = set(last.index[(tx["date"].max() - last).dt.days < 365])
    assert set(scores["customer_id"]) == active
    assert list(scores.columns) == [
        "customer_id",
        "churn_probability",
        "value",
        "revenue_at_risk",
        "main_reasons",
    ]


def test_ranked_list_scores_the_training_customers_out_of_fold(fitted):
    from sklearn.metrics import roc_auc_score

    scores = fitted.scores.set_index("customer_id")
    X = fitted.features.reindex(scores.index).to_numpy(dtype=float)
    in_sample = fitted.model.predict_proba(X)[:, 1]
    trained = ~scores["held_out"].to_numpy()
    listed = scores["churn_probability"].to_numpy()
    # the customers the model saw get another model's score (a cross-fit), the rest its own
    assert (np.abs(listed[trained] - in_sample[trained]) > 1e-9).mean() > 0.95
    np.testing.assert_allclose(listed[~trained], in_sample[~trained])
    assert set(scores.loc[trained, "scored_by"]) == {"cross-fit"}
    assert set(scores.loc[~trained, "scored_by"]) == {"model"}
    # the list's AUC is the one reported, and it is not the (optimistic) in-sample one
    churned = scores["churned"].to_numpy()
    assert fitted.metrics["scores_roc_auc"] == pytest.approx(roc_auc_score(churned, listed))
    assert roc_auc_score(churned[trained], listed[trained]) < roc_auc_score(
        churned[trained], in_sample[trained]
    )
    assert "out of sample for every customer" in fitted.definitions["scores"]


def test_churn_model_trains_on_a_stratified_sample_and_scores_everyone(synthetic, fitted):
    tx, customers = synthetic
    sampled = churn.churn_model(
        tx, cutoff="2025-06-30", horizon_days=90, customers=customers, seed=0,
        max_training_customers=400,
    )  # fmt: skip
    assert sampled.metrics["n_sample"] == 400
    assert sampled.metrics["n_train"] == 280  # 70% of the sample
    assert len(sampled.scores) == len(fitted.scores) > 400  # everyone is still scored
    assert sampled.scores["customer_id"].is_unique
    assert (sampled.scores["scored_by"] == "cross-fit").sum() == 280
    # stratified: the sample's churn rate is the active customers' (to one customer)
    rate = sampled.metrics["churn_rate_active"]
    assert sampled.metrics["n"] == 120
    assert abs(sampled.metrics["churn_rate"] - rate) <= 1 / 120 + 1e-9
    assert "stratified sample of 400" in sampled.definitions["scores"]
    again = churn.churn_model(
        tx, cutoff="2025-06-30", horizon_days=90, customers=customers, seed=0,
        max_training_customers=400,
    )  # fmt: skip
    assert_frame_equal(sampled.scores, again.scores)


def test_churn_model_without_history_for_an_earlier_cutoff_skips_the_out_of_time_check(
    synthetic,
):
    tx, _ = synthetic
    recent = tx.loc[tx["date"] >= "2025-01-01"]
    result = churn.churn_model(recent, cutoff="2025-08-01", horizon_days=90, seed=0)
    assert np.isnan(result.metrics["out_of_time_roc_auc"])
    assert "out_of_time" not in result.comparison.index.get_level_values("evaluation")


def test_churn_model_needs_a_full_label_window_after_the_cutoff(synthetic):
    tx, _ = synthetic
    with pytest.raises(ValueError, match="must be a date leaving 90 days of data after it"):
        churn.churn_model(tx, cutoff="2025-11-01", horizon_days=90)


def test_churn_model_rejects_a_non_positive_horizon(synthetic):
    tx, _ = synthetic
    with pytest.raises(ValueError, match="The 'horizon_days' parameter of churn_model"):
        churn.churn_model(tx, cutoff="2025-06-30", horizon_days=0)


def test_churn_model_names_missing_columns():
    with pytest.raises(DataError, match=r"churn_model: missing column\(s\) \['date'\]"):
        churn.churn_model(
            pd.DataFrame({"customer_id": ["a"], "amount": [1.0]}),
            cutoff="2025-01-01",
            horizon_days=30,
        )


def test_revenue_at_risk_by_segment_sums_the_scored_list():
    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "churn_probability": [0.5, 0.2, 0.9],
            "value": [100.0, 50.0, 10.0],
            "revenue_at_risk": [50.0, 10.0, 9.0],
        }
    )
    out = churn.revenue_at_risk_by_segment(scores, pd.Series({"a": "x", "b": "y", "c": "y"}))
    assert out.index.tolist() == ["x", "y"]
    assert out["revenue_at_risk"].tolist() == [50.0, 19.0]
    assert out["expected_churners"].tolist() == pytest.approx([0.5, 1.1])
    assert out["share_of_risk"].sum() == pytest.approx(1.0)


def test_retention_economics_per_decile_is_hand_computed_riskiest_first():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(20)],
            "churn_probability": rng.uniform(0, 1, 20),
            "value": rng.gamma(2, 100, 20),
        }
    )
    out = churn.retention_economics(scores, margin=0.3, save_rate=0.25)
    assert out.index.tolist() == list(range(1, 11)) and out["customers"].eq(2).all()
    ranked = scores.sort_values("churn_probability", ascending=False)
    top = ranked.head(2)
    at_risk = float((top["churn_probability"] * top["value"]).sum()) * 0.3
    assert out.loc[1, "margin_at_risk"] == pytest.approx(at_risk)
    assert out.loc[1, "break_even_cost"] == pytest.approx(0.25 * at_risk / 2)
    assert out.loc[1, "mean_churn_probability"] == pytest.approx(top["churn_probability"].mean())
    assert out["mean_churn_probability"].is_monotonic_decreasing
    assert out["cumulative_margin_at_risk"].iloc[-1] == pytest.approx(
        0.3 * float((scores["churn_probability"] * scores["value"]).sum())
    )
    assert "25%" in out.attrs["basis"] and "gross margin" in out.attrs["basis"]


def test_retention_economics_break_even_scales_with_the_save_rate_and_refuses_bad_rates():
    scores = pd.DataFrame(
        {
            "customer_id": list("abc"),
            "churn_probability": [0.5, 0.2, 0.9],
            "value": [100.0, 50.0, 10.0],
        }
    )
    low = churn.retention_economics(scores, margin=0.5, save_rate=0.1, groups=3)
    high = churn.retention_economics(scores, margin=0.5, save_rate=0.3, groups=3)
    np.testing.assert_allclose(high["break_even_cost"], 3 * low["break_even_cost"])
    assert low["break_even_cost"].tolist() == pytest.approx([0.45, 2.5, 0.5])
    with pytest.raises(ValueError, match="'save_rate' parameter of retention_economics"):
        churn.retention_economics(scores, margin=0.5, save_rate=0)


# --- acceptance on the demo client ---------------------------------------------------------------


@pytest.mark.slow
def test_on_the_demo_client_boosting_beats_logistic_and_recency_on_held_out_customers():
    from cxlib.demo import make_demo

    demo = make_demo(n_customers=20_000, seed=42)
    tx = demo.transactions
    cutoff = churn.default_cutoff(tx, horizon_days=90)
    result = churn.churn_model(
        tx,
        cutoff=cutoff,
        horizon_days=90,
        customers=demo.customers,
        surveys=demo.surveys,
        feedback=demo.feedback,
        seed=42,
    )
    metrics = result.metrics
    assert metrics["roc_auc"] > metrics["logistic_roc_auc"]
    assert metrics["roc_auc"] > metrics["recency_roc_auc"]
    assert metrics["roc_auc"] > 0.75


# --- figures -------------------------------------------------------------------------------------


def test_churn_figures_draw_on_a_given_axes_and_return_it(synthetic, fitted):
    import matplotlib.pyplot as plt

    from cxlib import plots

    tx, customers = synthetic
    table = churn.survival_table(
        tx, customers=customers, segments=customers.set_index("customer_id")["acquisition_channel"]
    )
    drawings = [
        (plots.plot_cohort_heatmap, churn.cohort_retention(tx)),
        (plots.plot_survival_curves, churn.survival_by_segment(table)),
        (plots.plot_hazard_ratios, churn.cox_drivers(table)),
        (plots.plot_gains, fitted),
        (plots.plot_calibration, fitted),
        (plots.plot_churn_importances, fitted),
        (plots.plot_revenue_at_risk, churn.revenue_at_risk_by_segment(fitted.scores)),
    ]
    for plot, result in drawings:
        _, ax = plt.subplots()
        assert plot(result, ax=ax) is ax
        assert ax.get_xlabel(), plot.__name__


def test_resolve_cutoff_defaults_to_one_horizon_before_the_end_and_rejects_later_dates():
    tx = tx_frame([("a", "2025-01-01", 5.0), ("a", "2025-12-31", 5.0)])
    assert churn.resolve_cutoff(tx, None, horizon_days=90) == pd.Timestamp("2025-10-02")
    assert churn.resolve_cutoff(tx, "2025-06-30", horizon_days=90) == pd.Timestamp("2025-06-30")
    with pytest.raises(ValueError, match="latest possible cutoff 2025-10-02"):
        churn.resolve_cutoff(tx, "2025-11-15", horizon_days=90)


def test_churn_rate_interval_is_the_wilson_interval():
    tx = tx_frame([("a", "2025-01-01", 5.0), ("b", "2025-01-01", 5.0), ("b", "2025-03-01", 5.0)])
    result = churn.churn_rate(tx, start="2025-01-31", end="2025-03-31", threshold_days=45)
    # k=1, n=2: centre (0.5 + z^2/4) / (1 + z^2/2) = 0.5; half-width 0.4055 (by hand)
    assert result.ci_low == pytest.approx(0.0945, abs=1e-4)
    assert result.ci_high == pytest.approx(0.9055, abs=1e-4)


def test_churn_vs_target_without_a_plan_leaves_the_gap_empty():
    out = churn.churn_vs_target(pd.Series([True, False]), target_rate=None)
    assert out.loc["total", "churn_rate"] == 0.5
    assert out["excess_churners"].isna().all()


def test_scores_for_action_come_highest_revenue_at_risk_first(synthetic, fitted):
    tx, customers = synthetic
    scores = fitted.score(tx, customers=customers)
    assert scores["revenue_at_risk"].is_monotonic_decreasing


def test_p_alive_definition_flags_customers_the_bgnbd_model_thinks_are_gone(small_demo):
    status = churn.churn_status(small_demo.transactions, definition="p_alive")
    assert (status["churned"] == (status["p_alive"] < 0.5)).all()
    churned = status.loc[status["churned"], "days_since_last"].median()
    alive = status.loc[~status["churned"], "days_since_last"].median()
    assert churned > 3 * alive


def test_churn_rate_contract_counts_contracts_ending_in_the_period():
    tx = tx_frame([("a", "2025-01-10", 5.0), ("b", "2025-01-10", 5.0), ("c", "2025-01-10", 5.0)])
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": pd.to_datetime(["2025-01-01"] * 3),
            "contract_end": pd.to_datetime(["2025-01-15", "2025-03-01", None]),
        }
    )
    result = churn.churn_rate(
        tx, start="2025-01-31", end="2025-03-31", definition="contract", customers=customers
    )
    # a had left before the start; b leaves in the period; c has no end date
    assert result.table["churned"].to_dict() == {"b": True, "c": False}
    assert result.rate == 0.5


def test_churn_model_uses_a_given_value_and_falls_back_with_a_warning(synthetic):
    tx, _ = synthetic
    cutoff = pd.Timestamp("2025-06-30")
    first = churn.churn_features(tx, cutoff=cutoff).index[:10]
    value = pd.Series(1000.0, index=first)
    with pytest.warns(UserWarning, match="'value' is missing for"):
        result = churn.churn_model(tx, cutoff=cutoff, horizon_days=90, value=value, seed=0)
    scores = result.scores.set_index("customer_id")
    assert (scores.loc[first, "value"] == 1000.0).all()
    assert "given by the caller" in result.definitions["value"]


@pytest.mark.parametrize(
    "call",
    [
        lambda tx: churn.cohort_retention(tx),
        lambda tx: churn.churn_status(tx, threshold_days=30),
        lambda tx: churn.survival_table(tx, threshold_days=30),
        lambda tx: churn.churn_features(tx, cutoff="2025-01-31"),
        lambda tx: churn.inactivity_threshold(tx),
    ],
)
def test_churn_functions_refuse_a_missing_amount_and_text_dates(call):
    tx = tx_frame([("a", "2025-01-01", 5.0), ("a", "2025-01-11", np.nan), ("b", "2025-01-05", 5.0)])
    with pytest.raises(DataError, match="column 'amount' has 1 missing or infinite"):
        call(tx)  # cohort_retention used to sum the NaN into the revenue silently
    text = tx.assign(amount=5.0, date=tx["date"].dt.strftime("%d/%m/%Y"))
    with pytest.raises(DataError, match="column 'date' must hold dates"):
        call(text)


# --- headline numbers ----------------------------------------------------------------------------


def _headline_inputs(target):
    # a and c are silent for more than 45 days by the end; b and d come back
    tx = tx_frame(
        [
            ("a", "2025-01-01", 5.0),
            ("b", "2025-01-01", 5.0),
            ("b", "2025-03-01", 5.0),
            ("c", "2025-01-10", 5.0),
            ("d", "2025-01-10", 5.0),
            ("d", "2025-03-10", 5.0),
        ]
    )
    rate = churn.churn_rate(tx, start="2025-01-31", end="2025-03-31", threshold_days=45)
    segments = pd.Series({"a": "x", "b": "y", "c": "x", "d": "y"})
    plan = churn.churn_vs_target(rate.table["churned"], target_rate=target, segments=segments)
    model = SimpleNamespace(
        metrics={"roc_auc": 0.81, "logistic_roc_auc": 0.79, "recency_roc_auc": 0.7}
    )
    scores = pd.DataFrame({"customer_id": ["a", "c"], "revenue_at_risk": [12.5, 7.5]})
    return rate, plan, model, scores


def test_churn_headlines_record_the_rate_the_plan_gap_and_the_money_at_risk():
    rate, plan, model, scores = _headline_inputs(0.25)
    headlines = churn.churn_headlines(
        rate, plan, model, scores, horizon_days=59, target_churn_rate=0.25
    )
    by_key = {h.key: h for h in headlines}
    # one excess churner in total: no segment is named as "making the gap" (150% of 1 churner)
    assert list(by_key) == [
        "churn_rate",
        "churn_target",
        "churn_gap",
        "revenue_at_risk",
        "churn_model_auc",
    ]
    assert by_key["churn_rate"].value == 0.5  # a and c of four customers
    assert (by_key["churn_rate"].ci_low, by_key["churn_rate"].ci_high) == (
        rate.ci_low,
        rate.ci_high,
    )
    assert by_key["churn_rate"].label == "Churn over 59 days"
    assert by_key["churn_gap"].value == pytest.approx(0.25)
    assert by_key["revenue_at_risk"].value == 20.0
    assert by_key["churn_model_auc"].value == 0.81
    assert "logistic 0.790" in by_key["churn_model_auc"].note


def test_churn_headlines_name_the_segment_making_a_gap_of_many_churners():
    rate, _, model, scores = _headline_inputs(0.25)
    ids = [f"c{i}" for i in range(200)]
    churned = pd.Series([True] * 60 + [False] * 40 + [True] * 40 + [False] * 60, index=ids)
    segments = pd.Series(["x"] * 100 + ["y"] * 100, index=ids)
    plan = churn.churn_vs_target(churned, target_rate=0.25, segments=segments)
    by_key = {
        h.key: h
        for h in churn.churn_headlines(
            rate, plan, model, scores, horizon_days=59, target_churn_rate=0.25
        )
    }
    # x: 60 churners vs 25 planned (+35), y: 40 vs 25 (+15); 50 above plan in total
    assert by_key["churn_gap_segment"].value == "x"
    assert by_key["churn_gap_segment"].note == "70% of the excess churners"


def test_churn_headlines_without_a_plan_leave_out_target_and_gap():
    rate, plan, model, scores = _headline_inputs(None)
    keys = [
        h.key
        for h in churn.churn_headlines(
            rate, plan, model, scores, horizon_days=59, target_churn_rate=None
        )
    ]
    assert keys == ["churn_rate", "revenue_at_risk", "churn_model_auc"]


def test_churn_headlines_below_plan_name_no_segment_for_a_gap_that_does_not_exist():
    rate, plan, model, scores = _headline_inputs(0.6)
    by_key = {
        h.key: h
        for h in churn.churn_headlines(
            rate, plan, model, scores, horizon_days=59, target_churn_rate=0.6
        )
    }
    assert by_key["churn_gap"].value == pytest.approx(-0.1)
    assert "churn_gap_segment" not in by_key


def test_churn_headlines_need_the_plan_table_when_there_is_a_target():
    rate, _, model, scores = _headline_inputs(0.25)
    with pytest.raises(ValueError, match="The 'plan' parameter of churn_headlines"):
        churn.churn_headlines(rate, None, model, scores, horizon_days=59, target_churn_rate=0.25)


def test_the_model_says_its_label_is_no_purchase_in_the_horizon(fitted):
    text = fitted.definitions["churned"]
    assert text.startswith(
        "no purchase in the horizon: no day with positive net spend between "
        "2025-07-01 and 2025-09-28 (90 days)"
    )
    assert "whichever churn definition" in text


# --- one customer base ---------------------------------------------------------------------------


def test_a_day_whose_refund_cancels_its_purchase_is_not_a_purchase_anywhere():
    # b's only activity on 03-20 is a purchase refunded the same day: no purchase that day
    tx = tx_frame(
        [
            ("a", "2025-01-01", 5.0),
            ("a", "2025-01-11", 5.0),
            ("a", "2025-03-25", 5.0),
            ("b", "2025-01-05", 5.0),
            ("b", "2025-03-20", 8.0),
            ("b", "2025-03-20", -8.0),
        ]
    )
    from cxlib.customers import customer_base

    base = customer_base(tx, observation_end="2025-03-31")
    features = churn.churn_features(tx, cutoff="2025-03-31")
    status = churn.churn_status(tx, as_of="2025-03-31", threshold_days=60)
    assert features["n_purchases"].to_dict() == base["purchases"].to_dict() == {"a": 3, "b": 1}
    assert features.loc["b", "recency_days"] == base.loc["b", "days_since_last"] == 85
    assert status["churned"].to_dict() == {"a": False, "b": True}
    cohorts = churn.cohort_retention(tx, observation_end="2025-03-31")
    march = cohorts.table.query("period == 2")["customers"].sum()
    assert march == 1  # only a bought in March
    labels = builder._labels(
        builder._Bases(tx), pd.Index(["a", "b"]), pd.Timestamp("2025-03-01"), 30
    )
    assert labels.to_dict() == {"a": 0, "b": 1}


def test_p_alive_status_uses_the_callers_purchase_model_or_values(small_demo):
    from cxlib import clv

    tx = small_demo.transactions
    summary = clv.rfm_summary(tx, freq="W")
    weekly = clv.PurchaseModel("pareto_nbd").fit(summary)
    status = churn.churn_status(tx, definition="p_alive", purchase_model=weekly, freq="W")
    expected = pd.Series(np.asarray(weekly.p_alive(summary), dtype=float), index=summary.index)
    np.testing.assert_allclose(status["p_alive"], expected.reindex(status.index))
    given = pd.Series(0.3, index=status.index[:5])
    from_values = churn.churn_status(tx, definition="p_alive", p_alive=given)
    assert from_values["churned"].sum() == 5  # the others have no value: not flagged
    default = churn.churn_status(tx, definition="p_alive")  # a bare call fits its own BG/NBD
    assert not np.allclose(default["p_alive"], status["p_alive"])


def test_churn_rate_segments_are_the_rfm_segments_of_the_base_at_the_start(small_demo):
    from cxlib.customers import customer_base
    from cxlib.segmentation import rfm_segments

    tx = small_demo.transactions
    start = pd.Timestamp("2025-06-30")
    rate = churn.churn_rate(tx, start=start, end="2025-09-28", threshold_days=95, freq="W")
    weekly = customer_base(tx, observation_end=start, freq="W")
    expected = rfm_segments(weekly)["segment"].reindex(rate.table.index)
    assert (rate.table["segment"] == expected).all()
    assert rate.table["segment"].nunique() > 3


def test_one_survival_curve_says_there_is_no_log_rank_test_instead_of_printing_nan():
    table = pd.DataFrame({"duration_days": [1, 2, 3, 4], "event": [True, True, False, True]})
    one = churn.survival_by_segment(table, segment=None)
    assert one.by is None and "no log-rank test" in one.test_note and "nan" not in one.test_note
    assert one.method == "One group: no pairwise tests."
    two = churn.survival_by_segment(table.assign(segment=["x", "x", "y", "y"]))
    assert two.test_note.startswith("Log-rank test across groups: statistic ")
    assert f"{two.logrank['test_statistic']:.1f}" in two.test_note


# --- the registry of churn definitions ------------------------------------------------------


def test_each_registered_definition_has_its_words_status_and_lifetimes():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-03-01"]),
            "amount": [5.0, 5.0, 5.0],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup_date": pd.to_datetime(["2024-12-01", "2025-02-01"]),
            "contract_end": pd.to_datetime(["2025-02-01", None]),
        }
    )
    assert list(churn.DEFINITIONS) == ["inactivity", "contract", "p_alive"]
    for name, definition in churn.DEFINITIONS.items():
        assert definition.name == name and definition.label
        words = definition.words(threshold_days=30)
        assert "{" not in words and words in definition.base_attrs(threshold_days=30).values()
        status = churn.churn_status(
            tx, as_of="2025-03-31", definition=name, customers=customers, threshold_days=30,
            p_alive=pd.Series({"a": 0.2, "b": 0.9}),
        )  # fmt: skip
        # a: silent for 79 days, contract ended, p_alive 0.2; b: none of these
        assert status["churned"].to_dict() == {"a": True, "b": False}, name
        table = churn.survival_table(
            tx, definition=name, customers=customers, observation_end="2025-03-31",
            threshold_days=30,
        )  # fmt: skip
        assert table["event"].to_dict() == {"a": True, "b": False}, name
    # the contract's lifetime runs from sign-up to its end; inactivity's between purchases
    contract = churn.survival_table(tx, definition="contract", customers=customers)
    assert contract.loc["a", "duration_days"] == 62
    assert churn.DEFINITIONS["contract"].follow_up_days(30) is None  # a dated end: no silence
    assert churn.DEFINITIONS["inactivity"].follow_up_days(30) == 30
    with pytest.raises(ValueError, match=r"must be one of \['inactivity', 'contract', 'p_alive'\]"):
        churn.churn_status(tx, definition="lapsed")


def test_the_churn_rate_sentence_is_the_definitions():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b"],
            "date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-03-01"]),
            "amount": [5.0, 5.0, 5.0],
        }
    )
    rate = churn.churn_rate(tx, start="2025-01-31", end="2025-03-31", threshold_days=45)
    assert rate.description == (
        "Inactivity: churned = no purchase for more than 45 days. Of 2 customers active on "
        "2025-01-31, 1 (50.0%) had churned by 2025-03-31 (59 days later)."
    )


def test_a_churn_definition_outside_the_registry_is_refused_naming_the_choices(monkeypatch):
    import re
    from pathlib import Path

    from cxlib.churn import registry
    from cxlib.run.loading import check_settings
    from cxlib.settings.config import ClientConfig

    def config(name):
        return ClientConfig.model_validate(
            {
                "client": "x",
                "data_dir": ".",
                "tables": {"surveys": {"path": "s.csv"}},
                "analysis": {"churn_definition": name},
            }
        )

    with pytest.raises(DataError) as error:
        check_settings(config("lapsed"), None)
    assert str(error.value) == (
        "x: invalid analysis settings\n  analysis.churn_definition: 'lapsed' is not a churn "
        "definition; choose one of inactivity, contract, p_alive"
    )
    # The registry is the one list: a definition added to it is a choice the config accepts,
    # and no other module of cxlib spells the list out.
    monkeypatch.setitem(registry.DEFINITIONS, "lapsed", registry.DEFINITIONS["inactivity"])
    check_settings(config("lapsed"), None)
    listed = re.compile(r"""["']inactivity["'],\s*["']contract["'],\s*["']p_alive["']""")
    package = Path(churn.__file__).parents[1]
    spelled = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if listed.search(path.read_text(encoding="utf-8")) and path.name != "registry.py"
    ]
    assert spelled == []
