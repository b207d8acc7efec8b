"""``evodiag triage``: a support ticket (prose, logs, JSON; any language, any size) → ranked diagnoses.

:func:`triage_stream` is the whole pipeline: :mod:`.scan` streams the input through every catalog signature
and collects version mentions, :mod:`.rank` scores checks and applies known issues, :mod:`.render` prints.
"""

from __future__ import annotations

from typing import BinaryIO

from evodiag.catalog.model import Catalog
from evodiag.redact import Redactor
from evodiag.triage.rank import Diagnosis, Triage, rank
from evodiag.triage.scan import Scanner, ScanResult

__all__ = ["Diagnosis", "ScanResult", "Scanner", "Triage", "rank", "triage_stream"]


def triage_stream(stream: BinaryIO, catalog: Catalog, *, redactor: Redactor | None = None, max_evidence: int = 3,
                  top: int | None = None) -> Triage:
    """Scan ``stream`` (bytes) against ``catalog``; evidence is masked through ``redactor`` (default: secrets
    by shape and personal data pseudonymised)."""
    if redactor is None:
        from evodiag.pii import PiiRedactor

        redactor = PiiRedactor()
    scan = Scanner(catalog, max_evidence=max_evidence, redactor=redactor).scan(stream)
    return rank(catalog, scan, top=top)
