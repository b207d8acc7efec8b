"""``evodiag init``: write a commented ``evodiag.yaml`` template."""

from __future__ import annotations

from pathlib import Path

import typer


def init(
    path: Path = typer.Argument(Path("evodiag.yaml"), metavar="[PATH]", help="Where to write the template"),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file"),
) -> None:
    """Write a commented configuration template (secrets as ${ENV_VAR} references)."""
    from evodiag.config import TEMPLATE

    if path.exists() and not force:
        typer.echo(f"evodiag: error: {path} exists (use --force to overwrite)", err=True)
        raise typer.Exit(2)
    path.write_text(TEMPLATE, encoding="utf-8")
    typer.echo(f"wrote {path}; edit it, then run: evodiag check")
