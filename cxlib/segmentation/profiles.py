"""Segment profiles: the one table per segmentation that consultants paste into slides.

:func:`segment_profiles` turns any segmentation (RFM segments, behavioural clusters) into one
row per segment of size, money, basket, tenure and mix, from the one customer base;
:func:`format_profiles` styles it for display; :func:`segmentation_headlines` picks the numbers
the executive summary quotes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cxlib.segmentation.features import MIX_COLUMNS, _base_for, _row_numbers, spend_mix
from cxlib.settings.headline import Headline
from cxlib.settings.i18n import gettext, percent
from cxlib.settings.params import param_error
from cxlib.settings.validation import check_transactions, segment_series, validate_columns

__all__ = ["format_profiles", "segment_profiles", "segmentation_headlines"]

#: The basis of the revenue figures in :func:`segment_profiles` (the customer base's ``revenue``).
REVENUE_BASIS = "net revenue (refunds deducted) over the whole observed history"


def _per_customer(values, name: str, column: str | None = None) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        if column is None or column not in values.columns:
            if values.shape[1] != 1:
                must = f"a Series or a one-column frame (or have a '{column}' column)"
                got = f"columns {list(values.columns)}"
                raise param_error(name, values, must, caller="segment_profiles", got=got)
            column = values.columns[0]
        values = values[column]
    out = pd.Series(values).astype(float)
    out.index = out.index.astype(str)
    return out


def _top_mix(shares: pd.DataFrame, prefix: str, top: int) -> pd.Series:
    cols = [c for c in shares.columns if c.startswith(prefix)]
    if not cols:
        return None
    labels = []
    for _, row in shares[cols].iterrows():
        best = row.sort_values(ascending=False).head(top)
        labels.append(", ".join(f"{c[len(prefix) :]} {v:.0%}" for c, v in best.items() if v > 0))
    return pd.Series(labels, index=shares.index)


def _segment_mix(
    transactions: pd.DataFrame, seg: pd.Series, *, top: int, observation_end, index: pd.Index
) -> dict[str, pd.Series]:
    """Top categories and channels per segment, as text, by share of gross spend."""
    labels = {"category": "top_categories", "channel": "top_channels"}
    columns = [c for c in MIX_COLUMNS if c in transactions.columns]
    if not columns:
        return {}
    rows = _row_numbers(transactions["customer_id"], seg.index.astype(str))
    inside = rows >= 0
    tx = transactions.loc[inside, ["date", "amount", *columns]]
    # segments as integer codes (sorted names): no text is hashed per transaction
    codes, names = pd.factorize(seg, sort=True)
    tx = tx.assign(segment=pd.Categorical.from_codes(codes[rows[inside]], categories=names))
    out = {}
    for column in columns:
        # Spend-weighted, so it is where the segment's money goes.
        mix = spend_mix(tx, column, key="segment", observation_end=observation_end)
        mix.index = mix.index.astype(str)
        out[labels[column]] = _top_mix(mix, f"{column}_", top).reindex(index).fillna("")
    return out


def _size_and_money(seg: pd.Series, base: pd.DataFrame) -> pd.DataFrame:
    """Sum customers, net revenue and orders per segment from the base; mean tenure, recency."""
    columns = ["revenue", "orders", "tenure_days", "days_since_last"]
    per_customer = base[columns].set_axis(base.index.astype(str)).reindex(seg.index)
    no_purchase = per_customer["revenue"].isna()
    per_customer["revenue"] = per_customer["revenue"].fillna(0.0)
    per_customer["orders"] = per_customer["orders"].clip(lower=1).fillna(0.0)
    grouped = per_customer.assign(segment=seg.to_numpy()).groupby("segment")
    revenue = grouped["revenue"].sum()
    customers = grouped.size()
    orders = grouped["orders"].sum()
    if no_purchase.any():
        warnings.warn(
            f"segment_profiles: {int(no_purchase.sum())} customer(s) have no purchase; they "
            "count with zero revenue.",
            stacklevel=3,
        )
    return pd.DataFrame(
        {
            "customers": customers.astype(int),
            "customer_share": customers / customers.sum(),
            "revenue": revenue,
            "revenue_share": revenue / revenue.sum() if revenue.sum() else np.nan,
            "revenue_per_customer": revenue / customers,
            "avg_order_value": revenue / orders.where(orders > 0),
            "orders_per_customer": orders / customers,
            "avg_tenure_days": grouped["tenure_days"].mean(),
            "avg_days_since_last": grouped["days_since_last"].mean(),
        }
    )


def _add_value_columns(out: pd.DataFrame, seg: pd.Series, *, clv, churn_probability) -> None:
    """Add the CLV and churn-probability columns per segment to ``out`` when given."""
    if clv is not None:
        values = _per_customer(clv, "clv", "clv").reindex(seg.index)
        by = values.groupby(seg.to_numpy())
        out["clv_total"] = by.sum()
        out["clv_share"] = out["clv_total"] / out["clv_total"].sum()
        out["clv_mean"] = by.mean()
    if churn_probability is not None:
        values = _per_customer(churn_probability, "churn_probability", "churn_probability")
        out["churn_probability"] = values.reindex(seg.index).groupby(seg.to_numpy()).mean()


def segment_profiles(
    segments,
    transactions: pd.DataFrame,
    *,
    base: pd.DataFrame | None = None,
    clv=None,
    churn_probability=None,
    nps_scores=None,
    promoter_min: int = 9,
    detractor_max: int = 6,
    observation_end=None,
    top: int = 3,
) -> pd.DataFrame:
    """One row per segment: size, revenue, basket, frequency, tenure, mix, and optional value.

    Parameters
    ----------
    segments : Series or DataFrame
        Segment name per customer (index ``customer_id``), e.g. ``client.base["segment"]`` or
        ``cluster_customers(...).assignments``.
    transactions : DataFrame
        Canonical transactions of these customers (read for the category and channel mix).
    base : DataFrame, optional
        :func:`cxlib.customers.customer_base` output (e.g. ``client.base``): revenue, orders,
        tenure and recency per customer. Built from ``transactions`` when omitted.
    clv : Series or DataFrame, optional
        Per-customer CLV (a frame's ``clv`` column, or its only column).
    churn_probability : Series or DataFrame, optional
        Per-customer churn probability (a frame's ``churn_probability`` column).
    nps_scores : Series or DataFrame, optional
        Survey answers 0-10: a frame with ``customer_id``, ``score`` and ``date``, or a Series
        indexed by customer. Each customer counts once, with their latest answer up to the
        base's ``observation_end`` (:func:`cxlib.nps.nps_by_segment`, which page 03 uses too).
    promoter_min, detractor_max : int
        NPS thresholds.
    observation_end : date-like, optional
        End of observation when the base is built here (default the last transaction date).
    top : int
        How many categories and channels to list.

    Returns
    -------
    DataFrame
        Indexed by ``segment``, sorted by revenue (descending): ``customers``,
        ``customer_share``, ``revenue`` (the base's ``revenue``: net of refunds, whole history),
        ``revenue_share``, ``revenue_per_customer``, ``avg_order_value``,
        ``orders_per_customer``, ``avg_tenure_days``, ``avg_days_since_last``,
        ``top_categories`` and ``top_channels`` (when the transactions have them, as text
        "A 45%, B 30%" of gross spend), then when given: ``clv_total``, ``clv_share``,
        ``clv_mean``; ``churn_probability`` (mean); ``nps``, ``nps_responses`` (customers
        answering). Customers in
        ``segments`` without a purchase count as customers with zero revenue.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "c"], "amount": [10.0, 30.0, 5.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])})
    >>> seg = pd.Series(["x", "y", "y"], index=["a", "b", "c"])
    >>> segment_profiles(seg, tx)[["customers", "revenue", "revenue_share"]]
    ... # doctest: +NORMALIZE_WHITESPACE
             customers  revenue  revenue_share
    segment
    y                2     35.0       0.777778
    x                1     10.0       0.222222
    """
    seg = segment_series(segments, caller="segment_profiles")
    tx = check_transactions(transactions, caller="segment_profiles")
    base = _base_for(tx, base, observation_end, "segment_profiles")
    out = _size_and_money(seg, base)
    end = base.attrs.get("observation_end", observation_end)
    for label, text in _segment_mix(tx, seg, top=top, observation_end=end, index=out.index).items():
        out[label] = text
    _add_value_columns(out, seg, clv=clv, churn_probability=churn_probability)
    if nps_scores is not None:
        # The one NPS-by-segment computation (each customer's latest answer up to the base's
        # end), shared with page 03, so a segment's NPS and its answers agree across pages.
        from cxlib.nps import nps_by_segment

        by_segment = nps_by_segment(
            nps_scores,
            seg,
            promoter_min=promoter_min,
            detractor_max=detractor_max,
            observation_end=end,
        ).set_index("segment")
        out["nps"] = by_segment["score"].reindex(out.index)
        out["nps_responses"] = by_segment["n"].reindex(out.index).fillna(0).astype(int)
    out.index.name = "segment"
    return out.sort_values(["revenue", "customers"], ascending=False)


_CURRENCY_COLUMNS = (
    "revenue",
    "revenue_per_customer",
    "avg_order_value",
    "clv_total",
    "clv_mean",
    "spend",
    "wallet",
    "headroom",
    "wallet_per_customer",
    "headroom_per_customer",
    "spend_per_customer",
    "spend_per_buyer",
    "opportunity",
)
_PERCENT_COLUMNS = (
    "customer_share",
    "revenue_share",
    "clv_share",
    "churn_probability",
    "share_of_wallet",
    "headroom_share",
    "penetration",
    "best_penetration",
    "target_penetration",
    "penetration_gap",
)


def format_profiles(profiles: pd.DataFrame, *, currency: str = "EUR", precision: int = 1):
    """Style a profile table for slides: currency with thousands separators, shares as percent.

    Parameters
    ----------
    profiles : DataFrame
        Output of :func:`segment_profiles` (or a wallet table from
        :mod:`cxlib.segmentation.wallet`).
    currency : str
        Currency code shown before money columns.
    precision : int
        Decimals for non-money numbers.

    Returns
    -------
    pandas.io.formats.style.Styler

    Examples
    --------
    >>> table = pd.DataFrame({"revenue": [1234.5], "revenue_share": [0.25]}, index=["x"])
    >>> format_profiles(table).to_html().count("25.0%")
    1
    """
    from cxlib.settings.escape import escaped_style

    # Segment and category names come from the client's data: every cell, label and
    # formatted value (the currency included) is escaped on its way into the HTML.
    money = str(currency).replace("{", "{{").replace("}", "}}")
    formats = {}
    for column in profiles.columns:
        if column in _CURRENCY_COLUMNS:
            formats[column] = f"{money} {{:,.0f}}"
        elif column in _PERCENT_COLUMNS:
            formats[column] = "{:.1%}"
        elif column in ("customers", "nps_responses", "buyers", "new_buyers"):
            formats[column] = "{:,.0f}"
        elif pd.api.types.is_float_dtype(profiles[column]):
            formats[column] = f"{{:,.{precision}f}}"
    styler = escaped_style(profiles, formats, na_rep="–")
    bars = [c for c in ("revenue_share", "share_of_wallet") if c in profiles.columns]
    if bars:
        styler = styler.bar(subset=bars, color="#9ecae1", vmin=0)
    return styler


def _largest(table: pd.DataFrame, column: str, caller: str, name: str) -> pd.DataFrame:
    """Return ``table`` sorted by ``column`` (descending, ties by name), refusing an empty table."""
    validate_columns(table, [column], caller=caller)
    if table.empty:
        must = "a table of at least one segment"
        raise param_error(name, table, must, caller=caller, got="an empty table")
    return (
        table.assign(_name=table.index.astype(str))
        .sort_values([column, "_name"], ascending=[False, True])
        .drop(columns="_name")
    )


def segmentation_headlines(
    profiles: pd.DataFrame,
    rfm_profiles: pd.DataFrame,
    wallet_by_segment: pd.DataFrame,
    n_clusters: int,
) -> list[Headline]:
    """Compute the numbers the executive summary quotes from the segmentation page.

    Parameters
    ----------
    profiles : DataFrame
        :func:`segment_profiles` of the behavioural clusters (``revenue``, ``revenue_share``,
        ``customer_share``).
    rfm_profiles : DataFrame
        :func:`segment_profiles` of the RFM segments (``revenue_share``).
    wallet_by_segment : DataFrame
        :func:`cxlib.segmentation.wallet.wallet_by_segment` of the clusters (``spend``, ``wallet``,
        ``headroom``, ``headroom_share``).
    n_clusters : int
        Number of behavioural clusters.

    Returns
    -------
    list of Headline
        Keys ``n_clusters``, ``top_segment``, ``top_segment_revenue_share``,
        ``top2_revenue_share``, ``share_of_wallet``, ``total_headroom``,
        ``most_headroom_segment``, ``champions_revenue_share``. Revenue shares are shares of
        net revenue over the observed history (the customer base's ``revenue``); wallet money
        is annual net revenue of active customers (trailing 12 months, estimated wallet).
        ``champions_revenue_share`` is 0 when no customer is an RFM Champion.

    Examples
    --------
    >>> profiles = pd.DataFrame({"revenue": [50.0, 25.0, 25.0], "revenue_share": [.5, .25, .25],
    ...                          "customer_share": [.2, .3, .5]}, index=["big", "mid", "small"])
    >>> rfm = pd.DataFrame({"revenue_share": [.7, .3]}, index=["Champions", "Lost"])
    >>> wallet = pd.DataFrame({"spend": [50.0, 20.0], "wallet": [100.0, 30.0],
    ...                        "headroom": [50.0, 10.0], "headroom_share": [50 / 60, 10 / 60]},
    ...                       index=["big", "mid"])
    >>> {h.key: h.value for h in segmentation_headlines(profiles, rfm, wallet, 3)}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'n_clusters': 3, 'top_segment': 'big', 'top_segment_revenue_share': 0.5,
     'top2_revenue_share': 0.75, 'share_of_wallet': 0.5384615384615384, 'total_headroom': 60.0,
     'most_headroom_segment': 'big', 'champions_revenue_share': 0.7}
    """
    caller = "segmentation_headlines"
    validate_columns(profiles, ["revenue_share", "customer_share"], caller=caller)
    validate_columns(rfm_profiles, ["revenue_share"], caller=caller)
    validate_columns(
        wallet_by_segment, ["spend", "wallet", "headroom", "headroom_share"], caller=caller
    )
    ranked = _largest(profiles, "revenue", caller, "profiles")
    by_headroom = _largest(wallet_by_segment, "headroom", caller, "wallet_by_segment")
    top, most_headroom = str(ranked.index[0]), str(by_headroom.index[0])
    wallet_total = float(wallet_by_segment["wallet"].sum())
    spend_total = float(wallet_by_segment["spend"].clip(lower=0).sum())
    wallet_basis = gettext(
        "trailing 12-month net revenue / estimated annual wallet, active customers"
    )
    return [
        Headline("n_clusters", gettext("Behavioural clusters"), int(n_clusters), unit="count"),
        Headline(
            "top_segment",
            gettext("Cluster with the most net revenue (all history)"),
            top,
            unit="text",
        ),
        Headline(
            "top_segment_revenue_share",
            gettext("Share of net revenue (all history) from '%(cluster)s'") % {"cluster": top},
            float(ranked["revenue_share"].iloc[0]),
            unit="percent",
            note=gettext("%(share)s of customers")
            % {"share": percent(ranked["customer_share"].iloc[0], 0)},
        ),
        Headline(
            "top2_revenue_share",
            gettext("Share of net revenue (all history) from the two largest clusters"),
            float(ranked["revenue_share"].iloc[:2].sum()),
            unit="percent",
        ),
        Headline(
            "share_of_wallet",
            gettext("Share of wallet captured, active customers"),
            spend_total / wallet_total if wallet_total > 0 else float("nan"),
            unit="percent",
            note=wallet_basis,
        ),
        Headline(
            "total_headroom",
            gettext("Annual wallet headroom, active customers (net revenue)"),
            float(wallet_by_segment["headroom"].sum()),
            unit="currency",
            note=gettext(
                "estimated annual wallet minus trailing 12-month net revenue; lapsed customers "
                "have no wallet to win"
            ),
        ),
        Headline(
            "most_headroom_segment",
            gettext("Cluster with the most annual wallet headroom"),
            most_headroom,
            unit="text",
            note=gettext("%(share)s of all headroom")
            % {"share": percent(by_headroom["headroom_share"].iloc[0], 0)},
        ),
        Headline(
            "champions_revenue_share",
            gettext("Share of net revenue (all history) from RFM Champions"),
            float(rfm_profiles["revenue_share"].get("Champions", 0.0)),
            unit="percent",
        ),
    ]
