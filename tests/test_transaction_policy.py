"""One transaction check, one policy: every public function that takes transactions refuses the
same bad inputs with the same DataError (cxlib.settings.validation.check_transactions).

The functions are found by introspection (every public function of a topic module with a
``transactions`` parameter), so a new function is covered without editing this file; a
function whose other required arguments are not known here fails the coverage test below.
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import DataError

MODULES = [
    "customers",
    "clv",
    "churn",
    "segmentation",
    "wallet",
    "nps",
    "feedback",
    "experiments",
    "trend",
]


def _functions_taking_transactions():
    found = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"cxlib.{name}")
        except ModuleNotFoundError:
            continue
        for attr in getattr(module, "__all__", []):
            func = getattr(module, attr)
            if inspect.isfunction(func) and "transactions" in inspect.signature(func).parameters:
                found.setdefault(
                    func.__qualname__ + "@" + func.__module__, (f"{name}.{attr}", func)
                )
    return sorted(found.values())


FUNCTIONS = _functions_taking_transactions()


@pytest.fixture(scope="module")
def context(small_demo):
    """Valid values for the arguments other than transactions."""
    from cxlib import clv, feedback

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = clv.rfm_summary(small_demo.transactions)
        model = clv.PurchaseModel("bgnbd").fit(summary)
        themes = feedback.find_themes(small_demo.feedback, n_themes=3, seed=0)
    segments = pd.Series("all", index=summary.index, name="segment")
    end = small_demo.transactions["date"].max()
    return {
        "model": model,
        "calibration_end": end - pd.Timedelta(weeks=26),
        "cutoff": end - pd.Timedelta(days=90),
        "start": end - pd.Timedelta(days=90),
        "horizon_days": 90,
        "margin": 0.3,
        "cost_per_treated": 1.0,
        "segments": segments,
        "base": summary.assign(churned=False),
        "definition": "inactivity",
        "surveys": small_demo.surveys,
        "result": themes,
        "assignments": pd.DataFrame(
            {
                "customer_id": ["C000001", "C000002"],
                "group": ["control", "treatment"],
                "experiment": ["x", "x"],
                "start": [end, end],
            }
        ),
    }


def _call(func, transactions, context):
    kwargs = {}
    for parameter in inspect.signature(func).parameters.values():
        if parameter.name == "transactions":
            kwargs["transactions"] = transactions
        elif parameter.default is inspect.Parameter.empty and parameter.kind not in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            kwargs[parameter.name] = context[parameter.name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(**kwargs)


def _good():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-05", "2024-02-01"]),
            "amount": [10.0, 20.0, 5.0, 7.0],
        }
    )


BAD_INPUTS = {
    "missing amount column": (lambda: _good().drop(columns="amount"), r"missing column"),
    "dates stored as text": (
        lambda: _good().assign(date=["2024-01-01", "2024-03-01", "2024-01-05", "2024-02-01"]),
        r"column 'date' must hold dates",
    ),
    "missing date": (
        lambda: _good().assign(date=lambda f: f["date"].where(f.index != 2)),
        r"missing date\(s\) \(NaT\): row 2",
    ),
    "missing amount": (
        lambda: _good().assign(amount=[10.0, np.nan, 5.0, 7.0]),
        r"'amount' has 1 missing or infinite value\(s\): row 1",
    ),
    "infinite amount": (
        lambda: _good().assign(amount=[10.0, 20.0, np.inf, 7.0]),
        r"'amount' has 1 missing or infinite value\(s\): row 2",
    ),
    "text amount": (
        lambda: _good().assign(amount=["10", "20", "5", "7"]),
        r"column 'amount' must be numeric",
    ),
    "missing customer id": (
        lambda: _good().assign(customer_id=["a", None, "b", "b"]),
        r"'customer_id' has 1 missing value\(s\): row 1",
    ),
    "empty table": (lambda: _good().iloc[:0], r"the transactions table is empty"),
}


def test_every_function_taking_transactions_is_covered():
    assert len(FUNCTIONS) >= 20, [name for name, _ in FUNCTIONS]


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("name, func", FUNCTIONS, ids=[name for name, _ in FUNCTIONS])
def test_bad_transactions_get_the_same_data_error_everywhere(name, func, case, context):
    make, message = BAD_INPUTS[case]
    with pytest.raises(DataError, match=message):
        _call(func, make(), context)
