"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active a customer buys at rate ``lambda ~ Gamma(r, alpha)``; after each purchase they
drop out with probability ``p ~ Beta(a, b)``. The functions take natural parameters
``(r, alpha, a, b)`` and numpy arrays; everything is computed in log space, so it is finite for
every customer (heavy buyers, ``x = 0``, ``t_x = T``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1, logsumexp
from scipy.stats import nbinom

from cxlib.clv._rows import Rows, dot
from cxlib.clv.kinds import PurchaseKind


def log_likelihood(params, rows: Rows):
    """Total weighted log-likelihood of ``rows`` and its exact gradient in ``params``.

    Examples
    --------
    >>> rows = Rows([2, 0], [30.4, 0], [38.9, 38.9])
    >>> ll, grad = log_likelihood([0.243, 4.414, 0.793, 2.426], rows)
    >>> round(ll, 3), grad.shape
    (-10.015, (4,))
    """
    r, alpha, a, b = params
    ux, ix, w, x = rows.ux, rows.ix, rows.w, rows.x
    per_x = (
        gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux)
    )  # fmt: skip
    log_T = np.log(alpha + rows.uT)[rows.iT]
    log_tx = np.log(alpha + rows.utx)[rows.itx]
    rx = r + x
    a3 = -rx * log_T
    b_x = b + np.maximum(ux, 1) - 1  # x = 0 rows have no A4 term: any positive value will do
    a4 = (np.log(a) - np.log(b_x))[ix] - rx * log_tx
    # mixed = log(e^A3 + e^A4) = A3 + softplus(A4 - A3), with one exp and one log1p per row
    diff = np.where(rows.repeat, a4 - a3, -np.inf)
    odds = np.exp(np.minimum(diff, 30.0))
    mixed = a3 + np.where(diff > 30.0, diff, np.log1p(odds))
    w4 = odds / (1.0 + odds)  # weight of the "dropped out after the last purchase" branch
    w3 = 1.0 - w4
    inv_T = (1.0 / (alpha + rows.uT))[rows.iT]
    inv_tx = (1.0 / (alpha + rows.utx))[rows.itx]
    wx = rows.wx
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + ux)
    grad = np.array(
        [
            dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha))
            - dot(w, w3 * log_T + w4 * log_tx),
            rows.total * r / alpha - dot(w, rx * (w3 * inv_T + w4 * inv_tx)),
            dot(wx, psi_ab - psi_abx) + dot(w, w4) / a,
            dot(wx, psi_ab + digamma(b + ux) - digamma(b) - psi_abx) - dot(w, w4 / b_x[ix]),
        ]
    )
    return float(dot(wx, per_x) + dot(w, mixed)), grad


def row_log_likelihood(params, x, tx, T, *, offset=1.0):
    """Log-likelihood of each row and its gradient (rows x 4), parameters per row or shared.

    ``offset`` is 1 for BG/NBD and 0 for MBG/NBD (which may also drop out at time zero, so its
    "dropped out after the last purchase" branch is there for x = 0 too).
    """
    r, alpha, a, b = (np.asarray(p, dtype=np.float64) for p in params)
    extra = 1.0 - offset  # 0 for BG/NBD, 1 for MBG/NBD
    rx = r + x
    log_T, log_tx = np.log(alpha + T), np.log(alpha + tx)
    b_x = b + np.maximum(x, offset) - offset  # b + x - 1 (BG/NBD), b + x (MBG/NBD)
    has_a4 = (x > 0) if offset else np.ones(np.shape(x), dtype=bool)
    diff = np.where(has_a4, np.log(a) - np.log(b_x) + rx * (log_T - log_tx), -np.inf)
    odds = np.exp(np.minimum(diff, 30.0))
    w4 = odds / (1.0 + odds)
    w3 = 1.0 - w4
    ll = (
        gammaln(rx) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + x + extra) - gammaln(b) - gammaln(a + b + x + extra)
        - rx * log_T + np.where(diff > 30.0, diff, np.log1p(odds))
    )  # fmt: skip
    psi_ab, psi_abx = digamma(a + b), digamma(a + b + x + extra)
    grad = np.column_stack(
        np.broadcast_arrays(
            digamma(rx) - digamma(r) + np.log(alpha) - (w3 * log_T + w4 * log_tx),
            r / alpha - rx * (w3 / (alpha + T) + w4 / (alpha + tx)),
            psi_ab - psi_abx + w4 / a,
            psi_ab + digamma(b + x + extra) - digamma(b) - psi_abx - w4 / b_x,
        )
    )
    return ll, grad


