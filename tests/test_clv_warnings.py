"""The CLV models' warnings: raised by ``fit``, true on the numbers, never from a NaN.

A purchase model at its no-dropout bound warns about "dropout"; compared models warn that they
are indistinguishable only when their likelihoods are equal; the spend model warns on
correlated and on constant spend, and a correlation it cannot compute is never compared with
its threshold. CDNOW (a real client with dropout) gives none of these warnings.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import (
    PurchaseModel,
    SpendModel,
    customer_value,
    dropout_at_bound,
    fit_customer_value,
    holdout_summary,
    rfm_summary,
    same_likelihood,
    select_model,
    spend_correlation,
    total_interval,
)
from cxlib.clv.holdout import SAME_LIKELIHOOD_PER_CUSTOMER
from cxlib.clv.purchase import DROPOUT_AT_BOUND
from cxlib.data.datasets import load_cdnow_summary, load_cdnow_transactions
from cxlib.demo import DEFAULT_SEGMENTS, make_demo
from cxlib.report.headlines import load_headlines, save_headlines
from cxlib.settings.units import periods_per_month


def _real_data() -> Path | None:
    """The shared real exports (``$CXLIB_REAL_DATA``, or ``shared/data/real`` up the tree)."""
    here = Path(__file__).resolve().parents[1]
    candidates = [
        os.environ.get("CXLIB_REAL_DATA", ""),
        *(p / "shared" / "data" / "real" for p in here.parents),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


REAL = _real_data()


@pytest.fixture(scope="module")
def wholesale():
    """A client nobody leaves: every demo segment with a dropout probability of about 1e-5."""
    segments = {
        name: {"a": 0.01, "b": 1_000.0, "satisfaction_dropout_slope": 0.0}
        for name in DEFAULT_SEGMENTS
    }
    return make_demo(n_customers=500, seed=13, segments=segments).transactions


@pytest.fixture(scope="module")
def wholesale_fit(wholesale):
    """fit_customer_value on the wholesale client, with the warnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_customer_value(wholesale)
    return fit, [str(w.message) for w in caught if w.category is UserWarning]


@pytest.fixture(scope="module")
def wholesale_summary(wholesale):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # refund-only customers left out
        return rfm_summary(wholesale, freq="W")


def _opportunities_without_dropout(n=5_000, T=20, seed=1):
    """A BG/BB summary of customers who never drop out: Bernoulli buyers at every opportunity.

    (On some samples the likelihood's maximum is interior with a tiny dropout, e.g. seed 0;
    on this one it is at the bound, as for most samples.)
    """
    rng = np.random.default_rng(seed)
    p = rng.beta(2.0, 3.0, n)  # each customer's purchase probability per opportunity
    buys = rng.random((n, T)) < p[:, None]
    x = buys.sum(axis=1)
    last = np.where(x > 0, T - np.argmax(buys[:, ::-1], axis=1), 0)
    return pd.DataFrame({"frequency": x, "recency": last, "T": T}).astype(float)


@pytest.fixture(scope="module")
def cdnow_transactions():
    if REAL is None or not (REAL / "cdnow" / "transactions.csv.gz").is_file():
        pytest.skip("the shared real exports (shared/data/real/cdnow) are not on this machine")
    import cxlib

    return cxlib.open_client(REAL / "cdnow" / "client.yaml", cache=False).transactions


# --- the dropout bound -----------------------------------------------------------------------


# Pareto/NBD's likelihood is slow along its no-dropout ridge (beta -> inf): about 40 s here
@pytest.mark.parametrize(
    "kind", ["bgnbd", pytest.param("pareto_nbd", marks=pytest.mark.slow), "mbgnbd"]
)
def test_a_purchase_model_at_its_no_dropout_bound_warns_about_dropout(kind, wholesale_summary):
    with pytest.warns(UserWarning, match="dropout") as caught:
        model = PurchaseModel(kind).fit(wholesale_summary)
    bound = dropout_at_bound(model)
    assert bound.at_bound and bound.expected < DROPOUT_AT_BOUND
    assert any(bound.parameters in str(w.message) for w in caught)
    # stored on the model, word for word, with the numbers each sentence rests on
    assert model.warnings_ == [flag.message for flag in model.flags_]
    assert {str(w.message) for w in caught} >= set(model.warnings_)
    assert all(flag.holds for flag in model.flags_)
    assert "found no dropout" in model.warnings_[0]


def test_bgbb_at_its_no_dropout_bound_warns_about_dropout():
    summary = _opportunities_without_dropout()
    with pytest.warns(UserWarning, match="dropout"):
        model = PurchaseModel("bgbb").fit(summary)
    bound = dropout_at_bound(model)
    assert bound.at_bound and bound.unit == "opportunity"
    assert "gamma" in bound.parameters and all(flag.holds for flag in model.flags_)


def test_the_dropout_warning_is_raised_where_the_model_is_fitted_not_in_fit_customer_value(
    wholesale_summary,
):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PurchaseModel("bgnbd").fit(wholesale_summary)
    dropout = [w for w in caught if "dropout" in str(w.message)]
    assert dropout and all(w.category is UserWarning for w in dropout)
    assert all(w.filename == __file__ for w in dropout)  # attributed to the caller of fit


