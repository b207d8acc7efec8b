"""One problem (fail, error, warn) as the terminal shows it: the finding, its fix (text, read-only commands, then
the change that fixes it, ready to paste), known upstream issues, and what it blocked."""

from __future__ import annotations

from typing import Any

from evodiag.engine.results import Status
from evodiag.report.common import STATUS_SYMBOLS, plural
from evodiag.report.layout import BLANK, Line
from evodiag.report.summary import RootCause

STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "magenta", "skip": "dim",
          "blocked": "dim red"}
DETAIL = 4  # indentation of everything under a finding


def _ids(ids: list[str]) -> str:
    return ", ".join(ids)


def fix_lines(rem: dict[str, Any] | None, indent: int = DETAIL) -> list[Line]:
    """A remediation (as :meth:`Remediation.to_dict` gives it): the text, the read-only commands, then the
    change that fixes it, marked as one the user makes."""
    rem = rem or {}
    out: list[Line] = []
    if rem.get("text"):
        out.append(Line("fix: " + rem["text"], indent=indent, hang=5))
    out.extend(Line(f"$ {cmd}", "cyan", indent=indent + 2, wrap=False) for cmd in rem.get("commands", []))
    if rem.get("changes"):
        out.append(Line("change it (this changes your server; review, then paste):", "bold", indent=indent))
        out.extend(Line(f"$ {cmd}", "bold cyan", indent=indent + 2, wrap=False) for cmd in rem["changes"])
    out.extend(Line(f"see {link}", "dim", indent=indent) for link in rem.get("links", []))
    return out


def problem_lines(r: dict[str, Any], root: RootCause | None, *, level: int) -> list[Line]:
    """``r`` is the redacted result (:func:`evodiag.report.common.as_dict`)."""
    status = r["status"]
    symbol = STATUS_SYMBOLS[Status(status)]
    timing = f"  [{r['duration_ms']:.0f} ms]" if level >= 2 else ""
    out = [Line(f"{symbol} {status:<5} {r['id']}: {r['message']}{timing}", STYLES[status], hang=8)]
    out.extend(Line(f"note: {note}", "dim", indent=DETAIL, hang=6) for note in r["notes"])
    out.extend(fix_lines(r.get("remediation")))
    refs = r.get("refs", [])
    if refs:
        said = [ref["url"] + (f" (fixed in {ref['fixed_in']})" if ref.get("fixed_in") else "") for ref in refs]
        out.append(Line(f"known issue{'s' if len(said) != 1 else ''}: " + ", ".join(said), "dim", indent=DETAIL))
    if root and root.blocked:
        out.append(Line(f"{r['id']} blocks {plural(len(root.blocked), 'check')}: {_ids(root.blocked)}", "dim red",
                        indent=DETAIL))
    if root and root.skipped:
        out.append(Line(f"skipped for the same cause: {_ids(root.skipped)}", "dim", indent=DETAIL))
    if level >= 2:
        out.extend(Line(str(e), "dim", indent=DETAIL) for e in r["evidence"])
    out.append(BLANK)
    return out
