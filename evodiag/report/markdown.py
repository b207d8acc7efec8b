"""``--format markdown``: a paste-ready ticket report. Root cause first, then what to change, then what
was checked and passed. Secrets are masked like everywhere else."""

from __future__ import annotations

from typing import Any

from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import as_dict, versions

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "❓", "skip": "➖", "blocked": "⛔"}


def _remediation(rem: dict[str, Any] | None) -> list[str]:
    if not rem:
        return []
    lines = [f"  - **Fix:** {rem['text']}"] if rem.get("text") else []
    if rem.get("commands"):
        lines += ["", "    ```sh", *[f"    {c}" for c in rem["commands"]], "    ```"]
    lines += [f"  - {link}" for link in rem.get("links", [])]
    return lines


def render(report: RunReport, redactor: Redactor | None = None) -> str:
    doc = as_dict(report, redactor)
    by_id = {r["id"]: r for r in doc["results"]}
    out = ["# evodiag report", "", f"**{doc['headline']}**", ""]
    env = versions(report)
    if env or doc["target"]:
        out += ["## Environment", ""]
        out += [f"- `{k}`: {v}" for k, v in (redactor or _noop()).obj(env).items()]
        out += [f"- `{k}`: {v}" for k, v in doc["target"].items() if not k.startswith("files.")]
        out.append("")
    order = [cid for cid, _ in report.root_causes]
    order += [r["id"] for r in doc["results"] if r["status"] in ("fail", "error", "warn") and r["id"] not in order]
    if order:
        out += ["## Problems (root cause first)", ""]
        for cid in order:
            r = by_id[cid]
            blocks = dict(report.root_causes).get(cid)
            suffix = f" — blocks {blocks} check(s)" if blocks else ""
            out.append(f"- {_ICON[r['status']]} **{cid}** ({r['status']}, {r['severity']}){suffix}: {r['message']}")
            out += _remediation(r["remediation"])
            out += [f"  - Known issue: [{ref['project']}#{ref['number']}]({ref['url']})"
                    + (f", fixed in {ref['fixed_in']}" if ref.get("fixed_in") else "") for ref in r["refs"]]
        out.append("")
    blocked = [r for r in doc["results"] if r["status"] == "blocked"]
    if blocked:
        out += ["## Not run (blocked)", ""] + [f"- {_ICON['blocked']} `{r['id']}`: {r['message']}" for r in blocked]
        out.append("")
    passed = [r for r in doc["results"] if r["status"] == "pass"]
    if passed:
        out += ["## Checked and passed", ""] + [f"- {_ICON['pass']} `{r['id']}`: {r['message']}" for r in passed]
        out.append("")
    skipped = [r for r in doc["results"] if r["status"] == "skip"]
    if skipped:
        out += ["<details><summary>Skipped</summary>", ""]
        out += [f"- `{r['id']}`: {r['message']}" for r in skipped] + ["", "</details>", ""]
    s = doc["summary"]
    out.append(f"_evodiag {doc['evodiag']}: {s['pass']} pass, {s['warn']} warn, {s['fail']} fail, {s['error']} error, "
               f"{s['blocked']} blocked, {s['skip']} skip in {doc['duration_ms']:.0f} ms._")
    return "\n".join(out) + "\n"


def _noop() -> Redactor:
    return Redactor()
