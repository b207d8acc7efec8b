"""``/<chatbot>/find`` and ``/<event>/find``: what an instance has configured per integration, behind the server's
*_ENABLED switches (Evolution 2.3.6: base-chatbot.controller.ts#L247-L248 answers 400 "<Name> is disabled";
event.controller.ts#L104-L107 returns nothing, an empty 200, when the switch is off)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import guards
from evodiag.lab.evolution.model import Instance
from evodiag.lab.evolution.payloads import error, event_row
from evodiag.lab.evolution.state import EvolutionState

Handler = Callable[[EvolutionState, Request, str], Awaitable[Response]]

# route -> (switch, the controller's integrationName, first version); evolutionBot has no switch
CHATBOTS: dict[str, tuple[str | None, str, tuple[int, int, int]]] = {
    "typebot": ("TYPEBOT_ENABLED", "Typebot", (2, 0, 0)),
    "openai": ("OPENAI_ENABLED", "Openai", (2, 0, 0)),
    "dify": ("DIFY_ENABLED", "Dify", (2, 0, 0)),
    "flowise": ("FLOWISE_ENABLED", "Flowise", (2, 0, 0)),
    "n8n": ("N8N_ENABLED", "N8n", (2, 3, 0)),
    "evoai": ("EVOAI_ENABLED", "Evoai", (2, 3, 0)),
    "evolutionBot": (None, "Evolution", (2, 0, 0)),
}
# route -> (switch, the fetchInstances relation key, first version)
EVENTS: dict[str, tuple[str, str, tuple[int, int, int]]] = {
    "rabbitmq": ("RABBITMQ_ENABLED", "Rabbitmq", (2, 0, 0)),
    "sqs": ("SQS_ENABLED", "Sqs", (2, 0, 0)),
    "websocket": ("WEBSOCKET_ENABLED", "Websocket", (2, 0, 0)),
    "nats": ("NATS_ENABLED", "Nats", (2, 3, 0)),
}
EMPTY_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _routed_instance(lab: EvolutionState, request: Request, instance: str,
                     since: tuple[int, int, int]) -> Instance | Response:
    """The instance behind an integration's find route, or the reply when the route or instance is not there:
    Express 404s a route this version does not have, then the usual instance guards apply."""
    if lab.is_v1 or lab.ver < since:
        return error(404, [f"Cannot GET {request.path}"])
    return guards.instance(lab, request, instance)


def chatbot_find(route: str) -> Handler:
    switch, name, since = CHATBOTS[route]

    async def handler(lab: EvolutionState, request: Request, instance: str) -> Response:
        inst = _routed_instance(lab, request, instance, since)
        if isinstance(inst, Response):
            return inst
        if switch is not None and not lab.flag(switch):
            return error(400, [f"{name} is disabled"])
        return Response.json(list(inst.bots.get(route, [])))

    return handler


def event_find(route: str) -> Handler:
    switch, key, since = EVENTS[route]

    async def handler(lab: EvolutionState, request: Request, instance: str) -> Response:
        inst = _routed_instance(lab, request, instance, since)
        if isinstance(inst, Response):
            return inst
        if not lab.flag(switch):
            return Response(200, b"", dict(EMPTY_JSON))  # res.status(200).json(undefined)
        return Response.json(event_row(inst, key))

    return handler
