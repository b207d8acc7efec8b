"""functional.message_sync: the one test that proves the chain end to end.

Sends a text carrying a unique marker through Evolution (``POST /message/sendText/{instance}``), then polls
Chatwoot the way an agent would find it: contact search by number, the contact's conversations in the inbox,
the conversation's messages. This is the only probe that changes
anything, and only Evolution is written to (it sends the WhatsApp message); Chatwoot is only read, the writes
there are Evolution's own mirroring.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from evodiag.engine.context import ProbeContext
from evodiag.engine.http import Exchange
from evodiag.engine.results import Outcome, Status
from evodiag.probes.chatwoot import ACCOUNT, TOKEN, payload_list
from evodiag.probes.declare import probe
from evodiag.versions import parse_version

POLL_INTERVAL_S = 0.15  # a poll is itself up to three requests; this only spaces them out
# Earlier checks whose failure most likely explains a broken sync, nearest first.
CAUSES = ("evolution.chatwoot.enabled", "evolution.chatwoot.config", "chatwoot.filter", "chatwoot.inbox",
          "chatwoot.inbox.webhook", "chatwoot.bot", "chatwoot.auth")


@dataclass
class Trail:
    """What polling found so far: the deepest step reached decides the failure reported."""

    contact_ids: list[Any] = field(default_factory=list)
    conversation: dict[str, Any] | None = None
    other_inboxes: set[Any] = field(default_factory=set)
    found_in: dict[str, Any] | None = None
    polls: int = 0


def masked(number: str) -> str:
    """Phone numbers are personal data: reports show the last four digits only."""
    return "*" * max(len(number) - 4, 0) + number[-4:]


def send_body(ctx: ProbeContext, number: str, text: str) -> dict[str, Any]:
    """v1 (1.x) ``{"number", "textMessage": {"text"}}``, v2 ``{"number", "text"}``:
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/validate/validate.schema.ts#L143-L160
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/validate/message.schema.ts#L68-L93"""
    generation = str(ctx.value("evolution.generation", "")).lower().lstrip("v")
    if generation not in ("1", "2"):
        version = parse_version(str(ctx.value("evolution.version", "")))
        generation = "1" if version is not None and version < (2, 0, 0) else "2"
    if generation == "1":
        return {"number": number, "textMessage": {"text": text}}
    return {"number": number, "text": text}


def nearest_cause(ctx: ProbeContext) -> str:
    for check_id in CAUSES:
        result = ctx.result_of(check_id)
        if result is not None and result.status.is_finding:
            return f"Nearest cause found by an earlier check: {check_id} ({result.status.value}): {result.message}"
    return "No earlier check explains it."


class Poller:
    """Fresh GETs against Chatwoot: the engine shares identical GETs within a run, so polls ask for ``fresh``."""

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self.count = 0
        self.exchanges: list[Exchange] = []

    async def get(self, path: str, query: str = "") -> Any:
        self.count += 1
        url = f"{ACCOUNT}{path}?{query}" if query else f"{ACCOUNT}{path}"
        exchange = await self.ctx.request("GET", url, headers=TOKEN, fresh=True)
        self.exchanges = [*self.exchanges[-3:], exchange]  # the last few are evidence enough
        return exchange.json_or_none() if exchange.status == 200 else None


async def contact_ids(poller: Poller, digits: str) -> list[Any]:
    """Contacts whose phone ends with the number's last 8 digits: Evolution stores ``+<digits>`` but may drop or
    add Brazil's ninth digit, so the search and the match use the tail only (Evolution's getFilterPayload:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L551-L570)."""
    tail = digits[-8:]
    doc = await poller.get("/contacts/search", f"q={quote(tail)}")
    return [c.get("id") for c in payload_list(doc)
            if re.sub(r"\D", "", str(c.get("phone_number") or c.get("identifier") or "")).endswith(tail)]


async def poll_once(poller: Poller, trail: Trail, digits: str, inbox_id: Any, nonce: str) -> bool:
    trail.polls += 1
    trail.contact_ids = await contact_ids(poller, digits)
    for contact_id in trail.contact_ids:
        conversations = payload_list(await poller.get(f"/contacts/{contact_id}/conversations"))
        for conv in conversations:
            in_inbox = conv.get("inbox_id") == inbox_id
            if not in_inbox:
                trail.other_inboxes.add(conv.get("inbox_id"))
            elif trail.conversation is None:
                trail.conversation = conv
            last = conv.get("messages") or []
            texts = [str(m.get("content") or "") for m in last if isinstance(m, dict)]
            if not any(nonce in t for t in texts):
                texts = [str(m.get("content") or "")
                         for m in payload_list(await poller.get(f"/conversations/{conv.get('id')}/messages"))]
            if any(nonce in t for t in texts):
                trail.found_in = conv
                if in_inbox:
                    trail.conversation = conv
                return True
    return False


