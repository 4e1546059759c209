"""Tests for cxlib.clv.kinds: the purchase-model contract and its one registry."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import cxlib
from cxlib.clv import PurchaseModel, dropout_at_bound, kinds, select_model
from cxlib.clv.kinds import PurchaseKind, clv_model_choices, display_name, purchase_kinds
from cxlib.data.datasets import load_cdnow_summary
from cxlib.run.loading import check_settings
from cxlib.settings.config import AnalysisConfig, load_config
from cxlib.settings.validation import DataError

ROOT = Path(__file__).resolve().parents[1]


def test_the_registry_holds_the_four_models_in_order_each_declaring_the_contract():
    found = purchase_kinds()
    assert list(found) == ["bgnbd", "pareto_nbd", "mbgnbd", "bgbb"]
    assert [kind.display_name for kind in found.values()] == [
        "BG/NBD",
        "Pareto/NBD",
        "MBG/NBD",
        "BG/BB",
    ]
    for name, kind in found.items():
        assert isinstance(kind, PurchaseKind) and kind.name == name
        assert len(kind.param_names) == 4 and set(kind.dropout_names) <= set(kind.param_names)
        assert kind.dropout_unit in ("purchase", "period", "opportunity")
    # what a scenario changes is declared, not inferred: BG/BB has none
    assert [n for n, k in found.items() if k.scenario_changes] == ["bgnbd", "pareto_nbd", "mbgnbd"]
    assert kinds.continuous_kinds() == ("bgnbd", "pareto_nbd", "mbgnbd")


def test_a_model_without_the_contracts_functions_cannot_be_declared():
    class Incomplete(PurchaseKind):
        name, display_name, position = "half", "Half", 9

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


@pytest.mark.parametrize("name", ["bgnbd", "pareto_nbd", "mbgnbd"])
def test_each_models_mean_dropout_is_the_one_dropout_at_bound_reports(name):
    summary = load_cdnow_summary()
    model = PurchaseModel(name).fit(summary)
    p = model.params_.to_dict()
    if name == "pareto_nbd":  # Gamma(s, beta) dropout rate per period
        by_hand = p["s"] / p["beta"]
    else:  # Beta(a, b) dropout probability per purchase
        by_hand = p["a"] / (p["a"] + p["b"])
    bound = dropout_at_bound(model)
    assert bound.mean == pytest.approx(by_hand)
    assert bound.formula == model._model.dropout_formula
    assert all(f"{n} = " in bound.parameters for n in model._model.dropout_names)


@pytest.mark.filterwarnings("ignore:rfm_summary:UserWarning")
def test_names_for_a_reader_come_from_the_registry_and_other_names_pass_through():
    from cxlib.data.datasets import load_cdnow_transactions

    assert display_name("mbgnbd") == "MBG/NBD" and display_name("sbg") == "sbg"
    holdout = cxlib.clv.holdout_summary(load_cdnow_transactions(), freq="W")
    selection = select_model(holdout)  # compares the continuous models, in registry order
    assert selection.named_table.index.tolist() == ["BG/NBD", "Pareto/NBD", "MBG/NBD"]
    assert selection.name == display_name(selection.kind)


def _literal_lists_of_model_names(path: Path) -> list[str]:
    """Tuples, lists, sets and dict keys in ``path`` that spell two or more model names."""
    names = set(purchase_kinds())
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            items = node.keys
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        else:
            continue
        spelled = {i.value for i in items if isinstance(i, ast.Constant) and i.value in names}
        if len(spelled) >= 2:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_registry_is_the_only_list_of_purchase_models():
    # no choice list, name dict or "continuous" tuple anywhere else in the package, and the
    # config's clv_model is a plain string checked against the registry at loading
    lists = [hit for path in sorted((ROOT / "cxlib").rglob("*.py")) for hit in
             _literal_lists_of_model_names(path)]  # fmt: skip
    assert lists == []
    assert AnalysisConfig.model_fields["clv_model"].annotation is str  # not a Literal list
    assert clv_model_choices() == ("auto", *kinds.continuous_kinds())


def test_the_config_accepts_each_registered_choice_and_names_them_all_when_refused():
    config = load_config(ROOT / "clients" / "demo.yaml")

    def with_model(name):
        # no experiments table here (tables None): the demo's experiment costs do not apply
        update = {"clv_model": name, "experiment_costs": {}}
        analysis = config.analysis.model_copy(update=update)
        return config.model_copy(update={"analysis": analysis})

    for name in clv_model_choices():
        check_settings(with_model(name), None)
    for wrong in ("bgbb", "pareto"):  # BG/BB counts opportunities: not a choice for a run
        with pytest.raises(DataError, match="analysis.clv_model") as raised:
            check_settings(with_model(wrong), None)
        assert f"use one of {', '.join(clv_model_choices())} " in str(raised.value)


_NEW_MODEL = '''
from cxlib.clv.bgnbd import BGNBD


class Copy(BGNBD):
    """A new model: here BG/NBD under another name, declared like any model file does."""

    name, display_name, position = "bgnbd_copy", "BG/NBD (copy)", 5


KIND = Copy()
'''


def test_a_new_model_file_is_found_and_fitted_with_nothing_else_changed(tmp_path, monkeypatch):
    package = tmp_path / "more_models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "copy_model.py").write_text(textwrap.dedent(_NEW_MODEL))
    (package / "_private.py").write_text("KIND = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = kinds.discover(package, "more_models")
        assert list(found) == ["bgnbd_copy"]
        registry = {**purchase_kinds(), **found}
        monkeypatch.setattr(kinds, "purchase_kinds", lambda: registry)
        summary = load_cdnow_summary()
        copy = PurchaseModel("bgnbd_copy").fit(summary)
        original = PurchaseModel("bgnbd").fit(summary)
        assert np.allclose(copy.params_, original.params_)
        assert kinds.display_name("bgnbd_copy") == "BG/NBD (copy)"
        assert "bgnbd_copy" in clv_model_choices()
    finally:
        for name in [m for m in sys.modules if m.startswith("more_models")]:
            del sys.modules[name]
