"""Parameter validation: declared constraints and the one message template.

Every public function checks its arguments with these pieces, so every refusal reads alike::

    The '{name}' parameter of {caller} must be {constraint}. Got {value!r} instead.

(the shape of ``sklearn.utils._param_validation``'s messages). API:

- :func:`check_param` ``(name, value, constraint, *, caller)``: return ``value`` when it meets
  ``constraint`` (a :class:`Constraint`, a type, or a list of them: any may hold), else raise
  :class:`ParameterError`;
- :func:`param_error` ``(name, value, must, *, caller, got=None)``: the error itself, for a check
  no declared constraint expresses (a rule across two parameters); ``must`` is the words after
  "must be";
- :func:`validate_params` ``({name: constraint}, caller=None)``: a decorator checking a
  function's arguments before it runs;
- constraints: :class:`Interval` (``Interval(int, 1, None)``: a positive integer;
  ``Interval(float, 0, 1, closed="neither")``), :class:`Options` (``Options(("D", "W"))``),
  :class:`InstanceOf` (``InstanceOf(pd.DataFrame, "a DataFrame")``), :class:`Satisfies` (any
  predicate, with its words), ``None`` (the value ``None``), and the shortcuts
  :func:`check_positive_int` and :func:`check_fraction`.

Every constraint has ``words`` (what follows "must be"); give ``words=`` to keep a function's
own wording ("a positive number of days"). :class:`ParameterError` subclasses both
``ValueError`` and ``TypeError`` (as scikit-learn's ``InvalidParameterError`` does), so callers
catching either keep working.

Examples
--------
>>> check_param("n_boot", 5, Interval(int, 10, None), caller="nps_trend")
Traceback (most recent call last):
...
cxlib.settings.params.ParameterError: The 'n_boot' parameter of nps_trend must be an integer \
>= 10. Got 5 instead.
>>> check_param("method", "gmm", Options(("kmeans", "gmm")), caller="cluster_customers")
'gmm'
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = [
    "Constraint",
    "InstanceOf",
    "Interval",
    "Options",
    "ParameterError",
    "Satisfies",
    "check_fraction",
    "check_param",
    "check_positive_int",
    "param_error",
    "validate_params",
]

#: The one message every parameter error reads as.
TEMPLATE = "The '{name}' parameter of {caller} must be {must}. Got {got} instead."


class ParameterError(ValueError, TypeError):
    """An argument that breaks its declared constraint.

    A ``ValueError`` and a ``TypeError`` both, so code (and tests) that caught either before
    the one template existed keep working.
    """


def param_error(
    name: str, value: Any, must: str, *, caller: str, got: str | None = None
) -> ParameterError:
    """Return the error for parameter ``name`` of ``caller``, in the one template.

    Parameters
    ----------
    name : str
        The parameter, as the caller's signature spells it.
    value : object
        What was passed; shown with ``repr`` unless ``got`` is given.
    must : str
        What the parameter must be ("a positive integer"), or a constraint (its ``words``).
    caller : str
        The public function named (``"customer_base"``).
    got : str, optional
        Text shown after "Got" instead of ``repr(value)`` (a type's name for a huge frame).

    Examples
    --------
    >>> str(param_error("freq", "X", "one of ['D', 'W']", caller="rfm_summary"))
    "The 'freq' parameter of rfm_summary must be one of ['D', 'W']. Got 'X' instead."
    """
    words = must.words if isinstance(must, Constraint) else str(must)
    shown = repr(value) if got is None else got
    return ParameterError(TEMPLATE.format(name=name, caller=caller, must=words, got=shown))


class Constraint:
    """What a parameter must be: :meth:`holds` tests a value, :attr:`words` describe it."""

    words: str = "valid"

    def holds(self, value: Any) -> bool:  # pragma: no cover - every subclass overrides it
        """Return whether ``value`` meets the constraint."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.words!r})"


def _is_number(value: Any) -> bool:
    """Tell a real number that is not a boolean (``True`` is no count of anything)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _bound(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class Interval(Constraint):
    """A number between two bounds.

    Parameters
    ----------
    kind : {int, float}
        ``int``: an integer (numpy integers too, never a boolean); ``float``: any real number
        that is not a boolean (ints included), NaN never.
    left, right : number or None
        The bounds; ``None`` for none on that side.
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the interval.
    words : str, optional
        Replaces the generated description (``"an integer >= 1"``, ``"in (0, 1]"``).

    Examples
    --------
    >>> Interval(float, 0, 1, closed="right").words
    'in (0, 1]'
    >>> Interval(int, 1, None).holds(True), Interval(float, 0, None).holds(float("nan"))
    (False, False)
    """

    def __init__(
        self,
        kind: type,
        left: float | None,
        right: float | None,
        *,
        closed: str = "both",
        words: str | None = None,
    ) -> None:
        if kind not in (int, float):
            raise ValueError(f"Interval kind must be int or float, not {kind!r}")
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"Interval closed must be both, left, right or neither: {closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed
        self.words = words or self._describe()

    def _describe(self) -> str:
        low_in = self.closed in ("both", "left")
        high_in = self.closed in ("both", "right")
        noun = "an integer" if self.kind is int else "a number"
        if self.left is not None and self.right is not None:
            low, high = _bound(self.left), _bound(self.right)
            return f"in {'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"
        if self.left is not None:
            return f"{noun} {'>=' if low_in else '>'} {_bound(self.left)}"
        if self.right is not None:
            return f"{noun} {'<=' if high_in else '<'} {_bound(self.right)}"
        return noun

    def holds(self, value: Any) -> bool:
        """Return whether ``value`` is a number of the kind, inside the bounds."""
        if self.kind is int:
            if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
                return False
        elif not _is_number(value) or math.isnan(value):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True


class Options(Constraint):
    """One of a few allowed values (codes, method names).

    ``words`` defaults to ``one of [...]`` with the options in the order given.

    Examples
    --------
    >>> Options(("D", "W", "M")).words
    "one of ['D', 'W', 'M']"
    >>> Options(["x"]).holds(["x"])  # an unhashable value is simply not an option
    False
    """

    def __init__(self, options: Iterable[Any], *, words: str | None = None) -> None:
        self.options = tuple(options)
        self.words = words or f"one of {list(self.options)}"

    def holds(self, value: Any) -> bool:
        """Return whether ``value`` equals an option (``True`` never equals ``1`` here)."""
        try:
            return any(
                bool(value == option) and _is_bool(value) == _is_bool(option)
                for option in self.options
            )
        except (TypeError, ValueError):  # an array compared with a string, say
            return False


class InstanceOf(Constraint):
    """An instance of a type (or of one of several), named by ``words``.

    Examples
    --------
    >>> InstanceOf(dict, "a dict").holds({})
    True
    """

    def __init__(self, kind: type | tuple[type, ...], words: str | None = None) -> None:
        self.kind = kind
        names = kind if isinstance(kind, tuple) else (kind,)
        self.words = words or " or ".join(f"a {k.__name__}" for k in names)

    def holds(self, value: Any) -> bool:
        """Return whether ``value`` is an instance of the type(s)."""
        return isinstance(value, self.kind)


class Satisfies(Constraint):
    """Any rule a predicate states, with the words a reader gets.

    Examples
    --------
    >>> Satisfies(lambda v: v % 2 == 0, "an even number").holds(3)
    False
    """

    def __init__(self, predicate: Callable[[Any], bool], words: str) -> None:
        self.predicate, self.words = predicate, words

    def holds(self, value: Any) -> bool:
        """Return the predicate's verdict (a predicate that raises says no)."""
        try:
            return bool(self.predicate(value))
        except (TypeError, ValueError):
            return False


class _IsNone(Constraint):
    words = "None"

    def holds(self, value: Any) -> bool:
        return value is None


def _as_constraint(constraint: Any) -> Constraint:
    if isinstance(constraint, Constraint):
        return constraint
    if constraint is None:
        return _IsNone()
    if isinstance(constraint, type | tuple):
        return InstanceOf(constraint)
    raise TypeError(f"not a parameter constraint: {constraint!r}")


def _any_of(constraint: Any) -> tuple[list[Constraint], str]:
    """Return the constraints of a list (any may hold) and their joined words ("a dict or None")."""
    if isinstance(constraint, list):
        parts = [_as_constraint(c) for c in constraint]
        return parts, " or ".join(part.words for part in parts)
    part = _as_constraint(constraint)
    return [part], part.words


def check_param(name: str, value: Any, constraint: Any, *, caller: str, got: str | None = None):
    """Return ``value`` when it meets ``constraint``; otherwise raise :class:`ParameterError`.

    Parameters
    ----------
    name : str
        The parameter's name in ``caller``'s signature.
    value : object
        The argument.
    constraint : Constraint, type, None or list of them
        What ``value`` must be; a list means any of them (``[Interval(int, 1, None), None]``:
        a positive integer or None).
    caller : str
        The public function the message names.
    got : str, optional
        Shown instead of ``repr(value)`` (see :func:`param_error`).

    Examples
    --------
    >>> check_param("n", None, [Interval(int, 1, None), None], caller="f") is None
    True
    >>> check_param("n", 0, [Interval(int, 1, None), None], caller="f")
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'n' parameter of f must be an integer >= 1 or \
None. Got 0 instead.
    """
    parts, words = _any_of(constraint)
    if not any(part.holds(value) for part in parts):
        raise param_error(name, value, words, caller=caller, got=got)
    return value


def validate_params(constraints: dict[str, Any], *, caller: str | None = None) -> Callable:
    """Decorate a function so its arguments are checked against ``constraints`` before it runs.

    Parameters
    ----------
    constraints : dict
        Parameter name -> constraint (as :func:`check_param` takes). Parameters not listed are
        not checked; a default value is checked like a passed one.
    caller : str, optional
        The name the messages give (the function's ``__name__`` by default).

    Examples
    --------
    >>> @validate_params({"n": Interval(int, 1, None, words="a positive integer")})
    ... def head(n=5):
    ...     return n
    >>> head(n=0)
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'n' parameter of head must be a positive \
integer. Got 0 instead.
    """

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise ValueError(f"{function.__name__} has no parameter(s) {sorted(unknown)}")
        name = caller or function.__name__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for parameter, constraint in constraints.items():
                check_param(parameter, bound.arguments[parameter], constraint, caller=name)
            return function(*args, **kwargs)

        return wrapper

    return decorate


#: A positive integer (never a boolean), in the words the messages have always used.
POSITIVE_INT = Interval(int, 1, None, words="a positive integer")
#: A number strictly between 0 and 1 (a share, a confidence level's complement).
FRACTION = Interval(float, 0, 1, closed="neither", words="a number strictly between 0 and 1")


def check_positive_int(value: object, name: str, *, caller: str) -> int:
    """Return ``value`` as an int, or raise the parameter error when it is not a positive integer.

    Examples
    --------
    >>> check_positive_int(0, "days", caller="f")
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'days' parameter of f must be a positive integer. \
Got 0 instead.
    """
    return int(check_param(name, value, POSITIVE_INT, caller=caller))


def check_fraction(value: object, name: str, *, caller: str) -> float:
    """Return ``value`` as a float, or raise the parameter error unless it lies strictly in (0, 1).

    Examples
    --------
    >>> check_fraction(95, "p", caller="f")
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'p' parameter of f must be a number strictly \
between 0 and 1. Got 95 instead.
    """
    return float(check_param(name, value, FRACTION, caller=caller))
