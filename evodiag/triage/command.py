"""The body of ``evodiag triage``, imported only when it runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from evodiag.errors import InputError, UsageError


def _open(file: str | None) -> BinaryIO:
    if file in (None, "-"):
        if file is None and sys.stdin.isatty():
            raise UsageError("give a ticket FILE, or pipe it on stdin (evodiag triage - < ticket.txt)")
        return sys.stdin.buffer
    path = Path(file)
    if path.is_dir():
        raise InputError(f"{file}: is a directory, expected a ticket or log file")
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {exc.strerror or exc}") from None


def run_triage(file: str | None, *, fmt: str, catalog_files: list[Path], max_evidence: int, top: int,
               debug: bool) -> int:
    from evodiag.commands._run import guarded

    def body() -> int:
        from evodiag.catalog.loader import load_catalog
        from evodiag.pii import PiiRedactor
        from evodiag.triage import triage_stream
        from evodiag.triage.render import render_json, render_text

        if fmt not in ("text", "json"):
            raise UsageError("--format must be text or json")
        if max_evidence < 0 or top < 0:
            raise UsageError("--max-evidence and --top must be >= 0")
        catalog = load_catalog(catalog_files)
        stream = _open(file)
        redactor = PiiRedactor()
        try:
            result = triage_stream(stream, catalog, redactor=redactor, max_evidence=max_evidence, top=top or None)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        if fmt == "json":
            sys.stdout.write(render_json(result, {"redaction": redactor.summary()}))
        else:
            sys.stdout.write(render_text(result, redactor.summary()))
        return 1 if result.diagnoses else 0

    return guarded(body, debug=debug)
