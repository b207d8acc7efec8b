"""``--format junit``: one testsuite per stage, ``classname`` = stage, ``name`` = check id.

fail -> <failure>, error -> <error>, skip and blocked -> <skipped> (the message names the blocking check)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evodiag.catalog.model import STAGES
from evodiag.engine.results import Status
from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import as_dict


def render(report: RunReport, redactor: Redactor | None = None) -> str:
    doc = as_dict(report, redactor)
    root = ET.Element("testsuites", name="evodiag", tests=str(len(doc["results"])))
    for stage in STAGES:
        results = [r for r in doc["results"] if r["stage"] == stage]
        if not results:
            continue
        count = {s: sum(1 for r in results if r["status"] == s.value) for s in Status}
        suite = ET.SubElement(root, "testsuite", name=stage, tests=str(len(results)),
                              failures=str(count[Status.FAIL]), errors=str(count[Status.ERROR]),
                              skipped=str(count[Status.SKIP] + count[Status.BLOCKED]),
                              time=f"{sum(r['duration_ms'] for r in results) / 1000:.3f}")
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=stage, name=r["id"],
                                 time=f"{r['duration_ms'] / 1000:.3f}")
            rem = r["remediation"] or {}
            detail = "\n".join(filter(None, [r["message"], rem.get("text", ""), *rem.get("commands", []),
                                             *r["evidence"]]))
            if r["status"] == "fail":
                ET.SubElement(case, "failure", message=r["message"], type=r["severity"]).text = detail
            elif r["status"] == "error":
                ET.SubElement(case, "error", message=r["message"], type=r.get("error_kind") or "error").text = detail
            elif r["status"] in ("skip", "blocked"):
                ET.SubElement(case, "skipped", message=r["message"])
            elif r["status"] == "warn":
                ET.SubElement(case, "system-out").text = "WARNING: " + detail
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
