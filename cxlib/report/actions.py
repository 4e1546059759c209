"""Ranked actions with money attached: what each topic page recommends, on one basis.

A topic page records its recommendations next to its headline numbers::

    cxlib.report.actions.save_actions("02_churn", [action], path=headlines_path)

which writes ``headlines/actions/02_churn.json`` beside ``headlines/02_churn.json`` (a
subfolder, so readers of the headline files never meet an action). Every
action is valued on ONE basis, :data:`BASIS` (the client's ``analysis.margin`` x revenue, per
year, undiscounted, minus what the action costs: contacts, incentives, discounts, a fix), with
an interval, so the executive summary can rank them and the runner can write them to
``actions.json`` in the run folder. An action whose cost is not given is valued at zero cost and
says so in its ``kpi`` text; an action whose cost exceeds its gross value is not recommended.

Examples
--------
>>> action = Action("Retain the top-decile risk list", "Champions", 120, 5_000.0, 2_500.0,
...                 7_500.0, kpi="churn of contacted customers", page="02_churn")
>>> ranked = rank_actions([action])
>>> ranked.loc[0, "action"], float(ranked.loc[0, "value"]), ranked.loc[0, "basis"]
('Retain the top-decile risk list', 5000.0, 'annual gross margin net of campaign cost')
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd

from cxlib.report.pages import action_page
from cxlib.segmentation.plays import BASIS, DEFAULT_SAVE_RATE  # the basis plays share with actions
from cxlib.settings.i18n import gettext as _
from cxlib.settings.i18n import ngettext, number, percent
from cxlib.settings.validation import DataError, validate_columns

__all__ = [
    "ACTIONS_DIR",
    "BASIS",
    "DEFAULT_SAVE_RATE",
    "Action",
    "complaint_action",
    "experiment_actions",
    "export_scores",
    "load_actions",
    "rank_actions",
    "retention_action",
    "rollout_actions",
    "save_actions",
    "to_annual_margin",
]

#: Subfolder of the headlines folder holding each page's actions as ``<page>.json``.
ACTIONS_DIR = "actions"

COLUMNS = ["action", "segment", "customers", "value", "value_low", "value_high", "basis",
           "kpi", "page"]  # fmt: skip


@dataclass(frozen=True)
class Action:
    """One recommendation with the money it is worth a year.

    Parameters
    ----------
    action : str
        What to do, in a sentence.
    segment : str
        The customers it targets (a segment name, a theme, "active customers").
    customers : int
        How many customers it targets.
    value, value_low, value_high : float
        Money a year on ``basis``, with its interval (low <= value <= high).
    basis : str, default :data:`BASIS`
        The money basis; :func:`rank_actions` refuses to mix bases.
    kpi : str
        The number to watch to know whether it works.
    page : str
        The topic page that backs it (notebook name, e.g. ``"02_churn"``).
    """

    action: str
    segment: str
    customers: int
    value: float
    value_low: float
    value_high: float
    basis: str = BASIS
    kpi: str = ""
    page: str = ""

    def __post_init__(self) -> None:
        numbers = (self.value, self.value_low, self.value_high)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in numbers):
            raise DataError(
                f"Action {self.action!r}: value and interval must be finite numbers, got {numbers}"
            )
        if not self.value_low <= self.value <= self.value_high:
            raise DataError(
                f"Action {self.action!r}: the interval {self.value_low:,.2f} to "
                f"{self.value_high:,.2f} does not contain the value {self.value:,.2f}"
            )


def to_annual_margin(revenue_per_year: float, margin: float) -> float:
    """Convert yearly revenue to yearly gross margin (the actions' one basis).

    Examples
    --------
    >>> to_annual_margin(10_000.0, 0.3)
    3000.0
    """
    if not 0 < margin <= 1:
        raise DataError(f"margin must be in (0, 1], got {margin!r}")
    return float(revenue_per_year) * float(margin)


def _main_segment(ids: pd.Index, segments: pd.Series | None) -> str:
    if segments is None or len(ids) == 0:
        return _("active customers")
    counts = segments.reindex(ids).dropna().astype(str).value_counts()
    if counts.empty:
        return _("active customers")
    top, share = counts.index[0], counts.iloc[0] / counts.sum()
    if share >= 0.999:
        return _(str(top))  # an RFM segment's name in the run's language
    return _("mostly %(segment)s (%(share)s)") % {"segment": _(top), "share": percent(share, 0)}


def retention_action(
    scores: pd.DataFrame,
    *,
    margin: float,
    segments: pd.Series | None = None,
    top_share: float = 0.10,
    save_rate: tuple[float, float, float] = DEFAULT_SAVE_RATE,
    page: str | None = None,
    contact_cost: float = 0.0,
    incentive: float = 0.0,
) -> Action | None:
    """Value a retention campaign on the top of the ranked churn list, net of its cost.

    ``value = revenue at risk of the targeted customers x margin x save rate - contact_cost x
    contacted - incentive x saved``, where the targeted customers are the ``top_share`` of the
    list with the most revenue at risk, the save rate is an assumption (default 20%, interval
    10% to 30%) and the saved customers are ``sum(churn_probability) x save rate`` (the
    contacted customers who would have left and stay). The interval takes the save rate's ends
    (its low and high are the lower and higher of the two). None (nothing to recommend) when
    the campaign's value is not above zero.

    Parameters
    ----------
    scores : DataFrame
        The ranked list (:meth:`cxlib.churn.ChurnModelResult.score`): ``customer_id``,
        ``revenue_at_risk`` (yearly revenue x churn probability), and ``churn_probability``
        when ``incentive`` is given.
    margin : float
        The client's gross margin (``analysis.margin``).
    segments : Series, optional
        Segment per ``customer_id``, to name the customers targeted.
    top_share : float, default 0.10
        Share of the list contacted.
    save_rate : (float, float, float)
        Assumed save rate and its low and high ends.
    page : str, optional
        The page it is filed under; default the manifest's page of ``"retention"`` actions
        (:func:`cxlib.report.pages.action_page`).
    contact_cost : float, default 0 (no cost given)
        Cost of contacting one customer (``analysis.retention_contact_cost``).
    incentive : float, default 0 (no cost given)
        Cost of the incentive per saved customer (``analysis.retention_incentive``).

    Examples
    --------
    >>> scores = pd.DataFrame({"customer_id": list("abcdefghij"),
    ...                        "revenue_at_risk": [1000.0] + [10.0] * 9})
    >>> action = retention_action(scores, margin=0.5)
    >>> action.customers, action.value, action.value_low, action.value_high
    (1, 100.0, 50.0, 150.0)
    >>> retention_action(scores, margin=0.5, contact_cost=30.0).value
    70.0
    """
    validate_columns(scores, ["customer_id", "revenue_at_risk"], caller="retention_action")
    if incentive:
        validate_columns(scores, ["churn_probability"], caller="retention_action")
    rate, low, high = save_rate
    if not 0 <= low <= rate <= high <= 1:
        raise DataError(
            f"save_rate must be (rate, low, high) with 0 <= low <= rate <= high <= 1, "
            f"got {save_rate!r}"
        )
    if not 0 < top_share <= 1:
        raise DataError(f"top_share must be in (0, 1], got {top_share!r}")
    if (
        not (math.isfinite(contact_cost) and math.isfinite(incentive))
        or min(contact_cost, incentive) < 0
    ):
        raise DataError(
            f"retention_action: contact_cost and incentive must be finite and >= 0, got "
            f"{contact_cost!r}, {incentive!r}"
        )
    n = max(1, math.ceil(top_share * len(scores))) if len(scores) else 0
    top = scores.nlargest(n, "revenue_at_risk") if n else scores
    at_risk = to_annual_margin(top["revenue_at_risk"].sum(), margin)
    leaving = float(top["churn_probability"].sum()) if incentive else 0.0
    value, *ends = (at_risk * r - contact_cost * n - incentive * leaving * r for r in save_rate)
    if value <= 0:
        return None
    costs = (
        (
            _("contact cost %(cost)s per customer") % {"cost": number(contact_cost, ",.2f")}
            if contact_cost
            else _("no contact cost given")
        )
        + ", "
        + (
            _("incentive %(cost)s per saved customer") % {"cost": number(incentive, ",.2f")}
            if incentive
            else _("no incentive given")
        )
    )
    shares = {"top": percent(top_share, 0), "rate": percent(rate, 0), "low": percent(low, 0)}
    return Action(
        _(
            "Contact the %(top)s of active customers with most revenue at risk (assumed save "
            "rate %(rate)s, range %(low)s to %(high)s; %(costs)s)"
        ) % {**shares, "high": percent(high, 0), "costs": costs},
        _main_segment(pd.Index(top["customer_id"]), segments),
        int(n), value, min(value, *ends), max(value, *ends),
        kpi=_("churn rate of contacted vs not-contacted at-risk customers; net of %(costs)s")
        % {"costs": costs},
        page=page or action_page("retention"),
    )  # fmt: skip


def complaint_action(
    impact: pd.DataFrame, *, margin: float, page: str | None = None, fix_cost: float = 0.0
) -> Action | None:
    """Value fixing the complaint theme with most revenue at stake (top row of ``impact``).

    ``impact`` is :func:`cxlib.feedback.theme_impact`'s table (``name``, ``customers``,
    ``revenue_at_stake`` and its ``at_stake_ci_low`` / ``at_stake_ci_high``, yearly revenue);
    the value is that revenue x ``margin`` minus ``fix_cost`` (the fix's yearly cost,
    ``analysis.complaint_fix_cost``; 0: no cost given, and the action says so). None when
    ``impact`` is empty or the fix costs at least what it is worth.

    Examples
    --------
    >>> impact = pd.DataFrame({"name": ["late delivery"], "customers": [40],
    ...     "revenue_at_stake": [2_000.0], "at_stake_ci_low": [500.0],
    ...     "at_stake_ci_high": [4_000.0]})
    >>> complaint_action(impact, margin=0.3).value
    600.0
    >>> complaint_action(impact, margin=0.3, fix_cost=100.0).value
    500.0
    """
    columns = ["name", "customers", "revenue_at_stake", "at_stake_ci_low", "at_stake_ci_high"]
    validate_columns(impact, columns, caller="complaint_action")
    if not math.isfinite(fix_cost) or fix_cost < 0:
        raise DataError(f"complaint_action: fix_cost must be finite and >= 0, got {fix_cost!r}")
    if impact.empty:
        return None
    top = impact.iloc[0]
    value, low, high = (
        to_annual_margin(max(float(top[c]), 0.0), margin) - fix_cost for c in columns[2:]
    )
    if value <= 0:
        return None
    return Action(
        _("Fix what customers complain about most: %(theme)s") % {"theme": top["name"]},
        _("customers raising %(theme)s") % {"theme": top["name"]}, int(top["customers"]),
        value, min(low, value), max(high, value),
        kpi=_("share of detractors raising the theme; churn of those who raise it; net of ")
        + (
            _("fix cost %(cost)s a year") % {"cost": number(fix_cost, ",.2f")}
            if fix_cost
            else _("no fix cost given")
        ),
        page=page or action_page("complaint"),
    )  # fmt: skip


def rollout_actions(
    rollout: pd.DataFrame, *, experiment: str, page: str | None = None
) -> list[Action]:
    """Turn a tested action's roll-out value into actions (significant effects that pay).

    ``rollout`` is :func:`cxlib.experiments.rollout_value`'s table, indexed by group, already
    in yearly gross margin net of the campaign's cost (``margin_per_year``, ``margin_low``,
    ``margin_high``, ``cost_per_year``). A group is recommended when its effect is positive and
    significant and its net value is above zero: an action that costs more than it brings is
    not.

    Examples
    --------
    >>> rollout = pd.DataFrame({"customers": [900], "margin_per_year": [3_000.0],
    ...     "margin_low": [1_000.0], "margin_high": [5_000.0], "significant": [True],
    ...     "effect": [2.0]}, index=pd.Index(["coupon"], name="group"))
    >>> [a.value for a in rollout_actions(rollout, experiment="q3")]
    [3000.0]
    """
    columns = ["customers", "margin_per_year", "margin_low", "margin_high", "significant",
               "effect"]  # fmt: skip
    validate_columns(rollout, columns, caller="rollout_actions")
    costs = rollout["cost_per_year"] if "cost_per_year" in rollout else 0.0 * rollout["effect"]
    out = []
    for group, row in rollout.iterrows():
        if not (bool(row["significant"]) and row["effect"] > 0 and row["margin_per_year"] > 0):
            continue
        cost = float(costs.loc[group])
        out.append(Action(
            _("Roll out %(group)s (tested in %(experiment)s) to every active customer")
            % {"group": group, "experiment": experiment},
            _("active customers"), int(row["customers"]), float(row["margin_per_year"]),
            float(row["margin_low"]), float(row["margin_high"]),
            kpi=_("revenue per customer, %(group)s vs a hold-out control; net of ")
            % {"group": group}
            + (
                _("a campaign cost of %(cost)s a year") % {"cost": number(cost, ",.0f")}
                if cost
                else _("no campaign cost given")
            ),
            page=page or action_page("rollout"),
        ))  # fmt: skip
    return out


def experiment_actions(
    rollout: pd.DataFrame,
    *,
    experiment: str,
    targeting=None,
    base: pd.DataFrame | None = None,
    page: str | None = None,
) -> list[Action]:
    """Return a test's actions: treat the N it picks when targeting pays more, else roll out.

    ``targeting`` is :func:`cxlib.experiments.target`'s result and ``base`` its scoring of the
    active base (:meth:`~cxlib.experiments.TargetingResult.score`). When the targeted policy is
    measurably worth more than the better simple policy (``targeting.policy == "targeted"``)
    the one action is to treat the base's customers it picks: its value is the policy's net
    value per tested customer x the active customers (one campaign a year, as the roll-out),
    and its text gives treating everyone's value beside it. Otherwise the roll-out's actions
    (:func:`rollout_actions`). The two are alternatives, never both.
    """
    if targeting is None or base is None or targeting.policy != "targeted":
        return rollout_actions(rollout, experiment=experiment, page=page)
    n_tested, n_base = len(targeting.scores), len(base)
    scale = n_base / n_tested
    value, low, high = (v * scale for v in (targeting.value, targeting.value_low,
                                            targeting.value_high))  # fmt: skip
    if value <= 0:
        return []
    picked = int(base["treat"].sum())
    everyone = targeting.everyone * scale
    return [Action(
        ngettext(
            "Treat the %(picked)s active customers the uplift model picks for %(treatment)s "
            "(tested in %(experiment)s), not all %(base)s: worth %(value)s against "
            "%(everyone)s for treating everyone",
            "Treat the %(picked)s active customers the uplift model picks for %(treatment)s "
            "(tested in %(experiment)s), not all %(base)s: worth %(value)s against "
            "%(everyone)s for treating everyone",
            picked,
        ) % {
            "picked": number(picked, ",d"), "treatment": targeting.treatment,
            "experiment": experiment, "base": number(n_base, ",d"),
            "value": number(value, ",.0f"), "everyone": number(everyone, ",.0f"),
        },
        _("customers most likely to respond"), picked, value, low, high,
        kpi=_(
            "revenue per treated customer vs a hold-out control among those picked; net of a "
            "cost of %(cost)s per treated customer; value per tested customer x %(base)s active "
            "customers"
        ) % {"cost": number(targeting.cost_per_treated, ",.2f"), "base": number(n_base, ",d")},
        page=page or action_page("rollout"),
    )]  # fmt: skip


def export_scores(
    scores: pd.DataFrame, filename: str, *, path: str | Path | None = None
) -> Path | None:
    """Write a customer list (ids and scores only) to the run folder's ``exports/``.

    ``path`` is the page's headline file (the runner's ``headlines_path``, in
    ``<run>/headlines/``); the list goes to ``<run>/exports/<filename>`` with ``customer_id``
    and the score columns that are numbers (no names, no attributes). Without ``path`` (a
    notebook run by hand) nothing is written and None is returned.

    Examples
    --------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> scores = pd.DataFrame({"uplift": [2.5], "treat": [True]},
    ...                       index=pd.Index(["c1"], name="customer_id"))
    >>> written = export_scores(scores, "next.csv", path=run / "headlines" / "05.json")
    >>> written.read_text().splitlines()
    ['customer_id,uplift', 'c1,2.5']
    """
    if path is None:
        return None
    if Path(filename).name != filename or not filename.endswith(".csv"):
        raise DataError(f"export_scores: {filename!r} must be a plain .csv file name")
    numbers = scores.select_dtypes("number")
    numbers = numbers.drop(columns=[c for c in numbers if c == "customer_id"])
    target = Path(path).parent.parent / "exports" / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    numbers.rename_axis("customer_id").to_csv(target, float_format="%.6g")
    return target


def _actions_file(path: str | Path) -> Path:
    path = Path(path)
    return path.parent / ACTIONS_DIR / path.name


def save_actions(
    page: str, actions: Iterable[Action | None], *, path: str | Path | None = None
) -> pd.DataFrame:
    """Record a page's actions; write them next to its headlines when ``path`` is given.

    ``path`` is the page's headline file (the runner's ``headlines_path``); the actions go to
    ``actions/<page>.json`` beside it. ``None`` entries (no action to recommend) are left out.
    Returns the actions as a frame, ranked by value.

    Examples
    --------
    >>> save_actions("02_churn", [None]).empty
    True
    """
    kept = [a if a.page else Action(**{**asdict(a), "page": page}) for a in actions if a]
    if path is not None:
        target = _actions_file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps([asdict(a) for a in kept], indent=2), encoding="utf-8")
    return rank_actions(kept)


def rank_actions(actions: Iterable[Action] | pd.DataFrame) -> pd.DataFrame:
    """Rank actions by value, highest first; refuse to rank actions on different bases.

    Examples
    --------
    >>> a = Action("a", "s", 1, 1.0, 0.0, 2.0)
    >>> b = Action("b", "s", 1, 3.0, 2.0, 4.0)
    >>> rank_actions([a, b])["action"].tolist()
    ['b', 'a']
    """
    if isinstance(actions, pd.DataFrame):
        frame = actions.reindex(columns=COLUMNS)
    else:
        frame = pd.DataFrame([asdict(a) for a in actions], columns=COLUMNS)
    bases = sorted(set(frame["basis"].dropna()))
    if len(bases) > 1:
        raise DataError(
            f"actions are on different money bases {bases}; convert them to "
            f"{BASIS!r} with to_annual_margin first"
        )
    frame = frame.sort_values(["value", "action"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True)


def load_actions(directory: str | Path | None) -> pd.DataFrame:
    """Read every page's actions (``<directory>/actions/*.json``), ranked by value.

    Empty (with the columns of :class:`Action`) when ``directory`` is None or holds none.
    """
    rows: list[dict] = []
    if directory is not None:
        for file in sorted((Path(directory) / ACTIONS_DIR).glob("*.json")):
            rows.extend(json.loads(file.read_text(encoding="utf-8")))
    return rank_actions(pd.DataFrame(rows, columns=[f.name for f in fields(Action)]))
