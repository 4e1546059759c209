import re
import tomllib

import yaml

from tests.conftest import ROOT


def _name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(.*)$", requirement)
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_runtime_dependencies_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pip_deps = dict(_name_and_spec(r) for r in pyproject["project"]["dependencies"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_deps = dict(
        _name_and_spec(d) for d in env["dependencies"] if isinstance(d, str) and d not in ("pip",)
    )
    conda_deps.pop("python")
    assert conda_deps == pip_deps


def test_import_cxlib_is_light_and_exposes_submodules_lazily():
    import subprocess
    import sys

    code = (
        "import sys, cxlib; "
        "assert 'matplotlib' not in sys.modules and 'lifetimes' not in sys.modules, 'heavy import'; "
        "assert cxlib.DataError.__mro__[1] is ValueError; "
        "print(sorted(cxlib.__all__) == cxlib.__all__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
