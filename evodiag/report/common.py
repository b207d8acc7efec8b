"""What every output format shares: the exit code, the root-cause headline, and the redacted view of a run."""

from __future__ import annotations

from typing import Any

from evodiag import __version__, exitcodes
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import RunReport
from evodiag.errors import NO_ANSWER_KINDS
from evodiag.redact import Redactor

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERNAL = (
    exitcodes.OK, exitcodes.FINDINGS, exitcodes.USAGE, exitcodes.UNREACHABLE, exitcodes.INTERNAL)
STATUS_SYMBOLS = {Status.PASS: "✔", Status.WARN: "!", Status.FAIL: "✘", Status.SKIP: "-",
                  Status.BLOCKED: "⊘", Status.ERROR: "?"}


def exit_code(report: RunReport, *, fail_on: str = "fail", exit_zero: bool = False) -> int:
    """3 only when no target answered at all: a server that sent an HTML page or broken JSON is reachable, and
    what it sent is a finding (1)."""
    if exit_zero:
        return EXIT_OK
    ran = [r for r in report.results if r.status not in (Status.SKIP, Status.BLOCKED)]
    reach = [r for r in ran if "reachability" in report.catalog.checks[r.id].tags]

    def unanswered(results: list[Result]) -> bool:
        return bool(results) and all(r.status is Status.ERROR and r.error_kind in NO_ANSWER_KINDS for r in results)

    if unanswered(reach) or unanswered(ran):
        return EXIT_UNREACHABLE
    failing = {Status.FAIL, Status.ERROR} | ({Status.WARN} if fail_on == "warn" else set())
    return EXIT_FINDINGS if any(r.status in failing for r in report.results) else EXIT_OK


def problems(report: RunReport) -> list[Result]:
    return [r for r in report.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def headline(report: RunReport) -> str:
    """One line a reader acts on: the root causes (what each blocks, and what was skipped for the same cause),
    the other failures, then the warnings; a warn-only run says "1 warning: storage.s3"."""
    from evodiag.report.summary import group

    found = problems(report)
    counts = report.summary()
    if not found:
        return f"No problems found ({counts['pass']} passed, {counts['skip']} skipped)."
    failing = [r.id for r in found if r.status is not Status.WARN]
    warnings = [r.id for r in found if r.status is Status.WARN]
    parts = []
    if report.root_causes:
        roots = group(report).root_causes
        said = []
        for root in roots.values():
            also = f", {len(root.skipped)} more skipped for the same cause" if root.skipped else ""
            said.append(f"{root.id} — blocks {plural(len(root.blocked), 'check')}{also}")
        parts.append(f"{plural(len(roots), 'root cause')}: " + "; ".join(said))
        others = [cid for cid in failing if cid not in roots]
        if others:
            parts.append("also failing: " + ", ".join(others))
    elif failing:
        parts.append(f"{plural(len(failing), 'problem')}: " + ", ".join(failing))
    if warnings:
        parts.append(f"{plural(len(warnings), 'warning')}: " + ", ".join(warnings))
    return ". ".join(p[0].upper() + p[1:] for p in parts)


def redactor_for(report: RunReport, *, shareable: bool = True) -> Redactor:
    """Secrets are masked in every output. A shareable report (JSON, JUnit, Markdown, bundles: they end up in CI
    artifacts and tickets other people read) also replaces phone numbers, WhatsApp JIDs, names and message text
    with stable pseudonyms; only the terminal text keeps your own numbers readable."""
    if shareable:
        from evodiag.pii import PiiRedactor

        return PiiRedactor(report.settings.secrets().values())
    return Redactor(report.settings.secrets().values())


def versions(report: RunReport) -> dict[str, Any]:
    return {k: v for k, v in sorted(report.facts.items()) if k.endswith(".version") or k.endswith(".generation")}


def as_dict(report: RunReport, redactor: Redactor | None = None) -> dict[str, Any]:
    """The report as data, redacted by where each value comes from: settings, facts and result details hold
    what servers and the user gave (redacted by key and shape); the rest is evodiag's own words (by shape only,
    so a remediation's ``text`` is never mistaken for a message body)."""
    red = redactor or redactor_for(report)
    results = []
    for result in report.results:
        own = result.to_dict()
        details = own.pop("details")
        results.append({**red.own(own), "details": red.obj(details)})
    doc = {
        "evodiag": __version__,
        "catalog": {"sources": list(report.catalog.sources), "checks": len(report.catalog.checks)},
        "target": red.obj(report.settings.masked()),
        "facts": red.obj(report.facts),
        "summary": report.summary(),
        "headline": red.text(headline(report)),
        "root_causes": [{"id": cid, "blocks": n} for cid, n in report.root_causes],
        "duration_ms": round(report.duration_ms, 1),
        "results": results,
    }
    return doc
