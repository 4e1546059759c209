"""A client's exports read as its YAML says: the config, every canonical table, their quality.

:func:`load_client` validates the YAML (:func:`cxlib.settings.config.load_config`), runs each
table's loader, checks the analysis settings against the data (:func:`check_settings`) and
returns a :class:`ClientTables`. :func:`cxlib.open_client` builds the run's
:class:`~cxlib.run.client.Client` on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cxlib import data
from cxlib.churn import contractual
from cxlib.churn.registry import DEFINITIONS
from cxlib.clv.kinds import clv_model_choices
from cxlib.data._schema import PURCHASE_COUNTS
from cxlib.settings.config import AnalysisConfig, ClientConfig, load_config
from cxlib.settings.validation import DataError

__all__ = ["ClientTables", "amount_basis", "check_settings", "load_client", "yaml_hints"]


@dataclass
class ClientTables:
    """A client's config and its loaded canonical tables (``None`` for a table it does not have)."""

    config: ClientConfig
    transactions: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    feedback: pd.DataFrame | None = None
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    experiments: pd.DataFrame | None = None

    @property
    def analysis(self) -> AnalysisConfig:
        """The config's analysis settings."""
        return self.config.analysis


def load_client(path: str | Path) -> ClientTables:
    """Validate a client config and load every table it lists.

    Parameters
    ----------
    path : str or Path
        The client's YAML file.

    Returns
    -------
    ClientTables
        Canonical frames plus ``quality``: one data-quality table for all loaded tables.
    """
    config = load_config(path)
    loaders = {
        "transactions": data.load_transactions,
        "customers": data.load_customers,
        "surveys": data.load_surveys,
        "feedback": data.load_feedback,
        "experiments": data.load_experiments,
    }
    frames: dict[str, pd.DataFrame] = {}
    # experiments last: their dates are checked against the transactions' last date
    for table in sorted(config.tables, key=lambda name: name == "experiments"):
        options = config.tables[table].model_dump(exclude={"path", "table"}, exclude_none=True)
        options["limits"] = config.limits
        if table == "experiments":
            if "transactions" in frames:
                options["data_end"] = frames["transactions"]["date"].max()
        else:  # event dates after the export date (observation_end, else today) are refused
            options["observation_end"] = config.analysis.observation_end
        loader = loaders[table]
        if table == "transactions" and config.engine == "spark":
            from cxlib.data._spark_loader import load_transactions_spark as loader

            options["config"] = config
        try:
            frames[table] = loader(config.table_path(table), **options)
        except DataError as exc:
            raise DataError(yaml_hints(str(exc), table)) from None
    check_settings(
        config,
        frames.get("transactions"),
        customers=frames.get("customers"),
        experiments=frames.get("experiments"),
    )
    config = amount_basis(config, frames.get("transactions"))
    quality = data.quality_report(*frames.values())
    contracts = _contract_records(config, frames.get("customers"))
    if contracts:
        quality = pd.concat([quality, pd.DataFrame(contracts)[quality.columns]], ignore_index=True)
    return ClientTables(config=config, quality=quality, **frames)


def _contract_records(config: ClientConfig, customers: pd.DataFrame | None) -> list[dict]:
    """Return the contract history's quality records (customers set aside, tenure-0 churners)."""
    settings = config.analysis
    columns = dict(tenure=settings.contract_tenure, churned=settings.contract_churned)
    if contractual.contract_columns(customers, **columns) is None:
        return []
    contracts = contractual.contract_table(
        customers, **columns, period=settings.contract_period, as_of=settings.observation_end
    )
    source = customers.attrs["quality"][0]["source"]
    return contractual.contract_quality(contracts, rows_read=len(customers), source=source)


