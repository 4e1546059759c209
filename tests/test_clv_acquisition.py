"""Tests for cxlib.clv.clv_by_channel: CLV against acquisition cost per acquisition channel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.clv import clv_by_channel


def _values_and_customers():
    values = pd.DataFrame(
        {
            "clv": [50.0, 10.0, 30.0, 2.0, 4.0, 6.0, 99.0],
            "acquisition_cost": [20.0, 20.0, 20.0, 10.0, 10.0, 10.0, np.nan],
        },
        index=pd.Index(["a", "b", "c", "d", "e", "f", "g"], name="customer_id"),
    )
    customers = pd.DataFrame(
        {
            "customer_id": list("abcdefg"),
            "acquisition_channel": ["tv", "tv", "tv", "social", "social", "social", "tv"],
        }
    )
    return values, customers


def test_channel_rows_are_hand_computed_and_unknown_costs_are_counted_not_used():
    values, customers = _values_and_customers()
    result = clv_by_channel(values, customers, currency="EUR")
    tv, social, total = (result.table.loc[name] for name in ("tv", "social", "All channels"))
    assert tv["customers"] == 3 and result.unknown_cost == 1  # g has no cost
    assert tv["mean_clv"] == pytest.approx(30.0) and tv["mean_cac"] == pytest.approx(20.0)
    assert tv["clv_to_cac"] == pytest.approx(1.5)
    assert tv["negative_net_share"] == pytest.approx(1 / 3)  # b: 10 - 20
    assert social["clv_to_cac"] == pytest.approx(0.4) and social["negative_net_share"] == 1.0
    assert total["customers"] == 6 and total["median_net"] == pytest.approx(-5.0)
    assert result.table.index[-1] == "All channels"


def test_a_negative_median_net_value_is_said_plainly_with_the_basis_and_losing_channels():
    values, customers = _values_and_customers()
    values.attrs.update(horizon_months=36, basis="discounted gross margin (30% of revenue)")
    result = clv_by_channel(values, customers, currency="EUR")
    assert result.median_net == pytest.approx(-5.0)
    assert "EUR 5.00 below what they cost to acquire" in result.text
    assert "(36-month discounted gross margin (30% of revenue))" in result.text
    assert "social" in result.text
    assert "tv" not in result.text.split("cost:")[-1]


def test_a_positive_median_is_not_reported_as_a_loss():
    values, customers = _values_and_customers()
    values["clv"] = values["clv"] + 100
    result = clv_by_channel(values, customers)
    assert result.median_net > 0 and "exceeds their acquisition cost" in result.text


def test_without_acquisition_data_the_result_says_so_instead_of_failing():
    values, customers = _values_and_customers()
    cases = [
        (values, None),
        (values, customers.drop(columns="acquisition_channel")),
        (values.assign(acquisition_cost=np.nan), customers),
    ]
    for frame, table in cases:
        result = clv_by_channel(frame, table)
        assert result.table.empty and "no acquisition cost and acquisition channel" in result.text


def test_a_named_channel_column_that_is_missing_is_a_data_error():
    values, customers = _values_and_customers()
    with pytest.raises(DataError, match=r"missing column\(s\) \['source'\]"):
        clv_by_channel(values, customers, channel="source")
    with pytest.raises(DataError, match="no customer has a known acquisition_cost"):
        clv_by_channel(
            values.assign(acquisition_cost=np.nan), customers, channel="acquisition_channel"
        )
