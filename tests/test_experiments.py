"""cxlib.experiments: Welch against scipy, CUPED against theory, a simulated campaign with a
known effect, the checks, planning, money, loading and the report's skip of page 05."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxlib
from cxlib import DataError
from cxlib import experiments as ex
from cxlib.data import load_experiments
from cxlib.experiments.measure import _cuped, _holm, _welch

START = pd.Timestamp("2025-03-01")


def simulate_campaign(
    n=6_000,
    *,
    effect=6.0,
    seed=0,
    shares=(0.5, 0.5),
    groups=("control", "coupon"),
    effects=None,
    horizon=60,
):
    """Customers with a lasting spend level; treated ones get an extra order worth `effect` on
    average in the window. Returns transactions, assignments and the realised truth per group."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"k{i:05d}" for i in range(n)])
    # lasting habits (purchases per window, order value) make the pre-period predictive
    level, value = rng.gamma(0.8, 3.0, n), rng.gamma(3.0, 10.0, n)
    group = rng.choice(np.array(groups), size=n, p=np.array(shares) / sum(shares))
    effects = effects or {g: (0.0 if g == "control" else effect) for g in groups}
    rows, extra_by_group = [], {g: 0.0 for g in groups}
    for offset in (-horizon, 0):
        counts = rng.poisson(level)
        who = np.repeat(np.arange(n), counts)
        days = rng.integers(0, horizon, len(who)) + offset
        amount = np.round(rng.gamma(4.0, value[who] / 4.0), 2)
        rows.append(pd.DataFrame({"customer_id": ids[who], "offset": days, "amount": amount}))
    extra_amount = np.zeros(n)
    for g, value in effects.items():
        if value:
            members = np.flatnonzero(group == g)
            responds = members[rng.random(len(members)) < 0.4]
            extra_amount[responds] = rng.exponential(value / 0.4, len(responds))
            extra_by_group[g] = extra_amount[members].sum() / len(members)
    has = extra_amount > 0
    rows.append(
        pd.DataFrame(
            {
                "customer_id": ids[has],
                "offset": rng.integers(0, horizon, has.sum()),
                "amount": extra_amount[has],
            }
        )
    )
    tx = pd.concat(rows, ignore_index=True)
    tx["date"] = START + pd.to_timedelta(tx.pop("offset"), unit="D")
    tx = pd.concat(
        [
            tx,
            pd.DataFrame(
                {
                    "customer_id": ["k00000"],
                    "amount": [1.0],
                    "date": [START + pd.Timedelta(days=horizon)],
                }
            ),
        ]
    )
    assignments = pd.DataFrame(
        {"customer_id": ids, "group": group, "experiment": "spring", "start": START}
    )
    return tx.reset_index(drop=True), assignments, extra_by_group


@pytest.fixture(scope="module")
def campaign():
    return simulate_campaign()


# --- the statistics against references ---------------------------------------------------------


