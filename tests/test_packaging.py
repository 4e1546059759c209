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
        "heavy = {'matplotlib', 'lifetimes', 'papermill'} & set(sys.modules); "
        "assert not heavy, heavy; "
        "assert cxlib.DataError.__mro__[1] is ValueError; "
        "print(sorted(cxlib.__all__) == cxlib.__all__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_every_public_plot_function_is_exported_from_plots():
    import inspect

    from cxlib import plots

    public = {
        name
        for name, obj in vars(plots).items()
        if inspect.isfunction(obj) and obj.__module__ == plots.__name__ and not name.startswith("_")
    }
    assert public == set(plots.__all__)
    assert plots.__all__ == sorted(plots.__all__)


def test_package_all_lists_every_lazy_submodule():
    import cxlib

    assert set(cxlib.__all__) == {"DataError", "__version__", *cxlib._SUBMODULES}
