"""``evodiag triage``: paste a ticket, get diagnoses."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def triage(
    file: Optional[str] = typer.Argument(None, help="Ticket or log file; '-' (or nothing, when piped) reads stdin"),
    format: str = typer.Option("text", "--format", "-f", help="text | json"),
    catalog: Optional[list[Path]] = typer.Option(None, "--catalog", help="Extra catalog file (repeatable)"),
    max_evidence: int = typer.Option(3, "--max-evidence", help="Evidence lines kept per diagnosis"),
    top: int = typer.Option(10, "--top", help="Show at most this many diagnoses (0 = all)"),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks (redacted) for internal errors"),
) -> None:
    """Match a support ticket or log (any size, any language; stdin or a file) against every check's
    signatures and known issues; print ranked diagnoses and the `evodiag check` that would confirm each.
    Evidence is redacted: secrets masked, phone numbers, WhatsApp JIDs, names and message text pseudonymised.

    Exit codes: 0 nothing matched; 1 at least one diagnosis; 2 bad input or catalog; 4 internal error."""
    from evodiag.triage.command import run_triage

    raise typer.Exit(run_triage(file, fmt=format, catalog_files=catalog or [], max_evidence=max_evidence,
                                top=top, debug=debug))
