"""Whom to treat: uplift learned from a test, checked on simulations with known effects.

The generator below is this file's own (not cxlib.demo's): customers of three tiers buy at
their own Poisson rate with lognormal order values before and during a test; a treated customer
of a tier gets that tier's known effect as one extra line (a purchase, or a refund when the
effect is negative) in the window. Each customer's true effect is therefore known exactly, and
so is the true net value of any policy: ``sum over treated of (margin x effect - cost)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from cxlib import DataError
from cxlib.experiments import target
from cxlib.experiments._uplift import TLearner, XLearner, qini_area, uplift_curve

START = pd.Timestamp("2025-06-01")
HORIZON = 60
MARGIN, COST = 0.3, 3.0


def simulate_test(effects: dict[str, float], *, n: int = 6_000, seed: int = 0):
    """Transactions, assignments, customers and each customer's true effect."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"S{i:05d}" for i in range(n)])
    tier = rng.choice(list(effects), n)
    rate = rng.gamma(2.0, 1 / 60, n)  # purchases a day: one a month on average
    value = rng.lognormal(3.5, 0.5, n)  # the customer's usual order, about 37
    rows = []
    for first, days in ((-365, 365), (0, HORIZON)):
        counts = rng.poisson(rate * days)
        who = np.repeat(np.arange(n), counts)
        day = rng.integers(first, first + days, len(who))
        rows.append(
            pd.DataFrame(
                {
                    "customer_id": ids[who],
                    "date": START + pd.to_timedelta(day, "D"),
                    "amount": (value[who] * rng.lognormal(0, 0.3, len(who))).round(2),
                }
            )
        )
    treated = rng.random(n) < 0.5
    tau = np.array([effects[t] for t in tier])
    extra = treated & (tau != 0)
    rows.append(
        pd.DataFrame(
            {
                "customer_id": ids[extra],
                "date": START + pd.to_timedelta(rng.integers(0, HORIZON, extra.sum()), "D"),
                "amount": tau[extra],
            }
        )
    )
    transactions = pd.concat(rows, ignore_index=True).sort_values(["customer_id", "date"])
    assignments = pd.DataFrame(
        {"customer_id": ids, "group": np.where(treated, "offer", "control"), "start": START}
    )
    customers = pd.DataFrame({"customer_id": ids, "tier": tier})
    truth = pd.Series(tau, index=pd.Index(ids, name="customer_id"), name="effect")
    return transactions.reset_index(drop=True), assignments, customers, truth


def _run(effects, *, seed=0, n=6_000):
    tx, assignments, customers, truth = simulate_test(effects, n=n, seed=seed)
    result = target(
        tx, assignments, horizon_days=HORIZON, customers=customers, margin=MARGIN,
        cost_per_treated=COST, seed=seed, unit="EUR",
    )  # fmt: skip
    return result, truth


def _true_value(treat: pd.Series, truth: pd.Series) -> float:
    return float(((MARGIN * truth - COST) * treat.reindex(truth.index).astype(float)).sum())


@pytest.fixture(scope="module")
def mixed():
    """Positive for gold, zero for silver, negative for bronze."""
    return _run({"gold": 40.0, "silver": 0.0, "bronze": -20.0})


def test_the_policy_is_worth_most_of_the_oracle_and_more_than_treating_everyone(mixed):
    result, truth = mixed
    oracle = float((MARGIN * truth - COST).clip(lower=0).sum())  # treat exactly who pays
    everyone = float((MARGIN * truth - COST).sum())
    policy = _true_value(result.treat, truth)
    assert result.policy == "targeted" and result.targeting_adds_value
    assert policy >= 0.85 * oracle, (policy, oracle)
    assert policy - max(everyone, 0.0) > 0.5 * oracle  # clearly more than the simple policies
    # the stated interval covers the policy's true value on these customers
    assert result.value_low <= policy <= result.value_high
    assert result.value == result.targeted and result.gain_low > 0
    # and the estimate of treating everyone covers its truth too
    assert result.everyone_low <= everyone <= result.everyone_high


def test_scores_are_out_of_fold_per_customer_and_rank_the_tiers(mixed):
    result, truth = mixed
    assert result.scores.index.equals(truth.index)
    assert result.scores["uplift"].notna().all()
    by_tier = (
        result.scores["uplift"]
        .groupby(truth.map({40.0: "gold", 0.0: "silver", -20.0: "bronze"}))
        .mean()
    )
    assert by_tier["gold"] > by_tier["silver"] > by_tier["bronze"]
    assert (result.treat == (MARGIN * result.scores["uplift"] > COST)).all()
    # the learners were compared on the same out-of-fold footing and the choice says why
    assert list(result.learners.index) == sorted(
        result.learners.index, key=lambda k: -result.learners.loc[k, "qini_area"]
    )
    assert result.learner == result.learners.index[0] and result.learner in result.choice
    assert "Treat" in result.verdict and "not all" in result.verdict


