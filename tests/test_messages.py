"""Messages speak the user's language: YAML settings from a YAML, Python arguments from Python.

A consultant running ``cxlib validate`` edits a YAML, so a loader's hint reads
``on_invalid: drop`` there; the same loader called from Python says ``on_invalid='drop'``.
Either way, a setting a message names must exist: a hint pointing at a setting cxlib does not
have is worse than none.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cxlib import DataError
from cxlib.data import load_customers, load_surveys, load_transactions
from cxlib.run.loading import load_client
from cxlib.settings.config import (
    TABLES,
    AnalysisConfig,
    ClientConfig,
    ExcludeRule,
    Limits,
    TableConfig,
)

CXLIB = Path(__file__).resolve().parents[1] / "cxlib"
LOADERS = {"transactions": load_transactions, "customers": load_customers, "surveys": load_surveys}
TX = "customer_id,date,amount\n"

#: Every key a client's YAML can hold, by where it goes.
YAML_KEYS = {
    "top": set(ClientConfig.model_fields) - {"config_path"},
    "table": set(TableConfig.model_fields),
    "analysis": set(AnalysisConfig.model_fields),
    "exclude": set(ExcludeRule.model_fields),
    "limits": set(Limits.model_fields),
}
ALL_YAML_KEYS = set().union(*YAML_KEYS.values())

#: Broken exports, one per hint a loader gives: (name, table, file text or sheets, options).
BROKEN = [
    ("ambiguous dates", "transactions", TX + "A,01/02/2024,1\nB,03/04/2024,2\n", {}),
    ("mixed date formats", "transactions", TX + "A,2024-01-02,1\nB,13/04/2024,2\n", {}),
    ("unparseable date", "transactions", TX + "A,2024-01-02,1\nB,yesterday,2\n", {}),
    ("date after the export", "transactions", TX + "A,2024-01-02,1\nB,2099-01-01,2\n", {}),
    ("missing customer id", "transactions", TX + "A,2024-01-02,1\n,2024-01-03,2\n", {}),
    ("missing column", "transactions", "client,date,amount\nA,2024-01-02,1\n", {}),
    ("not a number", "transactions", TX + "A,2024-01-02,abc\n", {}),
    ("decimal comma", "transactions", 'customer_id,date,amount\nA,2024-01-02,"12,50"\n', {}),
    ("wrong encoding", "transactions", "customer_id,date,amount,note\nA,2024-01-02,1,déjà\n", {}),
    ("sheet for a csv", "transactions", TX + "A,2024-01-02,1\n", {"sheet": "Orders"}),
    ("several sheets", "transactions", {"Notes": {"x": [1]}, "Orders": {"customer_id": ["A"]}}, {}),
    ("duplicate customers", "customers", "customer_id\nA\nA\n", {}),
    ("score out of range", "surveys", "customer_id,date,score\nA,2024-01-01,11\n", {}),
    ("period index", "surveys", "customer_id,period,score\nA,1,9\n", {}),
    # issue 27: limits and number formats
    ("thousands or decimals", "transactions", TX + "A,2024-01-02,6.135\n", {}),
    (
        "too many columns",
        "customers",
        "customer_id," + ",".join(f"c{i}" for i in range(2_000)) + "\nA" + ",1" * 2_000 + "\n",
        {},
    ),
    ("line too long", "transactions", TX + "A,2024-01-02," + "1" * 2_000_001 + "\n", {}),
]


def _write(folder: Path, table: str, content, options: dict) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        path = folder / f"{table}.xlsx"
        with pd.ExcelWriter(path) as writer:
            for sheet, columns in content.items():
                pd.DataFrame(columns).to_excel(writer, sheet_name=sheet, index=False)
    else:
        path = folder / f"{table}.csv"
        path.write_bytes(content.encode("latin-1"))  # latin-1: "déjà" is not valid UTF-8
    config = {"client": "x", "data_dir": ".", "tables": {table: {"path": path.name, **options}}}
    yaml_path = folder / "client.yaml"
    yaml_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path, yaml_path


def _messages(tmp_path, name, table, content, options) -> tuple[str, str]:
    path, yaml_path = _write(tmp_path / re.sub(r"\W", "_", name), table, content, options)
    with pytest.raises(DataError) as from_yaml:
        load_client(yaml_path)
    with pytest.raises(DataError) as from_python:
        LOADERS[table](path, **options)
    return str(from_yaml.value), str(from_python.value)


#: A Python keyword argument in a message: on_invalid='drop', sheet=0, columns={...}.
PYTHON_ARGUMENT = re.compile(r"\b([a-z_]+)=(?=['\"{\d])")
#: A YAML setting in a message: `on_invalid: drop`, `columns: {...}`.
YAML_SETTING = re.compile(r"`([a-z_]+):")


@pytest.mark.parametrize(
    ("name", "table", "content", "options"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_a_hint_speaks_yaml_from_a_yaml_and_python_from_python(
    tmp_path, name, table, content, options
):
    from_yaml, from_python = _messages(tmp_path, name, table, content, options)

    assert not PYTHON_ARGUMENT.findall(from_yaml), from_yaml
    settings = YAML_SETTING.findall(from_yaml)
    for setting in settings:
        if setting in YAML_KEYS["top"]:  # a section named beside a setting: `analysis:`
            continue
        if setting == "observation_end":  # the export date is an analysis setting
            assert "`observation_end: YYYY-MM-DD` under `analysis:`" in from_yaml
            assert setting in YAML_KEYS["analysis"]
        elif "under `limits:`" in from_yaml and setting in YAML_KEYS["limits"]:
            assert re.search(rf"`{setting}: \d+` under `limits:`", from_yaml), from_yaml
        else:
            assert setting in YAML_KEYS["table"], (setting, from_yaml)
    if any(key in settings for key in YAML_KEYS["table"]):
        assert f"(under tables.{table} in the YAML)" in from_yaml

    assert not YAML_SETTING.findall(from_python), from_python
    parameters = set(inspect.signature(LOADERS[table]).parameters)
    arguments = PYTHON_ARGUMENT.findall(from_python)
    assert set(arguments) <= parameters, (arguments, from_python)
    # the same advice either way: each YAML setting named is the Python argument named (a
    # limit is a key of the one `limits` argument)
    named = {"limits" if s in YAML_KEYS["limits"] else s for s in settings} - {"analysis"}
    assert named == set(arguments), (from_yaml, from_python)


def test_every_broken_export_gets_a_hint_naming_a_setting(tmp_path):
    without = []
    for name, table, content, options in BROKEN:
        from_yaml, _ = _messages(tmp_path, name, table, content, options)
        if not YAML_SETTING.findall(from_yaml):
            without.append(name)
    assert without == [], "these messages name no setting to change"


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
    return {
        id(node.body[0].value)
        for node in nodes
        if node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _message_texts() -> list[tuple[str, int, str]]:
    """Texts that can reach a user: every string in cxlib but docstrings, and each raise's text.

    A raise's constant parts are joined, so ``f"... `holdout_weeks: {n}` ..."`` is read whole;
    strings outside a raise (hint tables, ``yaml_hints``' replacements) are read one by one.
    """
    found = []
    for path in sorted(CXLIB.rglob("*.py")):
        where = str(path.relative_to(CXLIB.parent))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docstrings:
                    found.append((where, node.lineno, node.value))
            elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                text = " ".join(
                    part.value
                    for part in ast.walk(node.exc)
                    if isinstance(part, ast.Constant) and isinstance(part.value, str)
                )
                found.append((where, node.lineno, text))
    return found


def test_the_scan_reads_the_messages_it_checks():
    texts = [text for _, _, text in _message_texts()]
    assert any("`holdout_weeks: " in text and "`analysis:`" in text for text in texts)
    assert any("pass on_invalid='drop'" in text for text in texts)
    assert any("`on_invalid: " in text for text in texts)  # yaml_hints' replacement
    assert not any("Settings shared by the notebooks; each notebook" in text for text in texts)


def test_every_setting_a_message_names_exists_in_the_config():
    unknown = []
    for where, line, text in _message_texts():
        for setting in YAML_SETTING.findall(text):
            if setting not in ALL_YAML_KEYS:
                unknown.append((where, line, f"`{setting}:`"))
        if not re.search(r"yaml|config", text, re.IGNORECASE):
            continue  # e.g. "tables.pkl", a cache file, is no setting
        for setting in re.findall(r"\banalysis\.([a-z_]+)", text):
            if setting not in YAML_KEYS["analysis"]:
                unknown.append((where, line, f"analysis.{setting}"))
        for table in re.findall(r"\btables\.([a-z_]+)", text):
            if table not in TABLES:
                unknown.append((where, line, f"tables.{table}"))
    assert unknown == []


def test_every_argument_a_loader_message_suggests_is_a_loader_parameter():
    parameters = set().union(*(inspect.signature(loader).parameters for loader in LOADERS.values()))
    unknown = [
        (where, line, argument)
        for where, line, text in _message_texts()
        if where.startswith("cxlib/data/") and re.search(r"\b[Pp]ass\b", text)
        for argument in PYTHON_ARGUMENT.findall(text)
        if argument not in parameters
    ]
    assert unknown == []


def test_every_limit_a_message_names_is_a_key_of_limits():
    """`limits.max_columns`, `limits={'max_columns': ...}`: a limit named must exist."""
    named = []
    for where, line, text in _message_texts():
        named += [(where, line, key) for key in re.findall(r"\blimits\.([a-z_]+)", text)]
        named += [(where, line, key) for key in re.findall(r"limits=\{'([a-z_]+)'", text)]
    assert {key for _, _, key in named} >= {"max_columns", "max_line_bytes", "max_xlsx_bytes"}
    assert [item for item in named if item[2] not in YAML_KEYS["limits"]] == []


def test_a_limit_hint_becomes_the_yaml_setting_under_limits():
    from cxlib.run.loading import yaml_hints

    for key in Limits.model_fields:
        message = yaml_hints(f"x.csv: over the limit; pass limits={{'{key}': 5000}}.", "customers")
        assert message == f"x.csv: over the limit; set `{key}: 5000` under `limits:`."


def test_loader_messages_are_hints_in_sentences_not_engine_text():
    """A loader's own text never quotes DuckDB's or Spark's messages (``str(exc)``).

    A raise may format an exception's attributes a Python error defines (a decoding error's
    reason and byte), never the text of an engine's exception, nor a name that holds it.
    """
    # not an engine: the operating system's "Permission denied", openpyxl's "File is not a
    # zip file" say what is wrong with the file in words a user reads
    not_an_engine = {("_sources.py", "_sniff_header"), ("_sources.py", "_read_excel")}
    passed_on = []
    for path in sorted((CXLIB / "data").glob("*.py")):  # the Spark loader's modules too
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            if (path.name, function.name) in not_an_engine:
                continue
            engine_text = {"exc"}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and "str(exc)" in ast.unparse(node.value):
                    engine_text |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            for node in ast.walk(function):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                for part in ast.walk(node.exc):
                    if isinstance(part, ast.FormattedValue):
                        shown = ast.unparse(part.value)
                        names = {n.id for n in ast.walk(part.value) if isinstance(n, ast.Name)}
                        if names & engine_text and shown not in ("exc.reason", "exc.start"):
                            passed_on.append((path.name, node.lineno, shown))
    assert passed_on == []
