"""The command line as a program: ``python -m cxlib``, ``--version``, help and usage exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cxlib
from cxlib.cli import EXIT_DATA_ERROR, EXIT_USAGE
from tests.test_report import write_client


def cxlib_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cxlib", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_python_dash_m_cxlib_prints_the_installed_version(tmp_path):
    done = cxlib_cli("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cxlib {cxlib.__version__}"
    assert cxlib.__version__ != "0+unknown"


def test_help_is_plain_words_and_lists_every_exit_code():
    done = cxlib_cli("--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # rich wraps lines and draws boxes
    assert "``" not in done.stdout and ":func:" not in done.stdout  # no reStructuredText
    for command in ("demo", "validate", "report"):
        assert command in text
    for code in (0, 1, 2, 3, 64, 130, 143):
        assert f"{code} " in text


@pytest.mark.parametrize(
    "args",
    [
        ("reprot", "clients/demo.yaml"),  # unknown command
        ("report",),  # missing argument
        ("report", "clients/demo.yaml", "--bogus"),  # unknown option
        ("demo", "--n-customers", "many"),  # a value of the wrong type
        (),  # no command at all: the help, as a usage error
    ],
)
def test_usage_errors_exit_64_not_the_data_error_code(args):
    done = cxlib_cli(*args)
    assert done.returncode == EXIT_USAGE != EXIT_DATA_ERROR, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_data_still_exits_2(tmp_path):
    config = write_client(tmp_path, amount_column="amount_eur")
    done = cxlib_cli("validate", str(config))
    assert done.returncode == EXIT_DATA_ERROR
    assert done.stderr.startswith("error: ") and "amount_eur" in done.stderr
