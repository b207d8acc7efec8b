"""``evodiag catalog``: list the checks by stage."""

from __future__ import annotations

from pathlib import Path

import typer


def catalog(
    extra: list[Path] | None = typer.Option(None, "--catalog", metavar="PATH", help="Extra catalog file (repeatable)"),
    fmt: str = typer.Option("text", "--format", "-f", metavar="FORMAT", help="text | json"),
) -> None:
    """List every check by stage, with what it requires and its side effects. Validates the catalog (exit 2)."""
    from evodiag.commands._run import guarded

    def body() -> int:
        import json

        from evodiag.catalog.loader import load_catalog
        from evodiag.catalog.model import STAGES
        from evodiag.engine.runner import resolve_probe

        cat = load_catalog(list(extra or []))
        for check in cat.checks.values():
            if check.probe:
                resolve_probe(check.probe)
        if fmt == "json":
            rows = [{"id": c.id, "stage": c.stage, "title": c.title, "severity": c.severity, "tags": list(c.tags),
                     "requires": list(c.requires), "side_effects": c.side_effects.kind if c.side_effects else None,
                     "kind": "probe" if c.probe else "http"} for c in cat.ordered()]
            typer.echo(json.dumps(rows, indent=2))
            return 0
        for stage in STAGES:
            checks = [c for c in cat.ordered() if c.stage == stage]
            if not checks:
                continue
            typer.echo(f"\n{stage.upper()}")
            for c in checks:
                extra_info = f"  (requires {', '.join(c.requires)})" if c.requires else ""
                effect = f"  [side effect: {c.side_effects.kind}]" if c.side_effects else ""
                typer.echo(f"  {c.id:<32} {c.title}{extra_info}{effect}")
        typer.echo(f"\n{len(cat.checks)} checks, {len(cat.known_issues)} known issues from {', '.join(cat.sources)}")
        return 0

    raise typer.Exit(guarded(body, debug=False))
