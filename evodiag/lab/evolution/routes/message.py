"""``/message/*``: sending to WhatsApp
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/validate/message.schema.ts#L68-L93)."""

from __future__ import annotations

import re

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import chatwoot_sync, guards, payloads
from evodiag.lab.evolution.outbound import client_for
from evodiag.lab.evolution.outbound import deliver as send_event
from evodiag.lab.evolution.payloads import error, schema_error, validate
from evodiag.lab.evolution.state import EvolutionState
from evodiag.lab.evolution.whatsapp import jid, outgoing_message


async def send_text(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``POST /message/sendText/{instance}`` -> 201. Then a ``send.message`` webhook and an
    outgoing Chatwoot message; their failures never fail the send (Evolution only logs them)."""
    guarded = guards.instance_and_body(lab, request, instance)
    if isinstance(guarded, Response):
        return guarded
    inst, body = guarded
    errors = validate(body, payloads.SEND_TEXT_V1 if lab.is_v1 else payloads.SEND_TEXT_V2)
    if errors:
        return schema_error(errors)  # v1 body on v2: [["instance requires property \"text\""]] (likely wording)
    if inst.state != "open":
        return error(500, "Connection Closed")  # UNVERIFIED: Baileys' error on a closed socket
    number = body["number"]
    digits = re.sub(r"\D", "", number.split("@")[0])
    remote_jid = jid(number)
    if digits in lab.not_on_whatsapp or number in lab.not_on_whatsapp:
        # https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts#L2135-L2139
        # (# UNVERIFIED for v1)
        return error(400, [{"jid": remote_jid, "exists": False, "number": digits}])
    text = body["textMessage"]["text"] if lab.is_v1 else body["text"]
    message = outgoing_message(lab, inst, remote_jid, text)
    lab.sent_messages.append(message)
    inst.message_count += 1
    async with client_for(lab) as client:
        await send_event(lab, inst, "send.message", message, client)
        await chatwoot_sync.sync_message(lab, inst, client, remote_jid=remote_jid, push_name="", text=text,
                                         from_me=True, key_id=message["key"]["id"])
    return Response.json(message, 201)
