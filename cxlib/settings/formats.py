"""Numbers written for a reader: the formats every layer shares."""

from __future__ import annotations

__all__ = ["p_value_text"]


def p_value_text(p: float) -> str:
    """Write a p-value for a sentence: ``"p < 0.001"`` or ``"p = 0.042"``.

    Examples
    --------
    >>> p_value_text(5e-13), p_value_text(0.0421)
    ('p < 0.001', 'p = 0.042')
    """
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