@probe("functional.message_sync",
       diagnoses={"contact_missing", "conversation_missing", "integration_off", "message_missing", "send_rejected",
                  "status_unexpected", "synced", "wrong_inbox"},
       values={"cause", "contact_id", "conversation_id", "expected", "expected_why", "found_inbox", "http_status",
               "instance", "latency_ms", "nonce", "number", "other_part", "reply", "status", "status_hint",
               "status_part", "window"},
       reads={"chatwoot.expected_status", "chatwoot.inbox.id", "evolution.chatwoot.enabled", "evolution.generation",
              "evolution.version", "send.to"})
async def message_sync(ctx: ProbeContext) -> Outcome:
    if ctx.value("evolution.chatwoot.enabled") is False:  # checked before anything is sent
        return ctx.diagnose("integration_off")
    number = re.sub(r"[^\d@a-z.]", "", str(ctx.value("send.to", "")))
    digits = re.sub(r"\D", "", number.split("@")[0])
    inbox_id = ctx.value("chatwoot.inbox.id")
    nonce = f"evodiag-{secrets.token_hex(5)}"
    text = f"evodiag round-trip test {nonce} (you can ignore this message)"
    poller = Poller(ctx)
    before = {c for cid in await contact_ids(poller, digits)
              for c in [x.get("id") for x in payload_list(await poller.get(f"/contacts/{cid}/conversations"))]}
    values: dict[str, Any] = {"number": masked(digits), "nonce": nonce, "window": f"{ctx.timeout:g}"}

    started = time.perf_counter()
    sent = await ctx.request("POST", "{evolution.url}/message/sendText/{evolution.instance}",
                             headers={"apikey": {"secret": "evolution.api_key"}}, json=send_body(ctx, number, text))
    values["http_status"] = sent.status
    if sent.status not in (200, 201):
        reply = " ".join(sent.text.split())[:200].replace(digits, masked(digits)) if digits else sent.text[:200]
        outcome = ctx.diagnose("send_rejected", reply=reply, cause=nearest_cause(ctx), **values)
        outcome.evidence.append(sent.summary())
        return outcome

    trail = Trail()
    deadline = time.monotonic() + ctx.timeout
    while True:
        if await poll_once(poller, trail, digits, inbox_id, nonce):
            break
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_INTERVAL_S)
    latency_ms = round((time.perf_counter() - started) * 1000)
    values.update(latency_ms=latency_ms, cause=nearest_cause(ctx))
    outcome = _verdict(ctx, trail, before, values)
    outcome.evidence.extend([sent.summary(), *(e.summary() for e in poller.exchanges)])
    outcome.details.update({"nonce": nonce, "latency_ms": latency_ms, "polls": trail.polls,
                            "conversation_id": (trail.found_in or trail.conversation or {}).get("id"),
                            "status": (trail.found_in or trail.conversation or {}).get("status")})
    return outcome


def _verdict(ctx: ProbeContext, trail: Trail, before: set[Any], values: dict[str, Any]) -> Outcome:
    inbox_id = ctx.value("chatwoot.inbox.id")
    found = trail.found_in
    if found is not None and found.get("inbox_id") != inbox_id:
        return ctx.diagnose("wrong_inbox", conversation_id=found.get("id"), found_inbox=found.get("inbox_id"),
                            **values)
    if not trail.contact_ids:
        return ctx.diagnose("contact_missing", **values)
    if trail.conversation is None:
        other = (f"; it has conversations in other inboxes (ids {', '.join(map(str, sorted(trail.other_inboxes)))})"
                 if trail.other_inboxes else "")
        return ctx.diagnose("conversation_missing", contact_id=trail.contact_ids[0], other_part=other, **values)
    conv = trail.conversation
    values.update(conversation_id=conv.get("id"), status=conv.get("status"))
    if found is None:
        return ctx.diagnose("message_missing", **values)
    expected = ctx.value("chatwoot.expected_status")
    created_now = conv.get("id") not in before
    if created_now and expected and conv.get("status") != expected:
        bot = ctx.result_of("chatwoot.bot")
        hint = ("A Dialogflow integration or Captain assistant on the inbox (not visible to the API) would explain "
                "pending." if conv.get("status") == "pending" else "")
        return ctx.diagnose("status_unexpected", expected=expected,
                            expected_why=bot.message if bot else "chatwoot.bot", status_hint=hint, **values)
    part = ", a conversation created by this test" if created_now else ", an existing conversation reused"
    bot = ctx.result_of("chatwoot.bot")
    if conv.get("status") == "pending" and bot is not None and bot.status in (Status.FAIL, Status.WARN):
        part += " (pending because of the agent bot: see chatwoot.bot)"
    return ctx.diagnose("synced", status_part=part, **values)
