"""Tests for cxlib.segmentation.outlook.revenue_outlook: last 12 months to the next 12."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.segmentation.outlook import revenue_outlook


def _base():
    return pd.DataFrame(
        {
            "revenue_12m": [400.0, 300.0, 200.0, 100.0],
            "churned": [False, False, True, True],
            "tenure_days": [1000, 100, 900, 50],
        },
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )


def test_the_bridge_is_hand_computed_and_its_steps_add_up():
    expected = pd.Series({"a": 380.0, "b": 250.0, "c": 20.0})  # d: no value -> 0
    outlook = revenue_outlook(_base(), expected, currency="EUR")
    amounts = outlook.bridge["amount"].tolist()
    assert amounts == [1000.0, (20.0 - 300.0), (630.0 - 700.0), 650.0]
    assert amounts[0] + amounts[1] + amounts[2] == pytest.approx(amounts[3])
    assert outlook.bridge.index[1] == "Change from lapsed customers"
    assert outlook.change_share == pytest.approx(-0.35)
    assert outlook.new_customer_revenue == 400.0  # b and d started within the year


def test_a_fall_is_said_plainly_with_its_size_and_reasons():
    outlook = revenue_outlook(
        _base(), pd.Series({"a": 380.0, "b": 250.0, "c": 20.0}), currency="EUR"
    )
    assert "EUR 650, 35% below the last 12 months (EUR 1,000)" in outlook.text
    assert "2 customers who have already lapsed are expected to bring EUR 280 less" in outlook.text
    assert "leaves out customers not yet acquired" in outlook.text
    assert "would close the gap" in outlook.text  # 400 of first-year revenue > 350 gap


def test_growth_is_reported_as_above_not_below():
    outlook = revenue_outlook(_base(), pd.Series({"a": 800.0, "b": 400.0}))
    assert outlook.change_share == pytest.approx(0.2) and "20% above" in outlook.text


def test_outlook_from_the_clv_model_on_cdnow_expects_less_than_the_calibration_year():
    # CDNOW (Fader et al.): a cohort acquired in Q1 1997 that buys less and less; the model
    # expects the next year to bring less than the last one, and the outlook must say so.
    from cxlib.clv import PurchaseModel, SpendModel, customer_value
    from cxlib.customers import customer_base
    from cxlib.data.datasets import load_cdnow_transactions

    tx = load_cdnow_transactions()
    with pytest.warns(UserWarning, match="no period with positive net spend"):
        base = customer_base(tx, freq="W")  # refund-only customers are counted and left out
    base["churned"] = base["days_since_last"] > 180
    summary = base[["frequency", "recency", "T", "monetary_value"]]
    values = customer_value(
        summary,
        PurchaseModel().fit(summary),
        SpendModel().fit(summary),
        horizon_months=12,
        freq="W",
        margin=1.0,
    )
    outlook = revenue_outlook(base, values["expected_revenue"], currency="USD")
    assert outlook.next_12m < outlook.last_12m and "below" in outlook.text
    assert np.isclose(outlook.bridge["amount"].iloc[:3].sum(), outlook.next_12m)


def test_a_base_without_the_run_columns_is_a_data_error():
    with pytest.raises(DataError, match=r"revenue_outlook: missing column\(s\) \['churned'\]"):
        revenue_outlook(_base().drop(columns="churned"), pd.Series(dtype=float))


def test_values_over_another_horizon_than_the_outlooks_are_refused_not_relabelled():
    # the values carry their horizon (customer_value's attrs): six months of expected revenue
    # set against the last twelve would read as a fall that is not there
    expected = pd.Series({"a": 400.0, "b": 200.0})
    expected.attrs["horizon_months"] = 6
    with pytest.raises(ValueError, match="covers 6 months; the outlook sets the next 12"):
        revenue_outlook(_base(), expected)
    expected.attrs["horizon_months"] = 12
    assert revenue_outlook(_base(), expected).next_12m == pytest.approx(600.0)
