"""The generator, :func:`make_demo`.

It checks its parameters, runs the simulation stages in order and assembles the observed
tables and the truth.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from cxlib.demo._data import DemoData, DemoTruth
from cxlib.demo._experiment import simulate_experiment
from cxlib.demo._russian import russian
from cxlib.demo._settings import (
    ACQUISITION_CHANNELS,
    AGE_BANDS,
    CATEGORIES,
    CHANNELS,
    DEFAULT_SEGMENTS,
    DEFAULT_SETTINGS,
    DEFAULT_THEMES,
    HOLDOUT_END,
    HOLDOUT_START,
    OBSERVATION_END,
    REGIONS,
    START,
)
from cxlib.demo._simulate import (
    OBS_DAYS,
    _choice_rows,
    _Population,
    _Purchases,
    _simulate_customers,
    _simulate_feedback,
    _simulate_orders,
    _simulate_purchases,
    _simulate_surveys,
    _simulate_wallet,
    _Spec,
    _to_dates,
)
from cxlib.settings.i18n import check_language
from cxlib.settings.params import (
    InstanceOf,
    Interval,
    check_param,
    check_positive_int,
    param_error,
)


def _check_params(n_customers: Any, seed: Any) -> None:
    check_positive_int(n_customers, "n_customers", caller="make_demo")
    check_param("seed", seed, Interval(int, 0, None, words="a non-negative integer"),
                caller="make_demo")  # fmt: skip


def _pooled_params(
    rate: np.ndarray, dropout: np.ndarray, order_value: np.ndarray, p_shape: np.ndarray
) -> dict[str, float]:
    """Single-population BG/NBD and Gamma-Gamma parameters closest to the latent values.

    The generator is a mixture of segments (with satisfaction effects), so no single
    ``(r, alpha, a, b, p, q, v)`` is "the truth" for a one-population model. These are the
    maximum-likelihood fits of Gamma(r, alpha) to the customers' weekly purchase rates,
    Beta(a, b) to their dropout probabilities and, with ``p`` the customers' mean spend shape,
    Gamma(q, v) to ``p / expected order value``: the parameters a well-fitted model should be
    near.
    """
    from scipy import stats

    if len(rate) < 10:
        return {}
    r, _, scale = stats.gamma.fit(rate, floc=0)
    a, b, _, _ = stats.beta.fit(np.clip(dropout, 1e-9, 1 - 1e-9), floc=0, fscale=1)
    p = float(np.mean(p_shape))
    q, _, v_scale = stats.gamma.fit(p / order_value, floc=0)
    return {
        "r": float(r),
        "alpha": float(1 / scale),
        "a": float(a),
        "b": float(b),
        "p": p,
        "q": float(q),
        "v": float(1 / v_scale),
    }


def _check_overrides(overrides: Any, name: str, what: str, allowed: list[str]) -> None:
    """Check that ``overrides`` is None or a dict using only ``allowed`` names or keys."""
    check_param(name, overrides, [InstanceOf(dict, "a dict"), None], caller="make_demo",
                got=type(overrides).__name__)  # fmt: skip
    unknown = sorted(set(overrides or {}) - set(allowed))
    if unknown:
        raise param_error(
            name, overrides, f"a dict whose {what} are in {allowed}", caller="make_demo",
            got=f"{what} {unknown}",
        )  # fmt: skip


def _merge(defaults: dict[str, Any], overrides: Any, name: str) -> dict[str, Any]:
    """Return a deep copy of ``defaults`` with the keys of ``overrides`` replaced."""
    _check_overrides(overrides, name, "keys", sorted(defaults))
    merged = copy.deepcopy(defaults)
    if overrides is not None:
        merged.update(copy.deepcopy(overrides))
    return merged


def make_demo(
    n_customers: int = 20_000,
    seed: int = 42,
    *,
    segments: dict[str, dict[str, Any]] | None = None,
    themes: dict[str, dict[str, float]] | None = None,
    settings: dict[str, Any] | None = None,
    language: str = "en",
) -> DemoData:
    """Simulate the demo client: observed exports plus the ground truth.

    Parameters
    ----------
    n_customers : int, default 20_000
        Number of customers acquired over the observed three years.
    seed : int, default 42
        Random seed: the same seed (and ``n_customers``) gives identical frames.
    segments, themes, settings : dict, optional
        Overrides of :data:`DEFAULT_SEGMENTS`, :data:`DEFAULT_THEMES` and
        :data:`DEFAULT_SETTINGS`, merged key by key: ``segments={"Premium loyalists":
        {"satisfaction_dropout_slope": 0.8}}`` changes one value and keeps the rest. Segment
        and theme names and keys must exist in the defaults.
    language : {"en", "ru"}, default "en"
        ``"ru"``: the same business, with Russian category and channel names and Russian survey
        comments and feedback texts (:func:`cxlib.demo._russian.russian`); every number is the
        English demo's.

    Returns
    -------
    DemoData
        ``.transactions``, ``.customers``, ``.surveys``, ``.feedback`` (canonical frames),
        ``.truth`` (:class:`DemoTruth`) and ``.write(directory)``.

    Examples
    --------
    >>> demo = make_demo(n_customers=300, seed=3)
    >>> len(demo.customers)
    300
    >>> demo.truth.customers["segment"].nunique()
    5
    """
    check_language(language, caller="make_demo")
    spec = _spec(n_customers, seed, segments, themes, settings)
    rng = _stage_streams(seed)
    pop = _simulate_customers(rng["customers"], spec)
    purchases = _simulate_purchases(rng["purchases"], spec, pop)
    # Gamma-Gamma spend scale per customer, nu ~ Gamma(q, rate v).
    nu = rng["spend"].gamma(spec.seg_array("q")[pop.seg], 1.0 / spec.seg_array("v")[pop.seg])
    rows = _simulate_orders(rng["spend"], rng["refunds"], spec, pop, purchases, nu)
    wallet = _simulate_wallet(rng["wallet"], rng["category_wallet"], spec, pop, purchases.rate, nu)

    ids = np.array(
        [f"C{i:0{max(6, len(str(spec.n)))}d}" for i in range(1, spec.n + 1)], dtype=object
    )
    observed = rows.day < OBS_DAYS
    n_obs_orders = np.bincount(rows.cust[rows.is_order & observed], minlength=spec.n)
    transactions = rows.frame(ids, observed)
    future = rows.frame(ids, ~observed)
    del rows, observed
    customers = _customer_table(ids, pop, wallet)
    transactions, experiments, experiment_truth = _with_experiment(
        transactions, seed, spec, ids, pop, purchases, nu
    )
    active_end = np.where(purchases.alive_at_end, OBS_DAYS - 1, purchases.drop_day)
    surveys = _simulate_surveys(rng["surveys"], spec, pop, active_end, n_obs_orders, ids)
    feedback, feedback_themes = _simulate_feedback(
        rng["feedback"], rng["texts"], spec, pop, active_end, ids
    )
    truth = DemoTruth(
        params=_truth_params(spec, seed, pop, purchases, wallet, experiment_truth),
        customers=_truth_customers(ids, spec, pop, purchases, nu, wallet),
        future_transactions=future,
        feedback_themes=feedback_themes,
    )
    demo = DemoData(transactions, customers, surveys, feedback, truth, experiments)
    return russian(demo, seed) if language == "ru" else demo


def _spec(n_customers: Any, seed: Any, segments: Any, themes: Any, settings: Any) -> _Spec:
    """Check :func:`make_demo`'s parameters; return the defaults merged with the overrides."""
    _check_params(n_customers, seed)
    _check_overrides(segments, "segments", "names", list(DEFAULT_SEGMENTS))
    _check_overrides(themes, "themes", "names", list(DEFAULT_THEMES))
    return _Spec(
        n=int(n_customers),
        segments={
            name: _merge(values, (segments or {}).get(name), f"segments[{name!r}]")
            for name, values in DEFAULT_SEGMENTS.items()
        },
        themes={
            name: _merge(values, (themes or {}).get(name), f"themes[{name!r}]")
            for name, values in DEFAULT_THEMES.items()
        },
        settings=_merge(DEFAULT_SETTINGS, settings, "settings"),
    )