def p_alive(params, x, tx, T):
    """P(active at T | x, t_x, T); 1 for customers without a repeat purchase."""
    r, alpha, a, b = params
    with np.errstate(all="ignore"):
        log_odds = (
            np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        )
        return np.where(x > 0, expit(-log_odds), 1.0)


def expected_given_alive(params, t, x, tx, T, *, offset=1.0):
    """E[purchases in (T, T + t] | active at T, x, T]; finite for every customer.

    lifetimes' formula has ``(1 - z)^(r+x) 2F1(r+x, b+x; c; z)`` with huge parameters, which
    overflows to NaN for frequent customers. Euler's transformation
    ``2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)`` turns the product into
    ``(1-z)^(a-1) 2F1(C-A, a-1; C; z)``, whose first two parameters do not grow with x.
    ``offset`` is 1 for BG/NBD (``C = a + b + x - 1``) and 0 for MBG/NBD (``C = a + b + x``).
    """
    r, alpha, a, b = params
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), np.shape(x))
    c = a + b + x - offset
    with np.errstate(all="ignore"):
        z = t / (alpha + T + t)
        log_1mz = -np.log1p(t / (alpha + T))
        product = np.exp((a - 1) * log_1mz) * hyp2f1(c - r - x, a - 1, c, z)
        values = c / (a - 1) * (1 - product)
        # a and b both huge (a degenerate fit: every customer has the same dropout p) make
        # hyp2f1 overflow; there the Beta is a point mass at p = a/(a+b), whose exact value is
        # E over lambda ~ Gamma(r+x, alpha+T) of (1 - exp(-lambda p t)) / p.
        p = a / (a + b)
        limit = (1 - np.exp((r + x) * -np.log1p(p * t / (alpha + T)))) / p
        values = np.where(np.isfinite(values), values, limit)
    return np.where(t > 0, values, 0.0)


