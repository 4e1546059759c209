from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError
from cxlib.nps import (
    NPSResult,
    nps,
    nps_by,
    nps_category,
    nps_difference,
)

# Hand-computed case used throughout: [10, 9, 8, 7, 3] * 10 is 50 answers with
# P = 20/50 = 0.4 (the 10s and 9s), passives 20/50 = 0.4 (8s and 7s), D = 10/50 = 0.2 (3s).
HAND = [10, 9, 8, 7, 3] * 10


def test_nps_matches_the_trinomial_formula_on_a_hand_computed_case():
    result = nps(HAND)
    p, d, n = 0.4, 0.2, 50
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / n)  # = 100 * sqrt(0.56 / 50) = 10.583
    assert result.score == pytest.approx(20.0)
    assert result.se == pytest.approx(se)
    assert result.se == pytest.approx(10.583005, abs=1e-6)
    assert result.ci_low == pytest.approx(20 - 1.959964 * se, abs=1e-4)
    assert result.ci_high == pytest.approx(20 + 1.959964 * se, abs=1e-4)
    assert (result.n, result.promoters, result.passives, result.detractors) == (50, 0.4, 0.4, 0.2)


def test_adjusted_wald_adds_three_quarters_to_promoters_and_detractors_and_three_to_n():
    result = nps(HAND, method="adjusted_wald")
    n_adj = 53
    p, d = (20 + 0.75) / n_adj, (10 + 0.75) / n_adj
    centre = 100 * (p - d)
    se = 100 * math.sqrt((p + d - (p - d) ** 2) / n_adj)
    assert result.score == pytest.approx(20.0)  # the point estimate stays the plain NPS
    assert result.se == pytest.approx(se)
    assert result.ci_low == pytest.approx(centre - 1.959964 * se, abs=1e-4)
    assert result.ci_high == pytest.approx(centre + 1.959964 * se, abs=1e-4)


def test_bootstrap_interval_is_close_to_the_wald_interval_and_reproducible():
    scores = [10, 9, 8, 7, 3] * 100
    wald = nps(scores)
    boot = nps(scores, method="bootstrap", seed=3)
    assert boot.ci_low == pytest.approx(wald.ci_low, abs=1.5)
    assert boot.ci_high == pytest.approx(wald.ci_high, abs=1.5)
    assert boot.se == pytest.approx(wald.se, rel=0.1)
    assert nps(scores, method="bootstrap", seed=3) == boot


def test_all_promoters_give_100_with_a_zero_width_wald_interval_but_a_real_adjusted_one():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wald = nps([10, 9, 10, 9] * 10)
        adjusted = nps([10, 9, 10, 9] * 10, method="adjusted_wald")
    assert (wald.score, wald.ci_low, wald.ci_high, wald.se) == (100.0, 100.0, 100.0, 0.0)
    assert adjusted.ci_high == 100.0  # clipped
    assert adjusted.ci_low < 95.0


def test_a_single_answer_is_scored_and_warns_that_n_is_too_small():
    with pytest.warns(UserWarning, match="only 1 answer"):
        result = nps([3])
    assert (result.score, result.n, result.detractors) == (-100.0, 1, 1.0)
    assert -100.0 <= result.ci_low <= result.ci_high <= 100.0


def test_intervals_are_clipped_to_the_nps_range():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = nps([10, 10, 10, 0])  # 50 +- 1.96 * 43.3: the upper end passes 100
    assert result.ci_high == 100.0 and result.ci_low == pytest.approx(50 - 1.959964 * 43.30127)


def test_empty_input_raises_a_clear_data_error():
    with pytest.raises(DataError, match="no scores given"):
        nps([])


def test_non_integer_and_out_of_range_scores_are_named_with_their_rows():
    scores = pd.Series([10, 7.5, 11, -1, 5, None, "x"])
    with pytest.raises(DataError, match=r"5 score\(s\) are not integers in 0..10: row 1: 7.5"):
        nps(scores)


def test_float_scores_that_are_whole_numbers_are_accepted():
    assert nps(np.array([10.0, 0.0] * 20)).score == 0.0


