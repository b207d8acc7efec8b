"""``evodiag demo``: start the built-in lab and run the full check against it. This is the demo wiring: the
lab (``evodiag/lab``) only emulates servers; this command points evodiag's settings at them and runs the
engine."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import typer

from evodiag.commands._args import RunArgs
from evodiag.commands._options import run_params, with_options


@with_options(run_params())
def demo(
    scenario: Optional[str] = typer.Option(None, "--scenario", "-s", metavar="NAME",
                                           help="Lab scenario (default: healthy)"),
    list_scenarios: bool = typer.Option(False, "--list", help="List the scenarios and exit"),
    evolution_version: Optional[str] = typer.Option(None, "--evolution-version", metavar="VERSION",
                                                    help="Emulated Evolution version"),
    chatwoot_version: Optional[str] = typer.Option(None, "--chatwoot-version", metavar="VERSION",
                                                   help="Emulated Chatwoot version"),
    locale: Optional[str] = typer.Option(None, "--locale", metavar="LOCALE", help="Chatwoot locale: en | pt_BR"),
    **params: Any,
) -> None:
    """Run `evodiag check` against the built-in lab (real servers on 127.0.0.1). Same formats and exit codes
    as `check`; the lab's number is used for the message round trip."""
    from evodiag.commands._run import guarded
    from evodiag.engine.context import SIDE_EFFECT_KINDS

    # The lab is a throwaway deployment: connecting, sending and posting there changes nothing real.
    args = dataclasses.replace(RunArgs.from_params(params), allow=SIDE_EFFECT_KINDS)

    def body() -> int:
        from evodiag.lab.scenarios import SCENARIOS

        if list_scenarios:
            for spec in SCENARIOS.values():
                expected = ", ".join(f"{k} ({v})" for k, v in spec.expect.items()) or "nothing fails"
                typer.echo(f"{spec.name:<26} {expected}\n{'':<26} {spec.description}")
            return 0
        from evodiag.commands._run import run_and_report, run_options_from
        from evodiag.config import Settings
        from evodiag.errors import UsageError
        from evodiag.lab.runtime import start_lab

        name = scenario or "healthy"
        if name not in SCENARIOS:
            raise UsageError(f"unknown scenario {name!r} (see `evodiag demo --list`)")
        run_options_from(args)  # bad flags fail before a lab starts
        with start_lab(name, evolution_version=evolution_version, chatwoot_version=chatwoot_version,
                       locale=locale) as lab:
            if args.format == "text" and not args.output:
                typer.echo(f"evodiag demo: scenario {name!r} — {SCENARIOS[name].description}\n", err=True)
            return run_and_report(args, settings=lambda: Settings(values=dict(lab.settings_values)))

    raise typer.Exit(guarded(body, debug=args.debug))
