"""What a check run produces."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from evodiag.catalog.model import Ref, Remediation


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    BLOCKED = "blocked"
    ERROR = "error"

    @property
    def is_finding(self) -> bool:
        return self in (Status.WARN, Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class Location:
    """The file and line a finding points at (an ``.env`` or compose line): where the user edits, and what CI
    annotations (``--format github``) attach the finding to."""

    file: str
    line: int

    @classmethod
    def parse(cls, text: object) -> Location | None:
        """``path:line`` (or ``path:line: message``, an evidence line) -> a location; anything else -> None."""
        match = _FILE_LINE.match(text) if isinstance(text, str) else None
        return cls(match.group(1), int(match.group(2))) if match else None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}


_FILE_LINE = re.compile(r"^([^\s:][^:\n]*):([1-9][0-9]*)(?::|$)")


@dataclass
class Outcome:
    """What a check concluded. Probes return one; the engine wraps it into a :class:`Result`."""

    status: Status
    message: str
    remediation: Remediation | None = None
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    refs: tuple[Ref, ...] = ()
    notes: list[str] = field(default_factory=list)
    error_kind: str | None = None
    location: Location | None = None


@dataclass
class Result:
    id: str
    stage: str
    title: str
    severity: str
    status: Status
    message: str
    remediation: Remediation | None = None
    blocked_by: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    refs: tuple[Ref, ...] = ()
    notes: list[str] = field(default_factory=list)
    error_kind: str | None = None
    duration_ms: float = 0.0
    exchanges: int = 0
    round_trips: int = 0
    location: Location | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "stage": self.stage, "status": self.status.value, "severity": self.severity,
            "title": self.title, "message": self.message,
            "remediation": self.remediation.to_dict() if self.remediation else None,
            "blocked_by": list(self.blocked_by), "evidence": list(self.evidence),
            "details": self.details, "refs": [r.to_dict() for r in self.refs], "notes": list(self.notes),
            "error_kind": self.error_kind, "duration_ms": round(self.duration_ms, 1),
            "location": self.location.to_dict() if self.location else None,
        }
