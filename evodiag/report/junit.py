"""``--format junit``: one testsuite per stage, ``classname`` = stage, ``name`` = check id.

Valid against the strict Jenkins JUnit schema (``jenkins-junit.xsd``, which many CI consumers apply; the test
suite validates every lab scenario's report against it): every ``testsuite`` carries ``tests``, ``failures``,
``errors``, ``skipped`` and ``time``; ``<skipped>`` has no attributes, its reason is its text.

fail -> ``<failure>``, error -> ``<error>``, skip and blocked -> ``<skipped>`` (the text names the blocking
check). A warn is never silent: a ``WARN:`` line in the case's ``<system-out>``, and with ``--fail-on warn``
(when a warn fails the run) also a ``<failure type="warning">``, so the CI's test view agrees with the exit
code."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from evodiag.catalog.model import STAGES
from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import as_dict


def _detail(r: dict[str, Any]) -> str:
    rem = r["remediation"] or {}
    where = f"{r['location']['file']}:{r['location']['line']}" if r.get("location") else ""
    return "\n".join(filter(None, [r["message"], where, rem.get("text", ""), *rem.get("commands", []),
                                   *r["evidence"]]))


def _case(suite: ET.Element, r: dict[str, Any], *, warn_fails: bool) -> None:
    case = ET.SubElement(suite, "testcase", classname=r["stage"], name=r["id"], time=f"{r['duration_ms'] / 1000:.3f}")
    status = r["status"]
    # The schema fixes the order of a case's children: skipped, error, failure, system-out.
    if status in ("skip", "blocked"):
        ET.SubElement(case, "skipped").text = r["message"]
    elif status == "error":
        ET.SubElement(case, "error", message=r["message"], type=r.get("error_kind") or "error").text = _detail(r)
    elif status == "fail" or (status == "warn" and warn_fails):
        kind = "warning" if status == "warn" else r["severity"]
        ET.SubElement(case, "failure", message=r["message"], type=kind).text = _detail(r)
    if status == "warn":
        ET.SubElement(case, "system-out").text = "WARN: " + _detail(r)


def render(report: RunReport, redactor: Redactor | None = None, *, fail_on: str = "fail") -> str:
    doc = as_dict(report, redactor)
    warn_fails = fail_on == "warn"
    totals = {"tests": 0, "failures": 0, "errors": 0}
    suites = []
    for stage in STAGES:
        results = [r for r in doc["results"] if r["stage"] == stage]
        if not results:
            continue
        statuses = [r["status"] for r in results]
        failures = statuses.count("fail") + (statuses.count("warn") if warn_fails else 0)
        seconds = sum(r["duration_ms"] for r in results) / 1000
        suite = ET.Element("testsuite", name=stage, tests=str(len(results)), failures=str(failures),
                           errors=str(statuses.count("error")),
                           skipped=str(statuses.count("skip") + statuses.count("blocked")), time=f"{seconds:.3f}")
        for r in results:
            _case(suite, r, warn_fails=warn_fails)
        suites.append(suite)
        totals["tests"] += len(results)
        totals["failures"] += failures
        totals["errors"] += statuses.count("error")
    # The run's wall time: checks in a stage run concurrently, so the suites' times overlap.
    root = ET.Element("testsuites", {"name": "evodiag", **{k: str(v) for k, v in totals.items()},
                                     "time": f"{doc['duration_ms'] / 1000:.3f}"})
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