def test_the_plain_difference_is_welchs_t_test_as_scipy_computes_it():
    rng = np.random.default_rng(3)
    treated, control = rng.gamma(2, 30, 300) + 5, rng.gamma(2, 30, 500)
    ours = _welch(treated, control, 0.95)
    reference = stats.ttest_ind(treated, control, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert ours["p_value"] == pytest.approx(reference.pvalue, rel=1e-10)
    assert ours["ci_low"] == pytest.approx(interval.low, rel=1e-10)
    assert ours["ci_high"] == pytest.approx(interval.high, rel=1e-10)


def test_measure_without_adjustment_matches_scipy_on_per_customer_revenue(campaign):
    tx, assignments, _ = campaign
    result = ex.measure(tx, assignments, horizon_days=60, adjust=False)
    window = tx[(tx["date"] >= START) & (tx["date"] < START + pd.Timedelta(days=60))]
    revenue = (
        window.groupby("customer_id")["amount"]
        .sum()
        .reindex(assignments["customer_id"], fill_value=0.0)
    )
    is_treated = (assignments["group"] == "coupon").to_numpy()
    reference = stats.ttest_ind(revenue[is_treated], revenue[~is_treated], equal_var=False)
    row = result.loc["revenue"]
    assert row["effect"] == pytest.approx(revenue[is_treated].mean() - revenue[~is_treated].mean())
    assert row["p_value"] == pytest.approx(reference.pvalue, rel=1e-9)
    assert row["ci_low"] == pytest.approx(reference.confidence_interval().low, rel=1e-9)
    bought = window[window["amount"] > 0]["customer_id"].unique()
    assert row["n_treatment"] == is_treated.sum()
    assert result.loc["retention", "treatment"] == pytest.approx(
        assignments.loc[is_treated, "customer_id"].isin(bought).mean()
    )


def test_cuped_cuts_the_variance_by_the_squared_correlation_as_theory_says():
    rng = np.random.default_rng(11)
    for rho in (0.3, 0.6, 0.9):
        x = rng.normal(size=40_000)
        y = 5 + 2 * (rho * x + np.sqrt(1 - rho**2) * rng.normal(size=40_000))
        adjusted, theta = _cuped(y, x)
        assert theta == pytest.approx(2 * rho, abs=0.02)
        assert np.var(adjusted) / np.var(y) == pytest.approx(1 - rho**2, abs=0.01)
        assert adjusted.mean() == pytest.approx(y.mean())  # the adjustment moves no mean


def test_adjusted_and_plain_intervals_both_cover_the_truth_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    n, reps, effect = 200, 600, 0.3
    covered = {"plain": 0, "cuped": 0}
    for _ in range(reps):
        x = rng.normal(size=2 * n)
        y = 0.8 * x + 0.6 * rng.normal(size=2 * n)
        treated = np.arange(2 * n) < n
        y[treated] += effect
        for name, values in (("plain", y), ("cuped", _cuped(y, x)[0])):
            test = _welch(values[treated], values[~treated], 0.95)
            covered[name] += test["ci_low"] <= effect <= test["ci_high"]
    for name, hits in covered.items():  # 600 draws: 95% +- 2.7 points at 3 standard errors
        assert 0.92 <= hits / reps <= 0.98, name


def test_holm_adjusts_like_the_step_down_definition():
    # sorted 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> max(0.06, 0.04)
    assert _holm([0.01, 0.04, 0.03, 0.005]).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert _holm([0.5]).tolist() == [0.5]


# --- the simulated campaign with a known effect ------------------------------------------------


def test_on_a_campaign_with_a_known_effect_the_interval_covers_it_and_cuped_is_narrower(campaign):
    tx, assignments, truth = campaign
    adjusted = ex.measure(tx, assignments, horizon_days=60)
    plain = ex.measure(tx, assignments, horizon_days=60, adjust=False)
    row, plain_row = adjusted.loc["revenue"], plain.loc["revenue"]
    assert row["ci_low"] <= truth["coupon"] <= row["ci_high"]
    assert plain_row["ci_low"] <= truth["coupon"] <= plain_row["ci_high"]
    width, plain_width = row["ci_high"] - row["ci_low"], plain_row["ci_high"] - plain_row["ci_low"]
    assert width < 0.85 * plain_width
    # the narrowing is what the variance reduction predicts: width ratio = sqrt(1 - reduction)
    assert width / plain_width == pytest.approx(np.sqrt(1 - row["variance_reduction"]), abs=0.03)
    assert row["significant"] and row["adjusted"] and not plain_row["adjusted"]
    assert "CUPED" in adjusted.attrs["method"] and "60 days before" in adjusted.attrs["method"]
    assert "no covariate adjustment" in plain.attrs["method"]


def test_several_treatments_are_each_compared_with_the_control_and_holm_corrected():
    tx, assignments, truth = simulate_campaign(
        n=6_000,
        groups=("control", "sms", "call"),
        shares=(1, 1, 1),
        effects={"control": 0.0, "sms": 0.0, "call": 8.0},
        seed=2,
    )
    result = ex.measure(tx, assignments, horizon_days=60)
    revenue = result.loc["revenue"].set_index("group")
    assert sorted(revenue.index) == ["call", "sms"]
    assert revenue.loc["call", "ci_low"] <= truth["call"] <= revenue.loc["call", "ci_high"]
    assert revenue.loc["call", "significant"]
    expected = _holm(revenue["p_value_unadjusted"].to_numpy())
    assert revenue["p_value"].to_numpy() == pytest.approx(expected)
    assert (revenue["p_value"] >= revenue["p_value_unadjusted"]).all()
    assert "Holm" in result.attrs["method"]


def test_the_sample_ratio_check_flags_a_broken_split_and_uses_the_planned_allocation(campaign):
    tx, assignments, _ = campaign
    lopsided = assignments[
        (assignments["group"] == "control") | (assignments.index % 3 == 0)
    ]  # drops two thirds of the coupon group
    checks = ex.experiment_checks(ex.measure(tx, lopsided, horizon_days=60))
    srm = checks[checks["check"] == "sample ratio"].iloc[0]
    counts = lopsided["group"].value_counts()
    assert srm["p_value"] == pytest.approx(stats.chisquare(counts.to_numpy()).pvalue)
    assert not srm["ok"]
    planned = {"control": counts["control"], "coupon": counts["coupon"]}
    replanned = ex.experiment_checks(ex.measure(tx, lopsided, horizon_days=60, allocation=planned))
    assert replanned.iloc[0]["ok"]


def test_the_pre_period_check_flags_groups_that_differed_before_the_start(campaign):
    tx, assignments, _ = campaign
    before = tx[tx["date"] < START].groupby("customer_id")["amount"].sum()
    big = assignments["customer_id"].map(before).fillna(0) > before.median()
    rigged = assignments.assign(group=np.where(big, "coupon", "control"))
    checks = ex.experiment_checks(ex.measure(tx, rigged, horizon_days=60))
    balance = checks[(checks["check"] == "pre-period balance") & (checks["metric"] == "revenue")]
    assert not balance.iloc[0]["ok"] and balance.iloc[0]["statistic"] > 0.5
    fair = ex.experiment_checks(ex.measure(tx, assignments, horizon_days=60))
    assert fair["ok"].all()


def test_survey_metrics_compare_scores_and_nps_of_answers_given_in_the_window(campaign):
    tx, assignments, _ = campaign
    ids = assignments["customer_id"].to_numpy()[:400]
    rng = np.random.default_rng(4)
    surveys = pd.DataFrame(
        {
            "customer_id": ids,
            "score": rng.integers(0, 11, 400),
            "date": START + pd.to_timedelta(rng.integers(-30, 59, 400), unit="D"),
        }
    )
    result = ex.measure(tx, assignments, horizon_days=60, surveys=surveys)
    assert set(result.index) == {"revenue", "retention", "score", "nps"}
    answered = surveys[surveys["date"] >= START].merge(assignments, on="customer_id")
    for group in ("control", "coupon"):
        scores = answered.loc[answered["group"] == group, "score"]
        column = "control" if group == "control" else "treatment"
        assert result.loc["nps", column] == pytest.approx(cxlib.nps.nps(scores).score)
        assert result.loc["score", column] == pytest.approx(scores.mean())
    assert not result.loc["nps", "adjusted"]


def test_measure_refuses_a_horizon_past_the_data_and_tables_without_a_control(campaign):
    tx, assignments, _ = campaign
    with pytest.raises(DataError, match="runs past the data end"):
        ex.measure(tx, assignments, horizon_days=90)
    with pytest.raises(DataError, match="need a 'control' group"):
        ex.measure(tx, assignments.assign(group="coupon"), horizon_days=60)
    two = pd.concat([assignments, assignments.assign(experiment="autumn")])
    with pytest.raises(ValueError, match="must be the name of one experiment"):
        ex.measure(tx, two, horizon_days=60)
    assert len(ex.measure(tx, two, horizon_days=60, experiment="autumn")) == 2
    with pytest.raises(ValueError, match="'metrics' parameter"):
        ex.measure(tx, assignments, horizon_days=60, metrics=("nps",))


def test_cumulative_revenue_adds_up_to_each_groups_revenue_per_customer(campaign):
    tx, assignments, _ = campaign
    curve = ex.cumulative_revenue(tx, assignments, horizon_days=60)
    assert list(curve.columns) == ["control", "coupon"] and curve.index[0] == -60
    window = tx[
        (tx["date"] >= START - pd.Timedelta(days=60)) & (tx["date"] < START + pd.Timedelta(days=60))
    ]
    joined = window.merge(assignments, on="customer_id")
    per_customer = joined.groupby("group")["amount"].sum() / assignments["group"].value_counts()
    assert curve.iloc[-1].to_numpy() == pytest.approx(per_customer[curve.columns].to_numpy())


# --- planning and money ------------------------------------------------------------------------


def test_plan_gives_the_textbook_sample_size_and_its_power_holds_in_simulation(campaign):
    tx, _, _ = campaign
    table = ex.plan(tx, as_of=START + pd.Timedelta(days=60), horizon_days=60, target_effect=0.1)
    row = table.loc["revenue"]
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert row["n_needed_plain"] == int(
        np.ceil(2 * z**2 * row["sd"] ** 2 / row["target_effect"] ** 2)
    )
    assert row["mde_adjusted"] == pytest.approx(
        row["mde_plain"] * np.sqrt(1 - row["correlation"] ** 2)
    )
    assert row["n_needed_adjusted"] < row["n_needed_plain"]
    # power: with n_needed_plain per group a two-sided 5% test finds the target effect ~80% of
    # the time (normal outcomes with the client's sd; 4,000 simulated tests)
    rng = np.random.default_rng(9)
    n = int(row["n_needed_plain"])
    se = row["sd"] * np.sqrt(2 / n)
    estimates = rng.normal(row["target_effect"], se, 4_000)
    assert (np.abs(estimates / se) > stats.norm.ppf(0.975)).mean() == pytest.approx(0.8, abs=0.03)


def test_rollout_money_is_effect_times_customers_times_margin_and_only_significant_invests():
    result = pd.DataFrame(
        {
            "group": ["a", "b", "a", "b"],
            "effect": [10.0, 2.0, 0.05, 0.0],
            "ci_low": [4.0, -1.0, 0.01, -0.02],
            "ci_high": [16.0, 5.0, 0.09, 0.02],
            "p_value": [0.002, 0.3, 0.01, 0.9],
            "significant": [True, False, True, False],
            "adjusted": True,
        },
        index=pd.Index(["revenue", "revenue", "retention", "retention"], name="metric"),
    )
    result.attrs.update(horizon_days=90, checks=[{"ok": True}])
    money = ex.rollout_value(result, customers=2_000, margin=0.25, campaigns_per_year=2)
    assert money.loc["a", "margin_per_year"] == pytest.approx(10.0 * 2_000 * 2 * 0.25)
    assert money.loc["a", "margin_low"] == pytest.approx(4.0 * 2_000 * 2 * 0.25)
    assert "25% of revenue" in money.loc["a", "basis"]
    headlines = ex.experiment_headlines(result, money, experiment="t", currency="EUR")
    keys = [h.key for h in headlines]
    assert "invest_a_rollout" in keys and not any(k.startswith("invest_b") for k in keys)
    verdict = next(h.value for h in headlines if h.key == "experiment_verdict")
    assert "a pays" in verdict and "EUR 10,000" in verdict and "b: no measurable" in verdict
    # net of a cost of 6 per treated customer a campaign: 10,000 - 6 x 2,000 x 2 = -14,000
    costly = ex.rollout_value(result, customers=2_000, margin=0.25, campaigns_per_year=2,
                              cost_per_treated=6.0, revenue="before_discount")  # fmt: skip
    assert costly.loc["a", "margin_per_year"] == pytest.approx(10_000.0 - 24_000.0)
    assert costly.loc["a", "cost_per_year"] == 24_000.0
    assert "before the discount, which is in the cost" in costly.loc["a", "basis"]
    headlines = ex.experiment_headlines(result, costly, experiment="t", currency="EUR")
    assert not any(h.key.startswith("invest_") for h in headlines)  # does not pay: no invest
    verdict = next(h.value for h in headlines if h.key == "experiment_verdict")
    assert "a raises revenue" in verdict and "does not pay for itself" in verdict
    assert "EUR 24,000" in verdict
    with pytest.raises(DataError, match="cost_per_treated"):
        ex.rollout_value(result, customers=10, margin=0.25, cost_per_treated=-1.0)


def test_the_config_gives_each_experiment_its_cost_and_refuses_a_discount_without_one():
    from pydantic import ValidationError

    from cxlib.settings.config import AnalysisConfig

    analysis = AnalysisConfig(
        experiment_costs={"q3": {"cost_per_treated": 2.6, "revenue": "before_discount"}}
    )
    assert ex.experiment_cost(analysis, "q3").cost_per_treated == 2.6
    assert ex.experiment_cost(analysis, "other").cost_per_treated == 0.0  # no cost given
    for bad in ({"revenue": "before_discount"}, {"cost_per_treated": "2.6"},
                {"cost_per_treated": -1.0}, {"cost": 1.0}):  # fmt: skip
        with pytest.raises(ValidationError):
            AnalysisConfig(experiment_costs={"q3": bad})


# --- loading and validating the table ----------------------------------------------------------


def _csv(tmp_path, text):
    path = tmp_path / "experiments.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_experiments_maps_columns_parses_dates_and_names_a_single_experiment(tmp_path):
    path = _csv(tmp_path, "cust;arm;begin\nA;control;01/09/2025\nB;sms;01/09/2025\n")
    table = load_experiments(
        path,
        columns={"customer_id": "cust", "group": "arm", "start": "begin"},
        date_format="%d/%m/%Y",
    )
    assert table.columns.tolist() == ["customer_id", "group", "start", "experiment"]
    assert table["start"].tolist() == [pd.Timestamp("2025-09-01")] * 2
    assert table.attrs["quality"][0]["rows_kept"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "customer_id,group,start\nA,control,2025-09-01\nB,Control,2025-09-01\n",
            r"unknown group .*row 3: 'Control'",
        ),
        (
            "customer_id,group,start\nA,control,2025-09-01\nA,sms,2025-09-01\nB,sms,2025-09-01\n",
            r"in two groups of one experiment.*row 2: .*row 3: ",
        ),
        (
            "customer_id,group,start\nA,sms,2025-09-01\nB,email,2025-09-01\n",
            r"needs a 'control' group",
        ),
        (
            "customer_id,group,start\nA,control,2025-09-01\nB,sms,2026-02-01\n",
            r"start after the data end \(2025-12-31\): row 3: '2026-02-01'",
        ),
    ],
)
def test_load_experiments_refuses_bad_assignments_naming_the_rows(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_experiments(_csv(tmp_path, text), data_end="2025-12-31")


def test_a_client_config_with_an_experiments_table_loads_it_and_checks_it_against_the_data(
    tmp_path,
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "tx.csv").write_text("customer_id,date,amount\nA,2025-01-05,10\nB,2025-02-01,4\n")
    (data / "exp.csv").write_text(
        "customer_id,group,start\nA,control,2025-01-10\nB,sms,2025-01-10\n"
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        "client: c\ndata_dir: data\ntables:\n  experiments: {path: exp.csv}\n"
        "  transactions: {path: tx.csv}\n"
    )
    client = cxlib.open_client(config, cache=False)
    assert client.experiments["group"].tolist() == ["control", "sms"]
    assert set(client.quality["table"]) == {"transactions", "experiments"}
    (data / "exp.csv").write_text(
        "customer_id,group,start\nA,control,2025-03-10\nB,sms,2025-01-10\n"
    )
    with pytest.raises(DataError, match=r"exp.csv.*after the data end .*row 2: '2025-03-10'"):
        cxlib.run.loading.load_client(config)
    (data / "exp.csv").write_text(
        "customer_id,group,start\nA,control,2025-01-10\nB,sms,2025-01-10\n"
    )
    costs = "analysis:\n  experiment_costs:\n    experimnet: {cost_per_treated: 1.5}\n"
    config.write_text(config.read_text() + costs)  # a misspelt experiment name
    with pytest.raises(DataError, match=r"experiment_costs: 'experimnet' is not an experiment"):
        cxlib.run.loading.load_client(config)
    config.write_text(config.read_text().replace("experimnet", "experiment"))
    loaded = cxlib.run.loading.load_client(config).config.analysis
    assert ex.experiment_cost(loaded, "experiment").cost_per_treated == 1.5


# --- the demo's seeded experiment --------------------------------------------------------------


def test_the_demo_experiment_interval_covers_its_known_revenue_effect():
    demo = cxlib.demo.make_demo()
    truth = demo.truth.params["experiment"]
    start, horizon = ex.experiment_window(
        demo.experiments, data_end=demo.transactions["date"].max()
    )
    assert (start, horizon) == (pd.Timestamp(truth["start"]), truth["duration_days"])
    result = ex.measure(demo.transactions, demo.experiments, horizon_days=horizon)
    row = result.loc["revenue"]
    assert row["ci_low"] <= truth["revenue_effect"]["coupon"] <= row["ci_high"]
    assert row["significant"]
    assert result.attrs["groups"] == truth["n_assigned"]
    assert ex.experiment_checks(result)["ok"].all()


# --- plots and the report ----------------------------------------------------------------------


def test_the_plots_draw_one_interval_per_treatment_and_one_line_per_group(campaign):
    tx, assignments, _ = campaign
    result = ex.measure(tx, assignments, horizon_days=60)
    plain = ex.measure(tx, assignments, horizon_days=60, adjust=False)
    ax = cxlib.plots.plot_effect_intervals(result, compare=plain)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["coupon"]
    assert len(ax.containers) == 2  # adjusted and plain error bars
    curve = ex.cumulative_revenue(tx, assignments, horizon_days=60)
    ax = cxlib.plots.plot_cumulative_revenue(curve)
    assert [line.get_label() for line in ax.get_lines()][:2] == ["control", "coupon"]


def test_the_runner_skips_a_notebook_whose_client_lacks_a_required_table(tmp_path):
    import nbformat

    from tests.test_report import write_client, write_notebook

    config = write_client(tmp_path)
    notebook = write_notebook(
        tmp_path / "nb" / "05_needs.ipynb",
        [("code", "raise ValueError")],
        parameters='config_path = "x"\nheadlines_path = None',
    )
    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata["cxlib"] = {"requires": ["experiments"]}
    nbformat.write(nb, str(notebook))
    run = cxlib.report.build_report(
        config, out=tmp_path / "out", notebooks_dir=notebook.parent, progress=False
    )
    [page] = run.notebooks
    assert (page.status, page.reason) == ("skipped", "no experiments table")
    assert run.ok and run.status == "complete" and not run.failures
    index = (run.run_dir / "index.html").read_text()
    assert "SKIPPED" in index and "Skipped: no experiments table" in index
