"""Covariates in the purchase models (issue 25): recovery, equivalence, gradients, bad input.

The populations come from this file's own Pareto/NBD generator (not cxlib.demo): each
customer's purchase rate and dropout rate are Gamma draws multiplied by ``exp(x . coef)``,
the convention :mod:`cxlib.clv.covariates` fits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import PurchaseModel, covariates, pareto_nbd
from cxlib.settings.validation import DataError

TRUE = {"r": 0.8, "alpha": 10.0, "s": 0.6, "beta": 12.0}
PURCHASE = np.array([0.5, -0.3])  # app, age
DROPOUT = np.array([-0.4, 0.3])
WEEKS = 52


def simulate_pareto(n, seed, purchase=PURCHASE, dropout=DROPOUT, T=WEEKS, holdout=WEEKS):
    """Pareto/NBD customers with a 0/1 ``app`` and a standard-normal ``age``, in whole weeks.

    Returns the summary (``frequency``, ``recency``, ``T``, covariates) and the purchases of
    each customer in the ``holdout`` weeks after T.
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 2, n).astype(float), rng.normal(size=n)])
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n) * np.exp(X @ purchase)
    mu = rng.gamma(TRUE["s"], 1 / TRUE["beta"], n) * np.exp(X @ dropout)
    death = rng.exponential(1 / mu)
    active = np.minimum(death, T)
    k = rng.poisson(lam * active)
    # the last of k uniform times on (0, active): active * U^(1/k); recorded in whole weeks
    last = np.where(k > 0, active * rng.uniform(size=n) ** (1 / np.maximum(k, 1)), 0.0)
    future = rng.poisson(lam * np.clip(np.minimum(death, T + holdout) - T, 0, None))
    summary = pd.DataFrame(
        {
            "frequency": k.astype(float),
            "recency": np.floor(last),
            "T": float(T),
            "app": X[:, 0],
            "age": X[:, 1],
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    return summary, pd.Series(future, index=summary.index, name="holdout")


@pytest.fixture(scope="module")
def population():
    return simulate_pareto(20_000, seed=11)


@pytest.fixture(scope="module")
def fitted(population):
    summary, _ = population
    model = PurchaseModel(
        "pareto_nbd", purchase_covariates=["app", "age"], dropout_covariates=["app", "age"]
    )
    return model.fit(summary)


def test_pareto_recovers_each_coefficient(fitted):
    coef = fitted.coef_
    assert list(coef.columns) == ["purchase", "dropout"]
    np.testing.assert_allclose(coef.loc[["app", "age"], "purchase"], PURCHASE, atol=0.1)
    np.testing.assert_allclose(coef.loc[["app", "age"], "dropout"], DROPOUT, atol=0.1)
    table = fitted.coef_summary()
    inside = (table["lower"] < table["estimate"]) & (table["estimate"] < table["upper"])
    assert inside.all() and (table["std_error"] > 0).all()
    np.testing.assert_allclose(table["multiplier"], np.exp(table["estimate"]))
    # the covariates matter here: the likelihood-ratio test says so
    assert fitted.lr_test_["df"] == 4 and fitted.lr_test_["p_value"] < 1e-6


def test_pareto_predicts_the_holdout_of_each_covariate_group(population, fitted):
    summary, future = population
    predicted = fitted.predict_purchases(summary, WEEKS)
    groups = {
        "app": summary["app"] == 1,
        "no app": summary["app"] == 0,
        "young": summary["age"] < -0.5,
        "middle": summary["age"].between(-0.5, 0.5),
        "old": summary["age"] > 0.5,
    }
    for name, mask in groups.items():
        ratio = predicted[mask].sum() / future[mask].sum()
        assert abs(ratio - 1) < 0.05, (name, ratio)
    # and the covariates change the prediction: app customers are predicted to buy more
    assert predicted[groups["app"]].mean() > 1.3 * predicted[groups["no app"]].mean()


def test_zero_covariates_give_the_fit_without_them():
    summary, _ = simulate_pareto(4_000, seed=5, purchase=np.zeros(2), dropout=np.zeros(2))
    summary = summary.assign(zero=0.0)
    plain = PurchaseModel("pareto_nbd").fit(summary)
    with pytest.warns(UserWarning, match="one value for every customer"):
        model = PurchaseModel(
            "pareto_nbd", purchase_covariates=["zero"], dropout_covariates=["zero"]
        ).fit(summary)
    np.testing.assert_allclose(model.params_, plain.params_, rtol=1e-6)
    assert model.log_likelihood_ == pytest.approx(plain.log_likelihood_, abs=1e-6)
    assert (model.coef_.loc["zero"] == 0).all()
    np.testing.assert_allclose(model.p_alive(summary), plain.p_alive(summary), atol=1e-9)


def test_rows_likelihood_is_the_models_likelihood():
    summary, _ = simulate_pareto(500, seed=2)
    x, tx, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    params = [0.7, 9.0, 0.5, 14.0]
    ll, grad = pareto_nbd.KIND.row_log_likelihood(params, x, tx, T)
    total, total_grad = pareto_nbd.log_likelihood(params, pareto_nbd.Rows(x, tx, T))
    assert ll.sum() == pytest.approx(total, rel=1e-10)
    np.testing.assert_allclose(grad.sum(axis=0), total_grad, rtol=1e-8)


@pytest.mark.parametrize("beta", [14.0, 4.0])  # alpha below and above beta for most customers
def test_covariate_gradient_matches_finite_differences(beta):
    summary, _ = simulate_pareto(300, seed=3)
    x, tx, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    X = summary[["app", "age"]].to_numpy()
    layout = covariates._Layout(
        [("purchase", "purchase", 1, -1), ("dropout", "dropout", 3, -1)], [2, 1]
    )
    data = covariates._Data(x, tx, T, np.ones(len(x)), {"purchase": X, "dropout": X[:, 1:]})
    theta = np.array([np.log(0.7), np.log(9.0), np.log(0.5), np.log(beta), 0.4, -0.2, 0.3])

    def value(t):
        return covariates.log_likelihood(pareto_nbd.KIND, t, data, layout)[0]

    _, grad = covariates.log_likelihood(pareto_nbd.KIND, theta, data, layout)
    step = 1e-6
    numeric = [
        (value(theta + step * e) - value(theta - step * e)) / (2 * step) for e in np.eye(len(theta))
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_missing_covariate_is_refused_naming_column_and_rows():
    summary, _ = simulate_pareto(300, seed=4)
    summary.loc[["c3", "c17"], "age"] = np.nan
    model = PurchaseModel("pareto_nbd", purchase_covariates=["age"])
    with pytest.raises(DataError, match=r"'age' has 2 missing.*c3.*c17"):
        model.fit(summary)


def test_categories_are_one_hot_against_the_most_common_level():
    summary, _ = simulate_pareto(3_000, seed=6)
    channel = np.where(summary["app"] == 1, "app", "web").astype(object)
    channel[:200] = "shop"
    summary["channel"] = channel
    model = PurchaseModel("pareto_nbd", purchase_covariates=["channel"]).fit(summary)
    reference = pd.Series(channel).value_counts().index[0]
    assert model.designs_["purchase"].references_ == {"channel": reference}
    assert sorted(model.coef_.index) == sorted(
        f"channel={level}" for level in {"app", "web", "shop"} - {reference}
    )
    assert model.coef_["dropout"].isna().all()
    unseen = summary.head(3).assign(channel="phone")
    with pytest.raises(DataError, match=r"'channel'.*not fitted on.*phone"):
        model.p_alive(unseen)


def test_every_prediction_uses_each_customers_covariates(population, fitted):
    from cxlib.clv import SpendModel, customer_value

    summary, _ = population
    sample = summary.iloc[:2_000].assign(monetary_value=20.0)
    app, web = sample.index[sample["app"] == 1], sample.index[sample["app"] == 0]
    # the same history with and without the app: p_alive and CLV follow the covariates
    twin = sample.loc[[app[0]]].assign(app=0.0)
    assert fitted.p_alive(twin).iloc[0] != fitted.p_alive(sample.loc[[app[0]]]).iloc[0]
    values = customer_value(sample, fitted, SpendModel().fit(sample.assign(frequency=2)))
    expected = fitted.predict_purchases(sample, 52.0)
    assert values.loc[app, "clv"].mean() > values.loc[web, "clv"].mean()
    assert np.corrcoef(values["expected_purchases"], expected)[0, 1] > 0.99
    # a new customer's P(n) is the mean over the customers' own covariates
    p_app = fitted.purchase_probability([0, 1, 2], 52.0, summary=sample.loc[app])
    p_web = fitted.purchase_probability([0, 1, 2], 52.0, summary=sample.loc[web])
    assert p_app[0] < p_web[0]  # app customers buy more: less likely to buy nothing
    with pytest.raises(ValueError, match="pass summary="):
        fitted.purchase_probability([0, 1], 52.0)
    with pytest.raises(ValueError, match="covariates"):
        from cxlib.clv import clv_interval

        clv_interval(sample, fitted, SpendModel().fit(sample.assign(frequency=2)))


# ------------------------------------------------------------------------------------------------
# BG/NBD and MBG/NBD: purchase rate and both dropout Beta parameters (pymc-marketing's links)
# ------------------------------------------------------------------------------------------------

BG_TRUE = {"r": 0.9, "alpha": 6.0, "a": 1.2, "b": 3.0}
BG_PURCHASE, BG_DROPOUT_A, BG_DROPOUT_B = np.array([0.5, -0.3]), np.array([0.4, 0.0]), np.zeros(2)


def simulate_bgnbd(n, seed, T=WEEKS, holdout=WEEKS):
    """BG/NBD customers: rate ``Gamma(r, alpha) exp(x . purchase)``, dropout p after each
    purchase ``~ Beta(a exp(x . dropout_a), b exp(x . dropout_b))``; ``app`` 0/1, ``age`` N(0,1).

    Recency is kept continuous: rounded down to whole weeks it biases BG/NBD's purchase
    coefficient by about +0.1 at this size (Pareto/NBD's is not visibly affected).
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 2, n).astype(float), rng.normal(size=n)])
    lam = rng.gamma(BG_TRUE["r"], 1 / BG_TRUE["alpha"], n) * np.exp(X @ BG_PURCHASE)
    p = rng.beta(BG_TRUE["a"] * np.exp(X @ BG_DROPOUT_A), BG_TRUE["b"] * np.exp(X @ BG_DROPOUT_B))
    last = rng.geometric(p)  # the purchase after which the customer drops out
    made = rng.poisson(lam * T)  # purchases of a customer who never drops out
    x = np.minimum(made, last)
    # the x-th of ``made`` uniform purchase times on (0, T): T * Beta(x, made - x + 1)
    recency = np.where(x > 0, T * rng.beta(np.maximum(x, 1), made - x + 1), 0.0)
    future = np.where(last > made, np.minimum(rng.poisson(lam * holdout), last - made), 0)
    summary = pd.DataFrame(
        {"frequency": x.astype(float), "recency": recency, "T": float(T),
         "app": X[:, 0], "age": X[:, 1]},
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )  # fmt: skip
    return summary, pd.Series(future, index=summary.index, name="holdout")


def test_bgnbd_recovers_each_coefficient_and_its_holdout():
    summary, future = simulate_bgnbd(20_000, seed=21)
    model = PurchaseModel(
        "bgnbd", purchase_covariates=["app", "age"], dropout_covariates=["app", "age"]
    ).fit(summary)
    assert list(model.coef_.columns) == ["purchase", "dropout_a", "dropout_b"]
    np.testing.assert_allclose(model.coef_["purchase"], BG_PURCHASE, atol=0.1)
    np.testing.assert_allclose(model.coef_["dropout_a"], BG_DROPOUT_A, atol=0.15)
    np.testing.assert_allclose(model.coef_["dropout_b"], BG_DROPOUT_B, atol=0.15)
    predicted = model.predict_purchases(summary, WEEKS)
    for mask in (summary["app"] == 1, summary["app"] == 0, summary["age"] > 0):
        ratio = predicted[mask].sum() / future[mask].sum()
        assert abs(ratio - 1) < 0.05, ratio


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd"])
def test_beta_dropout_models_zero_covariates_give_the_fit_without_them(kind):
    summary, _ = simulate_bgnbd(3_000, seed=8)
    summary = summary.assign(zero=0.0)
    plain = PurchaseModel(kind).fit(summary)
    with pytest.warns(UserWarning, match="one value for every customer"):
        model = PurchaseModel(kind, purchase_covariates=["zero"], dropout_covariates=["zero"])
        model.fit(summary)
    np.testing.assert_allclose(model.params_, plain.params_, rtol=1e-6)
    assert model.log_likelihood_ == pytest.approx(plain.log_likelihood_, abs=1e-6)


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd"])
def test_beta_dropout_models_gradient_matches_finite_differences(kind):
    from cxlib.clv.kinds import purchase_kind

    summary, _ = simulate_bgnbd(300, seed=9)
    x, tx, T = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    X = summary[["app", "age"]].to_numpy()
    model = purchase_kind(kind)
    ll, grad = model.row_log_likelihood([0.9, 6.0, 1.2, 3.0], x, tx, T)
    total, total_grad = model.log_likelihood([0.9, 6.0, 1.2, 3.0], pareto_nbd.Rows(x, tx, T))
    assert ll.sum() == pytest.approx(total, rel=1e-10)
    np.testing.assert_allclose(grad.sum(axis=0), total_grad, rtol=1e-8)
    links = [(g, side, j, sign) for g, (side, j, sign) in model.covariate_links.items()]
    data = covariates._Data(x, tx, T, np.ones(len(x)), {"purchase": X, "dropout": X[:, :1]})
    theta = np.array([np.log(0.9), np.log(6.0), np.log(1.2), np.log(3.0), 0.4, -0.2, 0.3, -0.1])
    layout = covariates._Layout(links, [2, 1, 1])

    def value(t):
        return covariates.log_likelihood(model, t, data, layout)[0]

    _, grad = covariates.log_likelihood(model, theta, data, layout)
    step = 1e-6
    numeric = [
        (value(theta + step * e) - value(theta - step * e)) / (2 * step) for e in np.eye(len(theta))
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


# ------------------------------------------------------------------------------------------------
# SpendModel: Gamma-Gamma with the scale depending on covariates
# ------------------------------------------------------------------------------------------------


def simulate_spend(n, seed, coef=(0.3, -0.2), p=6.0, q=4.0, v=15.0):
    """Gamma-Gamma spend: rate ``nu ~ Gamma(q, v exp(x . coef))``, x orders of ``Gamma(p, nu)``."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 2, n).astype(float), rng.normal(size=n)])
    x = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(q, 1 / (v * np.exp(X @ np.asarray(coef))))
    mean_spend = rng.gamma(p * x, 1 / nu) / x  # the mean of x Gamma(p, nu) orders
    return pd.DataFrame(
        {"frequency": x, "monetary_value": mean_spend, "app": X[:, 0], "age": X[:, 1]},
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )


def test_spend_model_recovers_its_coefficients_and_uses_them():
    from cxlib.clv import SpendModel

    summary = simulate_spend(20_000, seed=31)
    model = SpendModel(covariates=["app", "age"]).fit(summary)
    np.testing.assert_allclose(model.coef_["spend"], [0.3, -0.2], atol=0.1)
    np.testing.assert_allclose(model.params_, [6.0, 4.0, 15.0], rtol=0.15)
    assert model.lr_test_["p_value"] < 1e-6 and model.lr_test_["df"] == 2
    spend = model.expected_spend(summary.assign(frequency=0.0))  # no history: the prior mean
    app = summary["app"] == 1
    assert spend[app].mean() / spend[~app & (summary["age"].abs() < 9)].mean() > 1.2
    p, q, v = model.params_
    np.testing.assert_allclose(
        spend, p * v * np.exp(summary[["app", "age"]] @ model.coef_["spend"].to_numpy()) / (q - 1)
    )


def test_spend_gradient_matches_finite_differences():
    summary = simulate_spend(300, seed=32)
    x, m = summary["frequency"].to_numpy(), summary["monetary_value"].to_numpy()
    X = summary[["app", "age"]].to_numpy()
    theta = np.array([np.log(5.0), np.log(3.0), np.log(12.0), 0.2, -0.1])

    def value(t):
        return covariates.spend_log_likelihood(t[:3], t[3:], x, m, X)[0]

    _, grad = covariates.spend_log_likelihood(theta[:3], theta[3:], x, m, X)
    step = 1e-6
    numeric = [
        (value(theta + step * e) - value(theta - step * e)) / (2 * step) for e in np.eye(len(theta))
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_spend_zero_covariates_give_the_fit_without_them():
    from cxlib.clv import SpendModel

    summary = simulate_spend(3_000, seed=33).assign(zero=0.0)
    plain = SpendModel().fit(summary)
    with pytest.warns(UserWarning, match="one value for every customer"):
        model = SpendModel(covariates=["zero"]).fit(summary)
    np.testing.assert_allclose(model.params_, plain.params_, rtol=1e-6)
