"""Share of wallet: how much each customer could spend with us, and how much we leave to others.

A customer's *wallet* is what they could spend in the categories the client sells. Few clients
know it, so :func:`estimate_wallet` estimates it the way Perlich, Rosset et al. ("High-quantile
modeling for customer wallet estimation") suggest: as a high quantile (default the 80th
percentile) of spend among *similar* customers, learned with gradient boosting under the quantile
loss. "Similar" means similar in who they are (the customer table's attributes) and what they buy
and where (category and channel mix), not in how much they already spend, so the estimate reads
"customers like you who give us most of their wallet spend this much". When the client has a
stated wallet or income column, it is used instead.

Only **active** customers have a wallet to win: customers who lapsed beyond the client's churn
threshold are left out (and counted), and spend is what active customers actually spent in the
trailing 12 months (:func:`trailing_spend`), not an annualised rate of a past active spell, so
the headroom is a fraction of today's revenue a programme can compete for.

:func:`wallet_by_segment` and :func:`wallet_by_category` sum spend, wallet and headroom (wallet
minus spend) by segment and by segment and category; :func:`penetration_gaps` lists the
cross-sell opportunities: categories a segment buys less often than comparable customers (the
same spend band in other segments) do.

The wallet model is here; what active customers spend is in :mod:`._wallet_spend` and the
cross-sell gaps in :mod:`._wallet_gaps`, every public name importable from this module.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# spend and the cross-sell gaps live in their own modules; their public names are this module's
from cxlib.segmentation._wallet_gaps import penetration_gaps
from cxlib.segmentation._wallet_spend import (
    _not_applicable,
    _text_ids,
    active_customers,
    spend_rate,
    trailing_spend,
)
from cxlib.segmentation.features import _base_for, customer_mix
from cxlib.settings.params import InstanceOf, Interval, check_param, param_error
from cxlib.settings.validation import check_transactions, segment_series, validate_columns

__all__ = [
    "DEFAULT_WALLET_QUANTILE",
    "DEFAULT_WALLET_TRAINING_CUSTOMERS",
    "WalletEstimate",
    "estimate_wallet",
    "penetration_gaps",
    "spend_rate",
    "trailing_spend",
    "wallet_by_category",
    "wallet_by_segment",
]

#: The quantile of similar customers' spend taken as the wallet (Perlich et al. use 0.8-0.9;
#: the lower end, so the wallet is what a good customer like you spends, not the best one).
DEFAULT_WALLET_QUANTILE = 0.8

#: Most active customers a wallet model learns from (a seeded random sample above it); every
#: active customer still gets a wallet. A quantile of spend given a few attributes and mix
#: shares is estimated as well from 100,000 customers as from millions.
DEFAULT_WALLET_TRAINING_CUSTOMERS = 100_000

_WALLET_QUANTILE = Interval(float, 0.5, 1, closed="neither", words="between 0.5 and 1 (exclusive)")


def _attribute_frame(customers: pd.DataFrame | None, index: pd.Index, attributes) -> pd.DataFrame:
    if customers is None:
        return pd.DataFrame(index=index)
    validate_columns(customers, ["customer_id"], caller="estimate_wallet")
    table = customers.copy()
    table["customer_id"] = table["customer_id"].astype(str)
    table = table.drop_duplicates("customer_id").set_index("customer_id").reindex(index)
    if attributes is None:
        attributes = []
        for column in table.columns:
            values = table[column]
            if pd.api.types.is_datetime64_any_dtype(values):
                continue
            if pd.api.types.is_numeric_dtype(values):
                attributes.append(column)
            elif values.nunique() <= 50:  # ids and free text are not attributes
                attributes.append(column)
    validate_columns(table, attributes, caller="estimate_wallet")
    out = pd.DataFrame(index=index)
    for column in attributes:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype(float)
        else:
            out[column] = values.astype("category")
    return out


def _quantile_predict(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    quantile,
    cv,
    seed,
    max_rows: int = DEFAULT_WALLET_TRAINING_CUSTOMERS,
) -> np.ndarray:
    """Predict the ``quantile`` of ``y`` given ``X`` for every row.

    The model learns from a seeded random sample of at most ``max_rows`` rows (all of them on
    smaller data) and predicts every row. With ``cv``, the sampled rows get out-of-fold
    predictions (a model that did not see them) and the others the model fitted on the sample.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_predict

    if X.shape[1] == 0:
        return np.full(len(y), float(np.quantile(y, quantile)))
    sample = np.arange(len(X))
    if len(X) > max_rows:
        sample = np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))
    model = HistGradientBoostingRegressor(
        loss="quantile",
        quantile=quantile,
        max_iter=60,
        learning_rate=0.15,
        min_samples_leaf=max(20, min(200, len(sample) // 50)),
        categorical_features="from_dtype",
        random_state=seed,
    )
    X_fit, y_fit = X.iloc[sample], y.iloc[sample]
    if cv is None or cv < 2:
        return model.fit(X_fit, y_fit).predict(X)
    folds = KFold(n_splits=int(cv), shuffle=True, random_state=seed)
    out_of_fold = cross_val_predict(model, X_fit, y_fit, cv=folds)
    if len(sample) == len(X):
        return out_of_fold
    predicted = model.fit(X_fit, y_fit).predict(X)
    predicted[sample] = out_of_fold
    return predicted


@dataclass
class WalletEstimate:
    """Per-customer wallet estimate.

    Attributes
    ----------
    customers : DataFrame
        Indexed by ``customer_id``, the active customers only: ``spend`` (trailing 12-month net
        spend, see :func:`trailing_spend`), ``wallet`` (never below ``spend``),
        ``share_of_wallet`` (spend / wallet, 0-1), ``headroom`` (wallet - spend).
    categories : DataFrame or None
        Long frame: ``customer_id``, ``category``, ``spend``, ``wallet``, ``headroom`` (one
        quantile model per category; category wallets need not add up to the total wallet, as
        a quantile of a sum is not the sum of quantiles). ``None`` without categories.
    source : str
        ``"model"`` or ``"stated"``.
    quantile : float
    features : list of str
        Model features (empty for a stated wallet).
    excluded : int
        Customers of the base left out because they are not active (lapsed beyond the churn
        threshold): they have no wallet to win with a share-of-wallet programme.
    basis : str
        What ``spend``, ``wallet`` and ``headroom`` measure, for labels.
    """

    customers: pd.DataFrame
    categories: pd.DataFrame | None
    source: str
    quantile: float
    features: list[str] = field(default_factory=list)
    excluded: int = 0
    basis: str = "annual net revenue (trailing 12 months), active customers"


def estimate_wallet(
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    quantile: float = DEFAULT_WALLET_QUANTILE,
    stated_wallet: str | None = None,
    stated_wallet_factor: float = 1.0,
    attributes: list[str] | None = None,
    by_category: bool = True,
    cv: int | None = 3,
    seed: int = 0,
    observation_end=None,
    min_active_days: int = 90,
    n_threads: int | None = 1,
    base: pd.DataFrame | None = None,
    active: pd.Series | None = None,
) -> WalletEstimate:
    """Estimate each active customer's annual wallet in the client's categories.

    The model learns from and predicts for active customers only, on their trailing 12-month
    spend (:func:`trailing_spend`): a customer who lapsed has no wallet to win by a
    share-of-wallet programme (winning them back is the churn page's question).

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``category`` and ``channel`` used when present).
    customers : DataFrame, optional
        Customer table: attributes for the model, or the stated wallet column.
    quantile : float
        The quantile of similar customers' spend taken as the wallet, in (0.5, 1).
    stated_wallet : str, optional
        A ``customers`` column holding each customer's annual wallet (or income, with
        ``stated_wallet_factor`` the share of it that could go to the client's categories).
        When given, no model is fitted; customers without a value fall back to their spend.
    stated_wallet_factor : float
        Multiplier for the stated column.
    attributes : list of str, optional
        ``customers`` columns to use; default every numeric column and every text column with at
        most 50 distinct values (dates and ids are left out).
    by_category : bool
        Also estimate a wallet per category (needs a ``category`` column).
    cv : int or None
        Folds for out-of-fold predictions of the total wallet (each customer's wallet comes
        from a model that did not see them); ``None`` fits and predicts on all customers.
        Above ``DEFAULT_WALLET_TRAINING_CUSTOMERS`` active customers every model learns from a
        seeded random sample of that many (the sampled customers get out-of-fold wallets, the
        others the model fitted on the sample); every customer gets a wallet.
        Category wallets are always fitted on all customers (one model per category; cheaper,
        and the leaves hold at least 20 customers, so a customer barely moves their own).
    seed : int
        Seed of the folds and the model.
    observation_end, min_active_days
        See :func:`trailing_spend`.
    n_threads : int or None
        OpenMP threads for the model (1 is safe on busy machines; None = library default).
    base : DataFrame, optional
        :func:`cxlib.customers.customer_base` output (e.g. ``client.base``): the customers and
        their spend; built from ``transactions`` when omitted.
    active : Series of bool, optional
        Which customers are active; default ``~base["churned"]`` when the base has it (as
        ``client.base`` does), else a purchase in the trailing 12 months.

    Returns
    -------
    WalletEstimate

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> tx = pd.DataFrame({"customer_id": [f"c{i}" for i in range(200)] * 2,
    ...                    "date": pd.to_datetime(["2024-01-01"] * 200 + ["2024-12-31"] * 200),
    ...                    "amount": rng.gamma(2, 50, 400)})
    >>> est = estimate_wallet(tx, by_category=False)
    >>> bool((est.customers["wallet"] >= est.customers["spend"]).all())
    True
    """
    import sklearn.ensemble  # noqa: F401  (load OpenMP before limiting its threads)
    from threadpoolctl import threadpool_limits

    check_param("quantile", quantile, _WALLET_QUANTILE, caller="estimate_wallet")
    tx = _text_ids(check_transactions(transactions, caller="estimate_wallet"))
    base = _base_for(
        tx, base, observation_end, "estimate_wallet", columns=["revenue_12m", "tenure_days"]
    )
    end = base.attrs.get("observation_end", observation_end)
    index = active_customers(base, active, caller="estimate_wallet")
    excluded = len(base) - len(index)
    spend = trailing_spend(tx, base=base, customers_index=index, min_active_days=min_active_days)
    has_category = by_category and "category" in tx.columns
    category_spend = (
        trailing_spend(
            tx, base=base, by="category", customers_index=index, min_active_days=min_active_days
        )
        if has_category
        else None
    )

    if stated_wallet is not None:
        wallet = _stated_wallet(customers, stated_wallet, stated_wallet_factor, spend)
        return WalletEstimate(
            customers=_customer_table(spend, wallet),
            categories=None,
            source="stated",
            quantile=float("nan"),
            excluded=excluded,
        )

    X = _attribute_frame(customers, index, attributes).join(
        customer_mix(tx, index, observation_end=end)
    )
    with threadpool_limits(limits=n_threads):
        predicted = _quantile_predict(X, spend, quantile=quantile, cv=cv, seed=seed)
        wallet = np.maximum(predicted, spend.to_numpy())
        table = _customer_table(spend, wallet)
        categories = (
            _category_wallets(X, category_spend, quantile=quantile, seed=seed)
            if has_category
            else None
        )
    return WalletEstimate(
        customers=table,
        categories=categories,
        source="model",
        quantile=quantile,
        features=list(X.columns),
        excluded=excluded,
    )


def _stated_wallet(customers, stated_wallet: str, factor: float, spend: pd.Series) -> pd.Series:
    """Return each customer's stated wallet (times ``factor``), never below their spend."""
    if customers is None:  # a rule across two parameters: the table the column is read from
        raise param_error(
            "customers", None, "a customers table when stated_wallet is given",
            caller="estimate_wallet",
        )  # fmt: skip
    validate_columns(customers, ["customer_id", stated_wallet], caller="estimate_wallet")
    stated = (
        pd.to_numeric(
            customers.assign(customer_id=customers["customer_id"].astype(str))
            .drop_duplicates("customer_id")
            .set_index("customer_id")[stated_wallet],
            errors="coerce",
        ).reindex(spend.index)
        * factor
    )
    missing = stated.isna()
    if missing.any():
        warnings.warn(
            f"estimate_wallet: {int(missing.sum())} customer(s) have no stated "
            f"'{stated_wallet}'; their wallet is set to their spend.",
            stacklevel=3,
        )
    below = stated < spend
    if below.any():
        warnings.warn(
            f"estimate_wallet: {int(below.sum())} customer(s) spend more than their stated "
            "wallet; their wallet is raised to their spend.",
            stacklevel=3,
        )
    return np.maximum(stated.fillna(spend), spend)


def _category_wallets(
    X: pd.DataFrame, category_spend: pd.DataFrame, *, quantile, seed
) -> pd.DataFrame:
    """Fit one quantile model per category on all customers; return a long frame of wallets."""
    frames = []
    for category in category_spend.columns:
        y = category_spend[category]
        pred = _quantile_predict(X, y, quantile=quantile, cv=None, seed=seed)
        cat_wallet = np.maximum(pred, y.to_numpy())
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": category_spend.index,
                    "category": category,
                    "spend": y.to_numpy(),
                    "wallet": cat_wallet,
                    "headroom": cat_wallet - y.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _customer_table(spend: pd.Series, wallet) -> pd.DataFrame:
    wallet = np.asarray(wallet, dtype=float)
    spend_values = spend.to_numpy(dtype=float)
    share = np.divide(
        np.clip(spend_values, 0, None), wallet, out=np.zeros_like(wallet), where=wallet > 0
    )
    return pd.DataFrame(
        {
            "spend": spend_values,
            "wallet": wallet,
            "share_of_wallet": np.clip(share, 0, 1),
            "headroom": wallet - spend_values,
        },
        index=spend.index,
    )


def _estimate_table(estimate) -> pd.DataFrame:
    return estimate.customers if isinstance(estimate, WalletEstimate) else estimate


def wallet_by_segment(estimate, segments) -> pd.DataFrame:
    """Spend, wallet, share of wallet and headroom per segment.

    Parameters
    ----------
    estimate : WalletEstimate or DataFrame
        :func:`estimate_wallet` output (or its ``customers`` frame).
    segments : Series or DataFrame
        Segment per customer (index ``customer_id``; a frame's ``segment`` column).

    Returns
    -------
    DataFrame
        Indexed by ``segment``, sorted by headroom (descending): ``customers``, ``spend``,
        ``wallet``, ``share_of_wallet`` (segment spend / segment wallet), ``headroom``,
        ``headroom_share`` (of all headroom), ``spend_per_customer``, ``wallet_per_customer``,
        ``headroom_per_customer``. Money is annual. Customers without a segment are left out.

    Examples
    --------
    >>> est = pd.DataFrame({"spend": [10.0, 30.0, 20.0], "wallet": [40.0, 40.0, 20.0]},
    ...                    index=["a", "b", "c"])
    >>> seg = pd.Series({"a": "x", "b": "x", "c": "y"})
    >>> wallet_by_segment(est, seg)[["wallet", "share_of_wallet", "headroom"]]
    ... # doctest: +NORMALIZE_WHITESPACE
             wallet  share_of_wallet  headroom
    segment
    x          80.0              0.5      40.0
    y          20.0              1.0       0.0
    """
    table = _estimate_table(estimate)
    validate_columns(table, ["spend", "wallet"], caller="wallet_by_segment")
    seg = segment_series(segments, caller="wallet_by_segment")
    joined = table[["spend", "wallet"]].join(seg.rename("segment"), how="inner")
    grouped = joined.groupby("segment")
    out = grouped[["spend", "wallet"]].sum()
    out.insert(0, "customers", grouped.size().astype(int))
    out["share_of_wallet"] = out["spend"].clip(lower=0) / out["wallet"].where(out["wallet"] > 0)
    out["headroom"] = out["wallet"] - out["spend"]
    total = out["headroom"].sum()
    out["headroom_share"] = out["headroom"] / total if total > 0 else np.nan
    for column in ("spend", "wallet", "headroom"):
        out[f"{column}_per_customer"] = out[column] / out["customers"]
    out.index.name = "segment"
    return out.sort_values("headroom", ascending=False)


def wallet_by_category(estimate: WalletEstimate, segments) -> pd.DataFrame:
    """Spend, wallet, share of wallet and headroom per segment and category.

    Parameters
    ----------
    estimate : WalletEstimate
        :func:`estimate_wallet` output with category wallets.
    segments : Series or DataFrame
        Segment per customer.

    Returns
    -------
    DataFrame
        One row per (``segment``, ``category``), sorted by headroom: ``customers`` (of the
        segment in the estimate, i.e. active), ``spend``, ``wallet``, ``share_of_wallet``,
        ``headroom``. Empty when the estimate has no category wallets (no
        ``category`` column), with the reason in ``attrs["note"]``.
    """
    check_param(
        "estimate", estimate, InstanceOf(WalletEstimate, "an estimate_wallet result"),
        caller="wallet_by_category", got=type(estimate).__name__,
    )  # fmt: skip
    if estimate.categories is None:
        return _not_applicable(
            ["segment", "category", "customers", "spend", "wallet", "share_of_wallet", "headroom"],
            "No category wallets: the transactions have no 'category' column.",
        )
    seg = segment_series(segments, caller="wallet_by_category")
    long = estimate.categories.merge(
        seg.rename("segment"), left_on="customer_id", right_index=True, how="inner"
    )
    out = long.groupby(["segment", "category"], observed=True)[["spend", "wallet"]].sum()
    sizes = seg[seg.index.isin(estimate.customers.index)].value_counts()  # customers estimated
    out.insert(0, "customers", sizes.reindex(out.index.get_level_values("segment")).to_numpy())
    out["share_of_wallet"] = out["spend"].clip(lower=0) / out["wallet"].where(out["wallet"] > 0)
    out["headroom"] = out["wallet"] - out["spend"]
    return out.sort_values("headroom", ascending=False).reset_index()
