"""JupyterLab's kernel: ``make kernel`` (and ``make lab``) install a kernel named "cxlib"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_a_notebook_runs_through_the_kernel_named_cxlib(tmp_path):
    import papermill
    from jupyter_client.kernelspec import KernelSpecManager

    # The same command as `make kernel`: a kernelspec inside this environment's sys-prefix.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ipykernel",
            "install",
            "--sys-prefix",
            "--name",
            "cxlib",
            "--display-name",
            "cxlib",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    spec = KernelSpecManager().get_kernel_spec("cxlib")
    assert spec.display_name == "cxlib"
    assert Path(spec.resource_dir).is_relative_to(Path(sys.prefix))
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()

    headlines = tmp_path / "headlines"
    headlines.mkdir()
    recorded = [
        {
            "notebook": "01_value",
            "key": "total_value",
            "label": "Total value",
            "value": 1234567.0,
            "unit": "currency",
            "ci_low": None,
            "ci_high": None,
            "note": "",
        }
    ]
    (headlines / "01_value.json").write_text(json.dumps(recorded))
    nb = nbformat.read(ROOT / "notebooks" / "00_summary.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    source = tmp_path / "00_summary.ipynb"
    nbformat.write(nb, source)

    executed = papermill.execute_notebook(
        str(source),
        str(tmp_path / "out.ipynb"),
        kernel_name="cxlib",
        parameters={"headlines_dir": str(headlines)},
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    outputs = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs]
    text = json.dumps([o for o in outputs if o.get("output_type") != "error"])
    assert "Total value" in text and "1.23M" in text  # the parameter reached the kernel
    printed = outputs[-1]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()
    # papermill looks the kernel up by name: an unknown name fails instead of falling back.
    from jupyter_client.kernelspec import NoSuchKernel

    with pytest.raises(NoSuchKernel):
        papermill.execute_notebook(
            str(source),
            str(tmp_path / "never.ipynb"),
            kernel_name="cxlib-not-installed",
            progress_bar=False,
        )
