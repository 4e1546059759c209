"""Distinct (frequency, recency, T) rows with their weights, as the likelihoods consume them."""

from __future__ import annotations

import numpy as np


def dot(weights, values):
    """``sum(weights * values)`` over rows (``values`` 1-D, or 2-D: one sum per column).

    ``einsum`` instead of ``@``: a threaded BLAS call spins idle threads for vectors this
    size, which costs more CPU than the sum itself on a busy machine.
    """
    return np.einsum("i,i...->...", weights, values)


class Rows:
    """Distinct summary rows ``x, tx, T`` with weights ``w`` (how many customers share each).

    Each likelihood term depends on a row through x, t_x or T alone, each of which takes few
    distinct values, so the expensive functions (gammaln, digamma, log) are evaluated on the
    distinct values (``ux``, ``utx``, ``uT``) and gathered with ``ix``, ``itx``, ``iT``.
    """

    def __init__(self, x, tx, T, w=None):
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.tx = np.ascontiguousarray(tx, dtype=np.float64)
        self.T = np.ascontiguousarray(T, dtype=np.float64)
        self.w = np.ones(len(self.x)) if w is None else np.ascontiguousarray(w, dtype=np.float64)
        self.ux, self.ix = np.unique(self.x, return_inverse=True)
        self.utx, self.itx = np.unique(self.tx, return_inverse=True)
        self.uT, self.iT = np.unique(self.T, return_inverse=True)
        self.wx = np.bincount(self.ix, weights=self.w, minlength=len(self.ux))
        self.total = float(self.w.sum())
        self.repeat = self.x > 0

    def scaled(self, scale: float) -> Rows:
        """Return the same rows with times (t_x, T) multiplied by ``scale``."""
        return Rows(self.x, self.tx * scale, self.T * scale, self.w)

    def sample(self, size: int) -> Rows:
        """Return about ``size`` rows spread evenly over the rows.

        Their weights are scaled so that they stand for every customer (a start point for
        the full fit).
        """
        step = max(1, len(self.x) // size)
        keep = slice(0, None, step)
        weights = self.w[keep] * (self.total / self.w[keep].sum())
        return Rows(self.x[keep], self.tx[keep], self.T[keep], weights)
