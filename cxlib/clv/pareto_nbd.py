"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987; Fader & Hardie's 2005 note).

While active a customer buys at rate ``lambda ~ Gamma(r, alpha)`` and stays active for an
exponential lifetime with rate ``mu ~ Gamma(s, beta)``. With the death time integrated out,

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [ (alpha+T)^-(r+x) (beta+T)^-s + s * (J(t_x) - J(T)) ],
    J(t) = integral from t to infinity of (alpha+u)^-(r+x) (beta+u)^-(s+1) du.

cxlib writes ``J`` with the Gauss hypergeometric function ``2F1(1, b; c + 1; z)``, ``0 <= z < 1``,
``b <= c`` (Euler's transformation of the usual form), whose series has positive terms that
shrink at least as fast as ``z^n``: summed directly, with the derivatives in ``b``, ``c`` and
``z`` alongside, it gives the log-likelihood and its exact gradient in log space, finite for
heavy buyers where the textbook form overflows.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import digamma, gammaln, logsumexp

from cxlib.clv._optimise import compress
from cxlib.clv._rows import Rows, dot
from cxlib.clv.kinds import PurchaseKind

_SERIES_TOL = 1e-16
_SERIES_MAX_TERMS = 100_000
_SERIES_BLOCK = 8


def _hyp2f1_one(b, d, z):
    """``F = 2F1(1, b; d; z)`` and ``dF/db, dF/dd, dF/dz`` for ``0 <= z < 1``, ``0 < b < d``.

    The n-th term is ``(b)_n / (d)_n z^n``; each is the previous times ``(b+n)/(d+n) z < z``.
    Rows are checked every few terms; those whose remaining terms are below the tolerance
    leave the loop, so the cost follows each row's own convergence.
    """
    size = len(z)
    out = np.zeros((4, size))  # F, dF/db, dF/dd, dF/dz
    active = np.arange(size)
    # running sums for the active rows: value, derivatives, current term, sum 1/(b+k), 1/(d+k)
    f, fb, fd, fz = np.ones(size), np.zeros(size), np.zeros(size), np.zeros(size)
    term, sum_b, sum_d = np.ones(size), np.zeros(size), np.zeros(size)
    bb, dd, zz = b.copy(), d.copy(), z.copy()
    k = 0
    while True:
        for _ in range(_SERIES_BLOCK):
            inv_b, inv_d = 1.0 / bb, 1.0 / dd
            ratio = term * bb * inv_d  # term_{k+1} / z
            sum_b += inv_b
            sum_d += inv_d
            fz += (k + 1) * ratio
            term = ratio * zz
            f += term
            fb += term * sum_b
            fd -= term * sum_d
            bb += 1.0
            dd += 1.0
            k += 1
        left = term * (k + 2) * (1.0 + sum_b + sum_d) > _SERIES_TOL * (1.0 - zz) * f
        if left.all() and k < _SERIES_MAX_TERMS:
            continue
        done = ~left if k < _SERIES_MAX_TERMS else np.ones(len(left), dtype=bool)
        out[:, active[done]] = f[done], fb[done], fd[done], fz[done]
        if done.all():
            return out
        active = active[left]
        f, fb, fd, fz = f[left], fb[left], fd[left], fz[left]
        term, sum_b, sum_d = term[left], sum_b[left], sum_d[left]
        bb, dd, zz = bb[left], dd[left], zz[left]


def _log_tail(params, x, t):
    """``log J(t)`` and its gradient in ``(r, alpha, s, beta)`` (rows x 4).

    Each parameter is one number or one value per row (a customer's own ``alpha``, ``beta``
    with covariates); rows with ``alpha >= beta`` and the others take the two forms of J.
    """
    if all(np.ndim(p) == 0 for p in params):
        return _log_tail_rows(*params, x, t, float(params[1]) >= float(params[3]))
    r, alpha, s, beta = (np.broadcast_to(np.asarray(p, dtype=np.float64), x.shape) for p in params)
    log_j, grad = np.empty(len(x)), np.empty((len(x), 4))
    up = alpha >= beta
    for mask in (up, ~up):
        if mask.any():
            log_j[mask], grad[mask] = _log_tail_rows(
                r[mask], alpha[mask], s[mask], beta[mask], x[mask], t[mask], mask is up
            )
    return log_j, grad


def _log_tail_rows(r, alpha, s, beta, x, t, alpha_above):
    """:func:`_log_tail` on rows that all have ``alpha >= beta`` (or all ``alpha < beta``)."""
    rx = r + x
    c = rx + s
    lt_a, lt_b = np.log(alpha + t), np.log(beta + t)
    if alpha_above:
        z = (alpha - beta) / (alpha + t)
        F, Fb, Fd, Fz = _hyp2f1_one(rx, c + 1.0, z)
        log_j = -rx * lt_a - s * lt_b - np.log(c) + np.log(F)
        grad = [
            -lt_a - 1 / c + (Fb + Fd) / F,
            -rx / (alpha + t) + Fz / F * (beta + t) / (alpha + t) ** 2,
            -lt_b - 1 / c + Fd / F,
            -s / (beta + t) - Fz / F / (alpha + t),
        ]
    else:
        z = (beta - alpha) / (beta + t)
        F, Fb, Fd, Fz = _hyp2f1_one(np.broadcast_to(s + 1.0, rx.shape).copy(), c + 1.0, z)
        log_j = -(rx - 1) * lt_a - (s + 1) * lt_b - np.log(c) + np.log(F)
        grad = [
            -lt_a - 1 / c + Fd / F,
            -(rx - 1) / (alpha + t) - Fz / F / (beta + t),
            -lt_b - 1 / c + (Fb + Fd) / F,
            -(s + 1) / (beta + t) + Fz / F * (alpha + t) / (beta + t) ** 2,
        ]
    return log_j, np.column_stack(np.broadcast_arrays(*grad))


def _tail_pairs(x, tx, T):
    """Distinct (x, t) pairs among (x, t_x) and (x, T), and where each row's two pairs are.

    J depends on a row only through these pairs, which repeat far more than whole rows do.
    """
    px, pt, _, where = compress(np.concatenate([x, x]), np.concatenate([tx, T]))
    return px, pt, where


def _row_terms(params, x, tx, T, pairs=None):
    """Per-row log-likelihood, its gradient (rows x 4) and P(alive).

    Each parameter is one number or one value per row (a customer's own parameters, with
    covariates); then J is evaluated on each row's own (x, t) pairs.
    """
    r, alpha, s, beta = params
    rx = r + x
    if pairs is None and any(np.ndim(p) for p in params):
        both = [np.concatenate([p, p]) if np.ndim(p) else p for p in params]
        n = len(x)
        pairs = (np.concatenate([x, x]), np.concatenate([tx, T]), np.arange(2 * n))
        params_tail = both
    else:
        params_tail = params
    # log of the three terms in brackets: alive at T, and +J(t_x), -J(T)
    l_alive = -rx * np.log(alpha + T) - s * np.log(beta + T)
    g_alive = np.column_stack(
        [-np.log(alpha + T), -rx / (alpha + T), -np.log(beta + T), -s / (beta + T)]
    )
    # J(t_x) and J(T) in one series evaluation, on the distinct (x, t) pairs
    px, pt, where = _tail_pairs(x, tx, T) if pairs is None else pairs
    l_pairs, g_pairs = _log_tail(params_tail, px, pt)
    l_both, g_both = l_pairs[where], g_pairs[where]
    n = len(x)
    l_tx, l_T, g_tx, g_T = l_both[:n], l_both[n:], g_both[:n], g_both[n:]
    l_tx, l_T = l_tx + np.log(s), l_T + np.log(s)
    g_tx[:, 2] += 1 / s
    g_T[:, 2] += 1 / s
    top = np.maximum(l_alive, l_tx)
    e_alive, e_tx, e_T = np.exp(l_alive - top), np.exp(l_tx - top), np.exp(l_T - top)
    bracket = np.maximum(e_alive + (e_tx - e_T), e_alive)  # J(t_x) >= J(T)
    w_alive, w_tx, w_T = e_alive / bracket, e_tx / bracket, e_T / bracket
    base = gammaln(rx) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    ll = base + top + np.log(bracket)
    grad = w_alive[:, None] * g_alive + w_tx[:, None] * g_tx - w_T[:, None] * g_T
    grad += np.column_stack(
        [
            digamma(rx) - digamma(r) + np.log(alpha),
            np.full_like(rx, r / alpha),
            np.full_like(rx, np.log(beta)),
            np.full_like(rx, s / beta),
        ]
    )
    return ll, grad, np.clip(w_alive, 0.0, 1.0)


def log_likelihood(params, rows: Rows):
    """Total weighted log-likelihood of ``rows`` and its exact gradient in ``params``.

    Examples
    --------
    >>> ll, grad = log_likelihood([0.553, 10.58, 0.606, 11.67], Rows([130.0], [145.0], [145.0]))
    >>> bool(np.isfinite(ll) and np.isfinite(grad).all())
    True
    """
    if not hasattr(rows, "pareto_pairs"):  # computed once per fit, used by every evaluation
        rows.pareto_pairs = _tail_pairs(rows.x, rows.tx, rows.T)
    params = np.asarray(params, dtype=np.float64)
    ll, grad, _ = _row_terms(params, rows.x, rows.tx, rows.T, rows.pareto_pairs)
    return float(dot(rows.w, ll)), dot(rows.w, grad)


def row_log_likelihood(params, x, tx, T):
    """Log-likelihood of each row and its gradient (rows x 4), parameters per row or shared."""
    ll, grad, _ = _row_terms(params, x, tx, T)
    return ll, grad


def p_alive(params, x, tx, T):
    """P(active at T | x, t_x, T), in [0, 1] for every customer."""
    with np.errstate(all="ignore"):
        arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, tx, T)))
        flat = [a.ravel() for a in arrays]
        params = [p if np.ndim(p) == 0 else np.asarray(p, dtype=np.float64).ravel() for p in params]
        return _row_terms(params, *flat)[2].reshape(arrays[0].shape)


