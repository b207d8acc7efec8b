"""Option groups shared by several commands (``check``, ``demo``, ``bundle``).

Typer reads a command's parameters from its signature; :func:`with_options` appends a group of parameters to
a command's signature so every command that runs checks takes the same flags, declared once. The target flags
are generated from :data:`evodiag.config.OPTIONS`, so adding a setting there adds its flag everywhere."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import typer

from evodiag.commands._args import param_name
from evodiag.config import OPTIONS

_KIND_TYPES: dict[str, Any] = {"paths": Optional[list[str]], "bool": Optional[bool], "float": Optional[float]}


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def target_params() -> list[inspect.Parameter]:
    params = []
    for opt in OPTIONS:
        flags = [opt.flag] if opt.kind != "bool" else [f"{opt.flag}/--no-{opt.flag.lstrip('-')}"]
        params.append(_param(param_name(opt), _KIND_TYPES.get(opt.kind, Optional[str]),
                             typer.Option(None, *flags, help=opt.help, show_default=False,
                                          rich_help_panel="Targets")))
    params.append(_param("config", Optional[Path], typer.Option(
        None, "--config", help="Config file (default: ./evodiag.yaml)", rich_help_panel="Targets")))
    return params


def run_params() -> list[inspect.Parameter]:
    def opt(name: str, annotation: Any, default: Any, *decls: str, help: str) -> inspect.Parameter:
        return _param(name, annotation, typer.Option(default, *decls, help=help, rich_help_panel="Run"))

    return [
        opt("catalog", Optional[list[Path]], None, "--catalog",
            help="Extra catalog file (repeatable); adds or overrides checks by id"),
        opt("stage", Optional[list[str]], None, "--stage", help="Only these stages (repeatable)"),
        opt("only", Optional[list[str]], None, "--only", help="Only this check id and what it requires"),
        opt("skip", Optional[list[str]], None, "--skip", help="Skip this check id (repeatable)"),
        opt("tags", Optional[list[str]], None, "--tags", help="Only checks with this tag"),
        opt("format", str, "text", "--format", "-f", help="text | json | junit | markdown"),
        opt("output", Optional[Path], None, "--output", "-o", help="Write the report to this file"),
        opt("fail_on", str, "fail", "--fail-on", help="Exit 1 at this level or worse: fail | warn"),
        opt("exit_zero", bool, False, "--exit-zero", help="Always exit 0 (report-only jobs)"),
        opt("timeout", Optional[float], None, "--timeout",
            help="Cap on every request, in seconds (default 10; checks may declare longer unless this is given)"),
        opt("deadline", Optional[float], None, "--deadline",
            help="Bound on the whole run, in seconds (default 60 + --listen-seconds); then the report is printed"),
        opt("concurrency", int, 0, "--concurrency", help="Max checks at once (0 = no limit)"),
        opt("allow_connect", bool, False, "--allow-connect",
            help="Allow starting a WhatsApp connection attempt to produce a QR (evolution.qr)"),
        opt("allow_webhook_post", bool, False, "--allow-webhook-post",
            help="Allow POSTing an empty event to Evolution's live Chatwoot webhook (evolution.chatwoot.webhook)"),
        opt("allow_send", bool, False, "--allow-send",
            help="Allow sending a real WhatsApp message (functional.message_sync, needs --send-to)"),
        opt("insecure", bool, False, "--insecure", help="Do not verify TLS certificates"),
        _param("verbose", int, typer.Option(
            0, "--verbose", "-v", count=True, rich_help_panel="Run",
            help="Say more (text format): -v every check, notes and skip reasons; -vv timing and every HTTP exchange")),
        opt("quiet", bool, False, "--quiet", "-q", help="Only the headline and the problems (text format)"),
        opt("color", str, "auto", "--color",
            help="auto | always | never (auto: colour on a terminal; NO_COLOR and FORCE_COLOR are respected)"),
        opt("debug", bool, False, "--debug", help="Show tracebacks (redacted) for internal errors"),
    ]


def with_options(*groups: list[inspect.Parameter]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        extra = [p for group in groups for p in group if p.name not in sig.parameters]
        func.__signature__ = sig.replace(parameters=own + extra)  # type: ignore[attr-defined]
        return func

    return decorate
