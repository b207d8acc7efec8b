"""``evodiag demo``: start the built-in lab and run the full check against it."""

from __future__ import annotations

from typing import Any, Optional

import typer

from evodiag.commands._options import run_params, with_options


@with_options(run_params())
def demo(
    scenario: Optional[str] = typer.Option(None, "--scenario", "-s", help="Lab scenario (default: healthy)"),
    list_scenarios: bool = typer.Option(False, "--list", help="List the scenarios and exit"),
    evolution_version: Optional[str] = typer.Option(None, "--evolution-version", help="Emulated Evolution version"),
    chatwoot_version: Optional[str] = typer.Option(None, "--chatwoot-version", help="Emulated Chatwoot version"),
    locale: Optional[str] = typer.Option(None, "--locale", help="Chatwoot locale: en | pt_BR"),
    **opts: Any,
) -> None:
    """Run `evodiag check` against the built-in lab (real servers on 127.0.0.1). Same formats and exit codes
    as `check`; the lab's number is used for the message round trip."""
    from evodiag.commands._run import guarded

    def body() -> int:
        from evodiag.lab.scenarios import SCENARIOS

        if list_scenarios:
            for spec in SCENARIOS.values():
                expected = ", ".join(f"{k} ({v})" for k, v in spec.expect.items()) or "nothing fails"
                typer.echo(f"{spec.name:<26} {expected}\n{'':<26} {spec.description}")
            return 0
        from evodiag.commands._run import catalog_from, emit, execute, run_options_from
        from evodiag.config import Settings
        from evodiag.engine.context import SIDE_EFFECT_KINDS
        from evodiag.errors import UsageError
        from evodiag.lab.runtime import start_lab
        from evodiag.report import common

        name = scenario or "healthy"
        if name not in SCENARIOS:
            raise UsageError(f"unknown scenario {name!r} (see `evodiag demo --list`)")
        options = run_options_from(opts)
        options.allow = SIDE_EFFECT_KINDS
        with start_lab(name, evolution_version=evolution_version, chatwoot_version=chatwoot_version,
                       locale=locale) as lab:
            if opts.get("format", "text") == "text" and not opts.get("output"):
                typer.echo(f"evodiag demo: scenario {name!r} — {SCENARIOS[name].description}\n", err=True)
            settings = Settings(values=dict(lab.settings_values))
            report = execute(settings, options, catalog_from(opts), show_progress=opts.get("format") == "text")
            emit(report, opts)
            return common.exit_code(report, fail_on=opts.get("fail_on", "fail"), exit_zero=bool(opts.get("exit_zero")))

    raise typer.Exit(guarded(body, debug=bool(opts.get("debug"))))
