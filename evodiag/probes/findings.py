"""Turn several findings of one check into one outcome.

Why: a config or network check often finds more than one thing (two typos, two broken edges). The result has
one status and one message, so the worst finding leads; the others stay visible as notes, and every finding's
``file:line`` evidence is kept. The wording of each finding is the catalog diagnosis it names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Location, Outcome, Status

_RANK = {Status.ERROR: 5, Status.FAIL: 4, Status.WARN: 3, Status.PASS: 2, Status.SKIP: 1}


@dataclass
class Finding:
    """One catalog diagnosis (by name) with the values its message needs and its evidence lines."""

    diagnosis: str
    values: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)


def status_of(ctx: ProbeContext, finding: Finding) -> Status:
    return Status(ctx.check.diagnosis(finding.diagnosis).status)


def combine(ctx: ProbeContext, findings: list[Finding], *, fallback: Finding, notes: list[str] | None = None,
            details: dict[str, Any] | None = None) -> Outcome:
    """The worst finding's diagnosis, the others' messages as notes; ``fallback`` when there is none."""
    ranked = sorted(findings, key=lambda f: _RANK[status_of(ctx, f)], reverse=True)
    lead = ranked[0] if ranked else fallback
    outcome = ctx.diagnose(lead.diagnosis, **lead.values)
    problems = [f for f in ranked if status_of(ctx, f) in (Status.FAIL, Status.WARN, Status.ERROR)]
    evidence: list[str] = []
    for finding in ranked or [fallback]:
        evidence.extend(line for line in finding.evidence if line not in evidence)
    others = [ctx.diagnose(f.diagnosis, **f.values).message for f in problems if f is not lead]
    if others:
        outcome.message += f" (+{len(others)} more, see notes)"
    outcome.evidence = evidence
    outcome.notes = others + list(notes or [])
    outcome.details = dict(details or {})
    outcome.location = location_of(lead)
    return outcome


def location_of(finding: Finding) -> Location | None:
    """The ``file:line`` a finding names as its ``origin`` (config findings do), or its first evidence line's.
    Only a file that exists counts, so a ``host:port`` in a network finding is never taken for a line."""
    for text in [finding.values.get("origin"), *finding.evidence]:
        location = Location.parse(text)
        if location and os.path.isfile(location.file):
            return location
    return None
