"""Runs that say how they ended (issue 27, item 5), and the cache seen from a report run.

A run killed without warning (SIGKILL) leaves ``<run-id>.partial`` with its owner file; the next
run of the client renames it ``.abandoned`` and the client's index of runs says so, while a run
whose process is alive is never touched. A report run on a damaged cache gives the clean run's
headlines, and a notice raised in a kernel goes to its log, not to the pages.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cxlib.report import build_report
from cxlib.report import runs as _runs
from tests.conftest import ROOT
from tests.test_report import write_client, write_notebook


def run_cli(config: Path, out: Path, notebooks: Path, **kwargs) -> subprocess.Popen:
    args = [sys.executable, "-m", "cxlib", "report", str(config), "--out", str(out)]
    args += ["--notebooks", str(notebooks), "--no-progress"]
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the kill takes its kernel too
        **kwargs,
    )


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def folders(client_dir: Path) -> list[str]:
    return sorted(p.name for p in client_dir.iterdir() if p.is_dir())


def runs_index(client_dir: Path) -> dict[str, str]:
    runs = json.loads((client_dir / "runs.json").read_text())["runs"]
    return {run["folder"]: run["status"] for run in runs}


@pytest.mark.slow
def test_a_killed_run_is_marked_abandoned_by_the_next_run_and_a_live_one_is_not(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "cache"))
    config = write_client(tmp_path)
    out = tmp_path / "reports"
    client_dir = out / "tiny"
    slow = write_notebook(
        tmp_path / "slow" / "01_slow.ipynb",
        [("code", "import time\ntime.sleep(30)")],
        parameters=None,
    ).parent
    quick = write_notebook(
        tmp_path / "quick" / "01_quick.ipynb", [("code", "1 + 1")], parameters=None
    ).parent

    killed = run_cli(config, out, slow, env={**os.environ})
    try:
        wait_for(lambda: list(client_dir.glob("*.partial/logs/01_slow.log")))
        (partial,) = client_dir.glob("*.partial")
        owner = json.loads((partial / _runs.LOCK).read_text())
        assert owner["pid"] == killed.pid and owner["host"] == socket.gethostname()

        # a second run while the first is alive leaves it alone
        second = build_report(config, out=out, notebooks_dir=quick, progress=False)
        assert second.status == "complete"
        assert partial.is_dir() and runs_index(client_dir)[partial.name] == "running"
        assert not (second.run_dir / _runs.LOCK).exists()  # a finished run has no owner file
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # no warning: nothing of the runner runs after
        killed.wait(timeout=30)
    assert partial.is_dir() and (partial / _runs.LOCK).is_file()  # what SIGKILL leaves behind

    third = build_report(config, out=out, notebooks_dir=quick, progress=False)
    abandoned = partial.with_name(partial.name.removesuffix(".partial") + ".abandoned")
    assert folders(client_dir) == sorted([abandoned.name, second.run_dir.name, third.run_dir.name])
    text = (abandoned / "ABANDONED").read_text()
    assert f"pid {killed.pid}" in text and "killed" in text
    assert json.loads((abandoned / "manifest.json").read_text())["status"] == "abandoned"
    index = runs_index(client_dir)
    assert index == {
        abandoned.name: "abandoned",
        second.run_dir.name: "complete",
        third.run_dir.name: "complete",
    }
    page = (client_dir / "runs.html").read_text()
    assert abandoned.name in page and "abandoned" in page


def test_whose_run_is_alive(tmp_path):
    me = _runs._owner()
    assert _runs.owner_alive(me, time.time())
    # the same pid started at another time is another process: the run's owner is gone
    assert not _runs.owner_alive({**me, "process_start": "1"}, time.time())
    # after a reboot nothing of the run survives
    assert not _runs.owner_alive({**me, "boot_id": "another-boot"}, time.time())
    # a process that has ended
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert not _runs.owner_alive({**me, "pid": int(done.stdout), "process_start": None}, 0.0)
    # another host: only the heartbeat tells
    other = {**me, "host": "elsewhere"}
    assert _runs.owner_alive(other, time.time() - 60)
    assert not _runs.owner_alive(other, time.time() - _runs.STALE_SECONDS - 1)


def test_a_partial_run_without_an_owner_file_is_left_alone_and_listed_unknown(tmp_path):
    client_dir = tmp_path / "tiny"
    legacy = client_dir / "20260101T000000Z-aaaaaaaa.partial"
    legacy.mkdir(parents=True)
    assert _runs.mark_abandoned(client_dir) == []
    _runs.write_runs_index(client_dir, "tiny")
    assert legacy.is_dir() and runs_index(client_dir) == {legacy.name: "unknown"}


def test_the_heartbeat_touches_the_owner_file_until_it_is_released(tmp_path):
    _runs.claim(tmp_path)
    lock = tmp_path / _runs.LOCK
    os.utime(lock, (0, 0))
    with _runs.Heartbeat(tmp_path, every=0.05):
        wait_for(lambda: lock.stat().st_mtime > 0, timeout=5)
    _runs.release(tmp_path)
    assert not lock.exists()


# --- the cache seen from a report run -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    from cxlib.demo import make_demo

    data = tmp_path_factory.mktemp("ends_client")
    make_demo(n_customers=400, seed=5).write(data)
    text = (ROOT / "clients" / "demo.yaml").read_text()
    config = data / "demo.yaml"
    config.write_text(text.replace("data_dir: ../data/demo", f"data_dir: {data}"))
    return config


def headlines_of(run) -> dict:
    folder = run.run_dir / "headlines"
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


@pytest.mark.slow
def test_a_report_on_a_damaged_cache_gives_the_clean_runs_headlines(
    demo_config, tmp_path, monkeypatch
):
    from tests.test_cache import damaged_files, entries_folder, flip, pickle_payload

    root = tmp_path / "cache"
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(root))
    notebooks = ROOT / "notebooks"
    clean = build_report(demo_config, out=tmp_path / "r", notebooks_dir=notebooks, only=["04"])
    assert clean.status == "complete"

    folder = entries_folder(root)
    markers = []
    for position, file in enumerate(damaged_files(root)):
        flip(folder / file, 0.1 if position % 2 else 0.5)
    for entry in ("tables", "base", "value_fit", "churn_threshold_days"):
        markers.append(tmp_path / f"ran-{entry}")
        (folder / f"{entry}.pkl").write_bytes(pickle_payload(markers[-1]))
    again = build_report(demo_config, out=tmp_path / "r", notebooks_dir=notebooks, only=["04"])
    assert again.status == "complete"
    assert not [m for m in markers if m.exists()]
    assert headlines_of(again) == headlines_of(clean)
    notices = json.loads((again.run_dir / "manifest.json").read_text())["steps"]["cache_notices"]
    for entry in ("tables", "base", "value_fit", "churn_threshold_days"):
        assert any(f"entry {entry} " in line for line in notices), entry


@pytest.mark.slow
def test_a_notice_in_a_kernel_goes_to_its_log_not_to_the_pages(demo_config, tmp_path, monkeypatch):
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "cache"))
    damage = (
        "import cxlib\n"
        "client = cxlib.open_client(config_path)\n"
        "(path,) = client._cache.folder.glob('base.*.0.arrow')\n"
        "data = bytearray(path.read_bytes())\n"
        "data[len(data) // 2] ^= 0xFF\n"
        "path.write_bytes(bytes(data))\n"
        "again = cxlib.open_client(config_path)\n"
        "again.base.shape"
    )
    notebooks = tmp_path / "notebooks"
    write_notebook(notebooks / "01_damage.ipynb", [("code", damage)], parameters='config_path = ""')
    run = build_report(demo_config, out=tmp_path / "r", notebooks_dir=notebooks, progress=False)
    assert run.status == "complete"
    log = (run.run_dir / "logs" / "01_damage.log").read_text()
    assert "cxlib cache: entry base in" in log and "failed its checksum" in log
    for page in ("html/01_damage.html", "html/01_damage.full.html", "index.html"):
        assert "cxlib cache" not in (run.run_dir / page).read_text(), page
