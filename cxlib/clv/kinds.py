"""The purchase-model contract, and the one registry of the models that implement it.

Each "buy 'til you die" model lives in one module of :mod:`cxlib.clv` (:mod:`~cxlib.clv.bgnbd`,
:mod:`~cxlib.clv.pareto_nbd`, :mod:`~cxlib.clv.mbgnbd`, :mod:`~cxlib.clv.bgbb`) and declares
itself there with a module-level ``KIND``: an instance of a :class:`PurchaseKind` subclass that
states its name, its name for a reader, its parameters, its mean dropout and what a retention
scenario changes, and gives its likelihood and predictions. :class:`~cxlib.clv.PurchaseModel`
fits any of them; :func:`~cxlib.clv.select_model`, the retention scenario, the pages' names and
the config's ``clv_model`` choices all read :func:`purchase_kinds`. Nothing tells the models
apart by their parameter names.

Adding a model is therefore one module with its ``KIND`` (and a test): the registry finds every
module of :mod:`cxlib.clv` that declares one.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from cxlib.settings.params import Options, check_param

__all__ = [
    "AUTO",
    "PurchaseKind",
    "clv_model_choices",
    "continuous_kinds",
    "display_name",
    "purchase_kind",
    "purchase_kinds",
]

#: The ``clv_model`` setting that lets the holdout choose the model.
AUTO = "auto"


class PurchaseKind(ABC):
    """What a purchase model declares and computes (the contract each model module implements).

    Every function takes the model's natural parameters (in ``param_names`` order) and numpy
    arrays of frequency ``x``, recency ``tx`` and age ``T``, and is finite for every customer.

    Attributes
    ----------
    name : str
        The ``kind`` of :class:`~cxlib.clv.PurchaseModel` and the config's ``clv_model``
        (``"bgnbd"``).
    display_name : str
        The name as the literature writes it, for a reader (``"BG/NBD"``).
    position : int
        Where the model comes in the registry: tables, comparisons and ties on the holdout
        follow it.
    param_names : tuple of str
        The four parameters, in the order the functions take them.
    time_params : tuple of int
        Positions of the parameters measured in time units (rescaled with the time axis).
    counts_opportunities : bool
        True for a discrete-opportunity model (a summary counted in opportunities, not
        measured in periods of ``freq``): it is not compared on the holdout, valued over
        months, or offered as ``clv_model``.
    given_alive_uses_recency : bool
        Whether E[purchases | alive] depends on recency (when not, it is computed on the
        distinct (frequency, T) pairs).
    dropout_names : tuple of str
        The parameters of the dropout process (for a sentence).
    dropout_unit : str
        What the mean dropout is per: ``"purchase"``, ``"period"`` or ``"opportunity"``.
    dropout_formula : str
        How :meth:`expected_dropouts` is computed, in the parameters.
    time_units : str
        What the summary's ages count, plural (``"periods"``, ``"opportunities"``).
    summary_rule : str
        What a valid summary row is, for an error message.
    scenario_changes : str or None
        What the retention scenario lowers (each customer's own posterior dropout), in words;
        None when the model has no scenario.
    covariate_links : dict
        ``{link: (side, parameter position, sign)}``: with covariates, the parameter at that
        position of customer i is ``p exp(sign * x_i . coef_link)``, ``x_i`` the customer's
        ``side`` (``"purchase"`` or ``"dropout"``) covariates (:mod:`cxlib.clv.covariates`).
        Empty for a model that takes no covariates.
    """

    name: str
    display_name: str
    position: int
    param_names: tuple[str, ...]
    time_params: tuple[int, ...] = ()
    counts_opportunities: bool = False
    given_alive_uses_recency: bool = True
    dropout_names: tuple[str, str]
    dropout_unit: str
    dropout_formula: str
    time_units: str = "periods"
    summary_rule: str = "integer frequency >= 0, 0 <= recency <= T"
    scenario_changes: str | None = None
    covariate_links: dict = {}  # noqa: RUF012 (read-only)

    def __repr__(self) -> str:
        return f"<purchase model {self.name!r} ({self.display_name})>"

    # -- the likelihood and predictions ----------------------------------------------------

    @abstractmethod
    def log_likelihood(self, params, rows):
        """Total weighted log-likelihood of ``rows`` and its exact gradient in ``params``."""

    def row_log_likelihood(self, params, x, tx, T):
        """Log-likelihood of each row and its gradient (rows x 4).

        Each parameter is one number or one value per row (a customer's own parameters, with
        covariates); a model with :attr:`covariate_links` implements it.
        """
        raise NotImplementedError(f"{self.display_name} takes no covariates")

    @abstractmethod
    def p_alive(self, params, x, tx, T):
        """P(active at T | x, t_x, T)."""

    @abstractmethod
    def expected_given_alive(self, params, t, x, tx, T):
        """E[purchases in (T, T + t] | active at T, x, t_x, T]."""

    @abstractmethod
    def purchase_probability(self, params, n, t):
        """P(X(t) = n) for a new customer: exactly ``n`` repeat purchases in (0, t]."""

    @abstractmethod
    def mean_dropout(self, params) -> float:
        """Return the mean dropout, per :attr:`dropout_unit`."""

    def conditional_expected(self, params, t, x, tx, T):
        """E[purchases in (T, T + t] | x, t_x, T]: P(alive) times E[purchases | alive]."""
        return self.p_alive(params, x, tx, T) * self.expected_given_alive(params, t, x, tx, T)

    def expected_dropouts(self, params, T_max) -> float:
        """Return the expected dropouts per customer over ``T_max`` (``dropout_at_bound``).

        By default the mean dropout per period (or opportunity) times ``T_max``; a model whose
        dropout comes per purchase overrides it.
        """
        return self.mean_dropout(params) * T_max

    def expected_given_alive_lower_dropout(self, params, t, x, tx, T, reduction):
        """E[purchases | alive] with each customer's own future dropout ``reduction`` lower.

        What the retention scenario changes (:attr:`scenario_changes`); a model without a
        scenario keeps this default, which refuses.
        """
        raise NotImplementedError(f"{self.display_name} has no retention scenario")

    def invalid_rows(self, x, tx, T):
        """Rows that are not a valid summary for this model (see :attr:`summary_rule`)."""
        return (x < 0) | (tx < 0) | (tx > T) | ((x == 0) & (tx != 0)) | (x != np.round(x))


@functools.cache
def purchase_kinds() -> dict[str, PurchaseKind]:
    """Return every purchase model, by name, in :attr:`PurchaseKind.position` order.

    The models are the ``KIND`` of the modules of :mod:`cxlib.clv` that declare one, found
    once: a new model module is registered by being there.

    Examples
    --------
    >>> list(purchase_kinds())
    ['bgnbd', 'pareto_nbd', 'mbgnbd', 'bgbb']
    """
    return discover(Path(__file__).parent, __package__)


def discover(folder: Path, package: str) -> dict[str, PurchaseKind]:
    """Find the ``KIND`` of every public module of ``package`` (in ``folder``), by position.

    Raises
    ------
    RuntimeError
        When two modules declare models of the same name.
    """
    found: dict[str, PurchaseKind] = {}
    for info in pkgutil.iter_modules([str(folder)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, PurchaseKind):
            continue
        if kind.name in found:
            raise RuntimeError(f"two purchase models are named {kind.name!r}")
        found[kind.name] = kind
    return dict(sorted(found.items(), key=lambda item: item[1].position))


def continuous_kinds() -> tuple[str, ...]:
    """List the models of a summary in periods of ``freq`` (compared on a holdout, valued).

    Examples
    --------
    >>> continuous_kinds()
    ('bgnbd', 'pareto_nbd', 'mbgnbd')
    """
    return tuple(name for name, kind in purchase_kinds().items() if not kind.counts_opportunities)


def clv_model_choices() -> tuple[str, ...]:
    """List the values the config's ``clv_model`` accepts: ``"auto"`` and each continuous model.

    Examples
    --------
    >>> clv_model_choices()
    ('auto', 'bgnbd', 'pareto_nbd', 'mbgnbd')
    """
    return (AUTO, *continuous_kinds())


def purchase_kind(name: str, caller: str = "PurchaseModel") -> PurchaseKind:
    """Return the registered model named ``name``.

    Raises
    ------
    ValueError
        Naming the models there are.
    """
    kinds = purchase_kinds()
    check_param("kind", name, Options(kinds), caller=caller)
    return kinds[name]


def display_name(name: str) -> str:
    """Name a model for a reader (``"Pareto/NBD"`` for ``"pareto_nbd"``); other names as given.

    Examples
    --------
    >>> display_name("pareto_nbd"), display_name("sbg")
    ('Pareto/NBD', 'sbg')
    """
    kind = purchase_kinds().get(name)
    return name if kind is None else kind.display_name
