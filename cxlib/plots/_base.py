"""What every figure shares: the theme, the palette, client labels, money axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["PALETTE", "set_theme"]

# One palette for the whole report, so a segment keeps its colour from page to page.
PALETTE = "colorblind"


def set_theme() -> None:
    """Apply the report's figure theme (call once at the top of a notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": 100,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _label(value) -> str:
    """Return a client's name as a figure shows it: one helper for every client label.

    Control and bidirectional control characters removed, at most ``limits.max_label_chars``
    characters (:func:`cxlib.settings.escape.safe_text`), and ``$`` escaped: two dollar signs would
    make matplotlib read the text between them as a formula.
    """
    from cxlib.settings import escape as _html

    return _html.safe_text(value, _html.MAX_LABEL_CHARS).replace("$", r"\$")


def _labels(values) -> list[str]:
    """Return client names as a figure shows them (:func:`_label`), distinct when they were.

    Two long names that differ only past the limit get " (2)", " (3)": a categorical axis
    would otherwise merge their bars.
    """
    shown: list[str] = []
    for value in values:
        label, n = _label(value), 2
        while label in shown:
            label, n = f"{_label(value)} ({n})", n + 1
        shown.append(label)
    return shown


def _get_ax(ax=None, **subplot_kw):
    """Return ``ax`` or a new figure's axes."""
    if ax is None:
        _, ax = plt.subplots(**subplot_kw)
    return ax


def _nothing_to_draw(ax, text: str):
    """Say in one line why a figure is empty, on a strip-sized figure when none is given.

    A full-sized empty chart (axes from -0.04 to 0.04, or a blank square) reads as a broken
    figure; one line of text says what is missing and takes a line's height.
    """
    ax = _get_ax(ax, figsize=(9, 0.5))
    ax.text(
        0.5, 0.5, str(text).replace("$", r"\$"), ha="center", va="center", transform=ax.transAxes
    )
    ax.set_axis_off()
    return ax


def _money_ticks(value: float, _position=None) -> str:
    """Tick label for money: 1,250 / 12.5k / 1.25M (the axis label names the currency).

    In the run's language (:mod:`cxlib.settings.i18n`): ru 1 250 / 12,5 тыс. / 1,25 млн.
    """
    from cxlib.settings.i18n import number, scaled

    magnitude = abs(value)
    if magnitude >= 1e6:
        return scaled(f"{value / 1e6:,.2f}".rstrip("0").rstrip("."), 6)
    if magnitude >= 1e4:
        return scaled(f"{value / 1e3:,.1f}".rstrip("0").rstrip("."), 3)
    return number(value, ",.0f" if magnitude >= 10 or value == int(value) else ",.2f")


def _count_ticks(value: float, _position=None) -> str:
    """Tick label for a count: 7,000 (en), 7 000 (ru)."""
    from cxlib.settings.i18n import number

    return number(value, ",.0f")


class _LocalPercent(plt.matplotlib.ticker.PercentFormatter):
    """matplotlib's percent ticks with the run's decimal symbol and CLDR's ``12,5 %``."""

    def __call__(self, x, pos=None):
        from cxlib.settings.i18n import localise

        return localise(super().__call__(x, pos))


def _percent_ticks():
    """Tick formatter for shares (0.2 -> 20%): matplotlib's, in the run's language (20 %)."""
    from cxlib.settings.i18n import language

    if language() == "en":
        return plt.matplotlib.ticker.PercentFormatter(1.0)
    return _LocalPercent(1.0, symbol="\xa0%")


def _money_axis(ax, label: str, currency: str | None, *, axis: str = "x") -> None:
    """Label a money axis with its currency and give it readable money ticks."""
    unit = f" ({currency})" if currency else ""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(plt.FuncFormatter(_money_ticks))
    target.set_label_text(f"{label}{unit}")
