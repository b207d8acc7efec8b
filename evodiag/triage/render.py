"""Triage output: plain text for a support engineer, or ``{"diagnoses": [...]}`` JSON."""

from __future__ import annotations

import json
from typing import Any

from evodiag.triage.rank import Triage


def render_json(result: Triage, extra: dict[str, Any] | None = None) -> str:
    doc = result.to_dict()
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _version_issues(result: Triage) -> list[str]:
    if not result.version_issues:
        return []
    out = ["", "Versions you mentioned have known issues (a lead, not a diagnosis: no signature of their checks "
               "matched):"]
    for issue in result.version_issues:
        fixed = f", fixed in {issue['fixed_in']}" if issue.get("fixed_in") else ""
        lines = ", ".join(str(m["line"]) for m in issue.get("mentions", []))
        out.append(f"  {issue['id']}: {issue['product']} {issue['versions']}{fixed} (mentioned on line {lines})")
        out.append(f"    {issue['symptom']}")
        out.append(f"    workaround: {issue['workaround']}")
        out += [f"    $ {cmd}" for cmd in issue.get("next", [])]
    return out


def render_text(result: Triage, redaction: dict[str, int] | None = None) -> str:
    out: list[str] = []
    if result.versions:
        seen = ", ".join(f"{p} {'/'.join(v)}" for p, v in result.versions.items())
        out.append(f"Versions mentioned: {seen}")
    if not result.diagnoses:
        out.append("No catalog signature matched this input; nothing to diagnose from the text alone.")
        out += _version_issues(result)
        if result.suggestions:
            out.append("")
            out.append("Closest checks (shared words only, not a diagnosis):")
            for s in result.suggestions:
                out.append(f"  {s['id']}  {s['title']}  (words: {', '.join(s['shared_words'])})")
                out.append(f"    $ {s['next']}")
        out.append("")
        out.append(f"Scanned {result.lines} line(s), {result.bytes} byte(s).")
        return "\n".join(out) + "\n"
    out.append(f"{len(result.diagnoses)} diagnosis(es), best first:")
    for n, d in enumerate(result.diagnoses, 1):
        out.append("")
        out.append(f"{n}. {d.id} — {d.title}  [confidence {d.confidence:.0%}]")
        for note in dict.fromkeys(d.notes):
            out.append(f"   why: {note}")
        for issue in d.known_issues:
            fixed = f", fixed in {issue['fixed_in']}" if issue.get("fixed_in") else ""
            out.append(f"   known issue {issue['id']}: {issue['product']} {issue['versions']}{fixed}")
        for ev in d.evidence:
            out.append(f"   line {ev.line}: {ev.text}")
        rem = d.remediation
        if rem.get("text"):
            out.append("   fix:")
            out += [f"     {line}" for line in str(rem["text"]).splitlines()]
        out += [f"     $ {cmd}" for cmd in rem.get("commands", [])]
        out += [f"     see {link}" for link in rem.get("links", [])]
    out += _version_issues(result)
    out.append("")
    out.append("What to run next (confirms it live):")
    for d in result.diagnoses:
        out.append(f"  $ {d.next}")
    footer = f"Scanned {result.lines} line(s), {result.bytes} byte(s)."
    if redaction:
        footer += " Masked in evidence: " + ", ".join(f"{k} {v}" for k, v in redaction.items()) + "."
    out += ["", footer]
    return "\n".join(out) + "\n"
