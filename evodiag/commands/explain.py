"""``evodiag explain ID``: what a check does, why it matters, how to fix what it finds."""

from __future__ import annotations

from pathlib import Path

import typer


def explain(
    check_id: str | None = typer.Argument(None, metavar="[ID]", help="Check id, e.g. evolution.auth"),
    list_all: bool = typer.Option(False, "--list", help="Explain every check"),
    extra: list[Path] | None = typer.Option(None, "--catalog", metavar="PATH", help="Extra catalog file (repeatable)"),
) -> None:
    """Print a check's doc, remediation (text, commands, links), known issues and triage signatures."""
    from evodiag.commands._run import guarded

    def body() -> int:
        from evodiag.catalog.loader import load_catalog
        from evodiag.errors import UsageError
        from evodiag.explain import explain_text

        cat = load_catalog(list(extra or []))
        if list_all:
            typer.echo("\n\n".join(explain_text(cat, c.id) for c in cat.ordered()))
            return 0
        if not check_id:
            raise UsageError("give a check id, or --list (see `evodiag catalog`)")
        if check_id not in cat.checks:
            from evodiag.suggest import unknown_check

            raise UsageError(unknown_check(check_id, cat.checks))
        typer.echo(explain_text(cat, check_id))
        return 0

    raise typer.Exit(guarded(body, debug=False))
