"""Which CLV model a client's data call for, and the CLV page's numbers under it.

A client whose customers table holds a contract history (tenure and a churned flag, or start
and end dates) sees its customers leave: its CLV is contractual, the shifted-beta-geometric
retention model times the payment per period (:class:`~cxlib.clv.RetentionModel`,
:func:`~cxlib.clv.contractual_value`). A client with only a purchase history never sees anyone
leave, so its CLV comes from a "buy 'til you die" purchase model with Gamma-Gamma spend, chosen
on a holdout (:func:`~cxlib.clv.fit_customer_value`). :func:`client_value` makes that choice
from the tables the client has, says which and why, and computes the page's totals with both
intervals (a bootstrap over customers and the spread from the models' parameter uncertainty).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from cxlib.clv.headlines import clv_headlines
from cxlib.clv.kinds import display_name
from cxlib.settings.headline import Headline
from cxlib.settings.units import period_name, periods_per_year
from cxlib.settings.validation import DataError

__all__ = [
    "CONTRACTUAL",
    "NON_CONTRACTUAL",
    "ClientValue",
    "client_value",
    "contract_clv",
    "value_model_kind",
]

CONTRACTUAL = "contractual"
NON_CONTRACTUAL = "non-contractual"


def value_model_kind(*, has_contracts: bool, has_transactions: bool) -> str:
    """``"contractual"`` with a contract history, else ``"non-contractual"`` with purchases.

    A contract history wins when a client has both: it observes when customers leave, which a
    purchase model can only guess.

    Raises
    ------
    DataError
        With neither table.

    Examples
    --------
    >>> value_model_kind(has_contracts=False, has_transactions=True)
    'non-contractual'
    """
    if has_contracts:
        return CONTRACTUAL
    if has_transactions:
        return NON_CONTRACTUAL
    raise DataError(
        "client_value: the client has neither a transactions table nor a contract history "
        "(customers with tenure and a churned flag, or signup_date and contract_end)"
    )


@dataclass
class ClientValue:
    """The CLV page's model choice and numbers (:func:`client_value`).

    Attributes
    ----------
    kind : {"contractual", "non-contractual"}
    model : str
        ``"sbg"`` (contractual) or the purchase model's kind (``"bgnbd"``, ...).
    choice : str
        One paragraph for the page: which model and why.
    values : DataFrame
        Per customer: ``clv`` (and the model's other columns).
    total : Series
        All customers: ``customers``, ``total``, ``total_low``/``total_high`` (bootstrap over
        customers, 95%), ``param_low``/``param_high`` (parameter uncertainty, 90%).
    by_segment : DataFrame
        The same per segment (RFM segment, or the contract attribute the page splits by).
    unit : str
        ``"currency"``, or ``"number"`` (discounted periods) for a contractual client without
        a payment per period.
    horizon : str
        What the total covers, in words.
    retention_model, retention_curve, survival, churn_model
        Contractual: the sBG fit, the observed retention curve with its projection,
        Kaplan-Meier survival, and the churn classifier (None when there is no attribute).
        Non-contractual: None, and empty curve and survival tables.
    fit, scenario
        Non-contractual only: :class:`~cxlib.clv.CustomerValueFit`. Both kinds: the retention
        scenario (:class:`~cxlib.clv.RetentionScenario`, each customer's own dropout lower).
    outlook
        Non-contractual only: the revenue outlook
        (:class:`~cxlib.segmentation.outlook.RevenueOutlook`) from the fit's models over the
        outlook's own horizon; None for a contractual client.
    headlines : list of Headline
        The page's headline numbers.
    """

    kind: str
    model: str
    choice: str
    values: pd.DataFrame
    total: pd.Series
    by_segment: pd.DataFrame
    unit: str
    horizon: str
    headlines: list = field(default_factory=list)
    retention_model: Any = None
    retention_curve: pd.DataFrame | None = None
    survival: Any = None
    churn_model: Any = None
    fit: Any = None
    scenario: Any = None
    outlook: Any = None

    @property
    def total_text(self) -> str:
        """One sentence with the total and both intervals."""
        t, money = self.total, self.unit == "currency"
        fmt = "{:,.0f}"
        return (
            f"{self.horizon}: {fmt.format(t['total'])}"
            f"{'' if money else ' discounted customer-periods'} "
            f"(95% interval over customers {fmt.format(t['total_low'])} to "
            f"{fmt.format(t['total_high'])}; 90% interval from the model's parameter "
            f"uncertainty {fmt.format(t['param_low'])} to {fmt.format(t['param_high'])})"
            + (
                f"; holdout error {self.fit.selection.validation.relative_error:+.1%} of the "
                "actual holdout purchases"
                if self.fit is not None
                else ""
            )
        )

    #: Table headers of the interval columns of :attr:`total` and :attr:`by_segment`.
    labels = {
        "total_low": "Low (95%, customers)",
        "total_high": "High (95%, customers)",
        "param_low": "Low (90%, parameters)",
        "param_high": "High (90%, parameters)",
    }

    @property
    def churn_model_description(self) -> str:
        """What the churn classifier predicts and from what ("" without one).

        Not the config's ``churn_definition`` (when a customer counts as churned): a sentence
        on the classifier of :attr:`churn_table`.
        """
        return "" if self.churn_model is None else self.churn_model.definition

    @property
    def churn_table(self) -> pd.DataFrame:
        """The churn classifier's out-of-fold metrics per model (contractual clients).

        One row saying why there is none when the customers table has no attribute to learn
        from or the client is not contractual.
        """
        if self.churn_model is None:
            reason = (
                "no customer attribute to learn from"
                if self.kind == CONTRACTUAL
                else "not a contractual client (see the churn page)"
            )
            return pd.DataFrame({"note": [reason]}, index=pd.Index(["none"], name="model"))
        return self.churn_model.comparison


def _with_parameter_band(bootstrap: pd.DataFrame, band: pd.DataFrame) -> pd.DataFrame:
    """``segment_value``'s rows with the parameter-uncertainty interval of the same segments."""
    out = bootstrap.join(band[["param_low", "param_high"]], how="left")
    return out[
        [
            "customers",
            "total",
            "total_low",
            "total_high",
            "param_low",
            "param_high",
            "mean",
            "share",
        ]
    ]


def client_value(client, *, n_draws: int = 200) -> ClientValue:
    """Choose the contractual or non-contractual CLV model from the client's data; value it.

    Parameters
    ----------
    client : Client
        From :func:`cxlib.open_client` (its tables, settings, shared fit and base).
    n_draws : int, default 200
        Parameter draws for the parameter-uncertainty interval.

    Returns
    -------
    ClientValue

    Raises
    ------
    DataError
        When the client has neither a contract history nor transactions.

    Examples
    --------
    A subscription client: the "regular" cohort of Fader & Hardie (2007), 10 a year each.

    >>> from types import SimpleNamespace
    >>> from cxlib.clv import cohort_frame
    >>> from cxlib.settings.config import AnalysisConfig
    >>> contracts = cohort_frame([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> contracts.attrs.update(contract_shape="tenure", period="Y")
    >>> client = SimpleNamespace(contracts=contracts, transactions=None, currency="EUR",
    ...                          analysis=AnalysisConfig(contract_value=10.0, contract_period="Y"))
    >>> value = client_value(client)
    >>> value.kind, value.model, value.choice.split(":")[0]
    ('contractual', 'sbg', 'Contractual model')
    >>> round(float(value.total["total"]))  # 241 active x 30% of 10 x 6.842 discounted years
    4947
    """
    kind = value_model_kind(
        has_contracts=client.contracts is not None,
        has_transactions=client.transactions is not None,
    )
    if kind == CONTRACTUAL:
        return _contractual(client, n_draws)
    return _non_contractual(client, n_draws)


def _non_contractual(client, n_draws: int) -> ClientValue:
    from cxlib.clv import retention_scenario, segment_value, top_share
    from cxlib.clv.value import total_interval, value_options

    s, fit = client.analysis, client.value_fit
    options = value_options(fit.values)  # the fit's horizon and basis, not the settings again
    segments = client.base["segment"]
    models = (fit.summary, fit.purchase_model, fit.spend_model)
    band = total_interval(*models, segments, n_draws=n_draws, seed=s.seed, **options)
    by_segment = _with_parameter_band(segment_value(fit.values, segments, seed=s.seed), band)
    total = _with_parameter_band(segment_value(fit.values, seed=s.seed), band).iloc[0]
    scenario = retention_scenario(*models, retention_gain=s.retention_gain, **options)
    constant = fit.spend_model.constant_spend_
    spend = (
        "Gamma-Gamma for spend"
        if constant is None
        else f"a constant {constant:,.2f} per purchase for spend (every repeat customer's "
        "average spend is the same, so there is no spend model to fit)"
    )
    choice = (
        f"Non-contractual model: {display_name(fit.selection.kind)} for "
        f"purchases, chosen on the holdout, with {spend}. The client has a "
        "purchase history and no contract history (no tenure with a churned flag, no contract "
        "end dates), so when a customer leaves is never seen and the model infers it from "
        "silences."
    )
    headlines = clv_headlines(
        fit,
        total,
        top_share(fit.values, 0.2),
        scenario,
        retention_gain=s.retention_gain,
        currency=client.currency,
    )
    headlines = _add_parameter_band(headlines, total)
    headlines.append(Headline("clv_kind", "CLV model", NON_CONTRACTUAL, unit="text"))
    return ClientValue(
        NON_CONTRACTUAL,
        fit.selection.kind,
        choice,
        fit.values,
        total,
        by_segment,
        "currency",
        f"Total {options['horizon_months']}-month CLV ({client.currency}, gross margin, "
        "discounted)",
        headlines,
        fit=fit,
        scenario=scenario,
        outlook=_outlook(client, fit, options),
        **_no_contracts(),
    )


def _outlook(client, fit, options: dict):
    """Return the revenue outlook: the fit's models over the outlook's own horizon."""
    from cxlib.clv import customer_value
    from cxlib.segmentation.outlook import OUTLOOK_MONTHS, revenue_outlook

    models = (fit.summary, fit.purchase_model, fit.spend_model)
    ahead = customer_value(*models, **{**options, "horizon_months": OUTLOOK_MONTHS})
    return revenue_outlook(client.base, ahead["expected_revenue"], currency=client.currency)


def _no_contracts() -> dict:
    """Empty contractual results: the page's contract cells, run by hand, show empty tables.

    (The report runner leaves those cells out for a client without contracts.)
    """
    from cxlib.churn.survival import SurvivalResult

    curve = pd.DataFrame(
        columns=["at_risk", "churned", "observed_survival", "projected_survival"], dtype=float
    ).rename_axis("period")
    curves = pd.DataFrame(
        columns=["segment", "days", "survival", "ci_lower", "ci_upper", "at_risk"], dtype=float
    )
    medians = pd.DataFrame(
        columns=["customers", "churned", "median_lifetime_days", "median_ci_lower",
                 "median_ci_upper", "survival_1y"],
        dtype=float,
    ).rename_axis("segment")  # fmt: skip
    pairwise = pd.DataFrame(columns=["segment_a", "segment_b", "test_statistic", "p_value"])
    method = "No contract history: survival from tenure does not apply to this client."
    return {
        "retention_curve": curve,
        "survival": SurvivalResult(curves, medians, {}, pairwise, 0.05, method, None),
    }


def _add_parameter_band(headlines: list, total: pd.Series) -> list:
    """Return the headlines, the total-CLV one with its parameter interval in the note."""
    return [
        replace(
            h,
            note=f"{h.note}; 90% from parameter uncertainty "
            f"{total['param_low']:,.0f} to {total['param_high']:,.0f}",
        )
        if h.key == "total_clv"
        else h
        for h in headlines
    ]


def _contractual(client, n_draws: int) -> ClientValue:
    from cxlib.churn.contractual import contractual_churn_model
    from cxlib.clv import segment_value, top_share
    from cxlib.clv.retention import (
        contractual_total_interval,
        contractual_value,
        retention_curve,
    )
    from cxlib.clv.scenario import contractual_retention_scenario, retention_headlines

    s, contracts = client.analysis, client.contracts
    period = contracts.attrs.get("period", s.contract_period)
    model, per_period, unit, paid, options = _contract_model(client)
    values = contractual_value(contracts, model, **options)
    scenario = contractual_retention_scenario(
        contracts,
        model,
        retention_gain=s.retention_gain,
        basis="discounted margin" if unit == "currency" else "discounted periods paid",
        **options,
    )
    segments = _contract_segments(contracts)
    band = contractual_total_interval(
        contracts, model, segments=segments, n_draws=n_draws, seed=s.seed, **options
    )
    by_segment = _with_parameter_band(segment_value(values, segments, seed=s.seed), band)
    total = _with_parameter_band(segment_value(values, seed=s.seed), band).iloc[0]
    try:
        classifier = contractual_churn_model(contracts, seed=s.seed)
    except DataError:  # no attribute to learn from: the page says so
        classifier = None
    source = {
        "tenure": f"tenure in {period_name(period, 2)} and a churned flag",
        "dates": "signup and contract end dates",
    }[contracts.attrs.get("contract_shape")]
    choice = (
        "Contractual model: shifted-beta-geometric retention (Fader & Hardie 2007) times "
        f"{paid} per {period_name(period)}, discounted at {s.discount_rate:.0%} a year. The "
        f"customers table holds a contract history ({source}), so when customers leave is "
        f"observed: {int(contracts['churned'].sum()):,} of {len(contracts):,} have. The value "
        "of an active customer is their discounted expected remaining periods, with no horizon."
    )
    alpha, beta = model.params_
    unit_label = client.currency if unit == "currency" else "periods"
    headlines = [
        Headline(
            "total_clv",
            f"Total remaining CLV of active subscribers ({unit_label}, discounted)",
            float(total["total"]),
            unit=unit,
            ci_low=float(total["total_low"]),
            ci_high=float(total["total_high"]),
            note=f"interval: bootstrap over customers; 90% from parameter uncertainty "
            f"{total['param_low']:,.0f} to {total['param_high']:,.0f}",
        ),
        Headline(
            "top20_value_share",
            "Share of value held by the top 20% of active subscribers",
            float(top_share(values.loc[~contracts["churned"]], 0.2)),  # churners are worth 0
            unit="percent",
        ),
        Headline(
            "retention_next_period",
            f"Expected renewal rate next {period_name(period)} (active subscribers)",
            float(values.loc[~contracts["churned"], "survival"].mean()),
            unit="percent",
        ),
        Headline(
            "clv_model",
            "CLV model chosen from the data",
            f"contractual (sBG, alpha {alpha:.2f}, beta {beta:.2f})",
            unit="text",
        ),
        Headline("clv_kind", "CLV model", CONTRACTUAL, unit="text"),
        *retention_headlines(scenario, unit=unit),
    ]
    return ClientValue(
        CONTRACTUAL,
        "sbg",
        choice,
        values,
        total,
        by_segment,
        unit,
        f"Total remaining CLV of active subscribers ({unit_label}, discounted)",
        headlines,
        retention_model=model,
        retention_curve=retention_curve(contracts, model),
        survival=_segment_survival(contracts, segments),
        churn_model=classifier,
        scenario=scenario,
    )


def _contract_model(client):
    """Fit the sBG on the contracts; return it, the margin per period, its unit, the options."""
    from cxlib.clv.retention import RetentionModel

    s, contracts = client.analysis, client.contracts
    period = contracts.attrs.get("period", s.contract_period)
    model = RetentionModel().fit(contracts)
    per_period, unit, paid = _value_per_period(contracts, s)
    options = dict(
        value_per_period=per_period,
        discount_rate=s.discount_rate,
        periods_per_year=periods_per_year(period),
    )
    return model, per_period, unit, paid, options


def contract_clv(client) -> pd.Series:
    """Each subscriber's remaining CLV, as the CLV page values it (sBG x margin per period).

    The same model and settings as :func:`client_value` for a contractual client, without
    its intervals and classifier: the segmentation page reads it per segment. Churners are
    worth 0; without ``contract_value`` the unit is discounted periods.

    Raises
    ------
    DataError
        When the client has no contract history.
    """
    from cxlib.clv.retention import contractual_value

    if client.contracts is None:
        raise DataError("contract_clv: the client has no contract history")
    model, _, _, _, options = _contract_model(client)
    return contractual_value(client.contracts, model, **options)["clv"]


def _value_per_period(contracts: pd.DataFrame, settings) -> tuple[Any, str, str]:
    """Return the margin per period (column or number), its unit, and the page's name for it."""
    setting = settings.contract_value
    if setting is None:
        return 1.0, "number", "one period"
    if isinstance(setting, str):
        if setting not in contracts.columns:
            raise DataError(
                f"client_value: contract_value names the customers column {setting!r}, which "
                f"the table does not have (it has {list(contracts.columns)})"
            )
        margin = pd.to_numeric(contracts[setting], errors="coerce") * settings.margin
        if margin.isna().any():
            raise DataError(
                f"client_value: customers column {setting!r} (contract_value) has "
                f"{int(margin.isna().sum())} missing or non-numeric value(s)"
            )
        return margin.to_numpy(), "currency", f"the {settings.margin:.0%} margin on {setting}"
    return (
        float(setting) * settings.margin,
        "currency",
        f"a {settings.margin:.0%} margin on {setting:,.2f}",
    )


def _segment_survival(contracts: pd.DataFrame, segments: pd.Series | None):
    """Kaplan-Meier survival by the segments' groups (one curve without them)."""
    from cxlib.churn.contractual import contract_survival

    if segments is None:
        return contract_survival(contracts)
    frame = contracts[["tenure", "churned"]].assign(**{str(segments.name): segments})
    frame.attrs = dict(contracts.attrs)
    return contract_survival(frame, by=str(segments.name))


def _contract_segments(contracts: pd.DataFrame) -> pd.Series | None:
    """Return the groups of the attribute that separates survival most, else None.

    The churn page's choice (:func:`cxlib.churn.survival_splits`: log-rank across every
    attribute a model may use, Holm-corrected), so both pages split by the same groups.
    """
    from cxlib.churn import model_attributes, survival_splits

    attributes, _ = model_attributes(contracts)
    if not attributes:
        return None
    return survival_splits(contracts, attributes).groups
