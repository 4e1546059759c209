"""The simulation stages and their sampling helpers.

Stages: customers, purchases, orders, wallets, surveys and feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cxlib.demo._settings import (
    _FEEDBACK_CHANNELS,
    ACQUISITION_CHANNELS,
    CATEGORIES,
    CHANNELS,
    DAYS_PER_WEEK,
    HOLDOUT_END,
    OBSERVATION_END,
    START,
    WEEKS_PER_YEAR,
)
from cxlib.demo._text import _feedback_texts, _survey_comments


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element of ``rows`` from the probability row ``probs[rows]``."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int8)
    for k in range(probs.shape[0]):
        mask = rows == k
        out[mask] = np.searchsorted(cum[k], u[mask], side="right")
    return np.minimum(out, probs.shape[1] - 1)


def _choice_logits(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``logits`` (n x k) by the Gumbel-max trick."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def _to_dates(day_index: np.ndarray) -> np.ndarray:
    """Day numbers since START as datetime64[ns]."""
    days = np.datetime64(START.date(), "D") + day_index.astype("timedelta64[D]")
    return days.astype("datetime64[ns]")


OBS_DAYS = (OBSERVATION_END - START).days + 1  # 1096 observed days
HORIZON_DAYS = (HOLDOUT_END - START).days + 1  # 1277 days including the holdout


@dataclass
class _Spec:
    """The merged generator parameters."""

    n: int
    segments: dict[str, dict[str, Any]]
    themes: dict[str, dict[str, float]]
    settings: dict[str, Any]

    def seg_array(self, key: str) -> np.ndarray:
        """One value (or one probability row) per segment, in segment order."""
        return np.array([values[key] for values in self.segments.values()], dtype=float)


@dataclass
class _Population:
    """Per-customer latent draws, in customer-id order (= acquisition order)."""

    seg: np.ndarray  # segment index
    t0: np.ndarray  # continuous acquisition day since START
    acq_day: np.ndarray
    acq_channel: np.ndarray
    acq_cost: np.ndarray
    satisfaction: np.ndarray
    theme: np.ndarray  # complaint theme index, -1 for none


@dataclass
class _Purchases:
    """BG/NBD draws and the resulting order days (sorted by customer, then day)."""

    rate: np.ndarray  # weekly purchase rate
    dropout: np.ndarray  # dropout probability after each repeat purchase
    cust: np.ndarray
    day: np.ndarray
    dies: np.ndarray  # dropped out before the holdout end
    drop_day: np.ndarray  # day of the last purchase for those who died, else -1
    alive_at_end: np.ndarray


@dataclass
class _Rows:
    """Orders and refunds, sorted by day, customer, order before refund."""

    cust: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    order_id: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    is_order: np.ndarray

    def frame(self, ids: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": ids[self.cust[rows]],
                "date": _to_dates(self.day[rows]),
                "amount": self.amount[rows],
                "order_id": self.order_id[rows],
                "category": np.array(CATEGORIES, dtype=object)[self.category[rows]],
                "channel": np.array(CHANNELS, dtype=object)[self.channel[rows]],
            }
        )


def _simulate_customers(rng: np.random.Generator, spec: _Spec) -> _Population:
    """Segment, acquisition day/channel/cost, satisfaction and complaint theme per customer."""
    n, settings = spec.n, spec.settings
    seg_share = spec.seg_array("share")
    seg = rng.choice(len(seg_share), size=n, p=seg_share / seg_share.sum()).astype(np.int8)
    beta_a, beta_b = settings["acquisition_beta"]
    t0 = rng.beta(beta_a, beta_b, size=n) * OBS_DAYS
    # Customer ids follow the acquisition order, like a sequential CRM key.
    order = np.argsort(t0, kind="stable")
    t0, seg = t0[order], seg[order]

    acq_channel = _choice_rows(rng, spec.seg_array("acquisition_channels"), seg)
    cost_mean = np.array([settings["acquisition_cost_mean"][c] for c in ACQUISITION_CHANNELS])
    sigma = settings["acquisition_cost_sigma"]
    acq_cost = np.round(
        cost_mean[acq_channel] * np.exp(rng.normal(-(sigma**2) / 2, sigma, size=n)), 2
    )
    satisfaction = spec.seg_array("satisfaction_mean")[seg] + rng.normal(
        0.0, settings["satisfaction_sd"], size=n
    )
    p_complain = _expit(
        settings["complaint_intercept"] + settings["complaint_slope"] * satisfaction
    )
    complains = rng.random(n) < p_complain
    theme_names = list(spec.themes)
    theme_weights = np.tile(
        [spec.themes[t]["weight"] for t in theme_names], (len(spec.segments), 1)
    )
    digital = list(spec.segments).index("Digital newcomers")
    theme_weights[digital, theme_names.index("app_problems")] *= settings["digital_app_theme_boost"]
    theme = np.where(complains, _choice_rows(rng, theme_weights, seg), -1)
    return _Population(
        seg=seg,
        t0=t0,
        acq_day=np.floor(t0).astype(np.int64),
        acq_channel=acq_channel,
        acq_cost=acq_cost,
        satisfaction=satisfaction,
        theme=theme,
    )


def _simulate_purchases(rng: np.random.Generator, spec: _Spec, pop: _Population) -> _Purchases:
    """BG/NBD purchases from acquisition to the holdout end, at most one order a day.

    Weekly rate ``lambda ~ Gamma(r, alpha) * exp(rate_slope * satisfaction)``; dropout
    ``logit p = logit(Beta(a, b)) - slope_segment * satisfaction + theme effect``. Repeat
    purchases form a Poisson process on (t0, horizon); the customer leaves right after the
    K-th repeat purchase, K ~ Geometric(p). With N events in the window the first
    M = min(N, K) are kept; their times are the first M order statistics of N uniforms, drawn
    as S_k / S_{N+1} with S the partial sums of Exp(1) gaps, so memory grows with the kept
    purchases only.
    """
    n, settings, seg, sat = spec.n, spec.settings, pop.seg, pop.satisfaction
    theme_dropout = np.array([values["dropout_effect"] for values in spec.themes.values()])
    lam = rng.gamma(spec.seg_array("r")[seg], 1.0 / spec.seg_array("alpha")[seg])
    lam *= np.exp(settings["satisfaction_rate_slope"] * sat)  # per week
    p_base = np.clip(rng.beta(spec.seg_array("a")[seg], spec.seg_array("b")[seg]), 1e-6, 1 - 1e-6)
    logit_p = _logit(p_base) - spec.seg_array("satisfaction_dropout_slope")[seg] * sat
    logit_p += np.where(pop.theme >= 0, theme_dropout[np.maximum(pop.theme, 0)], 0.0)
    p_drop = _expit(logit_p)

    span = HORIZON_DAYS - pop.t0
    n_events = rng.poisson(lam * span / DAYS_PER_WEEK)
    k_drop = rng.geometric(p_drop)
    dies = k_drop <= n_events
    m_keep = np.minimum(n_events, k_drop)
    csum = np.cumsum(rng.exponential(1.0, size=int(m_keep.sum())))
    cust_rep = np.repeat(np.arange(n, dtype=np.int32), m_keep)
    group_end = np.cumsum(m_keep)
    first_pos = group_end - m_keep
    base = np.zeros(n)  # partial sum before each customer's first gap
    has = m_keep > 0
    base[has] = np.where(first_pos[has] > 0, csum[np.maximum(first_pos[has] - 1, 0)], 0.0)
    s_within = csum - base[cust_rep]
    del csum
    s_m = np.zeros(n)
    s_m[has] = s_within[group_end[has] - 1]
    s_total = s_m + rng.gamma(np.maximum(n_events - m_keep + 1, 1).astype(float), 1.0)
    rep_time = pop.t0[cust_rep] + span[cust_rep] * s_within / s_total[cust_rep]
    del s_within, cust_rep

    # First purchase at acquisition, then the repeats; one order per customer and day.
    counts = m_keep + 1
    cust = np.repeat(np.arange(n, dtype=np.int32), counts)
    first = np.zeros(len(cust), dtype=bool)
    first[np.cumsum(counts) - counts] = True
    time = np.empty(len(cust))
    time[first] = pop.t0
    time[~first] = rep_time
    del rep_time, first
    day = np.minimum(np.floor(time).astype(np.int32), HORIZON_DAYS - 1)
    del time
    keep = np.ones(len(day), dtype=bool)
    keep[1:] = (day[1:] != day[:-1]) | (cust[1:] != cust[:-1])
    cust, day = cust[keep], day[keep]
    last_day = np.full(n, -1, dtype=np.int64)
    last_day[cust] = day  # rows are sorted by customer then day, so the last write wins
    drop_day = np.where(dies, last_day, -1)
    return _Purchases(
        rate=lam,
        dropout=p_drop,
        cust=cust,
        day=day,
        dies=dies,
        drop_day=drop_day,
        alive_at_end=~(dies & (drop_day < OBS_DAYS)),
    )


def _simulate_orders(
    rng_spend: np.random.Generator,
    rng_refund: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    purchases: _Purchases,
    nu: np.ndarray,
) -> _Rows:
    """Gamma-Gamma order values (``Gamma(p, nu)``), category and channel, and refund rows."""
    settings, seg = spec.settings, pop.seg
    cust, day = purchases.cust, purchases.day
    spend_mult = np.exp(settings["satisfaction_spend_slope"] * pop.satisfaction)
    p_seg = spec.seg_array("p")[seg]
    amount = rng_spend.gamma(p_seg[cust], 1.0 / nu[cust]) * spend_mult[cust]
    amount = np.maximum(np.round(amount, 2), 1.0)
    category = _choice_rows(rng_spend, spec.seg_array("categories"), seg[cust])
    channel = _choice_rows(rng_spend, spec.seg_array("channels"), seg[cust])
    n_orders = len(cust)

    theme_refund = np.array([values["refund_rate"] for values in spec.themes.values()])
    refund_rate = np.where(
        pop.theme >= 0, theme_refund[np.maximum(pop.theme, 0)], settings["refund_rate"]
    )
    refunded = rng_refund.random(n_orders) < refund_rate[cust]
    # An order on the last day of its window (observed or holdout) cannot be refunded inside it.
    refunded &= (day != OBS_DAYS - 1) & (day != HORIZON_DAYS - 1)
    r_idx = np.flatnonzero(refunded)
    full = rng_refund.random(len(r_idx)) < settings["refund_full_share"]
    fraction = np.where(full, 1.0, rng_refund.uniform(0.2, 0.8, size=len(r_idx)))
    lo, hi = settings["refund_delay_days"]
    r_day = day[r_idx] + rng_refund.integers(lo, hi + 1, size=len(r_idx))
    # A refund stays in the window of its order (observed or holdout).
    r_day = np.where(day[r_idx] < OBS_DAYS, np.minimum(r_day, OBS_DAYS - 1), r_day)
    r_day = np.minimum(r_day, HORIZON_DAYS - 1)
    r_amount = -np.round(amount[r_idx] * fraction, 2)

    # Order ids increase with the order date (ties: customer id).
    order_rank = np.argsort(day.astype(np.int64) * spec.n + cust, kind="stable")
    order_id = np.empty(n_orders, dtype=np.int64)
    order_id[order_rank] = np.arange(n_orders, dtype=np.int64) + 100_001
    del order_rank

    all_cust = np.concatenate([cust, cust[r_idx]])
    all_day = np.concatenate([day, r_day])
    is_order = np.arange(len(all_day)) < n_orders
    # Rows by date, customer, then order before refund; refunds of several orders on one day
    # keep their order-id order (the stable sort keeps the generation order).
    key = (all_day.astype(np.int64) * spec.n + all_cust) * 2 + ~is_order
    sort = np.argsort(key, kind="stable")
    del key
    return _Rows(
        cust=all_cust[sort],
        day=all_day[sort],
        amount=np.concatenate([amount, r_amount])[sort],
        order_id=np.concatenate([order_id, order_id[r_idx]])[sort],
        category=np.concatenate([category, category[r_idx]])[sort],
        channel=np.concatenate([channel, channel[r_idx]])[sort],
        is_order=is_order[sort],
    )


def _simulate_wallet(
    rng: np.random.Generator,
    rng_category: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    rate: np.ndarray,
    nu: np.ndarray,
) -> dict[str, np.ndarray]:
    """Draw share of wallet; derive wallet (total, by category), age band and region.

    The wallet is derived from the simulated behaviour: expected annual spend (weekly rate x
    52.18 x expected order value ``p / nu``, times the satisfaction effect on spend) divided
    by a Beta-distributed share of wallet. Age band and region are drawn from the wallet
    (plus noise), so they carry information about it.
    """
    n, settings, seg, sat = spec.n, spec.settings, pop.seg, pop.satisfaction
    spend_mult = np.exp(settings["satisfaction_spend_slope"] * sat)
    expected_order_value = spec.seg_array("p")[seg] * spend_mult / np.maximum(nu, 1e-12)
    expected_annual_spend = rate * WEEKS_PER_YEAR * expected_order_value
    share_mean = _expit(
        _logit(spec.seg_array("wallet_share_mean")[seg])
        + settings["wallet_share_satisfaction_slope"] * sat
    )
    kappa = settings["wallet_share_concentration"]
    share_of_wallet = np.clip(
        rng.beta(share_mean * kappa, (1 - share_mean) * kappa), settings["wallet_share_min"], 1.0
    )
    wallet = expected_annual_spend / share_of_wallet
    # Split by category: what the customer spends with the client (the segment's category mix)
    # plus the headroom, which follows the market's mix; so a segment's share of wallet is low
    # in the categories it rarely buys here (cross-sell gaps).
    market_mix = np.array([settings["market_category_mix"][c] for c in CATEGORIES])
    headroom_mix = rng_category.gamma(
        settings["market_mix_concentration"] * market_mix, size=(n, len(CATEGORIES))
    )
    headroom_mix /= np.maximum(headroom_mix.sum(axis=1, keepdims=True), 1e-300)
    cat_probs = spec.seg_array("categories")[seg]
    spend_mix = cat_probs / cat_probs.sum(axis=1, keepdims=True)
    wallet_by_category = (
        expected_annual_spend[:, None] * spend_mix
        + (wallet - expected_annual_spend)[:, None] * headroom_mix
    )
    log_w = np.log(np.maximum(wallet, 1e-9))
    z = (log_w - np.median(log_w)) / max(float(np.std(log_w)), 1e-9)
    z = z + rng.normal(0.0, settings["demographic_wallet_noise"], size=n)
    return {
        "expected_order_value": expected_order_value,
        "expected_annual_spend": expected_annual_spend,
        "share_of_wallet": share_of_wallet,
        "wallet": wallet,
        "wallet_by_category": wallet_by_category,
        "age": _choice_logits(rng, np.outer(z, settings["age_band_wallet_slopes"])),
        "region": _choice_logits(rng, np.outer(z, settings["region_wallet_slopes"])),
    }


def _dates_in_life(
    rng: np.random.Generator,
    pop: _Population,
    active_end: np.ndarray,
    who: np.ndarray,
    power: float | np.ndarray = 1.0,
) -> np.ndarray:
    """Draw a day between each customer's acquisition and the end of their active life.

    The position in the active life is ``U ** power``: uniform for 1, later for powers below 1.
    """
    lo = pop.acq_day[who]
    position = rng.random(len(who)) ** power
    return lo + np.floor(position * (active_end[who] - lo + 1)).astype(np.int64)


def _simulate_surveys(
    rng: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    active_end: np.ndarray,
    n_obs_orders: np.ndarray,
    ids: np.ndarray,
) -> pd.DataFrame:
    """NPS answers: who answers (more of the active customers), when, score and comment."""
    n, settings = spec.n, spec.settings
    # Surveys follow purchases, so active customers answer more often (non-response bias):
    # logit P(respond) = logit(rate) + slope * (log(1 + orders) - its mean).
    activity = np.log1p(n_obs_orders)
    rate = float(np.clip(settings["survey_response_rate"], 0.0, 1.0))
    if 0.0 < rate < 1.0:
        slope = settings["survey_activity_slope"]
        p_respond = _expit(_logit(np.array(rate)) + slope * (activity - activity.mean()))
    else:
        p_respond = np.full(n, rate)
    responds = np.flatnonzero(rng.random(n) < p_respond)
    n_answers = rng.choice(3, size=len(responds), p=settings["survey_answers_probs"]) + 1
    who = np.repeat(responds, n_answers)
    day = _dates_in_life(rng, pop, active_end, who)
    latent_score = (
        settings["survey_intercept"]
        + settings["survey_slope"] * pop.satisfaction[who]
        + rng.normal(0.0, settings["survey_noise"], size=len(who))
    )
    score = np.clip(np.round(latent_score), 0, 10).astype(np.int64)
    has_comment = rng.random(len(who)) < settings["survey_comment_rate"]
    comment = _survey_comments(rng, score, has_comment)
    order = np.lexsort((who, day))
    return pd.DataFrame(
        {
            "customer_id": ids[who[order]],
            "date": _to_dates(day[order]),
            "score": score[order],
            "comment": comment[order],
        }
    )


def _simulate_feedback(
    rng: np.random.Generator,
    rng_text: np.random.Generator,
    spec: _Spec,
    pop: _Population,
    active_end: np.ndarray,
    ids: np.ndarray,
) -> tuple[pd.DataFrame, pd.Series]:
    """Complaint texts (1-2 per complainer, on their theme) and praise from happy customers."""
    n, settings = spec.n, spec.settings
    theme_names = list(spec.themes)
    complainers = np.flatnonzero(pop.theme >= 0)
    n_texts = 1 + (rng.random(len(complainers)) < settings["complaint_two_texts"])
    who_complains = np.repeat(complainers, n_texts)
    p_praise = _expit(settings["praise_intercept"] + settings["praise_slope"] * pop.satisfaction)
    praisers = np.flatnonzero((pop.theme < 0) & (rng.random(n) < p_praise))
    who = np.concatenate([who_complains, praisers])
    theme = np.concatenate([pop.theme[who_complains], np.full(len(praisers), len(theme_names))])
    # Complaints come late in the active life (closer to a dropout), praise at any time.
    power = np.where(theme < len(theme_names), settings["complaint_timing_power"], 1.0)
    day = _dates_in_life(rng, pop, active_end, who, power)
    texts, channel = _feedback_texts(rng_text, theme, theme_names)
    order = np.lexsort((who, day))
    feedback = pd.DataFrame(
        {
            "customer_id": ids[who[order]],
            "date": _to_dates(day[order]),
            "text": texts[order],
            "channel": np.array(_FEEDBACK_CHANNELS, dtype=object)[channel[order]],
        }
    )
    labels = np.array([*theme_names, "positive"], dtype=object)
    return feedback, pd.Series(labels[theme[order]], name="theme")
