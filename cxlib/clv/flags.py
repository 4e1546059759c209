"""Why a fitted CLV model should not be trusted as it is: one flag per condition, with its numbers.

A model's ``fit`` decides each condition once, from the fitted numbers, and keeps the result as a
:class:`FitWarning`: the sentence (issued as a ``UserWarning``, the way scikit-learn's estimators
warn on convergence, and shown on the report page word for word), and the checks the sentence
rests on, so the report can record it as a headline that ``cxlib audit`` re-evaluates.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from cxlib.settings.headline import Headline
from cxlib.settings.params import Options, check_param

__all__ = ["OPERATORS", "FitWarning", "check", "issue"]

#: Comparisons a check may use (the shared contract of reviewer warnings).
OPERATORS = ("<", "<=", ">", ">=", "==", "!=", "all_equal", "finite")


def check(name: str, value, op: str, threshold: float | None = None) -> dict:
    """One number a warning rests on and the comparison that must hold for it to be true.

    Parameters
    ----------
    name : str
        What the number is, in words.
    value : float or list of float
        The number, as the page shows it.
    op : {"<", "<=", ">", ">=", "==", "!=", "all_equal", "finite"}
        The comparison of ``value`` with ``threshold`` ("all_equal" and "finite" take none).
    threshold : float, optional

    Examples
    --------
    >>> check("mean dropout", 1e-12, "<", 1e-4)
    {'name': 'mean dropout', 'value': 1e-12, 'op': '<', 'threshold': 0.0001}
    """
    check_param("op", op, Options(OPERATORS), caller="check")
    if isinstance(value, Iterable) and not isinstance(value, str):
        value = [float(v) for v in value]
    else:
        value = float(value)
    return {
        "name": name,
        "value": value,
        "op": op,
        "threshold": None if threshold is None else float(threshold),
    }


def _holds(item: dict) -> bool:
    value, op, threshold = item["value"], item["op"], item["threshold"]
    values = value if isinstance(value, list) else [value]
    if not values or not all(v is not None and math.isfinite(v) for v in values):
        return False
    if op == "finite":
        return True
    if op == "all_equal":
        return all(v == values[0] for v in values)
    if threshold is None or not math.isfinite(threshold):
        return False
    compare = {
        "<": lambda v: v < threshold,
        "<=": lambda v: v <= threshold,
        ">": lambda v: v > threshold,
        ">=": lambda v: v >= threshold,
        "==": lambda v: v == threshold,
        "!=": lambda v: v != threshold,
    }[op]
    return all(compare(v) for v in values)


@dataclass(frozen=True)
class FitWarning:
    """A reason not to trust a fitted model as it is, with the numbers it rests on.

    Attributes
    ----------
    key : str
        Headline key, ending in ``_warning`` (e.g. ``"clv_model_warning"``).
    label : str
        Plain-language label for the summary.
    message : str
        The sentence: the ``UserWarning``'s text and the page's, word for word.
    checks : tuple of dict
        :func:`check` items; every one holds when the warning is true.
    """

    key: str
    label: str
    message: str
    checks: tuple = ()

    @property
    def holds(self) -> bool:
        """Whether every check holds (what ``cxlib audit`` verifies on the recorded headline)."""
        return all(_holds(item) for item in self.checks)

    def headline(self) -> Headline:
        """Return the warning as a reviewer headline (unit "text", the checks as evidence)."""
        return Headline(
            self.key,
            self.label,
            self.message,
            unit="text",
            evidence={"checks": [dict(item) for item in self.checks]},
        )


def issue(flags: Iterable[FitWarning], stacklevel: int = 3) -> list[str]:
    """Issue each flag's sentence as a ``UserWarning``; return the sentences.

    ``stacklevel=3`` attributes the warning to the caller of the method that calls this.
    """
    messages = []
    for flag in flags:
        warnings.warn(flag.message, UserWarning, stacklevel=stacklevel)
        messages.append(flag.message)
    return messages
