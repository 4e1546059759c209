"""The experiments table checked as a whole: groups, one group per customer, dates in the data.

The loader (:func:`cxlib.data.load_experiments`) calls it on every table it reads, and
:mod:`cxlib.experiments` re-exports it for frames built by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from cxlib.settings.validation import DataError, format_offenders, validate_columns

#: Name of the control group in the ``experiments`` table.
CONTROL = "control"


def validate_assignments(
    assignments: pd.DataFrame,
    *,
    data_end=None,
    groups: Iterable[str] | None = None,
    source: str = "experiments",
) -> pd.DataFrame:
    """Check an experiments table; raise :class:`~cxlib.DataError` naming the offending rows.

    Parameters
    ----------
    assignments : DataFrame
        ``customer_id``, ``group``, ``experiment``, ``start`` (datetime64), optionally ``end``.
        Row numbers in messages are its index labels.
    data_end : date-like, optional
        The last transaction date: an assignment starting (or ending) after it is an error.
    groups : iterable of str, optional
        The allowed group names (``"control"`` is always allowed); without it any treatment
        name is allowed, but a spelling of ``control`` other than ``"control"`` is not.
    source : str
        The file name shown in messages.

    Returns
    -------
    DataFrame
        ``assignments`` itself (unchanged).

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": ["a", "a"], "group": ["control", "coupon"],
    ...                       "experiment": ["x", "x"],
    ...                       "start": pd.to_datetime(["2025-01-01"] * 2)}, index=[2, 3])
    >>> validate_assignments(table)
    Traceback (most recent call last):
    ...
    cxlib.settings.validation.DataError: experiments: 1 customer(s) in two groups of one \
experiment (each customer belongs to one group): row 2: "a in 'x': ['control', 'coupon']", \
row 3: ...
    """
    validate_columns(
        assignments,
        ["customer_id", "group", "experiment", "start"],
        caller="validate_assignments",
        source=source,
    )
    table = assignments
    group = table["group"].astype(str)
    near = group.str.strip().str.casefold().isin([CONTROL, "ctrl", "holdout"]) & (group != CONTROL)
    allowed = None if groups is None else {CONTROL, *groups}
    unknown = near | (~group.isin(allowed) if allowed is not None else False)
    if unknown.any():
        hint = (
            f"the control group must be named {CONTROL!r}"
            if allowed is None
            else f"allowed groups are {sorted(allowed)}"
        )
        raise DataError(
            f"{source}: {int(unknown.sum())} row(s) with an unknown group ({hint}): "
            f"{format_offenders(group[unknown])}"
        )
    for name, rows in table.groupby("experiment", sort=True):
        present = sorted(set(rows["group"].astype(str)))
        if CONTROL not in present or len(present) < 2:
            raise DataError(
                f"{source}: experiment {name!r} needs a {CONTROL!r} group and at "
                f"least one treatment group; it has {present}"
            )
    key = table[["experiment", "customer_id"]].astype(str)
    repeated = key.duplicated(keep=False)
    if repeated.any():
        rows = table[repeated]
        groups_of = rows.groupby([rows["experiment"], rows["customer_id"]])["group"].agg(
            lambda g: sorted(set(map(str, g)))
        )
        labels = [
            f"{c} in {e!r}: {groups_of[(e, c)]}"
            for e, c in zip(rows["experiment"], rows["customer_id"], strict=True)
        ]
        two = sum(len(g) > 1 for g in groups_of)
        what = (
            "in two groups of one experiment (each customer belongs to one group)"
            if two
            else "listed twice in one experiment"
        )
        raise DataError(
            f"{source}: {max(two, len(groups_of))} customer(s) {what}: "
            f"{format_offenders(pd.Series(labels, index=rows.index))}"
        )
    if data_end is not None:
        end = pd.Timestamp(data_end)
        for column in ("start", "end"):
            if column in table.columns:
                late = table[column] > end
                if late.any():
                    raise DataError(
                        f"{source}: {int(late.sum())} assignment(s) with a {column} after the "
                        f"data end ({end:%Y-%m-%d}): "
                        f"{format_offenders(table.loc[late, column].dt.strftime('%Y-%m-%d'))}"
                    )
    if "end" in table.columns:
        early = table["end"] < table["start"]
        if early.any():
            raise DataError(
                f"{source}: {int(early.sum())} assignment(s) end before they start: "
                f"{format_offenders(table.loc[early, 'end'].dt.strftime('%Y-%m-%d'))}"
            )
    return assignments
