"""How a report run says how it ended: its owner's lock, abandoned runs, the client's index of runs.

A run being written is ``reports/<client>/<run-id>.partial/`` holding ``RUNNING.json``: the
owner's pid, host, boot and process start time, and the run's start; the runner touches the
file every :data:`HEARTBEAT_SECONDS` while it works (:class:`Heartbeat`). The next ``cxlib
report`` for the client (:func:`mark_abandoned`) renames a ``.partial`` whose owner is gone
``<run-id>.abandoned/``, with an ``ABANDONED`` file saying whose run it was and the manifest's
status ``"abandoned"``. An owner is gone when, on this host, its process no longer exists (or
the pid now belongs to another process, or the machine rebooted since); on another host, when
its heartbeat is older than :data:`STALE_SECONDS`. A live run on this host is never touched,
whatever its heartbeat; a ``.partial`` without an owner file is left alone and listed as
``"unknown"``.

The index of runs is ``reports/<client>/runs.json`` and ``reports/<client>/runs.html``: every
run folder with its status (complete, failed, interrupted, abandoned, running, unknown), its
start and end, rewritten when a run starts and when it ends (:func:`write_runs_index`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from cxlib.report.render import render

__all__ = [
    "HEARTBEAT_SECONDS",
    "LOCK",
    "STALE_SECONDS",
    "Heartbeat",
    "claim",
    "list_runs",
    "mark_abandoned",
    "owner_alive",
    "write_runs_index",
]

#: The owner file of a run being written.
LOCK = "RUNNING.json"
#: Seconds between two touches of the owner file.
HEARTBEAT_SECONDS = 30.0
#: A run of another host whose owner file is older than this is abandoned.
STALE_SECONDS = 15 * 60.0

#: Folder suffix -> the status it means (a finished run's comes from its manifest).
_SUFFIXES = {
    ".partial": "running",
    ".interrupted": "interrupted",
    ".failed": "failed",
    ".abandoned": "abandoned",
}


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """Return the process's start in clock ticks since boot (Linux), or None where unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    except OSError:
        return False
    return True


def _owner() -> dict[str, Any]:
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "boot_id": _boot_id(),
        "process_start": _process_start(pid),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def claim(partial: Path) -> None:
    """Write the owner file of a run folder just reserved (``<run-id>.partial``)."""
    (partial / LOCK).write_text(json.dumps(_owner(), indent=1), encoding="utf-8")


def release(partial: Path) -> None:
    """Remove the owner file before a run folder gets its final name."""
    (partial / LOCK).unlink(missing_ok=True)


class Heartbeat:
    """Touch ``<run>/RUNNING.json`` every :data:`HEARTBEAT_SECONDS` from a thread.

    The thread ends when the file is gone (:func:`release`, or the folder renamed at the
    run's end), when :meth:`close` is called, or with the process.
    """

    def __init__(self, partial: Path, every: float = HEARTBEAT_SECONDS):
        self.path = partial / LOCK
        self.every = every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="cxlib-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            try:
                os.utime(self.path)
            except OSError:  # renamed or removed at the end of the run
                return

    def start(self) -> Heartbeat:
        """Start the thread; return ``self``."""
        self.thread.start()
        return self

    def close(self) -> None:
        """Stop the thread."""
        self.stop.set()
        self.thread.join(timeout=5)

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def owner_alive(owner: dict[str, Any], heartbeat: float, *, now: float | None = None) -> bool:
    """Whether the process that wrote ``owner`` may still be writing its run.

    ``heartbeat`` is the owner file's modification time (seconds since the epoch).
    """
    now = time.time() if now is None else now
    if owner.get("host") != socket.gethostname():
        return now - heartbeat < STALE_SECONDS
    boot = _boot_id()
    if owner.get("boot_id") and boot and owner["boot_id"] != boot:
        return False  # the machine restarted since: no process of that run survives
    pid = owner.get("pid")
    if type(pid) is not int or pid <= 0 or not _pid_exists(pid):
        return False
    started = owner.get("process_start")
    return not (started and _process_start(pid) not in (None, started))  # pid reused


