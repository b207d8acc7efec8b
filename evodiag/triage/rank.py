"""From signature hits and version mentions to ranked diagnoses, and what to run next to confirm them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from evodiag.catalog.model import Catalog, Check, KnownIssue, Signature
from evodiag.catalog.model import Diagnosis as CatalogDiagnosis
from evodiag.config import OPTIONS
from evodiag.triage.scan import Evidence, ScanResult, canonical_product, literal_options
from evodiag.versions import in_range

KNOWN_ISSUE_BOOST = 1.0  # score added to a matched check when a mentioned version is in a known-issue range
_FAR_FUTURE = "9999.0.0"  # in an issue's range only when the range has no upper bound
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
    """Ranked diagnoses (a signature of the check matched), plus what is only a lead: ``version_issues``, known
    issues of versions the text mentions whose checks no signature matched, and ``suggestions``, the closest checks
    by shared words when nothing matched at all."""

    diagnoses: list[Diagnosis]
    suggestions: list[dict[str, Any]]
    versions: dict[str, list[str]]
    lines: int
    bytes: int
    version_issues: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"diagnoses": [d.to_dict() for d in self.diagnoses], "version_issues": self.version_issues,
                "suggestions": self.suggestions, "versions": self.versions,
                "input": {"lines": self.lines, "bytes": self.bytes}}


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


_GENERIC = frozenset({"chatwoot", "evolution", "openim", "which", "must", "where", "here", "other", "every"})
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)\}")


def _when_text(d: CatalogDiagnosis) -> str:
    if d.when is None:
        return ""
    values = [m.equals for _, m in d.when.json if m.has_equals] + [m.contains for _, m in d.when.json if m.contains]
    return " ".join(str(v) for v in values if v is not None)


def _exact_literals(sig: Signature) -> set[str]:
    """Distinctive text every match of the signature contains: 10+ characters, or not just words."""
    return {o[0] for o in literal_options(sig.pattern) if len(o) == 1 and len(o[0]) >= 6
            and (len(o[0]) >= 10 or not o[0].replace(" ", "").isalpha())}


def _issues_for(catalog: Catalog, check: Check, sig: Signature) -> list[KnownIssue]:
    """Known issues of this check whose symptom quotes the signature's text (whatever the versions)."""
    exact = _exact_literals(sig)
    return [i for i in catalog.known_issues if check.id in i.observed_by
            and any(x in i.symptom.lower() for x in exact)]


def _diagnosis_for(check: Check, sig: Signature, threshold: int = 3) -> CatalogDiagnosis | None:
    """The check's failing diagnosis that a signature most likely stands for: the one whose message, remediation
    or condition quotes the signature's literal text, else the one sharing most words with the signature's note."""
    exact = _exact_literals(sig)
    note_words = _words(sig.note) - _GENERIC
    best: tuple[int, CatalogDiagnosis] | None = None
    for d in check.diagnoses:
        if d.status not in ("fail", "warn", "error") or d.remediation is None or not d.remediation.text:
            continue
        blob = f"{d.message} {d.remediation.text} {_when_text(d)}".lower()
        score = 4 * sum(1 for x in exact if x in blob) + len(note_words & _words(blob))
        if d.when is not None and d.when.values:  # depends on settings or versions the ticket may not show
            score -= 2
        if score >= threshold and (best is None or score > best[0]):
            best = (score, d)
    return best[1] if best else None


def _remediation(catalog: Catalog, check: Check, issues: list[KnownIssue], fired: list[Signature]) -> dict[str, Any]:
    rem = check.remediation.to_dict()
    texts, commands, links = [rem["text"]] if rem["text"] else [], list(rem["commands"]), list(rem["links"])
    picked = [d for d in (_diagnosis_for(check, sig) for sig in fired) if d is not None]
    symptom_issues = [i for sig in fired for i in _issues_for(catalog, check, sig) if i not in issues]
    if not picked and not texts and not symptom_issues:  # the closest failing diagnosis rather than no fix at all
        picked = [d for d in (_diagnosis_for(check, sig, threshold=1) for sig in fired) if d is not None][:1]
    for d in picked:
        if d.remediation is None:
            continue
        texts.append(d.remediation.text)
        commands += d.remediation.commands
        links += d.remediation.links
        links += [r.link for r in d.refs]
    for issue in dict.fromkeys(symptom_issues):
        texts.append(f"Known issue {issue.id} ({issue.product} {issue.versions}) has this symptom: {issue.workaround}")
        links += [r.link for r in issue.refs]
    for issue in issues:
        texts.append(f"Known issue {issue.id} ({issue.product} {issue.versions}): {issue.workaround}")
        links += [r.link for r in issue.refs]
    links += [r.link for r in check.refs]
    if not texts:
        texts.append(f"Run the check below: it tells which of the causes of {check.id} applies, and its fix.")
    text = "\n".join(dict.fromkeys(t.strip() for t in texts if t.strip()))
    return {"text": _PLACEHOLDER.sub(r"<\1>", text), "commands": [_PLACEHOLDER.sub(r"<\1>", c) for c in
                                                                     dict.fromkeys(commands)],
            "links": list(dict.fromkeys(links))}


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
    version_issues: list[dict[str, Any]] = []
    for issue in catalog.known_issues:
        mentions = _issue_matches(issue, scan.versions)
        if mentions is None:
            continue
        observers = [cid for cid in issue.observed_by if cid in catalog.checks]
        observed_by = [cid for cid in observers if cid in diagnoses]
        if not observed_by:
            # Never a diagnosis on a version alone: a lead, with the checks that would confirm it. An issue of every
            # version from some release on (no fix, no upper bound) says nothing about the version: left out.
            if not issue.fixed_in and in_range(_FAR_FUTURE, issue.versions):
                continue
            lead = _issue_dict(issue)
            lead["mentions"] = [e.to_dict() for e in sorted(mentions, key=lambda e: e.line)]
            lead["checks"] = observers
            lead["next"] = [confirm_command(catalog, catalog.checks[cid]) for cid in observers]
            version_issues.append(lead)
            continue
        for check_id in observed_by:
            applied.setdefault(check_id, []).append(issue)
            diag = diagnoses[check_id]
            diag.score += KNOWN_ISSUE_BOOST
            diag.known_issues.append(_issue_dict(issue))
            for ev in mentions:
                if all(e.line != ev.line for e in diag.evidence):
                    diag.evidence.append(ev)
    for check_id, diag in diagnoses.items():
        check = catalog.checks[check_id]
        diag.confidence = confidence(diag.score)
        signatures = [check.signatures[i] for i in sorted(scan.hits[check_id].counts)] if check_id in scan.hits else []
        diag.remediation = _remediation(catalog, check, applied.get(check_id, []), signatures)
        diag.next = confirm_command(catalog, check)
        diag.evidence.sort(key=lambda e: e.line)
    ordered = sorted(diagnoses.values(), key=lambda d: (-d.score, d.id))
    if top:
        ordered = ordered[:top]
    suggestions = [] if ordered else suggest(catalog, scan.sample)
    versions = {p: sorted(v) for p, v in sorted(scan.versions.items())}
    return Triage(ordered, suggestions, versions, scan.lines, scan.bytes, version_issues)


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
