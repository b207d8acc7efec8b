"""The terminal view: the headline first (root causes, counts), then each problem with its fix, then one line
per stage for what passed or was skipped. ``level`` is how much more to say:

- ``-1`` (``-q``): the headline and the problems only;
- ``0``: plus the counts, versions and one line per stage;
- ``1`` (``-v``): plus every check's line, notes on passing checks, and skip reasons (each said once);
- ``2`` (``-vv``): plus per-check timing, evidence and every HTTP exchange (redacted).

Lines wrap at the screen width and keep their indentation (:mod:`evodiag.report.layout`); colour comes from rich
only when :func:`evodiag.report.color.wants_color` says so."""

from __future__ import annotations

import sys
from typing import IO, Any

from evodiag.engine.results import Result, Status
from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import STATUS_SYMBOLS, as_dict, problems, redactor_for, versions
from evodiag.report.findings import STYLES, problem_lines
from evodiag.report.layout import BLANK, Line, plain, screen_width, wrapped
from evodiag.report.summary import Grouped, count_words, group

QUIET, DEFAULT, VERBOSE, DEBUG = -1, 0, 1, 2
_PROBLEM_ORDER = {Status.FAIL: 0, Status.ERROR: 0, Status.WARN: 1}


def duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _headline(report: RunReport, doc: dict[str, Any]) -> Line:
    counts = doc["summary"]
    if counts["fail"] + counts["error"]:
        return Line(f"✘ {doc['headline']}", "bold red")
    if counts["warn"]:
        return Line(f"! {doc['headline']}", "bold yellow")
    return Line(f"✔ {doc['headline']}", "bold green")


def _check_line(r: dict[str, Any], level: int) -> list[Line]:
    timing = f"  [{r['duration_ms']:.0f} ms]" if level >= DEBUG else ""
    symbol = STATUS_SYMBOLS[Status(r["status"])]
    out = [Line(f"{symbol} {r['id']}: {r['message']}{timing}", STYLES[r["status"]], indent=2, hang=4)]
    out.extend(Line(f"note: {note}", "dim", indent=6, hang=6) for note in r["notes"])
    if level >= DEBUG:
        out.extend(Line(str(e), "dim", indent=6) for e in r["evidence"])
    return out


def _stage_checks(results: list[Result], by_id: dict[str, dict[str, Any]], level: int) -> list[Line]:
    """Every check of a stage (-v): passes in full; problems point up; blocked and skipped as one line each."""
    out: list[Line] = []
    blocked: dict[str, list[str]] = {}
    skipped = [r.id for r in results if r.status is Status.SKIP]
    for result in results:
        if result.status is Status.PASS:
            out.extend(_check_line(by_id[result.id], level))
        elif result.status.is_finding:
            out.append(Line(f"{STATUS_SYMBOLS[result.status]} {result.id}: {result.status.value} (above)",
                            STYLES[result.status.value], indent=2))
        elif result.status is Status.BLOCKED:
            blocked.setdefault(", ".join(result.blocked_by), []).append(result.id)
    for roots, ids in blocked.items():
        out.append(Line(f"{STATUS_SYMBOLS[Status.BLOCKED]} blocked by {roots}: {', '.join(ids)}", "dim red",
                        indent=2, hang=4))
    if skipped:
        out.append(Line(f"{STATUS_SYMBOLS[Status.SKIP]} skipped (why: below): {', '.join(skipped)}", "dim",
                        indent=2, hang=4))
    return out


def _skip_reasons(grouped: Grouped, by_id: dict[str, dict[str, Any]]) -> list[Line]:
    out = [Line("skipped", "bold")]
    for root in grouped.root_causes.values():
        if root.skipped:
            out.append(Line(f"same cause as {root.id}: {', '.join(root.skipped)}", "dim", indent=2, hang=4))
    for _, results in grouped.skip_reasons:
        reason = by_id[results[0].id]["message"]  # redacted
        out.append(Line(reason, "", indent=2, hang=4))
        out.append(Line(", ".join(r.id for r in results), "dim", indent=6, hang=0))
    return out


def lines(report: RunReport, redactor: Redactor | None = None, *, level: int = DEFAULT) -> list[Line]:
    """The view as lines. The terminal is the user's own screen: secrets are masked, phone numbers stay."""
    redactor = redactor or redactor_for(report, shareable=False)
    doc = as_dict(report, redactor)
    by_id = {r["id"]: r for r in doc["results"]}
    grouped = group(report)
    out = [_headline(report, doc)]
    if level >= DEFAULT:
        out.append(Line(f"{count_words(report.results)} in {duration(doc['duration_ms'])}", "dim", indent=2))
        env = redactor.obj(versions(report))
        if env:
            out.append(Line("versions: " + ", ".join(f"{k}={v}" for k, v in env.items()), "dim", indent=2))
    out.append(BLANK)
    for result in sorted(problems(report), key=lambda r: _PROBLEM_ORDER[r.status]):
        out.extend(problem_lines(by_id[result.id], grouped.root_causes.get(result.id), level=level))
    if level < DEFAULT:
        return out
    for stage, results in grouped.stages:
        out.append(Line(f"{stage + ':':<12}{count_words(results)}", "bold" if level >= VERBOSE else ""))
        if level >= VERBOSE:
            out.extend(_stage_checks(results, by_id, level))
    if level >= VERBOSE and (grouped.skip_reasons or any(r.skipped for r in grouped.root_causes.values())):
        out.extend([BLANK, *_skip_reasons(grouped, by_id)])
    if level == DEFAULT:
        out.append(Line("(-v: every check, its notes and why checks were skipped; -vv: timing and HTTP)", "dim"))
    if level >= DEBUG:
        out.extend([BLANK, Line("HTTP", "bold")])
        out.extend(Line(f"[{ex.check_id}] " + redactor.text(ex.summary()), "dim", indent=2, hang=4)
                   for ex in report.state.http.transcript)
    return out


def render(report: RunReport, redactor: Redactor | None = None, *, level: int = DEFAULT,
           width: int | None = None) -> str:
    return plain(lines(report, redactor, level=level), width or screen_width())


def print_report(report: RunReport, redactor: Redactor | None = None, *, level: int = DEFAULT,
                 color: bool = False, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stdout
    width = screen_width()
    if not color:
        stream.write(render(report, redactor, level=level, width=width))
        return
    from rich.console import Console
    from rich.text import Text

    # Wrapping is ours (indentation kept, commands whole): rich only colours.
    console = Console(file=stream, highlight=False, force_terminal=True, width=10_000, soft_wrap=True)
    for line in lines(report, redactor, level=level):
        for row in wrapped(line, width):
            console.print(Text(row.rstrip(), style=line.style or ""))
