"""The ``cxlib`` command line: exit codes and messages a consultant sees."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from cxlib.cli import EXIT_DATA_ERROR, EXIT_FAILED, app
from tests.conftest import ROOT
from tests.test_report import BAD_CELLS, GOOD_CELLS, GOOD_PARAMETERS, write_client, write_notebook

runner = CliRunner()


def test_validate_accepts_a_valid_client_and_counts_its_rows(tmp_path):
    config = write_client(tmp_path)
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 0, result.output
    assert "config and 1 data file(s) are valid" in result.output
    assert "transactions: 3 rows" in result.output


def test_validate_names_the_file_and_column_of_a_wrong_mapping_and_exits_2(tmp_path):
    config = write_client(tmp_path, amount_column="amount_eur")
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == EXIT_DATA_ERROR
    assert "transactions.csv" in result.output and "amount_eur" in result.output
    assert "Traceback" not in result.output


def test_report_on_a_bad_data_file_fails_in_seconds_without_a_traceback(tmp_path):
    config = write_client(tmp_path, amount_column="amount_eur")
    cli = [sys.executable, "-m", "cxlib.cli", "report", str(config), "--out", str(tmp_path / "r")]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == EXIT_DATA_ERROR
    assert done.stderr.startswith("error: ") and "amount_eur" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


def _report(tmp_path, config, notebooks, *options):
    """``cxlib report`` into tmp_path/r with the given notebooks folder, without progress bars."""
    args = ["report", str(config), "--out", str(tmp_path / "r"), "--notebooks", str(notebooks)]
    return runner.invoke(app, [*args, *options, "--no-progress"])


def test_report_runs_the_other_notebooks_reports_the_failure_and_exits_1(tmp_path):
    config = write_client(tmp_path)
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "01_good.ipynb", GOOD_CELLS, parameters=GOOD_PARAMETERS)
    write_notebook(notebooks / "02_bad.ipynb", BAD_CELLS, parameters="seed = 0")
    result = _report(tmp_path, config, notebooks)
    assert result.exit_code == EXIT_FAILED
    assert "FAILED 02_bad: cell 5 (In [4]): KeyError: 'segment'" in result.output
    runs = [p for p in (tmp_path / "r" / "tiny").iterdir() if p.is_dir()]  # not runs.json
    assert len(runs) == 1 and (runs[0] / "html" / "01_good.html").is_file()


def test_report_only_runs_the_named_notebooks(tmp_path):
    config = write_client(tmp_path)
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "01_quick.ipynb", [("code", "1 + 1")], parameters="seed = 0")
    write_notebook(notebooks / "02_bad.ipynb", BAD_CELLS, parameters="seed = 0")
    result = _report(tmp_path, config, notebooks, "--only", "01")
    assert result.exit_code == 0, result.output
    assert "index.html" in result.output


def test_report_with_an_unknown_notebook_name_exits_2(tmp_path):
    config = write_client(tmp_path)
    result = runner.invoke(app, ["report", str(config), "--only", "99_nothing"])
    assert result.exit_code == EXIT_DATA_ERROR
    assert "99_nothing" in result.output


def test_demo_writes_the_demo_files(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--n-customers", "200"])
    assert result.exit_code == 0, result.output
    for name in ("transactions.csv.gz", "customers.csv", "surveys.csv", "feedback.csv"):
        assert (tmp_path / "demo" / name).is_file()


def test_the_demo_config_validates_on_the_demo_data(tmp_path):
    from cxlib.demo import make_demo

    make_demo(n_customers=300, seed=3).write(tmp_path / "demo")
    config = tmp_path / "demo.yaml"
    text = (ROOT / "clients" / "demo.yaml").read_text()
    config.write_text(text.replace("data_dir: ../data/demo", f"data_dir: {tmp_path / 'demo'}"))
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 0, result.output