def test_a_model_with_dropout_is_not_at_its_bound_and_does_not_warn():
    summary = load_cdnow_summary()
    for kind in ("bgnbd", "pareto_nbd", "mbgnbd"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            model = PurchaseModel(kind).fit(summary)
        bound = dropout_at_bound(model)
        assert not bound.at_bound and bound.expected > 100 * DROPOUT_AT_BOUND
        assert model.warnings_ == [] and model.flags_ == []


# --- models with the same likelihood ---------------------------------------------------------


@pytest.mark.slow
def test_models_collapsed_to_no_dropout_are_indistinguishable_and_say_why(wholesale_fit):
    fit, issued = wholesale_fit
    selection = fit.selection
    (flag,) = selection.flags
    assert sum("indistinguishable" in message for message in issued) == 1
    assert flag.holds and "they all reduce to the same model" in flag.message
    spread = np.ptp(selection.table["log_likelihood"].to_numpy())
    assert flag.checks[1]["value"] == pytest.approx(spread)


@pytest.fixture(scope="module")
def cdnow_selection():
    holdout = holdout_summary(load_cdnow_transactions(), freq="W")  # the 1/10 sample
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return select_model(holdout)


def test_the_same_likelihood_tolerance_is_the_documented_spread_per_customer(cdnow_selection):
    assert cdnow_selection.flags == []  # CDNOW's models differ: no warning
    n = max(m.n_customers_ for m in cdnow_selection.models.values())
    tolerance = SAME_LIKELIHOOD_PER_CUSTOMER * n
    table = cdnow_selection.table
    base = float(table["log_likelihood"].iloc[0])
    # just within the tolerance: one flag, which says the data cannot tell the models apart
    # (they have dropout, so it does not claim they reduced to the NBD)
    within = base + np.linspace(0, 0.99 * tolerance, len(table))
    flags = same_likelihood(replace(cdnow_selection, table=table.assign(log_likelihood=within)))
    assert len(flags) == 1 and flags[0].holds
    assert "cannot tell them apart" in flags[0].message
    assert "reduce to the same model" not in flags[0].message
    beyond = base + np.linspace(0, 1.01 * tolerance, len(table))
    assert (
        same_likelihood(replace(cdnow_selection, table=table.assign(log_likelihood=beyond))) == []
    )
    nan = table.assign(log_likelihood=np.nan)  # never compared
    assert same_likelihood(replace(cdnow_selection, table=nan)) == []


def test_cdnow_gives_no_indistinguishable_and_no_dropout_warning(cdnow_transactions):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_customer_value(cdnow_transactions, freq="W")
    said = " ".join(str(w.message) for w in caught)
    assert "indistinguishable" not in said and "dropout" not in said
    assert "correlated" not in said and fit.warnings == []
    likelihoods = fit.selection.table["log_likelihood"]
    assert np.ptp(likelihoods) > SAME_LIKELIHOOD_PER_CUSTOMER * len(fit.holdout)
    assert not dropout_at_bound(fit.purchase_model).at_bound
    assert fit.spend_model.assumption_ok_ is True
    assert "small enough" in fit.spend_text


# --- spend ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "spend", "reason"),
    [
        ([1, 2], [5.0, 7.0], "a correlation needs at least 3"),
        ([2, 2, 2, 2], [5.0, 7.0, 9.0, 4.0], "the same frequency, 2"),
        ([1, 2, 3, 4], [1.0, 1.0, 1.0, 1.0], "average spend is 1.00"),
    ],
)
def test_a_correlation_that_cannot_be_computed_says_why_and_is_nan(frequency, spend, reason):
    r, why = spend_correlation(frequency, spend)
    assert np.isnan(r) and reason in why


