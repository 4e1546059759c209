"""Report runs under hostile conditions (issue 14): SIGTERM, a full or read-only disk, a file
as ``--out``, a client name that points outside it. Each ends with one ``error:`` line, an exit
code of its own and no folder that looks like a finished (or silently unfinished) run.

The notebooks are never executed here: ``_execute`` is replaced by what the condition does to
papermill, so these tests take seconds.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time

import pytest
from typer.testing import CliRunner

import cxlib.report.runner
from cxlib import DataError
from cxlib.cli import EXIT_OUTPUT_ERROR, EXIT_TERMINATED, app
from cxlib.report import OutputError, Terminated, build_report
from tests.test_report import write_client, write_notebook

runner = CliRunner()


@pytest.fixture
def client(tmp_path):
    config = write_client(tmp_path)
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "01_quick.ipynb", [("code", "1 + 1")], parameters="seed = 0")
    return config, notebooks


def run_folders(tmp_path):
    return sorted(p.name for p in (tmp_path / "reports" / "tiny").iterdir() if p.is_dir())


def report_cli(tmp_path, config, notebooks, out=None):
    out = out or tmp_path / "reports"
    args = [
        "report",
        str(config),
        "--out",
        str(out),
        "--notebooks",
        str(notebooks),
        "--no-progress",
    ]
    return runner.invoke(app, args)


def test_sigterm_is_handled_like_ctrl_c(tmp_path, client, monkeypatch):
    config, notebooks = client

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this sleep
        raise AssertionError("SIGTERM was not handled")

    def not_handled(signum, frame):  # what runs if build_report does not handle SIGTERM
        raise AssertionError("build_report did not handle SIGTERM")

    monkeypatch.setattr(cxlib.report.runner, "_execute", terminated)
    before = signal.signal(signal.SIGTERM, not_handled)
    try:
        with pytest.raises(Terminated):
            build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    finally:
        handler = signal.signal(signal.SIGTERM, before)
    (folder,) = run_folders(tmp_path)
    assert folder.endswith(".interrupted")
    run_dir = tmp_path / "reports" / "tiny" / folder
    assert "SIGTERM" in (run_dir / "INTERRUPTED").read_text()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    assert handler is not_handled  # build_report put the previous handler back

    signal.signal(signal.SIGTERM, not_handled)
    try:
        result = report_cli(tmp_path, config, notebooks)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert result.exit_code == EXIT_TERMINATED
    assert "terminated (SIGTERM)" in result.output


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "the file system is read-only")],
)
def test_a_full_or_read_only_disk_during_a_notebook_is_one_error_line(
    tmp_path, client, monkeypatch, code, reason
):
    config, notebooks = client

    def disk_problem(source, target, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(cxlib.report.runner, "_execute", disk_problem)
    result = report_cli(tmp_path, config, notebooks)
    assert result.exit_code == EXIT_OUTPUT_ERROR
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: could not write the report under")
    assert reason in errors[0] and "Traceback" not in result.output
    (folder,) = run_folders(tmp_path)
    assert folder.endswith(".failed")  # never an unmarked .partial
    assert (tmp_path / "reports" / "tiny" / folder / "OUTPUT_ERROR").is_file()


def test_a_notebook_written_only_in_part_is_an_output_error_not_a_data_error(
    tmp_path, client, monkeypatch
):
    config, notebooks = client

    def truncated(source, target, *args, **kwargs):
        target.write_text('{"cells": [', encoding="utf-8")  # what a full disk leaves behind

    monkeypatch.setattr(cxlib.report.runner, "_execute", truncated)
    with pytest.raises(OutputError, match=r"written only in part"):
        build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    assert [name.endswith(".failed") for name in run_folders(tmp_path)] == [True]


def test_a_file_as_out_is_one_error_line(tmp_path, client):
    config, notebooks = client
    out = tmp_path / "reports.txt"
    out.write_text("not a folder")
    result = report_cli(tmp_path, config, notebooks, out=out)
    assert result.exit_code == EXIT_OUTPUT_ERROR
    assert result.output.startswith("error: could not write the report under")
    assert "not a folder" in result.output or "in the way" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_read_only_out_is_one_error_line(tmp_path, client, monkeypatch):
    config, notebooks = client

    def read_only(client_dir, run_id):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(client_dir))

    monkeypatch.setattr(cxlib.report.runner, "_reserve_run_dir", read_only)
    result = report_cli(tmp_path, config, notebooks)
    assert result.exit_code == EXIT_OUTPUT_ERROR
    assert "the file system is read-only" in result.output
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("name", ["..", ".", "../x", ".hidden", "a/../.."])
def test_a_client_name_cannot_lead_outside_out(tmp_path, name):
    with pytest.raises(DataError, match=r"does not name a folder inside"):
        cxlib.report.runner._client_dir(tmp_path / "reports", name)
    assert cxlib.report.runner._client_dir(tmp_path, "acme") == (tmp_path / "acme").resolve()


def test_the_manifest_hashes_the_file_that_was_read_even_with_glob_characters(
    tmp_path, monkeypatch
):
    from cxlib.run.loading import load_client
    from cxlib.settings.config import file_sha256

    config = write_client(tmp_path)
    data = tmp_path / "data"
    (data / "transactions[12].csv").write_text(
        "customer_id,date,amount\nliteral,2024-01-05,1\nliteral,2024-02-05,2\n", encoding="utf-8"
    )  # next to it, transactions1.csv would match the pattern transactions[12].csv
    (data / "transactions1.csv").write_text(
        "customer_id,date,amount\nglob,2024-01-05,9\n", encoding="utf-8"
    )
    config.write_text(
        config.read_text().replace("path: transactions.csv", 'path: "transactions[12].csv"')
    )
    assert load_client(config).transactions["customer_id"].tolist() == ["literal", "literal"]

    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "01_quick.ipynb", [("code", "1 + 1")], parameters="seed = 0")
    monkeypatch.setattr(cxlib.report.runner, "_execute", lambda *args, **kwargs: None)
    run = build_report(config, out=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    recorded = json.loads((run.run_dir / "manifest.json").read_text())["data_files"]
    assert recorded["transactions"]["path"].endswith("transactions[12].csv")
    assert recorded["transactions"]["sha256"] == file_sha256(data / "transactions[12].csv")