def test_thresholds_are_overridable_and_checked():
    # promoter_min=8 makes the two 8s promoters: P = 30/50, D = 10/50 -> 40
    assert nps(HAND, promoter_min=8).score == pytest.approx(40.0)
    with pytest.raises(ValueError, match="The 'detractor_max' parameter of nps must be below"):
        nps(HAND, promoter_min=6, detractor_max=6)
    with pytest.raises(ValueError, match="The 'method' parameter of nps must be one of"):
        nps(HAND, method="wilson")
    with pytest.raises(ValueError, match="The 'confidence' parameter of nps"):
        nps(HAND, confidence=95)


def test_a_wider_confidence_gives_a_wider_interval():
    narrow, wide = nps(HAND, confidence=0.8), nps(HAND, confidence=0.99)
    assert wide.ci_high - wide.ci_low > narrow.ci_high - narrow.ci_low


def test_the_result_is_frozen_and_prints_in_plain_words():
    result = nps(HAND)
    with pytest.raises(AttributeError):
        result.score = 0  # type: ignore[misc]
    assert str(result) == "NPS +20.0 (95% CI -0.7 to +40.7, n=50)"


def test_nps_category_labels_each_answer():
    labels = nps_category(pd.Series([0, 6, 7, 8, 9, 10], index=list("abcdef")))
    assert labels.tolist() == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
    assert list(labels.index) == list("abcdef")


def test_nps_difference_adds_variances_and_tests_with_z():
    a, b = [10] * 60 + [5] * 40, [10] * 50 + [5] * 50
    diff = nps_difference(a, b)
    se_a = 100 * math.sqrt((0.6 + 0.4 - 0.2**2) / 100)
    se_b = 100 * math.sqrt((0.5 + 0.5 - 0.0**2) / 100)
    se = math.sqrt(se_a**2 + se_b**2)
    assert diff.difference == pytest.approx(20.0)
    assert diff.se == pytest.approx(se)
    assert diff.z == pytest.approx(20.0 / se)
    assert diff.p_value == pytest.approx(0.1532, abs=1e-3)
    assert not diff.significant
    big = nps_difference(a * 10, b * 10)
    assert big.significant and big.p_value < 0.001


def test_nps_difference_accepts_results_already_computed():
    a, b = nps([10] * 40), nps([0] * 40)
    diff = nps_difference(a, b)
    assert diff.difference == 200.0 and diff.p_value == 0.0 and diff.significant
    assert isinstance(diff.a, NPSResult)


def test_nps_by_group_matches_nps_on_each_group():
    answers = pd.DataFrame({"segment": ["a", "a", "b", "b", "b"], "score": [10, 9, 3, 8, 10]})
    table = nps_by(answers, by="segment", min_n=3)
    assert table["segment"].tolist() == ["a", "b"]
    assert table["n"].tolist() == [2, 3]
    assert table["score"].tolist() == pytest.approx([100.0, 0.0])
    assert table["reliable"].tolist() == [False, True]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert table.loc[1, "ci_low"] == pytest.approx(nps([3, 8, 10]).ci_low)


def test_nps_by_period_tests_each_change_against_the_previous_period():
    dates = pd.to_datetime(["2024-01-05"] * 100 + ["2024-02-10"] * 100)
    scores = [10] * 50 + [3] * 50 + [10] * 80 + [3] * 20
    answers = pd.DataFrame({"date": dates, "score": scores})
    table = nps_by(answers, freq="M")
    assert table["period"].tolist() == list(pd.to_datetime(["2024-01-01", "2024-02-01"]))
    assert table["score"].tolist() == pytest.approx([0.0, 60.0])
    assert math.isnan(table.loc[0, "change"])
    expected = nps_difference(scores[100:], scores[:100])
    assert table.loc[1, "change"] == pytest.approx(60.0)
    assert table.loc[1, "change_p_value"] == pytest.approx(expected.p_value)
    assert table["change_significant"].tolist() == [False, True]


def test_nps_by_names_missing_columns():
    with pytest.raises(DataError, match=r"nps_by: missing column\(s\) \['segment'\]"):
        nps_by(pd.DataFrame({"score": [1]}), by="segment")
    with pytest.raises(ValueError, match="The 'freq' parameter of nps_by"):
        nps_by(
            pd.DataFrame({"score": [1], "date": pd.to_datetime(["2024-01-01"])}), freq="fortnight"
        )


def test_nps_does_not_mutate_its_input():
    answers = pd.DataFrame({"segment": ["a", "b"], "score": [10, 3]})
    before = answers.copy()
    nps_by(answers, by="segment")
    nps(answers["score"])
    pd.testing.assert_frame_equal(answers, before)
