"""The run folder: its name, its reservation, and how an unfinished run is marked.

A run is written into ``<run-id>.partial/`` and renamed when it is complete; an interrupted
run is renamed ``<run-id>.interrupted/``, one whose folder could not be written
``<run-id>.failed/`` (:func:`mark_unfinished`). The runner (:mod:`cxlib.report.runner`) uses
these; :mod:`cxlib.report.runs` lists the runs of a client and how each ended.
"""

from __future__ import annotations

import datetime as dt
import errno
import signal
import threading
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cxlib.report import runs as _runs

__all__ = ["OutputError", "Terminated", "make_run_id"]

_REPORT_PACKAGES = (
    "pandas",
    "numpy",
    "scipy",
    "scikit-learn",
    "lifetimes",
    "lifelines",
    "papermill",
    "nbconvert",
)


class OutputError(Exception):
    """The report folder could not be written: disk full, read-only, ``--out`` not a folder.

    Raised by :func:`cxlib.report.build_report` with a one-line message; whatever was written
    is renamed ``<run-id>.failed`` so it never looks like a finished run.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM during a report run: handled like Ctrl-C (the run is marked interrupted)."""


def output_error(out: Path, exc: OSError) -> OutputError:
    """Say in one line why the report could not be written under ``out``."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "a path component is a file, not a folder",
        errno.EEXIST: "a file of that name is in the way",
    }
    reason = reasons.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename else ""
    return OutputError(f"could not write the report under {out}: {reason}{where}")


def client_dir(out: Path, client: str) -> Path:
    """``out/<client>``, refusing any client name that would lead elsewhere."""
    root = out.resolve()
    target = (root / client).resolve()
    if target.parent != root or not client or client.startswith("."):
        from cxlib import DataError

        raise DataError(f"client name {client!r} does not name a folder inside {root}")
    return target


class SigtermAsInterrupt:
    """While active (main thread only), SIGTERM raises :class:`Terminated` like Ctrl-C."""

    def __enter__(self) -> SigtermAsInterrupt:
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum: int, frame: Any) -> None:
        raise Terminated(f"terminated by signal {signum}")

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def source_state(directory: Path) -> dict[str, Any]:
    """Return the git commit of the cxlib checkout and whether cxlib or notebooks changed."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(directory), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "uncommitted_changes": None}
    status = git("status", "--porcelain", "--untracked-files=no", "--", "cxlib", "notebooks")
    return {"git_commit": commit, "uncommitted_changes": bool(status)}


def package_versions() -> dict[str, str]:
    """Return the versions of the packages the report's numbers depend on, as installed."""
    versions = {}
    for name in _REPORT_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def make_run_id(config_sha256: str, *, now: dt.datetime | None = None) -> str:
    """Make a run id: the UTC timestamp plus the first 8 hex digits of the config's hash.

    Examples
    --------
    >>> make_run_id("ab12cd34ef", now=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    '20260102T030405Z-ab12cd34'
    """
    now = now or dt.datetime.now(dt.UTC)
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{config_sha256[:8]}"


def reserve_run_dir(client_dir: Path, run_id: str) -> tuple[str, Path]:
    """Create ``<run-id>.partial`` whose final name is free; never reuse an earlier run's name."""
    client_dir.mkdir(parents=True, exist_ok=True)
    candidate, n = run_id, 1
    while True:
        suffixes = ("", ".partial", ".interrupted", ".failed", ".abandoned")
        names = [candidate + suffix for suffix in suffixes]
        if not any((client_dir / name).exists() for name in names):
            partial = client_dir / f"{candidate}.partial"
            try:
                partial.mkdir()
            except FileExistsError:
                pass
            else:
                return candidate, partial
        n += 1
        candidate = f"{run_id}-{n}"


def mark_unfinished(
    partial: Path,
    run_id: str,
    suffix: str,
    marker: str,
    text: str,
    write_manifest: Callable[[str], None],
) -> Path:
    """Rename an unfinished run ``<run-id>.<suffix>`` with a marker file saying why.

    Best effort: on a full or read-only disk the manifest or the marker may not be written,
    but the rename (no new data) usually still works, so no ``.partial`` folder is left.
    """
    for write in (
        lambda: write_manifest(suffix),
        lambda: (partial / marker).write_text(text, encoding="utf-8"),
        lambda: _runs.release(partial),
    ):
        try:
            write()
        except OSError:
            pass
    target = partial.with_name(f"{run_id}.{suffix}")
    try:
        partial.rename(target)
    except OSError:
        return partial
    return target


def mark_abandoned(client_dir: Path, console: Any) -> None:
    """Rename the client's runs whose runner is gone ``.abandoned`` (:mod:`cxlib.report.runs`)."""
    try:
        abandoned = _runs.mark_abandoned(client_dir) if client_dir.is_dir() else []
    except OSError:  # an unreadable folder: the run's own reservation reports it
        return
    for folder in abandoned:
        console.print(
            f"[yellow]abandoned[/] {folder.name}: its runner was killed or its machine stopped "
            "before it finished",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )


def write_runs_index(client_dir: Path, client: str) -> None:
    """Rewrite ``runs.json`` and ``runs.html`` of the client's runs; best effort."""
    try:
        _runs.write_runs_index(client_dir, client)
    except OSError:
        pass  # the run itself reports a folder it cannot write
