"""CLV against acquisition cost, by acquisition channel: which acquisitions pay back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlib.clv.value import VALUE_BASIS
from cxlib.settings.validation import DataError, validate_columns

__all__ = ["AcquisitionValue", "clv_by_channel"]

_CHANNEL_COLUMNS = ("acquisition_channel", "channel")


@dataclass
class AcquisitionValue:
    """CLV against acquisition cost (CAC) per acquisition channel.

    Attributes
    ----------
    table : DataFrame
        Indexed by channel, with an ``All channels`` row last: ``customers`` (with a known
        cost), ``mean_clv``, ``mean_cac``, ``clv_to_cac`` (mean CLV / mean CAC),
        ``median_net`` (median of CLV - CAC), ``negative_net_share`` (share of customers
        whose CLV is below their CAC).
    median_net : float
        The median customer's CLV net of acquisition cost.
    unknown_cost : int
        Customers left out because their acquisition cost is unknown.
    basis : str
        What CLV measures, read from the values (e.g. "12-month discounted gross margin (30%
        of revenue)").
    text : str
        One plain sentence for the page, saying so when the median net value is negative.
    """

    table: pd.DataFrame
    median_net: float
    unknown_cost: int
    basis: str
    text: str


def _has_acquisition_data(values: pd.DataFrame, customers: pd.DataFrame | None) -> bool:
    return (
        bool(pd.to_numeric(values["acquisition_cost"], errors="coerce").notna().any())
        and customers is not None
        and any(column in customers.columns for column in _CHANNEL_COLUMNS)
    )


def _channel_column(customers: pd.DataFrame, channel: str | None) -> str:
    if channel is not None:
        validate_columns(customers, [channel], caller="clv_by_channel")
        return channel
    for column in _CHANNEL_COLUMNS:
        if column in customers.columns:
            return column
    raise DataError(
        f"clv_by_channel: the customers table needs an acquisition channel column (one of "
        f"{list(_CHANNEL_COLUMNS)}) or pass channel=; got {list(customers.columns)}"
    )


def clv_by_channel(
    values: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    channel: str | None = None,
    currency: str = "",
) -> AcquisitionValue:
    """Mean CLV, mean acquisition cost and their ratio per acquisition channel.

    CLV is the value from now on (:func:`cxlib.clv.customer_value`) and the acquisition cost
    was paid once, so ``CLV / CAC`` below 1 says that the margin still to come does not pay
    back what the customer cost over the CLV horizon. A customers table without an
    acquisition channel column, or values without any acquisition cost, gives an empty table and a
    sentence saying so, so a page can show it for every client.

    Parameters
    ----------
    values : DataFrame
        Per customer ``clv`` and ``acquisition_cost`` (e.g. ``client.value_fit.values``, which
        takes the cost from the customers table). Values of :func:`cxlib.clv.customer_value`
        carry their horizon and basis, which the sentence states.
    customers : DataFrame or None
        Customers table with ``customer_id``, ``acquisition_cost`` and the channel column.
    channel : str, optional
        The channel column; default ``acquisition_channel`` or ``channel``.
    currency : str
        Currency code for the sentence.

    Returns
    -------
    AcquisitionValue

    Examples
    --------
    >>> values = pd.DataFrame({"clv": [30.0, 5.0, 8.0], "acquisition_cost": [10.0, 20.0, 10.0]},
    ...                       index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                           "acquisition_channel": ["search", "social", "social"]})
    >>> result = clv_by_channel(values, customers)
    >>> result.table["clv_to_cac"].round(2).to_dict()
    {'social': 0.43, 'search': 3.0, 'All channels': 1.08}
    >>> result.median_net
    -2.0
    """
    basis = _basis(values)
    validate_columns(values, ["clv", "acquisition_cost"], caller="clv_by_channel values")
    if channel is None and not _has_acquisition_data(values, customers):
        return AcquisitionValue(
            table=pd.DataFrame(),
            median_net=float("nan"),
            unknown_cost=len(values),
            basis=basis,
            text="The customers table has no acquisition cost and acquisition channel, so CLV "
            "cannot be set against what customers cost to acquire.",
        )
    validate_columns(customers, ["customer_id"], caller="clv_by_channel")
    column = _channel_column(customers, channel)
    channels = (
        customers.assign(customer_id=customers["customer_id"].astype(str))
        .drop_duplicates("customer_id")
        .set_index("customer_id")[column]
    )
    frame = pd.DataFrame(
        {
            "clv": values["clv"].astype(float),
            "cac": pd.to_numeric(values["acquisition_cost"], errors="coerce"),
        }
    )
    frame.index = frame.index.astype(str)
    frame["channel"] = channels.reindex(frame.index).astype(object).fillna("unknown").astype(str)
    known = frame["cac"].notna()
    frame = frame[known]
    if frame.empty:
        raise DataError("clv_by_channel: no customer has a known acquisition_cost")
    frame["net"] = frame["clv"] - frame["cac"]
    rows = {name: _channel_row(group) for name, group in frame.groupby("channel")}
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("customers", ascending=False)
    table.loc["All channels"] = _channel_row(frame)
    table.index.name = "channel"
    table["customers"] = table["customers"].astype(int)
    median_net = float(frame["net"].median())
    return AcquisitionValue(
        table=table,
        median_net=median_net,
        unknown_cost=int((~known).sum()),
        basis=basis,
        text=_acquisition_text(table, median_net, basis, currency),
    )


def _basis(values: pd.DataFrame) -> str:
    """Say what the values' CLV is, from what they carry (:func:`cxlib.clv.customer_value`)."""
    months = values.attrs.get("horizon_months")
    basis = values.attrs.get("basis", VALUE_BASIS)
    return basis if months is None else f"{months}-month {basis}"


def _channel_row(group: pd.DataFrame) -> dict:
    mean_cac = float(group["cac"].mean())
    return {
        "customers": len(group),
        "mean_clv": float(group["clv"].mean()),
        "mean_cac": mean_cac,
        "clv_to_cac": float(group["clv"].mean()) / mean_cac if mean_cac > 0 else np.nan,
        "median_net": float(group["net"].median()),
        "negative_net_share": float((group["net"] < 0).mean()),
    }


def _acquisition_text(table: pd.DataFrame, median_net: float, basis: str, currency: str) -> str:
    money = f"{currency} {abs(median_net):,.2f}".strip()
    channels = table.drop(index="All channels")
    below = channels.index[channels["clv_to_cac"] < 1].tolist()
    share = table.loc["All channels", "negative_net_share"]
    if median_net < 0:
        head = (
            f"The median customer's CLV ({basis}) is {money} below what they cost to "
            f"acquire: {share:.0%} of customers do not pay back their acquisition cost "
            "over the CLV horizon."
        )
    else:
        head = (
            f"The median customer's CLV ({basis}) exceeds their acquisition cost by "
            f"{money}; {share:.0%} of customers do not pay it back over the CLV horizon."
        )
    if below:
        head += f" Channels where mean CLV is below mean cost: {', '.join(below)}."
    return head
