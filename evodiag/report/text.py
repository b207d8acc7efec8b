"""Terminal output: grouped by stage, one line per check, remediation under each finding, root-cause headline.

Colour via rich only on a TTY without ``NO_COLOR``; otherwise plain text that pipes and greps well."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from evodiag.catalog.model import STAGES
from evodiag.engine.results import Status
from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import STATUS_SYMBOLS, as_dict, redactor_for, versions

STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "magenta", "skip": "dim",
          "blocked": "dim red"}


def use_color(stream: IO[str]) -> bool:
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def lines(report: RunReport, redactor: Redactor | None = None, *, verbose: bool = False) -> list[tuple[str, str]]:
    """(text, style) pairs; the style is ignored in plain mode. The terminal is the user's own screen: secrets are
    masked, phone numbers stay readable."""
    redactor = redactor or redactor_for(report, shareable=False)
    doc = as_dict(report, redactor)
    out: list[tuple[str, str]] = []
    env = redactor.obj(versions(report))
    if env:
        out.append(("versions: " + ", ".join(f"{k}={v}" for k, v in env.items()), "dim"))
    for stage in STAGES:
        results = [r for r in doc["results"] if r["stage"] == stage]
        if not results:
            continue
        out.append(("", ""))
        out.append((f"{stage.upper()}", "bold"))
        for r in results:
            symbol = STATUS_SYMBOLS[Status(r["status"])]
            timing = f"  [{r['duration_ms']:.0f} ms]" if verbose else ""
            out.append((f"  {symbol} {r['status']:<7} {r['id']}: {r['message']}{timing}", STYLES[r["status"]]))
            for note in r["notes"]:
                out.append((f"      note: {note}", "dim"))
            if r["status"] in ("fail", "warn", "error"):
                out.extend(_remediation(r))
            if verbose:
                out.extend((f"      {e}", "dim") for e in r["evidence"])
    if verbose:
        out.append(("", ""))
        out.append(("HTTP", "bold"))
        red = redactor
        for ex in report.state.http.transcript:
            out.append((f"  [{ex.check_id}] " + red.text(ex.summary()), "dim"))
    s = doc["summary"]
    out.append(("", ""))
    out.append((doc["headline"], "bold red" if s["fail"] + s["error"] else ("yellow" if s["warn"] else "bold green")))
    out.append((f"{s['pass']} pass, {s['warn']} warn, {s['fail']} fail, {s['error']} error, {s['blocked']} blocked, "
                f"{s['skip']} skip in {doc['duration_ms']:.0f} ms", "dim"))
    return out


def _remediation(r: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    rem = r.get("remediation") or {}
    if rem.get("text"):
        for i, line in enumerate(rem["text"].splitlines()):
            out.append((("      fix: " if i == 0 else "           ") + line, ""))
    out.extend((f"        $ {cmd}", "cyan") for cmd in rem.get("commands", []))
    out.extend((f"        see {link}", "dim") for link in rem.get("links", []))
    for ref in r.get("refs", []):
        fixed = f", fixed in {ref['fixed_in']}" if ref.get("fixed_in") else ""
        out.append((f"        known issue: {ref['url']}{fixed}", "dim"))
    return out


def render(report: RunReport, redactor: Redactor | None = None, *, verbose: bool = False) -> str:
    return "\n".join(text for text, _ in lines(report, redactor, verbose=verbose)) + "\n"


def print_report(report: RunReport, redactor: Redactor | None = None, *, verbose: bool = False,
                 stream: IO[str] | None = None) -> None:
    stream = stream or sys.stdout
    if not use_color(stream):
        stream.write(render(report, redactor, verbose=verbose))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False)
    for text, style in lines(report, redactor, verbose=verbose):
        console.print(Text(text, style=style or ""))
