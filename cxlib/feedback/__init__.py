"""Themes in complaint and feedback texts, ranked by the money at stake rather than by volume.

A complaint from a customer who bought is a statement of the outcome they wanted ("my parcel
on time", "a refund without a fight"). This package finds the recurring themes with TF-IDF and
non-negative matrix factorisation (scikit-learn), labels each by its top phrases with clean
quotes, separates complaints from praise by the writers' NPS answers, and links each theme to
the churn and revenue of the customers who raised it.

- :func:`find_themes` — themes, their labels, quotes and each text's theme.
- :func:`find_outcomes` — complaint themes (detractors and passives) apart from praise
  (promoters), each text linked to its writer's NPS answer (:func:`nps_categories`).
- :func:`outcome_table` — a readable table of themes with money at stake and quotes.
- :func:`themes_by` — how often each theme comes up within each segment (or channel, ...).
- :func:`theme_impact` — churn and revenue of customers raising each theme versus the others,
  and the revenue at stake, ranked.

Texts may be in any language that separates words with spaces or punctuation (the tokenizer
is Unicode-aware); ``stop_words`` names the language ("english", "russian", "french",
"german", "spanish"), is your own list, or ``None``.
"""

from cxlib.feedback._impact import DEFAULT_CHURN_DAYS, theme_impact, themes_by
from cxlib.feedback._outcomes import (
    MIN_RATED_TEXTS,
    OutcomeResult,
    find_outcomes,
    nps_categories,
    outcome_table,
)
from cxlib.feedback._stop_words import (
    FRENCH_STOP_WORDS,
    GERMAN_STOP_WORDS,
    RUSSIAN_STOP_WORDS,
    SPANISH_STOP_WORDS,
)
from cxlib.feedback._themes import DEFAULT_THEME_RANGE, ThemeResult, find_themes

__all__ = [
    "DEFAULT_CHURN_DAYS",
    "DEFAULT_THEME_RANGE",
    "FRENCH_STOP_WORDS",
    "GERMAN_STOP_WORDS",
    "MIN_RATED_TEXTS",
    "RUSSIAN_STOP_WORDS",
    "SPANISH_STOP_WORDS",
    "OutcomeResult",
    "ThemeResult",
    "find_outcomes",
    "find_themes",
    "nps_categories",
    "outcome_table",
    "theme_impact",
    "themes_by",
]
