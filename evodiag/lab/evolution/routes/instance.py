"""``/instance/*``: list, create, connect, state, restart, logout, delete (instance.controller.ts at 1.8.2 and
2.3.6; observed on a real 2.3.6 server)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import guards, payloads
from evodiag.lab.evolution import settings as settings_mod
from evodiag.lab.evolution.model import INTEGRATIONS, Instance, WebhookConfig, new_token, prisma_now
from evodiag.lab.evolution.outbound import client_for
from evodiag.lab.evolution.payloads import error, schema_error, unauthorized, validate
from evodiag.lab.evolution.state import EvolutionState
from evodiag.lab.evolution.whatsapp import emit, start_connecting

CREATE_QR_WAIT_S = 5.0  # create with qrcode:true waits this long for a QR before answering {"count":0}
DELETE_ROWS_AFTER_S = 3.0  # delete answers 200 at once; the rows go this much later


def _v1_chatwoot(lab: EvolutionState, inst: Instance) -> dict[str, Any]:
    cw = inst.chatwoot
    if cw is None:
        return payloads.chatwoot_unconfigured(lab.ver)
    return payloads.chatwoot_find(lab.ver, cw, payloads.chatwoot_webhook_url(lab.server_url, inst.name))


async def fetch_instances(lab: EvolutionState, request: Request) -> Response:
    """``GET /instance/fetchInstances`` (observed on 2.3.6)."""
    auth = guards.fetch_auth(lab, request)
    if isinstance(auth, Response):
        return auth
    query = request.query
    name, inst_id = query.get("instanceName") or None, query.get("instanceId") or None
    pool = [lab.fill_ids(i) for i in lab.instances if auth is None or i.token == auth]
    if not lab.is_v1:
        client = lab.effective_client_name()
        # filtered by clientName = DATABASE_CONNECTION_CLIENT_NAME:
        # https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/monitor.service.ts#L78-L88
        pool = [i for i in pool if client is None or (i.client_name or client) == client]
    if name or inst_id:
        pool = [i for i in pool if (not name or i.name == name) and (not inst_id or i.id == inst_id)]
        if not pool:
            # observed on 2.3.6:
            # https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/monitor.service.ts#L101
            # https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/monitor.service.ts#L73
            return error(404, [f'Instance "{name or inst_id}" not found'])
    if not lab.is_v1:
        return Response.json([payloads.fetch_row_v2(i, lab.ver, lab.effective_client_name()) for i in pool])
    rows = [payloads.fetch_row_v1(i, lab.expose_in_fetch, lab.server_url, _v1_chatwoot(lab, i)) for i in pool]
    if (name or inst_id) and auth is None:
        return Response.json(rows[0])  # v1 quirk `instances.find(...) ?? instances` -> one object
    return Response.json(rows)


async def connection_state(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``GET /instance/connectionState/{instance}`` (observed on 2.3.6)."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    return Response.json(payloads.connection_state(inst))


async def connect(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``GET /instance/connect/{instance}`` (observed on 2.3.6): open -> connectionState shape; else the
    QR object or ``{"count":0}``; a ``close`` instance starts connecting first."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    if inst.connect_error is not None:
        # errors are swallowed: v1 200 with an empty body, v2 200 {"error":true,"message":...}
        # (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/controllers/instance.controller.ts#L295-L330)
        if lab.is_v1:
            return Response(200, b"", {"Content-Type": "application/json; charset=utf-8"})
        return Response.json({"error": True, "message": inst.connect_error})
    if inst.state == "open":
        return Response.json(payloads.connection_state(inst))
    if inst.state != "connecting":
        async with client_for(lab) as client:
            await start_connecting(lab, inst, client)
    number = request.query.get("number")
    pairing = ("LAB" + re.sub(r"\D", "", number)[-5:]).ljust(8, "0") if number else None  # UNVERIFIED
    return Response.json(payloads.qr_body(inst, pairing))


def _instance_from_create(lab: EvolutionState, body: dict[str, Any], name: str) -> Instance:
    """The new instance a create body describes (its webhook and Chatwoot settings included)."""
    inst = Instance(name=name, token=str(body.get("token") or new_token()),
                    integration=str(body.get("integration") or "WHATSAPP-BAILEYS"),
                    qr_available=lab.new_instances_get_qr, state="close",
                    settings=settings_mod.settings_from_create(lab.is_v1, body))
    lab.fill_ids(inst)
    if lab.is_v1:
        if body.get("webhook"):
            inst.webhook = WebhookConfig(url=str(body["webhook"]),
                                         by_events=bool(body.get("webhook_by_events")),
                                         base64=bool(body.get("webhook_base64")),
                                         events=list(body.get("events") or []))
    else:
        inst.db_status = "close"  # observed on 2.3.6: stored `close` while the socket is `connecting`
        wh = body.get("webhook")
        if isinstance(wh, dict) and wh.get("url"):
            inst.webhook = WebhookConfig(url=str(wh["url"]), by_events=bool(wh.get("byEvents")),
                                         base64=bool(wh.get("base64")), events=list(wh.get("events") or []),
                                         headers=wh.get("headers"))
    return inst


async def create(lab: EvolutionState, request: Request) -> Response:
    """``POST /instance/create`` -> 201 (observed on 2.3.6)."""
    body, bad = guards.json_body(request)
    if bad is not None:
        return bad
    body = body if isinstance(body, dict) else {}
    name = body.get("instanceName")
    # instanceLoggedGuard runs before authGuard (index.router.ts#L41): a taken name is 403 whatever the key
    if name is None and not lab.is_v1:
        return error(403, ['This name "undefined" is already in use.'])  # observed on 2.3.6
    if name is not None and lab.find_instance(str(name)) is not None:
        return error(403, [f'This name "{name}" is already in use.'])  # instance.guard.ts; observed on 2.3.6
    key = request.header("apikey") or ""
    if not key:
        return guards.missing_key(lab)
    if key != lab.global_key:
        return unauthorized()  # observed on 2.3.6: an instance token is 401 on create
    errors = validate(body, payloads.CREATE)  # UNVERIFIED for v1 (missing name)
    if errors:
        return schema_error(errors)
    name = str(name)
    if not lab.is_v1 and body.get("integration") not in INTEGRATIONS:
        return error(400, ["Invalid integration"])  # channel.controller.ts init() -> null; observed on 2.3.6
    cw_keys = ("chatwootAccountId", "chatwootToken", "chatwootUrl") if not lab.is_v1 else (
        "chatwoot_account_id", "chatwoot_token", "chatwoot_url")
    wants_cw = all(body.get(k) for k in cw_keys)
    if wants_cw and not lab.is_v1 and not lab.chatwoot_enabled:
        # the instance is created, then deleted again, and the request fails
        # (https://github.com/evolution-foundation/evolution-api/issues/1011)
        return error(400, ["Chatwoot is not enabled"])
    inst = _instance_from_create(lab, body, name)
    if wants_cw:
        inst.chatwoot = settings_mod.chatwoot_from_create(lab, body, name)
    lab.instances.append(inst)
    qrcode = bool(body.get("qrcode"))
    if qrcode:
        async with client_for(lab) as client:
            # Only qrcode:true connects on create (a real 2.3.6 leaves qrcode:false instances `close`); it
            # then waits for the QR and answers {"count":0} after about 5 s when none comes (observed on 2.3.6)
            await start_connecting(lab, inst, client, wait=True)
        if not inst.qr_available:
            await asyncio.sleep(lab.delay(CREATE_QR_WAIT_S))
    resp = settings_mod.response_v1(lab, inst, body, qrcode) if lab.is_v1 else \
        settings_mod.response_v2(lab, inst, body, qrcode)
    return Response.json(resp, 201)


async def restart(lab: EvolutionState, request: Request, instance: str) -> Response:
    """PUT (v1) / POST (v2) ``/instance/restart/{instance}``; the other method is the unknown-route 404
    (https://github.com/evolution-foundation/evolution-api/issues/2223). # UNVERIFIED: response bodies; a non-open
    instance starts connecting."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    if inst.state != "open":
        async with client_for(lab) as client:
            await start_connecting(lab, inst, client)
    if lab.is_v1:
        return Response.json({"status": "SUCCESS", "error": False, "response": {"message": "Instance restarted"}})
    return Response.json(payloads.connection_state(inst))


async def logout(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``DELETE /instance/logout/{instance}``: 400 when not connected (observed on 2.3.6). # UNVERIFIED: the
    success body and the close event (statusReason 401 = loggedOut)."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    if inst.state != "open":
        return error(400, [f'The "{inst.name}" instance is not connected'])
    inst.state, inst.db_status, inst.disconnection_reason_code = "close", "close", 401
    inst.updated_at = prisma_now()
    await emit(lab, inst, "connection.update", {"instance": inst.name, "state": "close", "statusReason": 401})
    return Response.json({"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}})


async def delete(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``DELETE /instance/delete/{instance}`` -> 200 (observed on 2.3.6; # UNVERIFIED for v1)."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    lab.spawn(_remove_later(lab, inst))
    return Response.json({"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}})


async def _remove_later(lab: EvolutionState, inst: Instance) -> None:
    """A real 2.3.6 answers delete at once and removes the instance's rows a few seconds later (observed)."""
    await asyncio.sleep(lab.delay(DELETE_ROWS_AFTER_S))
    if inst in lab.instances:
        lab.instances.remove(inst)