def test_the_qini_curve_beats_random_and_ends_at_treating_everyone(mixed):
    result, _ = mixed
    qini = result.qini
    assert qini["customers"].iloc[0] == 0 and qini["customers"].iloc[-1] == len(result.scores)
    assert qini["uplift"].iloc[-1] == pytest.approx(qini["random"].iloc[-1])
    assert qini["net_value"].iloc[-1] == pytest.approx(result.everyone)
    assert qini.attrs["area_low"] > 0  # ranking by the scores beats random picks
    treated = int(result.treat.sum())
    assert qini["net_value"].iloc[treated] == pytest.approx(result.value)


def test_a_homogeneous_effect_recommends_everyone_and_says_targeting_adds_nothing():
    result, truth = _run({"gold": 25.0, "silver": 25.0, "bronze": 25.0}, seed=3)
    assert result.policy == "everyone" and not result.targeting_adds_value
    assert result.treat.all()
    assert "targeting adds nothing" in result.verdict
    everyone = float((MARGIN * truth - COST).sum())
    assert result.value_low <= everyone <= result.value_high
    assert result.gain_low <= 0  # ranking by the scores is not measurably better


def test_same_data_and_seed_same_numbers_and_the_next_base_is_scored():
    tx, assignments, customers, _ = simulate_test({"a": 30.0, "b": -10.0}, n=1_500, seed=5)
    kwargs = dict(horizon_days=HORIZON, customers=customers, margin=MARGIN,
                  cost_per_treated=COST, seed=1, n_boot=50)  # fmt: skip
    first, again = target(tx, assignments, **kwargs), target(tx, assignments, **kwargs)
    pd.testing.assert_frame_equal(first.scores, again.scores)
    assert (first.value, first.value_low, first.qini.attrs["area"]) == (
        again.value,
        again.value_low,
        again.qini.attrs["area"],
    )
    base = first.score(tx)
    recent = tx[tx["date"] >= tx["date"].max() - pd.Timedelta(days=364)]
    daily = recent.groupby(["customer_id", "date"])["amount"].sum()
    active = daily[daily > 0].index.get_level_values("customer_id")  # bought: a positive day
    assert set(base.index) == set(active) and len(base) > 1_000
    assert (base["treat"] == (MARGIN * base["uplift"] > COST)).all()


def test_bad_input_is_refused_naming_what_is_wrong():
    tx, assignments, customers, _ = simulate_test({"a": 10.0}, n=300, seed=2)
    with pytest.raises(DataError, match="runs past the data"):
        target(tx, assignments, horizon_days=400, margin=MARGIN, cost_per_treated=COST)
    with pytest.raises(DataError, match="cost_per_treated"):
        target(tx, assignments, horizon_days=HORIZON, margin=MARGIN, cost_per_treated=-1.0)
    three = assignments.assign(group=np.resize(["control", "a", "b"], len(assignments)))
    with pytest.raises(DataError, match="name the treatment group"):
        target(tx, three, horizon_days=HORIZON, margin=MARGIN, cost_per_treated=COST)


def test_the_learners_recover_a_known_step_effect_and_the_curve_is_the_sum_of_effects():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2_500, 2))
    w = rng.random(2_500) < 0.5
    tau = np.where(X[:, 0] > 0, 5.0, -5.0)
    y = 10 + 3 * X[:, 1] + w * tau + rng.normal(size=2_500)
    for learner in (TLearner(), XLearner()):
        with threadpool_limits(limits=1, user_api="openmp"):
            predicted = learner.fit(X, y, w).predict(X)
        assert np.corrcoef(predicted, tau)[0, 1] > 0.9
    curve = uplift_curve(tau, tau)  # the oracle ranking: every positive effect first
    assert curve["uplift"].max() == pytest.approx(tau[tau > 0].sum())
    assert qini_area(curve) > 0 > qini_area(uplift_curve(-tau, tau))


def test_who_responds_names_the_tiers_in_the_order_of_their_true_effects(mixed):
    from cxlib.experiments import responders, responders_text

    result, _ = mixed
    groups = responders(result)
    tiers = groups.loc[[g for g in groups.index if g.startswith("tier: ")]]
    assert list(tiers.index) == ["tier: gold", "tier: silver", "tier: bronze"]
    # the test's own measurement in each tier covers its true effect (40, 0, -20)
    for tier, effect in (("gold", 40.0), ("silver", 0.0), ("bronze", -20.0)):
        row = groups.loc[f"tier: {tier}"]
        assert row["ci_low"] <= effect <= row["ci_high"], (tier, row)
    assert {"spend in the 12 months before the test: top quarter"} <= set(groups.index)
    text = responders_text(groups, horizon_days=HORIZON, unit="EUR", k=1)
    assert text.startswith("Respond most: tier: gold (") and "Respond least: tier: bronze (" in text


