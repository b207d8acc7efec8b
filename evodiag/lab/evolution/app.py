"""The emulated Evolution API server: which handler answers which method and path, per version.

State lives in :mod:`.state`, handlers in :mod:`.routes` (one module per route family), the WhatsApp side
(connecting, messages) in :mod:`.whatsapp`. Citations: links to Evolution API's source at a tag, and
"observed on 2.3.6" for what a real 2.3.6 server answered. The routes and their guards:
https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/routes/index.router.ts
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp, _Route
from evodiag.lab.evolution import chatwoot_sync, whatsapp
from evodiag.lab.evolution.model import Delivery
from evodiag.lab.evolution.outbound import client_for
from evodiag.lab.evolution.routes import chat, chatwoot, instance, integrations, message, server, settings, webhook
from evodiag.lab.evolution.state import EvolutionState


@dataclass
class EvolutionLab(EvolutionState, LabApp):
    """An Evolution API server (v1 = 1.7/1.8, v2 = 2.x) on loopback: :class:`EvolutionState` (configuration,
    instances, records; see there) served over HTTP, plus the base class's request ``log``.

    Version-dependent routes (restart method, verify-creds) are gated per request, so ``version`` may change
    while the lab is serving.
    """

    name: str = "evolution"
    _gates: dict[tuple[str, str], Callable[[], bool]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        for inst in self.instances:
            self.fill_ids(inst)
        routes: list[tuple[str, str, Callable[..., Any], bool]] = [
            ("GET", "/", server.root, False),
            ("POST", "/verify-creds", server.verify_creds, False),
            ("GET", "/instance/fetchInstances", instance.fetch_instances, False),
            ("POST", "/instance/create", instance.create, True),
            ("GET", "/instance/connectionState/{instance}", instance.connection_state, False),
            ("GET", "/instance/connect/{instance}", instance.connect, True),  # starts connecting
            ("PUT", "/instance/restart/{instance}", instance.restart, True),  # v1
            ("POST", "/instance/restart/{instance}", instance.restart, True),  # v2
            ("DELETE", "/instance/logout/{instance}", instance.logout, True),
            ("DELETE", "/instance/delete/{instance}", instance.delete, True),
            ("POST", "/chatwoot/set/{instance}", chatwoot.chatwoot_set, True),
            ("GET", "/chatwoot/find/{instance}", chatwoot.chatwoot_find, False),
            # unguarded; read-only unless it acts (the handler then flags its log entry)
            ("POST", "/chatwoot/webhook/{instance}", chatwoot.chatwoot_webhook, False),
            ("POST", "/webhook/set/{instance}", webhook.webhook_set, True),
            ("GET", "/webhook/find/{instance}", webhook.webhook_find, False),
            ("POST", "/message/sendText/{instance}", message.send_text, True),
            ("POST", "/settings/set/{instance}", settings.settings_set, True),  # settings.router.ts
            ("GET", "/settings/find/{instance}", settings.settings_find, False),  # settings.router.ts
            # read-only queries although POST (chat.router.ts#L154-L193 at 2.3.6)
            ("POST", "/chat/findMessages/{instance}", chat.find_messages, False),
            ("POST", "/chat/findContacts/{instance}", chat.find_contacts, False),
            ("POST", "/chat/findChats/{instance}", chat.find_chats, False),
        ]
        routes += [("GET", f"/{name}/find/{{instance}}", integrations.chatbot_find(name), False)
                   for name in integrations.CHATBOTS]
        routes += [("GET", f"/{name}/find/{{instance}}", integrations.event_find(name), False)
                   for name in integrations.EVENTS]
        for method, template, handler, mutates in routes:
            self.route(method, template, partial(handler, self), mutates=mutates)
        # restart is PUT in v1 and POST in v2 (https://github.com/evolution-foundation/evolution-api/issues/2223);
        # verify-creds from 2.0.10 (commit 9f2801d2)
        self._gates[("PUT", "/instance/restart/{instance}")] = lambda: self.is_v1
        self._gates[("POST", "/instance/restart/{instance}")] = lambda: not self.is_v1
        self._gates[("POST", "/verify-creds")] = lambda: self.ver >= (2, 0, 10)

    def _match(self, request: Request) -> tuple[_Route | None, dict[str, Any]]:
        route, params = super()._match(request)
        if route is not None:
            gate = self._gates.get((route.method, route.template))
            if gate is not None and not gate():
                return None, {}
        return route, params

    async def not_found(self, request: Request) -> Response:
        return server.not_found(request)

    async def __call__(self, request: Request) -> Response:
        return server.express_headers(await super().__call__(request))

    # Scenario API: what WhatsApp and Chatwoot do to the server, besides calling its routes.

    async def deliver(self, instance_name: str, event: str, data: Any) -> list[Delivery]:
        """POST one event (``messages.upsert`` or ``MESSAGES_UPSERT``) to the instance and global webhooks."""
        return await whatsapp.emit(self, self.require(instance_name), event, data)

    async def simulate_inbound(self, instance_name: str, from_number: str, text: str, *, repeat: int = 1,
                               push_name: str | None = None,
                               entry_point_source: str | None = None) -> list[dict[str, Any]]:
        """See :func:`evodiag.lab.evolution.whatsapp.receive`."""
        return await whatsapp.receive(self, instance_name, from_number, text, repeat=repeat, push_name=push_name,
                                      entry_point_source=entry_point_source)

    async def bot_message(self, instance_name: str, text: str, *, qr: bool = False) -> bool:
        """Post a bot status message (or the QR, ``qr=True``) into the Chatwoot bot conversation, the path that
        breaks on 1.7.0–1.7.4 with Chatwoot ≥3.8 (https://github.com/evolution-foundation/evolution-api/issues/605).
        Returns False when a step failed."""
        inst = self.require(instance_name)
        async with client_for(self) as client:
            return await chatwoot_sync.bot_message(self, inst, client, text, qr=qr)
