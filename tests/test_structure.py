"""The shape of the code: one-way imports, small modules and functions, thin notebooks.

Checked from the source, without importing cxlib, so that a cycle or an oversized module is
reported as such rather than as whatever error it causes at import time:

* no import cycle among cxlib's modules, counting every import: at the top, inside functions,
  under ``TYPE_CHECKING``, relative ones, and ``from package import submodule``;
* no module over :data:`MAX_MODULE_LINES` lines and no function body over
  :data:`MAX_FUNCTION_LINES` lines;
* every notebook a thin story: at most :data:`MAX_NOTEBOOK_CODE_LINES` non-blank code lines
  and no ``def`` or ``class`` (the logic lives in cxlib, where it is tested);
* the layers contract (``[tool.importlinter]`` in pyproject.toml) holds, so the suite checks
  it as ``make lint`` does.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

CXLIB = ROOT / "cxlib"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

MAX_MODULE_LINES = 600
#: A body is counted from its first statement after the docstring to its last line (blank and
#: comment lines included): the docstring documents the function, it does not make it long.
MAX_FUNCTION_LINES = 100
MAX_NOTEBOOK_CODE_LINES = 55


# --- the import graph, read from the source --------------------------------------------------


def module_files(package: Path = CXLIB) -> dict[str, Path]:
    """Return every module's dotted name and file (a package is its ``__init__.py``)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(module: str, path: Path, modules: dict[str, Path]):
    """Yield (imported cxlib module, line) for every import statement of ``module``.

    ``import a.b.c`` imports ``a.b.c`` (or, when that is a name in a module, the module that
    holds it); ``from a.b import c`` imports ``a.b.c`` when that is a module, else ``a.b``. The
    parent packages a dotted import runs are not counted, as import-linter does not count them.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, one level up per extra dot
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t if t in modules else source for t in targets]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # a name inside a module: that module
                target = target.rpartition(".")[0]
            if target and target != module:
                yield target, node.lineno


def import_graph(package: Path = CXLIB) -> dict[str, dict[str, int]]:
    """Return, for each module of the package, the modules of it that it imports (and where)."""
    modules = module_files(package)
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        for target, line in _imported(name, path, modules):
            graph[name].setdefault(target, line)
    return graph


def _strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Return the groups of modules that import each other, directly or not (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in graph:
        if root in index:
            continue
        # iterative depth-first search: (module, its not yet visited imports)
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(graph[target])))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def _cycle_in(group: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """Return one shortest cycle through the group's first module: [a, b, ..., a]."""
    start, members = group[0], set(group)
    came_from = {start: None}
    queue = [start]
    for node in queue:  # breadth first, within the group
        for target in graph[node]:
            if target == start:
                path = [node]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target in members and target not in came_from:
                came_from[target] = node
                queue.append(target)
    raise AssertionError(f"no cycle found in {group}")  # a group always holds one


