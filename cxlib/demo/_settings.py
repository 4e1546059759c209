"""The demo's calendar, category and channel names, and its default segments, themes, settings."""

from __future__ import annotations

from typing import Any

import pandas as pd

START = pd.Timestamp("2023-01-01")
OBSERVATION_END = pd.Timestamp("2025-12-31")
HOLDOUT_START = pd.Timestamp("2026-01-01")
HOLDOUT_END = pd.Timestamp("2026-06-30")
DAYS_PER_WEEK = 7.0
WEEKS_PER_YEAR = 365.25 / 7.0

CATEGORIES = ("groceries", "electronics", "home", "fashion", "beauty", "toys")
CHANNELS = ("store", "online", "app")
ACQUISITION_CHANNELS = ("paid_search", "social", "referral", "store", "affiliate")
REGIONS = ("Capital", "North", "South", "East", "West")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")

#: Latent segments. ``r``/``alpha``: Gamma prior of the weekly purchase rate (shape, rate);
#: ``a``/``b``: Beta prior of the dropout probability; ``p``/``q``/``v``: Gamma-Gamma spend;
#: ``satisfaction_mean``: mean latent satisfaction; ``satisfaction_dropout_slope``: how strongly
#: satisfaction lowers the logit of dropout; ``wallet_share_mean``: mean share of wallet at
#: satisfaction 0; the rest are probabilities over CATEGORIES, CHANNELS, ACQUISITION_CHANNELS.
DEFAULT_SEGMENTS: dict[str, dict[str, Any]] = {
    "Premium loyalists": {
        "share": 0.12,
        "r": 2.2,
        "alpha": 9.0,
        "a": 0.35,
        "b": 7.0,
        "p": 6.0,
        "q": 4.0,
        "v": 55.0,
        "satisfaction_mean": 0.15,
        "satisfaction_dropout_slope": 0.1,
        "wallet_share_mean": 0.55,
        "categories": [0.15, 0.30, 0.25, 0.20, 0.08, 0.02],
        "channels": [0.55, 0.30, 0.15],
        "acquisition_channels": [0.15, 0.05, 0.35, 0.35, 0.10],
    },
    "Bargain regulars": {
        "share": 0.26,
        "r": 1.6,
        "alpha": 5.0,
        "a": 0.6,
        "b": 6.0,
        "p": 4.0,
        "q": 5.0,
        "v": 20.0,
        "satisfaction_mean": -0.15,
        "satisfaction_dropout_slope": 0.7,
        "wallet_share_mean": 0.45,
        "categories": [0.60, 0.03, 0.15, 0.07, 0.10, 0.05],
        "channels": [0.70, 0.15, 0.15],
        "acquisition_channels": [0.20, 0.15, 0.15, 0.40, 0.10],
    },
    "Occasional gifters": {
        "share": 0.20,
        "r": 0.9,
        "alpha": 14.0,
        "a": 0.5,
        "b": 4.0,
        "p": 5.0,
        "q": 4.0,
        "v": 40.0,
        "satisfaction_mean": 0.85,
        "satisfaction_dropout_slope": 0.5,
        "wallet_share_mean": 0.12,
        "categories": [0.03, 0.15, 0.10, 0.17, 0.25, 0.30],
        "channels": [0.40, 0.50, 0.10],
        "acquisition_channels": [0.30, 0.15, 0.25, 0.15, 0.15],
    },
    "Digital newcomers": {
        "share": 0.22,
        "r": 1.1,
        "alpha": 9.0,
        "a": 0.7,
        "b": 4.5,
        "p": 4.0,
        "q": 3.5,
        "v": 22.0,
        "satisfaction_mean": 0.10,
        "satisfaction_dropout_slope": 0.9,
        "wallet_share_mean": 0.25,
        "categories": [0.10, 0.30, 0.08, 0.30, 0.17, 0.05],
        "channels": [0.05, 0.35, 0.60],
        "acquisition_channels": [0.30, 0.45, 0.05, 0.02, 0.18],
    },
    "Lapsing mainstream": {
        "share": 0.20,
        "r": 1.2,
        "alpha": 8.0,
        "a": 1.2,
        "b": 3.5,
        "p": 4.0,
        "q": 3.5,
        "v": 25.0,
        "satisfaction_mean": -0.55,
        "satisfaction_dropout_slope": 0.5,
        "wallet_share_mean": 0.30,
        "categories": [0.35, 0.10, 0.20, 0.20, 0.10, 0.05],
        "channels": [0.50, 0.35, 0.15],
        "acquisition_channels": [0.30, 0.25, 0.10, 0.20, 0.15],
    },
}

