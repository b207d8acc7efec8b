"""Webhook capture checks: what Evolution API actually delivered (duplicates, retries, URL shape, lag).

The analysis itself lives in :mod:`evodiag.webhook.analyze`; this module only picks the catalog diagnosis.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evodiag.durations import human_seconds
from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome, Status
from evodiag.probes.declare import probe
from evodiag.versions import in_range
from evodiag.webhook.analyze import DuplicateGroup, LoadResult, WebhookAnalysis, analyze, load_deliveries

_LOOPBACK = frozenset({"127.0.0.1", "localhost"})


def _version_is_18(version: Any) -> bool:
    return in_range(str(version or ""), ">=1.8.0,<1.9.0")




def _group_line(g: DuplicateGroup) -> str:
    ctx = ", ".join(f"{k}={v}" for k, v in g.shared_context.items()) or "none"
    diff = ", ".join(g.differing_fields[:6]) or "nothing"
    return (f"{g.instance or '?'} key.id={g.key_id}: {g.count}x ({g.kind}), received over "
            f"{human_seconds(g.received_spread_s)}, date_time spread {human_seconds(g.date_time_spread_s)}, "
            f"bodies differ in: {diff}; shared context: {ctx}; capture lines {list(g.line_nos)}")


async def _listen(ctx: ProbeContext, seconds: float, out: Path) -> tuple[LoadResult, str]:
    """Listen on 127.0.0.1 (the port of webhook.url when that is a loopback URL) while traffic flows."""
    from evodiag.webhook.capture import WebhookReceiver

    port = 0
    hook = str(ctx.value("webhook.url") or "")
    if hook:
        parts = urlsplit(hook)
        if (parts.hostname or "") in _LOOPBACK and parts.port:
            port = parts.port
    receiver = WebhookReceiver(out, host="127.0.0.1", port=port, durability="write")
    await receiver.astart()
    try:
        await asyncio.sleep(seconds)
    finally:
        await receiver.aclose()
    return (load_deliveries(out) if out.exists() else LoadResult([], [])), receiver.url


def _notes(analysis: WebhookAnalysis, path_notes: bool) -> list[str]:
    notes: list[str] = []
    if analysis.malformed:
        notes.append(f"{len(analysis.malformed)} capture line(s) could not be read (first: line "
                     f"{analysis.malformed[0].line_no}, {analysis.malformed[0].reason})")
    if analysis.retries.found:
        notes.append(analysis.retries.summary())
    if path_notes:
        notes.extend(analysis.paths.notes)
    notes.extend(analysis.lag.notes)
    return notes


@probe("webhook.duplicates",
       diagnoses={"double_slash", "duplicates", "duplicates_v18", "empty", "ok", "retries", "unreadable"},
       values={"bodies", "context", "count", "deliveries", "events", "extra", "groups", "known", "malformed",
               "max_copies", "messages", "path", "paths", "reason", "source", "spread", "summary", "unique",
               "version"}, reads={"evolution.version", "webhook.capture", "webhook.listen_seconds", "webhook.url"})
async def duplicates(ctx: ProbeContext) -> Outcome:
    capture = ctx.value("webhook.capture")
    source: str
    if capture:
        try:
            loaded = load_deliveries(capture)
        except OSError as exc:
            return ctx.diagnose("unreadable", path=capture, reason=exc.strerror or str(exc))
        source = str(capture)
    else:
        seconds = float(ctx.value("webhook.listen_seconds", 0) or 0)
        seconds = max(1.0, min(seconds, ctx.timeout * 3 - 1))
        with tempfile.TemporaryDirectory(prefix="evodiag-listen-") as tmp:
            loaded, url = await _listen(ctx, seconds, Path(tmp) / "deliveries.jsonl")
        source = f"{url} ({seconds:g} s)"
    if not loaded.deliveries:
        return ctx.diagnose("empty", source=source, malformed=len(loaded.malformed))

    version = ctx.value("evolution.version")
    analysis = analyze(loaded.deliveries, malformed=loaded.malformed,
                       evolution_version=str(version) if version else None)
    dup = analysis.duplicates
    # The URL shape ('//', /<event> suffix) is evolution.webhook.url's finding when that check saw it.
    url_check = ctx.result_of("evolution.webhook.url")
    url_reported = url_check is not None and url_check.status.is_finding
    details: dict[str, Any] = {
        "source": source, "deliveries": analysis.total, "events": analysis.events,
        "message_events": dup.message_deliveries, "unique_messages": dup.unique_messages,
        "duplicate_groups": len(dup.groups), "extra_copies": dup.extra_copies,
        "retry_groups": len(analysis.retries.groups), "paths": analysis.paths.paths,
        "double_slash_paths": analysis.paths.double_slash, "by_events_paths": analysis.paths.by_events,
        "lag_median_s": analysis.lag.median_s, "lag_max_s": analysis.lag.max_s,
        "date_time_offset_hours": analysis.lag.date_time_offset_hours,
    }
    events = ", ".join(f"{name} {n}" for name, n in sorted(analysis.events.items()))

    if dup.found:
        worst = max(dup.groups, key=lambda g: g.count)
        spreads = [g.date_time_spread_s for g in dup.groups if g.date_time_spread_s is not None]
        only_ts = all(g.differ_only_in_timestamps for g in dup.groups)
        identical = all(g.identical_bodies for g in dup.groups)
        shared = sorted({f"{k}={v}" for g in dup.groups for k, v in g.shared_context.items()})
        values = {
            "groups": len(dup.groups), "extra": dup.extra_copies, "max_copies": worst.count,
            "messages": dup.message_deliveries, "spread": human_seconds(max(spreads) if spreads else None),
            "bodies": ("byte-identical (resent)" if identical else
                       "identical except timestamps" if only_ts else "different beyond timestamps"),
            "context": ", ".join(shared) if shared else "none",
            "version": version or "unknown",
            "known": "; ".join(f"{k.url} ({k.versions}): {k.summary}" for k in dup.known_issues) or "none known",
        }
        name = "duplicates_v18" if _version_is_18(version) else "duplicates"
        outcome = ctx.diagnose(name, **values)
        outcome.evidence = [_group_line(g) for g in dup.groups[:10]]
        outcome.notes = _notes(analysis, path_notes=not url_reported)
        outcome.details = details
        return outcome

    if analysis.retries.found:
        outcome = ctx.diagnose("retries", groups=len(analysis.retries.groups), source=source,
                               summary=analysis.retries.summary())
    elif analysis.paths.double_slash and not url_reported:
        paths = ", ".join(sorted(analysis.paths.double_slash))
        outcome = ctx.diagnose("double_slash", paths=paths, count=sum(analysis.paths.double_slash.values()))
    else:
        outcome = ctx.diagnose("ok", deliveries=analysis.total, messages=dup.message_deliveries,
                               unique=dup.unique_messages, events=events or "none", source=source)
    outcome.evidence = [f"{p}: {n}" for p, n in sorted(analysis.paths.paths.items())[:10]]
    outcome.notes = _notes(analysis, path_notes=not url_reported)
    outcome.details = details
    if outcome.status is Status.PASS and analysis.openim.notes:
        outcome.notes.extend(analysis.openim.notes)
    return outcome
