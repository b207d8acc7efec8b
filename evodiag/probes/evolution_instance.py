"""Evolution instance probes (issue 4): does the configured instance exist, is it connected, does connecting
produce a QR code. Both API generations; facts from Evolution API's source at the tags linked below."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome, Status
from evodiag.engine.shape import expect
from evodiag.probes.declare import probe
from evodiag.probes.evolution import (
    APIKEY,
    EGRESS_EVIDENCE_FACT,
    EGRESS_FACT,
    enrich,
    error_messages,
    excerpt,
    is_v1,
)

CONNECTION_STATE = "{evolution.url}/instance/connectionState/{evolution.instance}"
# Disconnect reasons Evolution does not reconnect after:
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts#L402
FINAL_CODES = (401, 402, 403, 406)


@dataclass(frozen=True)
class InstanceRow:
    """One fetchInstances entry, whatever the generation: v1 wraps ``{"instance":{instanceName,
    instanceId, status}}``, v2 rows are Prisma ``Instance`` rows (``name``, ``id``, ``connectionStatus``, ...).
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/monitor.service.ts#L98-L190
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/monitor.service.ts#L67-L111"""

    name: str
    id: str | None
    status: str | None
    disconnection_code: int | None = None
    owner: str | None = None


def parse_rows(doc: Any) -> list[InstanceRow]:
    items = doc if isinstance(doc, list) else [doc] if isinstance(doc, dict) else []
    rows = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("instance"), dict):  # v1
            inner = item["instance"]
            name = inner.get("instanceName")
            if name is not None:
                rows.append(InstanceRow(str(name), _str(inner.get("instanceId")), _str(inner.get("status")),
                                        owner=_str(inner.get("owner"))))
        elif item.get("name") is not None:  # v2
            code = item.get("disconnectionReasonCode")
            rows.append(InstanceRow(str(item["name"]), _str(item.get("id")), _str(item.get("connectionStatus")),
                                    code if isinstance(code, int) else None, _str(item.get("ownerJid"))))
    return rows


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


# ---------------------------------------------------------------------------------------------------------------
# evolution.instance
# ---------------------------------------------------------------------------------------------------------------


@probe("evolution.instance",
       diagnoses={"exists", "id_not_name", "not_found", "not_found_unlisted", "unauthorized", "unexpected"},
       texts={"note_case", "note_client_name", "note_stored"},
       values={"client_name", "excerpt", "hint", "id_field", "names", "near", "real_name", "state", "status",
               "stored", "stored_text"},
       publishes={"evolution.instance.disconnection_code", "evolution.instance.id", "evolution.instance.owner",
                  "evolution.instance.state", "evolution.instance.stored_status"},
       reads={"evolution.client_name", "evolution.generation", "evolution.instance"})
async def instance(ctx: ProbeContext) -> Outcome:
    """``connectionState/{name}``; on 404, tell an ID passed as the name (#1312) from a missing instance."""
    exchange = await ctx.request("GET", CONNECTION_STATE, headers=APIKEY)
    doc = exchange.json()
    if exchange.status == 200:
        inner = expect(exchange, doc.get("instance"), dict, "instance", optional=True) if isinstance(doc, dict) \
            else None
        # the key is dropped when the instance is not loaded in memory
        state = expect(exchange, (inner or {}).get("state"), str, "instance.state", optional=True) or "unknown"
        ctx.publish("evolution.instance.state", state)
        row = await _stored_row(ctx)
        stored_text = ""
        if row is not None:
            _publish_row(ctx, row)
            if row.status and row.status != state:
                stored_text = ctx.text("note_stored", stored=row.status)
        return ctx.diagnose("exists", state=state, stored_text=stored_text)
    if exchange.status == 404 and any("does not exist" in m for m in error_messages(doc)):
        return await _not_found(ctx)
    if exchange.status == 401:
        return ctx.diagnose("unauthorized")
    return ctx.diagnose("unexpected", status=exchange.status, excerpt=excerpt(exchange))


async def _stored_row(ctx: ProbeContext) -> InstanceRow | None:
    """The instance's fetchInstances row (stored status, v2 disconnection code, id), when the key may list."""
    exchange = await ctx.request("GET", "{evolution.url}/instance/fetchInstances?instanceName={evolution.instance}",
                                 headers=APIKEY)
    if exchange.status != 200:
        return None
    name = ctx.value("evolution.instance")
    return next((row for row in parse_rows(exchange.json_or_none()) if row.name == name), None)


def _publish_row(ctx: ProbeContext, row: InstanceRow) -> None:
    if row.id:
        ctx.publish("evolution.instance.id", row.id)
    if row.owner:
        ctx.publish("evolution.instance.owner", row.owner)
    if not is_v1(ctx):  # v1's `status` is the live state; only v2 stores one that can go stale
        if row.status:
            ctx.publish("evolution.instance.stored_status", row.status)
        if row.disconnection_code is not None:
            ctx.publish("evolution.instance.disconnection_code", row.disconnection_code)


async def _not_found(ctx: ProbeContext) -> Outcome:
    given = str(ctx.value("evolution.instance"))
    exchange = await ctx.request("GET", "{evolution.url}/instance/fetchInstances", headers=APIKEY)
    if exchange.status != 200:
        return ctx.diagnose("not_found_unlisted", status=exchange.status)
    rows = parse_rows(exchange.json_or_none())
    for row in rows:
        if row.id and row.id.lower() == given.strip().lower():
            id_field = "instance.instanceId" if is_v1(ctx) else "id"
            outcome = ctx.diagnose("id_not_name", real_name=row.name, id_field=id_field)
            outcome.details["instance_name"] = row.name
            return outcome
    names = [row.name for row in rows]
    near = [n for n in names if n.strip().lower() == given.strip().lower()]
    hint = " " + ctx.text("note_case", near=near[0]) if near else ""
    listed = ", ".join(f'"{n}"' for n in names) if names else "none"
    outcome = ctx.diagnose("not_found", names=listed, hint=hint)
    outcome.details["instances"] = names
    if not is_v1(ctx):
        client = ctx.value("evolution.client_name", "unset")
        outcome.notes.append(ctx.text("note_client_name", client_name=client))
    return outcome


