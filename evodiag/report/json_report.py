"""``--format json``: the machine-readable report. Its layout is a contract: ``schema_version`` names it, and
the JSON Schema ``evodiag/report/schema/report.schema.json`` (shipped in the package, published in the README)
describes every key. Keys are never renamed; removing one or changing its meaning bumps ``SCHEMA_VERSION``."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import as_dict

SCHEMA_VERSION = 1


def schema() -> dict[str, Any]:
    """The report's JSON Schema, as shipped in the package."""
    text = files("evodiag.report").joinpath("schema/report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def render(report: RunReport, redactor: Redactor | None = None) -> str:
    doc = {"schema_version": SCHEMA_VERSION, **as_dict(report, redactor)}
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"
