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


def test_every_public_module_is_reachable_from_a_bare_import_cxlib():
    import cxlib

    package = ROOT / "cxlib"
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.parent.name for p in package.glob("*/__init__.py") if p.parent.name[0] != "_"}
    modules.discard("cli")  # the command line, not a library module
    assert modules == set(cxlib._SUBMODULES)
    assert all(getattr(cxlib, name).__name__ == f"cxlib.{name}" for name in sorted(modules))


def test_every_cxlib_package_and_the_notebooks_are_in_the_build_configuration():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = pyproject["tool"]["setuptools"]
    folders = [ROOT / "cxlib", *(ROOT / "cxlib").rglob("*")]
    packages = {
        ".".join(p.relative_to(ROOT).parts)
        for p in folders
        if p.is_dir() and p.name != "__pycache__" and any(f.is_file() for f in p.iterdir())
    }
    # Subpackages and data folders (templates, _data) alike, plus the mapped notebooks.
    missing = packages - set(setuptools["packages"])
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
    assert set(setuptools["packages"]) == packages | {"cxlib.notebooks"}
    # The wheel's cxlib/notebooks/ is the repository's top-level notebooks/ folder.
    assert setuptools["package-dir"] == {"cxlib.notebooks": "notebooks"}
    assert setuptools["package-data"]["cxlib.notebooks"] == ["*.ipynb"]
    assert (ROOT / "cxlib" / "py.typed").is_file() and (ROOT / "LICENSE").is_file()
