"""Uplift learners and the doubly robust uplift (Qini) curve (used by :func:`target`).

Two meta-learners with scikit-learn's contract (``get_params``/``set_params``/``clone``; fitted
attributes end in ``_``), each fitted as ``fit(X, y, treatment)`` and predicting a customer's
effect ``tau(x) = E[y | x, treated] - E[y | x, control]``:

* :class:`TLearner` (two models): one regression per group; the effect is their difference.
* :class:`XLearner` (Kuenzel et al. 2019): the two group models impute each customer's effect
  (a treated customer's outcome minus the control model's prediction, and the reverse), a
  second pair of models regresses those imputed effects on the features, and the two are
  blended by the treated share ``e``: ``tau = e tau_0 + (1 - e) tau_1``. It borrows strength
  from the larger group and is smoother when the effect is simpler than the outcome.

The curve (:func:`uplift_curve`) ranks customers by a score and adds up, from the top, each
customer's **doubly robust** effect estimate (:func:`dr_effects`, Robins et al. 1994)
``mu_1 - mu_0 + w (y - mu_1) / e - (1 - w) (y - mu_0) / (1 - e)``: unbiased for the customer's
effect whatever the models' errors, because the test's assignment is random with known share
``e``. Its value at the top ``k`` is the extra outcome of treating those ``k`` customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingRegressor

__all__ = ["TLearner", "XLearner", "base_regressor", "dr_effects", "qini_area", "uplift_curve"]


def base_regressor(seed: int = 0) -> HistGradientBoostingRegressor:
    """Return the outcome model the learners use: small, strongly regularised gradient boosting.

    Four-leaf trees, 30 rounds and at least 300 customers per leaf: an experiment's effect is a
    small signal in noisy spend, a property of groups of customers, and a flexible model fits
    the noise (on this file's tests' simulations, 8-leaf trees with 80 customers per leaf lost a
    tenth of the policy's value to noise in the scores).
    """
    return HistGradientBoostingRegressor(
        max_iter=30, learning_rate=0.1, max_leaf_nodes=4, min_samples_leaf=300,
        l2_regularization=1.0, random_state=seed,
    )  # fmt: skip


def _split(X, y, treatment):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.asarray(treatment, dtype=bool)
    if w.all() or not w.any():
        raise ValueError("uplift learners need treated and control customers")
    return X, y, w


class TLearner(BaseEstimator):
    """Two-model learner: ``tau(x) = mu_1(x) - mu_0(x)``.

    Parameters
    ----------
    estimator : regressor, optional
        The outcome model (cloned per group); default :func:`base_regressor`.
    random_state : int, default 0

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2_000, 1)); w = rng.random(2_000) < 0.5
    >>> y = X[:, 0] + w * np.where(X[:, 0] > 0, 2.0, 0.0) + rng.normal(size=2_000)
    >>> tau = TLearner().fit(X, y, w).predict(np.array([[1.0], [-1.0]]))
    >>> bool(tau[0] > 1.0 > tau[1])
    True
    """

    def __init__(self, estimator=None, random_state: int = 0) -> None:
        self.estimator = estimator
        self.random_state = random_state

    def _model(self):
        return (
            clone(self.estimator)
            if self.estimator is not None
            else base_regressor(self.random_state)
        )

    def fit(self, X, y, treatment) -> TLearner:
        """Fit one outcome model on the treated and one on the control customers."""
        X, y, w = _split(X, y, treatment)
        self.model_treated_ = self._model().fit(X[w], y[w])
        self.model_control_ = self._model().fit(X[~w], y[~w])
        self.n_features_in_ = X.shape[1]
        return self

    def outcomes(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Return the predicted outcome with and without treatment, ``(mu_1, mu_0)``."""
        X = np.asarray(X, dtype=float)
        return self.model_treated_.predict(X), self.model_control_.predict(X)

    def predict(self, X) -> np.ndarray:
        """Return each row's predicted effect of the treatment."""
        treated, control = self.outcomes(X)
        return treated - control