def test_a_correlation_that_cannot_be_computed_is_never_compared_with_the_threshold():
    rng = np.random.default_rng(2)
    summary = pd.DataFrame({"frequency": 3.0, "monetary_value": rng.gamma(4.0, 10.0, 200)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SpendModel().fit(summary)
    assert not any("correlated" in str(w.message) for w in caught)
    assert np.isnan(model.correlation_) and model.assumption_ok_ is None
    assert model.warnings_ == [] and model.constant_spend_ is None
    assert "cannot be computed (every repeat customer has the same frequency, 3)" in (
        model.check_text
    )
    assert "nan" not in model.check_text and "above" not in model.check_text


def _with_constant_spend(summary, value):
    return summary.assign(monetary_value=np.where(summary["frequency"] > 0, value, 0.0))


def test_constant_spend_fits_no_spend_model_and_says_so():
    summary = _with_constant_spend(load_cdnow_summary(), 2.5)
    with pytest.warns(UserWarning, match="same average spend") as caught:
        model = SpendModel().fit(summary)
    assert not any("correlated" in str(w.message) for w in caught)
    assert model.constant_spend_ == 2.5 and model.params_.isna().all()
    assert np.isnan(model.correlation_) and model.assumption_ok_ is None
    assert "cannot be computed" in model.check_text and "nan" not in model.check_text
    assert model.warnings_ == [str(w.message) for w in caught if "same" in str(w.message)]
    assert all(flag.holds for flag in model.flags_)
    np.testing.assert_array_equal(model.expected_spend(summary), 2.5)


def test_constant_spend_clv_is_expected_purchases_times_the_constant_times_margin_discounted():
    summary = _with_constant_spend(load_cdnow_summary(), 2.5)
    purchases = PurchaseModel("bgnbd").fit(summary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        spend = SpendModel().fit(summary)
    values = customer_value(
        summary, purchases, spend, horizon_months=3, discount_rate=0.2, margin=0.4
    )
    per_month = periods_per_month("W")
    by = [purchases.predict_purchases(summary, m * per_month) for m in (1, 2, 3)]
    discounted = by[0] / 1.2 ** (1 / 12) + (by[1] - by[0]) / 1.2 ** (2 / 12)
    discounted += (by[2] - by[1]) / 1.2 ** (3 / 12)
    np.testing.assert_allclose(values["clv"], 0.4 * 2.5 * discounted, rtol=1e-9)
    np.testing.assert_allclose(values["expected_revenue"], 2.5 * by[2], rtol=1e-9)
    # the parameter interval comes from the purchase model alone, and is finite
    band = total_interval(summary, purchases, spend, horizon_months=3, margin=0.4)
    row = band.iloc[-1]
    assert np.isfinite(row[["param_low", "param_high"]]).all()
    assert row["param_low"] < row["total"] < row["param_high"]


def test_fit_customer_value_on_a_log_of_one_amount_per_purchase_uses_the_constant(small_demo):
    # one purchase of 1.0 per customer and month: a log without spend, like the grocery one
    tx = small_demo.transactions.assign(month=small_demo.transactions["date"].dt.to_period("M"))
    tx = tx.drop_duplicates(["customer_id", "month"]).drop(columns="month")
    tx = tx.assign(amount=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_customer_value(tx, freq="M", margin=0.5)
    assert fit.spend_model.constant_spend_ == 1.0
    assert any("same average spend" in str(w.message) for w in caught)
    assert set(fit.spend_model.warnings_) <= set(fit.warnings)
    assert "expected purchases times 1.00, times the 50% margin" in fit.spend_text
    expected = customer_value(
        fit.summary, fit.purchase_model, fit.spend_model, freq="M", margin=0.5
    )
    pd.testing.assert_series_equal(fit.values["clv"], expected["clv"])
    assert (fit.values["expected_spend"] == 1.0).all()


# --- the same words in the headlines, with their evidence ------------------------------------


@pytest.mark.slow
def test_fit_customer_value_issues_each_warning_once_and_keeps_the_same_words(wholesale_fit):
    fit, issued = wholesale_fit
    # the refit's flags and the comparison's, each issued once; the calibration candidates'
    # own flags stay on them and are not issued again
    assert sorted(m for m in issued if m in fit.warnings) == sorted(fit.warnings)
    assert len(fit.warnings) == 3 and "found no dropout" in fit.warnings[0]
    calibration = [m for model in fit.selection.models.values() for m in model.warnings_]
    assert calibration and not set(calibration) & set(issued)
    assert fit.purchase_warnings == fit.warnings  # the spend model has nothing to say here


@pytest.mark.slow
def test_each_warning_is_a_headline_with_evidence_that_holds(wholesale_fit, tmp_path):
    from cxlib.clv import clv_headlines

    fit, _ = wholesale_fit
    total = pd.Series({"total": 1.0, "total_low": 0.5, "total_high": 1.5})
    gains = pd.DataFrame({"uplift": [0.0], "uplift_share": [0.0], "basis": "margin"}, index=[12])
    scenario = type("S", (), {"retention_gain": 0.05, "horizons": gains})()
    headlines = clv_headlines(fit, total, 0.5, scenario, retention_gain=0.05, currency="EUR")
    assert headlines[0].label.startswith(f"Total {fit.values.attrs['horizon_months']}-month CLV")
    flagged = [h for h in headlines if h.key.endswith("_warning")]
    assert [h.value for h in flagged] == fit.warnings and len(flagged) == 3
    assert all(h.unit == "text" and h.evidence["checks"] for h in flagged)
    path = tmp_path / "04_clv.json"
    save_headlines("04_clv", headlines, path=path)
    written = json.loads(path.read_text())
    assert [row["evidence"] for row in written if row["key"].endswith("_warning")] == [
        h.evidence for h in flagged
    ]
    loaded = load_headlines(tmp_path)
    assert loaded.loc[loaded["key"].str.endswith("_warning"), "evidence"].notna().all()


def test_a_holdout_without_purchases_names_why_no_model_can_be_chosen():
    from cxlib import DataError

    summary = load_cdnow_summary().assign(frequency_holdout=0.0, duration_holdout=39.0)
    with pytest.raises(DataError, match="holdout has no purchase .* cannot be computed"):
        select_model(summary)
    forced = select_model(summary, kind="bgnbd")  # a named model needs no ranking
    assert forced.kind == "bgnbd" and forced.table["relative_error"].isna().all()
