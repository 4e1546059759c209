r"""The report's language: the active language of a run, its message catalogue, its number formats.

One module owns every word and number a reader sees in a language other than English:

- the **active language** (:func:`language`): set for a run with :func:`set_language` or
  :func:`using`; a notebook kernel started by the runner learns it from the environment variable
  :data:`ENV_VAR` (``CXLIB_LANGUAGE``), which the runner sets in every kernel's environment (a
  notebook opened by hand without it reads English);
- **messages** (:func:`gettext`, alias ``_``, and :func:`ngettext` with Russian's three plural
  forms): GNU gettext catalogues under ``cxlib/locale/<lang>/LC_MESSAGES/cxlib.po``, read at run
  time with :mod:`babel.messages.pofile` (no compiled ``.mo`` in git or in the wheel; a fuzzy
  entry is never used). :func:`N_` and :func:`Nn_` mark strings for the catalogue without
  translating them (tables of names read later by their English);
- **locale formatting** through Babel's locale data (CLDR): :func:`number`, :func:`percent`,
  :func:`money`, :func:`date`, :func:`month`. The digits always come from Python's own
  formatting, so a number rounds the same way in every language, and English output is exactly
  what cxlib wrote before languages existed (``1,234.5``, ``12.3%``, ``EUR 2.20M``,
  ``2026-12-07``); other languages take Babel's symbols and patterns (ru: ``1 234,5``,
  ``12,3 %``, ``2,2 млн €``, ``7 декабря 2026 г.``, with non-breaking spaces).

Examples
--------
>>> number(1234.5, ",.1f"), percent(0.123), money(2.2e6, "EUR", compact=True)
('1,234.5', '12.3%', 'EUR 2.20M')
>>> with using("ru"):
...     number(1234.5, ",.1f"), percent(0.123), money(2.2e6, "EUR", compact=True, digits=1)
('1\xa0234,5', '12,3\xa0%', '2,2\xa0млн\xa0€')
>>> with using("ru"):
...     [ngettext("week", "weeks", n) for n in (1, 2, 5, 21)]
['неделя', 'недели', 'недель', 'неделя']
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from cxlib.settings.params import Options, check_param

__all__ = [
    "DOMAIN",
    "ENV_VAR",
    "LANGUAGES",
    "N_",
    "Nn_",
    "catalogue_path",
    "check_language",
    "date",
    "day",
    "gettext",
    "language",
    "markdown_paragraphs",
    "money",
    "month",
    "ngettext",
    "number",
    "percent",
    "scaled",
    "set_language",
    "translate_markdown",
    "translations",
    "using",
]

#: The languages a report can be written in; English is the source of every message.
LANGUAGES = ("en", "ru")

#: The environment variable that carries a run's language into each notebook's kernel.
ENV_VAR = "CXLIB_LANGUAGE"

#: The gettext domain: ``cxlib/locale/<lang>/LC_MESSAGES/cxlib.po``.
DOMAIN = "cxlib"

#: The folder of the catalogues, inside the package (so a wheel carries it).
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"

_active: str | None = None


def check_language(lang: object, name: str = "language", caller: str = "set_language") -> str:
    """Return ``lang`` when it is one of :data:`LANGUAGES`, else raise the parameter error.

    Examples
    --------
    >>> check_language("fr", caller="build_report")
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'language' parameter of build_report must be one \
of ['en', 'ru']. Got 'fr' instead.
    """
    check_param(name, lang, Options(LANGUAGES), caller=caller)
    return str(lang)


_checked = check_language


def set_language(lang: str | None) -> None:
    """Make ``lang`` the active language of this process (``None``: back to the environment).

    Examples
    --------
    >>> set_language("ru"); language()
    'ru'
    >>> set_language(None)
    """
    global _active
    _active = None if lang is None else _checked(lang)


def language() -> str:
    """Return the active language: the one set, else ``$CXLIB_LANGUAGE``, else ``"en"``."""
    if _active is not None:
        return _active
    from_env = os.environ.get(ENV_VAR, "").strip()
    return _checked(from_env, ENV_VAR) if from_env else "en"


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Make ``lang`` the active language inside a ``with`` block (``None``: leave it as it is)."""
    global _active
    previous = _active
    if lang is not None:
        _active = _checked(lang)
    try:
        yield language()
    finally:
        _active = previous


