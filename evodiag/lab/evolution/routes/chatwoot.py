"""``/chatwoot/*``: the instance's Chatwoot settings and the webhook Chatwoot calls back
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/routes/chatwoot.router.ts)."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

from evodiag.httpserver import Request, Response
from evodiag.lab.base import mark_mutating
from evodiag.lab.evolution import chatwoot_sync, guards, payloads
from evodiag.lab.evolution import settings as settings_mod
from evodiag.lab.evolution.chatwoot_sync import BOT_CONTACT, ChatwootError
from evodiag.lab.evolution.model import Instance
from evodiag.lab.evolution.outbound import client_for
from evodiag.lab.evolution.payloads import error, schema_error, validate
from evodiag.lab.evolution.state import EvolutionState
from evodiag.lab.evolution.whatsapp import emit, jid, outgoing_message, start_connecting


async def chatwoot_set(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``POST /chatwoot/set/{instance}`` -> 201 (observed on 2.3.6). Checks: exists 404 -> apikey
    401 -> schema 400 -> "Chatwoot is disabled" 400 -> url/account/token 400
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/controllers/chatwoot.controller.ts#L19-L38)."""
    guarded = guards.instance_and_body(lab, request, instance)
    if isinstance(guarded, Response):
        return guarded
    inst, body = guarded
    v1 = lab.is_v1
    errors = validate(body, payloads.CHATWOOT_V1 if v1 else payloads.CHATWOOT_V2)
    if errors:
        return schema_error(errors)  # observed on 2.3.6: [["instance requires property \"token\""]]
    if not v1 and not lab.chatwoot_enabled:
        return payloads.chatwoot_disabled()  # chatwoot.controller.ts#L20

    data, settings = settings_mod.chatwoot_from_set(v1, body, inst.name)
    if isinstance(settings, str):
        return error(400, [settings])  # the controller's checks; "url is not valid" observed on 2.3.6
    if inst.chatwoot is not None:
        settings.id, settings.created_at = inst.chatwoot.id, inst.chatwoot.created_at
    inst.chatwoot = settings
    lab.forget_conversations(inst)
    webhook_url = payloads.chatwoot_webhook_url(lab.server_url, inst.name)
    if inst.chatwoot.enabled and inst.chatwoot.auto_create:
        try:
            async with client_for(lab) as client:
                await chatwoot_sync.init_instance(lab, inst, client)
        except ChatwootError as exc:
            # observed on 2.3.6: 500 with the message as a plain string, config saved anyway
            return error(500, str(exc))
    if not v1:
        data.setdefault("signDelimiter", None)  # a real 2.3.6 echoes "signDelimiter":null when not sent
    return Response.json({**data, "webhook_url": webhook_url}, 201)  # snake_case in v2 too (controller #L45-L53)


async def chatwoot_find(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``GET /chatwoot/find/{instance}`` (observed on 2.3.6): a read-only CHATWOOT_ENABLED probe."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    if not lab.is_v1 and not lab.chatwoot_enabled:
        return payloads.chatwoot_disabled()  # chatwoot.controller.ts#L58
    if inst.chatwoot is None:
        return Response.json(payloads.chatwoot_unconfigured(lab.ver))
    url = payloads.chatwoot_webhook_url(lab.server_url, inst.name)
    return Response.json(payloads.chatwoot_find(lab.ver, inst.chatwoot, url))


async def chatwoot_webhook(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``POST /chatwoot/webhook/{instance}``, called by Chatwoot; no guards (receiveWebhook,
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L1257-L1283).
    A body without
    ``conversation`` (or a private note) -> ``{"message":"bot"}``; no provider -> ``null``; v2 disabled ->
    400. An agent's outgoing message is sent to WhatsApp; ``init``/``status`` to the bot contact ``123456``
    run bot commands (UNVERIFIED details). Only those cases are logged as mutating."""
    if not lab.is_v1 and not lab.chatwoot_enabled:
        return payloads.chatwoot_disabled()  # chatwoot.controller.ts#L85
    if lab.chatwoot_webhook_delay_s:
        await asyncio.sleep(lab.chatwoot_webhook_delay_s)  # receiveWebhook sleeps 500 ms
    inst = lab.find_instance(unquote(instance))
    if inst is None or chatwoot_sync.active_settings(lab, inst) is None:
        return Response.json(None)  # no provider -> HTTP 200 body `null` (# UNVERIFIED: unknown name)
    body, _bad = guards.json_body(request)
    bot = Response.json({"message": "bot"})
    if not isinstance(body, dict) or "conversation" not in body or body.get("private"):
        return bot
    conversation = body.get("conversation") or {}
    if body.get("event") == "conversation_status_changed" and conversation.get("status") == "resolved":
        # a resolved conversation clears the cached id (v2; chatwoot.service.ts#L1268-L1276)
        lab.forget_conversations(inst)
        return bot
    if body.get("event") != "message_created" or body.get("message_type") != "outgoing":
        return bot
    sender = (conversation.get("meta") or {}).get("sender") or {}
    chat_id = str(sender.get("identifier") or sender.get("phone_number") or "").lstrip("+").split("@")[0]
    content = str(body.get("content") or "")
    mark_mutating()
    if chat_id == BOT_CONTACT:
        lab.spawn(_bot_command(lab, inst, content.strip().lower()))
        return bot
    cw = chatwoot_sync.active_settings(lab, inst)
    if cw is not None and cw.sign_msg:
        agent = (body.get("sender") or {}).get("available_name") or (body.get("sender") or {}).get("name")
        if agent:
            content = f"*{agent}:*{cw.sign_delimiter or chr(10)}{content}"  # UNVERIFIED signature format
    message = outgoing_message(lab, inst, jid(chat_id), content)
    lab.sent_messages.append(message)
    inst.message_count += 1
    await emit(lab, inst, "send.message", message)
    return bot


async def _bot_command(lab: EvolutionState, inst: Instance, command: str) -> None:
    """Commands typed to the bot contact (UNVERIFIED: command set). ``init`` connects -> QR -> bot QR."""
    async with client_for(lab) as client:
        if command.lstrip("/") in ("init", "iniciar") or command.startswith("init:"):
            if inst.state == "open":
                await chatwoot_sync.bot_message(lab, inst, client, f"🚨 {inst.name} instance is connected.")
            else:
                await start_connecting(lab, inst, client)
        elif command.lstrip("/") == "status":
            await chatwoot_sync.bot_message(lab, inst, client, f"⚠️ {inst.name} instance status: *{inst.state}*")
