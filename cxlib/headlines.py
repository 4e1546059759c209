"""Headline numbers: what each topic notebook records for the executive summary.

A topic notebook ends with::

    cxlib.headlines.save_headlines("04_clv", [
        cxlib.headlines.Headline("total_clv", "Total 12-month CLV", 1.2e6, unit="currency",
                                 ci_low=1.1e6, ci_high=1.3e6),
    ], path=headlines_path)

``cxlib report`` passes ``headlines_path`` to each notebook, collects the JSON files, and the
summary notebook reads them with :func:`load_headlines` instead of recomputing anything.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

__all__ = ["Headline", "format_value", "load_headlines", "save_headlines"]

Unit = Literal["currency", "percent", "count", "points", "ratio", "number", "text"]


@dataclass(frozen=True)
class Headline:
    """One number worth a sentence in the summary.

    Parameters
    ----------
    key : str
        Stable identifier, e.g. ``"revenue_at_risk"``.
    label : str
        Plain-language label for a reviewer.
    value : float or str
        The number (a share as a fraction, e.g. 0.23, when ``unit="percent"``), or a text.
    unit : {"currency", "percent", "count", "points", "ratio", "number", "text"}
        How to format it.
    ci_low, ci_high : float, optional
        95% interval, when the number has one.
    note : str, optional
        One sentence of context.
    """

    key: str
    label: str
    value: float | str
    unit: Unit = "number"
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""


def format_value(value: float | str | None, unit: str, *, currency: str = "EUR") -> str:
    """Format a headline value for a reader.

    Examples
    --------
    >>> format_value(1234567.8, "currency", currency="EUR")
    'EUR 1.23M'
    >>> format_value(0.2345, "percent")
    '23.5%'
    >>> format_value(12.3456, "points")
    '12.3'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "text" or isinstance(value, str):
        return str(value)
    if unit == "currency":
        magnitude = abs(value)
        if magnitude >= 1e9:
            return f"{currency} {value / 1e9:.2f}B"
        if magnitude >= 1e6:
            return f"{currency} {value / 1e6:.2f}M"
        if magnitude >= 1e4:
            return f"{currency} {value / 1e3:.1f}k"
        return f"{currency} {value:,.2f}"
    if unit == "percent":
        return f"{100 * value:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "points":
        return f"{value:.1f}"
    if unit == "ratio":
        return f"{value:.2f}x"
    return f"{value:,.3g}"


def save_headlines(
    notebook: str, headlines: Iterable[Headline], *, path: str | Path | None = None
) -> pd.DataFrame:
    """Record a notebook's headline numbers; write them as JSON when ``path`` is given.

    Returns the headlines as a frame, so the notebook can show what it recorded.
    """
    rows = [{"notebook": notebook, **asdict(item)} for item in headlines]
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2, default=float), encoding="utf-8")
    return pd.DataFrame(rows, columns=["notebook", *Headline.__dataclass_fields__])


def load_headlines(directory: str | Path) -> pd.DataFrame:
    """Read every headline JSON file in ``directory`` into one frame (empty when there are none)."""
    rows: list[dict] = []
    for file in sorted(Path(directory).glob("*.json")):
        rows.extend(json.loads(file.read_text(encoding="utf-8")))
    return pd.DataFrame(rows, columns=["notebook", *Headline.__dataclass_fields__])
