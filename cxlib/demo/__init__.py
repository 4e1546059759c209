"""A seeded, realistic demo client generated from explicit behavioural mechanisms.

:func:`make_demo` simulates a retailer's customers over three observed years
(2023-01-01 .. 2025-12-31) and a six-month holdout (2026-01-01 .. 2026-06-30) that is kept out
of the observed data and returned, with every latent quantity, in ``.truth``.

The mechanisms, in the order they are simulated:

1. **Segments.** Each customer belongs to one of five latent segments (:data:`DEFAULT_SEGMENTS`)
   that differ in purchase rate, dropout, order value, categories, channels, satisfaction,
   share of wallet and acquisition channel.
2. **Acquisition.** Customers arrive over the three years, more early than late; their first
   purchase is on the acquisition day. Acquisition cost depends on the channel, with noise.
3. **Satisfaction.** A latent, roughly standard-normal score per customer with a segment mean.
   It raises the purchase rate and order value a little, and lowers the dropout probability
   with a *segment-dependent* slope (weak for the most valuable segment).
4. **Complaints.** The lower the satisfaction, the likelier a customer complains; each complaint
   theme (:data:`DEFAULT_THEMES`) raises dropout by its own amount. Complainers write one or
   two feedback texts on their theme, late in their active life; satisfied customers
   sometimes write praise.
5. **Purchasing (BG/NBD).** Weekly rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase
   the customer drops out with probability ``p`` (``logit p = logit(Beta(a, b)) - slope *
   satisfaction + theme effect``). At most one order per day.
6. **Spend (Gamma-Gamma).** ``nu ~ Gamma(q, v)`` per customer, order value ``~ Gamma(p, nu)``,
   times ``exp(spend_slope * satisfaction)``. About 3% of orders are refunded (fully or partly)
   a few days later, as a negative-amount row with the same ``order_id``.
7. **Surveys.** About 25% of customers answer 1-3 NPS surveys during their active life (the
   more they bought, the likelier they answer: non-response bias); the score is a noisy
   monotone function of satisfaction, sometimes with a short comment.
8. **Wallet.** Each customer's share of wallet is Beta-distributed (segment mean, raised by
   satisfaction); the wallet is the expected annual spend divided by that share, so the truth
   is consistent with the simulated purchases. The wallet is split by category (spend in the
   segment's category mix plus headroom in the market's mix). Age band and region depend on
   the wallet, so a wallet model has something to learn from.

The segments at a glance (defaults; weekly rate mean ``r/alpha``, dropout mean ``a/(a+b)``
before the satisfaction and complaint effects, mean order value ``p v/(q-1)``, satisfaction
mean, and its slope on the logit of dropout):

==================  =====  ========  ========  ==========  ============  ===============
segment             share  rate/wk   dropout   order val   satisfaction  dropout slope
==================  =====  ========  ========  ==========  ============  ===============
Premium loyalists   0.12   0.24      0.05      110         +0.15         0.1 (weak)
Bargain regulars    0.26   0.32      0.09      20          -0.15         0.7
Occasional gifters  0.20   0.06      0.11      67          +0.85         0.5
Digital newcomers   0.22   0.12      0.13      35          +0.10         0.9
Lapsing mainstream  0.20   0.15      0.26      40          -0.55         0.5
==================  =====  ========  ========  ==========  ============  ===============

Premium loyalists carry about half of the revenue, yet the Occasional gifters have the highest
NPS. ``truth.params["pooled"]`` gives the single-population BG/NBD and Gamma-Gamma parameters
closest to the latent values (what one model fitted to all customers should find). A customer
leaves right after their last purchase (BG/NBD), so ``dropout_date`` is that purchase's day.

Examples
--------
>>> demo = make_demo(n_customers=500, seed=1)
>>> sorted(demo.transactions.columns)
['amount', 'category', 'channel', 'customer_id', 'date', 'order_id']
>>> bool((demo.truth.future_transactions["date"] >= demo.truth.holdout_start).all())
True

The package's modules: :mod:`._settings` (calendar, names and default parameters),
:mod:`._make` (:func:`make_demo`), :mod:`._simulate` (the simulation stages), :mod:`._text`
(comments and feedback texts), :mod:`._experiment` (the seeded experiment) and :mod:`._data`
(:class:`DemoData`, :class:`DemoTruth`, :func:`read_demo`).
"""

from cxlib.demo._data import DemoData, DemoTruth, read_demo
from cxlib.demo._experiment import DEFAULT_EXPERIMENT
from cxlib.demo._make import make_demo
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

__all__ = [
    "ACQUISITION_CHANNELS",
    "AGE_BANDS",
    "CATEGORIES",
    "CHANNELS",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_SEGMENTS",
    "DEFAULT_SETTINGS",
    "DEFAULT_THEMES",
    "DemoData",
    "DemoTruth",
    "HOLDOUT_END",
    "HOLDOUT_START",
    "OBSERVATION_END",
    "REGIONS",
    "START",
    "make_demo",
    "read_demo",
]
