"""The emulated Evolution API's state store: the server's configuration (its env vars), its instances and what
it has done (deliveries, calls to Chatwoot, sent messages). Route handlers and scenarios read and change it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from evodiag.lab.evolution.model import (
    ChatwootCall,
    Delivery,
    Instance,
    InstanceSettings,
    Version,
    new_uuid,
    parse_version,
)

DEFAULT_TIME_SCALE = 0.02


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
    # GET / on 2.3.x reports the WhatsApp Web version it fetched from web.whatsapp.com/sw.js; only when that
    # fails does it report the fallback built into its Baileys (2.3.6: 2.3000.1027934701, observed on a
    # server without WhatsApp connectivity; src/utils/fetchLatestWaWebVersion.ts).
    whatsapp_web_version: str = "2.3000.1030415680"  # a current revision (reported on 2.2.3 in #2355, 2026-01)
    fallback_whatsapp_web_version: str = "2.3000.1027934701"
    # "ok", or no outbound access to WhatsApp: "dns-fail" (the lookup fails at once: GET / answers fast with
    # the fallback) or "dns-timeout" (GET / waits ~25 s for DNS, then answers with the fallback).
    whatsapp_egress: str = "ok"
    # Realistic delays are given in real seconds and multiplied by time_scale: 1.0 is as slow as a real server,
    # the default keeps tests and `evodiag demo` fast (5 s -> 0.1 s).
    time_scale: float = DEFAULT_TIME_SCALE
    # *_ENABLED switches of the chatbot and event integrations (env var -> on); Evolution defaults them to off.
    integration_flags: dict[str, bool] = field(default_factory=dict)
    # The next N incoming messages are stored (as a history sync would) but skipped by the 2.3.x dedupe cache:
    # "Message duplicated ignored: <id>" is logged and no webhook is sent (#1762, #2110).
    dedupe_drop_next: int = 0
    server_log: list[str] = field(default_factory=list)
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
    non_retryable_statuses: tuple[int, ...] = (400, 401, 403, 404, 422)  # 2.3.0+ default, env.config.ts
    duplicate_deliveries: int = 1
    user_agent: str = "axios/1.12.2"  # observed on 2.3.6; UNVERIFIED for older versions
    hosts: dict[str, str] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    chatwoot_calls: list[ChatwootCall] = field(default_factory=list)
    sent_messages: list[dict[str, Any]] = field(default_factory=list)
    conversation_cache: dict[str, Any] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set, repr=False)

    def delay(self, real_seconds: float) -> float:
        """How long the lab waits for something that takes ``real_seconds`` on a real server."""
        return max(0.0, real_seconds * self.time_scale)

    @property
    def reported_whatsapp_web_version(self) -> str:
        return self.whatsapp_web_version if self.whatsapp_egress == "ok" else self.fallback_whatsapp_web_version

    def flag(self, name: str) -> bool:
        return self.integration_flags.get(name, False)

    def log_line(self, level: str, context: str, text: str) -> None:
        """One line in Evolution's log format: ``[Evolution API]  [<instance>]  v<version> ... <LEVEL> [ctx]``."""
        stamp = time.strftime("%a %b %d %Y %H:%M:%S")
        self.server_log.append(f"[Evolution API]    v{self.version}  1   -  {stamp}     {level}   [{context}]  "
                               f"[string]  {text}")

    @property
    def ver(self) -> Version:
        return parse_version(self.version)

    @property
    def is_v1(self) -> bool:
        return self.ver < (2, 0, 0)

    def fill_ids(self, inst: Instance) -> Instance:
        if not inst.id:
            inst.id = new_uuid()  # v1 uuid; v2 too: 2.3.6 creates instances with a UUID v4 (observed)
        return inst

    def find_instance(self, name: str) -> Instance | None:
        """The instance with this exact name (never by id: the real guards look names up)."""
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
