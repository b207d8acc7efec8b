"""From signature hits and version mentions to ranked diagnoses, and what to run next to confirm them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from evodiag.catalog.model import Catalog, Check, KnownIssue
from evodiag.config import OPTIONS
from evodiag.triage.scan import Evidence, ScanResult, canonical_product
from evodiag.versions import in_range

KNOWN_ISSUE_BOOST = 1.0  # score added to a matched check when a mentioned version is in a known-issue range
VERSION_ONLY_SCORE = 0.35  # a known issue whose version matches but no signature of its checks fired
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_STOP = frozenset({"that", "this", "with", "from", "have", "when", "what", "will", "your", "does", "than", "then",
                   "para", "como", "mais", "esta", "está", "isso", "pero", "cuando", "there", "their", "they",
                   "been", "after", "before", "into", "only", "also", "should", "check", "checks"})


@dataclass
class Diagnosis:
    id: str
    title: str
    confidence: float
    evidence: list[Evidence]
    remediation: dict[str, Any]
    score: float = 0.0
    notes: list[str] = field(default_factory=list)
    known_issues: list[dict[str, Any]] = field(default_factory=list)
    next: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "confidence": self.confidence,
                "evidence": [e.to_dict() for e in self.evidence], "remediation": self.remediation,
                "notes": self.notes, "known_issues": self.known_issues, "next": self.next}


@dataclass
class Triage:
    diagnoses: list[Diagnosis]
    suggestions: list[dict[str, Any]]
    versions: dict[str, list[str]]
    lines: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"diagnoses": [d.to_dict() for d in self.diagnoses], "suggestions": self.suggestions,
                "versions": self.versions, "input": {"lines": self.lines, "bytes": self.bytes}}


def confidence(score: float) -> float:
    return round(1.0 - math.exp(-max(score, 0.0)), 2)


def _issue_matches(issue: KnownIssue, versions: dict[str, dict[str, Evidence]]) -> list[Evidence] | None:
    """The mentions that put the ticket in ``issue``'s range, or ``None``. An unmentioned ``with`` product does
    not rule the issue out (tickets rarely name both versions); a mentioned one out of range does."""
    product = canonical_product(issue.product)
    hits = [ev for v, ev in versions.get(product, {}).items() if in_range(v, issue.versions)]
    if not hits:
        return None
    if issue.with_product and issue.with_versions:
        other = versions.get(canonical_product(issue.with_product), {})
        with_hits = [ev for v, ev in other.items() if in_range(v, issue.with_versions)]
        if other and not with_hits:
            return None
        hits += with_hits
    return hits


def _issue_dict(issue: KnownIssue) -> dict[str, Any]:
    return {"id": issue.id, "product": issue.product, "versions": issue.versions, "symptom": issue.symptom,
            "workaround": issue.workaround, "fixed_in": issue.fixed_in, "refs": [r.link for r in issue.refs]}


def _targets(catalog: Catalog, check: Check) -> list[str]:
    seen: list[str] = []
    frontier, visited = [check.id], set()
    while frontier:
        current = catalog.checks.get(frontier.pop())
        if current is None or current.id in visited:
            continue
        visited.add(current.id)
        seen += [t for t in current.applies_when.targets if t not in seen]
        frontier += list(current.requires)
    return seen


# A target's confirming flags: its URL, its credentials, and the identifiers routes need.
_ESSENTIAL_SUFFIXES = (".url", ".endpoint", ".instance", ".account_id")
_TARGET_KEYS = {"files": ("files.env",), "openim_config": ("openim.config",), "webhook_capture": ("webhook.capture",)}


def confirm_command(catalog: Catalog, check: Check) -> str:
    """``evodiag check --only ID`` plus the flags of every target the check (and what it requires) needs."""
    parts = ["evodiag", "check", "--only", check.id]
    for target in _targets(catalog, check):
        keys = _TARGET_KEYS.get(target)
        for opt in OPTIONS:
            wanted = opt.key in keys if keys else (
                opt.key.split(".")[0] == target and (opt.secret or opt.key.endswith(_ESSENTIAL_SUFFIXES)))
            if wanted and opt.flag not in parts:
                placeholder = "URL" if opt.kind == "url" else opt.key.split(".")[-1].upper()
                parts += [opt.flag, f"<{placeholder}>"]
    return " ".join(parts)


def _remediation(check: Check, issues: list[KnownIssue]) -> dict[str, Any]:
    rem = check.remediation.to_dict()
    for issue in issues:
        extra = f"Known issue {issue.id} ({issue.product} {issue.versions}): {issue.workaround}"
        rem["text"] = f"{rem['text']}\n{extra}".strip()
        rem["links"] = list(dict.fromkeys([*rem["links"], *(r.link for r in issue.refs)]))
    rem["links"] = list(dict.fromkeys([*rem["links"], *(r.link for r in check.refs)]))
    return rem


def rank(catalog: Catalog, scan: ScanResult, *, top: int | None = None) -> Triage:
    diagnoses: dict[str, Diagnosis] = {}
    for check_id, hits in scan.hits.items():
        check = catalog.checks[check_id]
        score, notes = 0.0, []
        for index, count in hits.counts.items():
            sig = check.signatures[index]
            score += sig.weight * (1.0 + 0.1 * min(count - 1, 5))
            if sig.note:
                notes.append(sig.note)
        diagnoses[check_id] = Diagnosis(check_id, check.title, 0.0, list(hits.evidence), {}, score, notes)
    applied: dict[str, list[KnownIssue]] = {}
    for issue in catalog.known_issues:
        mentions = _issue_matches(issue, scan.versions)
        if mentions is None:
            continue
        for check_id in issue.observed_by:
            check = catalog.checks.get(check_id)
            if check is None:
                continue
            applied.setdefault(check_id, []).append(issue)
            diag = diagnoses.get(check_id)
            if diag is None:
                diag = diagnoses[check_id] = Diagnosis(check_id, check.title, 0.0, [], {}, VERSION_ONLY_SCORE)
                diag.notes.append("no signature matched; suggested by the versions mentioned")
            else:
                diag.score += KNOWN_ISSUE_BOOST
            diag.known_issues.append(_issue_dict(issue))
            for ev in mentions:
                if all(e.line != ev.line for e in diag.evidence):
                    diag.evidence.append(ev)
    for check_id, diag in diagnoses.items():
        check = catalog.checks[check_id]
        diag.confidence = confidence(diag.score)
        diag.remediation = _remediation(check, applied.get(check_id, []))
        diag.next = confirm_command(catalog, check)
        diag.evidence.sort(key=lambda e: e.line)
    ordered = sorted(diagnoses.values(), key=lambda d: (-d.score, d.id))
    if top:
        ordered = ordered[:top]
    suggestions = [] if ordered else suggest(catalog, scan.sample)
    versions = {p: sorted(v) for p, v in sorted(scan.versions.items())}
    return Triage(ordered, suggestions, versions, scan.lines, scan.bytes)


def _words(text: str) -> set[str]:
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP}


def suggest(catalog: Catalog, sample: str, limit: int = 3) -> list[dict[str, Any]]:
    """Checks whose tags, id and title share the most words with the input: a place to look, not a diagnosis."""
    words = _words(sample)
    if not words:
        return []
    scored = []
    for check in catalog.checks.values():
        tag_words = {t.lower() for t in check.tags} | set(re.split(r"[._]", check.id.lower()))
        title_words = _words(f"{check.title} {check.doc.what}")
        shared = (tag_words & words, title_words & words)
        score = 2 * len(shared[0]) + len(shared[1])
        if score:
            scored.append((score, check.id, sorted(shared[0] | shared[1])))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [{"id": cid, "title": catalog.checks[cid].title, "shared_words": shared[:8],
             "next": confirm_command(catalog, catalog.checks[cid])} for _, cid, shared in scored[:limit]]