def test_the_targeted_action_replaces_the_roll_out_and_the_list_holds_ids_and_scores(
    mixed, tmp_path
):
    from cxlib.report.actions import experiment_actions, export_scores

    result, _ = mixed
    rollout = pd.DataFrame(
        {"customers": [100], "margin_per_year": [50.0], "margin_low": [10.0],
         "margin_high": [90.0], "significant": [True], "effect": [2.0]},
        index=pd.Index(["offer"], name="group"),
    )  # fmt: skip
    base = pd.DataFrame(
        {"uplift": [30.0, 20.0, -5.0, 0.0], "treat": [True, True, False, False]},
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )
    (action,) = experiment_actions(rollout, experiment="t", targeting=result, base=base)
    scale = len(base) / len(result.scores)
    assert action.customers == 2 and action.value == pytest.approx(result.value * scale)
    assert (action.value_low, action.value_high) == pytest.approx(
        (result.value_low * scale, result.value_high * scale)
    )
    assert "not all 4" in action.action and "for treating everyone" in action.action
    # without targeting (or when it adds nothing) the roll-out stands
    assert experiment_actions(rollout, experiment="t")[0].value == 50.0
    written = export_scores(base, "next.csv", path=tmp_path / "headlines" / "05.json")
    frame = pd.read_csv(written)
    assert list(frame.columns) == ["customer_id", "uplift"]  # ids and scores only
    assert frame["customer_id"].tolist() == ["a", "b", "c", "d"]
    assert export_scores(base, "next.csv") is None
    with pytest.raises(DataError, match="plain .csv"):
        export_scores(base, "../x.csv", path=tmp_path / "headlines" / "05.json")


def test_the_qini_plot_marks_the_policy_and_treating_everyone(mixed):
    import matplotlib.pyplot as plt

    from cxlib.plots import plot_qini

    result, _ = mixed
    ax = plot_qini(result, currency="EUR")
    labels = [line.get_label() for line in ax.get_lines()]
    picked = f"margin x uplift > cost: treat {int(result.picked.sum()):,} of {len(result.scores):,}"
    assert result.policy == "targeted" and picked + " (recommended)" in labels
    assert "treat everyone" in labels and "picked at random" in labels
    assert result.treat.equals(result.picked.rename("treat"))  # targeted: the scores' own pick
    curve = ax.get_lines()[0].get_ydata()
    assert curve[-1] == pytest.approx(result.everyone) and "EUR" in ax.get_ylabel()
    plt.close(ax.figure)


def test_the_experiment_headlines_carry_whom_to_treat_for_the_summary(mixed):
    from cxlib.experiments import experiment_headlines, rollout_value

    result, _ = mixed
    measured = pd.DataFrame(
        {"group": ["offer"], "effect": [5.0], "ci_low": [1.0], "ci_high": [9.0],
         "p_value": [0.01], "significant": [True], "adjusted": [True]},
        index=pd.Index(["revenue"], name="metric"),
    )  # fmt: skip
    measured.attrs.update(horizon_days=HORIZON, checks=[])
    money = rollout_value(measured, customers=100, margin=MARGIN, cost_per_treated=COST)
    headlines = experiment_headlines(
        measured, money, experiment="t", currency="EUR", targeting=result
    )
    (line,) = [h for h in headlines if h.key == "experiment_targeting"]
    assert line.value == result.verdict and line.unit == "text"
    assert f"Treat {int(result.treat.sum()):,} of the {len(result.scores):,}" in line.value


def test_on_the_demo_the_mean_effect_matches_its_truth_and_big_spenders_respond_most():
    """The demo's coupon adds one order worth the customer's usual order for a quarter of the
    customers still active: the tested customers' mean effect is its known one, and the
    customers who spent most before respond most (and the test's own measurement agrees)."""
    import cxlib
    from cxlib.experiments import responders

    demo = cxlib.demo.make_demo()
    truth = demo.truth.params["experiment"]
    result = target(
        demo.transactions, demo.experiments, horizon_days=truth["duration_days"],
        customers=demo.customers, margin=MARGIN, cost_per_treated=2.6, seed=0,
    )  # fmt: skip
    effect, n = truth["revenue_effect"]["coupon"], len(result.scores)
    se = result.effects.std() / np.sqrt(n)
    assert abs(result.effects.mean() - effect) < 1.96 * se, (result.effects.mean(), effect)
    assert result.everyone == pytest.approx(float((MARGIN * result.effects - 2.6).sum()))
    groups = responders(result)
    spend = groups.loc[[g for g in groups.index if g.startswith("spend in the 12 months")]]
    assert spend.index[0].endswith("top quarter") and spend.index[-1].endswith("bottom quarter")
    top, bottom = spend.iloc[0], spend.iloc[-1]
    assert top["ci_low"] > bottom["ci_high"]  # measured, not only predicted
