"""``evodiag triage``: paste a ticket, get diagnoses."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO, Optional

import typer


def triage(
    file: Optional[str] = typer.Argument(None, metavar="[FILE]",
                                         help="Ticket or log file; '-' (or nothing, when piped) reads stdin"),
    format: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help="text | json"),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", metavar="PATH",
                                                 help="Extra catalog file (repeatable)"),
    max_evidence: int = typer.Option(3, "--max-evidence", metavar="N", help="Evidence lines kept per diagnosis"),
    top: int = typer.Option(10, "--top", metavar="N", help="Show at most this many diagnoses (0 = all)"),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks (redacted) for internal errors"),
) -> None:
    """Match a support ticket or log (any size, any language; stdin or a file) against every check's
    signatures and known issues; print ranked diagnoses and the `evodiag check` that would confirm each.
    Evidence is redacted: secrets masked, phone numbers, WhatsApp JIDs, names and message text pseudonymised.

    Exit codes: 0 nothing matched; 1 at least one diagnosis; 2 bad input or catalog; 4 internal error."""
    from evodiag.commands._run import guarded

    def body() -> int:
        return _triage(file, fmt=format, catalog_files=catalog or [], max_evidence=max_evidence, top=top)

    raise typer.Exit(guarded(body, debug=debug))


def _open(file: str | None) -> BinaryIO:
    from evodiag.errors import InputError, UsageError

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


def _triage(file: str | None, *, fmt: str, catalog_files: list[Path], max_evidence: int, top: int) -> int:
    from evodiag.catalog.loader import load_catalog
    from evodiag.errors import UsageError
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
