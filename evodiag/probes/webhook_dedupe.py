"""webhook.dedupe_drop: messages Evolution stored but never delivered to the webhook (the 2.3.x dedupe drop).

Facts (Evolution 2.3.6, whatsapp.baileys.service.ts#L1133-L1141): messages.upsert keeps ``<instanceId>_<key.id>``
in a cache for 5 minutes and ``continue``s past a message already there, logging ``Message duplicated ignored:
<id>``, before the webhook is sent; present from 2.3.0 (``git grep`` across the tags). The store is read with
``POST /chat/findMessages/<instance>`` and a ``messageTimestamp`` range ({gte, lte}, ISO dates), 50 records a
page, newest first (whatsapp.baileys.service.ts#L4850-L4958). A read-only query, although it is a POST.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome
from evodiag.engine.shape import expect
from evodiag.probes.declare import probe
from evodiag.probes.evolution import APIKEY, enrich, excerpt, is_v1, server_version
from evodiag.probes.evolution_lid import message_records
from evodiag.webhook.analyze import Delivery, load_deliveries

FIND_MESSAGES = "/chat/findMessages/{evolution.instance}"
UPSERT_EVENTS = frozenset({"messages.upsert", "send.message"})
PAGE_SIZE = 50
MAX_PAGES = 20  # 1000 messages: enough for a capture window; a bound so a busy instance cannot stall the run
SLACK_S = 2.0  # the capture's received_at and WhatsApp's messageTimestamp come from different clocks


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S")


def capture_window(deliveries: list[Delivery], instance: str) -> tuple[float, float, set[str]] | None:
    """The time span of the instance's message deliveries and the key ids they carried."""
    ours = [d for d in deliveries if d.event in UPSERT_EVENTS and d.instance in (instance, None)]
    if not ours:
        return None
    times = [t for d in ours for t in (d.received_at, d.message_timestamp) if t is not None]
    ids = {d.key_id for d in ours if d.key_id}
    return min(times) - SLACK_S, max(times) + SLACK_S, ids


async def stored_incoming(ctx: ProbeContext, start: float, end: float) -> list[dict[str, Any]] | Outcome:
    """Incoming messages (not fromMe) the instance stored between ``start`` and ``end``."""
    records: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        body = {"where": {"messageTimestamp": {"gte": _iso(start), "lte": _iso(end)}}, "page": page,
                "offset": PAGE_SIZE}
        exchange = await ctx.request("POST", "{evolution.url}" + FIND_MESSAGES, headers=APIKEY, json=body)
        if exchange.status not in (200, 201):
            return ctx.diagnose("unexpected", route=ctx.render(FIND_MESSAGES), status=exchange.status,
                                excerpt=excerpt(exchange))
        doc = expect(exchange, exchange.json_or_none(), dict, "findMessages result")
        expect(exchange, doc.get("messages"), dict, "messages")
        batch = message_records(doc)
        records.extend(batch)
        if len(batch) < PAGE_SIZE:
            break
    return [r for r in records if isinstance(r.get("key"), dict) and not r["key"].get("fromMe")]


@probe("webhook.dedupe_drop", diagnoses={"dropped", "dropped_23", "no_window", "ok", "unexpected", "unreadable", "v1"},
       values={"captured", "end", "excerpt", "ids", "missing", "path", "reason", "route", "start", "status",
               "stored"},
       reads={"evolution.generation", "evolution.instance", "evolution.version", "webhook.capture"})
async def dedupe_drop(ctx: ProbeContext) -> Outcome:
    if is_v1(ctx):
        return ctx.diagnose("v1")
    capture = ctx.value("webhook.capture")
    if not capture:
        return ctx.diagnose("no_window")
    try:
        loaded = load_deliveries(capture)
    except OSError as exc:
        return ctx.diagnose("unreadable", path=capture, reason=exc.strerror or str(exc))
    window = capture_window(loaded.deliveries, str(ctx.value("evolution.instance")))
    if window is None:
        return ctx.diagnose("no_window")
    start, end, delivered = window
    stored = await stored_incoming(ctx, start, end)
    if isinstance(stored, Outcome):
        return stored
    missing = [str(r["key"].get("id")) for r in stored if str(r["key"].get("id")) not in delivered]
    values = {"stored": len(stored), "captured": len(delivered), "start": _clock(start), "end": _clock(end),
              "missing": len(missing), "ids": ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")}
    if not missing:
        return ctx.diagnose("ok", **values)
    version = server_version(ctx)
    outcome = ctx.diagnose("dropped_23" if version is not None and version >= (2, 3, 0) else "dropped", **values)
    outcome.details["missing_ids"] = missing
    return enrich(ctx, outcome, only_findings=True)
