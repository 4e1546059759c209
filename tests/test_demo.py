from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal
from typer.testing import CliRunner

from cxlib.cli import app
from cxlib.demo import (
    DEFAULT_SEGMENTS,
    DEFAULT_THEMES,
    HOLDOUT_END,
    HOLDOUT_START,
    OBSERVATION_END,
    START,
    make_demo,
    read_demo,
)

FRAMES = ("transactions", "customers", "surveys", "feedback", "experiments")


def _kind(dtype) -> str:
    """The dtype's name, with every string dtype as "str" and datetimes without their resolution.

    pandas 2 stores text as object and dates as datetime64[ns]; pandas 3 has a str dtype and
    keeps the resolution it parsed (often datetime64[us]). The demo's contract is the kind.
    """
    if pd.api.types.is_string_dtype(dtype):
        return "str"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "datetime64"
    return str(dtype)


def _ns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its datetime columns in nanoseconds, to compare values across resolutions."""
    return frame.astype({c: "datetime64[ns]" for c in frame.select_dtypes("datetime").columns})


@pytest.fixture(scope="module")
def demo():
    return make_demo(n_customers=2_000, seed=11)


@pytest.fixture(scope="module")
def truth(demo):
    return demo.truth.customers.set_index("customer_id")


def _all_frames(d):
    return {
        **{name: getattr(d, name) for name in FRAMES},
        "truth_customers": d.truth.customers,
        "future_transactions": d.truth.future_transactions,
    }


# --- reproducibility --------------------------------------------------------------------------


def test_the_same_seed_gives_identical_frames_and_truth(demo):
    again = make_demo(n_customers=2_000, seed=11)
    for name, frame in _all_frames(demo).items():
        assert_frame_equal(frame, _all_frames(again)[name], obj=name)
    assert_series_equal(demo.truth.feedback_themes, again.truth.feedback_themes)
    assert demo.truth.params == again.truth.params


def test_a_different_seed_gives_different_data(demo):
    other = make_demo(n_customers=2_000, seed=12)
    for name in ("transactions", "surveys", "feedback"):
        assert not getattr(demo, name).equals(getattr(other, name)), name
    assert not demo.truth.customers["satisfaction"].equals(other.truth.customers["satisfaction"])


@pytest.mark.parametrize("bad", [0, -5, 2.5, "100", True])
def test_n_customers_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="The 'n_customers' parameter of make_demo must be"):
        make_demo(n_customers=bad)


def test_seed_must_be_a_non_negative_integer():
    with pytest.raises(ValueError, match="The 'seed' parameter of make_demo must be"):
        make_demo(n_customers=10, seed=-1)


# --- schema -------------------------------------------------------------------------------------


def test_every_frame_has_the_documented_columns_and_dtypes(demo):
    expected = {
        "transactions": {
            "customer_id": "str",
            "date": "datetime64",
            "amount": "float64",
            "order_id": "int64",
            "category": "str",
            "channel": "str",
        },
        "customers": {
            "customer_id": "str",
            "signup_date": "datetime64",
            "acquisition_channel": "str",
            "acquisition_cost": "float64",
            "region": "str",
            "age_band": "str",
        },
        "surveys": {
            "customer_id": "str",
            "date": "datetime64",
            "score": "int64",
            "comment": "str",
        },
        "feedback": {
            "customer_id": "str",
            "date": "datetime64",
            "text": "str",
            "channel": "str",
        },
    }
    for name, columns in expected.items():
        frame = getattr(demo, name)
        assert {c: _kind(t) for c, t in frame.dtypes.items()} == columns, name
    future = demo.truth.future_transactions
    assert future.dtypes.equals(demo.transactions.dtypes)


def test_truth_customers_has_every_contracted_field(demo):
    required = {
        "customer_id": "str",
        "segment": "str",
        "purchase_rate": "float64",
        "dropout_probability": "float64",
        "satisfaction": "float64",
        "wallet": "float64",
        "share_of_wallet": "float64",
        "complaint_theme": "str",
        "alive_at_end": "bool",
        "dropout_date": "datetime64",
    }
    dtypes = {c: _kind(t) for c, t in demo.truth.customers.dtypes.items()}
    assert {c: dtypes.get(c) for c in required} == required
    assert demo.truth.customers["customer_id"].tolist() == demo.customers["customer_id"].tolist()
    assert demo.truth.customers["customer_id"].is_unique
    assert set(demo.truth.customers["segment"]) == set(DEFAULT_SEGMENTS)


def test_truth_dates_and_params_are_recorded(demo):
    truth = demo.truth
    assert (truth.observation_end, truth.holdout_start, truth.holdout_end) == (
        pd.Timestamp("2025-12-31"),
        pd.Timestamp("2026-01-01"),
        pd.Timestamp("2026-06-30"),
    )
    params = json.loads(json.dumps(truth.params))  # JSON-ready
    assert params["seed"] == 11 and params["n_customers"] == 2_000
    for segment in DEFAULT_SEGMENTS:
        assert {"share", "r", "alpha", "a", "b", "p", "q", "v"} <= set(params["segments"][segment])
        assert "satisfaction_dropout_slope" in params["segments"][segment]
    assert set(params["themes"]) == set(DEFAULT_THEMES)
    assert "satisfaction_spend_slope" in params["settings"]


def test_dates_are_whole_days_in_their_windows(demo):
    tx, future = demo.transactions, demo.truth.future_transactions
    for frame in (tx, future, demo.surveys, demo.feedback):
        assert (frame["date"] == frame["date"].dt.normalize()).all()
    assert tx["date"].min() >= START and tx["date"].max() <= OBSERVATION_END
    assert future["date"].min() >= HOLDOUT_START and future["date"].max() <= HOLDOUT_END
    assert demo.customers["signup_date"].between(START, OBSERVATION_END).all()


# --- truth consistency --------------------------------------------------------------------------


def test_every_transaction_survey_and_feedback_belongs_to_a_known_customer(demo):
    known = set(demo.customers["customer_id"])
    for frame in (demo.transactions, demo.truth.future_transactions, demo.surveys, demo.feedback):
        assert set(frame["customer_id"]) <= known


def test_every_customer_buys_first_on_the_signup_day(demo):
    first = demo.transactions.groupby("customer_id")["date"].min()
    signup = demo.customers.set_index("customer_id")["signup_date"]
    assert first.reindex(signup.index).equals(signup)


def test_customers_order_at_most_once_a_day(demo):
    orders = pd.concat([demo.transactions, demo.truth.future_transactions])
    orders = orders[orders["amount"] > 0]
    assert not orders.duplicated(["customer_id", "date"]).any()
    assert orders["order_id"].is_unique


def test_customers_dead_at_the_end_have_no_future_transactions(demo, truth):
    dead = truth.index[~truth["alive_at_end"]]
    assert len(dead) > 0
    assert not demo.truth.future_transactions["customer_id"].isin(dead).any()


def test_dropout_date_is_the_last_purchase_and_nat_for_customers_still_alive(demo, truth):
    orders = pd.concat([demo.transactions, demo.truth.future_transactions])
    last = orders[orders["amount"] > 0].groupby("customer_id")["date"].max()
    gone = truth[~truth["alive_at_holdout_end"]]
    assert (gone["dropout_date"] == last.reindex(gone.index)).all()
    assert truth.loc[truth["alive_at_holdout_end"], "dropout_date"].isna().all()
    dead_at_end = truth["dropout_date"] <= OBSERVATION_END
    assert (dead_at_end == ~truth["alive_at_end"]).all()


def test_refunds_follow_their_order_and_never_exceed_it(demo):
    tx = pd.concat([demo.transactions, demo.truth.future_transactions])
    refunds = tx[tx["amount"] < 0]
    orders = tx[tx["amount"] > 0].set_index("order_id")
    assert len(refunds) > 0
    matched = orders.loc[refunds["order_id"]]
    assert (matched["customer_id"].to_numpy() == refunds["customer_id"].to_numpy()).all()
    assert (refunds["date"].to_numpy() > matched["date"].to_numpy()).all()
    assert (-refunds["amount"].to_numpy() <= matched["amount"].to_numpy() + 1e-9).all()


def test_survey_scores_are_integers_from_0_to_10(demo):
    scores = demo.surveys["score"]
    assert scores.dtype == np.int64
    assert scores.between(0, 10).all()
    assert scores.nunique() >= 8


def test_surveys_and_feedback_are_dated_within_the_customers_active_life(demo, truth):
    end = truth["dropout_date"].where(~truth["alive_at_end"], OBSERVATION_END)
    signup = demo.customers.set_index("customer_id")["signup_date"]
    for frame in (demo.surveys, demo.feedback):
        ids = frame["customer_id"]
        assert (frame["date"].to_numpy() >= signup.loc[ids].to_numpy()).all()
        assert (frame["date"].to_numpy() <= end.loc[ids].to_numpy()).all()


def test_feedback_themes_are_aligned_with_feedback_rows(demo, truth):
    themes = demo.truth.feedback_themes
    assert themes.index.equals(demo.feedback.index)
    assert set(themes) <= set(DEFAULT_THEMES) | {"positive"}
    complaint = themes != "positive"
    writer_theme = truth.loc[demo.feedback["customer_id"], "complaint_theme"].to_numpy()
    assert (writer_theme[complaint.to_numpy()] == themes[complaint].to_numpy()).all()
    # praise comes from customers without a complaint theme
    assert pd.isna(writer_theme[~complaint.to_numpy()]).all()


def test_wallet_times_share_is_the_expected_annual_spend(truth):
    np.testing.assert_allclose(
        truth["wallet"] * truth["share_of_wallet"], truth["expected_annual_spend"], rtol=1e-9
    )
    assert truth["share_of_wallet"].between(0, 1).all()


def test_observed_spend_tracks_the_expected_spend(demo, truth):
    # Customers acquired in the first half of 2023 and alive at the end: their observed yearly
    # revenue should follow the true expected annual spend.
    signup = demo.customers.set_index("customer_id")["signup_date"]
    early = truth["alive_at_end"] & (signup < pd.Timestamp("2023-07-01"))
    years = (OBSERVATION_END - signup[early]).dt.days / 365.25
    revenue = demo.transactions.groupby("customer_id")["amount"].sum().reindex(years.index)
    yearly = revenue.fillna(0) / years
    expected = truth.loc[years.index, "expected_annual_spend"]
    assert np.corrcoef(np.log1p(yearly), np.log1p(expected))[0, 1] > 0.85


# --- designed relations -------------------------------------------------------------------------


def test_the_most_valuable_segment_does_not_have_the_highest_nps(small_demo):
    truth = small_demo.truth.customers.set_index("customer_id")
    revenue = small_demo.transactions.groupby("customer_id")["amount"].sum()
    value = revenue.groupby(truth["segment"]).mean()
    surveys = small_demo.surveys.assign(
        segment=truth.loc[small_demo.surveys["customer_id"], "segment"].to_numpy()
    )
    by_segment = surveys.groupby("segment")["score"]
    nps = 100 * (by_segment.apply(lambda s: (s >= 9).mean() - (s <= 6).mean()))
    assert value.idxmax() == "Premium loyalists"
    assert nps.idxmax() != value.idxmax()
    assert nps.max() - nps.min() > 50  # segments really differ in NPS


def test_low_satisfaction_customers_churn_more(small_demo):
    truth = small_demo.truth.customers
    low = truth["satisfaction"] < truth["satisfaction"].quantile(0.25)
    high = truth["satisfaction"] > truth["satisfaction"].quantile(0.75)
    churn = ~truth["alive_at_end"]
    assert churn[low].mean() > churn[high].mean() + 0.2


def test_satisfaction_moves_churn_less_in_the_most_valuable_segment(small_demo):
    truth = small_demo.truth.customers

    def churn_gap(segment):
        group = truth[truth["segment"] == segment]
        unhappy = group["satisfaction"] < group["satisfaction"].median()
        churn = ~group["alive_at_end"]
        return churn[unhappy].mean() - churn[~unhappy].mean()

    assert churn_gap("Digital newcomers") > churn_gap("Premium loyalists") + 0.1
    assert churn_gap("Bargain regulars") > churn_gap("Premium loyalists") + 0.1


def test_complainers_churn_more(small_demo):
    truth = small_demo.truth.customers
    complained = truth["complaint_theme"].notna()
    churn = ~truth["alive_at_end"]
    assert 0.05 < complained.mean() < 0.4
    assert churn[complained].mean() > churn[~complained].mean() + 0.1


def test_each_complaint_theme_raises_churn_by_its_own_amount():
    # 20,000 customers (the default demo size, ~1 s) for enough complainers per theme.
    truth = make_demo(n_customers=20_000, seed=42).truth.customers
    churn = (~truth["alive_at_end"]).groupby(truth["complaint_theme"].fillna("none")).mean()
    assert (
        DEFAULT_THEMES["refund_hassle"]["dropout_effect"]
        > DEFAULT_THEMES["app_problems"]["dropout_effect"]
    )
    assert churn["refund_hassle"] > churn["app_problems"] + 0.05
    assert churn["app_problems"] > churn["none"] + 0.05


def test_refunds_are_about_three_percent_of_rows(small_demo):
    share = (small_demo.transactions["amount"] < 0).mean()
    assert 0.015 < share < 0.06


def test_active_customers_answer_surveys_more_often(small_demo):
    revenue = small_demo.transactions.groupby("customer_id")["amount"].sum()
    answered = revenue.index.isin(small_demo.surveys["customer_id"])
    assert 0.15 < answered.mean() < 0.35
    assert revenue[answered].mean() > 1.2 * revenue[~answered].mean()


def test_segments_buy_different_categories(small_demo):
    truth = small_demo.truth.customers.set_index("customer_id")
    tx = small_demo.transactions
    segment = truth.loc[tx["customer_id"], "segment"].to_numpy()
    top = pd.crosstab(segment, tx["category"]).idxmax(axis=1)
    assert top["Bargain regulars"] == "groceries"
    assert top["Occasional gifters"] == "toys"


def test_feedback_texts_vary_and_are_not_labelled(small_demo):
    feedback = small_demo.feedback
    assert "topic" not in feedback.columns
    assert feedback["text"].nunique() > 0.8 * len(feedback)
    assert feedback["text"].str.len().between(20, 400).all()


# --- writing ------------------------------------------------------------------------------------


def test_write_produces_readable_files_and_a_complete_marker_last(demo, tmp_path):
    out = demo.write(tmp_path / "demo")
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        ".complete",
        "transactions.csv.gz",
        "customers.csv",
        "surveys.csv",
        "feedback.csv",
        "experiments.csv",
        "truth/customers.parquet",
        "truth/future_transactions.parquet",
        "truth/feedback_themes.csv",
        "truth/params.json",
    }
    assert (out / ".complete").stat().st_size == 0
    assert not [p for p in tmp_path.iterdir() if p.name != "demo"]  # no temp folder left
    first_line = (out / "surveys.csv").read_text().splitlines()[1]
    assert first_line.split(",")[1] == demo.surveys["date"].iloc[0].strftime("%Y-%m-%d")
    back = read_demo(out)
    assert_frame_equal(_ns(back.transactions), _ns(demo.transactions))
    assert_frame_equal(_ns(back.customers), _ns(demo.customers))
    assert_frame_equal(_ns(back.feedback), _ns(demo.feedback))
    assert_frame_equal(_ns(back.experiments), _ns(demo.experiments))
    assert back.surveys["score"].equals(demo.surveys["score"])
    assert_frame_equal(_ns(back.truth.customers), _ns(demo.truth.customers))
    assert_frame_equal(_ns(back.truth.future_transactions), _ns(demo.truth.future_transactions))
    assert back.truth.feedback_themes.tolist() == demo.truth.feedback_themes.tolist()
    assert back.truth.params == json.loads(json.dumps(demo.truth.params))


def test_write_replaces_an_existing_folder(demo, tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    demo.write(out)
    assert not (out / "stale.txt").exists()
    assert (out / ".complete").exists()


def test_read_demo_refuses_a_folder_without_the_complete_marker(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .complete marker"):
        read_demo(tmp_path)


def test_the_demo_command_writes_the_folder(tmp_path):
    out = tmp_path / "cli_demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--n-customers", "300"])
    assert result.exit_code == 0, result.output
    assert (out / ".complete").exists()
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == 300


# --- overrides ----------------------------------------------------------------------------------


def test_overrides_change_one_value_and_are_recorded_in_the_params():
    demo = make_demo(
        n_customers=500,
        seed=3,
        settings={"survey_response_rate": 0.0, "refund_rate": 0.0},
        themes={name: {"refund_rate": 0.0} for name in DEFAULT_THEMES},
        segments={"Premium loyalists": {"satisfaction_dropout_slope": 0.9}},
    )
    assert demo.surveys.empty and list(demo.surveys.columns) == [
        "customer_id",
        "date",
        "score",
        "comment",
    ]
    assert (demo.transactions["amount"] > 0).all()
    params = demo.truth.params
    assert params["settings"]["survey_response_rate"] == 0.0
    assert params["segments"]["Premium loyalists"]["satisfaction_dropout_slope"] == 0.9
    premium = DEFAULT_SEGMENTS["Premium loyalists"]
    assert params["segments"]["Premium loyalists"]["r"] == premium["r"]
    assert DEFAULT_SEGMENTS["Premium loyalists"]["satisfaction_dropout_slope"] == 0.1  # untouched


def test_overrides_with_unknown_names_or_keys_are_rejected():
    with pytest.raises(
        ValueError,
        match=r"'segments' parameter of make_demo must be a dict whose names are in .*"
        r"Got names \['Whales'\] instead",
    ):
        make_demo(n_customers=10, segments={"Whales": {"r": 1.0}})
    with pytest.raises(
        ValueError, match=r"The 'settings' parameter of make_demo must be a dict whose keys are in"
    ):
        make_demo(n_customers=10, settings={"refund_rte": 0.1})
    with pytest.raises(ValueError, match=r"must be a dict or None"):
        make_demo(n_customers=10, themes=["late_delivery"])


def test_a_single_customer_is_enough():
    demo = make_demo(n_customers=1, seed=0)
    assert len(demo.customers) == 1
    assert len(demo.transactions) >= 1


def test_pooled_params_are_close_to_a_bgnbd_fitted_on_the_data(small_demo):
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    tx = small_demo.transactions
    orders = tx[tx["amount"] > 0]
    summary = summary_data_from_transaction_data(
        orders, "customer_id", "date", observation_period_end=OBSERVATION_END, freq="D"
    )
    weeks = summary[["recency", "T"]] / 7
    fitted = BetaGeoFitter().fit(summary["frequency"], weeks["recency"], weeks["T"]).params_
    pooled = small_demo.truth.params["pooled"]
    # r and alpha are pinned down by 3,000 purchase histories; a and b rest on far fewer
    # observed dropouts, so they get a wider tolerance.
    for name, rel in (("r", 0.1), ("alpha", 0.1), ("a", 0.25), ("b", 0.25)):
        assert fitted[name] == pytest.approx(pooled[name], rel=rel), name


def test_category_wallets_add_up_and_cover_the_expected_spend_in_each_category(truth):
    categories = ["groceries", "electronics", "home", "fashion", "beauty", "toys"]
    by_category = truth[[f"wallet_{c}" for c in categories]]
    np.testing.assert_allclose(by_category.sum(axis=1), truth["wallet"], rtol=1e-9)
    mix = pd.DataFrame(
        {s: DEFAULT_SEGMENTS[s]["categories"] for s in DEFAULT_SEGMENTS}, index=by_category.columns
    ).T
    expected = mix.loc[truth["segment"]].to_numpy() * truth[["expected_annual_spend"]].to_numpy()
    assert (by_category.to_numpy() >= expected * (1 - 1e-9)).all()


def test_gifters_leave_most_of_their_grocery_wallet_to_others(truth):
    gifters = truth[truth["segment"] == "Occasional gifters"]
    mix = DEFAULT_SEGMENTS["Occasional gifters"]["categories"]
    share_groceries = (gifters["expected_annual_spend"] * mix[0]).sum() / gifters[
        "wallet_groceries"
    ].sum()
    share_toys = (gifters["expected_annual_spend"] * mix[5]).sum() / gifters["wallet_toys"].sum()
    assert share_groceries < 0.5 * share_toys


def test_without_dropout_repeat_purchases_follow_the_true_poisson_rates():
    # No dropout and low rates (few same-day collisions): the count of repeat orders up to
    # the holdout end must match sum(rate x weeks since acquisition) up to Poisson noise (~1%).
    no_dropout = {"a": 0.01, "b": 1e6, "r": 1.0, "alpha": 20.0}
    demo = make_demo(n_customers=2_000, seed=5, segments={s: no_dropout for s in DEFAULT_SEGMENTS})
    truth = demo.truth.customers.set_index("customer_id")
    assert truth["alive_at_holdout_end"].all()
    orders = pd.concat([demo.transactions, demo.truth.future_transactions])
    repeat_orders = (orders["amount"] > 0).sum() - len(truth)
    signup = demo.customers.set_index("customer_id")["signup_date"]
    weeks = ((HOLDOUT_END - signup).dt.days + 1) / 7
    expected = (truth["purchase_rate"] * weeks.reindex(truth.index)).sum()
    assert repeat_orders == pytest.approx(expected, rel=0.04)


def test_complaints_come_later_in_the_active_life_than_praise(demo, truth):
    signup = demo.customers.set_index("customer_id")["signup_date"]
    end = truth["dropout_date"].where(~truth["alive_at_end"], OBSERVATION_END)
    ids = demo.feedback["customer_id"]
    life = (end.loc[ids] - signup.loc[ids]).dt.days.to_numpy() + 1
    position = (
        (demo.feedback["date"].to_numpy() - signup.loc[ids].to_numpy())
        / np.timedelta64(1, "D")
        / life
    )
    praise = (demo.truth.feedback_themes == "positive").to_numpy()
    assert position[~praise].mean() > position[praise].mean() + 0.1


def test_the_seeded_experiment_adds_coupon_orders_in_its_window_and_records_their_value(demo):
    truth = demo.truth.params["experiment"]
    assignments = demo.experiments
    start = pd.Timestamp(truth["start"])
    end = start + pd.Timedelta(days=truth["duration_days"] - 1)
    assert set(assignments.columns) == {"customer_id", "experiment", "group", "start", "end"}
    assert set(assignments["group"]) == {"control", "coupon"}
    assert (assignments["end"] == end).all() and assignments["customer_id"].is_unique
    # eligible: an order in the 365 days before the start
    tx = demo.transactions
    recent = tx[
        (tx["amount"] > 0) & (tx["date"] < start) & (tx["date"] >= start - pd.Timedelta(days=365))
    ]
    assert set(assignments["customer_id"]) == set(recent["customer_id"])
    # simulated order ids grow with the date, so the holdout's are the highest; the coupon's
    # extra orders come after them
    extra = tx[tx["order_id"] > demo.truth.future_transactions["order_id"].max()]
    coupon = set(assignments.loc[assignments["group"] == "coupon", "customer_id"])
    assert len(extra) > 0 and set(extra["customer_id"]) <= coupon
    assert extra["date"].between(start, end).all()
    n_coupon = truth["n_assigned"]["coupon"]
    assert truth["revenue_effect"]["coupon"] == pytest.approx(extra["amount"].sum() / n_coupon)
    assert truth["revenue_effect"]["control"] == 0.0