def expected_given_alive(params, t, x, tx, T):
    """E[purchases in (T, T + t] | active at T, x, T].

    ``(r + x)/(alpha + T) * (beta + T)/(s - 1) * (1 - ((beta + T)/(beta + T + t))^(s - 1))``,
    with ``expm1``/``log1p`` so that it stays exact for small t and for s close to 1.
    """
    r, alpha, s, beta = params
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), np.shape(x))
    with np.errstate(all="ignore"):
        rate = (r + x) / (alpha + T)
        if abs(s - 1) < 1e-9:
            horizon = (beta + T) * np.log1p(t / (beta + T))
        else:
            horizon = (beta + T) / (s - 1) * -np.expm1(-(s - 1) * np.log1p(t / (beta + T)))
        return np.where(t > 0, rate * horizon, 0.0)


@functools.cache
def _gauss_legendre(nodes):
    """Gauss-Legendre nodes and weights on [-1, 1] (an eigenproblem: computed once per size)."""
    return np.polynomial.legendre.leggauss(nodes)


def purchase_probability(params, n, t, *, nodes=400):
    """P(X(t) = n) for a new customer: exactly ``n`` repeat purchases in (0, t].

    Alive throughout: ``(beta/(beta+t))^s`` times the negative binomial probability of n in
    t. Dropped out at tau <= t: the negative binomial probability of n in tau, weighted by the
    density of tau, ``s beta^s / (beta + tau)^(s+1)``; that one-dimensional integral is
    summed with Gauss-Legendre nodes (dense near both ends, where it peaks), in log space.

    Examples
    --------
    >>> p = purchase_probability([0.553, 10.58, 0.606, 11.67], np.arange(300), 39.0)
    >>> round(float(p.sum()), 6)
    1.0
    """
    r, alpha, s, beta = params
    n = np.asarray(n, dtype=np.float64)
    t = float(t)
    points, weights = _gauss_legendre(nodes)
    tau = t / 2 * (points + 1)
    log_nb = gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(alpha)
    alive = (
        log_nb + s * (np.log(beta) - np.log(beta + t)) + n * np.log(t) - (r + n) * np.log(alpha + t)
    )
    k = n[..., None]
    dead = logsumexp(
        np.log(s * t / 2 * weights)
        + s * np.log(beta)
        - (s + 1) * np.log(beta + tau)
        + k * np.log(tau)
        - (r + k) * np.log(alpha + tau),
        axis=-1,
    )
    return np.exp(np.logaddexp(alive, log_nb + dead))


