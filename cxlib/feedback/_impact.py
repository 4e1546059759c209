"""Link themes to segments, churn and revenue: :func:`themes_by` and :func:`theme_impact`."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.customers import customer_base
from cxlib.feedback._themes import ThemeResult
from cxlib.settings.params import param_error
from cxlib.settings.validation import (
    DataError,
    check_fraction,
    check_positive_int,
    check_transactions,
    validate_columns,
)

#: Without the run's base, a customer raising a theme has churned when they made no purchase in
#: this many days before the end of the data (only customers whose text came before that window
#: count).
DEFAULT_CHURN_DAYS = 180


def themes_by(result: ThemeResult, by: str | pd.Series) -> pd.DataFrame:
    """How often each theme comes up within each group (segment, channel, ...).

    Parameters
    ----------
    result : ThemeResult
        From :func:`find_themes`.
    by : str or Series
        A column of the feedback (e.g. ``"channel"``), or a Series mapping ``customer_id`` to a
        group (e.g. segments).

    Returns
    -------
    DataFrame
        One row per group and theme: ``group``, ``theme``, ``name``, ``n_texts``, ``share``
        (of the group's texts) and ``lift`` (``share`` over the theme's share of all texts;
        above 1 means the group raises the theme more than average).

    Examples
    --------
    >>> from cxlib.feedback import find_themes
    >>> texts = ["late parcel", "parcel late again", "refund refused", "refund pending"] * 5
    >>> fb = pd.DataFrame({"text": texts, "channel": ["email", "email", "call", "call"] * 5})
    >>> table = themes_by(find_themes(fb, n_themes=2), "channel")
    >>> table.loc[table["share"] > 0, ["group", "n_texts", "share"]].to_numpy().tolist()
    [['call', 10, 1.0], ['email', 10, 1.0]]
    """
    assignments = result.assignments
    if assignments.empty:  # no feedback table
        return pd.DataFrame(columns=["group", "theme", "name", "n_texts", "share", "lift"])
    if isinstance(by, str):
        validate_columns(assignments, [by], caller="themes_by")
        groups = assignments[by]
    elif isinstance(by, pd.Series):
        validate_columns(assignments, ["customer_id"], caller="themes_by")
        lookup = by.copy()
        lookup.index = lookup.index.astype(str)
        lookup = lookup[~lookup.index.duplicated(keep="last")]
        groups = assignments["customer_id"].astype(str).map(lookup)
    else:
        must = "a column name or a Series indexed by customer_id"
        raise param_error("by", by, must, caller="themes_by", got=type(by).__name__)
    frame = pd.DataFrame(
        {"group": groups.fillna("unknown").to_numpy(), "theme": assignments["theme"].to_numpy()}
    )
    counts = frame.groupby(["group", "theme"]).size().unstack(fill_value=0)
    counts = counts.reindex(
        columns=sorted(set(counts.columns) | set(result.themes["theme"])), fill_value=0
    )
    shares = counts.div(counts.sum(axis=1), axis=0)
    overall = counts.sum(axis=0) / counts.to_numpy().sum()
    lift = shares.div(overall.replace(0, np.nan), axis=1)
    table = (
        counts.stack()
        .rename("n_texts")
        .to_frame()
        .join(shares.stack().rename("share"))
        .join(lift.stack().rename("lift"))
        .reset_index()
    )
    names = dict(zip(result.themes["theme"], result.themes["name"], strict=True))
    # a side of find_outcomes (complaints or praise) shows its own themes only
    table = table[table["theme"].isin(list(names) + [-1])].reset_index(drop=True)
    table.insert(2, "name", table["theme"].map(names).fillna("(no words)"))
    return table[["group", "theme", "name", "n_texts", "share", "lift"]]


def theme_impact(
    result: ThemeResult,
    transactions: pd.DataFrame,
    *,
    base: pd.DataFrame | None = None,
    clv: pd.Series | None = None,
    churn_days: int | None = None,
    revenue_months: int = 12,
    observation_end=None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Link each theme to churn and money, and rank the themes by revenue at stake.

    For every customer who wrote feedback, two numbers around their latest text on a theme:
    their revenue in the ``revenue_months`` before it, and whether they have churned by the end
    of the data: the run's status (``base["churned"]``, the client's one churn definition), or
    without a base no purchase in the data's last ``churn_days`` days, read from the customer
    base (:func:`cxlib.customers.customer_base`) as the inactivity definition reads it. Only
    customers whose text came ``churn_days`` or more before the end count toward churn, so the
    lapse happened after they wrote; a customer who never bought has churned. A theme's
    customers are compared with every other customer who wrote feedback (at their latest text).

    Parameters
    ----------
    result : ThemeResult
        From :func:`find_themes` (its assignments need ``customer_id`` and ``date``).
    transactions : DataFrame
        ``customer_id``, ``date`` (datetime64), ``amount``; checked by
        :func:`cxlib.settings.validation.check_transactions`.
    base : DataFrame, optional, keyword-only
        The run's customer base (``client.base``): its ``churned`` column is each customer's
        churn, its ``clv`` the default ``clv``, its ``attrs["churn_follow_up_days"]`` the
        default ``churn_days`` and its ``attrs["observation_end"]`` the default end.
    clv : Series, optional, keyword-only
        CLV per customer (indexed by ``customer_id``); adds ``clv`` and ``clv_at_stake``.
    churn_days : int, optional, keyword-only
        Days of data a text needs after it for its writer's churn to count. Default: the
        base's (None there: every text before the end counts), else 180, also the days without
        a purchase that count as churn when no base is given.
    revenue_months : int, keyword-only
        Months of revenue before the text counted as the customer's revenue (default 12).
    observation_end : date-like, optional, keyword-only
        End of the data; default the last transaction date.
    confidence : float, keyword-only
        Level of the interval of the churn difference.

    Returns
    -------
    DataFrame
        One row per theme, highest ``revenue_at_stake`` first: ``theme``, ``name``,
        ``customers``, ``n_texts``, ``revenue`` (their revenue in the ``revenue_months`` before
        the text), ``revenue_per_customer``, ``churn_n`` (customers with enough follow-up),
        ``churn_rate``, ``churn_others``, ``excess_churn`` (difference), ``ci_low``,
        ``ci_high``, ``p_value`` (two-proportion z test), ``revenue_at_stake`` =
        ``revenue * max(excess_churn, 0)``: the yearly revenue expected to leave with the
        extra churn of these customers, with ``at_stake_ci_low`` and ``at_stake_ci_high`` from
        the churn difference's interval; with ``clv``, also ``clv`` and ``clv_at_stake``.
    """
    caller = "theme_impact"
    if base is not None:  # the run's churn, value and end: what every other page reads
        validate_columns(base, ["churned"], caller=caller)
        clv = base["clv"] if clv is None and "clv" in base else clv
        churn_days = base.attrs.get("churn_follow_up_days") if churn_days is None else churn_days
        if observation_end is None:
            observation_end = base.attrs.get("observation_end")
    elif churn_days is None:
        churn_days = DEFAULT_CHURN_DAYS
    if result.themes.empty:  # no feedback table, or no complaint theme: nothing to rank
        columns = [
            "theme",
            "name",
            "customers",
            "n_texts",
            "revenue",
            "revenue_per_customer",
            "churn_n",
            "churn_rate",
            "churn_others",
            "excess_churn",
            "ci_low",
            "ci_high",
            "p_value",
            "revenue_at_stake",
            "at_stake_ci_low",
            "at_stake_ci_high",
        ]
        return pd.DataFrame(columns=columns + (["clv", "clv_at_stake"] if clv is not None else []))
    checked = check_transactions(transactions, caller=caller)
    validate_columns(result.assignments, ["customer_id", "date"], caller=caller)
    if churn_days is not None:
        check_positive_int(churn_days, "churn_days", caller=caller)
    confidence = check_fraction(confidence, "confidence", caller=caller)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    tx = pd.DataFrame(
        {
            "customer_id": checked["customer_id"].astype(str).to_numpy(),
            "date": checked["date"].to_numpy(),
            "amount": checked["amount"].to_numpy(float),
        }
    )
    end = pd.Timestamp(observation_end) if observation_end is not None else tx["date"].max()
    tx = tx[tx["date"] <= end]
    texts = pd.DataFrame(
        {
            "customer_id": result.assignments["customer_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(result.assignments["date"]).to_numpy(),
            "theme": result.assignments["theme"].to_numpy(),
        }
    )
    texts = texts[(texts["date"] <= end) & (texts["theme"] >= 0)]
    if len(texts) == 0:
        raise DataError(f"{caller}: no themed feedback on or before {end.date()}")
    if base is None:  # the inactivity rule on the one customer base, as the churn page reads it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # customers without a purchase
            churned = customer_base(checked, observation_end=end)["days_since_last"] > churn_days
    else:
        churned = base["churned"]
    churned = pd.Series(churned.to_numpy(dtype=bool), index=churned.index.astype(str))
    anchors = _theme_anchors(
        texts,
        tx,
        end,
        churned[~churned.index.duplicated()],
        revenue_months=revenue_months,
        churn_days=churn_days,
    )
    if clv is not None:
        lookup = clv.copy()
        lookup.index = lookup.index.astype(str)
        anchors["clv"] = (
            anchors["customer_id"].map(lookup[~lookup.index.duplicated()]).astype(float)
        )
    latest = anchors[anchors["theme"] == -1].set_index("customer_id")
    names = dict(zip(result.themes["theme"], result.themes["name"], strict=True))
    rows = []
    for theme in result.themes["theme"]:
        mine = anchors[anchors["theme"] == theme]
        others = latest.drop(index=mine["customer_id"], errors="ignore")
        row = {"theme": theme, "name": names[theme], **_theme_money(mine, others, z)}
        if clv is not None:
            value = float(mine["clv"].sum())
            diff = row["excess_churn"]
            row["clv"] = value
            row["clv_at_stake"] = value * max(diff, 0.0) if not math.isnan(diff) else math.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(["revenue_at_stake", "revenue"], ascending=False).reset_index(
        drop=True
    )


def _theme_anchors(texts, tx, end, churned, *, revenue_months, churn_days) -> pd.DataFrame:
    """One reference date per customer and theme, and per customer, with money around it.

    The reference date is the customer's latest text on the theme (``theme`` = -1: on
    anything). Columns: ``revenue`` in the ``revenue_months`` before it, ``followed_up`` (the
    text came ``churn_days`` or more before ``end``; any text when None) and ``churned`` (the
    customer's status in ``churned``; a customer without one never bought, so churned).
    """
    per_theme = texts.groupby(["customer_id", "theme"], as_index=False).agg(
        date=("date", "max"), n_texts=("date", "size")
    )
    per_customer = texts.groupby("customer_id", as_index=False)["date"].max()
    per_customer["theme"] = -1
    per_customer["n_texts"] = 0
    anchors = pd.concat([per_theme, per_customer], ignore_index=True)
    anchors["row"] = np.arange(len(anchors))
    joined = anchors[["row", "customer_id", "date"]].merge(
        tx, on="customer_id", how="left", suffixes=("", "_tx")
    )
    delta = joined["date_tx"] - joined["date"]
    before = (delta <= pd.Timedelta(0)) & (
        joined["date_tx"] > joined["date"] - pd.DateOffset(months=revenue_months)
    )
    window_start = end if churn_days is None else end - pd.Timedelta(days=churn_days)
    anchors["revenue"] = joined["amount"].where(before, 0.0).groupby(joined["row"]).sum().to_numpy()
    anchors["followed_up"] = anchors["date"] <= window_start
    anchors["churned"] = anchors["customer_id"].map(churned).fillna(True).astype(bool)
    return anchors


def _theme_money(mine: pd.DataFrame, others: pd.DataFrame, z: float) -> dict:
    """Compare a theme's customers with the other writers: excess churn, revenue at stake."""
    mine_f, others_f = mine[mine["followed_up"]], others[others["followed_up"]]
    n1, n0 = len(mine_f), len(others_f)
    p1 = float(mine_f["churned"].mean()) if n1 else math.nan
    p0 = float(others_f["churned"].mean()) if n0 else math.nan
    diff = p1 - p0
    if n1 and n0:
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        pooled = (p1 * n1 + p0 * n0) / (n1 + n0)
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 > 0 else math.nan
    else:
        se, p_value = math.nan, math.nan
    revenue = float(mine["revenue"].sum())
    return {
        "customers": len(mine),
        "n_texts": int(mine["n_texts"].sum()),
        "revenue": revenue,
        "revenue_per_customer": revenue / len(mine) if len(mine) else math.nan,
        "churn_n": n1,
        "churn_rate": p1,
        "churn_others": p0,
        "excess_churn": diff,
        "ci_low": diff - z * se,
        "ci_high": diff + z * se,
        "p_value": p_value,
        "revenue_at_stake": revenue * max(diff, 0.0) if not math.isnan(diff) else math.nan,
        "at_stake_ci_low": revenue * max(diff - z * se, 0.0) if n1 and n0 else math.nan,
        "at_stake_ci_high": revenue * max(diff + z * se, 0.0) if n1 and n0 else math.nan,
    }