def describe(cycle: list[str], graph: dict[str, dict[str, int]], package: Path = CXLIB) -> str:
    """Say the cycle, then where each of its imports is."""
    files = module_files(package)
    steps = [
        f"  {a} imports {b} ({files[a].relative_to(package.parent)}:{graph[a][b]})"
        for a, b in zip(cycle, cycle[1:], strict=False)
    ]
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_the_import_graph_counts_every_kind_of_import(tmp_path):
    """Imports inside functions, under TYPE_CHECKING, relative and of submodules all count."""
    package = tmp_path / "cxlib"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from cxlib.sub import leaf\n",
        "a.py": "def f():\n    from cxlib import b\n",
        "b.py": "import typing\nif typing.TYPE_CHECKING:\n    from .sub.leaf import X\n",
        "sub/__init__.py": "",
        "sub/leaf.py": "from .. import c\nimport cxlib.a\n",
        "c.py": "import cxlib.sub.leaf.X\nimport os\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    graph = import_graph(package)
    assert graph == {
        "cxlib": {"cxlib.sub.leaf": 1},
        "cxlib.a": {"cxlib.b": 2},
        "cxlib.b": {"cxlib.sub.leaf": 3},
        "cxlib.c": {"cxlib.sub.leaf": 1},
        "cxlib.sub": {},
        "cxlib.sub.leaf": {"cxlib.c": 1, "cxlib.a": 2},
    }
    groups = _strongly_connected(graph)
    assert groups == [["cxlib.a", "cxlib.b", "cxlib.c", "cxlib.sub.leaf"]]
    cycle = _cycle_in(groups[0], graph)
    assert cycle == ["cxlib.a", "cxlib.b", "cxlib.sub.leaf", "cxlib.a"]
    assert describe(cycle, graph, package).splitlines() == [
        "cxlib.a -> cxlib.b -> cxlib.sub.leaf -> cxlib.a",
        "  cxlib.a imports cxlib.b (cxlib/a.py:2)",
        "  cxlib.b imports cxlib.sub.leaf (cxlib/b.py:3)",
        "  cxlib.sub.leaf imports cxlib.a (cxlib/sub/leaf.py:2)",
    ]


def test_no_import_cycle_among_cxlib_modules():
    graph = import_graph()
    assert len(graph) > 50  # the whole package was read
    cycles = [describe(_cycle_in(group, graph), graph) for group in _strongly_connected(graph)]
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(cycles)


# --- sizes -----------------------------------------------------------------------------------


def _body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = function.body
    if (
        len(body) > 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    return function.end_lineno - body[0].lineno + 1


def oversized() -> list[str]:
    """Return every module and function of cxlib over the limits, with its size."""
    found = []
    for path in sorted(CXLIB.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{where}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = _body_lines(node)
                if body > MAX_FUNCTION_LINES:
                    found.append(
                        f"{where}:{node.lineno} {node.name}: body of {body} lines "
                        f"(at most {MAX_FUNCTION_LINES})"
                    )
    return found


def test_body_lines_leave_out_the_docstring():
    code = 'def f():\n    """Doc.\n\n    More.\n    """\n    x = 1\n\n    return x\n'
    assert _body_lines(ast.parse(code).body[0]) == 3
    assert _body_lines(ast.parse('def g():\n    """Only a docstring."""\n').body[0]) == 1


def test_no_module_over_600_lines_and_no_function_body_over_100_lines():
    offenders = oversized()
    assert not offenders, f"{len(offenders)} over the limits:\n" + "\n".join(offenders)


# --- notebooks -------------------------------------------------------------------------------


def _code_cells(notebook: Path) -> list[str]:
    cells = nbformat.read(str(notebook), as_version=4).cells
    return [cell.source for cell in cells if cell.cell_type == "code"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_is_a_thin_story_with_at_most_55_lines_of_code(notebook):
    code = [line for source in _code_cells(notebook) for line in source.splitlines()]
    lines = len([line for line in code if line.strip()])
    assert lines <= MAX_NOTEBOOK_CODE_LINES, f"{notebook.name}: {lines} lines of code"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_defines_no_function_or_class(notebook):
    defined = [
        line
        for source in _code_cells(notebook)
        for line in source.splitlines()
        if re.match(r"\s*(async\s+def|def|class)\s", line)
    ]
    assert not defined, f"{notebook.name}: {defined}"


def test_the_notebooks_are_found():
    assert NOTEBOOKS, f"no notebook in {ROOT / 'notebooks'}"


# --- the layers contract ---------------------------------------------------------------------


def test_the_import_linter_layers_contract_is_kept():
    """``lint-imports`` (the contract in pyproject.toml) passes, as in ``make lint``."""
    program = Path(sys.executable).with_name("lint-imports")
    command = str(program) if program.exists() else shutil.which("lint-imports")
    assert command, "import-linter is not installed: pip install -e '.[dev]'"
    run = subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