def expected_given_alive_lower_dropout(params, t, x, tx, T, reduction):
    """E[purchases in (T, T + t] | active at T, x, T] with a ``reduction`` lower own dropout.

    The customer's own future dropout rate is ``reduction`` (relative) lower.

    Given active at T, ``lambda ~ Gamma(r + x, alpha + T)`` and ``mu ~ Gamma(s, beta + T)``,
    independent. With the future dropout rate ``k mu`` (``k = 1 - reduction``) the customer
    stays an exponential time with rate ``k mu`` and buys ``lambda`` per period meanwhile:
    ``E[purchases in t | lambda, mu] = lambda / (k mu) * (1 - exp(-k mu t))``, which is the
    unchanged expectation at the horizon ``k t``, divided by k. Over the posterior,
    ``E[lambda] = (r + x) / (alpha + T)`` and ``E[(1 - exp(-c mu)) / mu]`` is the integral
    from 0 to c of ``E[exp(-u mu)] = ((beta + T) / (beta + T + u))^s``, so exactly

        E_k(t) = (r + x)/(alpha + T) * (beta + T)/(s - 1)
                 * (1 - ((beta + T)/(beta + T + k t))^(s - 1)) / k
               = expected_given_alive(params, k t, x, tx, T) / k.

    Examples
    --------
    >>> params, x, T = [0.553, 10.58, 0.606, 11.67], np.array([2.0]), np.array([38.9])
    >>> kept = expected_given_alive_lower_dropout(params, 52.0, x, x, T, 0.05)
    >>> bool(kept[0] > expected_given_alive(params, 52.0, x, x, T)[0])
    True
    """
    keep = 1.0 - reduction
    t = np.asarray(t, dtype=np.float64)
    return expected_given_alive(params, keep * t, x, tx, T) / keep