def purchase_probability(params, n, t):
    """P(X(t) = n): probability that a new customer makes exactly ``n`` purchases in (0, t].

    Fader, Hardie & Lee (2005), equation 8, in log space: the negative binomial term of a
    customer still active at ``t`` plus, for ``n > 0``, the probability of dropping out after
    the n-th purchase (a negative binomial survival function, computed without cancellation).

    Examples
    --------
    >>> p = purchase_probability([0.243, 4.414, 0.793, 2.426], np.arange(200), 39.0)
    >>> round(float(p.sum()), 6)
    1.0
    """
    r, alpha, a, b = params
    n = np.asarray(n, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    prob = alpha / (alpha + t)
    log_beta_ab = gammaln(a) + gammaln(b) - gammaln(a + b)
    with np.errstate(all="ignore"):
        first = (
            gammaln(a) + gammaln(b + n) - gammaln(a + b + n) - log_beta_ab
            + nbinom.logpmf(n, r, prob)
        )  # fmt: skip
        second = (
            gammaln(a + 1) + gammaln(b + n - 1) - gammaln(a + b + n) - log_beta_ab
            + nbinom.logsf(n - 1, r, prob)
        )  # fmt: skip
        second = np.where(n > 0, second, -np.inf)
    return np.exp(logsumexp(np.stack(np.broadcast_arrays(first, second)), axis=0))


def expected_given_alive_lower_dropout(params, t, x, tx, T, reduction, *, offset=1.0):
    """E[purchases in (T, T + t] | active at T, x, T] with a ``reduction`` lower own dropout.

    The customer's own future dropout probability is ``reduction`` (relative) lower.

    Given active at T, the posterior is ``lambda ~ Gamma(r + x, alpha + T)`` and
    ``p ~ Beta(a, b + x)``, independent: the likelihood of staying active through x purchases,
    ``(1 - p)^x lambda^x exp(-lambda T)``, factorises. (MBG/NBD, ``offset=0``: the customer
    also stayed at time zero, ``p ~ Beta(a, b + x + 1)``.) A customer with rates
    ``(lambda, p)`` buys at rate lambda and drops out after each purchase with probability p, so
    ``E[purchases in t | lambda, p] = (1 - exp(-lambda p t)) / p``. With the dropout
    probability ``k p`` (``k = 1 - reduction``) this is ``(1 - exp(-lambda p k t)) / (k p)``:
    the same expression at the horizon ``k t``, divided by k, for every (lambda, p). Averaged
    over the posterior, exactly

        E_k(t) = expected_given_alive(params, k t, x, tx, T) / k.

    The population prior is unchanged: the gain moves each customer's own posterior.

    Examples
    --------
    >>> params, x, T = [0.243, 4.414, 0.793, 2.426], np.array([2.0]), np.array([38.9])
    >>> kept = expected_given_alive_lower_dropout(params, 52.0, x, x, T, 0.05)
    >>> bool(kept[0] > expected_given_alive(params, 52.0, x, x, T)[0])
    True
    """
    keep = 1.0 - reduction
    t = np.asarray(t, dtype=np.float64)
    return expected_given_alive(params, keep * t, x, tx, T, offset=offset) / keep


class BGNBD(PurchaseKind):
    """BG/NBD in the purchase-model contract (:class:`~cxlib.clv.kinds.PurchaseKind`)."""

    name, display_name, position = "bgnbd", "BG/NBD", 1
    param_names = ("r", "alpha", "a", "b")
    time_params = (1,)
    given_alive_uses_recency = False  # E[purchases | alive] depends on frequency and T only
    dropout_names, dropout_unit = ("a", "b"), "purchase"
    dropout_formula = "a/(a+b) x r/alpha x T_max"
    scenario_changes = "the dropout probability after each purchase"

    #: Covariates (:mod:`cxlib.clv.covariates`), pymc-marketing's ``BetaGeoModel``:
    #: ``alpha_i = alpha exp(-x_i . purchase)`` multiplies the purchase rate by
    #: ``exp(x_i . purchase)``; ``a_i = a exp(x_i . dropout_a)``, ``b_i = b exp(x_i .
    #: dropout_b)``: the mean dropout probability per purchase ``a_i / (a_i + b_i)`` rises with
    #: ``dropout_a - dropout_b``, and equal coefficients change only its spread.
    covariate_links = {
        "purchase": ("purchase", 1, -1),
        "dropout_a": ("dropout", 2, 1),
        "dropout_b": ("dropout", 3, 1),
    }

    log_likelihood = staticmethod(log_likelihood)
    row_log_likelihood = staticmethod(row_log_likelihood)
    p_alive = staticmethod(p_alive)
    expected_given_alive = staticmethod(expected_given_alive)
    purchase_probability = staticmethod(purchase_probability)
    expected_given_alive_lower_dropout = staticmethod(expected_given_alive_lower_dropout)

    def mean_dropout(self, params) -> float:
        """Mean dropout probability after each purchase, ``a / (a + b)``."""
        _, _, a, b = params
        return a / (a + b)

    def expected_dropouts(self, params, T_max) -> float:
        """Return the mean dropout per purchase times an average customer's purchases in T_max."""
        r, alpha, _, _ = params
        return self.mean_dropout(params) * (r / alpha * T_max)


KIND = BGNBD()
