"""The long-form explanation of a check, shared by ``evodiag explain`` and the docs: doc, why, example, fixes,
what it can report, known issues and triage signatures, each a section. Long text wraps at the screen width,
keeps its indentation and is never cut (:mod:`evodiag.report.layout`)."""

from __future__ import annotations

from evodiag.catalog.model import Catalog, Check, Ref, Remediation
from evodiag.report.findings import fix_lines
from evodiag.report.layout import BLANK, Line, plain, screen_width

SECTION = "bold"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _section(title: str) -> list[Line]:
    return [BLANK, Line(title + ":", SECTION)]


def _fix(rem: Remediation, indent: int) -> list[Line]:
    return fix_lines(rem.to_dict(), indent)


def _known_issues(catalog: Catalog, c: Check) -> list[Line]:
    issues = [k for k in catalog.known_issues if c.id in k.observed_by]
    refs = list(c.refs) + [r for k in issues for r in k.refs]
    if not (refs or issues):
        return []
    out = _section("Known issues")
    for k in issues:
        fixed = f" (fixed in {k.fixed_in})" if k.fixed_in else ""
        out.append(Line(f"{k.product} {k.versions}: {_flat(k.symptom)}{fixed}", indent=2, hang=2))
    by_link: dict[str, Ref] = {}
    for ref in refs:  # the same issue may come from the check and from the known-issue table
        if ref.link not in by_link or (ref.fixed_in and not by_link[ref.link].fixed_in):
            by_link[ref.link] = ref
    out += [Line(f"{r.label()}: {r.link}", indent=2, hang=4) for r in by_link.values()]
    return out


def explain_lines(catalog: Catalog, check_id: str) -> list[Line]:
    c = catalog.checks[check_id]
    out = [Line(f"{c.id} — {c.title}", "bold", hang=2),
           Line(f"stage: {c.stage}   severity: {c.severity}   tags: {', '.join(c.tags) or '-'}", "dim")]
    if c.requires:
        out.append(Line(f"requires: {', '.join(c.requires)}", "dim", hang=2))
    if c.side_effects:
        out.append(Line(f"side effect ({c.side_effects.kind}): {c.side_effects.description}", "dim", hang=2))
    out += [*_section("What it checks"), Line(_flat(c.doc.what), indent=2, hang=0)]
    out += [*_section("Why it matters"), Line(_flat(c.doc.why), indent=2, hang=0)]
    if c.doc.example:
        out += [*_section("Example"), *(Line(line, indent=2, hang=2) for line in c.doc.example.splitlines())]
    if not c.remediation.is_empty():
        out += [*_section("How to fix"), *_fix(c.remediation, 2)]
    named = [d for d in c.diagnoses if d.status in ("fail", "warn", "error")]
    if named:
        out += _section("What it can report, and the fix for each")
        for d in named:
            out.append(Line(f"{d.status}: {_flat(d.message)}", indent=2, hang=len(d.status) + 2))
            if d.remediation and not d.remediation.is_empty():
                out += _fix(d.remediation, 4)
    out += _known_issues(catalog, c)
    if c.signatures:
        out += _section("Triage signatures (evodiag triage)")
        out += [Line(f"/{s.pattern}/" + (f" unless /{s.unless}/" if s.unless else "") + (" (prose)" if s.prose else "")
                     + (f"  — {s.note}" if s.note else ""), indent=2, hang=4) for s in c.signatures]
    return out


def explain_text(catalog: Catalog, check_id: str, width: int | None = None) -> str:
    return plain(explain_lines(catalog, check_id), width or screen_width()).rstrip("\n")