class ParetoNBD(PurchaseKind):
    """Pareto/NBD in the purchase-model contract (:class:`~cxlib.clv.kinds.PurchaseKind`)."""

    name, display_name, position = "pareto_nbd", "Pareto/NBD", 2
    param_names = ("r", "alpha", "s", "beta")
    time_params = (1, 3)
    given_alive_uses_recency = False  # E[purchases | alive] depends on frequency and T only
    dropout_names, dropout_unit = ("s", "beta"), "period"
    dropout_formula = "s/beta x T_max"
    scenario_changes = "the dropout rate"

    #: Covariates (:mod:`cxlib.clv.covariates`): ``alpha_i = alpha exp(-x_i . purchase)``
    #: multiplies the purchase rate by ``exp(x_i . purchase)``; ``beta_i = beta exp(-x_i .
    #: dropout)`` the dropout rate by ``exp(x_i . dropout)`` (CLVTools, pymc-marketing).
    covariate_links = {"purchase": ("purchase", 1, -1), "dropout": ("dropout", 3, -1)}

    log_likelihood = staticmethod(log_likelihood)
    row_log_likelihood = staticmethod(row_log_likelihood)
    p_alive = staticmethod(p_alive)
    expected_given_alive = staticmethod(expected_given_alive)
    purchase_probability = staticmethod(purchase_probability)
    expected_given_alive_lower_dropout = staticmethod(expected_given_alive_lower_dropout)

    def mean_dropout(self, params) -> float:
        """Mean dropout rate per period, ``s / beta``."""
        _, _, s, beta = params
        return s / beta


KIND = ParetoNBD()
