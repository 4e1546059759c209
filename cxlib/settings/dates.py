"""The one date coercer: an argument that names a day or a moment, as a naive ``pd.Timestamp``.

The time-zone rule, the same as for the transactions' own dates (``check_transactions`` and the
loaders): **a time-zone-aware date is converted to UTC, then made naive**; a naive date is taken
as it is. So ``observation_end="2024-12-31T23:30:00-02:00"`` is 2025-01-01 01:30, the moment the
data's UTC clock shows, and a date argument can always be compared with a transaction's date.

API: :func:`to_timestamp` ``(value, name, caller, *, normalize=False, must="a date")``. A string, a
``datetime``/``date``, a ``numpy.datetime64`` or a ``Timestamp`` is accepted; a number (an
epoch in nanoseconds is never what a consultant means), a boolean, ``None``, ``NaT`` or
unparseable text raise the parameter error of :mod:`cxlib.settings.params`.

Examples
--------
>>> to_timestamp("2024-12-31T23:30:00-02:00", "observation_end", caller="customer_base")
Timestamp('2025-01-01 01:30:00')
>>> to_timestamp("2024-03-05 14:00", "cutoff", caller="churn_model", normalize=True)
Timestamp('2024-03-05 00:00:00')
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from cxlib.settings.params import param_error

__all__ = ["to_timestamp"]


def to_timestamp(
    value: Any,
    name: str,
    caller: str,
    *,
    normalize: bool = False,
    must: str = "a date",
) -> pd.Timestamp:
    """Return ``value`` as a naive ``pd.Timestamp``, or raise the parameter error.

    Parameters
    ----------
    value : str, datetime, date, numpy.datetime64 or Timestamp
        The date. Time-zone-aware values are converted to UTC, then made naive.
    name : str
        The parameter, for the message.
    caller : str
        The public function, for the message.
    normalize : bool, default False
        Drop the time of day (midnight of the day), for arguments that name a day.
    must : str, default "a date"
        What the message says the parameter must be (``"a date such as '2024-12-31'"``).

    Raises
    ------
    cxlib.settings.params.ParameterError
        (a ``ValueError``) when ``value`` is no date.

    Examples
    --------
    >>> to_timestamp(20240101, "end", caller="f")
    Traceback (most recent call last):
    ...
    cxlib.settings.params.ParameterError: The 'end' parameter of f must be a date. Got 20240101 \
instead.
    """
    stamp = pd.NaT
    if not isinstance(value, numbers.Number | np.bool_ | np.number):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError, OverflowError):
            stamp = pd.NaT
    if pd.isna(stamp):
        raise param_error(name, value, must, caller=caller)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize() if normalize else stamp