def _read_owner(partial: Path) -> tuple[dict[str, Any], float] | None:
    path = partial / LOCK
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
        heartbeat = path.stat().st_mtime
    except (OSError, ValueError):
        return None
    return (owner, heartbeat) if isinstance(owner, dict) else None


def mark_abandoned(client_dir: Path) -> list[Path]:
    """Rename each ``<run-id>.partial`` whose owner is gone ``<run-id>.abandoned``.

    Writes ``ABANDONED`` (whose run it was, who found it) and the manifest's status first.
    Best effort: a folder that cannot be changed is left as it is. Returns the renamed folders.
    """
    renamed = []
    for partial in sorted(client_dir.glob("*.partial")):
        found = _read_owner(partial) if partial.is_dir() else None
        if found is None or owner_alive(*found):
            continue
        owner, heartbeat = found
        last = dt.datetime.fromtimestamp(heartbeat, dt.UTC).isoformat(timespec="seconds")
        text = (
            f"This run ended without finishing: its process (pid {owner.get('pid')} on "
            f"{owner.get('host')}, started {owner.get('started_at')}) is gone, last seen "
            f"{last}. It was killed, or its machine stopped; its pages are incomplete.\n"
            f"Found by pid {os.getpid()} on {socket.gethostname()} at "
            f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}.\n"
        )
        target = partial.with_name(partial.name.removesuffix(".partial") + ".abandoned")
        try:
            (partial / "ABANDONED").write_text(text, encoding="utf-8")
            _set_manifest_status(partial / "manifest.json", "abandoned", owner)
            partial.rename(target)
        except OSError:
            continue  # read-only, or another runner renamed it first
        renamed.append(target)
    return renamed


def _set_manifest_status(path: Path, status: str, owner: dict[str, Any]) -> None:
    """Set the manifest's status; write a manifest of what is known when the run wrote none."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if not isinstance(manifest, dict):  # killed before the end, when the manifest is written
        manifest = {
            "run_id": path.parent.name.removesuffix(".partial"),
            "started_at": owner.get("started_at"),
            "finished_at": None,
            "owner": {key: owner.get(key) for key in ("pid", "host", "started_at")},
        }
    manifest["status"] = status
    path.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")


def list_runs(client_dir: Path) -> list[dict[str, Any]]:
    """Every run folder of a client, oldest first, with its status and times."""
    runs = []
    for folder in sorted(p for p in client_dir.iterdir() if p.is_dir()):
        name = folder.name
        if name.startswith("."):
            continue
        suffix = next((s for s in _SUFFIXES if name.endswith(s)), "")
        if not suffix and "." in name:
            continue  # not a run folder
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            manifest = manifest if isinstance(manifest, dict) else {}
        except (OSError, ValueError):
            manifest = {}
        status = _SUFFIXES.get(suffix) or str(manifest.get("status", "unknown"))
        record: dict[str, Any] = {
            "run_id": name.removesuffix(suffix),
            "folder": name,
            "status": status,
            "started_at": manifest.get("started_at"),
            "finished_at": manifest.get("finished_at"),
        }
        if suffix == ".partial":
            found = _read_owner(folder)
            if found is None:
                record["status"] = "unknown"  # no owner file: cannot tell
            else:
                if not owner_alive(*found):  # not renamed yet (read-only folder?)
                    record["status"] = "abandoned"
                record["owner"] = {k: found[0].get(k) for k in ("pid", "host", "started_at")}
                record["started_at"] = record["started_at"] or found[0].get("started_at")
        runs.append(record)
    return runs


def write_runs_index(client_dir: Path, client: str) -> Path:
    """Write ``runs.json`` and ``runs.html`` listing the client's runs; return the JSON's path."""
    runs = list_runs(client_dir)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    path = client_dir / "runs.json"
    _write(path, json.dumps({"client": client, "updated_at": now, "runs": runs}, indent=2))
    shown = [
        {
            **run,
            # a finished run links to its index; an unfinished or failed one has none
            "link": run["status"] in ("complete", "failed")
            and not run["folder"].endswith(".failed"),
        }
        for run in reversed(runs)
    ]
    page = render("runs.html.j2", client=client, now=now, runs=shown) + "\n"
    _write(client_dir / "runs.html", page)
    return path


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