def amount_basis(config: ClientConfig, transactions: pd.DataFrame | None) -> ClientConfig:
    """Return ``config``, its currency set to ``"purchases"`` when the amounts count purchases.

    A transactions table read without an amount column (customer and date only) has one
    purchase per row (``attrs["amount_basis"]``, see :func:`cxlib.data.load_transactions`):
    every money figure of the report then counts purchases, and the label printed beside them
    says ``purchases``, not a currency.

    Raises
    ------
    DataError
        When the YAML names a currency for such a table: money was expected, so the amount
        column was probably not mapped.
    """
    if transactions is None or transactions.attrs.get("amount_basis") != PURCHASE_COUNTS:
        return config
    if "currency" in config.model_fields_set:
        raise DataError(
            f"{config.config_path or config.client}: `currency: {config.currency}` is set, but "
            "the transactions have no amount column (nor quantity and unit_price), so every "
            "figure would count purchases. Map the amount with `columns: {amount: <column>}` "
            "under tables.transactions, or remove `currency:` to report purchase counts."
        )
    return config.model_copy(update={"currency": PURCHASE_COUNTS})


def check_settings(
    config: ClientConfig,
    transactions: pd.DataFrame | None,
    *,
    customers: pd.DataFrame | None = None,
    experiments: pd.DataFrame | None = None,
) -> None:
    """Cross-field checks of the analysis settings against the data (run by ``cxlib validate``).

    ``churn_definition`` must name one of :data:`cxlib.churn.DEFINITIONS`.
    ``calibration_end`` and ``observation_end`` must fall inside the transactions' dates, with
    calibration before observation, and ``holdout_weeks`` must be shorter than the history. For
    a contract history in ``customers``, its tenure and churned flag must read as such and a
    ``contract_value`` column must exist. Each ``experiment_costs`` entry must name an experiment
    of the ``experiments`` table (a misspelt name would otherwise leave its test without cost).

    Raises
    ------
    DataError
        Naming the setting as it is written under ``analysis:`` in the YAML.
    """
    settings, where = config.analysis, config.config_path or config.client
    _check_clv_model(settings, where)
    _check_churn_definition(settings, where)
    _check_contract_settings(settings, customers, where)
    _check_experiment_costs(settings, experiments, where)
    if transactions is None or transactions.empty:
        return
    first, last = transactions["date"].min(), transactions["date"].max()
    end = pd.Timestamp(settings.observation_end) if settings.observation_end else last
    problems = []
    if settings.observation_end is not None and end <= first:
        problems.append(
            f"observation_end: {end.date()} is not after the first transaction "
            f"({first.date()}); set a date inside the data or leave it out"
        )
    if settings.calibration_end is not None:
        cal = pd.Timestamp(settings.calibration_end)
        if not first < cal < end:
            problems.append(
                f"calibration_end: {cal.date()} must be after the first transaction "
                f"({first.date()}) and before the observation end ({end.date()})"
            )
    history_weeks = (end - first).days / 7
    if settings.holdout_weeks is not None and settings.holdout_weeks >= history_weeks:
        problems.append(
            f"holdout_weeks: {settings.holdout_weeks} is not shorter than the "
            f"{history_weeks:.0f} weeks of history; set a smaller number or leave it "
            "out (cxlib then uses a third of the history, at most 26 weeks)"
        )
    if problems:
        raise DataError(
            f"{where}: invalid analysis settings\n"
            + "\n".join(f"  analysis.{line}" for line in problems)
        )


def _check_experiment_costs(settings: AnalysisConfig, experiments, where) -> None:
    """Every ``experiment_costs`` key names an experiment of the experiments table."""
    names = set() if experiments is None else set(experiments["experiment"].astype(str))
    unknown = sorted(set(settings.experiment_costs) - names)
    if unknown:
        known = ", ".join(sorted(names)) if names else "none: the client has no experiments table"
        raise DataError(
            f"{where}: invalid analysis settings\n  analysis.experiment_costs: "
            f"{', '.join(map(repr, unknown))} is not an experiment of the experiments table "
            f"(its experiments: {known})"
        )


def _check_clv_model(settings: AnalysisConfig, where) -> None:
    """``clv_model`` must be "auto" or a model of cxlib.clv's registry (the one list of them)."""
    choices = clv_model_choices()
    if settings.clv_model not in choices:
        raise DataError(
            f"{where}: invalid analysis settings\n  analysis.clv_model: {settings.clv_model!r} "
            f"is not a purchase model; use one of {', '.join(choices)} (auto: the one with the "
            "smallest holdout error)"
        )


