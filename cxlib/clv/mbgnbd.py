"""MBG/NBD (Batislam, Denizel & Filiztekin 2007).

BG/NBD where a customer may also drop out at time zero, so customers without a repeat
purchase are not certain to be active.

Functions take natural parameters ``(r, alpha, a, b)``; see :mod:`cxlib.clv.bgnbd`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln

from cxlib.clv import bgnbd
from cxlib.clv._rows import Rows, dot

PARAM_NAMES = ("r", "alpha", "a", "b")
TIME_PARAMS = (1,)
#: E[purchases | alive] depends on frequency and T only (not on recency).
GIVEN_ALIVE_USES_RECENCY = False


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


def p_alive(params, x, tx, T):
    """P(active at T | x, t_x, T)."""
    r, alpha, a, b = params
    with np.errstate(all="ignore"):
        log_odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return expit(-log_odds)


def expected_given_alive(params, t, x, tx, T):
    """E[purchases in (T, T + t] | active at T, x, T]."""
    return bgnbd.expected_given_alive(params, t, x, tx, T, offset=0.0)


lower_dropout = bgnbd.lower_dropout