class XLearner(TLearner):
    """X-learner (Kuenzel, Sekhon, Bickel and Yu 2019), with the treated share as propensity.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(2_000, 1)); w = rng.random(2_000) < 0.5
    >>> y = X[:, 0] + w * np.where(X[:, 0] > 0, 2.0, 0.0) + rng.normal(size=2_000)
    >>> tau = XLearner().fit(X, y, w).predict(np.array([[1.0], [-1.0]]))
    >>> bool(tau[0] > 1.0 > tau[1])
    True
    """

    def fit(self, X, y, treatment) -> XLearner:
        """Fit the group models, then the imputed effects of each group, blended by ``e``."""
        super().fit(X, y, treatment)
        X, y, w = _split(X, y, treatment)
        imputed_treated = y[w] - self.model_control_.predict(X[w])
        imputed_control = self.model_treated_.predict(X[~w]) - y[~w]
        self.effect_treated_ = self._model().fit(X[w], imputed_treated)
        self.effect_control_ = self._model().fit(X[~w], imputed_control)
        self.propensity_ = float(w.mean())
        return self

    def predict(self, X) -> np.ndarray:
        """Return each row's predicted effect: ``e tau_0(x) + (1 - e) tau_1(x)``."""
        X = np.asarray(X, dtype=float)
        e = self.propensity_
        return e * self.effect_control_.predict(X) + (1 - e) * self.effect_treated_.predict(X)


def dr_effects(y, treatment, mu_treated, mu_control, propensity: float) -> np.ndarray:
    """Return each customer's doubly robust effect estimate (an unbiased, noisy pseudo-effect).

    Examples
    --------
    >>> dr_effects([10.0, 4.0], [True, False], [8.0, 8.0], [5.0, 5.0], 0.5).tolist()
    [7.0, 5.0]
    """
    y, w = np.asarray(y, dtype=float), np.asarray(treatment, dtype=bool)
    mu1, mu0 = np.asarray(mu_treated, dtype=float), np.asarray(mu_control, dtype=float)
    e = float(propensity)
    return mu1 - mu0 + w * (y - mu1) / e - (~w) * (y - mu0) / (1 - e)


def uplift_curve(scores, effects, *, weights=None) -> pd.DataFrame:
    """Cumulative effect of treating the top ``k`` customers by score, and of random picks.

    Parameters
    ----------
    scores : array-like
        The ranking score (higher: treat first); ties are broken by position, stably.
    effects : array-like
        Each customer's effect estimate (:func:`dr_effects`).
    weights : array-like, optional
        Bootstrap weights per customer (one column per replicate, shape ``(n, B)``); the
        curve is then one column per replicate.

    Returns
    -------
    DataFrame
        ``customers`` (k, 0..n), ``share`` (k / n), ``uplift`` (sum of the top k's effects) and
        ``random`` (k / n x the sum of all effects); with ``weights``, an array ``(n + 1, B)``.

    Examples
    --------
    >>> uplift_curve([0.9, 0.1, 0.5], [3.0, -1.0, 1.0])["uplift"].tolist()
    [0.0, 3.0, 4.0, 3.0]
    """
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    effects = np.asarray(effects, dtype=float)[order]
    n = len(effects)
    if weights is not None:
        weighted = np.asarray(weights, dtype=float)[order] * effects[:, None]
        return np.vstack([np.zeros(weighted.shape[1]), np.cumsum(weighted, axis=0)])
    cumulative = np.concatenate([[0.0], np.cumsum(effects)])
    k = np.arange(n + 1)
    return pd.DataFrame(
        {"customers": k, "share": k / max(n, 1), "uplift": cumulative,
         "random": k / max(n, 1) * cumulative[-1]}
    )  # fmt: skip


def qini_area(curve) -> float | np.ndarray:
    """Area between the uplift curve and the random line, per customer ranked.

    The mean over all targeting depths ``k`` of ``(uplift(k) - random(k)) / n``: how much more
    effect per tested customer ranking by the score captures than picking at random, averaged
    over how many are treated. Zero for a useless score; negative for one ranked backwards.
    Takes :func:`uplift_curve`'s frame or its bootstrap array (one area per column).

    Examples
    --------
    >>> round(float(qini_area(uplift_curve([0.9, 0.1, 0.5], [3.0, -1.0, 1.0]))), 4)
    0.3333
    """
    values = curve["uplift"].to_numpy() if isinstance(curve, pd.DataFrame) else curve
    n = values.shape[0] - 1
    k = np.arange(n + 1) / max(n, 1)
    gap = values - (k[:, None] if values.ndim == 2 else k) * values[-1]
    return gap.mean(axis=0) / max(n, 1)
