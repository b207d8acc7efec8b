"""``/webhook/*``: the instance's webhook settings
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts)."""

from __future__ import annotations

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import guards, payloads
from evodiag.lab.evolution import settings as settings_mod
from evodiag.lab.evolution.model import WebhookConfig
from evodiag.lab.evolution.payloads import Schema, error, schema_error, validate
from evodiag.lab.evolution.state import EvolutionState


def _schema(lab: EvolutionState) -> Schema:
    if lab.is_v1:
        return payloads.WEBHOOK_V1
    return payloads.WEBHOOK_V20 if lab.ver < (2, 1, 0) else payloads.WEBHOOK_V21


async def webhook_set(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``POST /webhook/set/{instance}`` -> 201 in three body shapes (observed on 2.3.6: URL stored
    verbatim, no reachability check)."""
    guarded = guards.instance_and_body(lab, request, instance)
    if isinstance(guarded, Response):
        return guarded
    inst, body = guarded
    errors = validate(body, _schema(lab))
    if errors:
        return schema_error(errors)  # e.g. v1 body on 2.1+: [["instance requires property \"webhook\""]]
    if lab.is_v1:
        data = body
        names = ("webhook_by_events", "webhook_base64")
    elif lab.ver < (2, 1, 0):
        data = body
        names = ("webhookByEvents", "webhookBase64")
    else:
        data = body["webhook"]
        names = ("byEvents", "base64")
    enabled = data.get("enabled", True) if lab.is_v1 else data["enabled"]
    if enabled and lab.ver < (2, 3, 0) and not settings_mod.is_url(data.get("url")):
        return error(400, ['Invalid "url" property'])  # v1 and ≤2.2.x isURL; 2.3 no check
    if not lab.is_v1 and not isinstance(data.get("events"), list):
        # likely (read in webhook.controller.ts#L28, not run): `0 === data.webhook.events.length` on a missing
        # key -> TypeError -> 500
        return error(500, "Cannot read properties of undefined (reading 'length')")
    old = inst.webhook
    inst.webhook = WebhookConfig(url=data["url"], enabled=bool(enabled), by_events=bool(data.get(names[0])),
                                 base64=bool(data.get(names[1])), events=list(data.get("events") or []),
                                 headers=data.get("headers") if lab.ver >= (2, 1, 0) else None)
    if old is not None:
        inst.webhook.id, inst.webhook.created_at = old.id, old.created_at
    if lab.is_v1:
        # UNVERIFIED: v1 set response (as in the v1 docs example)
        return Response.json({"webhook": {"instanceName": inst.name, "webhook": body}}, 201)
    return Response.json(payloads.webhook_row(inst, inst.webhook, lab.ver), 201)  # observed on 2.3.6


async def webhook_find(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``GET /webhook/find/{instance}``: v1 fixed shape; v2 the Prisma row or ``null`` (observed on 2.3.6)."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    if lab.is_v1:
        return Response.json(payloads.webhook_find_v1(inst.webhook))
    if inst.webhook is None:
        return Response.json(None)  # observed on 2.3.6: 200 with body `null`
    return Response.json(payloads.webhook_row(inst, inst.webhook, lab.ver))
