"""Forward revenue outlook: from last year's revenue to the revenue the CLV model expects next.

:func:`revenue_outlook` bridges the net revenue of the last 12 months to the revenue today's
customers are expected to bring in the next 12 months (the purchase and spend models of the
run's one CLV fit), in three steps: what customers who already lapsed brought and are still
expected to bring, and the expected change among active customers. It states plainly when the
outlook is a fall, and what it leaves out: customers not yet acquired. (The *past* bridge of new,
retained and lost revenue belongs to the executive summary.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.settings.i18n import gettext, language, ngettext, number, percent
from cxlib.settings.validation import validate_columns

__all__ = ["OUTLOOK_MONTHS", "RevenueOutlook", "revenue_outlook"]

_NEW_CUSTOMER_DAYS = 365
#: The outlook's horizon: the next 12 months, set against the base's last 12 (``revenue_12m``).
OUTLOOK_MONTHS = 12


@dataclass
class RevenueOutlook:
    """Last 12 months' net revenue against the next 12 months' expected net revenue.

    Attributes
    ----------
    bridge : DataFrame
        Indexed by ``step``, with ``amount`` (net revenue): last 12 months, the change from
        customers who already lapsed (churned), the change from active customers (expected next
        12 months minus last 12 months), and the next 12 months expected from today's customers.
        The first three rows add up to the last.
    last_12m, next_12m : float
        Net revenue of the last 12 months; expected net revenue of the next 12 months from
        today's customers.
    change_share : float
        ``next_12m / last_12m - 1``.
    new_customer_revenue : float
        Last 12 months' net revenue from customers whose first purchase fell in those months:
        what acquisition added last year, which the outlook does not include. NaN when the data
        do not reach before the 12 months before the last 12
        (:func:`cxlib.segmentation.trend.covers`), so
        a first purchase in the data may be a returning customer's.
    text : str
        Plain sentences for the page.
    """

    bridge: pd.DataFrame
    last_12m: float
    next_12m: float
    change_share: float
    new_customer_revenue: float
    text: str


def revenue_outlook(
    base: pd.DataFrame,
    expected_revenue: pd.Series,
    *,
    currency: str = "",
) -> RevenueOutlook:
    """Bridge last 12 months' net revenue to the next 12 months' expected net revenue.

    Parameters
    ----------
    base : DataFrame
        The run's customer base (``client.base``): ``revenue_12m``, ``churned`` and
        ``tenure_days``.
    expected_revenue : Series
        Expected net revenue per customer over the next :data:`OUTLOOK_MONTHS` months,
        undiscounted: the ``expected_revenue`` column of :func:`cxlib.clv.customer_value` with
        ``horizon_months=OUTLOOK_MONTHS`` (``client_value`` computes it for the run). Values
        that carry their horizon (``attrs["horizon_months"]``, as customer_value's do) are
        checked against it. Customers of the base without a value count as 0.
    currency : str
        Currency code for the text.

    Returns
    -------
    RevenueOutlook

    Raises
    ------
    ValueError
        When ``expected_revenue`` carries another horizon than :data:`OUTLOOK_MONTHS`.

    Examples
    --------
    >>> base = pd.DataFrame({"revenue_12m": [100.0, 50.0, 30.0],
    ...                      "churned": [False, False, True], "tenure_days": [900, 200, 800]},
    ...                     index=["a", "b", "c"])
    >>> outlook = revenue_outlook(base, pd.Series({"a": 90.0, "b": 40.0, "c": 5.0}))
    >>> outlook.bridge["amount"].tolist()
    [180.0, -25.0, -20.0, 135.0]
    >>> round(outlook.change_share, 2)
    -0.25
    """
    validate_columns(base, ["revenue_12m", "churned", "tenure_days"], caller="revenue_outlook")
    months = getattr(expected_revenue, "attrs", {}).get("horizon_months", OUTLOOK_MONTHS)
    if months != OUTLOOK_MONTHS:
        raise ValueError(
            f"revenue_outlook: the expected revenue covers {months} months; the outlook sets "
            f"the next {OUTLOOK_MONTHS} months against the last {OUTLOOK_MONTHS} "
            f"(customer_value with horizon_months={OUTLOOK_MONTHS})"
        )
    expected = pd.Series(expected_revenue, dtype=float)
    expected.index = expected.index.astype(str)
    expected = expected.reindex(base.index.astype(str)).fillna(0.0).to_numpy()
    last = base["revenue_12m"].to_numpy(dtype=float)
    lapsed = base["churned"].to_numpy(dtype=bool)
    last_12m, next_12m = float(last.sum()), float(expected.sum())
    lapsed_change = float(expected[lapsed].sum() - last[lapsed].sum())
    active_change = float(expected[~lapsed].sum() - last[~lapsed].sum())
    bridge = pd.DataFrame(
        {
            "step": [
                gettext("Net revenue, last 12 months"),
                gettext("Change from lapsed customers"),
                gettext("Change from active customers"),
                gettext("Expected net revenue, next 12 months"),
            ],
            "amount": [last_12m, lapsed_change, active_change, next_12m],
        }
    ).set_index("step")
    new = base["tenure_days"].to_numpy(dtype=float) < _NEW_CUSTOMER_DAYS
    new_revenue = float(last[new].sum()) if _history_tells_new(base) else np.nan
    change = next_12m / last_12m - 1 if last_12m > 0 else np.nan
    text = _outlook_text(
        last_12m,
        next_12m,
        change,
        lapsed_change,
        active_change,
        new_revenue,
        int(lapsed.sum()),
        currency,
    )
    return RevenueOutlook(
        bridge=bridge,
        last_12m=last_12m,
        next_12m=next_12m,
        change_share=float(change),
        new_customer_revenue=new_revenue,
        text=text,
    )


def _history_tells_new(base: pd.DataFrame) -> bool:
    """Whether the data reach before the 12 months before the last 12 (as the revenue bridge).

    Without that history a customer whose first purchase in the data fell in the last 12
    months may be a returning one, so "customers in their first year" cannot be counted. A base
    without ``first_purchase`` or ``attrs["observation_end"]`` is taken as long enough.
    """
    from cxlib.segmentation.trend import covers, previous_year_start

    end = base.attrs.get("observation_end")
    if end is None or "first_purchase" not in base or base["first_purchase"].isna().all():
        return True
    first = pd.Timestamp(base["first_purchase"].min())
    return covers(first, previous_year_start(end) - pd.Timedelta(days=1))


def _outlook_text(
    last, nxt, change, lapsed_change, active_change, new_revenue, n_lapsed, currency
) -> str:
    def money(value: float) -> str:
        if language() == "en":
            return f"{currency} {abs(value):,.0f}".strip()
        return f"{number(abs(value), ',.0f')}\xa0{currency}".strip()

    if not np.isfinite(change):
        return gettext(
            "Expected net revenue for the next 12 months from today's customers: %(next)s."
        ) % {"next": money(nxt)}
    lapsed_said = (
        gettext("%(amount)s less") if lapsed_change < 0 else gettext("%(amount)s more")
    ) % {"amount": money(lapsed_change)}
    active_said = (
        gettext("%(amount)s less") if active_change < 0 else gettext("%(amount)s more")
    ) % {"amount": money(active_change)}
    first = (
        gettext(
            "Expected net revenue for the next 12 months from today's customers is %(next)s, "
            "%(change)s below the last 12 months (%(last)s), because "
        )
        if change < 0
        else gettext(
            "Expected net revenue for the next 12 months from today's customers is %(next)s, "
            "%(change)s above the last 12 months (%(last)s), because "
        )
    ) % {"next": money(nxt), "change": percent(abs(change), 0), "last": money(last)}
    first += ngettext(
        "%(n)s customers who have already lapsed are expected to bring %(lapsed)s than last "
        "year, and active customers %(active)s (some of them will lapse too).",
        "%(n)s customers who have already lapsed are expected to bring %(lapsed)s than last "
        "year, and active customers %(active)s (some of them will lapse too).",
        n_lapsed,
    ) % {"n": number(n_lapsed, ","), "lapsed": lapsed_said, "active": active_said}
    parts = [
        first,
        gettext(
            "The outlook leaves out customers not yet acquired: last year, customers in their "
            "first year brought %(new)s; acquisition at that pace "
        )
        % {"new": money(new_revenue)}
        + (
            gettext("would close the gap.")
            if new_revenue >= last - nxt
            else gettext("would not close the gap.")
        ),
    ]
    if not np.isfinite(new_revenue):  # the data are too short to tell new customers
        parts[-1] = gettext(
            "The outlook leaves out customers not yet acquired; the data are too short to tell "
            "what new customers brought last year."
        )
    return " ".join(parts)
