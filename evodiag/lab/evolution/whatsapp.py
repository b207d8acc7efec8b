"""The WhatsApp side of the emulated Evolution API: the Baileys socket connecting (QR), messages arriving from
and sent to WhatsApp, and the webhooks and Chatwoot sync each one triggers. Route handlers and scenario code
share these steps."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx

from evodiag.lab.evolution import chatwoot_sync, payloads
from evodiag.lab.evolution.model import Delivery, Instance, new_cuid, new_message_id, prisma_now
from evodiag.lab.evolution.outbound import client_for
from evodiag.lab.evolution.outbound import deliver as send_event
from evodiag.lab.evolution.state import EvolutionState

QR_BOT_TEXT = "⚡️ QRCode successfully generated!\n\nScan this QR code within the next 40 seconds."  # UNVERIFIED


def jid(number: str) -> str:
    return number if "@" in number else re.sub(r"\D", "", number) + "@s.whatsapp.net"


async def emit(lab: EvolutionState, inst: Instance, event: str, data: Any) -> list[Delivery]:
    """Send one event to the instance and global webhooks on a fresh client."""
    async with client_for(lab) as client:
        return await send_event(lab, inst, event, data, client)


async def start_connecting(lab: EvolutionState, inst: Instance, client: httpx.AsyncClient, *,
                           wait: bool = True) -> None:
    """Baileys socket start: ``connection.update`` connecting, then a QR (``qrcode.updated`` + Chatwoot bot
    QR) when one is available. Waits ``connect_delay_s`` (real: v1 5 s, v2 2 s, observed on 2.3.6)."""
    inst.state = "connecting"
    data = {"instance": inst.name, "state": "connecting", "statusReason": 200}  # payload observed on 2.3.6
    await send_event(lab, inst, "connection.update", data, client)
    if wait and lab.connect_delay_s:
        await asyncio.sleep(lab.connect_delay_s)
    if inst.qr_available:
        qr = payloads.qr_body(inst, None)
        # UNVERIFIED: qrcode.updated data shape
        qr_event = {"qrcode": {"instance": inst.name, "pairingCode": None, "code": qr["code"],
                               "base64": qr["base64"]}}
        await send_event(lab, inst, "qrcode.updated", qr_event, client)
        await chatwoot_sync.bot_message(lab, inst, client, QR_BOT_TEXT, qr=True)


def outgoing_message(lab: EvolutionState, inst: Instance, remote_jid: str, text: str) -> dict[str, Any]:
    """The message object sendText returns and ``send.message`` carries. # UNVERIFIED beyond ``key.id``."""
    key = {"remoteJid": remote_jid, "fromMe": True, "id": new_message_id(android=False)}
    if lab.is_v1:
        return {"key": key, "message": {"extendedTextMessage": {"text": text}},
                "messageTimestamp": str(int(time.time())), "status": "PENDING"}
    return {"key": key, "pushName": inst.profile_name or "", "status": "PENDING",
            "message": {"conversation": text}, "contextInfo": None, "messageType": "conversation",
            "messageTimestamp": int(time.time()), "instanceId": inst.id, "source": "unknown"}


def upsert_data(lab: EvolutionState, inst: Instance, remote_jid: str, push_name: str, text: str,
                entry_point_source: str | None) -> dict[str, Any]:
    """``messages.upsert`` data: v1 ``owner``, v2 ``status`` + ``instanceId``; ``contextInfo`` only
    when present (undefined is dropped); ``messageTimestamp`` in UTC seconds."""
    data: dict[str, Any] = {"key": {"remoteJid": remote_jid, "fromMe": False, "id": new_message_id()},
                            "pushName": push_name}
    if not lab.is_v1:
        data["status"] = "DELIVERY_ACK"  # UNVERIFIED value
    data["message"] = {"conversation": text}
    if entry_point_source is not None:
        data["contextInfo"] = {"entryPointConversionSource": entry_point_source}
    data["messageType"] = "conversation"
    data["messageTimestamp"] = int(time.time())
    if lab.is_v1:
        data["owner"] = inst.name
    else:
        data["instanceId"] = inst.id
    data["source"] = "android"  # 32-hex ids come from Android phones
    return data


def store(inst: Instance, data: dict[str, Any]) -> dict[str, Any]:
    """Keep a message in the instance's store the way findMessages returns it (its ``select`` at 2.3.6:
    id, key, pushName, messageType, message, messageTimestamp, instanceId, source, contextInfo, MessageUpdate),
    and upsert the contact and the chat it came from."""
    record = {"id": new_cuid(), "key": dict(data["key"]), "pushName": data.get("pushName"),
              "messageType": data.get("messageType", "conversation"), "message": data.get("message"),
              "messageTimestamp": data.get("messageTimestamp"), "instanceId": inst.id,
              "source": data.get("source", "android"), "contextInfo": data.get("contextInfo"), "MessageUpdate": []}
    inst.messages.append(record)
    remote = str(data["key"].get("remoteJid"))
    now = prisma_now()
    if not any(c.get("remoteJid") == remote for c in inst.contacts):  # UNVERIFIED: contact row columns
        inst.contacts.append({"id": new_cuid(), "remoteJid": remote, "pushName": data.get("pushName"),
                              "profilePicUrl": None, "createdAt": now, "updatedAt": now, "instanceId": inst.id})
    if not any(c.get("remoteJid") == remote for c in inst.chats):  # UNVERIFIED: chat row columns
        inst.chats.append({"id": new_cuid(), "remoteJid": remote, "name": data.get("pushName"), "labels": [],
                           "createdAt": now, "updatedAt": now, "instanceId": inst.id})
    return record


async def receive(lab: EvolutionState, instance_name: str, from_number: str, text: str, *, repeat: int = 1,
                  push_name: str | None = None, entry_point_source: str | None = None) -> list[dict[str, Any]]:
    """WhatsApp delivers ``repeat`` distinct text messages from ``from_number``: each goes to the webhooks as
    ``messages.upsert`` (1.8.0: ``duplicate_deliveries`` times with the same ``key.id``,
    https://github.com/evolution-foundation/evolution-api/issues/631),
    then into Chatwoot as an incoming message. Returns the ``data`` objects."""
    inst = lab.require(instance_name)
    remote_jid = jid(from_number)
    name = push_name if push_name is not None else f"Contact {remote_jid.split('@')[0][-4:]}"
    out: list[dict[str, Any]] = []
    async with client_for(lab) as client:
        for _ in range(repeat):
            data = upsert_data(lab, inst, remote_jid, name, text, entry_point_source)
            inst.message_count += 1
            if not lab.is_v1:
                store(inst, data)
            if lab.dedupe_drop_next > 0 and lab.ver >= (2, 3, 0):
                # whatsapp.baileys.service.ts#L1133-L1141 (2.3.6): the id is already in the message cache
                lab.dedupe_drop_next -= 1
                lab.log_line("INFO", "ChannelStartupService", f"Message duplicated ignored: {data['key']['id']}")
                out.append(data)
                continue
            copies = max(1, lab.duplicate_deliveries) if lab.ver == (1, 8, 0) else 1
            for _copy in range(copies):
                await send_event(lab, inst, "messages.upsert", data, client)  # fresh date_time each time
            await chatwoot_sync.sync_message(lab, inst, client, remote_jid=remote_jid, push_name=name,
                                             text=text, from_me=False, key_id=data["key"]["id"])
            out.append(data)
    return out
