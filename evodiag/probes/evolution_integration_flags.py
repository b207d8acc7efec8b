"""evolution.integrations: the integrations an instance has against the server's *_ENABLED switches (v2).

Facts (Evolution 2.3.6): every chatbot controller answers 400 ``"<Name> is disabled"`` from its find route when
its switch is off (base-chatbot.controller.ts#L247-L248; the name is the controller's ``integrationName``, e.g.
``Dify``, ``Openai``, ``N8n``); EvolutionBot has no switch. An event integration's ``GET /<event>/find/<instance>``
returns nothing (an empty 200) when its switch is off (event.controller.ts#L104-L107), while the instance's
fetchInstances row still carries its ``Rabbitmq``/``Sqs``/``Websocket``/``Nats`` settings. n8n and EvoAI exist
from 2.3.0; an older server answers their routes with Express's 404 ``Cannot GET``.
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
from evodiag.probes.evolution import APIKEY, error_messages, excerpt, is_v1, server_version


@dataclass(frozen=True)
class Integration:
    label: str  # as config.integrations names it (fact config.integrations.enabled)
    route: str  # path segment of its routes
    flag: str | None  # the server switch; None = always on
    disabled_name: str = ""  # how Evolution spells it in "<name> is disabled"
    row_key: str = ""  # event integrations: the key of its settings in the fetchInstances row
    since: tuple[int, int, int] = (2, 0, 0)


CHATBOTS: tuple[Integration, ...] = (
    Integration("Typebot", "typebot", "TYPEBOT_ENABLED", "Typebot"),
    Integration("OpenAI", "openai", "OPENAI_ENABLED", "Openai"),
    Integration("Dify", "dify", "DIFY_ENABLED", "Dify"),
    Integration("Flowise", "flowise", "FLOWISE_ENABLED", "Flowise"),
    Integration("n8n", "n8n", "N8N_ENABLED", "N8n", since=(2, 3, 0)),
    Integration("EvoAI", "evoai", "EVOAI_ENABLED", "Evoai", since=(2, 3, 0)),
    Integration("EvolutionBot", "evolutionBot", None),
)
EVENTS: tuple[Integration, ...] = (
    Integration("RabbitMQ", "rabbitmq", "RABBITMQ_ENABLED", row_key="Rabbitmq"),
    Integration("SQS", "sqs", "SQS_ENABLED", row_key="Sqs"),
    Integration("WebSocket", "websocket", "WEBSOCKET_ENABLED", row_key="Websocket"),
    Integration("NATS", "nats", "NATS_ENABLED", row_key="Nats", since=(2, 3, 0)),
)


@dataclass
class Survey:
    used: list[str]
    off: list[Integration]
    off_messages: dict[str, str]
    event_off_used: list[tuple[Integration, list[str]]]


def _find_route(item: Integration) -> str:
    return f"/{item.route}/find/{{evolution.instance}}"


async def _find(ctx: ProbeContext, item: Integration) -> Exchange:
    return await ctx.request("GET", "{evolution.url}" + _find_route(item), headers=APIKEY)


def _disabled_message(exchange: Exchange) -> str | None:
    if exchange.status != 400:
        return None
    return next((m for m in error_messages(exchange.json_or_none()) if m.endswith(" is disabled")), None)


async def _row(ctx: ProbeContext) -> dict[str, Any]:
    exchange = await ctx.request("GET", "{evolution.url}/instance/fetchInstances?instanceName={evolution.instance}",
                                 headers=APIKEY)
    doc = exchange.json_or_none() if exchange.status == 200 else None
    rows = doc if isinstance(doc, list) else []
    name = ctx.value("evolution.instance")
    return next((r for r in rows if isinstance(r, dict) and r.get("name") == name), {})


async def survey(ctx: ProbeContext) -> Survey | Outcome:
    version = server_version(ctx) or (2, 3, 6)
    result = Survey([], [], {}, [])
    chatbots = [item for item in CHATBOTS if version >= item.since]
    answers = await asyncio.gather(*(_find(ctx, item) for item in chatbots))
    for item, exchange in zip(chatbots, answers, strict=True):
        disabled = _disabled_message(exchange)
        if disabled:
            result.off.append(item)
            result.off_messages[item.label] = disabled
        elif exchange.status == 200:
            bots = expect(exchange, exchange.json_or_none(), list, f"{item.label} bots")
            enabled = [b for b in bots if isinstance(b, dict) and b.get("enabled")]
            if enabled:
                result.used.append(f"{item.label} ({len(enabled)} bot(s))")
        elif exchange.status != 404:  # 404 "Cannot GET": not in this release
            return ctx.diagnose("unexpected", route=ctx.render(_find_route(item)), status=exchange.status,
                                excerpt=excerpt(exchange))
    row = await _row(ctx)
    for item in EVENTS:
        settings = row.get(item.row_key)
        if version < item.since or not isinstance(settings, dict) or not settings.get("enabled"):
            continue
        exchange = await _find(ctx, item)
        if exchange.status == 200 and not exchange.body.strip():  # the switch is off: find returns nothing
            events = [str(e) for e in settings.get("events") or []]
            result.event_off_used.append((item, events))
            result.off.append(item)
        else:
            result.used.append(item.label)
    return result


@probe("evolution.integrations", diagnoses={"env_not_applied", "event_off", "ok", "unexpected", "v1"},
       texts={"none_text", "note_off"},
       values={"events", "excerpt", "flag", "flags", "label", "label_in_message", "labels", "off", "route",
               "sample", "status", "them", "used"},
       reads={"config.integrations.enabled", "evolution.generation", "evolution.instance", "evolution.version"})
async def integrations(ctx: ProbeContext) -> Outcome:
    if is_v1(ctx):
        return ctx.diagnose("v1")
    found = await survey(ctx)
    if isinstance(found, Outcome):
        return found
    env_states = ctx.value("config.integrations.enabled") or {}
    not_applied = [i for i in found.off if i.flag and env_states.get(i.label) is True]
    notes = [ctx.text("note_off", label=i.label, flag=i.flag,
                  label_in_message=i.disabled_name or i.label) for i in found.off if i.disabled_name]
    if found.event_off_used:
        items = [i for i, _ in found.event_off_used]
        events = "; ".join(f"{i.label}: {', '.join(ev) or 'all events'}" for i, ev in found.event_off_used)
        outcome = ctx.diagnose("event_off", labels=", ".join(i.label for i in items), events=events,
                               flags=", ".join(str(i.flag) for i in items))
    elif not_applied:
        sample = found.off_messages.get(not_applied[0].label, f"{not_applied[0].label} is disabled")
        outcome = ctx.diagnose("env_not_applied", labels=", ".join(i.label for i in not_applied),
                               them="it" if len(not_applied) == 1 else "them",
                               flags=", ".join(f"{i.flag}=true" for i in not_applied), sample=sample)
    else:
        none = ctx.text("none_text")
        outcome = ctx.diagnose("ok", used=", ".join(found.used) or none,
                               off=", ".join(i.label for i in found.off) or none)
    outcome.notes.extend(notes)
    outcome.details["off"] = [i.label for i in found.off]
    outcome.details["used"] = found.used
    return outcome
