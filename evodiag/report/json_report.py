"""``--format json``: the machine-readable report (schema in the README)."""

from __future__ import annotations

import json

from evodiag.engine.runner import RunReport
from evodiag.redact import Redactor
from evodiag.report.common import as_dict


def render(report: RunReport, redactor: Redactor | None = None) -> str:
    return json.dumps(as_dict(report, redactor), indent=2, ensure_ascii=False, default=str) + "\n"