def catalogue_path(lang: str) -> Path:
    """Return the ``.po`` file of ``lang``'s messages."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """Return ``lang``'s translations, read from its ``.po`` catalogue (fuzzy entries left out).

    English, and a language whose catalogue is missing, translate nothing: every message reads
    as its English source.
    """
    path = catalogue_path(lang)
    if lang == "en" or not path.is_file():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def gettext(message: str) -> str:
    """Translate ``message`` into the active language (English: as it is)."""
    if not message:
        return message
    return translations(language()).gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: float) -> str:
    """Translate a message that depends on a count ``n``, with the language's plural forms.

    Russian has three forms (1, 21 клиент; 2, 3, 4 клиента; 5, 11, 0 клиентов). A count that is
    not a whole number takes English's plural and Russian's genitive singular ("1,5 недели").

    Examples
    --------
    >>> ngettext("week", "weeks", 1), ngettext("week", "weeks", 2.5)
    ('week', 'weeks')
    """
    value = float(n)
    whole = int(value) if value.is_integer() else 2
    return translations(language()).ngettext(singular, plural, whole)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark ``message`` for the catalogue without translating it (translated where it is read)."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - gettext's convention
    """Mark a singular/plural pair for the catalogue without translating it."""
    return singular, plural


_PARAGRAPH_BREAK = re.compile(r"(\n[ \t]*\n)")


def markdown_paragraphs(text: str) -> list[str]:
    r"""Split a notebook's markdown into its paragraphs, the catalogue's unit for notebooks.

    A paragraph is text between blank lines that holds at least one letter; a changed paragraph
    invalidates only its own translation. Joining the pieces of :func:`_pieces` gives the text
    back unchanged.

    Examples
    --------
    >>> markdown_paragraphs("# Churn\n\nWho leaves.\n\n---")
    ['# Churn', 'Who leaves.']
    """
    return [piece.strip() for piece in _pieces(text) if _translatable(piece)]


def _pieces(text: str) -> list[str]:
    return _PARAGRAPH_BREAK.split(text)


def _translatable(piece: str) -> bool:
    return not _PARAGRAPH_BREAK.fullmatch(piece) and any(c.isalpha() for c in piece)


def translate_markdown(text: str, lang: str | None = None) -> str:
    """Translate a markdown cell paragraph by paragraph (untranslated ones stay English)."""
    found = translations(language() if lang is None else _checked(lang))
    shown = []
    for piece in _pieces(text):
        core = piece.strip()
        shown.append(piece.replace(core, found.gettext(core), 1) if _translatable(piece) else piece)
    return "".join(shown)


# --- Locale formatting ---------------------------------------------------------------------


@cache
def _symbols(lang: str) -> dict[str, str]:
    """Babel's (CLDR's) number symbols and patterns of ``lang``."""
    from babel import numbers

    percent_sign = numbers.format_percent(0, locale=lang).replace("0", "", 1)
    compact = {
        power: numbers.format_compact_decimal(5 * 10**power, locale=lang).replace("5", "", 1)
        for power in (3, 6, 9)
    }
    return {
        "group": numbers.get_group_symbol(lang),
        "decimal": numbers.get_decimal_symbol(lang),
        "minus": numbers.get_minus_sign_symbol(lang),
        "plus": numbers.get_plus_sign_symbol(lang),
        "percent": percent_sign,
        "k": compact[3],
        "M": compact[6],
        "B": compact[9],
    }


def localise(text: str, lang: str | None = None) -> str:
    r"""Rewrite a number Python formatted (``"-1,234.5"``) with the symbols of ``lang``.

    Examples
    --------
    >>> localise("-1,234.5", "ru")
    '-1\xa0234,5'
    """
    lang = language() if lang is None else lang
    if lang == "en":
        return text
    symbols = _symbols(lang)
    table = {",": symbols["group"], ".": symbols["decimal"], "-": symbols["minus"]}
    table["+"] = symbols["plus"]
    return "".join(table.get(char, char) for char in text)


def number(value: float, spec: str = ",.0f") -> str:
    """Format ``value`` with a Python format ``spec``, in the active language's symbols.

    Examples
    --------
    >>> number(1234567.891), number(0.5, ".3f"), number(12.345, "+.1f")
    ('1,234,568', '0.500', '+12.3')
    """
    return localise(format(value, spec))


def scaled(text: str, power: int) -> str:
    """Write a number already divided by ``10**power`` with its short scale word.

    ``power`` is 0, 3, 6 or 9: en ``12.5k``, ``1.25M``, ``2B``; ru ``12,5 тыс.``, ``1,25 млн``.

    Examples
    --------
    >>> scaled("1.25", 6), scaled("12.5", 3), scaled("980", 0)
    ('1.25M', '12.5k', '980')
    """
    if power == 0:
        return localise(text)
    lang = language()
    key = {3: "k", 6: "M", 9: "B"}[power]
    return text + key if lang == "en" else localise(text, lang) + _symbols(lang)[key]


def percent(share: float, digits: int = 1, *, sign: bool = False) -> str:
    """Format a share (0.123) as a percentage: ``12.3%`` (en), ``12,3 %`` (ru).

    Examples
    --------
    >>> percent(0.1234), percent(0.05, 0, sign=True)
    ('12.3%', '+5%')
    """
    text = format(100 * share, f"{'+' if sign else ''}.{digits}f")
    lang = language()
    if lang == "en":
        return f"{text}%"
    return localise(text, lang) + _symbols(lang)["percent"]


def _currency_symbol(currency: str, lang: str) -> str:
    from babel.numbers import get_currency_symbol

    return get_currency_symbol(currency, lang) if currency.isupper() else currency


def money(value: float, currency: str, *, compact: bool = False, digits: int = 2) -> str:
    r"""Format an amount of money with its currency.

    ``compact=True`` shortens large amounts (en ``EUR 1.23M``, ``EUR 12.3k``; ru ``1,23 млн €``,
    ``12,3 тыс. €``) with ``digits`` decimals on millions and billions, one on thousands past
    10,000; otherwise whole units from 1,000 up and cents below (en ``EUR 2,901``,
    ``EUR 45.20``). English puts the code first, as cxlib always has; other languages follow
    Babel's pattern and symbol (``€``, ``₽``).

    Examples
    --------
    >>> money(1234567.8, "EUR", compact=True), money(2901.42, "EUR"), money(45.2, "EUR")
    ('EUR 1.23M', 'EUR 2,901', 'EUR 45.20')
    >>> with using("ru"):
    ...     money(2901.42, "RUB")
    '2\xa0901\xa0₽'
    """
    magnitude, lang = abs(value), language()
    suffix = ""
    if compact and magnitude >= 1e9:
        text, suffix = format(value / 1e9, f".{digits}f"), "B"
    elif compact and magnitude >= 1e6:
        text, suffix = format(value / 1e6, f".{digits}f"), "M"
    elif compact and magnitude >= 1e4:
        text, suffix = format(value / 1e3, ".1f"), "k"
    elif magnitude >= 1e3:  # cents on thousands are noise
        text = format(value, ",.0f")
    else:
        text = format(value, ",.2f")
    if lang == "en":
        return f"{currency} {text}{suffix}"
    shown = localise(text, lang) + (_symbols(lang)[suffix] if suffix else "")
    return f"{shown}\xa0{_currency_symbol(currency, lang)}"


def date(value: object) -> str:
    """Format a date: ``2026-12-07`` (en, ISO as cxlib always wrote it), ``7 декабря 2026 г.`` (ru).

    Examples
    --------
    >>> date(dt.date(2026, 12, 7))
    '2026-12-07'
    """
    day = _as_date(value)
    lang = language()
    if lang == "en":
        return day.strftime("%Y-%m-%d")
    from babel.dates import format_date

    return format_date(day, "long", locale=lang)


def day(value: object) -> str:
    """Format a day in a sentence: ``01 Oct 2025`` (en), ``1 октября 2025 г.`` (ru).

    English keeps the form cxlib's sentences always wrote (:func:`date` is the ISO form of
    tables); other languages take :func:`date`.

    Examples
    --------
    >>> day(dt.date(2025, 10, 1))
    '01 Oct 2025'
    """
    if language() == "en":
        return _as_date(value).strftime("%d %b %Y")
    return date(value)


def month(value: object) -> str:
    """Format a month: ``Dec 2026`` (en), ``декабрь 2026 г.`` (ru).

    Examples
    --------
    >>> month(dt.date(2026, 12, 7))
    'Dec 2026'
    """
    day = _as_date(value)
    lang = language()
    if lang == "en":
        return day.strftime("%b %Y")
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", day, locale=lang)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp, without importing pandas
        return value.to_pydatetime().date()
    return dt.date.fromisoformat(str(value)[:10])
