from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.customers import customer_base, rfm_summary
from cxlib.segmentation import (
    DEFAULT_RFM_SEGMENTS,
    SegmentRule,
    cluster_customers,
    customer_features,
    format_profiles,
    rfm_segments,
    segment_profiles,
    segmentation_headlines,
)
from cxlib.segmentation._naming import _name_clusters
from cxlib.segmentation.wallet import spend_rate
from cxlib.settings.headline import Headline

ELEVEN = {
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Cannot Lose Them",
    "Hibernating",
    "Lost",
}


def _summary(frequency, recency, T, monetary):
    index = pd.Index([f"c{i}" for i in range(len(frequency))], name="customer_id")
    return pd.DataFrame(
        {"frequency": frequency, "recency": recency, "T": T, "monetary_value": monetary},
        index=index,
        dtype=float,
    )


def _ten_customers():
    # since-last = T - recency = 9..0 weeks; frequency and monetary increase with the row.
    return _summary(
        frequency=[0, 1, 1, 2, 3, 4, 5, 6, 8, 10],
        recency=[0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
        T=[9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
        monetary=[0, 5, 10, 15, 20, 25, 30, 35, 40, 45],
    )


# --- the default segment map ---------------------------------------------------------------


def test_every_cell_of_the_5x5x5_score_grid_matches_exactly_one_default_rule():
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        fm = (f + m + 1) // 2
        hits = [
            rule.segment
            for rule in DEFAULT_RFM_SEGMENTS
            if rule.matches(np.array([r]), np.array([fm]))[0]
        ]
        assert len(hits) == 1, (r, f, m, hits)


def test_the_default_map_names_all_eleven_widely_used_segments():
    assert {rule.segment for rule in DEFAULT_RFM_SEGMENTS} == ELEVEN


def test_rfm_segments_on_the_whole_score_grid_gives_each_customer_one_known_segment():
    # 125 customers, one per (r, f, m) cell: each score is its own quintile.
    cells = list(itertools.product(range(1, 6), repeat=3))
    since_last = np.array([5 - r for r, _, _ in cells], dtype=float)
    summary = _summary(
        frequency=[f for _, f, _ in cells],
        recency=10 - since_last,
        T=[10] * 125,
        monetary=[m for _, _, m in cells],
    )
    result = rfm_segments(summary, recency="quintile")
    assert result[["r_score", "f_score", "m_score"]].to_numpy().tolist() == [list(c) for c in cells]
    assert result["segment"].isin(ELEVEN).all()
    assert set(result["segment"]) == ELEVEN


# --- scoring ---------------------------------------------------------------------------------


def test_scores_are_hand_computed_quintiles_with_recency_scored_on_time_since_last_purchase():
    result = rfm_segments(_ten_customers(), recency="quintile")
    # ten distinct values: two customers per fifth.
    assert result["r_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert result["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # frequency ties (1, 1) share the lower score: one customer below them -> score 1.
    assert result["f_score"].tolist() == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    assert result["fm_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert result["segment"].tolist() == [
        "Lost",
        "Lost",
        "About to Sleep",
        "About to Sleep",
        "Need Attention",
        "Need Attention",
        "Champions",
        "Champions",
        "Champions",
        "Champions",
    ]


def test_a_customer_with_a_larger_lifetimes_recency_is_more_recent_and_scores_higher():
    summary = _summary([1, 1, 1, 1, 1], [1, 2, 3, 4, 5], [5] * 5, [10] * 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rfm_segments(summary, recency="quintile")
    assert result["r_score"].tolist() == [1, 2, 3, 4, 5]


def test_scores_do_not_depend_on_row_order():
    summary = _ten_customers()
    shuffled = summary.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(rfm_segments(shuffled).loc[summary.index], rfm_segments(summary))


def test_heavily_tied_frequency_warns_that_the_score_collapses_and_keeps_twins_together():
    summary = _summary(
        frequency=[0] * 7 + [1, 2, 3],
        recency=[0] * 7 + [3, 4, 5],
        T=[6] * 10,
        monetary=[0] * 7 + [10, 20, 30],
    )
    expected = r"r_score takes only 3 of 5 levels.*f_score takes only 3 of 5 levels \(most common"
    with pytest.warns(UserWarning, match=expected):
        result = rfm_segments(summary, recency="quintile")
    assert result["f_score"].iloc[:7].eq(1).all()
    assert result["f_score"].iloc[7:].tolist() == [4, 5, 5]


def test_zero_repeat_customers_still_get_a_segment_from_their_recency():
    summary = _ten_customers()
    summary.loc[:, "frequency"] = 0.0
    summary.loc[:, "monetary_value"] = 0.0
    summary.loc[:, "recency"] = 0.0
    with pytest.warns(UserWarning, match="collapse|levels"):
        result = rfm_segments(summary)
    assert result["segment"].notna().all()
    # T grows along the rows, so the first customer bought most recently.
    assert result["segment"].iloc[0] == "New Customers"
    assert result["segment"].iloc[-1] == "Lost"


def test_a_single_customer_gets_a_segment_with_a_warning():
    with pytest.warns(UserWarning, match="r_score takes only 1 of 5 levels.*among 1 customers"):
        result = rfm_segments(_summary([2], [3], [5], [10]), recency="quintile")
    assert len(result) == 1 and result["segment"].iloc[0] in ELEVEN


def test_custom_rules_override_the_default_map_with_the_first_match_winning():
    rules = [
        SegmentRule("Best", r=(5, 5), fm=(5, 5)),
        ("Everyone", (1, 5), (1, 5)),
    ]
    result = rfm_segments(_ten_customers(), rules=rules, recency="quintile")
    assert result["segment"].tolist() == ["Everyone"] * 8 + ["Best"] * 2


def test_rules_given_as_a_frame_are_accepted():
    rules = pd.DataFrame(
        {
            "segment": ["Recent", "Old"],
            "r_min": [3, 1],
            "r_max": [5, 2],
            "fm_min": [1, 1],
            "fm_max": [5, 5],
        }
    )
    result = rfm_segments(_ten_customers(), rules=rules, recency="quintile")
    assert result["segment"].tolist() == ["Old"] * 4 + ["Recent"] * 6


def test_rules_that_leave_grid_cells_uncovered_are_refused():
    with pytest.raises(ValueError, match=r"must be rules that cover every .* leave \[\(1, 1\)"):
        rfm_segments(_ten_customers(), rules=[SegmentRule("Top", r=(2, 5), fm=(1, 5))])


def test_missing_summary_columns_raise_a_data_error_naming_them():
    with pytest.raises(DataError, match=r"rfm_segments: missing column\(s\) \['T'\]"):
        rfm_segments(_ten_customers().drop(columns="T"))


def test_recency_beyond_T_is_refused_with_the_offending_rows():
    summary = _ten_customers()
    summary.loc["c3", "recency"] = 99.0
    with pytest.raises(DataError, match="cannot exceed 'T'.*row c3: 99.0"):
        rfm_segments(summary)


# --- recency anchored to the purchase cycle ------------------------------------------------


def test_cycle_recency_scores_days_since_last_against_the_threshold_bands():
    # threshold 100 days: bands 25 / 50 / 75 / 100; on a band edge the better score.
    days = [0, 25, 26, 50, 51, 75, 76, 100, 101, 900]
    summary = _summary([1] * 10, [5] * 10, [10] * 10, [10] * 10).assign(days_since_last=days)
    with pytest.warns(UserWarning, match="f_score"):
        result = rfm_segments(summary, threshold_days=100)
    assert result["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_cycle_recency_converts_the_summary_unit_with_freq():
    # weeks: 3 weeks since last = 21 days (band 3: 14-21), 20 weeks = 140 days; threshold 28.
    summary = _summary([1, 1], [7, 0], [10, 20], [5, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = rfm_segments(summary, threshold_days=28, freq="W")
    assert result["r_score"].tolist() == [3, 1]
    with pytest.raises(ValueError, match="'freq' parameter of rfm_segments"):
        rfm_segments(summary, threshold_days=28)


def test_without_a_threshold_the_cycle_is_read_from_the_repeat_customers_gaps():
    # every repeat customer buys every 2 weeks: threshold 2 weeks, so silent 3 weeks = lapsed.
    summary = _summary(
        frequency=[5, 5, 5, 5, 5, 5],
        recency=[10, 10, 10, 10, 10, 10],
        T=[10, 10.4, 10.9, 11.4, 12, 13],
        monetary=[1, 2, 3, 4, 5, 6],
    )
    with pytest.warns(UserWarning, match="f_score takes only 1 of 5 levels"):
        result = rfm_segments(summary)
    assert result["r_score"].tolist() == [5, 5, 4, 3, 2, 1]


def test_a_lapsed_high_value_customer_is_hibernating_not_at_risk_whatever_the_quintiles():
    # a client where most customers lapsed long ago: with quintiles the best of the lapsed
    # would score recency 2-3; anchored to the 30-day cycle they all score 1.
    rng = np.random.default_rng(1)
    n = 200
    days = np.where(np.arange(n) < 40, rng.integers(0, 30, n), rng.integers(200, 900, n))
    summary = _summary(rng.integers(1, 20, n), [50] * n, [100] * n, rng.gamma(2, 20, n)).assign(
        days_since_last=days
    )
    cycle = rfm_segments(summary, threshold_days=30)
    lapsed = cycle.loc[days > 30, "segment"]
    assert set(lapsed) <= {"Hibernating", "Lost"}
    active_names = {"At Risk", "Cannot Lose Them", "Champions", "Loyal"}
    assert not cycle.loc[days > 30, "segment"].isin(active_names).any()
    quintile = rfm_segments(summary, recency="quintile")
    assert quintile.loc[days > 30, "segment"].isin(active_names).any()  # what the fix avoids


def test_rfm_segments_does_not_modify_its_input():
    summary = _ten_customers()
    before = summary.copy()
    rfm_segments(summary)
    pd.testing.assert_frame_equal(summary, before)


# --- features ----------------------------------------------------------------------------------


def _transactions():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-03-01", "2024-02-01", "2024-02-15", "2024-03-31"]
            ),
            "amount": [30.0, 10.0, 60.0, 20.0, -5.0, 50.0],
            "category": ["food", "toys", "food", "toys", "toys", "food"],
            "channel": ["web", "web", "store", "web", "web", "store"],
        }
    )


def test_customer_features_are_hand_computed_from_transactions():
    features = customer_features(_transactions())
    a = features.loc["a"]
    assert a["frequency"] == 1 and a["orders"] == 2
    assert a["days_since_last"] == 30 and a["tenure_days"] == 90
    assert a["total_spend"] == 100.0 and a["avg_order_value"] == 50.0
    assert a["category_food"] == pytest.approx(0.9) and a["channel_web"] == pytest.approx(0.4)
    b = features.loc["b"]
    # refunds are netted in spend but left out of the (gross) mix; b's refund day (Feb 15) is
    # not a purchase, so b's last purchase is Feb 1 and b has no repeat purchase
    assert b["total_spend"] == 15.0 and b["category_toys"] == 1.0
    assert b["frequency"] == 0 and b["days_since_last"] == 59 and b["orders"] == 1
    assert features.loc["c", "frequency"] == 0 and features.loc["c", "days_since_last"] == 0


def _purchase_refund_purchase():
    # x buys, returns most of it on another day, buys again: two purchase days, one repeat.
    return pd.DataFrame(
        {
            "customer_id": ["x", "x", "x", "y"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-02-01", "2024-02-01"]),
            "amount": [50.0, -30.0, 40.0, 10.0],
            "category": ["food", "food", "toys", "food"],
        }
    )


def test_a_purchase_a_refund_day_and_a_purchase_count_as_one_repeat_purchase_everywhere():
    tx = _purchase_refund_purchase()
    features = customer_features(tx)
    assert features.loc["x", "frequency"] == 1 and features.loc["x", "orders"] == 2
    for freq in ("D", "W", "M"):
        assert rfm_summary(tx, freq=freq).loc["x", "frequency"] == 1
    assert customer_base(tx).loc["x", "frequency"] == 1
    profiles = segment_profiles(pd.Series({"x": "s", "y": "t"}), tx)
    assert profiles.loc["s", "orders_per_customer"] == 2.0
    assert profiles.loc["s", "revenue"] == 60.0  # net of the refund
    # wallet: one repeat day 31 days after the first -> active span 62 days, floored at 90
    assert spend_rate(tx)["x"] == pytest.approx(60.0 / 90 * 365.25)


def test_customer_features_from_a_precomputed_base_match_and_do_not_rebuild_it(monkeypatch):
    tx = _transactions()
    base = customer_base(tx)
    segments = pd.Series({"a": "x", "b": "y", "c": "y"})
    expected = customer_features(tx)
    expected_profiles = segment_profiles(segments, tx)

    def refuse(*args, **kwargs):
        raise AssertionError("customer_base rebuilt although a base was given")

    monkeypatch.setattr("cxlib.customers.customer_base", refuse)
    pd.testing.assert_frame_equal(customer_features(tx, base=base), expected)
    pd.testing.assert_frame_equal(segment_profiles(segments, tx, base=base), expected_profiles)
    # the profile's money is the base's: a base with other revenue gives other profiles
    doubled = base.assign(revenue=2 * base["revenue"])
    assert segment_profiles(segments, tx, base=doubled).loc["x", "revenue"] == 200.0


def test_customer_features_at_an_earlier_observation_end_ignore_later_transactions():
    features = customer_features(_transactions(), observation_end="2024-02-20")
    assert features.index.tolist() == ["a", "b"]
    # a's March purchase (food, store) is after the end: only the January basket counts
    assert features.loc["a", "total_spend"] == 40.0
    assert features.loc["a", "category_food"] == pytest.approx(0.75)
    assert features.loc["a", "tenure_days"] == 50


def test_customer_features_refuse_a_base_from_another_observation_end():
    base = customer_base(_transactions(), observation_end="2024-02-20")
    with pytest.raises(ValueError, match="must be the customer base's observation end"):
        customer_features(_transactions(), base=base, observation_end="2024-03-31")


def test_customer_features_keep_text_ids_for_integer_customer_ids_and_order_ids():
    # a client shape the demo lacks: numeric ids and several order lines per order
    tx = pd.DataFrame(
        {
            "customer_id": [7, 7, 7, 9],
            "order_id": ["o1", "o1", "o2", "o3"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-02"]),
            "amount": [10.0, 5.0, 25.0, 8.0],
        }
    )
    features = customer_features(tx)
    assert features.index.tolist() == ["7", "9"]
    assert features.loc["7", "orders"] == 2 and features.loc["7", "frequency"] == 0
    assert features.loc["7", "avg_order_value"] == 20.0


def test_customer_features_refuse_text_dates_with_the_one_transaction_check():
    tx = _transactions().assign(date=lambda t: t["date"].dt.strftime("%Y-%m-%d"))
    with pytest.raises(DataError, match="customer_features: column 'date' must hold dates"):
        customer_features(tx)
    with pytest.raises(DataError, match="segment_profiles: column 'amount' has 1 missing"):
        segment_profiles(
            pd.Series({"a": "x"}), _transactions().assign(amount=[1.0, np.nan, 1.0, 1.0, 1.0, 1.0])
        )


def test_customer_features_follow_the_order_of_a_summary():
    summary = pd.DataFrame({"frequency": [0.0, 3.0]}, index=pd.Index(["c", "a"]))
    features = customer_features(_transactions(), summary)
    assert features.index.tolist() == ["c", "a"]
    assert features["frequency"].tolist() == [0, 1]  # the base's purchase days, not the summary's


def test_customer_features_refuse_summary_customers_without_a_purchase():
    summary = pd.DataFrame({"frequency": [0.0]}, index=pd.Index(["zz"]))
    with pytest.raises(DataError, match="have no purchase"):
        customer_features(_transactions(), summary)


# --- clustering ------------------------------------------------------------------------------


def _two_groups(n=200, seed=0):
    rng = np.random.default_rng(seed)
    half = n // 2
    return pd.DataFrame(
        {
            "frequency": np.r_[rng.poisson(1, half), rng.poisson(15, half)],
            "total_spend": np.r_[rng.gamma(2, 20, half), rng.gamma(2, 500, half)],
            "channel_online": np.r_[rng.uniform(0, 0.3, half), rng.uniform(0.7, 1, half)],
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )


def test_two_obvious_groups_are_found_and_named_by_how_they_differ():
    result = cluster_customers(_two_groups(), k_range=range(2, 5), seed=0)
    assert result.n_clusters == 2
    assert result.names.tolist() == ["frequent high-spend online", "infrequent low-spend"]
    first_half = result.assignments["cluster"].iloc[:100]
    assert first_half.eq(1).all() and result.assignments["cluster"].iloc[100:].eq(0).all()
    assert result.selection.index.tolist() == [2, 3, 4]


def test_clustering_is_deterministic_under_a_seed():
    features = _two_groups(seed=1)
    one = cluster_customers(features, k_range=range(2, 6), seed=5)
    two = cluster_customers(features, k_range=range(2, 6), seed=5)
    pd.testing.assert_frame_equal(one.assignments, two.assignments)
    pd.testing.assert_frame_equal(one.selection, two.selection)


def test_sampled_selection_and_minibatch_final_fit_agree_with_the_full_fit():
    features = _two_groups(n=2_000, seed=2)
    full = cluster_customers(features, k_range=[2, 3], seed=0)
    fast = cluster_customers(
        features,
        k_range=[2, 3],
        seed=0,
        sample_size=300,
        silhouette_sample_size=200,
        minibatch_threshold=500,
    )
    assert type(fast.model).__name__ == "MiniBatchKMeans"
    assert (full.assignments["cluster"] == fast.assignments["cluster"]).mean() > 0.99


def test_gaussian_mixture_option_chooses_k_by_bic():
    result = cluster_customers(_two_groups(), method="gmm", k_range=[2, 3], seed=0)
    assert result.criterion == "bic" and "bic" in result.selection
    assert result.selection["bic"].idxmin() == result.n_clusters


def test_predict_assigns_new_customers_to_the_fitted_clusters():
    features = _two_groups()
    result = cluster_customers(features, k_range=[2], seed=0)
    again = result.predict(features)
    pd.testing.assert_frame_equal(again, result.assignments)


def test_standardised_profiles_are_zero_on_average_over_customers():
    result = cluster_customers(_two_groups(), k_range=[2], seed=0)
    weights = result.profiles["customers"].to_numpy()
    weighted = (result.standardised.to_numpy() * weights[:, None]).sum(axis=0) / weights.sum()
    np.testing.assert_allclose(weighted, 0.0, atol=1e-9)


def test_identical_profiles_still_get_distinct_names():
    standardised = pd.DataFrame({"frequency": [1.0, 1.0, 1.0], "total_spend": [0.0, 0.0, 0.0]})
    names = _name_clusters(
        standardised, words={"frequency": ("rare", "frequent")}, threshold=0.5, max_words=2
    )
    assert len(set(names)) == 3 and all(name.startswith("frequent") for name in names)


def test_colliding_names_are_lengthened_with_the_next_descriptor():
    standardised = pd.DataFrame({"frequency": [2.0, 2.0], "total_spend": [1.0, -1.0]})
    names = _name_clusters(
        standardised,
        words={"frequency": ("rare", "frequent"), "total_spend": ("low-spend", "high-spend")},
        threshold=0.5,
        max_words=1,
    )
    assert names == ["frequent high-spend", "frequent low-spend"]


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="'method' parameter of cluster_customers"):
        cluster_customers(_two_groups(), method="dbscan")


def test_k_range_must_stay_below_the_number_of_customers():
    with pytest.raises(ValueError, match="below the number of customers"):
        cluster_customers(_two_groups(n=6), k_range=[3, 8])


def test_features_with_missing_values_are_refused():
    features = _two_groups()
    features.iloc[3, 0] = np.nan
    with pytest.raises(DataError, match="must be finite"):
        cluster_customers(features, k_range=[2])


# --- profiles ---------------------------------------------------------------------------------


def test_segment_profiles_are_hand_computed_and_sorted_by_revenue():
    segments = pd.Series({"a": "big", "b": "small", "c": "small"})
    profiles = segment_profiles(segments, _transactions())
    assert profiles.index.tolist() == ["big", "small"]
    big, small = profiles.loc["big"], profiles.loc["small"]
    assert big["customers"] == 1 and small["customers"] == 2
    assert big["revenue"] == 100.0 and small["revenue"] == 65.0
    assert big["revenue_share"] == pytest.approx(100 / 165)
    assert big["avg_order_value"] == 50.0
    # b has 1 order (its refund day is no purchase), c has 1: 65 / 2
    assert small["avg_order_value"] == pytest.approx(65 / 2)
    assert big["top_categories"] == "food 90%, toys 10%"
    assert small["top_channels"] == "store 71%, web 29%"


def test_segment_profiles_add_clv_churn_and_nps_when_given():
    segments = pd.DataFrame({"segment": ["big", "small", "small"]}, index=["a", "b", "c"])
    clv = pd.Series({"a": 300.0, "b": 50.0, "c": 50.0})
    churn = pd.DataFrame({"churn_probability": [0.1, 0.5, 0.7]}, index=["a", "b", "c"])
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c"],
            "score": [10, 9, 3, 7],
            "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-01-01", "2024-01-02"]),
        }
    )
    profiles = segment_profiles(
        segments, _transactions(), clv=clv, churn_probability=churn, nps_scores=surveys
    )
    assert profiles.loc["big", "clv_share"] == pytest.approx(0.75)
    assert profiles.loc["small", "clv_mean"] == 50.0
    assert profiles.loc["small", "churn_probability"] == pytest.approx(0.6)
    # Each customer counts once, with their latest answer (b: the 9 of March, not the 3 of
    # January, though the 3 comes later in the table): small = one promoter, one passive -> 50;
    # big: one promoter -> 100.
    assert profiles.loc["small", "nps"] == pytest.approx(50.0)
    assert profiles.loc["big", "nps"] == 100.0
    assert profiles.loc["small", "nps_responses"] == 2


def test_format_profiles_shows_money_with_currency_and_shares_as_percent():
    profiles = segment_profiles(
        pd.Series({"a": "big", "b": "small", "c": "small"}), _transactions()
    )
    html = format_profiles(profiles, currency="USD").to_html()
    assert "USD 100" in html and "60.6%" in html


# --- on the demo client -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_segments(small_demo):
    from cxlib.clv import rfm_summary

    summary = rfm_summary(small_demo.transactions)
    features = customer_features(small_demo.transactions, summary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rfm = rfm_segments(summary)
    clusters = cluster_customers(features, seed=0)
    truth = small_demo.truth.customers.set_index("customer_id").loc[features.index]
    return summary, rfm, clusters, truth


def test_every_demo_customer_has_one_rfm_segment_and_one_named_cluster(demo_segments):
    summary, rfm, clusters, _ = demo_segments
    assert rfm.index.equals(summary.index) and rfm["segment"].isin(ELEVEN).all()
    assert clusters.assignments.index.equals(summary.index)
    assert clusters.assignments["segment"].notna().all()
    names = clusters.names.tolist()
    assert len(set(names)) == len(names) == clusters.n_clusters
    assert not any(name.lower().startswith(("cluster", "typical")) for name in names)


def test_clusters_recover_the_demo_latent_segments_far_better_than_rfm(demo_segments):
    # Adjusted Rand index against the generator's five latent segments. Measured 0.34 on this
    # 3,000-customer demo (0.34-0.37 over seeds 0-2; 0.35-0.38 on the 20,000-customer demo).
    # Features come from the customer base since issue 10 (frequency counts purchase days, not
    # purchase weeks): before, 0.37 here and 0.32-0.37 over seeds 0-2, so within seed noise.
    # The latent segments overlap by construction (Gamma purchase rates and category mixes
    # that share most categories), so a perfect recovery is impossible; the RFM map, which
    # ignores what and where customers buy, scores 0.02 and a clustering that down-weights the
    # mix (share_weight=0.5) 0.04 (0.30 with share_weight=1). A threshold of 0.25 fails the
    # first two, with room for seeds.
    from sklearn.metrics import adjusted_rand_score

    _, rfm, clusters, truth = demo_segments
    ari = adjusted_rand_score(truth["segment"], clusters.assignments["segment"])
    rfm_ari = adjusted_rand_score(truth["segment"], rfm["segment"])
    assert ari >= 0.25
    assert ari >= rfm_ari + 0.2


def test_the_most_valuable_cluster_is_mostly_the_premium_latent_segment(demo_segments):
    _, _, clusters, truth = demo_segments
    top = clusters.assignments["cluster"] == 0
    assert truth.loc[top, "segment"].value_counts(normalize=True).index[0] == "Premium loyalists"


# --- figures ----------------------------------------------------------------------------------


def test_segment_map_and_profile_figures_draw_on_a_given_axes(demo_segments, small_demo):
    import matplotlib.pyplot as plt

    from cxlib import plots
    from cxlib.segmentation import rfm_grid

    _, rfm, clusters, _ = demo_segments
    grid = rfm_grid(rfm)
    assert len(grid) == 25 and grid["customers"].sum() == len(rfm)
    _, axes = plt.subplots(1, 3)
    assert plots.plot_segment_map(grid, ax=axes[0]) is axes[0]
    profiles = segment_profiles(clusters.assignments, small_demo.transactions)
    assert plots.plot_segment_sizes_vs_value(profiles, ax=axes[1]) is axes[1]
    assert len(axes[1].patches) == 2 * len(profiles)
    assert plots.plot_cluster_profiles(clusters.standardised, ax=axes[2]) is axes[2]


# --- headline numbers -------------------------------------------------------------------------


def _headline_inputs():
    profiles = pd.DataFrame(
        {
            "revenue": [100.0, 300.0, 600.0],
            "revenue_share": [0.1, 0.3, 0.6],
            "customer_share": [0.5, 0.3, 0.2],
        },
        index=pd.Index(["small", "mid", "big"], name="segment"),
    )
    rfm_profiles = pd.DataFrame(
        {"revenue_share": [0.55, 0.45]}, index=pd.Index(["Champions", "Lost"], name="segment")
    )
    wallet = pd.DataFrame(
        {
            "spend": [500.0, -20.0, 100.0],
            "wallet": [800.0, 180.0, 400.0],
            "headroom": [300.0, 200.0, 300.0],
            "headroom_share": [0.375, 0.25, 0.375],
        },
        index=pd.Index(["big", "small", "mid"], name="segment"),
    )
    return profiles, rfm_profiles, wallet


def test_segmentation_headlines_are_hand_computed_whatever_the_row_order():
    profiles, rfm_profiles, wallet = _headline_inputs()
    headlines = segmentation_headlines(profiles, rfm_profiles, wallet, 3)
    assert all(isinstance(h, Headline) for h in headlines)
    values = {h.key: h.value for h in headlines}
    assert list(values) == [
        "n_clusters",
        "top_segment",
        "top_segment_revenue_share",
        "top2_revenue_share",
        "share_of_wallet",
        "total_headroom",
        "most_headroom_segment",
        "champions_revenue_share",
    ]
    assert values["n_clusters"] == 3 and values["top_segment"] == "big"
    assert values["top_segment_revenue_share"] == 0.6
    assert values["top2_revenue_share"] == pytest.approx(0.9)
    # net refunds (negative spend) do not reduce the captured share: (500 + 0 + 100) / 1380
    assert values["share_of_wallet"] == pytest.approx(600 / 1380)
    assert values["total_headroom"] == 800.0
    # big and mid tie on headroom: the name breaks the tie, so the result is reproducible
    assert values["most_headroom_segment"] == "big"
    assert values["champions_revenue_share"] == 0.55
    notes = {h.key: h.note for h in headlines}
    assert notes["top_segment_revenue_share"] == "20% of customers"
    assert notes["most_headroom_segment"] == "38% of all headroom"


def test_segmentation_headline_money_labels_name_their_basis():
    headlines = {h.key: h for h in segmentation_headlines(*_headline_inputs(), 3)}
    assert headlines["total_headroom"].unit == "currency"
    assert "annual" in headlines["total_headroom"].label.lower()
    assert "trailing 12-month net revenue" in headlines["total_headroom"].note
    for key in ("top_segment_revenue_share", "top2_revenue_share", "champions_revenue_share"):
        assert "net revenue (all history)" in headlines[key].label
    assert "'big'" in headlines["top_segment_revenue_share"].label


def test_segmentation_headlines_without_champions_report_a_zero_share():
    profiles, _, wallet = _headline_inputs()
    rfm_profiles = pd.DataFrame({"revenue_share": [1.0]}, index=["Lost"])
    values = {h.key: h.value for h in segmentation_headlines(profiles, rfm_profiles, wallet, 3)}
    assert values["champions_revenue_share"] == 0.0


def test_segmentation_headlines_refuse_missing_columns_and_empty_tables():
    profiles, rfm_profiles, wallet = _headline_inputs()
    with pytest.raises(DataError, match=r"segmentation_headlines: missing column\(s\) \['headroom"):
        segmentation_headlines(profiles, rfm_profiles, wallet.drop(columns="headroom"), 3)
    with pytest.raises(ValueError, match="'profiles' parameter of segmentation_headlines"):
        segmentation_headlines(profiles.iloc[:0], rfm_profiles, wallet, 3)


def test_demo_headlines_agree_with_the_profiles_they_summarise(demo_segments, small_demo):
    from cxlib.segmentation.wallet import estimate_wallet, wallet_by_segment

    _, rfm, clusters, _ = demo_segments
    tx = small_demo.transactions
    base = customer_base(tx)
    profiles = segment_profiles(clusters.assignments, tx, base=base)
    rfm_profiles = segment_profiles(rfm, tx, base=base)
    wallet = wallet_by_segment(
        estimate_wallet(tx, base=base, by_category=False, cv=None), clusters.assignments
    )
    values = {
        h.key: h.value
        for h in segmentation_headlines(profiles, rfm_profiles, wallet, clusters.n_clusters)
    }
    # the clusters' revenue adds up to the base's: one definition of revenue on the page
    assert profiles["revenue"].sum() == pytest.approx(base["revenue"].sum())
    assert values["top_segment"] == clusters.names.iloc[0]  # cluster 0 = highest mean spend
    assert 0 < values["share_of_wallet"] < 1 and values["total_headroom"] > 0
    assert values["champions_revenue_share"] == pytest.approx(
        base["revenue"][rfm["segment"] == "Champions"].sum() / base["revenue"].sum()
    )


def test_on_the_demo_no_active_sounding_rfm_segment_holds_a_customer_beyond_the_churn_threshold(
    small_demo,
):
    from cxlib.churn import inactivity_threshold

    base = customer_base(small_demo.transactions)
    threshold = inactivity_threshold(small_demo.transactions).days
    segments = rfm_segments(base, threshold_days=threshold)["segment"]
    lapsed = base["days_since_last"] > threshold
    assert lapsed.mean() > 0.3  # the demo has many lapsed customers: the case that matters
    named_active = segments.isin(["At Risk", "Cannot Lose Them", "Champions", "Loyal"])
    assert not (named_active & lapsed).any()
    assert segments[lapsed].isin(["Hibernating", "Lost"]).all()
