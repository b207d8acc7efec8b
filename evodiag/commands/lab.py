"""``evodiag lab serve``: run the lab in the foreground so you can point `evodiag check` (or anything) at it."""

from __future__ import annotations

import os
import signal
import sys
from typing import Optional

import typer

lab_app = typer.Typer(help="The built-in lab: emulated Evolution API, Chatwoot, OpenIM and S3 on 127.0.0.1.",
                      no_args_is_help=True, rich_markup_mode=None)


@lab_app.command("serve")
def serve(
    scenario: str = typer.Option("healthy", "--scenario", "-s", metavar="NAME",
                                 help="Lab scenario (see `evodiag demo --list`)"),
    latency_ms: float = typer.Option(0, "--latency-ms", metavar="MS",
                                     help="Delay every request by this many milliseconds"),
    evolution_version: Optional[str] = typer.Option(None, "--evolution-version", metavar="VERSION",
                                                    help="Emulated Evolution version"),
    chatwoot_version: Optional[str] = typer.Option(None, "--chatwoot-version", metavar="VERSION",
                                                   help="Emulated Chatwoot version"),
    locale: Optional[str] = typer.Option(None, "--locale", metavar="LOCALE", help="Chatwoot locale: en | pt_BR"),
    hostile: Optional[str] = typer.Option(None, "--hostile", metavar="KIND",
                                          help="Put a misbehaving server in front of Evolution, "
                                          "Chatwoot and OpenIM: html, invalid-json, shape-array, silent, drip, "
                                          "reset, redirect-loop, self-signed-tls, ... (see the README)"),
) -> None:
    """Serve the lab until Ctrl-C; prints the URLs, keys, instance name and how to point evodiag at it: a
    ready-to-paste check command, the same settings as an evodiag.yaml, and as export lines."""
    # Ctrl-C and SIGTERM (docker stop, systemd, a test harness) both end the lab the same way: servers closed,
    # temp folder removed. Blocking them before any server thread starts (threads inherit the mask) lets the
    # main thread take them with sigwait at once, instead of a signal handler waiting for a blocked wait().
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    if hostile is not None:
        _serve_hostile(hostile, stop_signals)
        _exit_now()
    from evodiag.catalog.loader import load_catalog
    from evodiag.lab.handoff import handoff_text
    from evodiag.lab.runtime import start_lab
    from evodiag.lab.scenarios import SCENARIOS

    if scenario not in SCENARIOS:
        typer.echo(f"evodiag: error: unknown scenario {scenario!r} (see `evodiag demo --list`)", err=True)
        raise typer.Exit(2)
    with start_lab(scenario, evolution_version=evolution_version, chatwoot_version=chatwoot_version, locale=locale,
                   latency_ms=latency_ms) as lab:
        typer.echo(f"evodiag lab: scenario {scenario!r} — {SCENARIOS[scenario].description}")
        for name, url in lab.urls.items():
            typer.echo(f"  {name:<13} {url}")
        instance = lab.settings_values["evolution.instance"]
        typer.echo(f"  evolution     version {lab.evolution.version}, instance {instance!r}")
        typer.echo(f"  chatwoot      version {lab.chatwoot.version}, locale {lab.chatwoot.locale}, account 1")
        typer.echo("  (lab keys and tokens are throwaway values, printed so you can use them)")
        typer.echo(f"  evolution api key: {lab.settings_values['evolution.api_key']}")
        typer.echo(f"  chatwoot token:    {lab.settings_values['chatwoot.token']}")
        typer.echo("\n" + handoff_text(load_catalog(), lab.settings_values, lab.cli_args()), nl=False)
        typer.echo("\nCtrl-C to stop.")
        _wait_for_stop(stop_signals)
    _exit_now()


def _wait_for_stop(stop_signals: set[signal.Signals]) -> None:
    received = signal.sigwait(stop_signals)
    typer.echo(f"\nstopping the lab ({signal.Signals(received).name})")


def _exit_now() -> None:
    """Servers are closed and the temp folder is gone: skip the interpreter's module teardown (a few hundred ms
    for httpx, dnspython and the lab), so a supervisor's stop returns at once."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _serve_hostile(kind: str, stop_signals: set[signal.Signals]) -> None:
    import shlex

    from evodiag.lab.hostile import KINDS, start_hostile_lab

    if kind not in KINDS:
        typer.echo(f"evodiag: error: unknown hostile kind {kind!r} (one of: {', '.join(KINDS)})", err=True)
        raise typer.Exit(2)
    with start_hostile_lab(kind) as hostile:
        typer.echo(f"evodiag lab: hostile {kind!r} — {KINDS[kind]}")
        for name, url in hostile.urls.items():
            typer.echo(f"  {name:<13} {url}")
        typer.echo("  (lab keys and tokens are throwaway values)")
        typer.echo("\nRun:\n  evodiag check " + " ".join(shlex.quote(a) for a in hostile.cli_args()))
        typer.echo("\nCtrl-C to stop.")
        _wait_for_stop(stop_signals)
