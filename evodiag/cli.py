"""The ``evodiag`` command. Each subcommand lives in ``evodiag/commands/<name>.py``; those modules import only
typer at load time and defer everything heavy (httpx, dnspython, rich, the catalog) into the command body, so
``evodiag --help`` starts fast."""

from __future__ import annotations

import typer

from evodiag import __version__
from evodiag.commands import bundle, catalog, check, demo, explain, init, lab, triage, webhook
from evodiag.exitcodes import HELP as EXIT_HELP

app = typer.Typer(
    name="evodiag",
    help="Diagnose Evolution API + Chatwoot integrations, their webhooks, and OpenIM callbacks.\n\n" + EXIT_HELP,
    # Plain click help: typer's rich help renderer alone costs more start-up time than typer itself.
    rich_markup_mode=None,
    no_args_is_help=True,
    # typer's own --install-completion/--show-completion. Its completion code is part of `import typer` already;
    # the shell scripts and shell detection run only when asked, so --help pays nothing for it (P2).
    add_completion=True,
    pretty_exceptions_enable=False,
    # -h everywhere: subcommands and sub-apps inherit the root context's help option names.
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evodiag {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version"),
) -> None:
    """Diagnose Evolution API + Chatwoot integrations."""


app.command("check")(check.check)
app.command("catalog")(catalog.catalog)
app.command("explain")(explain.explain)
app.command("init")(init.init)
app.command("demo")(demo.demo)
app.command("triage")(triage.triage)
app.command("bundle")(bundle.bundle)
app.add_typer(lab.lab_app, name="lab")
app.add_typer(webhook.webhook_app, name="webhook")


def main() -> None:
    try:
        app(prog_name="evodiag")  # also under `python -m evodiag`: usage lines and _EVODIAG_COMPLETE match
    except BrokenPipeError:  # output cut short by a closed pipe, outside a command body (help, typer.echo)
        from evodiag.exitcodes import stdout_closed

        raise SystemExit(stdout_closed()) from None