#: Complaint themes: ``dropout_effect`` is added to the logit of the dropout probability,
#: ``weight`` is the theme's base probability among complainers, ``refund_rate`` the share
#: of the complainer's orders that are refunded.
DEFAULT_THEMES: dict[str, dict[str, float]] = {
    "late_delivery": {"weight": 0.25, "dropout_effect": 0.5, "refund_rate": 0.04},
    "refund_hassle": {"weight": 0.20, "dropout_effect": 1.4, "refund_rate": 0.08},
    "product_quality": {"weight": 0.25, "dropout_effect": 0.8, "refund_rate": 0.08},
    "app_problems": {"weight": 0.15, "dropout_effect": 0.15, "refund_rate": 0.03},
    "rude_staff": {"weight": 0.15, "dropout_effect": 0.6, "refund_rate": 0.03},
}

#: Everything else the generator uses (recorded in ``truth.params``).
DEFAULT_SETTINGS: dict[str, Any] = {
    "acquisition_beta": [1.0, 1.6],  # acquisition day ~ Beta(1, 1.6) over the observed period
    "acquisition_cost_mean": {
        "paid_search": 42.0,
        "social": 30.0,
        "referral": 18.0,
        "store": 12.0,
        "affiliate": 25.0,
    },
    "acquisition_cost_sigma": 0.35,  # lognormal noise
    "satisfaction_sd": 1.0,
    "satisfaction_rate_slope": 0.15,  # purchase rate *= exp(slope * satisfaction)
    "satisfaction_spend_slope": 0.08,  # order value *= exp(slope * satisfaction)
    "complaint_intercept": -2.2,  # P(complain) = expit(intercept + slope * satisfaction)
    "complaint_slope": -1.0,
    "complaint_two_texts": 0.3,  # share of complainers who write twice
    "complaint_timing_power": 0.5,  # complaint at acquisition + U**power x active life
    "digital_app_theme_boost": 2.5,  # Digital newcomers: app_problems weight multiplier
    "praise_intercept": -3.2,  # P(praise | no complaint) = expit(intercept + slope * sat)
    "praise_slope": 0.9,
    "refund_rate": 0.03,
    "refund_full_share": 0.5,  # else a partial refund of 20-80%
    "refund_delay_days": [1, 14],
    "survey_response_rate": 0.25,  # at average activity
    "survey_activity_slope": 0.4,  # logit(respond) per unit of log(1 + observed orders)
    "survey_answers_probs": [0.6, 0.3, 0.1],  # 1, 2 or 3 answers
    "survey_intercept": 7.2,  # score = round(intercept + slope * sat + N(0, noise)), clipped
    "survey_slope": 1.5,
    "survey_noise": 1.1,
    "survey_comment_rate": 0.4,
    "wallet_share_concentration": 12.0,
    "wallet_share_satisfaction_slope": 0.35,  # logit(share mean) += slope * satisfaction
    "wallet_share_min": 0.02,
    "market_category_mix": {  # how the headroom (wallet - spend) splits across categories
        "groceries": 0.35,
        "electronics": 0.15,
        "home": 0.15,
        "fashion": 0.15,
        "beauty": 0.1,
        "toys": 0.1,
    },
    "market_mix_concentration": 20.0,  # Dirichlet concentration of each customer's headroom mix
    "demographic_wallet_noise": 0.8,
    "age_band_wallet_slopes": [-0.9, -0.3, 0.4, 0.6, 0.1, -0.4],
    "region_wallet_slopes": [0.7, 0.0, -0.2, -0.4, 0.0],
}

_FEEDBACK_CHANNELS = ("email", "app_review", "call_centre", "store", "social_media")