def _stage_streams(seed: int) -> dict[str, np.random.Generator]:
    """Return one random stream per simulation stage, spawned from ``seed``."""
    # One independent stream per stage: changing one stage leaves the others' draws alone.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    stages = (
        "customers",
        "purchases",
        "spend",
        "refunds",
        "surveys",
        "feedback",
        "texts",
        "wallet",
        "category_wallet",
    )
    return dict(zip(stages, streams, strict=True))


def _customer_table(ids: np.ndarray, pop: _Population, wallet: dict[str, Any]) -> pd.DataFrame:
    """Return the observed customer export: sign-up, acquisition, region and age band."""
    return pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": _to_dates(pop.acq_day),
            "acquisition_channel": np.array(ACQUISITION_CHANNELS, dtype=object)[pop.acq_channel],
            "acquisition_cost": pop.acq_cost,
            "region": np.array(REGIONS, dtype=object)[wallet["region"]],
            "age_band": np.array(AGE_BANDS, dtype=object)[wallet["age"]],
        }
    )


def _with_experiment(
    transactions: pd.DataFrame,
    seed: int,
    spec: _Spec,
    ids: np.ndarray,
    pop: _Population,
    purchases: _Purchases,
    nu: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Run the seeded experiment; return the transactions with its extra orders, its table, truth.

    The extra orders are merged in date order, each refund after the purchases of its day.
    """
    # The seeded experiment: its own stream (the tenth child of the seed), extra orders only.
    extra, experiments, experiment_truth = simulate_experiment(
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(9,))),
        start_date=START,
        n=spec.n,
        ids=ids,
        order_cust=purchases.cust,
        order_day=purchases.day,
        dies=purchases.dies,
        drop_day=purchases.drop_day,
        order_value=(
            spec.seg_array("p")[pop.seg],
            nu,
            np.exp(spec.settings["satisfaction_spend_slope"] * pop.satisfaction),
        ),
        mixes=(pop.seg, spec.seg_array("categories"), spec.seg_array("channels")),
        labels=(CATEGORIES, CHANNELS),
        next_order_id=len(purchases.cust) + 100_001,
        to_dates=_to_dates,
        choice_rows=_choice_rows,
    )
    if len(extra):
        transactions = pd.concat([transactions, extra], ignore_index=True)
        is_refund = transactions["amount"] < 0
        order = (
            transactions.assign(_refund=is_refund)
            .sort_values(["date", "customer_id", "_refund"], kind="stable")
            .index
        )
        transactions = transactions.loc[order].reset_index(drop=True)
    return transactions, experiments, experiment_truth


def _truth_customers(
    ids: np.ndarray,
    spec: _Spec,
    pop: _Population,
    purchases: _Purchases,
    nu: np.ndarray,
    wallet: dict[str, Any],
) -> pd.DataFrame:
    """Return every customer's latent values: segment, rates, satisfaction, wallet, fate."""
    theme_names = list(spec.themes)
    theme_of_customer = np.where(
        pop.theme >= 0, np.array(theme_names, dtype=object)[np.maximum(pop.theme, 0)], None
    )
    return pd.DataFrame(
        {
            "customer_id": ids,
            "segment": np.array(list(spec.segments), dtype=object)[pop.seg],
            "purchase_rate": purchases.rate,
            "dropout_probability": purchases.dropout,
            "satisfaction": pop.satisfaction,
            "nu": nu,
            "expected_order_value": wallet["expected_order_value"],
            "expected_annual_spend": wallet["expected_annual_spend"],
            "wallet": wallet["wallet"],
            "share_of_wallet": wallet["share_of_wallet"],
            **{f"wallet_{c}": wallet["wallet_by_category"][:, k] for k, c in enumerate(CATEGORIES)},
            "complaint_theme": theme_of_customer,
            "alive_at_end": purchases.alive_at_end,
            "alive_at_holdout_end": ~purchases.dies,
            "dropout_date": np.where(
                purchases.dies, _to_dates(purchases.drop_day), np.datetime64("NaT", "ns")
            ).astype("datetime64[ns]"),
        }
    )


def _truth_params(
    spec: _Spec,
    seed: int,
    pop: _Population,
    purchases: _Purchases,
    wallet: dict[str, Any],
    experiment_truth: dict[str, Any],
) -> dict[str, Any]:
    """Return the generator's parameters, calendar and names, and the pooled model parameters."""
    return {
        "n_customers": spec.n,
        "seed": int(seed),
        "start": str(START.date()),
        "observation_end": str(OBSERVATION_END.date()),
        "holdout_start": str(HOLDOUT_START.date()),
        "holdout_end": str(HOLDOUT_END.date()),
        "time_unit": "week (purchase_rate, r/alpha); currency units (p/q/v, wallet)",
        "segments": spec.segments,
        "themes": spec.themes,
        "settings": spec.settings,
        "categories": list(CATEGORIES),
        "channels": list(CHANNELS),
        "acquisition_channels": list(ACQUISITION_CHANNELS),
        "regions": list(REGIONS),
        "age_bands": list(AGE_BANDS),
        "experiment": experiment_truth,
        "pooled": _pooled_params(
            purchases.rate,
            purchases.dropout,
            wallet["expected_order_value"],
            spec.seg_array("p")[pop.seg],
        ),
    }