# ---------------------------------------------------------------------------------------------------------------
# evolution.instance.state
# ---------------------------------------------------------------------------------------------------------------


@probe("evolution.instance.state",
       diagnoses={"close", "close_401", "close_403", "close_final", "connecting", "connecting_no_egress",
                  "not_loaded", "open", "other", "refused"}, texts={"code_text", "note_stale"},
       values={"code", "code_text", "egress_evidence", "owner_text", "state", "stored"},
       reads={"evolution.instance.disconnection_code", "evolution.instance.owner", "evolution.instance.state",
              "evolution.instance.stored_status", "evolution.whatsapp_egress", "evolution.whatsapp_egress_evidence"})
async def state(ctx: ProbeContext) -> Outcome:
    """Judge the live state published by evolution.instance (no request): open, connecting, close (+ the v2
    disconnection code), not loaded; say so when the Manager's stored status disagrees."""
    live = str(ctx.value("evolution.instance.state", "unknown"))
    stored = ctx.value("evolution.instance.stored_status")
    code = ctx.value("evolution.instance.disconnection_code")
    if live == "open":
        owner = ctx.value("evolution.instance.owner")
        outcome = ctx.diagnose("open", owner_text=f", {owner}" if owner else "")
    elif live == "connecting" and ctx.value(EGRESS_FACT) == "none":
        outcome = ctx.diagnose("connecting_no_egress", egress_evidence=ctx.value(EGRESS_EVIDENCE_FACT))
    elif live == "connecting":
        outcome = ctx.diagnose("connecting")
    elif live == "close":
        if code == 401:
            outcome = ctx.diagnose("close_401")
        elif code == 403:
            outcome = ctx.diagnose("close_403")
        elif code in FINAL_CODES:
            outcome = ctx.diagnose("close_final", code=code)
        else:
            code_text = " " + ctx.text("code_text", code=code) if code is not None else ""
            outcome = ctx.diagnose("close", code_text=code_text)
    elif live == "refused":
        outcome = ctx.diagnose("refused")
    elif live == "unknown":
        outcome = ctx.diagnose("not_loaded")
    else:
        outcome = ctx.diagnose("other", state=live)
    if stored and stored != live:
        outcome.notes.append(ctx.text("note_stale", stored=stored, state=live))
    return enrich(ctx, outcome, only_findings=True)


# ---------------------------------------------------------------------------------------------------------------
# evolution.qr (side effect: connect)
# ---------------------------------------------------------------------------------------------------------------


@probe("evolution.qr",
       diagnoses={"count_zero", "count_zero_no_egress", "now_open", "pairing", "qr", "qr_empty", "qr_error",
                  "unexpected"},
       texts={"pairing_text", "wa_text"},
       values={"body", "count", "egress_evidence", "error_message", "excerpt", "pairing_text", "status", "wa_text"},
       reads={"evolution.whatsapp_egress", "evolution.whatsapp_egress_evidence", "evolution.whatsapp_web_version"})
async def qr(ctx: ProbeContext) -> Outcome:
    """``GET /instance/connect/{name}``: a QR (``base64``/``code``) or pairing code passes; ``{"count":0}``, an
    empty body (v1 swallowed error) or ``{"error":true}`` (v2) fail
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/controllers/instance.controller.ts#L295-L330)."""
    exchange = await ctx.request("GET", "{evolution.url}/instance/connect/{evolution.instance}", headers=APIKEY)
    if exchange.status != 200:
        return ctx.diagnose("unexpected", status=exchange.status, excerpt=excerpt(exchange))
    if not exchange.body.strip():
        return enrich(ctx, ctx.diagnose("qr_empty"))
    doc = exchange.json()
    outcome = _judge_connect(ctx, doc, excerpt(exchange))
    outcome.evidence.append(exchange.summary())
    return enrich(ctx, outcome, only_findings=True)


def _judge_connect(ctx: ProbeContext, doc: Any, body: str) -> Outcome:
    if not isinstance(doc, dict):
        return ctx.diagnose("unexpected", status=200, excerpt=body)
    if doc.get("error") is True:
        return ctx.diagnose("qr_error", error_message=str(doc.get("message") or "(no message)"))
    if doc.get("base64") or doc.get("code"):
        pairing = " " + ctx.text("pairing_text") if doc.get("pairingCode") else ""
        return ctx.diagnose("qr", count=doc.get("count", "?"), pairing_text=pairing)
    if doc.get("pairingCode"):
        return ctx.diagnose("pairing")
    inner = doc.get("instance")
    if isinstance(inner, dict) and inner.get("state") == "open":
        return ctx.diagnose("now_open")
    if "count" in doc and ctx.value(EGRESS_FACT) == "none":
        outcome = ctx.diagnose("count_zero_no_egress", body=body, egress_evidence=ctx.value(EGRESS_EVIDENCE_FACT))
        outcome.details["connect_body"] = doc
        return outcome
    if "count" in doc:
        wa = ctx.value("evolution.whatsapp_web_version")
        wa_text = " " + ctx.text("wa_text") if wa else ""
        outcome = ctx.diagnose("count_zero", body=body, wa_text=wa_text)
        if outcome.status is Status.FAIL:
            outcome.details["connect_body"] = doc
        return outcome
    return ctx.diagnose("unexpected", status=200, excerpt=body)
