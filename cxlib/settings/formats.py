"""Numbers written for a reader: the formats every layer shares, in the run's language.

The symbols come from :mod:`cxlib.settings.i18n` (``p = 0,042`` in Russian).
"""

from __future__ import annotations

from cxlib.settings.i18n import number

__all__ = ["p_value_text"]


def p_value_text(p: float) -> str:
    """Write a p-value for a sentence: ``"p < 0.001"`` or ``"p = 0.042"``.

    Examples
    --------
    >>> p_value_text(5e-13), p_value_text(0.0421)
    ('p < 0.001', 'p = 0.042')
    """
    return f"p < {number(0.001, '.3f')}" if p < 0.001 else f"p = {number(p, '.3f')}"
