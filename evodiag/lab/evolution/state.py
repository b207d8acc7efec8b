"""The emulated Evolution API's state store: the server's configuration (its env vars), its instances and what
it has done (deliveries, calls to Chatwoot, sent messages). Route handlers and scenarios read and change it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from evodiag.lab.evolution.model import (
    ChatwootCall,
    Delivery,
    Instance,
    InstanceSettings,
    Version,
    new_cuid,
    new_uuid,
    parse_version,
)


@dataclass
class EvolutionState:
    """Everything an Evolution API server (v1 = 1.7/1.8, v2 = 2.x) knows.

    Server configuration (env vars of the real server):
      ``version``; ``global_key`` (AUTHENTICATION_API_KEY); ``server_url`` (SERVER_URL, ``None`` = unset, so v2
      builds ``undefined/chatwoot/webhook/<name>``); ``chatwoot_enabled`` (CHATWOOT_ENABLED, v2 only; the real
      default is false, the lab's is true); ``client_name`` (DATABASE_CONNECTION_CLIENT_NAME, ``None`` = unset);
      ``expose_in_fetch`` (AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES); ``instance_token_fetch`` (DATABASE_ENABLED
      in v1 / DATABASE_SAVE_DATA_INSTANCE in v2: instance tokens accepted on fetchInstances);
      ``global_webhook_url`` / ``global_by_events`` / ``global_events`` (WEBHOOK_GLOBAL_URL, …_BY_EVENTS and the
      WEBHOOK_EVENTS_<EVENT>=true list; like the real env, an empty list fires nothing); ``tz_offset_hours``
      (the server TZ behind the mislabelled ``date_time``; -3 = America/Sao_Paulo).
    Network: ``hosts`` maps compose-style service names (``chatwoot``, ``webhook-sink``) to a loopback address,
      keeping the port and the Host header, as a docker network would. Outbound calls to any other host that
      is not loopback are never sent; they fail as ``getaddrinfo ENOTFOUND <host>``.
    Lab knobs: delays (``connect_delay_s`` stands for the real 2–5 s, ``root_delay_s`` for the 2.3.x sw.js
      fetch, ``chatwoot_webhook_delay_s`` for the 500 ms sleep; all 0 by default), webhook retry knobs
      (``webhook_max_attempts`` ``None`` = version default: 1 in v1, 10 in v2), ``duplicate_deliveries`` (1.8.0
      only, #631), ``new_instances_get_qr``, ``not_on_whatsapp`` (numbers sendText rejects).
    Records: ``deliveries`` (every webhook attempt), ``chatwoot_calls`` (every call to Chatwoot),
      ``sent_messages`` (everything "sent to WhatsApp").
    Every field may be changed while the lab is serving; handlers read it per request.
    """

    version: str = "2.3.6"
    global_key: str = "lab-global-key"
    server_url: str | None = None
    chatwoot_enabled: bool = True
    client_name: str | None = "evolution"
    expose_in_fetch: bool = True
    instance_token_fetch: bool = True
    disable_docs: bool = False
    disable_manager: bool = False
    whatsapp_web_version: str = "2.3000.1027934701"  # observed §11
    root_delay_s: float = 0.0
    connect_delay_s: float = 0.0
    chatwoot_webhook_delay_s: float = 0.0
    chatwoot_timeout_s: float = 5.0
    chatwoot_bot_contact: bool = True
    new_instances_get_qr: bool = False
    not_on_whatsapp: set[str] = field(default_factory=set)
    global_webhook_url: str = ""
    global_by_events: bool = False
    global_events: list[str] = field(default_factory=list)
    tz_offset_hours: float = -3.0
    webhook_timeout_s: float = 2.0
    webhook_max_attempts: int | None = None
    webhook_retry_delay_s: float = 0.0
    non_retryable_statuses: tuple[int, ...] = (400, 401, 403, 404, 422)  # ref §6.4 (2.3.0+ default)
    duplicate_deliveries: int = 1
    user_agent: str = "axios/1.12.2"  # observed §11 on 2.3.6; UNVERIFIED for older versions
    hosts: dict[str, str] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    chatwoot_calls: list[ChatwootCall] = field(default_factory=list)
    sent_messages: list[dict[str, Any]] = field(default_factory=list)
    conversation_cache: dict[str, Any] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set, repr=False)

    @property
    def ver(self) -> Version:
        return parse_version(self.version)

    @property
    def is_v1(self) -> bool:
        return self.ver < (2, 0, 0)

    def fill_ids(self, inst: Instance) -> Instance:
        if not inst.id:
            inst.id = new_uuid() if self.is_v1 else new_cuid()  # ref §4.2: v1 uuid, v2 cuid
        return inst

    def find_instance(self, name: str) -> Instance | None:
        """The instance with this exact name (never by id: the real guards look names up, ref §4)."""
        for inst in self.instances:
            if inst.name == name:
                return self.fill_ids(inst)
        return None

    def add_instance(self, name: str, **fields: Any) -> Instance:
        """Create and register an instance; ``fields`` are :class:`Instance` fields (``id`` generated per
        version when not given)."""
        if self.find_instance(name) is not None:
            raise ValueError(f"instance {name!r} already exists")
        # what instance/create would have stored: v1 forces groups_ignore true, v2 stores false
        fields.setdefault("settings", InstanceSettings(groups_ignore=self.is_v1))
        inst = self.fill_ids(Instance(name=name, **fields))
        self.instances.append(inst)
        return inst

    def require(self, name: str) -> Instance:
        inst = self.find_instance(name)
        if inst is None:
            raise KeyError(f"no instance named {name!r}")
        return inst

    def effective_client_name(self) -> str | None:
        if self.client_name is not None:
            return self.client_name
        return "evolution" if self.ver >= (2, 3, 0) else None  # None: Prisma ignores `clientName: undefined`

    def forget_conversations(self, inst: Instance) -> None:
        """Drop the cached Chatwoot conversation ids of this instance."""
        for cached in [c for c in self.conversation_cache if c.startswith(f"{inst.name}:")]:
            self.conversation_cache.pop(cached, None)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Background work the server does after answering (bot commands received from Chatwoot)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for background work. Run it on the server loop, e.g. ``server_thread.call(lab.drain())``."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
