"""Distinct (frequency, recency, T) rows with their weights, as the likelihoods consume them."""

from __future__ import annotations

import numpy as np


class Rows:
    """Distinct summary rows ``x, tx, T`` with weights ``w`` (how many customers share each).

    Each likelihood term depends on a row through x, t_x or T alone, each of which takes few
    distinct values, so the expensive functions (gammaln, digamma, log) are evaluated on the
    distinct values (``ux``, ``utx``, ``uT``) and gathered with ``ix``, ``itx``, ``iT``.
    """

    def __init__(self, x, tx, T, w=None):
        self.x = np.asarray(x, dtype=np.float64)
        self.tx = np.asarray(tx, dtype=np.float64)
        self.T = np.asarray(T, dtype=np.float64)
        self.w = np.ones(len(self.x)) if w is None else np.asarray(w, dtype=np.float64)
        self.ux, self.ix = np.unique(self.x, return_inverse=True)
        self.utx, self.itx = np.unique(self.tx, return_inverse=True)
        self.uT, self.iT = np.unique(self.T, return_inverse=True)
        self.wx = np.bincount(self.ix, weights=self.w, minlength=len(self.ux))
        self.total = float(self.w.sum())
        self.repeat = self.x > 0

    def scaled(self, scale: float) -> Rows:
        """The same rows with times (t_x, T) multiplied by ``scale``."""
        return Rows(self.x, self.tx * scale, self.T * scale, self.w)