def _check_churn_definition(settings: AnalysisConfig, where) -> None:
    """Refuse a ``churn_definition`` that :data:`cxlib.churn.DEFINITIONS` does not hold.

    The config cannot list the names itself (it sits below the churn analyses), so the one
    list is the registry's, read here.
    """
    name = settings.churn_definition
    if name not in DEFINITIONS:
        raise DataError(
            f"{where}: invalid analysis settings\n  analysis.churn_definition: {name!r} is not "
            f"a churn definition; choose one of {', '.join(DEFINITIONS)}"
        )


def _check_contract_settings(settings: AnalysisConfig, customers, where) -> None:
    columns = dict(tenure=settings.contract_tenure, churned=settings.contract_churned)
    if contractual.contract_columns(customers, **columns) is None:
        return
    contractual.contract_table(customers, **columns, period=settings.contract_period)
    value = settings.contract_value
    if isinstance(value, str) and value not in customers.columns:
        raise DataError(
            f"{where}: invalid analysis settings\n  analysis.contract_value: the customers table "
            f"has no column {value!r}; name the column with each customer's payment per period, "
            "give one number, or leave it out (CLV then counts discounted periods)"
        )


def yaml_hints(message: str, table: str) -> str:
    """Say a loader's Python-style hints the way the client's YAML spells them.

    The loaders are also called from Python, so their messages say ``on_invalid='drop'``; a
    consultant running ``cxlib validate`` edits a YAML, where it is ``on_invalid: drop`` under
    ``tables.<table>``. Every keyword a loader's message suggests that is also a table setting
    (:class:`TableConfig`: ``on_invalid``, ``date_format``, ``columns``, ``encoding``,
    ``sheet``) is rewritten; tests/test_messages.py checks that none is left in Python syntax.

    Examples
    --------
    >>> yaml_hints("Pass on_invalid='drop' to set these rows aside.", "customers")
    'Set `on_invalid: drop` to set these rows aside (under tables.customers in the YAML).'
    >>> yaml_hints("Pass date_format='%d/%m/%Y' or date_format='%m/%d/%Y'.", "surveys")
    'Set `date_format: "%d/%m/%Y"` or `date_format: "%m/%d/%Y"` (under tables.surveys in the YAML).'
    >>> yaml_hints("say which one to read with sheet='Orders'", "transactions")
    'say which one to read with `sheet: Orders` (under tables.transactions in the YAML).'
    """
    suggested = "on_invalid=|date_format|the file's encoding|its date|decimal=|limits="
    rules = [
        (
            rf"\b([Pp])ass (?={suggested})",
            lambda m: "Set " if m.group(1) == "P" else "set ",
        ),
        (r"on_invalid='(\w+)'", lambda m: f"`on_invalid: {m.group(1)}`"),
        (r"date_format='([^']*)'", lambda m: f'`date_format: "{m.group(1)}"`'),
        (r"columns=\{(.*?)\}(?=\.)", lambda m: "`columns: {" + m.group(1).replace("'", "") + "}`"),
        (r"encoding='([^']*)'", lambda m: f"`encoding: {m.group(1)}`"),
        (r"sheet='([^']*)'", lambda m: f"`sheet: {m.group(1)}`"),
        (r"sheet=(\d+)", lambda m: f"`sheet: {m.group(1)}`"),
        (r"decimal='([^']*)'", lambda m: f'`decimal: "{m.group(1)}"`'),
    ]
    # not table settings: the export date is `observation_end` under `analysis:`, the limits
    # are under `limits:`
    elsewhere = [
        (
            r"observation_end='([^']*)'",
            lambda m: f"`observation_end: {m.group(1)}` under `analysis:`",
        ),
        (
            r"limits=\{'(\w+)': ([\d_]+)\}",
            lambda m: f"`{m.group(1)}: {m.group(2)}` under `limits:`",
        ),
    ]
    changed = 0
    for k, (pattern, replace) in enumerate(rules):
        message, n = re.subn(pattern, replace, message)
        changed += n if k else 0  # "Pass" -> "Set" names no setting of its own
    for pattern, replace in elsewhere:
        message, n = re.subn(pattern, replace, message)
        changed += n and pattern.startswith("observation_end")  # as it always was
    if changed:
        message = message.rstrip(".") + f" (under tables.{table} in the YAML)."
    return message
