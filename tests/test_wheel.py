"""cxlib as a data scientist installs it: a wheel in a fresh venv, used from an unrelated folder.

The wheel must carry everything ``cxlib report`` needs (the notebooks, the index template,
``py.typed``, the licence). To keep the test at seconds rather than minutes, the fresh venv gets
the wheel as its only installed package and reads the third-party dependencies from the test's
own environment (a plain path in a ``.pth`` file: that environment's editable cxlib is not
activated; ``JUPYTER_PATH`` for nbconvert's templates), except lifetimes, which is hidden: cxlib
must not need it at run time. Which versions a real install resolves to is checked separately,
with pip's resolver.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def run(command, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # setuptools builds in the source tree's build/ folder; a copy keeps a stale or concurrent
    # build there (a developer's `make wheel`, another test process) out of this one.
    source = tmp_path_factory.mktemp("source") / "cxlib"
    top_level = {".git", ".venv", "build", "data", "reports"}  # cxlib/data/ is a package: kept
    shutil.copytree(
        ROOT,
        source,
        ignore=lambda folder, names: [
            name
            for name in names
            if (Path(folder) == ROOT and name in top_level)
            or name in ("__pycache__", "site")
            or name.endswith(".egg-info")
        ],
    )
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        timeout=600,
    )
    (built,) = dist.glob("cxlib-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=300)
    python = venv / "bin" / "python"
    purelib = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        ).stdout.strip()
    )
    # The dependencies, from this environment's site-packages (not its editable cxlib).
    ours = {sysconfig.get_path("purelib"), *site.getsitepackages()}
    (purelib / "cxlib-test-deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    # lifetimes is a test-time reference, not a dependency: hide this environment's copy.
    (purelib / "lifetimes").mkdir()
    (purelib / "lifetimes" / "__init__.py").write_text(
        "raise ImportError('lifetimes is not a cxlib dependency (hidden by test_wheel)')\n"
    )
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        timeout=300,
    )
    return venv


def test_the_wheel_carries_notebooks_templates_types_and_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = run(["git", "-C", str(ROOT), "ls-files", "cxlib", "notebooks"]).stdout.split()
    shipped = (".py", ".ipynb", ".csv", ".gz", ".j2", ".css")
    # notebooks/NN_x.ipynb is mapped to cxlib/notebooks/NN_x.ipynb
    expected = {f if f.startswith("cxlib/") else f"cxlib/{f}" for f in tracked}
    expected = {f for f in expected if f.endswith(shipped)}
    assert expected and not expected - names, sorted(expected - names)
    assert NOTEBOOKS and {f"cxlib/notebooks/{name}" for name in NOTEBOOKS} <= names
    assert {"cxlib/py.typed", "cxlib/report/templates/index.html.j2", "cxlib/__main__.py"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    runtime = [line for line in requires if "extra ==" not in line]
    assert not any("lifetimes" in line.lower() for line in runtime)  # a test-time reference only
    assert any(
        line.startswith("Requires-Dist: pandas>=2.2") and "<3" not in line for line in runtime
    )


def test_an_installed_wheel_builds_the_demo_report_from_an_unrelated_folder(fresh_venv, tmp_path):
    bin_dir = fresh_venv / "bin"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    # The dependencies' data files (nbconvert's templates) live under their environment's prefix.
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = run(
        [
            str(bin_dir / "python"),
            "-c",
            "import cxlib, cxlib.report as r; print(cxlib.__file__); "
            "print(r.default_notebooks_dir()); print(cxlib.__version__)",
        ],
        cwd=elsewhere,
        env=env,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(fresh_venv)  # the wheel's cxlib, not the checkout's
    assert Path(where[1]) == Path(where[0]).parent / "notebooks"
    assert where[2] != "0+unknown"
    assert run([str(bin_dir / "cxlib"), "--version"], cwd=elsewhere, env=env).stdout.strip() == (
        f"cxlib {where[2]}"
    )

    run(
        [str(bin_dir / "cxlib"), "demo", "--out", "data/demo", "--n-customers", "1500"],
        cwd=elsewhere,
        env=env,
        timeout=300,
    )
    config = elsewhere / "demo.yaml"
    text = (ROOT / "clients" / "demo.yaml").read_text()
    config.write_text(text.replace("data_dir: ../data/demo", "data_dir: data/demo"))
    run(
        [
            str(bin_dir / "python"),
            "-m",
            "cxlib",
            "report",
            "demo.yaml",
            "--only",
            "00,04",
            "--no-progress",
        ],
        cwd=elsewhere,
        env=env,
        timeout=900,
    )
    (run_dir,) = (p for p in (elsewhere / "reports" / "demo").iterdir() if p.is_dir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [nb["name"] for nb in manifest["notebooks"]] == ["04_clv", "00_summary"]
    assert (run_dir / "html" / "04_clv.html").is_file() and (run_dir / "index.html").is_file()


def test_a_default_install_resolves_to_pandas_3_without_lifetimes(wheel, tmp_path):
    report = tmp_path / "resolution.json"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            str(wheel),
        ],
        timeout=600,
    )
    chosen = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert int(chosen["pandas"].split(".")[0]) >= 3, chosen["pandas"]
    assert "lifetimes" not in chosen
