"""evolution.lid: does the instance see WhatsApp ``@lid`` identifiers, and do its messages carry the phone JID.

Read-only queries (POST, but they only read): ``/chat/findContacts``, ``/chat/findChats`` and the newest page of
``/chat/findMessages`` (Evolution 2.3.6 chat.router.ts#L154-L193; findMessages answers
``{"messages":{"total","pages","currentPage","records":[...]}}``). Which key carries the phone JID of a ``@lid``
sender: none before 2.3.0, ``senderPn`` 2.3.0-2.3.4, ``remoteJidAlt`` from 2.3.3 and alone from 2.3.5
(whatsapp.baileys.service.ts#L1386-L1387 at 2.3.6; ``git grep`` across the tags).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.http import Exchange
from evodiag.engine.results import Outcome
from evodiag.engine.shape import expect
from evodiag.probes.declare import probe
from evodiag.probes.evolution import APIKEY, enrich, excerpt, is_v1, server_version

LID_SUFFIX = "@lid"
QUERIES = {
    "contacts": "/chat/findContacts/{evolution.instance}",
    "chats": "/chat/findChats/{evolution.instance}",
    "messages": "/chat/findMessages/{evolution.instance}",
}


@dataclass(frozen=True)
class LidCounts:
    contacts: int
    lid_contacts: int
    chats: int
    lid_chats: int
    messages: int
    lid_messages: int
    unmapped: int


def _jid(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    return str(item.get("remoteJid") or item.get("id") or "")


def message_records(doc: Any) -> list[dict[str, Any]]:
    """The records of a findMessages answer (v2: ``{"messages":{"records":[...]}}``; a bare list tolerated)."""
    if isinstance(doc, dict):
        inner = doc.get("messages")
        records = inner.get("records") if isinstance(inner, dict) else inner
    else:
        records = doc
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def phone_of(key: dict[str, Any]) -> str | None:
    """The phone JID a ``@lid`` message carries, under whichever name this release uses."""
    for name in ("remoteJidAlt", "senderPn", "participantAlt"):
        value = key.get(name)
        if isinstance(value, str) and value.endswith("@s.whatsapp.net"):
            return value
    return None


def count(contacts: Any, chats: Any, messages: list[dict[str, Any]]) -> LidCounts:
    contact_list = contacts if isinstance(contacts, list) else []
    chat_list = chats if isinstance(chats, list) else []
    lid_msgs = [m for m in messages if _jid(m.get("key")).endswith(LID_SUFFIX) and not m["key"].get("fromMe")]
    unmapped = [m for m in lid_msgs if phone_of(m["key"]) is None]
    return LidCounts(len(contact_list), sum(_jid(c).endswith(LID_SUFFIX) for c in contact_list),
                     len(chat_list), sum(_jid(c).endswith(LID_SUFFIX) for c in chat_list),
                     len(messages), len(lid_msgs), len(unmapped))


def alt_field(ctx: ProbeContext) -> str:
    version = server_version(ctx)
    return "senderPn" if version is not None and version < (2, 3, 5) else "remoteJidAlt"


async def _query(ctx: ProbeContext, path: str, body: dict[str, Any]) -> Exchange:
    return await ctx.request("POST", "{evolution.url}" + path, headers=APIKEY, json=body)


@probe("evolution.lid", diagnoses={"mapped", "none", "unexpected", "unmapped", "v1"},
       texts={"advice_current", "advice_old"},
       values={"advice", "alt_field", "chats", "contacts", "excerpt", "lid_chats", "lid_contacts", "lid_messages",
               "messages", "route", "status", "unmapped"},
       reads={"evolution.generation", "evolution.version"})
async def lid(ctx: ProbeContext) -> Outcome:
    if is_v1(ctx):
        return ctx.diagnose("v1")
    exchanges = await asyncio.gather(
        _query(ctx, QUERIES["contacts"], {"where": {}}),
        _query(ctx, QUERIES["chats"], {"where": {}}),
        _query(ctx, QUERIES["messages"], {"where": {}, "page": 1, "offset": 50}),
    )
    for name, exchange in zip(QUERIES, exchanges, strict=True):
        if exchange.status not in (200, 201):
            return ctx.diagnose("unexpected", route=ctx.render(QUERIES[name]), status=exchange.status,
                                excerpt=excerpt(exchange))
    contacts = expect(exchanges[0], exchanges[0].json_or_none(), list, "findContacts result")
    chats = expect(exchanges[1], exchanges[1].json_or_none(), list, "findChats result")
    messages = expect(exchanges[2], exchanges[2].json_or_none(), dict, "findMessages result")
    expect(exchanges[2], messages.get("messages"), dict, "messages")
    counts = count(contacts, chats, message_records(messages))
    values: dict[str, Any] = {**counts.__dict__, "alt_field": alt_field(ctx)}
    if not (counts.lid_contacts or counts.lid_chats or counts.lid_messages):
        return ctx.diagnose("none", **values)
    version = server_version(ctx)
    advice_name = "advice_old" if version is not None and version < (2, 3, 0) else "advice_current"
    values["advice"] = ctx.text(advice_name)
    outcome = ctx.diagnose("unmapped" if counts.unmapped else "mapped", **values)
    outcome.details["lid"] = counts.__dict__
    return enrich(ctx, outcome, only_findings=True)
