"""``/chat/find*``: the read-only queries of an instance's own store (contacts, chats, messages). They are POSTs
with a ``where`` body but change nothing (Evolution 2.3.6 chat.router.ts#L154-L193: 200 on each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import guards
from evodiag.lab.evolution.model import Instance
from evodiag.lab.evolution.state import EvolutionState

PAGE_SIZE = 50  # findMessages' default `offset` (whatsapp.baileys.service.ts, fetchMessages)


def _epoch(value: Any) -> float | None:
    """``new Date(x).getTime() / 1000`` for the ISO strings and numbers clients send."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / (1000 if value > 1e11 else 1)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _where(body: Any) -> dict[str, Any]:
    where = body.get("where") if isinstance(body, dict) else None
    return where if isinstance(where, dict) else {}


def _matches_key(record: dict[str, Any], key_filter: dict[str, Any]) -> bool:
    key = record.get("key") or {}
    return all(key.get(name) == value for name, value in key_filter.items() if value not in (None, ""))


def _messages(inst: Instance, body: Any) -> dict[str, Any]:
    where = _where(body)
    records = list(inst.messages)
    stamp = where.get("messageTimestamp")
    if isinstance(stamp, dict) and stamp.get("gte") and stamp.get("lte"):
        low, high = _epoch(stamp["gte"]), _epoch(stamp["lte"])
        if low is not None and high is not None:  # whole seconds, as Math.floor(...) / 1000 does
            records = [r for r in records if int(low) <= int(r.get("messageTimestamp") or 0) <= int(high)]
    if isinstance(where.get("key"), dict):
        records = [r for r in records if _matches_key(r, where["key"])]
    records.sort(key=lambda r: int(r.get("messageTimestamp") or 0), reverse=True)
    size = int(body.get("offset") or PAGE_SIZE) if isinstance(body, dict) else PAGE_SIZE
    page = int(body.get("page") or 1) if isinstance(body, dict) else 1
    chunk = records[(page - 1) * size: page * size]
    return {"messages": {"total": len(records), "pages": -(-len(records) // size), "currentPage": page,
                         "records": chunk}}


async def find_messages(lab: EvolutionState, request: Request, instance: str) -> Response:
    guarded = guards.instance_and_body(lab, request, instance)
    if isinstance(guarded, Response):
        return guarded
    inst, body = guarded
    return Response.json(_messages(inst, body))


async def find_contacts(lab: EvolutionState, request: Request, instance: str) -> Response:
    guarded = guards.instance_and_body(lab, request, instance)
    if isinstance(guarded, Response):
        return guarded
    inst, _body = guarded
    return Response.json(list(inst.contacts))


async def find_chats(lab: EvolutionState, request: Request, instance: str) -> Response:
    guarded = guards.instance_and_body(lab, request, instance)
    if isinstance(guarded, Response):
        return guarded
    inst, _body = guarded
    return Response.json(list(inst.chats))
