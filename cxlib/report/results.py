"""What a report run records: one :class:`NotebookRun` per page, one :class:`ReportRun` in all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["NotebookRun", "ReportRun"]


@dataclass
class NotebookRun:
    """What happened to one notebook in a report run."""

    name: str
    title: str = ""
    status: str = "pending"  # "ok", "failed", "skipped", "interrupted", "pending"
    seconds: float = 0.0
    html_seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)
    unknown_parameters: list[str] = field(default_factory=list)
    warnings: int = 0
    error: str | None = None
    cell: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # why a skipped notebook did not run

    @property
    def failure_line(self) -> str | None:
        """The one-line failure report, or ``None`` when the notebook did not fail."""
        return None if self.status != "failed" else f"{self.name}: {self.error}"


@dataclass
class ReportRun:
    """The outcome of :func:`build_report`."""

    run_dir: Path
    run_id: str
    status: str  # "complete", "failed", "interrupted"
    notebooks: list[NotebookRun]
    seconds: float

    @property
    def ok(self) -> bool:
        """True when every notebook ran or was skipped for a reason."""
        return self.status == "complete"

    @property
    def failures(self) -> list[str]:
        """One line per failed notebook."""
        return [nb.failure_line for nb in self.notebooks if nb.failure_line]
