"""Tests for cxlib.clv: RFM summaries, purchase and spend models, CLV and its validation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data
from pandas.testing import assert_frame_equal

from cxlib import DataError
from cxlib.clv import (
    PurchaseModel,
    SpendModel,
    customer_value,
    default_calibration_end,
    fit_customer_value,
    holdout_summary,
    lower_dropout,
    retention_scenario,
    rfm_matrix,
    rfm_summary,
    segment_value,
    select_model,
    top_share,
    tracking,
    validate_holdout,
    value_concentration,
)
from cxlib.datasets import load_cdnow_summary

# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _tx(rows):
    """Transactions from (customer_id, date, amount) tuples."""
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["amount"] = frame["amount"].astype(float)
    return frame


def _random_transactions(seed, *, n_customers=300, n_rows=3_000, refunds=False):
    rng = np.random.default_rng(seed)
    start = np.datetime64("2021-01-01")
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in rng.integers(0, n_customers, n_rows)],
            "date": start + rng.integers(0, 730, n_rows).astype("timedelta64[D]"),
            "amount": rng.gamma(2.0, 20.0, n_rows).round(2),
        }
    )
    frame["date"] = frame["date"].astype("datetime64[ns]")
    if refunds:
        # Refunds of any size on random days: some periods end up net negative or zero.
        refund = rng.random(n_rows) < 0.15
        frame.loc[refund, "amount"] = -frame.loc[refund, "amount"] * rng.uniform(0.2, 2.0)
    return frame


def _lifetimes_summary(transactions, **kwargs):
    out = summary_data_from_transaction_data(
        transactions, "customer_id", "date", monetary_value_col="amount", **kwargs
    )
    out.index.name = "customer_id"
    return out


def _drop_nonpositive_periods(transactions, freq):
    """The naive pandas rule: remove every row of a customer-period whose net spend is <= 0."""
    period = transactions["date"].dt.to_period(freq)
    net = transactions.groupby([transactions["customer_id"], period])["amount"].transform("sum")
    return transactions[net > 0]


# ------------------------------------------------------------------------------------------------
# rfm_summary: hand-computed cases
# ------------------------------------------------------------------------------------------------


def test_rfm_summary_merges_purchases_in_the_same_week_and_counts_only_repeats():
    tx = _tx(
        [
            ("a", "2024-01-01", 10),  # Monday, week 0: first purchase
            ("a", "2024-01-07", 5),  # Sunday, same week: merged into the first purchase
            ("a", "2024-01-15", 20),  # week 2
            ("a", "2024-01-17", 4),  # week 2: merged -> 24
            ("b", "2024-01-08", 8),  # week 1, only purchase
        ]
    )
    got = rfm_summary(tx, freq="W", observation_end="2024-01-29")
    expected = pd.DataFrame(
        {
            "frequency": [1.0, 0.0],
            "recency": [2.0, 0.0],
            "T": [4.0, 3.0],
            "monetary_value": [24.0, 0.0],
        },
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    assert_frame_equal(got, expected)


def test_rfm_summary_nets_refunds_within_a_period_and_ignores_non_positive_periods():
    tx = _tx(
        [
            ("a", "2024-01-01", 10),
            ("a", "2024-01-03", 30),
            ("a", "2024-01-04", -30),  # same day-period as nothing else: day 3 nets to -30
            ("a", "2024-01-05", 50),
            ("a", "2024-01-05", -20),  # netted: day 4 spends 30
            ("a", "2024-01-09", 7),
            ("a", "2024-01-09", -7),  # nets to zero: not a purchase, recency stays at day 4
        ]
    )
    got = rfm_summary(tx, freq="D", observation_end="2024-01-10")
    # purchases on days 0 (10), 2 (30), 4 (30): two repeats with mean 30; day 3 and 8 dropped.
    assert got.loc["a"].tolist() == [2.0, 4.0, 9.0, 30.0]


def test_rfm_summary_counts_and_warns_about_customers_with_only_refunds():
    tx = _tx([("a", "2024-01-01", 10), ("b", "2024-01-02", -5), ("c", "2024-01-03", 0)])
    with pytest.warns(UserWarning, match=r"2 customer\(s\) have no period with positive net"):
        got = rfm_summary(tx, freq="D")
    assert got.index.tolist() == ["a"]
    assert got.attrs["customers_without_purchase"] == 2


def test_rfm_summary_counts_months_between_calendar_months():
    tx = _tx([("a", "2024-01-31", 10), ("a", "2024-02-01", 10), ("a", "2024-04-15", 4)])
    got = rfm_summary(tx, freq="M", observation_end="2024-06-30")
    assert got.loc["a"].tolist() == [2.0, 3.0, 5.0, 7.0]


def test_rfm_summary_ignores_transactions_after_observation_end():
    tx = _tx([("a", "2024-01-01", 10), ("a", "2024-01-03", 10), ("a", "2024-01-05", 10)])
    got = rfm_summary(tx, freq="W", observation_end="2024-01-03")  # a Wednesday
    assert got.loc["a"].tolist() == [0.0, 0.0, 0.0, 0.0]
    got = rfm_summary(tx, freq="D", observation_end="2024-01-03")
    assert got.loc["a"].tolist() == [1.0, 2.0, 2.0, 10.0]


def test_rfm_summary_holdout_columns_by_hand():
    tx = _tx(
        [
            ("a", "2024-01-01", 10),
            ("a", "2024-01-10", 20),
            ("a", "2024-01-20", 30),  # holdout
            ("a", "2024-01-21", 10),  # holdout, same week: one purchase of 40
            ("a", "2024-01-29", -5),  # holdout refund only: not a purchase
            ("b", "2024-01-02", 5),
            ("c", "2024-01-20", 9),  # first purchase in the holdout: not in the calibration rows
        ]
    )
    got = rfm_summary(tx, freq="W", calibration_end="2024-01-14", observation_end="2024-02-04")
    assert got.index.tolist() == ["a", "b"]
    assert got.loc["a"].tolist() == [1.0, 1.0, 1.0, 20.0, 1.0, 40.0, 3.0]
    assert got.loc["b"].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 3.0]
    assert got.attrs["customers_first_in_holdout"] == 1


def test_rfm_summary_does_not_modify_its_input():
    tx = _random_transactions(1, refunds=True)
    before = tx.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rfm_summary(tx, calibration_end="2022-06-30")
    assert_frame_equal(tx, before)


# ------------------------------------------------------------------------------------------------
# rfm_summary: agreement with lifetimes
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("freq", ["D", "W"])
@pytest.mark.parametrize("seed", [0, 1])
def test_rfm_summary_equals_lifetimes_without_refunds(freq, seed):
    tx = _random_transactions(seed)
    assert_frame_equal(rfm_summary(tx, freq=freq), _lifetimes_summary(tx, freq=freq))


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_equals_lifetimes_at_an_observation_end_on_a_period_boundary(freq):
    tx = _random_transactions(2)
    end = "2022-03-06"  # a Sunday: lifetimes and cxlib then keep the same transactions
    assert_frame_equal(
        rfm_summary(tx, freq=freq, observation_end=end),
        _lifetimes_summary(tx, freq=freq, observation_period_end=end),
    )


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_equals_lifetimes_when_refunds_leave_every_period_positive(freq):
    # Where lifetimes' rule has the same meaning (every period's net spend is positive), the
    # frames must be identical: refunds are netted within the period in both.
    tx = _random_transactions(3)
    rng = np.random.default_rng(3)
    refunds = tx.sample(frac=0.2, random_state=3).assign(
        amount=lambda f: -f["amount"] * rng.uniform(0.1, 0.9, len(f))
    )
    tx = pd.concat([tx, refunds], ignore_index=True)
    assert (tx["amount"] < 0).sum() > 100
    assert_frame_equal(rfm_summary(tx, freq=freq), _lifetimes_summary(tx, freq=freq))


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_equals_lifetimes_on_purchase_periods_when_refunds_exceed_purchases(freq):
    # With arbitrary refunds lifetimes counts a net-negative period as a purchase. cxlib must
    # equal lifetimes run on the log without those periods (the naive pandas version of the rule).
    tx = _random_transactions(4, refunds=True)
    cleaned = _drop_nonpositive_periods(tx, freq)
    assert len(cleaned) < len(tx)
    end = tx["date"].max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = rfm_summary(tx, freq=freq)
    expected = _lifetimes_summary(cleaned, freq=freq, observation_period_end=end)
    assert_frame_equal(got, expected)


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_is_the_same_whatever_the_row_order(freq):
    # Sorted logs take the fast path that merges adjacent rows of a customer and period first;
    # the result must equal the shuffled log's, refunds, cut-offs and holdout included.
    tx = _random_transactions(6, n_customers=100, n_rows=20_000, refunds=True)
    ordered = tx.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    shuffled = tx.sample(frac=1.0, random_state=6).reset_index(drop=True)
    options = dict(freq=freq, calibration_end="2022-03-09", observation_end="2022-10-12")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fast = rfm_summary(ordered, **options)
        slow = rfm_summary(shuffled, **options)
    assert_frame_equal(fast, slow, rtol=1e-9)
    assert fast.attrs == slow.attrs


def _merge_per_period_and_side(tx, freq, cut):
    """One row per customer, period and side of the calibration cut, dated at its first day.

    lifetimes averages holdout spend per transaction row, cxlib per purchase period; on this log
    the two coincide.
    """
    side = tx["date"] > pd.Timestamp(cut)
    keys = [tx["customer_id"], tx["date"].dt.to_period(freq), side]
    merged = tx.groupby(keys).agg(date=("date", "min"), amount=("amount", "sum"))
    return merged.reset_index(drop=True).assign(
        customer_id=tx.groupby(keys)["customer_id"].first().to_numpy()
    )[["customer_id", "date", "amount"]]


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_holdout_equals_lifetimes_calibration_and_holdout_data(freq):
    tx = _random_transactions(5)
    cut, end = "2022-04-13", "2022-11-30"  # Wednesdays: weeks straddle both cuts
    merged = _merge_per_period_and_side(tx[tx["date"] <= end], freq, cut)
    expected = calibration_and_holdout_data(
        merged,
        "customer_id",
        "date",
        calibration_period_end=cut,
        observation_period_end=end,
        freq=freq,
        monetary_value_col="amount",
    )
    expected.columns = [c.removesuffix("_cal") for c in expected.columns]
    expected.index.name = "customer_id"
    got = rfm_summary(tx, freq=freq, calibration_end=cut, observation_end=end)
    assert_frame_equal(got, expected[got.columns])
    # frequency and duration do not depend on the merging: check them on the raw log too
    raw = calibration_and_holdout_data(
        tx,
        "customer_id",
        "date",
        calibration_period_end=cut,
        observation_period_end=end,
        freq=freq,
        monetary_value_col="amount",  # without it lifetimes' holdout count fails on pandas 3
    )
    np.testing.assert_array_equal(got["frequency_holdout"], raw["frequency_holdout"])
    np.testing.assert_array_equal(got["duration_holdout"], raw["duration_holdout"])


# ------------------------------------------------------------------------------------------------
# rfm_summary: invalid input
# ------------------------------------------------------------------------------------------------


def test_rfm_summary_names_missing_columns():
    with pytest.raises(DataError, match=r"rfm_summary: missing column\(s\) \['amount'\]"):
        rfm_summary(pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-01"])}))


def test_rfm_summary_names_rows_with_missing_dates():
    tx = _tx([("a", "2024-01-01", 1), ("b", None, 2)])
    with pytest.raises(DataError, match=r"1 missing date\(s\) \(NaT\): row 1: NaT"):
        rfm_summary(tx)


def test_rfm_summary_rejects_dates_stored_as_text():
    tx = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-01"], "amount": [1.0]})
    with pytest.raises(DataError, match="column 'date' must hold dates"):
        rfm_summary(tx)


def test_rfm_summary_names_missing_amounts():
    tx = _tx([("a", "2024-01-01", 1), ("b", "2024-01-02", np.nan)])
    with pytest.raises(DataError, match=r"'amount' has 1 missing or infinite value\(s\): row 1"):
        rfm_summary(tx)


def test_rfm_summary_rejects_an_empty_table():
    with pytest.raises(DataError, match="the transactions table is empty"):
        rfm_summary(_tx([]))


def test_rfm_summary_rejects_observation_end_before_the_data():
    tx = _tx([("a", "2024-01-01", 1)])
    with pytest.raises(DataError, match="observation_end 2023-12-01 is before the first"):
        rfm_summary(tx, observation_end="2023-12-01")


def test_rfm_summary_rejects_calibration_end_after_observation_end():
    tx = _tx([("a", "2024-01-01", 1), ("a", "2024-03-01", 1)])
    with pytest.raises(DataError, match="calibration_end 2024-03-01 must be before"):
        rfm_summary(tx, calibration_end="2024-03-01")


def test_rfm_summary_rejects_calibration_end_before_the_data():
    tx = _tx([("a", "2024-01-01", 1), ("a", "2024-03-01", 1)])
    with pytest.raises(DataError, match="the calibration period would be empty"):
        rfm_summary(tx, calibration_end="2023-03-01")


def test_rfm_summary_rejects_an_unknown_freq():
    with pytest.raises(ValueError, match=r"The 'freq' parameter of rfm_summary must be one of"):
        rfm_summary(_tx([("a", "2024-01-01", 1)]), freq="Q")


def test_default_calibration_end_leaves_26_weeks_of_holdout():
    tx = _tx([("a", "2023-01-01", 1), ("a", "2025-12-31", 1)])
    assert default_calibration_end(tx) == pd.Timestamp("2025-07-02")
    assert default_calibration_end(tx, holdout_weeks=4) == pd.Timestamp("2025-12-03")


def test_default_calibration_end_refuses_data_shorter_than_the_holdout():
    tx = _tx([("a", "2025-10-01", 1), ("a", "2025-12-31", 1)])
    with pytest.raises(DataError, match="less than the 26-week holdout"):
        default_calibration_end(tx)


def test_rfm_summary_keeps_numeric_ids_and_does_not_merge_them_with_text():
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series([1, "1", 1], dtype=object),
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    got = rfm_summary(tx, freq="D")
    assert sorted(map(repr, got.index)) == ["'1'", "1"]
    assert got["frequency"].sum() == 1.0


def test_rfm_summary_names_missing_customer_ids():
    tx = _tx([("a", "2024-01-01", 1), (None, "2024-01-02", 2)])
    with pytest.raises(DataError, match=r"'customer_id' has 1 missing value\(s\): row 1"):
        rfm_summary(tx)


# ------------------------------------------------------------------------------------------------
# PurchaseModel: published CDNOW estimates, weights, predictions
# ------------------------------------------------------------------------------------------------

# Published estimates (Fader, Hardie & Lee 2005; Fader & Hardie's Pareto/NBD note) as
# reproduced by lifetimes on its CDNOW summary.
PUBLISHED = {
    "bgnbd": {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258},
    "pareto_nbd": {"r": 0.5533, "alpha": 10.578, "s": 0.6063, "beta": 11.669},
}


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_models(cdnow):
    return {kind: PurchaseModel(kind).fit(cdnow) for kind in ("bgnbd", "pareto_nbd", "mbgnbd")}


@pytest.mark.parametrize("kind", ["bgnbd", "pareto_nbd"])
def test_purchase_model_reproduces_the_published_cdnow_estimates_within_half_a_percent(
    cdnow_models, kind
):
    got = cdnow_models[kind].params_
    expected = pd.Series(PUBLISHED[kind])
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0.005)


def test_bgnbd_log_likelihood_is_the_published_minus_9582_4(cdnow_models):
    assert cdnow_models["bgnbd"].log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_pareto_nbd_log_likelihood_is_the_published_minus_9595_0(cdnow_models):
    assert cdnow_models["pareto_nbd"].log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_mbgnbd_matches_lifetimes_modified_beta_geo_fitter(cdnow, cdnow_models):
    from lifetimes import ModifiedBetaGeoFitter

    reference = ModifiedBetaGeoFitter().fit(
        cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    )
    np.testing.assert_allclose(
        cdnow_models["mbgnbd"].params_.to_numpy(), reference.params_.to_numpy(), rtol=1e-3
    )


def test_bgnbd_standard_errors_match_lifetimes_hessian(cdnow, cdnow_models):
    from lifetimes import BetaGeoFitter

    reference = BetaGeoFitter().fit(
        cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    )
    np.testing.assert_allclose(
        cdnow_models["bgnbd"].standard_errors_.to_numpy(),
        reference.standard_errors_.to_numpy(),
        rtol=0.01,
    )
    assert (cdnow_models["pareto_nbd"].standard_errors_ > 0).all()


def test_fitting_distinct_rows_with_weights_equals_fitting_every_customer(cdnow):
    # Duplicating every customer three times must not change the estimates, and the
    # log-likelihood triples: the weights are the customer counts.
    tripled = pd.concat([cdnow, cdnow, cdnow], ignore_index=True)
    once = PurchaseModel("bgnbd").fit(cdnow)
    thrice = PurchaseModel("bgnbd").fit(tripled)
    np.testing.assert_allclose(thrice.params_, once.params_, rtol=1e-5)
    assert thrice.log_likelihood_ == pytest.approx(3 * once.log_likelihood_, rel=1e-9)
    assert thrice.n_rows_ == once.n_rows_ and thrice.n_customers_ == 3 * len(cdnow)


@pytest.mark.parametrize("kind", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_predictions_match_lifetimes_on_cdnow(cdnow, cdnow_models, kind):
    model = cdnow_models[kind]
    fitter = model._lifetimes_fitter()
    x, tx, T = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    for t in (1.0, 39.0):
        expected = fitter.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T)
        np.testing.assert_allclose(model.predict_purchases(cdnow, t), expected, rtol=1e-4)
    np.testing.assert_allclose(
        model.p_alive(cdnow), fitter.conditional_probability_alive(x, tx, T), rtol=1e-4
    )


@pytest.mark.parametrize("kind", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_expected_repeat_purchases_of_a_new_customer_match_lifetimes(cdnow_models, kind):
    model = cdnow_models[kind]
    t = np.array([0.0, 1.0, 10.0, 52.0, 200.0])
    expected = model._lifetimes_fitter().expected_number_of_purchases_up_to_time(t[1:])
    got = model.expected_repeat_purchases(t)
    assert got[0] == 0.0
    np.testing.assert_allclose(got[1:], expected, rtol=1e-6)


def test_predict_purchases_accepts_one_horizon_per_customer(cdnow, cdnow_models):
    model = cdnow_models["bgnbd"]
    horizons = np.where(np.arange(len(cdnow)) % 2 == 0, 10.0, 20.0)
    got = model.predict_purchases(cdnow, horizons)
    np.testing.assert_allclose(got[::2], model.predict_purchases(cdnow, 10.0)[::2])
    np.testing.assert_allclose(got[1::2], model.predict_purchases(cdnow, 20.0)[1::2])
    with pytest.raises(ValueError, match="The 't' parameter of PurchaseModel.predict_purchases"):
        model.predict_purchases(cdnow, np.ones(3))


def _bgnbd_expected_by_quadrature(params, t, x, tx, T, *, modified=False):
    """E[Y(t) | x, t_x, T] from the model's definition, by 1-D numerical integration.

    Given alive, lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x) (BG/NBD) or
    Beta(a, b + x + 1) (MBG/NBD); expected purchases in t are (1 - exp(-lambda p t)) / p, whose
    mean over lambda is (1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p. No hypergeometric function.
    """
    from scipy import integrate, stats

    r, alpha, a, b = params
    prior = stats.beta(a, b + x + (1 if modified else 0))

    def integrand(p):
        return (1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)) / p * prior.pdf(p)

    given_alive = integrate.quad(integrand, 0, 1, limit=200, epsabs=0, epsrel=1e-10)[0]
    with np.errstate(over="ignore"):
        odds = a / (b + x - (0 if modified else 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
    alive = 1.0 if (x == 0 and not modified) else 1 / (1 + odds)
    return alive * given_alive


def test_bgnbd_prediction_is_finite_where_lifetimes_returns_nan(cdnow_models):
    # lifetimes issue #302: c = a + b - 1 < 0 makes its log(hyp2f1) NaN for new customers.
    model = cdnow_models["bgnbd"].with_params(r=0.11, alpha=2.24, a=0.31, b=0.50)
    customer = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [1.0]})
    with np.errstate(all="ignore"):
        lifetimes_value = (
            model._lifetimes_fitter().conditional_expected_number_of_purchases_up_to_time(
                30, np.array([0.0]), np.array([0.0]), np.array([1.0])
            )
        )
    assert np.isnan(lifetimes_value).all()
    got = model.predict_purchases(customer, 30).iloc[0]
    expected = _bgnbd_expected_by_quadrature(model.params_.to_numpy(), 30.0, 0.0, 0.0, 1.0)
    assert np.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize(
    ("x", "tx", "T", "t"),
    [
        (0, 0, 1, 30),
        (5, 20, 39, 52),
        (300, 364, 365, 365),
        (2000, 999, 1000, 365),
        (800, 30, 1000, 52),
    ],
)
def test_beta_geometric_predictions_equal_the_integral_definition_for_extreme_customers(
    cdnow_models, kind, x, tx, T, t
):
    model = cdnow_models[kind]
    summary = pd.DataFrame({"frequency": [float(x)], "recency": [float(tx)], "T": [float(T)]})
    got = model.predict_purchases(summary, t).iloc[0]
    expected = _bgnbd_expected_by_quadrature(
        model.params_.to_numpy(), t, x, tx, T, modified=kind == "mbgnbd"
    )
    assert np.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("kind", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_every_prediction_is_finite_on_a_grid_of_extreme_customers(cdnow_models, kind):
    x, tx = np.meshgrid(np.array([0, 1, 10, 100, 1000, 5000.0]), np.array([0, 1, 500, 999.0]))
    grid = pd.DataFrame({"frequency": x.ravel(), "recency": tx.ravel(), "T": 1000.0})
    grid.loc[grid["frequency"] == 0, "recency"] = 0.0
    model = cdnow_models[kind]
    assert np.isfinite(model.predict_purchases(grid, 365)).all()
    alive = model.p_alive(grid)
    assert np.isfinite(alive).all() and alive.between(0, 1).all()


def test_purchase_model_rejects_an_unknown_kind(cdnow):
    with pytest.raises(ValueError, match="The 'kind' parameter of PurchaseModel must be one of"):
        PurchaseModel("bg").fit(cdnow)


def test_purchase_model_explains_a_summary_without_repeat_purchases():
    summary = pd.DataFrame({"frequency": [0.0] * 5, "recency": [0.0] * 5, "T": [3.0] * 5})
    with pytest.raises(DataError, match="no customer has a repeat purchase"):
        PurchaseModel().fit(summary)


def test_purchase_model_rejects_recency_above_t():
    summary = pd.DataFrame({"frequency": [1.0, 2.0], "recency": [5.0, 1.0], "T": [4.0, 4.0]})
    with pytest.raises(DataError, match=r"1 row\(s\) are not a valid RFM summary"):
        PurchaseModel().fit(summary)


def test_purchase_model_retries_with_a_penalizer_and_says_so(monkeypatch, cdnow):
    import cxlib.clv as clv

    real = clv._minimise
    calls = []

    def failing_once(objective, gradient, start):
        calls.append(1)
        result, ok = real(objective, gradient, start)
        return result, ok and len(calls) > 1

    monkeypatch.setattr(clv, "_minimise", failing_once)
    with pytest.warns(UserWarning, match="refitted with penalizer=0.001"):
        model = PurchaseModel("bgnbd").fit(cdnow)
    assert model.penalizer_ == clv.RETRY_PENALIZER


def test_purchase_model_raises_with_the_data_cause_when_the_retry_fails(monkeypatch, cdnow):
    import cxlib.clv as clv

    monkeypatch.setattr(clv, "_minimise", lambda objective, gradient, start: (None, False))
    with pytest.raises(DataError, match=r"no finite maximum .*\(2357 customers, \d+% without a"):
        PurchaseModel("bgnbd").fit(cdnow)


def test_predictions_need_a_fitted_model(cdnow):
    with pytest.raises(ValueError, match="not fitted yet"):
        PurchaseModel().p_alive(cdnow)


# ------------------------------------------------------------------------------------------------
# SpendModel and customer value
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_money():
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    return load_cdnow_summary_data_with_monetary_value()


def test_spend_model_reproduces_the_published_gamma_gamma_estimates(cdnow_money):
    model = SpendModel().fit(cdnow_money)
    expected = [6.2488, 3.7446, 15.448]
    np.testing.assert_allclose(model.params_.to_numpy(), expected, rtol=0.005)
    assert model.assumption_ok_ and abs(model.correlation_) < 0.3
    assert model.n_customers_ == int((cdnow_money["frequency"] > 0).sum())


def test_spend_model_warns_when_frequency_and_spend_are_correlated():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, 400).astype(float)
    spend = rng.gamma(6.0, (10 + 3 * x) / 6.0)  # frequent buyers spend more per order
    summary = pd.DataFrame({"frequency": x, "monetary_value": spend})
    with pytest.warns(
        UserWarning,
        match=r"frequency and average spend are correlated \(r = [01]\.\d\d, above 0\.3\)",
    ):
        model = SpendModel().fit(summary)
    assert not model.assumption_ok_


def test_spend_model_shrinks_average_spend_towards_the_population_mean(cdnow_money):
    model = SpendModel().fit(cdnow_money)
    p, q, v = model.params_
    summary = pd.DataFrame({"frequency": [0.0, 1.0, 50.0], "monetary_value": [0.0, 100.0, 100.0]})
    got = model.expected_spend(summary)
    population = p * v / (q - 1)
    assert got.iloc[0] == pytest.approx(population)
    assert population < got.iloc[1] < got.iloc[2] < 100


def test_customer_value_discounts_monthly_purchases_at_an_annual_rate(cdnow_models, cdnow_money):
    purchases, spend = cdnow_models["bgnbd"], SpendModel().fit(cdnow_money)
    summary = cdnow_money.iloc[:50]
    values = customer_value(
        summary, purchases, spend, horizon_months=2, discount_rate=0.2, margin=0.5, freq="W"
    )
    weeks = 365.25 / 12 / 7
    one = purchases.predict_purchases(summary, weeks)
    two = purchases.predict_purchases(summary, 2 * weeks)
    expected_spend = spend.expected_spend(summary)
    expected = 0.5 * expected_spend * (one / 1.2 ** (1 / 12) + (two - one) / 1.2 ** (2 / 12))
    np.testing.assert_allclose(values["clv"], expected, rtol=1e-10)
    np.testing.assert_allclose(values["expected_purchases"], two, rtol=1e-10)
    assert values["clv_net"].isna().all()


def test_customer_value_nets_acquisition_cost_where_known(cdnow_models, cdnow_money):
    summary = cdnow_money.iloc[:3]
    customers = pd.DataFrame({"customer_id": summary.index[:2], "acquisition_cost": [10.0, 20.0]})
    values = customer_value(
        summary, cdnow_models["bgnbd"], SpendModel().fit(cdnow_money), customers=customers
    )
    np.testing.assert_allclose(values["clv_net"].iloc[:2], values["clv"].iloc[:2] - [10, 20])
    assert np.isnan(values["clv_net"].iloc[2])


def test_customer_value_equals_lifetimes_customer_lifetime_value_with_its_conventions(
    cdnow_models, cdnow_money
):
    # lifetimes discounts at a monthly rate with 4.345 weeks per month; express the same
    # cash flows through cxlib's annual rate to compare.
    purchases, spend = cdnow_models["bgnbd"], SpendModel().fit(cdnow_money)
    fitter = purchases._lifetimes_fitter()
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
    from lifetimes import GammaGammaFitter

    gg = GammaGammaFitter()
    gg.params_ = spend.params_.copy()
    monthly = 0.01
    # lifetimes' customer_lifetime_value breaks on numpy arrays and on mixed inputs: pass Series
    reference = gg.customer_lifetime_value(
        fitter,
        cdnow_money["frequency"],
        cdnow_money["recency"],
        cdnow_money["T"],
        cdnow_money["monetary_value"],
        time=6,
        discount_rate=monthly,
        freq="W",
    )
    import cxlib.clv as clv

    original = clv.PERIODS_PER_MONTH["W"]
    clv.PERIODS_PER_MONTH["W"] = 4.345
    try:
        values = customer_value(
            cdnow_money,
            purchases,
            spend,
            horizon_months=6,
            discount_rate=(1 + monthly) ** 12 - 1,
            margin=1.0,
        )
    finally:
        clv.PERIODS_PER_MONTH["W"] = original
    np.testing.assert_allclose(values["clv"], np.asarray(reference), rtol=1e-4)


def test_customer_value_rejects_an_annual_rate_of_one_or_more(cdnow_models, cdnow_money):
    with pytest.raises(ValueError, match="The 'discount_rate' parameter of customer_value"):
        customer_value(
            cdnow_money, cdnow_models["bgnbd"], SpendModel().fit(cdnow_money), discount_rate=1.5
        )


def test_segment_value_totals_by_segment_with_intervals_around_them():
    values = pd.DataFrame({"clv": [1.0, 2.0, 3.0, 10.0, 20.0]}, index=list("abcde"))
    segments = pd.Series(["x", "x", "x", "y", "y"], index=list("abcde"))
    got = segment_value(values, segments, n_boot=200, seed=1)
    assert got.index.tolist() == ["y", "x"]
    assert got.loc["x", "total"] == 6.0 and got.loc["y", "total"] == 30.0
    assert got.loc["y", "customers"] == 2
    assert (got["total_low"] <= got["total"]).all() and (got["total"] <= got["total_high"]).all()
    assert got["share"].sum() == pytest.approx(1.0)
    again = segment_value(values, segments, n_boot=200, seed=1)
    assert_frame_equal(got, again)


def test_value_concentration_and_top_share_by_hand():
    values = pd.Series([5.0, 1.0, 1.0, 1.0, 2.0])
    assert top_share(values, 0.2) == pytest.approx(0.5)
    assert top_share(values, 0.4) == pytest.approx(0.7)
    curve = value_concentration(values)
    assert curve["share_of_value"].iloc[-1] == pytest.approx(1.0)
    assert curve["share_of_customers"].is_monotonic_increasing


# ------------------------------------------------------------------------------------------------
# Holdout validation, model choice, scenarios
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_transactions():
    from cxlib.datasets import load_cdnow_transactions

    return load_cdnow_transactions()


@pytest.fixture(scope="module")
def cdnow_holdout(cdnow_transactions):
    # CDNOW has a few zero-amount purchases: customers with only those are left out, with a
    # warning
    with pytest.warns(UserWarning, match=r"8 customer\(s\) have no period with positive net"):
        return holdout_summary(cdnow_transactions, freq="W", calibration_end="1997-09-30")


def test_holdout_validation_compares_predicted_and_actual_by_calibration_frequency(cdnow_holdout):
    model = PurchaseModel("bgnbd").fit(cdnow_holdout)
    check = validate_holdout(cdnow_holdout, model)
    table = check.by_frequency
    assert table.index.tolist()[-1] == "7+"
    assert table["customers"].sum() == len(cdnow_holdout)
    assert check.actual_total == cdnow_holdout["frequency_holdout"].sum()
    # BG/NBD tracks CDNOW's holdout closely (Fader, Hardie & Lee 2005, figure 3)
    assert abs(check.relative_error) < 0.1
    assert (table["predicted"].diff().iloc[1:] > 0).all()


def test_select_model_chooses_the_smallest_holdout_error_unless_overridden(cdnow_holdout):
    chosen = select_model(cdnow_holdout)
    table = chosen.table
    assert set(table.index) == {"bgnbd", "pareto_nbd", "mbgnbd"}
    assert chosen.kind == table["relative_error"].abs().idxmin()
    assert table.loc[chosen.kind, "chosen"]
    forced = select_model(cdnow_holdout, kind="pareto_nbd", kinds=["bgnbd"])
    assert forced.kind == "pareto_nbd" and forced.model.kind == "pareto_nbd"


def test_holdout_summary_uses_a_26_week_holdout_by_default(cdnow_transactions):
    with pytest.warns(UserWarning, match="no period with positive net spend"):
        summary = holdout_summary(cdnow_transactions)
    end = cdnow_transactions["date"].max()
    assert summary.attrs["calibration_end"] == end - pd.Timedelta(weeks=26)
    assert summary["duration_holdout"].iloc[0] in (26.0, 27.0)


def test_tracking_accumulates_weekly_repeat_purchases_of_calibration_customers(
    cdnow_transactions, cdnow_holdout
):
    model = PurchaseModel("bgnbd").fit(cdnow_holdout)
    curve = tracking(cdnow_transactions, model, calibration_end="1997-09-30", freq="W")
    assert curve["actual"].sum() == cdnow_holdout[["frequency", "frequency_holdout"]].sum().sum()
    assert curve["holdout"].any() and not curve["holdout"].all()
    assert curve["predicted_cumulative"].is_monotonic_increasing
    final = curve.iloc[-1]
    assert final["predicted_cumulative"] == pytest.approx(final["actual_cumulative"], rel=0.1)


def test_lower_dropout_lowers_the_mean_dropout_by_the_relative_amount(cdnow_models):
    bg = cdnow_models["bgnbd"]
    better = lower_dropout(bg, 0.1)
    mean = lambda m: m.params_["a"] / (m.params_["a"] + m.params_["b"])  # noqa: E731
    assert mean(better) == pytest.approx(0.9 * mean(bg))
    assert better.params_["a"] + better.params_["b"] == pytest.approx(bg.params_[["a", "b"]].sum())
    pareto = cdnow_models["pareto_nbd"]
    rate = lambda m: m.params_["s"] / m.params_["beta"]  # noqa: E731
    assert rate(lower_dropout(pareto, 0.1)) == pytest.approx(0.9 * rate(pareto))
    assert bg.params_["a"] == pytest.approx(0.7929, rel=1e-3)  # the original is unchanged


@pytest.mark.parametrize("kind", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_retention_scenario_raises_total_clv_and_keeps_todays_p_alive(
    cdnow_models, cdnow_money, kind
):
    spend = SpendModel().fit(cdnow_money)
    result = retention_scenario(cdnow_money, cdnow_models[kind], spend, retention_gain=0.05)
    assert result.scenario_total > result.base_total > 0
    assert 0 < result.uplift_share < 0.5
    assert result.uplift == pytest.approx(result.scenario_total - result.base_total)
    assert (result.values["clv_scenario"] >= result.values["clv"] - 1e-9).all()


def test_rfm_matrix_spans_frequency_by_recency_and_blanks_impossible_cells(cdnow_models):
    matrix = rfm_matrix(cdnow_models["bgnbd"], what="p_alive", max_frequency=5, T=10)
    assert matrix.shape == (6, 11)
    assert matrix.loc[0, 0] == 1.0 and np.isnan(matrix.loc[0, 3])
    assert matrix.loc[5, 10] > matrix.loc[5, 2]  # recent buyers are likelier alive
    purchases = rfm_matrix(cdnow_models["bgnbd"], what="expected_purchases", max_frequency=5, T=10)
    assert purchases.loc[5, 10] > purchases.loc[1, 10]


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------


def test_clv_figures_draw_on_the_given_axes_and_return_them(
    cdnow_models, cdnow_holdout, cdnow_transactions
):
    import matplotlib.pyplot as plt

    from cxlib import plots

    model = PurchaseModel("bgnbd").fit(cdnow_holdout)
    _, axes = plt.subplots(2, 3)
    matrix = rfm_matrix(cdnow_models["bgnbd"], max_frequency=4, T=8)
    assert plots.plot_rfm_matrix(matrix, title="P(alive)", ax=axes[0, 0]) is axes[0, 0]
    assert axes[0, 0].get_ylabel() == "Frequency (repeat purchases)"
    check = validate_holdout(cdnow_holdout, model)
    assert plots.plot_holdout_by_frequency(check, ax=axes[0, 1]) is axes[0, 1]
    np.testing.assert_allclose(axes[0, 1].lines[0].get_ydata(), check.by_frequency["actual"])
    curve = tracking(cdnow_transactions, model, calibration_end="1997-09-30")
    assert plots.plot_tracking(curve, ax=axes[0, 2]) is axes[0, 2]
    assert len(axes[0, 2].lines) == 3  # actual, model, holdout marker
    values = pd.DataFrame({"clv": np.arange(1.0, 11.0)})
    assert plots.plot_lorenz(value_concentration(values), ax=axes[1, 0]) is axes[1, 0]
    table = segment_value(values, pd.Series(list("aabbbbbccc")), n_boot=50)
    assert plots.plot_segment_value(table, ax=axes[1, 1]) is axes[1, 1]
    assert len(axes[1, 1].patches) == 3


def test_clv_figures_create_a_figure_when_no_axes_are_given(cdnow_models):
    from cxlib import plots

    ax = plots.plot_rfm_matrix(rfm_matrix(cdnow_models["bgnbd"], max_frequency=3, T=5))
    assert ax.figure is not None


# ------------------------------------------------------------------------------------------------
# Acceptance on the demo client
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_future(small_demo):
    """Observed data summarised up to the observation end; the true future as the holdout."""
    truth = small_demo.truth
    full = pd.concat([small_demo.transactions, truth.future_transactions], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a few refund-only customers
        return rfm_summary(
            full, freq="W", calibration_end=truth.observation_end, observation_end=truth.holdout_end
        )


def test_the_chosen_model_predicts_the_demo_clients_true_future_purchases_within_5_percent(
    small_demo, demo_future
):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        choice = select_model(holdout_summary(small_demo.transactions, freq="W"))
    model = PurchaseModel(choice.kind).fit(demo_future)  # refit on all observed data
    predicted = model.predict_purchases(demo_future, demo_future["duration_holdout"]).sum()
    actual = demo_future["frequency_holdout"].sum()  # true future purchases, same week merging
    assert demo_future["duration_holdout"].iloc[0] == 26.0
    assert abs(predicted / actual - 1) < 0.05


def test_bgnbd_recovers_the_demo_generators_mean_purchase_and_dropout_rates(
    small_demo, demo_future
):
    # The demo mixes five segments, so the pooled Gamma and Beta priors are not the generator's
    # per-segment ones; their means are comparable. A weekly summary counts weeks with a
    # purchase, so the comparable purchase rate is E[1 - exp(-lambda)], not E[lambda].
    model = PurchaseModel("bgnbd").fit(demo_future)
    r, alpha, a, b = model.params_
    truth = small_demo.truth.customers
    weekly_rate = np.mean(1 - np.exp(-truth["purchase_rate"].to_numpy()))
    assert r / alpha == pytest.approx(weekly_rate, rel=0.10)
    assert a / (a + b) == pytest.approx(truth["dropout_probability"].mean(), rel=0.10)


@pytest.fixture(scope="module")
def demo_value_fit(small_demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a few refund-only customers
        return fit_customer_value(
            small_demo.transactions, horizon_months=6, customers=small_demo.customers
        )


def test_fit_customer_value_equals_choosing_on_the_holdout_then_refitting_on_all_data(
    small_demo, demo_value_fit
):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        choice = select_model(holdout_summary(small_demo.transactions, freq="W"))
        summary = rfm_summary(small_demo.transactions, freq="W")
    purchases = PurchaseModel(choice.kind).fit(summary)
    expected = customer_value(
        summary,
        purchases,
        SpendModel().fit(summary),
        horizon_months=6,
        customers=small_demo.customers,
    )
    assert demo_value_fit.selection.kind == choice.kind == demo_value_fit.purchase_model.kind
    assert_frame_equal(demo_value_fit.values, expected)
    assert "clv_net" in demo_value_fit.values.columns


def test_fit_customer_value_uses_the_model_the_config_forces(small_demo, demo_value_fit):
    forced = "pareto_nbd" if demo_value_fit.purchase_model.kind != "pareto_nbd" else "bgnbd"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fit = fit_customer_value(small_demo.transactions, clv_model=forced, horizon_months=6)
    assert fit.purchase_model.kind == fit.selection.kind == forced
    assert not np.allclose(fit.values["clv"], demo_value_fit.values["clv"])
