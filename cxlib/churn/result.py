"""The run's churn, computed once: the client's definition, who has churned, the rate, survival.

:func:`run_churn` is what :attr:`cxlib.run.client.Client.churn` computes (and caches) for a
client; the churn page reads its :class:`ChurnResult` instead of calling :func:`churn_rate` and
:func:`survival_table` itself, so every page of a run stands on the same churn.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cxlib.churn.definitions import ChurnRate, churn_rate, resolve_cutoff
from cxlib.churn.inactivity import inactivity_threshold
from cxlib.churn.registry import DEFINITIONS, ChurnDefinition, churn_definition
from cxlib.churn.survival import survival_table
from cxlib.settings.validation import DataError, check_transactions

__all__ = ["ChurnResult", "run_churn"]


@dataclass
class ChurnResult:
    """A client's churn under its one definition (:func:`run_churn`).

    Attributes
    ----------
    name : str
        The definition's name (:attr:`definition` is the object).
    words : str
        What "churned" means for this client, in words.
    threshold_days : int or None
        The inactivity threshold (None when the data have none and the definition needs none).
    threshold_note : str
        The threshold and the gaps it is read from, in a paragraph (empty without one).
    churned : Series of bool
        Each customer's status at the end of the data: the run's base's ``churned`` column.
    cutoff : Timestamp
        The start of the churn window.
    horizon_days : int
        The window's length: the rate counts churn from ``cutoff`` to ``cutoff + horizon_days``.
    rate : ChurnRate
        The churn rate over the window (:func:`churn_rate`).
    survival : DataFrame
        Each customer's lifetime since acquisition (:func:`survival_table`).
    """

    name: str
    words: str
    threshold_days: int | None
    threshold_note: str
    churned: pd.Series
    cutoff: pd.Timestamp
    horizon_days: int
    rate: ChurnRate
    survival: pd.DataFrame

    @property
    def definition(self) -> ChurnDefinition:
        """The client's churn definition (from :data:`cxlib.churn.DEFINITIONS`)."""
        return DEFINITIONS[self.name]

    @property
    def rate_note(self) -> str:
        """The churn rate in one sentence with its 95% interval, for the page."""
        rate = self.rate
        return f"{rate.description} 95% interval {rate.ci_low:.1%} to {rate.ci_high:.1%}."


def run_churn(
    transactions: pd.DataFrame,
    *,
    base: pd.DataFrame,
    definition: str,
    customers: pd.DataFrame | None = None,
    feedback: pd.DataFrame | None = None,
    threshold_days: int | None = None,
    inactivity_days: int | None = None,
    cutoff=None,
    horizon_days: int = 90,
    purchase_model=None,
    freq: str = "D",
    observation_end=None,
) -> ChurnResult:
    """Compute a client's churn once: status (from the base), the rate and the survival table.

    Parameters
    ----------
    transactions : DataFrame
        The client's canonical transactions up to ``observation_end``.
    base : DataFrame
        The run's customer base, with its ``churned`` column (``client.base``).
    definition : str
        The client's churn definition, a name of :data:`cxlib.churn.DEFINITIONS`.
    customers, feedback : DataFrame, optional
        The client's tables: contract dates, attributes fixed at acquisition, complaints.
    threshold_days : int, optional
        The run's inactivity threshold (``client.churn_threshold_days``).
    inactivity_days : int, optional
        The threshold the client's YAML sets (``churn_inactivity_days``), for the note.
    cutoff : date-like, optional
        The start of the churn window (``churn_cutoff``); default :func:`resolve_cutoff`'s.
    horizon_days : int, default 90
        The window's length (``churn_horizon_days``).
    purchase_model : cxlib.clv.PurchaseModel, optional
        The run's fitted purchase model, for ``"p_alive"``.
    freq : str, default "D"
        The unit the purchase model was fitted in.
    observation_end : date-like, optional
        The end of the data (the base's).

    Returns
    -------
    ChurnResult
    """
    transactions = check_transactions(transactions, caller="run_churn")
    rule = churn_definition(definition, caller="run_churn")
    try:
        threshold = inactivity_threshold(transactions, days=inactivity_days)
    except DataError:
        if rule.uses_threshold:
            raise
        threshold = None  # no repeat purchases: a definition without a threshold goes on
    cutoff = resolve_cutoff(transactions, cutoff, horizon_days=horizon_days)
    rate = churn_rate(
        transactions,
        start=cutoff,
        end=cutoff + pd.Timedelta(days=horizon_days),
        definition=definition,
        customers=customers,
        threshold_days=threshold_days,
        purchase_model=purchase_model,
        freq=freq,
    )
    survival = survival_table(
        transactions,
        definition=definition,
        customers=customers,
        feedback=feedback,
        observation_end=observation_end,
        threshold_days=threshold_days,
    )
    return ChurnResult(
        name=rule.name,
        words=rule.words(threshold_days=threshold_days),
        threshold_days=threshold_days,
        threshold_note="" if threshold is None else threshold.explanation,
        churned=base["churned"].astype(bool),
        cutoff=cutoff,
        horizon_days=int(horizon_days),
        rate=rate,
        survival=survival,
    )
