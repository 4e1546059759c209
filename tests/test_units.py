"""The settings every layer shares: the period table, the date coercer, the parameter checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cxlib.settings import dates, params, units
from cxlib.settings.params import (
    InstanceOf,
    Interval,
    Options,
    ParameterError,
    Satisfies,
    check_param,
    param_error,
    validate_params,
)

# ---- the period table


def test_the_table_gives_the_numbers_the_former_tables_gave():
    # customers.UNIT_DAYS, churn.contractual.PERIOD_DAYS, clv.value.PERIODS_PER_MONTH and
    # run.value._PERIODS_PER_YEAR, as they were written: the same floats, bit for bit
    assert {c: units.days(c) for c in "DWM"} == {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
    assert {c: units.days(c) for c in "WMQY"} == {
        "W": 7.0,
        "M": 365.25 / 12,
        "Q": 365.25 / 4,
        "Y": 365.25,
    }
    assert {c: units.periods_per_month(c) for c in "DWM"} == {
        "D": 365.25 / 12,
        "W": 365.25 / 12 / 7,
        "M": 1.0,
    }
    assert {c: units.periods_per_year(c) for c in "WMQY"} == {
        "W": 365.25 / 7,
        "M": 12.0,
        "Q": 4.0,
        "Y": 1.0,
    }


def test_every_period_agrees_with_itself():
    for code, period in units.PERIODS.items():
        assert period.code == code
        assert period.days * period.per_year == pytest.approx(365.25)
        assert period.per_month * 12 == pytest.approx(period.per_year)
    assert units.CODES == ("D", "W", "M", "Q", "Y")


def test_names_and_sql_units():
    names = [units.period_name(c) for c in units.CODES]
    assert names == ["day", "week", "month", "quarter", "year"]
    assert units.period_name("Q", 2) == "quarters"
    assert units.period_name("W", 0) == "weeks"
    # engine._PERIOD_START's DATE_TRUNC units
    assert {c: units.period(c).sql_unit for c in "WMQY"} == {
        "W": "week",
        "M": "month",
        "Q": "quarter",
        "Y": "year",
    }


def test_months_to_periods():
    assert units.months_to_periods(12, "M") == 12.0
    assert units.months_to_periods(6, "W") == 6 * (365.25 / 12 / 7)
    assert units.months_to_periods(12, "Y") == pytest.approx(1.0)


def test_an_unknown_code_is_a_parameter_error_naming_the_codes_the_caller_supports():
    with pytest.raises(ValueError) as caught:
        units.days("Q", codes=("D", "W", "M"), caller="rfm_summary")
    assert str(caught.value) == (
        "The 'freq' parameter of rfm_summary must be one of ['D', 'W', 'M']. Got 'Q' instead."
    )
    with pytest.raises(ParameterError, match="The 'period' parameter of f must be one of"):
        units.period("week", name="period", caller="f")


def test_a_patched_entry_is_read_at_call_time(monkeypatch):
    patched = units.Period("W", 7.0, 4.345, 52.0, "week", "weeks", "week")
    monkeypatch.setitem(units.PERIODS, "W", patched)
    assert units.periods_per_month("W") == 4.345


# ---- the date coercer


def test_an_aware_date_is_converted_to_utc_then_made_naive():
    stamp = dates.to_timestamp("2024-12-31T23:30:00-02:00", "end", caller="f")
    assert stamp == pd.Timestamp("2025-01-01 01:30")
    assert stamp.tzinfo is None
    berlin = pd.Timestamp("2024-06-01 00:30", tz="Europe/Berlin")
    assert dates.to_timestamp(berlin, "end", caller="f") == pd.Timestamp("2024-05-31 22:30")


def test_naive_dates_of_every_kind_are_taken_as_they_are():
    expected = pd.Timestamp("2024-03-05 14:00")
    for value in (
        "2024-03-05 14:00",
        dt.datetime(2024, 3, 5, 14),
        np.datetime64("2024-03-05T14:00"),
        expected,
    ):
        assert dates.to_timestamp(value, "end", caller="f") == expected
    assert dates.to_timestamp(dt.date(2024, 3, 5), "end", caller="f") == pd.Timestamp("2024-03-05")
    assert dates.to_timestamp(expected, "end", caller="f", normalize=True) == expected.normalize()


@pytest.mark.parametrize("value", [None, pd.NaT, "yesterday", "", 20240101, 1.5, True, [1]])
def test_anything_else_is_the_parameter_error(value):
    with pytest.raises(ValueError) as caught:
        dates.to_timestamp(value, "cutoff", caller="churn_model")
    assert str(caught.value) == (
        f"The 'cutoff' parameter of churn_model must be a date. Got {value!r} instead."
    )


def test_the_words_of_a_date_can_be_the_callers():
    with pytest.raises(ValueError, match="must be a date such as '2024-12-31'. Got 'x' instead"):
        dates.to_timestamp("x", "observation_end", caller="f", must="a date such as '2024-12-31'")


# ---- parameter constraints and the one template


def test_the_one_template():
    error = param_error("n", 0, "a positive integer", caller="f")
    assert isinstance(error, ValueError) and isinstance(error, TypeError)
    assert str(error) == "The 'n' parameter of f must be a positive integer. Got 0 instead."
    shown = param_error("tx", pd.DataFrame(), Interval(int, 1, None), caller="f", got="DataFrame")
    assert str(shown) == "The 'tx' parameter of f must be an integer >= 1. Got DataFrame instead."


@pytest.mark.parametrize(
    ("constraint", "good", "bad", "words"),
    [
        (Interval(int, 1, None), [1, np.int64(7)], [0, 1.0, True, "1", None], "an integer >= 1"),
        (Interval(float, 0, 1, closed="neither"), [0.5, 0.1], [0, 1, np.nan], "in (0, 1)"),
        (Interval(float, 0, 1, closed="left"), [0, 0.99], [1, -0.1, False], "in [0, 1)"),
        (Interval(float, 0, 1, closed="right"), [1, 0.01], [0, 1.5], "in (0, 1]"),
        (Interval(float, 0.5, 1), [0.5, 1], [0.49], "in [0.5, 1]"),
        (Interval(float, 0, None), [0, 1e9], [-1, np.inf * -1], "a number >= 0"),
        (Interval(int, None, 10, closed="neither"), [9, -3], [10], "an integer < 10"),
        (Options(("D", "W")), ["D", np.str_("W")], ["M", "d", None, ["D"]], "one of ['D', 'W']"),
        (Options((1, 2)), [1, 2.0], [True, 3], "one of [1, 2]"),
        (InstanceOf(dict), [{}], [[]], "a dict"),
        (InstanceOf((pd.Series, pd.DataFrame)), [pd.Series()], [[1]], "a Series or a DataFrame"),
        (Satisfies(lambda v: v > 2, "above 2"), [3], [1, "x"], "above 2"),
    ],
)
def test_constraints_hold_for_good_values_and_not_for_bad_ones(constraint, good, bad, words):
    assert constraint.words == words
    for value in good:
        assert check_param("x", value, constraint, caller="f") is value
    for value in bad:
        with pytest.raises(ParameterError) as caught:
            check_param("x", value, constraint, caller="f")
        expected = f"The 'x' parameter of f must be {words}. Got {value!r} instead."
        assert str(caught.value) == expected


def test_a_list_of_constraints_means_any_of_them():
    either = [Interval(int, 1, None, words="a positive integer"), None]
    assert check_param("n", None, either, caller="f") is None
    assert check_param("n", 3, either, caller="f") == 3
    with pytest.raises(ParameterError, match=r"must be a positive integer or None\. Got 'a'"):
        check_param("n", "a", either, caller="f")
    with pytest.raises(ParameterError, match=r"must be a dict or None\. Got \[\] instead"):
        check_param("opts", [], [dict, None], caller="f")


def test_words_replace_the_generated_description():
    days = Interval(float, 0, None, closed="neither", words="a positive number of days")
    with pytest.raises(ValueError, match="must be a positive number of days. Got -1 instead"):
        check_param("threshold_days", -1, days, caller="f")


def test_validate_params_checks_arguments_and_defaults_before_the_function_runs():
    calls = []

    @validate_params({"n": Interval(int, 1, None), "how": Options(("a", "b"))})
    def f(x, n=2, *, how="a"):
        calls.append((x, n, how))
        return x

    assert f("x", 3, how="b") == "x"
    with pytest.raises(ParameterError, match="The 'how' parameter of f must be one of"):
        f("x", how="c")
    with pytest.raises(ParameterError, match="The 'n' parameter of f must be an integer >= 1"):
        f("x", 0)
    assert calls == [("x", 3, "b")]
    assert f.__name__ == "f"

    @validate_params({"n": Interval(int, 1, None)}, caller="cxlib.g")
    def g(n):
        return n

    with pytest.raises(ParameterError, match="parameter of cxlib.g must"):
        g(-1)
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['m'\]"):
        validate_params({"m": None})(g)


def test_the_shortcuts_keep_their_words_and_conversions():
    assert params.check_positive_int(np.int64(3), "n", caller="f") == 3
    assert type(params.check_positive_int(np.int64(3), "n", caller="f")) is int
    assert params.check_fraction(1 / 2, "p", caller="f") == 0.5
    for bad in (0, True, 2.0, -1):
        with pytest.raises(ValueError, match="must be a positive integer. Got"):
            params.check_positive_int(bad, "n", caller="f")
    for bad in (0, 1, 95, True, np.nan):
        with pytest.raises(ValueError, match="must be a number strictly between 0 and 1. Got"):
            params.check_fraction(bad, "p", caller="f")
