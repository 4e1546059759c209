"""Attributes a subscriber model must not use: functions of tenure, dates, identifiers.

A contract history's outcome is tenure and the churned flag. An attribute computed from tenure
brings tenure back into a model that is meant to leave it out: a telecom's *total charges* is
the monthly charge times the months subscribed, so a churner who left early has a small total
*because* they left early; a count of logins or payments grows with time the same way; an end
date is the churn itself. :func:`tenure_leakage` finds such columns from the data, and
:func:`model_attributes` returns the attributes every subscriber model may use, with the
others listed and the reason, for the page.

The rules (each on customers with a value in the column):

* a date column (``signup_date``, ``contract_end``, any datetime): it fixes tenure;
* a number that grows with tenure: Spearman correlation with tenure of at least
  ``monotone`` (0.9 by default), as a running count or total does;
* a number close to tenure times another number (a total = a periodic charge x tenure):
  Pearson correlation of at least ``product`` (0.95) with ``tenure x other`` and clearly above
  its correlation with the other number alone (by 0.05), so a column that merely tracks the
  charge is kept;
* identifiers: a text or integer column with a different value for (almost) every customer
  (a surname, a row number) says nothing that generalises, and text columns with more than
  ``max_levels`` levels cannot be compared group by group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["OUTCOME_COLUMNS", "model_attributes", "tenure_leakage"]

#: The contract history's own columns: the outcome and what is set with it.
OUTCOME_COLUMNS = ("customer_id", "tenure", "churned", "signup_date", "contract_end")


def _numeric(values: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() < max(3, 0.9 * values.notna().sum()):
        return None
    return numbers.astype(float)


def tenure_leakage(
    contracts: pd.DataFrame,
    *,
    monotone: float = 0.9,
    product: float = 0.95,
    min_rows: int = 20,
) -> pd.DataFrame:
    """Find the attributes of a contract history that are functions of tenure.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`cxlib.churn.contractual.contract_table`: ``tenure``, ``churned`` and the
        attributes.
    monotone : float, default 0.9
        Spearman correlation with tenure from which a number counts as growing with it.
    product : float, default 0.95
        Pearson correlation with ``tenure x other number`` from which a number counts as a
        total of that number over the tenure.
    min_rows : int, default 20
        Fewer customers with a value: the column is not judged (kept).

    Returns
    -------
    DataFrame
        One row per leaky column: ``column``, ``reason`` (a sentence with the evidence),
        ``correlation``. Empty when none is.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> tenure = rng.integers(1, 72, 500)
    >>> monthly = rng.uniform(20, 110, 500)
    >>> contracts = pd.DataFrame({"tenure": tenure, "churned": rng.random(500) < 0.3,
    ...     "monthly_charges": monthly, "total_charges": monthly * tenure + rng.normal(0, 5, 500),
    ...     "age": rng.integers(18, 80, 500)})
    >>> tenure_leakage(contracts)[["column", "correlation"]].round(2).to_dict("records")
    [{'column': 'total_charges', 'correlation': 1.0}]
    """
    tenure = contracts["tenure"].astype(float)
    numbers = {}
    rows = []
    for name in contracts.columns:
        if name in ("tenure", "churned", "customer_id"):
            continue
        values = contracts[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            rows.append((name, "a date: with the start or end of a contract it fixes tenure", 1.0))
            continue
        number = _numeric(values)
        if number is not None and number.nunique() > 2:
            numbers[name] = number
    for name, number in numbers.items():
        seen = number.notna()
        if seen.sum() < min_rows:
            continue
        best = _best_product(name, number, numbers, tenure, product)
        if best is not None:  # the more specific reason first
            other, r = best
            rows.append((name, f"close to tenure x {other} (correlation {r:.2f}): a total", r))
            continue
        rho = number[seen].corr(tenure[seen], method="spearman")
        if np.isfinite(rho) and rho >= monotone:
            rows.append(
                (name, f"grows with tenure (Spearman correlation {rho:.2f} with tenure)", rho)
            )
    return pd.DataFrame(rows, columns=["column", "reason", "correlation"])


def _best_product(name, number, numbers, tenure, threshold) -> tuple[str, float] | None:
    """Return the other number whose product with tenure tracks ``number`` best, if any."""
    best = None
    for other, rate in numbers.items():
        if other == name:
            continue
        seen = number.notna() & rate.notna()
        if seen.sum() < 20:
            continue
        r = number[seen].corr((tenure * rate)[seen])
        alone = number[seen].corr(rate[seen])
        alone = alone if np.isfinite(alone) else 0.0
        if np.isfinite(r) and r >= threshold and r >= alone + 0.05:
            if best is None or r > best[1]:
                best = (str(other), float(r))
    return best


def model_attributes(
    contracts: pd.DataFrame, *, max_levels: int = 50, exclude: tuple[str, ...] = ()
) -> tuple[list[str], pd.DataFrame]:
    """Return the attributes subscriber models may use, and those left out with the reason.

    Parameters
    ----------
    contracts : DataFrame
        From :func:`cxlib.churn.contractual.contract_table`.
    max_levels : int, default 50
        A text column with more levels is left out (a name, a free text).
    exclude : tuple of str
        Further columns to leave out (e.g. the periodic value, when it is the money at risk).

    Returns
    -------
    used : list of str
    left_out : DataFrame
        ``column``, ``reason``: functions of tenure (:func:`tenure_leakage`), identifiers,
        columns with one value, text with too many levels, and those in ``exclude``.

    Examples
    --------
    >>> contracts = pd.DataFrame({"tenure": [1, 2, 3] * 10, "churned": [True, False] * 15,
    ...                           "row": range(30), "plan": ["a", "b", "c"] * 10})
    >>> used, left_out = model_attributes(contracts)
    >>> used, left_out["column"].tolist()
    (['plan'], ['row'])
    >>> left_out.loc[0, "reason"]
    'an identifier: a different value for almost every customer'
    """
    leaky = tenure_leakage(contracts)
    out = {row.column: row.reason for row in leaky.itertuples()}
    for name in exclude:
        if name in contracts.columns:
            out.setdefault(name, "the value at risk itself (used to price the risk)")
    used = []
    n = len(contracts)
    for name in contracts.columns:
        if name in OUTCOME_COLUMNS or name in out:
            continue
        values = contracts[name]
        distinct = values.nunique()
        number = _numeric(values)
        integer = number is not None and bool((number.dropna() % 1 == 0).all())
        if distinct < 2:
            out[name] = "one value for every customer"
        elif (number is None or integer) and distinct >= 0.95 * n and n >= 20:
            out[name] = "an identifier: a different value for almost every customer"
        elif number is None and distinct > max_levels:
            out[name] = f"text with {distinct:,} different values (more than {max_levels})"
        else:
            used.append(name)
    for name in contracts.columns:  # dates are leaky even when tenure_leakage saw no number
        if name in ("signup_date", "contract_end") and name not in out:
            out[name] = "a date: with the start or end of a contract it fixes tenure"
    left_out = pd.DataFrame(list(out.items()), columns=["column", "reason"])
    return used, left_out
