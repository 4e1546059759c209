"""MBG/NBD (Batislam, Denizel & Filiztekin 2007).

BG/NBD where a customer may also drop out at time zero, so customers without a repeat
purchase are not certain to be active.

Functions take natural parameters ``(r, alpha, a, b)``; see :mod:`cxlib.clv.bgnbd`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, logsumexp
from scipy.stats import nbinom

from cxlib.clv import bgnbd
from cxlib.clv._rows import Rows, dot


def log_likelihood(params, rows: Rows):
    """Total weighted log-likelihood of ``rows`` and its exact gradient in ``params``."""
    r, alpha, a, b = params
    ux, ix, w, x = rows.ux, rows.ix, rows.w, rows.x
    per_x = (
        gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + ux + 1) - gammaln(b) - gammaln(a + b + ux + 1)
    )  # fmt: skip
    log_T = np.log(alpha + rows.uT)[rows.iT]
    log_tx = np.log(alpha + rows.utx)[rows.itx]
    inv_T = (1.0 / (alpha + rows.uT))[rows.iT]
    inv_tx = (1.0 / (alpha + rows.utx))[rows.itx]
    rx = r + x
    a4 = (np.log(a) - np.log(b + ux))[ix] + rx * (log_T - log_tx)
    odds = np.exp(np.minimum(a4, 30.0))
    ll = dot(w, -rx * log_T + np.where(a4 > 30.0, a4, np.log1p(odds))) + dot(rows.wx, per_x)
    sig = odds / (1.0 + odds)
    wx = rows.wx
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + ux + 1)
    grad = np.array(
        [
            dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha))
            + dot(w, -log_T + sig * (log_T - log_tx)),
            rows.total * r / alpha + dot(w, -rx * inv_T + sig * rx * (inv_T - inv_tx)),
            dot(wx, psi_ab - psi_abx) + dot(w, sig) / a,
            dot(wx, psi_ab + digamma(b + ux + 1) - digamma(b) - psi_abx)
            - dot(w, sig / (b + ux)[ix]),
        ]
    )
    return float(ll), grad


def row_log_likelihood(params, x, tx, T):
    """Log-likelihood of each row and its gradient (rows x 4), parameters per row or shared."""
    return bgnbd.row_log_likelihood(params, x, tx, T, offset=0.0)


def p_alive(params, x, tx, T):
    """P(active at T | x, t_x, T)."""
    r, alpha, a, b = params
    with np.errstate(all="ignore"):
        log_odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return expit(-log_odds)


def expected_given_alive(params, t, x, tx, T):
    """E[purchases in (T, T + t] | active at T, x, T]."""
    return bgnbd.expected_given_alive(params, t, x, tx, T, offset=0.0)


def purchase_probability(params, n, t):
    """P(X(t) = n): probability that a new customer makes exactly ``n`` purchases in (0, t].

    Batislam, Denizel & Filiztekin (2007): the customer may drop out at time zero and after
    each purchase with probability p ~ Beta(a, b). Exactly n purchases happen either while
    active throughout (``E[(1 - p)^(n + 1)]`` times the negative binomial probability of n),
    or by dropping out right after the n-th purchase, made before t (``E[p (1 - p)^n]`` times
    P(NB >= n)); both in log space.

    Examples
    --------
    >>> p = purchase_probability([0.525, 6.183, 0.891, 1.614], np.arange(300), 39.0)
    >>> round(float(p.sum()), 6)
    1.0
    """
    r, alpha, a, b = params
    n = np.asarray(n, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    prob = alpha / (alpha + t)
    with np.errstate(all="ignore"):
        active = betaln(a, b + n + 1) - betaln(a, b) + nbinom.logpmf(n, r, prob)
        dropped = betaln(a + 1, b + n) - betaln(a, b) + nbinom.logsf(n - 1, r, prob)
        dropped = np.where(n > 0, dropped, betaln(a + 1, b) - betaln(a, b))  # P(NB >= 0) = 1
    return np.exp(logsumexp(np.stack(np.broadcast_arrays(active, dropped)), axis=0))


def expected_given_alive_lower_dropout(params, t, x, tx, T, reduction):
    """E[purchases in (T, T + t] | active at T, x, T] with a ``reduction`` lower future dropout.

    Given active at T the customer has stayed at time zero and after each of x purchases, so
    ``p ~ Beta(a, b + x + 1)`` and ``lambda ~ Gamma(r + x, alpha + T)``; future dropouts happen
    after each purchase, as in BG/NBD, so the same exact identity holds:
    :func:`cxlib.clv.bgnbd.expected_given_alive_lower_dropout`.
    """
    return bgnbd.expected_given_alive_lower_dropout(params, t, x, tx, T, reduction, offset=0.0)


class MBGNBD(bgnbd.BGNBD):
    """MBG/NBD in the purchase-model contract: BG/NBD's, with one more chance to drop out."""

    name, display_name, position = "mbgnbd", "MBG/NBD", 3
    dropout_formula = "a/(a+b) x (1 + r/alpha x T_max)"

    log_likelihood = staticmethod(log_likelihood)
    row_log_likelihood = staticmethod(row_log_likelihood)
    p_alive = staticmethod(p_alive)
    expected_given_alive = staticmethod(expected_given_alive)
    purchase_probability = staticmethod(purchase_probability)
    expected_given_alive_lower_dropout = staticmethod(expected_given_alive_lower_dropout)

    def expected_dropouts(self, params, T_max) -> float:
        """Return the mean dropout times the chances to drop out (at time zero, after purchases)."""
        r, alpha, _, _ = params
        return self.mean_dropout(params) * (1 + r / alpha * T_max)


KIND = MBGNBD()
