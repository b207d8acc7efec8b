"""A run's results grouped the way a reader takes them in: per stage counts, what each root cause blocks, which
skips share a root cause, and the other skips grouped by their reason (said once). Data only; the text view and
the headline word it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from evodiag.catalog.model import STAGES
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import RunReport

# The engine's message for a check skipped because a check it requires was skipped (engine/runner.py).
_SKIPPED_REQUIREMENT = re.compile(r"requires (\S+), which was skipped: ")
_ENGINE_SKIPS = ("skipped by --skip", "not applicable", "not run: it ")
# The order a count line reads in: the bad news first.
COUNT_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.BLOCKED, Status.SKIP)
COUNT_WORDS = {Status.PASS: "passed", Status.WARN: "warned", Status.FAIL: "failed", Status.ERROR: "errored",
               Status.BLOCKED: "blocked", Status.SKIP: "skipped"}


def count_words(results: Iterable[Result]) -> str:
    """``5 passed, 1 skipped``: only the statuses present."""
    counts = {status: 0 for status in COUNT_ORDER}
    for result in results:
        counts[result.status] += 1
    return ", ".join(f"{n} {COUNT_WORDS[status]}" for status, n in counts.items() if n)


@dataclass
class RootCause:
    """A failing check and what it took down with it: checks it blocked, and checks skipped only because a
    check it blocked could not feed them (``chatwoot.inbox`` skipped when ``evolution.instance`` is blocked)."""

    id: str
    blocked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class Grouped:
    stages: list[tuple[str, list[Result]]]
    root_causes: dict[str, RootCause]
    skip_reasons: list[tuple[str, list[Result]]]  # (reason said once, the checks it skipped), most first

    def cause_of_skip(self, check_id: str) -> str | None:
        return next((root.id for root in self.root_causes.values() if check_id in root.skipped), None)


def _skip_causes(report: RunReport, roots: dict[str, RootCause]) -> None:
    """Assign each skipped check to the root cause upstream of it, if any: one of its ``requires``/``after``
    checks is that root cause, was blocked by it, or was itself skipped for it. Results come in pipeline
    order, so what a check depends on is judged before it."""
    by_id = {r.id: r for r in report.results}
    owner: dict[str, str] = {}
    for result in report.results:
        if result.status is Status.BLOCKED and result.blocked_by:
            owner[result.id] = result.blocked_by[0]
        elif result.status in (Status.FAIL, Status.ERROR) and result.id in roots:
            owner[result.id] = result.id
        elif result.status is Status.SKIP:
            via = _SKIPPED_REQUIREMENT.match(result.message)
            if via:  # the engine names the one requirement that was skipped
                deps: tuple[str, ...] = (via.group(1),)
            elif result.message.startswith(_ENGINE_SKIPS):  # --skip, not applicable, side effect not allowed
                deps = ()
            else:  # the probe chose to skip: it read what the checks it depends on found
                check = report.catalog.checks.get(result.id)
                deps = (*check.requires, *check.after) if check else ()
            cause = next((owner[d] for d in deps if d in owner and d in by_id), None)
            if cause is not None:
                owner[result.id] = cause
                roots[cause].skipped.append(result.id)


def group(report: RunReport) -> Grouped:
    roots = {cid: RootCause(cid) for cid, _ in report.root_causes}
    for result in report.results:
        for root in result.blocked_by:
            roots[root].blocked.append(result.id)
    _skip_causes(report, roots)
    covered = {cid for root in roots.values() for cid in root.skipped}
    reasons: dict[str, list[Result]] = {}
    reason_of: dict[str, str] = {}
    for result in report.results:
        if result.status is Status.SKIP and result.id not in covered:
            # "requires X, which was skipped: <X's reason>" is X's reason again: said once, under X's.
            via = _SKIPPED_REQUIREMENT.match(result.message)
            reason = reason_of.get(via.group(1), result.message) if via else result.message
            reason_of[result.id] = reason
            reasons.setdefault(reason, []).append(result)
    stages = [(stage, [r for r in report.results if r.stage == stage]) for stage in STAGES]
    return Grouped(stages=[(s, rs) for s, rs in stages if rs], root_causes=roots,
                   skip_reasons=sorted(reasons.items(), key=lambda kv: -len(kv[1])))
