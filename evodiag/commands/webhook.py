"""``evodiag webhook``: capture deliveries (``listen``) and explain a capture (``analyze``).

Heavy imports stay inside the command bodies so ``evodiag --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from evodiag.webhook.analyze import WebhookAnalysis

webhook_app = typer.Typer(help="Capture webhook deliveries and explain them (duplicates, retries, paths, lag).",
                          no_args_is_help=True, rich_markup_mode=None)


def _problems(analysis: WebhookAnalysis) -> list[str]:
    """The findings that make ``analyze`` exit 1."""
    out: list[str] = []
    if analysis.duplicates.found:
        out.append(analysis.duplicates.summary())
    if analysis.retries.found:
        out.append(analysis.retries.summary())
    if analysis.paths.double_slash:
        out.append(f"'//' in {sum(analysis.paths.double_slash.values())} delivery path(s)")
    if analysis.paths.openim_query:
        out.append("OpenIM callbacks with ?command=/?contenttype= query strings")
    return out


def _as_dict(analysis: WebhookAnalysis) -> dict[str, Any]:
    import dataclasses

    data = dataclasses.asdict(analysis)
    data["problems"] = _problems(analysis)
    data["duplicates"]["summary"] = analysis.duplicates.summary()
    data["retries"]["summary"] = analysis.retries.summary()
    data["apikey"]["summary"] = analysis.apikey.summary()
    return data


def _text(analysis: WebhookAnalysis) -> str:
    from evodiag.durations import human_seconds

    lines = [f"{analysis.total} deliveries" + (f", {len(analysis.malformed)} unreadable line(s)"
                                               if analysis.malformed else "")]
    for event, n in sorted(analysis.events.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:6d}  {event}")
    dup = analysis.duplicates
    lines.append(f"duplicates: {dup.summary()}")
    for g in dup.groups[:10]:
        ctx = ", ".join(f"{k}={v}" for k, v in g.shared_context.items()) or "none"
        spread = human_seconds(g.date_time_spread_s)
        lines.append(f"  {g.instance or '?'} key.id={g.key_id}: {g.count}x ({g.kind}), date_time spread {spread}, "
                     f"differs in {', '.join(g.differing_fields[:6]) or 'nothing'}; context {ctx}")
    if dup.found:
        for issue in dup.known_issues:
            lines.append(f"  known issue {issue.url} ({issue.versions}): {issue.summary}")
        lines.append(f"  fix: {dup.fix}")
    lines.append(f"retries: {analysis.retries.summary()}")
    for note in (*analysis.paths.notes, *analysis.lag.notes, *analysis.openim.notes):
        lines.append(f"note: {note}")
    if analysis.openim.commands:
        lines.append("openim callbacks: " + ", ".join(f"{c} {n}" for c, n in sorted(analysis.openim.commands.items())))
    if analysis.apikey.deliveries:
        lines.append(f"apikey: {analysis.apikey.summary()}")
    return "\n".join(lines)


@webhook_app.command()
def analyze(
    file: Path = typer.Argument(..., metavar="FILE", help="Capture JSONL from `evodiag webhook listen --out`"),
    fmt: str = typer.Option("text", "--format", metavar="FORMAT", help="text or json"),
    evolution_version: str = typer.Option("", "--evolution-version", metavar="VERSION",
                                          help="Evolution version, for known issues"),
) -> None:
    """Explain a capture. Exit 0 clean, 1 problems found, 2 unreadable file."""
    import json

    from evodiag.webhook.analyze import analyze as run_analysis
    from evodiag.webhook.analyze import load_deliveries

    if fmt not in ("text", "json"):
        typer.echo(f"error: --format must be text or json, not {fmt!r}", err=True)
        raise typer.Exit(2)
    try:
        loaded = load_deliveries(file)
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    if not loaded.deliveries and loaded.malformed:
        typer.echo(f"error: {file} is not a capture: no readable delivery "
                   f"(line {loaded.malformed[0].line_no}: {loaded.malformed[0].reason})", err=True)
        raise typer.Exit(2)
    analysis = run_analysis(loaded.deliveries, malformed=loaded.malformed,
                            evolution_version=evolution_version or None)
    if fmt == "json":
        # schema_version: the layout of this JSON, as in `check --format json`; bumped when a key changes meaning.
        typer.echo(json.dumps({"schema_version": 1, **_as_dict(analysis)}, indent=2, default=str))
    else:
        typer.echo(_text(analysis))
    raise typer.Exit(1 if _problems(analysis) else 0)


def _table(receiver: Any, started: float) -> Any:
    import time

    from rich.table import Table

    from evodiag.durations import human_seconds

    title = f"{receiver.url}  ·  {receiver.count} deliveries  ·  {human_seconds(time.time() - started)}"
    # As wide as its title, so the title never wraps into a narrow column (at 0 deliveries the table is empty).
    table = Table(title=title, min_width=len(title) + 4)
    table.add_column("event", ratio=1)
    table.add_column("count", justify="right")
    for event, n in sorted(receiver.counts_by_event.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(event, str(n))
    if not receiver.counts_by_event:
        table.add_row("[dim]no delivery yet: point the webhook at the URL above[/dim]", "0")
    return table


@webhook_app.command()
def listen(
    host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS",
                             help="Address to bind (0.0.0.0 to reach it from containers)"),
    port: int = typer.Option(0, "--port", metavar="PORT", help="Port (0 = any free port)"),
    out: Path = typer.Option(Path("deliveries.jsonl"), "--out", metavar="PATH", help="Capture file (JSONL, appended)"),
    duration: float = typer.Option(0, "--duration", metavar="SECONDS",
                                   help="Stop after this many seconds (0 = until Ctrl-C)"),
) -> None:
    """Receive webhooks, show counts by event, and print the analysis when stopped."""
    import sys
    import time

    from evodiag.webhook.analyze import analyze_file
    from evodiag.webhook.capture import WebhookReceiver

    receiver = WebhookReceiver(out, host=host, port=port)
    try:
        url = receiver.start()
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"listening on {url} (any path), writing {out}; Ctrl-C to stop", err=True)
    started = time.time()
    deadline = started + duration if duration > 0 else None
    try:
        if sys.stdout.isatty():
            from rich.live import Live

            with Live(_table(receiver, started), refresh_per_second=4) as live:
                while deadline is None or time.time() < deadline:
                    time.sleep(0.25)
                    live.update(_table(receiver, started))
        else:
            last = -1
            next_line = 0.0
            while deadline is None or time.time() < deadline:
                time.sleep(0.1)
                now = time.time()
                if now >= next_line and receiver.count != last:
                    last, next_line = receiver.count, now + 2.0
                    counts = ", ".join(f"{e} {n}" for e, n in sorted(receiver.counts_by_event.items()))
                    typer.echo(f"[{now - started:5.0f} s] {receiver.count} deliveries: {counts or 'none yet'}")
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    typer.echo(f"stopped: {receiver.count} deliveries written to {out}")
    if out.exists() and receiver.count:
        typer.echo(_text(analyze_file(out)))
