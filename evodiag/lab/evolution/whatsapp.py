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
from evodiag.lab.evolution.model import Delivery, Instance, new_message_id
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
    QR) when one is available. Waits ``connect_delay_s`` (real: v1 5 s, v2 2 s, ref §4.4, §11)."""
    inst.state = "connecting"
    data = {"instance": inst.name, "state": "connecting", "statusReason": 200}  # observed §11 payload
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
    """``messages.upsert`` data (ref §6.6): v1 ``owner``, v2 ``status`` + ``instanceId``; ``contextInfo`` only
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


async def receive(lab: EvolutionState, instance_name: str, from_number: str, text: str, *, repeat: int = 1,
                  push_name: str | None = None, entry_point_source: str | None = None) -> list[dict[str, Any]]:
    """WhatsApp delivers ``repeat`` distinct text messages from ``from_number``: each goes to the webhooks as
    ``messages.upsert`` (1.8.0: ``duplicate_deliveries`` times with the same ``key.id``, ref §6.7 #631),
    then into Chatwoot as an incoming message. Returns the ``data`` objects."""
    inst = lab.require(instance_name)
    remote_jid = jid(from_number)
    name = push_name if push_name is not None else f"Contact {remote_jid.split('@')[0][-4:]}"
    out: list[dict[str, Any]] = []
    async with client_for(lab) as client:
        for _ in range(repeat):
            data = upsert_data(lab, inst, remote_jid, name, text, entry_point_source)
            inst.message_count += 1
            copies = max(1, lab.duplicate_deliveries) if lab.ver == (1, 8, 0) else 1
            for _copy in range(copies):
                await send_event(lab, inst, "messages.upsert", data, client)  # fresh date_time each time
            await chatwoot_sync.sync_message(lab, inst, client, remote_jid=remote_jid, push_name=name,
                                             text=text, from_me=False, key_id=data["key"]["id"])
            out.append(data)
    return out
