"""``--format github``: GitHub Actions workflow commands, so each finding shows up as an annotation on the run
(and on the ``.env`` or compose line it points at), plus the Markdown report as the job's step summary.

One line per problem, root causes first: ``::error title=<check id>::<message>`` for fail and error,
``::warning …`` for warn; ``file=``/``line=`` when the finding names a file line. Values are escaped the way
GitHub's own toolkit does (``@actions/core``, ``command.ts``): ``%``, CR and LF in the message; also ``:`` and
``,`` in properties. When ``$GITHUB_STEP_SUMMARY`` is set, :func:`append_step_summary` appends the Markdown
report (``report/markdown.py``) to that file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import as_dict

_LEVELS = {"fail": "error", "error": "error", "warn": "warning"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: str) -> str:
    """One workflow command line: ``::level key=value,...::message``."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{level}{' ' + props if props else ''}::{escape_data(message)}"


def _workspace_path(file: str, workspace: str | None) -> str:
    """GitHub matches ``file=`` against the repository checkout: a path inside the workspace (or the working
    directory) is given relative to it; anything else as it is."""
    path = Path(file)
    for base in filter(None, [workspace, os.getcwd()]):
        try:
            return path.resolve().relative_to(Path(base).resolve()).as_posix()
        except ValueError:
            continue
    return file


def _message(r: dict[str, Any]) -> str:
    rem = r["remediation"] or {}
    lines = [r["message"]]
    if rem.get("text"):
        lines.append(f"Fix: {rem['text']}")
    lines += [f"  {c}" for c in rem.get("commands", [])]
    return "\n".join(lines)


def render(report: RunReport, redactor: Redactor | None = None, *,
           env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    doc = as_dict(report, redactor)
    by_id = {r["id"]: r for r in doc["results"]}
    order = [cid for cid, _ in report.root_causes]
    order += [r["id"] for r in doc["results"] if r["status"] in _LEVELS and r["id"] not in order]
    lines = []
    for cid in order:
        r = by_id[cid]
        props = {"title": cid}
        if r.get("location"):
            props |= {"file": _workspace_path(r["location"]["file"], env.get("GITHUB_WORKSPACE")),
                     "line": str(r["location"]["line"])}
        lines.append(command(_LEVELS[r["status"]], _message(r), **props))
    lines.append(f"evodiag: {doc['headline']}")
    return "\n".join(lines) + "\n"


def append_step_summary(report: RunReport, redactor: Redactor | None = None, *,
                        env: Mapping[str, str] | None = None) -> Path | None:
    """Append the Markdown report to ``$GITHUB_STEP_SUMMARY`` when it is set; the file it wrote, or None."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    from evodiag.errors import UsageError
    from evodiag.report import markdown

    try:
        with open(target, "a", encoding="utf-8") as out:
            out.write(markdown.render(report, redactor) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot append to $GITHUB_STEP_SUMMARY {target}: {exc.strerror or exc}") from None
    return Path(target)
