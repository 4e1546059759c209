"""Speed of the covariate Pareto/NBD fit, and a side-by-side with pymc-marketing's MAP fit.

1. A Pareto/NBD population simulated here (fixed seed, no network) of ``--n`` customers
   (default 1,000,000) with five covariates: three 0/1 attributes (app, newsletter, store) and
   two standard-normal numbers (age, income), each customer's purchase and dropout rates
   multiplied by ``exp(x . coef)``; cohorts joining over three years, times in whole weeks.
   ``PurchaseModel("pareto_nbd")`` without covariates and with all five on both sides are
   timed (the covariate fit includes the fit without them, which it starts from and tests
   against, and the standard errors), with the coefficients beside the true ones.
2. pymc-marketing's ``ParetoNBDModel`` with ``purchase_covariate_cols`` and
   ``dropout_covariate_cols``, ``fit(method="map")``, against cxlib's maximum likelihood on a
   population of ``--n-pymc`` customers with two covariates from the same generator:
   parameters and times side by side. MAP under pymc-marketing's default priors (Weibull on
   r, alpha, s, beta; Normal(0, 1) on the coefficients) is close to, not equal to, the
   maximum likelihood. Skipped, saying so, when pymc-marketing is not installed.

Run: ``.venv/bin/python benchmarks/clv_covariates.py`` (``--n 100000`` for a quick run).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from cxlib.clv import PurchaseModel

TRUE = {"r": 0.8, "alpha": 10.0, "s": 0.6, "beta": 12.0}
NAMES = ["app", "newsletter", "store", "age", "income"]
PURCHASE = np.array([0.4, 0.2, -0.2, -0.3, 0.15])
DROPOUT = np.array([-0.4, -0.2, 0.1, 0.25, 0.0])


def simulate(n: int, k: int = 5, seed: int = 0) -> pd.DataFrame:
    """Pareto/NBD summary of ``n`` customers with the first ``k`` covariates of :data:`NAMES`."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 2, (n, 3)).astype(float), rng.normal(size=(n, 2))])[:, :k]
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n) * np.exp(X @ PURCHASE[:k])
    mu = rng.gamma(TRUE["s"], 1 / TRUE["beta"], n) * np.exp(X @ DROPOUT[:k])
    T = rng.integers(26, 157, n).astype(float)
    active = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * active)
    last = np.where(x > 0, active * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    frame = pd.DataFrame({"frequency": x.astype(float), "recency": np.floor(last), "T": T})
    for i, name in enumerate(NAMES[:k]):
        frame[name] = X[:, i]
    frame.index = pd.Index(np.arange(n).astype(str), name="customer_id")
    return frame


def timed(fit):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit()
    return model, time.perf_counter() - start


def speed(n: int) -> None:
    summary = simulate(n)
    plain, t_plain = timed(lambda: PurchaseModel("pareto_nbd").fit(summary))
    model, t_cov = timed(
        lambda: PurchaseModel(
            "pareto_nbd", purchase_covariates=NAMES, dropout_covariates=NAMES
        ).fit(summary)
    )
    print(f"Pareto/NBD on {n:,} customers ({model.n_rows_:,} distinct rows with covariates)")
    print(f"  without covariates: {t_plain:6.1f} s  params {plain.params_.round(3).tolist()}")
    print(f"  with 5 covariates:  {t_cov:6.1f} s  params {model.params_.round(3).tolist()}")
    table = model.coef_summary()[["estimate", "std_error"]].copy()
    table["true"] = np.concatenate([PURCHASE, DROPOUT])
    print(table.round(3).to_string())
    print(f"  likelihood-ratio test: {model.lr_test_.round(1).to_dict()}")


def pymc_comparison(n: int) -> None:
    try:
        from pymc_marketing.clv import ParetoNBDModel
    except ImportError:
        print("pymc-marketing is not installed: no comparison (pip install pymc-marketing)")
        return
    summary = simulate(n, k=2, seed=1)
    cols = NAMES[:2]
    ours, t_ours = timed(
        lambda: PurchaseModel("pareto_nbd", purchase_covariates=cols, dropout_covariates=cols).fit(
            summary
        )
    )
    data = summary.reset_index().assign(customer_id=np.arange(n))
    config = {"purchase_covariate_cols": cols, "dropout_covariate_cols": cols}
    theirs = ParetoNBDModel(data=data, model_config=config)
    _, t_theirs = timed(lambda: theirs.fit(method="map", progressbar=False))
    post = theirs.fit_result
    rows = {
        "r": (ours.params_["r"], float(post["r"].mean())),
        "alpha (all covariates 0)": (ours.params_["alpha"], float(post["alpha_scale"].mean())),
        "s": (ours.params_["s"], float(post["s"].mean())),
        "beta (all covariates 0)": (ours.params_["beta"], float(post["beta_scale"].mean())),
    }
    for side, name in (("purchase", "purchase_coefficient"), ("dropout", "dropout_coefficient")):
        values = np.asarray(post[name]).reshape(-1, len(cols)).mean(axis=0)
        for i, col in enumerate(cols):
            rows[f"{side}: {col}"] = (ours.coef_.at[col, side], float(values[i]))
    table = pd.DataFrame(rows, index=["cxlib ML", "pymc-marketing MAP"]).T
    print(f"\nPareto/NBD with 2 covariates on {n:,} simulated customers")
    print(table.round(4).to_string())
    print(f"  time: cxlib {t_ours:.1f} s, pymc-marketing MAP {t_theirs:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--n-pymc", type=int, default=5_000)
    args = parser.parse_args()
    speed(args.n)
    pymc_comparison(args.n_pymc)


if __name__ == "__main__":
    main()
