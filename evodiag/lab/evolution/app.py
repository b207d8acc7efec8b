"""The emulated Evolution API server: which handler answers which method and path, per version.

State lives in :mod:`.state`, handlers in :mod:`.routes` (one module per route family), the WhatsApp side
(connecting, messages) in :mod:`.whatsapp`. Citations: ``ref §N`` = the Evolution API reference section N
(``R@<tag>:<path>`` keys are source citations); §11 are observations on a real 2.3.6 server.
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
from evodiag.lab.evolution.routes import chatwoot, instance, message, server, settings, webhook
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
            ("GET", "/", server.root, False),  # ref §3
            ("POST", "/verify-creds", server.verify_creds, False),  # ref §3
            ("GET", "/instance/fetchInstances", instance.fetch_instances, False),  # ref §4.2
            ("POST", "/instance/create", instance.create, True),  # ref §4.5
            ("GET", "/instance/connectionState/{instance}", instance.connection_state, False),  # ref §4.3
            ("GET", "/instance/connect/{instance}", instance.connect, True),  # ref §4.4 (starts connecting)
            ("PUT", "/instance/restart/{instance}", instance.restart, True),  # ref §2.2 (v1)
            ("POST", "/instance/restart/{instance}", instance.restart, True),  # ref §2.2 (v2)
            ("DELETE", "/instance/logout/{instance}", instance.logout, True),  # ref §11
            ("DELETE", "/instance/delete/{instance}", instance.delete, True),  # ref §11
            ("POST", "/chatwoot/set/{instance}", chatwoot.chatwoot_set, True),  # ref §5.1
            ("GET", "/chatwoot/find/{instance}", chatwoot.chatwoot_find, False),  # ref §5.1
            # ref §5.1; read-only unless it acts (the handler then flags its log entry)
            ("POST", "/chatwoot/webhook/{instance}", chatwoot.chatwoot_webhook, False),
            ("POST", "/webhook/set/{instance}", webhook.webhook_set, True),  # ref §6.1
            ("GET", "/webhook/find/{instance}", webhook.webhook_find, False),  # ref §6.1
            ("POST", "/message/sendText/{instance}", message.send_text, True),  # ref §7
            ("POST", "/settings/set/{instance}", settings.settings_set, True),  # settings.router.ts
            ("GET", "/settings/find/{instance}", settings.settings_find, False),  # settings.router.ts
        ]
        for method, template, handler, mutates in routes:
            self.route(method, template, partial(handler, self), mutates=mutates)
        # ref §2.2/#2223: restart is PUT in v1 and POST in v2; ref §3: verify-creds from 2.0.10 (commit 9f2801d2)
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
        breaks on 1.7.0–1.7.4 with Chatwoot ≥3.8 (ref §5.5). Returns False when a step failed."""
        inst = self.require(instance_name)
        async with client_for(self) as client:
            return await chatwoot_sync.bot_message(self, inst, client, text, qr=qr)
