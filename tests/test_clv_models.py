"""cxlib's own purchase, spend and retention models against their papers and lifetimes.

lifetimes appears here only as a reference; fitting and scoring never import it.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from cxlib import DataError
from cxlib.clv import (
    PurchaseModel,
    RetentionModel,
    SpendModel,
    bgbb,
    bgnbd,
    clv_interval,
    cohort_frame,
    contractual_value,
    customer_value,
    mbgnbd,
    pareto_nbd,
)
from cxlib.clv._rows import Rows
from cxlib.clv.retention import sbg_log_likelihood
from cxlib.clv.spend import gamma_gamma_log_likelihood
from cxlib.data.datasets import (
    CDNOW_PUBLISHED_PARETO_NBD,
    DONATIONS_PUBLISHED_BGBB,
    load_cdnow_summary,
    load_donations,
)

MODULES = {"bgnbd": bgnbd, "mbgnbd": mbgnbd, "pareto_nbd": pareto_nbd, "bgbb": bgbb}
CONTINUOUS = ["bgnbd", "pareto_nbd", "mbgnbd"]


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def models(cdnow):
    return {kind: PurchaseModel(kind).fit(cdnow) for kind in CONTINUOUS}


def _rows(summary):
    return Rows(*(summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")))


# ------------------------------------------------------------------------------------------------
# Likelihoods: exact gradients, lifetimes' values, every customer finite
# ------------------------------------------------------------------------------------------------

GRADIENT_CASES = [
    ("bgnbd", [0.3, 4.0, 0.7, 2.2]),
    ("mbgnbd", [0.5, 6.0, 0.4, 3.0]),
    ("pareto_nbd", [0.55, 10.6, 0.6, 11.7]),  # alpha < beta
    ("pareto_nbd", [0.55, 11.0, 1.6, 2.0]),  # alpha > beta
]


@pytest.mark.parametrize(("kind", "params"), GRADIENT_CASES)
def test_likelihood_gradients_equal_finite_differences(cdnow, kind, params):
    rows = _rows(cdnow)
    params = np.array(params)
    _, grad = MODULES[kind].log_likelihood(params, rows)
    numeric = approx_fprime(params, lambda p: MODULES[kind].log_likelihood(p, rows)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=2e-4, atol=1e-3)


def test_bgbb_sbg_and_gamma_gamma_gradients_equal_finite_differences(cdnow):
    donations = load_donations()
    rows = _rows(donations)
    params = np.array([1.1, 0.8, 0.7, 2.5])
    numeric = approx_fprime(params, lambda p: bgbb.log_likelihood(p, rows)[0], 1e-7)
    np.testing.assert_allclose(bgbb.log_likelihood(params, rows)[1], numeric, rtol=1e-4)
    frame = cohort_frame([1000, 631, 468, 382, 326, 289, 262, 241])
    t, c, w = frame["tenure"].to_numpy(float), frame["churned"].to_numpy(), np.ones(len(frame))
    sbg = np.array([0.8, 1.3])
    numeric = approx_fprime(sbg, lambda p: sbg_log_likelihood(p, t, c, w)[0], 1e-7)
    np.testing.assert_allclose(sbg_log_likelihood(sbg, t, c, w)[1], numeric, rtol=1e-4)
    repeat = cdnow[cdnow["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy()
    gg = np.array([6.0, 3.5, 15.0])
    numeric = approx_fprime(gg, lambda p: gamma_gamma_log_likelihood(p, x, m)[0], 1e-7)
    got = gamma_gamma_log_likelihood(gg, x, m)[1]
    np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "params", [[0.5533, 10.578, 0.6063, 11.669], [0.55, 3.0, 0.6, 11.7], [0.55, 11.0, 1.6, 2.0]]
)
def test_pareto_nbd_likelihood_equals_lifetimes_per_customer(cdnow, params):
    from lifetimes import ParetoNBDFitter

    rows = _rows(cdnow)
    expected = ParetoNBDFitter._conditional_log_likelihood(params, rows.x, rows.tx, rows.T)
    got = pareto_nbd._row_terms(np.array(params), rows.x, rows.tx, rows.T)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-10)


def test_pareto_nbd_reproduces_the_published_cdnow_estimates(models):
    expected = pd.Series(CDNOW_PUBLISHED_PARETO_NBD)
    np.testing.assert_allclose(models["pareto_nbd"].params_[expected.index], expected, rtol=0.005)


HEAVY = pd.DataFrame(
    {
        "frequency": [130.0, 132.0, 0.0, 5.0, 40.0, 1.0],
        "recency": [145.0, 200.0, 0.0, 30.0, 30.0, 200.0],
        "T": [145.0, 200.0, 145.0, 30.0, 200.0, 200.0],
    },
    index=["heavy_145", "heavy_200", "no_repeat", "recency_T", "gone_quiet", "late"],
)


@pytest.mark.parametrize("kind", CONTINUOUS)
def test_every_model_is_finite_and_in_range_for_heavy_buyers(models, kind):
    model = models[kind]
    alive = model.p_alive(HEAVY)
    assert alive.between(0, 1).all() and np.isfinite(alive).all()
    for t in (1.0, 52.0, 520.0):
        purchases = model.predict_purchases(HEAVY, t)
        assert np.isfinite(purchases).all() and (purchases >= 0).all()
    # a heavy buyer who just bought is likely alive and keeps buying at about their rate
    assert alive["heavy_145"] > 0.9
    assert model.predict_purchases(HEAVY, 52.0)["heavy_145"] > 20
    assert alive["gone_quiet"] < alive["heavy_200"]
    ll, grad = MODULES[kind].log_likelihood(model.params_.to_numpy(), _rows(HEAVY))
    assert np.isfinite(ll) and np.isfinite(grad).all()


def test_pareto_nbd_heavy_buyer_matches_lifetimes_where_lifetimes_is_finite(models):
    from lifetimes import ParetoNBDFitter

    model = models["pareto_nbd"]
    fitter = ParetoNBDFitter()
    fitter.params_ = model.params_.copy()
    x, tx, T = (HEAVY[c].to_numpy() for c in ("frequency", "recency", "T"))
    with np.errstate(all="ignore"):
        reference = fitter.conditional_probability_alive(x, tx, T)
    finite = np.isfinite(reference)
    assert not finite.all()  # lifetimes' NaN for heavy buyers: the reason for cxlib's own code
    np.testing.assert_allclose(model.p_alive(HEAVY)[finite], reference[finite], rtol=1e-8)


@pytest.mark.parametrize(
    ("kind", "fitter_name", "n_max"),
    [("bgnbd", "BetaGeoFitter", 6), ("mbgnbd", "ModifiedBetaGeoFitter", 8)],
)
def test_purchase_probability_equals_lifetimes_and_sums_to_one(models, kind, fitter_name, n_max):
    import lifetimes

    model = models[kind]
    fitter = getattr(lifetimes, fitter_name)()
    fitter.params_ = model.params_.copy()
    n = np.arange(n_max)
    expected = [fitter.probability_of_n_purchases_up_to_time(39.0, k) for k in n]
    np.testing.assert_allclose(model.purchase_probability(n, 39.0), expected, rtol=1e-8)
    everything = model.purchase_probability(np.arange(2000), 52.0)
    assert everything.sum() == pytest.approx(1.0, abs=1e-9)
    mean = (np.arange(2000) * everything).sum()
    assert mean == pytest.approx(model.expected_repeat_purchases(52.0), rel=1e-6)


def test_mbgnbd_purchase_probability_of_no_purchase_tends_to_dropping_at_time_zero(models):
    model = models["mbgnbd"]
    # leaving at time zero: as t grows, P(no repeat purchase) tends to E[p] = a / (a + b)
    r, alpha, a, b = model.params_
    assert model.purchase_probability(0, 1e7) == pytest.approx(a / (a + b), rel=1e-3)


# ------------------------------------------------------------------------------------------------
# BG/BB (Fader, Hardie & Shang 2010)
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def donations_model():
    return PurchaseModel("bgbb").fit(load_donations())


def test_bgbb_reproduces_the_published_donations_estimates_within_1_percent(donations_model):
    expected = pd.Series(DONATIONS_PUBLISHED_BGBB)
    assert list(donations_model.params_.index) == list(expected.index)
    np.testing.assert_allclose(donations_model.params_, expected, rtol=0.01)
    assert donations_model.log_likelihood_ == pytest.approx(-33225.6, abs=0.1)
    assert donations_model.n_customers_ == 11104


def test_bgbb_predictions_equal_lifetimes(donations_model):
    from lifetimes import BetaGeoBetaBinomFitter

    donations = load_donations()
    fitter = BetaGeoBetaBinomFitter()
    fitter.params_ = donations_model.params_.copy()
    x, tx, n = (donations[c].to_numpy() for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(
        donations_model.p_alive(donations), fitter.conditional_probability_alive(1, x, tx, n)
    )
    np.testing.assert_allclose(
        donations_model.predict_purchases(donations, 5),
        fitter.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n),
        rtol=1e-9,
    )
    # a new donor's expected donations in n opportunities (Fader, Hardie & Shang 2010, eq. 9)
    from scipy.special import gammaln

    al, be, ga, de = donations_model.params_
    n = 5.0
    ratio = np.exp(gammaln(ga + de) + gammaln(1 + de + n) - gammaln(ga + de + n) - gammaln(1 + de))
    expected = al / (al + be) * de / (ga - 1) * (1 - ratio)
    assert donations_model.expected_repeat_purchases(n) == pytest.approx(expected, rel=1e-10)


def test_bgbb_purchase_probability_equals_lifetimes_and_the_donations_data(donations_model):
    from lifetimes import BetaGeoBetaBinomFitter

    donations = load_donations()
    fitter = BetaGeoBetaBinomFitter()
    fitter.params_ = donations_model.params_.copy()
    fitter.data = pd.DataFrame({"frequency": donations["frequency"], "weights": 1.0})
    expected = fitter.expected_number_of_transactions_in_first_n_periods(6)["model"] / 11104
    p = donations_model.purchase_probability(np.arange(7), 6)
    np.testing.assert_allclose(p, expected.to_numpy(), rtol=1e-9)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    # the paper's model fit: 31% of the 1995 cohort never donated again in six years
    observed = donations["frequency"].value_counts(normalize=True).sort_index()
    assert observed.loc[0] == pytest.approx(3464 / 11104)
    np.testing.assert_allclose(p, observed.to_numpy(), atol=0.01)
    assert (np.arange(7) * p).sum() == pytest.approx(
        donations_model.expected_repeat_purchases(6.0), rel=1e-9
    )
    assert donations_model.purchase_probability(7, 6) == 0.0
    with pytest.raises(ValueError, match="whole opportunities"):
        donations_model.purchase_probability(1, 2.5)


def test_bgbb_refuses_fractional_opportunities():
    summary = pd.DataFrame({"frequency": [1.0, 2.0], "recency": [1.5, 2.0], "T": [3.0, 3.0]})
    with pytest.raises(DataError, match="whole numbers with frequency <= recency <= T"):
        PurchaseModel("bgbb").fit(summary)


# ------------------------------------------------------------------------------------------------
# RetentionModel (Fader & Hardie 2007) and contractual value
# ------------------------------------------------------------------------------------------------

# Fader & Hardie (2007), table 1: % of customers surviving years 0..12, per cohort of 1,000;
# the sBG is fitted on years 1-7 and projects years 8-12.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]
PUBLISHED_SBG = {"regular": (0.704, 1.182), "high_end": (0.668, 3.806)}


@pytest.mark.parametrize(("cohort", "survivors"), [("regular", REGULAR), ("high_end", HIGH_END)])
def test_retention_model_reproduces_the_papers_cohorts_within_1_percent(cohort, survivors):
    model = RetentionModel().fit(cohort_frame(survivors[:8]))
    np.testing.assert_allclose(model.params_, PUBLISHED_SBG[cohort], rtol=0.01)
    # the projection to year 12 stays within 2.5 points of the observed survival
    projected = model.survival(np.arange(13))
    observed = np.array(survivors) / 1000
    assert projected[0] == 1.0
    assert np.abs(projected - observed).max() < 0.025


def test_retention_rates_rise_and_chain_into_survival():
    model = RetentionModel().fit(cohort_frame(REGULAR[:8]))
    t = np.arange(1, 13)
    rates = model.retention_rate(t)
    assert (np.diff(rates) > 0).all()
    np.testing.assert_allclose(np.cumprod(rates), model.survival(t), rtol=1e-12)
    np.testing.assert_allclose(
        model.churn_probability(t), model.survival(t - 1) - model.survival(t), rtol=1e-10
    )


def test_residual_lifetime_equals_the_discounted_sum_of_survival():
    model = RetentionModel().fit(cohort_frame(HIGH_END[:8]))
    d = 0.1
    k = np.arange(1, 3_000)
    for tenure in (0, 1, 5):
        direct = np.sum(model.survival(tenure + k) / model.survival(tenure) / (1 + d) ** (k - 1))
        assert model.residual_lifetime(tenure, d) == pytest.approx(direct, rel=1e-8)


def test_contractual_value_values_active_customers_by_their_tenure():
    frame = cohort_frame(REGULAR[:8])
    model = RetentionModel().fit(frame)
    values = contractual_value(frame, model, value_per_period=50.0, periods_per_year=1)
    assert (values.loc[frame["churned"], "clv"] == 0).all()
    active = values[~frame["churned"].to_numpy()]
    expected = 50.0 * model.residual_lifetime(7, 0.10)
    np.testing.assert_allclose(active["clv"], expected)
    # a customer of longer standing is worth more (the sorting effect)
    longer = pd.DataFrame({"tenure": [1, 10], "churned": [False, False]})
    worth = contractual_value(longer, model, value_per_period=1.0)["clv"]
    assert worth.iloc[1] > worth.iloc[0]


def test_retention_model_names_bad_rows():
    frame = pd.DataFrame({"tenure": [1, 0, 2.5], "churned": [True, True, False]})
    with pytest.raises(DataError, match=r"2 row\(s\) need a whole tenure"):
        RetentionModel().fit(frame)
    with pytest.raises(DataError, match="no customer has churned"):
        RetentionModel().fit(pd.DataFrame({"tenure": [1, 2], "churned": [False, False]}))


# ------------------------------------------------------------------------------------------------
# scikit-learn contract, intervals, no lifetimes at runtime
# ------------------------------------------------------------------------------------------------


def test_models_follow_the_scikit_learn_contract(cdnow):
    model = PurchaseModel("pareto_nbd", penalizer=0.01)
    assert model.get_params() == {
        "kind": "pareto_nbd",
        "penalizer": 0.01,
        "purchase_covariates": None,
        "dropout_covariates": None,
    }
    assert clone(model.set_params(kind="bgnbd")).kind == "bgnbd"
    assert SpendModel().get_params()["max_correlation"] == 0.3
    for unfitted, call in (
        (PurchaseModel(), lambda m: m.p_alive(cdnow)),
        (SpendModel(), lambda m: m.expected_spend(cdnow)),
        (RetentionModel(), lambda m: m.survival(3)),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call(unfitted)
    assert "params=" in repr(PurchaseModel().fit(cdnow))


def test_clv_interval_brackets_the_estimate_and_narrows_with_more_customers(cdnow):
    def width(summary):
        bands = clv_interval(
            summary, PurchaseModel().fit(summary), SpendModel().fit(summary), n_draws=60
        )
        assert (bands["clv_low"] <= bands["clv"]).all()
        assert (bands["clv"] <= bands["clv_high"]).all()
        return float((bands["clv_high"] - bands["clv_low"]).iloc[:50].mean())

    narrow = width(pd.concat([cdnow] * 4))
    wide = width(cdnow)
    assert narrow == pytest.approx(wide / 2, rel=0.25)  # standard errors shrink as 1/sqrt(n)


def test_total_interval_by_the_delta_method_agrees_with_parameter_draws(cdnow, models):
    from cxlib.clv import total_interval

    spend = SpendModel().fit(cdnow)
    segments = pd.Series(np.where(cdnow["frequency"] > 2, "frequent", "rare"), index=cdnow.index)
    delta = total_interval(cdnow, models["bgnbd"], spend, segments)
    draws = total_interval(cdnow, models["bgnbd"], spend, segments, method="draws", n_draws=400)
    assert list(delta.index) == ["frequent", "rare", "All customers"]
    assert delta.loc["All customers", "total"] == pytest.approx(delta["total"].iloc[:2].sum())
    width = draws["param_high"] - draws["param_low"]
    for bound in ("param_low", "param_high"):
        np.testing.assert_array_less(np.abs(delta[bound] - draws[bound]), 0.15 * width)
    # the customers' values move together: the total's interval is not the sum of theirs
    bands = clv_interval(cdnow, models["bgnbd"], spend, n_draws=100)
    summed = (bands["clv_high"] - bands["clv_low"]).sum()
    assert width["All customers"] < summed
    assert delta.loc["All customers", "param_low"] < delta.loc["All customers", "total"]


def test_fitting_and_scoring_never_import_lifetimes():
    code = (
        "import sys\n"
        "from cxlib.clv import PurchaseModel, SpendModel, customer_value, RetentionModel\n"
        "from cxlib.clv import cohort_frame\n"
        "from cxlib.data.datasets import load_cdnow_summary, load_donations\n"
        "from cxlib.data.datasets import load_cdnow_transactions\n"
        "s = load_cdnow_summary(); load_cdnow_transactions()\n"
        "for kind in ('bgnbd', 'pareto_nbd', 'mbgnbd'):\n"
        "    m = PurchaseModel(kind).fit(s); m.p_alive(s); m.predict_purchases(s, 10)\n"
        "    customer_value(s, m, SpendModel().fit(s))\n"
        "PurchaseModel('bgbb').fit(load_donations())\n"
        "RetentionModel().fit(cohort_frame([10, 6, 4]))\n"
        "bad = {'lifetimes', 'autograd', 'pkg_resources'} & set(sys.modules)\n"
        "assert not bad, bad\n"
        "print('clean')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "clean"


def test_customer_value_on_distinct_rows_equals_customer_by_customer(models, cdnow):
    spend = SpendModel().fit(cdnow)
    model = models["pareto_nbd"]
    together = customer_value(cdnow, model, spend, horizon_months=3)
    one = customer_value(cdnow.iloc[[5]], model, spend, horizon_months=3)
    pd.testing.assert_frame_equal(together.iloc[[5]], one)


def test_pareto_nbd_purchase_probability_equals_lifetimes_and_sums_to_one(models):
    from lifetimes import ParetoNBDFitter

    model = models["pareto_nbd"]
    fitter = ParetoNBDFitter()
    fitter.params_ = model.params_.copy()
    n = np.arange(6)
    new_customer = fitter.conditional_probability_of_n_purchases_up_to_time
    expected = [float(np.ravel(new_customer(k, 39.0, 0, 0, 0))[0]) for k in n]
    np.testing.assert_allclose(model.purchase_probability(n, 39.0), expected, rtol=1e-10)
    everything = model.purchase_probability(np.arange(3000), 52.0)
    assert everything.sum() == pytest.approx(1.0, abs=1e-9)
    mean = (np.arange(3000) * everything).sum()
    assert mean == pytest.approx(model.expected_repeat_purchases(52.0), rel=1e-8)


def test_retention_curve_combines_cohorts_of_different_ages_and_projects_the_sbg():
    from cxlib.clv import retention_curve

    # the regular cohort observed for 7 years plus a younger one observed for 3: the younger
    # cohort's active customers are censored after year 3
    old = cohort_frame(REGULAR[:8])
    young = cohort_frame([500, 316, 234, 191])
    frame = pd.concat([old, young], ignore_index=True)
    model = RetentionModel().fit(frame)
    curve = retention_curve(frame, model)
    assert curve.index.tolist() == list(range(8))
    assert curve.loc[1, "at_risk"] == 1500 and curve.loc[4, "at_risk"] == 382
    hazard_1 = (369 + 184) / 1500
    assert curve.loc[1, "observed_survival"] == pytest.approx(1 - hazard_1)
    after_4 = curve.loc[4, "observed_survival"] / curve.loc[3, "observed_survival"]
    assert after_4 == pytest.approx(326 / 382)  # only the old cohort is left at risk
    np.testing.assert_allclose(curve["projected_survival"], model.survival(np.arange(8)))
    assert (curve["projected_survival"] - curve["observed_survival"]).abs().max() < 0.02
