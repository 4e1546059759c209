"""The churn definitions: one object each, and the one mapping of them, :data:`DEFINITIONS`.

A client chooses its definition by name (``churn_definition`` in its YAML); everything that
depends on the choice reads it from here: the names the config accepts
(:func:`cxlib.run.loading.check_settings`), each customer's status in the run's customer base
and in :func:`cxlib.churn.churn_status` and :func:`cxlib.churn.churn_rate`, the lifetimes of
:func:`cxlib.churn.survival_table`, the sentence the churn page prints, and the words the NPS
and feedback pages use (through the base's ``attrs``, :meth:`ChurnDefinition.base_attrs`).

Adding a definition is one :class:`ChurnDefinition` in :data:`DEFINITIONS` (its status rule, its
lifetimes, its words) and a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.churn.inactivity import inactivity_threshold
from cxlib.settings.params import Interval, Options, check_param, param_error
from cxlib.settings.validation import DataError

__all__ = ["DEFINITIONS", "ChurnDefinition", "ChurnInputs", "churn_definition"]


@dataclass(frozen=True)
class ChurnInputs:
    """What a definition may read besides the purchase history (each one uses what it needs).

    Attributes
    ----------
    customers : DataFrame or None
        The customers table (contract dates for ``"contract"``).
    threshold_days : int or None
        The inactivity threshold; None: read from the history (:func:`inactivity_threshold`).
    p_alive_threshold : float
        Below this probability of being alive a customer has churned (``"p_alive"``).
    purchase_model : cxlib.clv.PurchaseModel or None
        The client's fitted purchase model (``"p_alive"``).
    freq : str
        Time unit of the customer base's ``recency`` and ``T``.
    p_alive : Series or None
        Each customer's probability of being alive, already computed (``"p_alive"``).
    caller : str
        The public function, for messages.
    """

    customers: pd.DataFrame | None = None
    threshold_days: int | None = None
    p_alive_threshold: float = 0.5
    purchase_model: object = None
    freq: str = "D"
    p_alive: pd.Series | None = None
    caller: str = "churn_status"


@dataclass(frozen=True)
class ChurnDefinition:
    """One churn definition: its name, its words for the reader, its status and lifetimes.

    Attributes
    ----------
    name : str
        The name the client's YAML gives (``churn_definition: <name>``).
    label : str
        A short title for the reader (``"Inactivity"``).
    rule : str
        What "churned" means, in words; ``{days}`` is the inactivity threshold and
        ``{p_alive:.0%}`` the probability threshold.
    outcome : str
        The churn rate in one sentence; ``{n_at_risk}``, ``{n_churned}``, ``{rate}``,
        ``{start}``, ``{end}`` and ``{days}`` (the days between them) are filled in.
    flags : callable
        ``flags(table, base, history, as_of, inputs)``: ``table`` (the customer base's columns
        at ``as_of``) with ``churned`` (bool) added, and the definition's own columns.
    lifetimes : callable
        ``lifetimes(base, history, end, inputs)``: each customer's start and the end of the
        lifetime when observed by ``end`` (NaT: censored), two Series.
    uses_threshold : bool
        The status rule reads the inactivity threshold (``threshold_days``).
    uses_model : bool
        The status rule reads the run's purchase model (each customer's ``p_alive``).
    silence : bool
        Churn is read from a silence (no purchase for the threshold's days): an answer or a
        text needs that many days of data after it before its writer's churn can be read.
    """

    name: str
    label: str
    rule: str
    outcome: str
    flags: Callable[..., pd.DataFrame]
    lifetimes: Callable[..., tuple[pd.Series, pd.Series]]
    uses_threshold: bool = False
    uses_model: bool = False
    silence: bool = True

    def words(self, *, threshold_days: int | None = None, p_alive_threshold: float = 0.5) -> str:
        """Say what "churned" means for this client, in words.

        Examples
        --------
        >>> DEFINITIONS["inactivity"].words(threshold_days=95)
        'no purchase for more than 95 days'
        """
        return self.rule.format(days=threshold_days, p_alive=p_alive_threshold)

    def sentence(self, rate, *, threshold_days=None, p_alive_threshold: float = 0.5) -> str:
        """Say a :class:`cxlib.churn.ChurnRate` in one sentence, for the page."""
        n_at_risk, n_churned = rate.n_at_risk, rate.n_churned
        share = n_churned / n_at_risk if n_at_risk else float("nan")
        outcome = self.outcome.format(
            n_at_risk=n_at_risk,
            n_churned=n_churned,
            rate=share,
            start=rate.start.date(),
            end=rate.end.date(),
            days=(rate.end - rate.start).days,
        )
        words = self.words(threshold_days=threshold_days, p_alive_threshold=p_alive_threshold)
        return f"{self.label}: churned = {words}. {outcome}"

    def follow_up_days(self, threshold_days: int | None) -> int | None:
        """Days of data an answer or a text needs after it for its writer's churn to be read.

        The inactivity threshold for a definition read from a silence; None (any date before
        the end of the data) for one read from a dated event, such as a contract's end.
        """
        return threshold_days if self.silence else None

    def base_attrs(self, *, threshold_days=None, p_alive_threshold: float = 0.5) -> dict:
        """Return the ``attrs`` the run's customer base carries about its ``churned`` column.

        ``churn_definition`` (the name), ``churn_words`` (:meth:`words`) and
        ``churn_follow_up_days`` (:meth:`follow_up_days`): the NPS and feedback pages read
        them from the base instead of naming the definition themselves.
        """
        return {
            "churn_definition": self.name,
            "churn_words": self.words(
                threshold_days=threshold_days, p_alive_threshold=p_alive_threshold
            ),
            "churn_follow_up_days": self.follow_up_days(threshold_days),
        }


# --- inactivity: no purchase for longer than the threshold -----------------------------------


def _threshold(history: pd.DataFrame, inputs: ChurnInputs) -> int:
    if inputs.threshold_days is None:
        return int(inactivity_threshold(history).days)
    return int(inputs.threshold_days)


def _inactivity_flags(table, base, history, as_of, inputs) -> pd.DataFrame:
    """Churned: the last purchase more than the threshold's days before ``as_of``."""
    table["churned"] = table["days_since_last"] > _threshold(history, inputs)
    return table


def _inactivity_lifetimes(base, history, end, inputs) -> tuple[pd.Series, pd.Series]:
    """From the first purchase to the last one, for a customer who has churned by ``end``."""
    churned = base["days_since_last"] > _threshold(history, inputs)
    return base["first_purchase"], base["last_purchase"].where(churned)


# --- contract: the contract has ended ---------------------------------------------------------


def contract_end_column(customers: pd.DataFrame | None, caller: str) -> str:
    """Return the customers table's column holding each contract's end (or cancellation)."""
    if customers is None:
        must = (
            "a customers table with a 'contract_end' or 'cancellation_date' column when "
            "definition='contract'"
        )
        raise param_error("customers", customers, must, caller=caller)
    for column in ("contract_end", "cancellation_date"):
        if column in customers.columns:
            return column
    raise DataError(
        f"{caller}: definition='contract' needs a 'contract_end' or 'cancellation_date' column "
        f"in customers; got {list(customers.columns)}"
    )


def _contract_flags(table, base, history, as_of, inputs) -> pd.DataFrame:
    """Add the customers under contract at ``as_of``; churned = the contract has ended."""
    customers = inputs.customers
    column = contract_end_column(customers, inputs.caller)
    ends = pd.to_datetime(customers.set_index("customer_id")[column])
    starts = None
    if "signup_date" in customers.columns:
        starts = pd.to_datetime(customers.set_index("customer_id")["signup_date"])
    ids = ends.index if starts is None else starts.index[starts <= as_of]
    table = table.reindex(table.index.union(pd.Index(ids, name="customer_id")))
    end = ends.reindex(table.index)
    table["churned"] = end.notna() & (end <= as_of)
    return table


def _contract_lifetimes(base, history, end, inputs) -> tuple[pd.Series, pd.Series]:
    """Start (sign-up, else first purchase) and end (contract end when observed) per customer."""
    column = contract_end_column(inputs.customers, inputs.caller)
    cust = inputs.customers.set_index("customer_id")
    start = base["first_purchase"].reindex(cust.index)
    if "signup_date" in cust.columns:
        start = pd.to_datetime(cust["signup_date"]).fillna(start)
    start = start.dropna()
    stop = pd.to_datetime(cust[column]).reindex(start.index)
    return start, stop.where(stop <= end)


# --- p_alive: the purchase model's probability of being alive below a threshold ---------------


def _p_alive_flags(table, base, history, as_of, inputs) -> pd.DataFrame:
    """Churned: the probability of being alive at ``as_of`` below the threshold."""
    threshold = inputs.p_alive_threshold
    table["p_alive"] = _p_alive(base, inputs)
    table["churned"] = table["p_alive"] < threshold
    return table


def _p_alive(base: pd.DataFrame, inputs: ChurnInputs) -> pd.Series:
    """Each customer's probability of being alive: given, from the client's model, or a default.

    The default (a BG/NBD fitted on the base in days) keeps a bare call working; a report
    passes the client's own model or values so that every page uses the same ones.
    """
    share = Interval(float, 0, 1, closed="neither")
    check_param("p_alive_threshold", inputs.p_alive_threshold, share, caller=inputs.caller)
    if inputs.p_alive is not None:
        given = pd.Series(inputs.p_alive, dtype=float)
        return given.reindex(base.index)
    summary = base[["frequency", "recency", "T", "monetary_value"]]
    purchase_model = inputs.purchase_model
    if purchase_model is None:
        from cxlib.clv import PurchaseModel

        purchase_model = PurchaseModel(kind="bgnbd").fit(summary)
    values = purchase_model.p_alive(summary)
    return pd.Series(np.asarray(values, dtype=float), index=base.index)


#: Every churn definition a client can choose, by name: the one list of them.
DEFINITIONS: dict[str, ChurnDefinition] = {
    definition.name: definition
    for definition in (
        ChurnDefinition(
            name="inactivity",
            label="Inactivity",
            rule="no purchase for more than {days} days",
            outcome=(
                "Of {n_at_risk:,} customers active on {start}, {n_churned:,} ({rate:.1%}) had "
                "churned by {end} ({days} days later)."
            ),
            flags=_inactivity_flags,
            lifetimes=_inactivity_lifetimes,
            uses_threshold=True,
        ),
        ChurnDefinition(
            name="contract",
            label="Contract",
            rule="contract ended or cancelled",
            outcome=(
                "Of {n_at_risk:,} customers under contract on {start}, {n_churned:,} "
                "({rate:.1%}) had left by {end}."
            ),
            flags=_contract_flags,
            lifetimes=_contract_lifetimes,
            silence=False,
        ),
        ChurnDefinition(
            name="p_alive",
            label="P(alive)",
            rule="the purchase model's probability of being alive below {p_alive:.0%}",
            outcome=(
                "Of {n_at_risk:,} customers alive on {start}, {n_churned:,} ({rate:.1%}) were "
                "no longer alive by {end}."
            ),
            flags=_p_alive_flags,
            # the model gives no date of death: lifetimes end as under inactivity
            lifetimes=_inactivity_lifetimes,
            uses_model=True,
        ),
    )
}


def churn_definition(name: str, *, caller: str = "churn_definition") -> ChurnDefinition:
    """Return the definition called ``name`` from :data:`DEFINITIONS`.

    Raises
    ------
    ValueError
        For a name :data:`DEFINITIONS` does not hold, listing the ones it does.

    Examples
    --------
    >>> churn_definition("contract").label
    'Contract'
    """
    check_param("definition", name, Options(DEFINITIONS), caller=caller)
    return DEFINITIONS[name]
