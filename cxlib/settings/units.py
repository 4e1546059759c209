"""The one table of periods: how long each ``freq`` code is, how a reader calls it, how SQL cuts it.

cxlib names a period by a pandas-style code: ``"D"`` (day), ``"W"`` (week, Monday to Sunday),
``"M"`` (calendar month), ``"Q"`` (quarter), ``"Y"`` (year). Every conversion between them goes
through this table, so a week is 7 days and a month 365.25 / 12 days everywhere (the average
month of the Gregorian calendar, as ``lifetimes`` and ``lifelines`` users expect).

API (pure, no data):

- :data:`PERIODS`: code -> :class:`Period` (``days``, ``per_month``, ``per_year``, ``name``,
  ``plural``, ``sql_unit``);
- :func:`period`: the :class:`Period` of a code, or the parameter error naming the codes allowed;
- :func:`code`: the code a pandas spelling names (``"MS"``, ``"QE"``, ``"A"``, any case);
- :func:`days`, :func:`periods_per_month`, :func:`periods_per_year`: the numbers;
- :func:`period_name`: ``"week"`` for one, ``"weeks"`` for several;
- :func:`months_to_periods`: a horizon in months expressed in periods of ``freq``.

Each function takes ``codes`` (the codes the caller supports, all by default) and ``name`` /
``caller`` so an unknown code is reported with the caller's parameter name, in the one message
template of :mod:`cxlib.settings.params`.

Examples
--------
>>> days("W"), periods_per_month("M"), periods_per_year("Q")
(7.0, 1.0, 4.0)
>>> period_name("W"), period_name("W", 2), period_name("M", 1)
('week', 'weeks', 'month')
>>> round(months_to_periods(12, "W"), 4)
52.1786
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cxlib.settings.i18n import Nn_, ngettext
from cxlib.settings.params import Options, check_param, param_error

__all__ = [
    "CODES",
    "PERIODS",
    "Period",
    "code",
    "days",
    "months_to_periods",
    "period",
    "period_name",
    "periods_per_month",
    "periods_per_year",
]

#: Days in an average Gregorian year: the one length every conversion derives from.
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Period:
    """One period length.

    Attributes
    ----------
    code : str
        The pandas-style code (``"W"``).
    days : float
        Its length in days (a month is ``365.25 / 12`` days).
    per_month : float
        How many of it make an average month (4.35 weeks).
    per_year : float
        How many of it make an average year (52.18 weeks).
    name, plural : str
        What a reader calls one and several (``"week"``, ``"weeks"``).
    sql_unit : str
        The SQL ``DATE_TRUNC`` unit that finds the period's first day (DuckDB and Spark).
    """

    code: str
    days: float
    per_month: float
    per_year: float
    name: str
    plural: str
    sql_unit: str


# The numbers are written as the former per-module tables wrote them (365.25 / 12 / 7, not
# 365.25 / 84), so every figure stays bit-for-bit what it was.
#: Every period cxlib knows, by code. Look-ups read it at call time (tests may patch an entry).
PERIODS: dict[str, Period] = {
    "D": Period("D", 1.0, DAYS_PER_YEAR / 12, DAYS_PER_YEAR, "day", "days", "day"),
    "W": Period("W", 7.0, DAYS_PER_YEAR / 12 / 7, DAYS_PER_YEAR / 7, "week", "weeks", "week"),
    "M": Period("M", DAYS_PER_YEAR / 12, 1.0, 12.0, "month", "months", "month"),
    "Q": Period("Q", DAYS_PER_YEAR / 4, 1 / 3, 4.0, "quarter", "quarters", "quarter"),
    "Y": Period("Y", DAYS_PER_YEAR, 1 / 12, 1.0, "year", "years", "year"),
}

# The names above, marked for the message catalogue (period_name translates them).
_NAMES = (
    Nn_("day", "days"),
    Nn_("week", "weeks"),
    Nn_("month", "months"),
    Nn_("quarter", "quarters"),
    Nn_("year", "years"),
)

#: The codes, shortest period first.
CODES = tuple(PERIODS)

#: pandas' other spellings of the codes (period start or end anchors, ``"A"`` for years).
ALIASES = {"MS": "M", "ME": "M", "QS": "Q", "QE": "Q", "A": "Y", "YS": "Y", "YE": "Y"}


def period(
    freq: object,
    *,
    codes: Iterable[str] | None = None,
    name: str = "freq",
    caller: str = "cxlib.settings.units.period",
) -> Period:
    """Return the :class:`Period` of ``freq``, or raise the parameter error.

    Parameters
    ----------
    freq : str
        A period code.
    codes : iterable of str, optional
        The codes the caller supports (all of :data:`CODES` by default), named in the message
        in the order given.
    name, caller : str
        The parameter and the public function the message names.

    Raises
    ------
    cxlib.settings.params.ParameterError
        When ``freq`` is not one of ``codes``.

    Examples
    --------
    >>> period("Q").sql_unit
    'quarter'
    >>> period("Q", codes=("D", "W", "M"), caller="rfm_summary")
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'freq' parameter of rfm_summary must be one of \
['D', 'W', 'M']. Got 'Q' instead.
    """
    allowed = CODES if codes is None else tuple(codes)
    check_param(name, freq, Options(allowed), caller=caller)
    return PERIODS[freq]  # type: ignore[index]


def code(
    freq: object,
    *,
    codes: Iterable[str] | None = None,
    name: str = "freq",
    caller: str = "cxlib.settings.units.code",
) -> str:
    """Return the code ``freq`` names, in any case or pandas spelling, or raise the parameter error.

    Examples
    --------
    >>> code("ms"), code("QE"), code("A"), code("w")
    ('M', 'Q', 'Y', 'W')
    >>> code("H", caller="nps_by")
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'freq' parameter of nps_by must be one of \
['D', 'W', 'M', 'Q', 'Y']. Got 'H' instead.
    """
    allowed = CODES if codes is None else tuple(codes)
    key = str(freq).upper()
    key = ALIASES.get(key, key)
    if key not in allowed:
        raise param_error(name, freq, Options(allowed), caller=caller)
    return key


def days(freq: str, **how) -> float:
    """Length of one period of ``freq`` in days (``how``: :func:`period`'s keywords)."""
    return period(freq, **how).days


def periods_per_month(freq: str, **how) -> float:
    """How many periods of ``freq`` make an average month (``how``: :func:`period`'s keywords)."""
    return period(freq, **how).per_month


def periods_per_year(freq: str, **how) -> float:
    """How many periods of ``freq`` make an average year (``how``: :func:`period`'s keywords)."""
    return period(freq, **how).per_year


def period_name(freq: str, n: float = 1, **how) -> str:
    """Name ``n`` periods of ``freq`` for a reader: ``"week"`` when ``n == 1``, else ``"weeks"``.

    In the run's language (:func:`cxlib.settings.i18n.ngettext`): Russian's three forms.

    Examples
    --------
    >>> period_name("Q", 0), period_name("D", 1)
    ('quarters', 'day')
    """
    found = period(freq, **how)
    return ngettext(found.name, found.plural, n)


def months_to_periods(months: float, freq: str, **how) -> float:
    """Express a length in months in periods of ``freq`` (``months * periods_per_month``).

    Examples
    --------
    >>> months_to_periods(6, "M"), months_to_periods(3, "Q")
    (6.0, 1.0)
    """
    return months * periods_per_month(freq, **how)
