"""The long-form explanation of a check, shared by ``evodiag explain`` and the docs."""

from __future__ import annotations

from evodiag.catalog.model import Catalog, Ref


def explain_text(catalog: Catalog, check_id: str) -> str:
    c = catalog.checks[check_id]
    out = [f"{c.id} — {c.title}", f"stage: {c.stage}   severity: {c.severity}   tags: {', '.join(c.tags) or '-'}"]
    if c.requires:
        out.append(f"requires: {', '.join(c.requires)}")
    if c.side_effects:
        out.append(f"side effect ({c.side_effects.kind}): {c.side_effects.description}")
    out += ["", "What it checks:", f"  {c.doc.what}", "", "Why it matters:", f"  {c.doc.why}"]
    if c.doc.example:
        out += ["", "Example:", *[f"  {line}" for line in c.doc.example.splitlines()]]
    rem = c.remediation
    if not rem.is_empty():
        out += ["", "How to fix:"]
        out += [f"  {line}" for line in rem.text.splitlines()]
        out += [f"  $ {cmd}" for cmd in rem.commands]
        out += [f"  see {link}" for link in rem.links]
    named = [d for d in c.diagnoses if d.status in ("fail", "warn", "error")]
    if named:
        out += ["", "What it can report, and the fix for each:"]
        for d in named:
            out.append(f"  {d.status}: {' '.join(d.message.split())[:160]}")
            if d.remediation and not d.remediation.is_empty():
                if d.remediation.text:
                    out.append(f"    fix: {' '.join(d.remediation.text.split())[:240]}")
                out += [f"    $ {cmd}" for cmd in d.remediation.commands]
                out += [f"    see {link}" for link in d.remediation.links]
    issues = [k for k in catalog.known_issues if c.id in k.observed_by]
    refs = list(c.refs) + [r for k in issues for r in k.refs]
    if refs or issues:
        out += ["", "Known issues:"]
        for k in issues:
            fixed = f" (fixed in {k.fixed_in})" if k.fixed_in else ""
            out.append(f"  {k.product} {k.versions}: {k.symptom}{fixed}")
        by_link: dict[str, Ref] = {}
        for ref in refs:  # the same issue may come from the check and from the known-issue table
            if ref.link not in by_link or (ref.fixed_in and not by_link[ref.link].fixed_in):
                by_link[ref.link] = ref
        out += [f"  {r.label()}: {r.link}" for r in by_link.values()]
    if c.signatures:
        out += ["", "Triage signatures (evodiag triage):"]
        out += [f"  /{s.pattern}/" + (f" unless /{s.unless}/" if s.unless else "") + (" (prose)" if s.prose else "")
                + (f"  — {s.note}" if s.note else "") for s in c.signatures]
    return "\n".join(out)
