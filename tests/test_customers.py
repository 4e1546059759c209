"""Tests for cxlib.customers: the one customer base and its rfm_summary view."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data
from pandas.testing import assert_frame_equal

from cxlib import DataError
from cxlib.customers import customer_base, default_calibration_end, rfm_summary

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


def test_rfm_summary_by_period_merges_purchases_in_the_same_week_and_counts_only_repeats():
    tx = _tx(
        [
            ("a", "2024-01-01", 10),  # Monday, week 0: first purchase
            ("a", "2024-01-07", 5),  # Sunday, same week: merged into the first purchase
            ("a", "2024-01-15", 20),  # week 2
            ("a", "2024-01-17", 4),  # week 2: merged -> 24
            ("b", "2024-01-08", 8),  # week 1, only purchase
        ]
    )
    got = rfm_summary(tx, freq="W", observation_end="2024-01-29", resolution="period")
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


def test_rfm_summary_by_period_counts_months_between_calendar_months():
    tx = _tx([("a", "2024-01-31", 10), ("a", "2024-02-01", 10), ("a", "2024-04-15", 4)])
    got = rfm_summary(tx, freq="M", observation_end="2024-06-30", resolution="period")
    assert got.loc["a"].tolist() == [2.0, 3.0, 5.0, 7.0]


def test_rfm_summary_ignores_transactions_after_observation_end():
    tx = _tx([("a", "2024-01-01", 10), ("a", "2024-01-03", 10), ("a", "2024-01-05", 10)])
    got = rfm_summary(tx, freq="W", observation_end="2024-01-03", resolution="period")
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
    got = rfm_summary(
        tx,
        freq="W",
        calibration_end="2024-01-14",
        observation_end="2024-02-04",
        resolution="period",
    )
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
    assert_frame_equal(
        rfm_summary(tx, freq=freq, resolution="period"), _lifetimes_summary(tx, freq=freq)
    )


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_equals_lifetimes_at_an_observation_end_on_a_period_boundary(freq):
    tx = _random_transactions(2)
    end = "2022-03-06"  # a Sunday: lifetimes and cxlib then keep the same transactions
    assert_frame_equal(
        rfm_summary(tx, freq=freq, observation_end=end, resolution="period"),
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
    assert_frame_equal(
        rfm_summary(tx, freq=freq, resolution="period"), _lifetimes_summary(tx, freq=freq)
    )


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
        got = rfm_summary(tx, freq=freq, resolution="period")
    expected = _lifetimes_summary(cleaned, freq=freq, observation_period_end=end)
    assert_frame_equal(got, expected)


@pytest.mark.parametrize("freq", ["D", "W"])
def test_rfm_summary_is_the_same_whatever_the_row_order(freq):
    # Sorted logs take the fast path that merges adjacent rows of a customer and period first;
    # the result must equal the shuffled log's, refunds, cut-offs and holdout included.
    tx = _random_transactions(6, n_customers=100, n_rows=20_000, refunds=True)
    ordered = tx.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    shuffled = tx.sample(frac=1.0, random_state=6).reset_index(drop=True)
    options = dict(
        freq=freq, calibration_end="2022-03-09", observation_end="2022-10-12", resolution="period"
    )
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
    got = rfm_summary(tx, freq=freq, calibration_end=cut, observation_end=end, resolution="period")
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


def test_default_calibration_end_derives_a_shorter_holdout_for_a_short_history():
    # 20 weeks of history: a third of it (6 weeks) is held out instead of the default 26
    tx = _tx([("a", "2025-08-13", 1), ("a", "2025-12-31", 1)])
    assert default_calibration_end(tx, holdout_weeks=None) == pd.Timestamp("2025-11-19")
    long = _tx([("a", "2023-01-01", 1), ("a", "2025-12-31", 1)])
    assert default_calibration_end(long, holdout_weeks=None) == default_calibration_end(long)


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
# Day resolution (the default): purchases per day, time in the unit of freq
# ------------------------------------------------------------------------------------------------


def test_rfm_summary_counts_purchases_per_day_and_time_in_fractional_weeks():
    tx = _tx(
        [
            ("a", "2024-01-01", 10),  # Monday: first purchase
            ("a", "2024-01-01", 5),  # same day: one purchase of 15
            ("a", "2024-01-04", 6),  # same week, another day: a repeat purchase
            ("a", "2024-01-15", 20),
            ("b", "2024-01-08", 8),
        ]
    )
    got = rfm_summary(tx, freq="W", observation_end="2024-01-29")
    assert got.loc["a"].tolist() == pytest.approx([2.0, 14 / 7, 28 / 7, 13.0])
    assert got.loc["b"].tolist() == pytest.approx([0.0, 0.0, 3.0, 0.0])
    months = rfm_summary(tx, freq="M", observation_end="2024-01-29")
    assert months.loc["a", "T"] == pytest.approx(28 / (365.25 / 12))


@pytest.mark.parametrize("freq, multiplier", [("W", 7), ("M", 365.25 / 12)])
@pytest.mark.parametrize("seed", [0, 1])
def test_rfm_summary_equals_lifetimes_daily_with_freq_multiplier(freq, multiplier, seed):
    # lifetimes' freq="D" with freq_multiplier=7 is the CDNOW convention: purchases per day,
    # time in (fractional) weeks.
    tx = _random_transactions(seed)
    expected = _lifetimes_summary(tx, freq="D", freq_multiplier=multiplier)
    assert_frame_equal(rfm_summary(tx, freq=freq), expected, rtol=1e-12)


def test_rfm_summary_daily_holdout_duration_is_in_the_unit_of_freq():
    tx = _tx([("a", "2024-01-01", 10), ("a", "2024-01-20", 30), ("a", "2024-01-21", 5)])
    got = rfm_summary(tx, freq="W", calibration_end="2024-01-14", observation_end="2024-02-04")
    assert got.loc["a", "frequency_holdout"] == 2.0  # two purchase days in the same week
    assert got.loc["a", "monetary_value_holdout"] == 17.5
    assert got.loc["a", "duration_holdout"] == pytest.approx(3.0)
    assert got.loc["a", "T"] == pytest.approx(13 / 7)


def test_rfm_summary_rejects_an_unknown_resolution():
    with pytest.raises(ValueError, match=r"The 'resolution' parameter of rfm_summary"):
        rfm_summary(_tx([("a", "2024-01-01", 1)]), resolution="week")


# ------------------------------------------------------------------------------------------------
# customer_base
# ------------------------------------------------------------------------------------------------


def test_purchase_refund_day_purchase_is_one_repeat_purchase():
    # The example: a purchase, a refund-only day, a purchase -> frequency 1.
    tx = _tx([("a", "2024-01-01", 50), ("a", "2024-01-05", -20), ("a", "2024-02-01", 30)])
    base = customer_base(tx, freq="D")
    assert base.loc["a", "frequency"] == 1.0
    assert base.loc["a", "purchases"] == 2.0
    assert base.loc["a", "revenue"] == 60.0
    assert base.loc["a", "refunds"] == 20.0
    assert rfm_summary(tx, freq="D").loc["a", "frequency"] == 1.0


def test_customer_base_columns_by_hand():
    tx = _tx(
        [
            ("a", "2023-01-10", 100),  # more than a year before the end: not in revenue_12m
            ("a", "2024-03-01", 40),
            ("a", "2024-03-01", -10),  # netted in the day
            ("a", "2024-06-01", 25),
            ("a", "2024-07-01", 99),  # after observation_end: ignored
            ("b", "2024-05-30", 8),
        ]
    )
    base = customer_base(tx, observation_end="2024-06-30", freq="W")
    a = base.loc["a"]
    assert a["first_purchase"] == pd.Timestamp("2023-01-10")
    assert a["last_purchase"] == pd.Timestamp("2024-06-01")
    assert a["frequency"] == 2.0 and a["purchases"] == 3.0 and a["orders"] == 3.0
    assert a["revenue"] == 155.0
    assert a["revenue_12m"] == 55.0
    assert a["refunds"] == 10.0
    assert a["days_since_last"] == 29.0
    assert a["tenure_days"] == (pd.Timestamp("2024-06-30") - pd.Timestamp("2023-01-10")).days
    assert a["T"] == pytest.approx(a["tenure_days"] / 7)
    assert a["monetary_value"] == pytest.approx((30 + 25) / 2)
    assert base.attrs["observation_end"] == pd.Timestamp("2024-06-30")
    assert base.index.tolist() == ["a", "b"]


def test_customer_base_agrees_with_rfm_summary_on_the_demo(small_demo):
    tx = small_demo.transactions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        base = customer_base(tx, freq="W")
        summary = rfm_summary(tx, freq="W")
    assert_frame_equal(base[summary.columns], summary)
    # revenue is every net amount of the customers in the base
    kept = tx[tx["customer_id"].isin(base.index)]
    assert base["revenue"].sum() == pytest.approx(kept["amount"].sum())


def test_customer_base_counts_distinct_orders_and_joins_customer_attributes():
    tx = _tx([("a", "2024-01-01", 10), ("a", "2024-01-01", 5), ("a", "2024-01-02", 7)])
    tx["order_id"] = ["o1", "o2", "o2"]
    customers = pd.DataFrame({"customer_id": ["a", "z"], "channel": ["web", "shop"]})
    base = customer_base(tx, customers=customers, freq="D")
    assert base.loc["a", "orders"] == 2.0
    assert base.loc["a", "channel"] == "web"
    assert base.attrs["customers_without_transactions"] == 1


def test_customer_base_refuses_a_customers_column_it_computes():
    tx = _tx([("a", "2024-01-01", 10)])
    customers = pd.DataFrame({"customer_id": ["a"], "revenue": [1.0]})
    with pytest.raises(DataError, match=r"column\(s\) \['revenue'\] that the customer base"):
        customer_base(tx, customers=customers)


def test_customer_base_leaves_out_and_counts_refund_only_customers():
    tx = _tx([("a", "2024-01-01", 10), ("b", "2024-01-02", -5)])
    with pytest.warns(UserWarning, match=r"1 customer\(s\) have no period with positive net"):
        base = customer_base(tx)
    assert base.index.tolist() == ["a"]
    assert base.attrs["customers_without_purchase"] == 1


def test_customer_base_period_resolution_keeps_purchase_days_for_dates():
    tx = _tx([("a", "2024-01-02", 10), ("a", "2024-01-03", 10), ("a", "2024-01-10", 4)])
    base = customer_base(tx, freq="W", resolution="period", observation_end="2024-01-14")
    assert base.loc["a", "frequency"] == 1.0  # two weeks with purchases
    assert base.loc["a", "purchases"] == 3.0  # three purchase days
    assert base.loc["a", "first_purchase"] == pd.Timestamp("2024-01-02")
