"""What a check run produces."""

from __future__ import annotations

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "stage": self.stage, "status": self.status.value, "severity": self.severity,
            "title": self.title, "message": self.message,
            "remediation": self.remediation.to_dict() if self.remediation else None,
            "blocked_by": list(self.blocked_by), "evidence": list(self.evidence),
            "details": self.details, "refs": [r.to_dict() for r in self.refs], "notes": list(self.notes),
            "error_kind": self.error_kind, "duration_ms": round(self.duration_ms, 1),
        }
