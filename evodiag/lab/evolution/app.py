"""The emulated Evolution API server: routes, guards and state changes.

Citations: ``ref §N`` = ``/work/shared/reference/evolution-api.md`` section N (``R@<tag>:<path>`` keys are the
reference's own source citations); §11 are observations on a real 2.3.6 server and win over inferences.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp, _Route
from evodiag.lab.evolution import chatwoot_sync, payloads
from evodiag.lab.evolution import settings as settings_mod
from evodiag.lab.evolution.chatwoot_sync import BOT_CONTACT, ChatwootError
from evodiag.lab.evolution.model import (
    INTEGRATIONS,
    ChatwootCall,
    ChatwootSettings,
    Delivery,
    Instance,
    Version,
    WebhookConfig,
    new_cuid,
    new_message_id,
    new_token,
    new_uuid,
    parse_version,
    prisma_now,
)
from evodiag.lab.evolution.outbound import deliver as send_event
from evodiag.lab.evolution.outbound import new_client
from evodiag.lab.evolution.payloads import Schema, error, schema_error, unauthorized, validate

QR_BOT_TEXT = "⚡️ QRCode successfully generated!\n\nScan this QR code within the next 40 seconds."  # UNVERIFIED


def _jid(number: str) -> str:
    return number if "@" in number else re.sub(r"\D", "", number) + "@s.whatsapp.net"


@dataclass
class EvolutionLab(LabApp):
    """An Evolution API server (v1 = 1.7/1.8, v2 = 2.x) on loopback.

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
      ``sent_messages`` (everything "sent to WhatsApp"), plus the base class's request ``log``.
    Every field may be changed while the lab is serving; version-dependent routes (restart method,
    verify-creds) are gated per request.
    """

    name: str = "evolution"
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
    _gates: dict[tuple[str, str], Callable[[], bool]] = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------------------------------------------------
    # Setup and helpers for scenario code
    # ---------------------------------------------------------------------------------------------------------

    def __post_init__(self) -> None:
        super().__post_init__()
        for inst in self.instances:
            self._fill_ids(inst)
        r = self.route
        r("GET", "/", self.root)  # ref §3
        r("POST", "/verify-creds", self.verify_creds)  # ref §3
        r("GET", "/instance/fetchInstances", self.fetch_instances)  # ref §4.2
        r("POST", "/instance/create", self.create, mutates=True)  # ref §4.5
        r("GET", "/instance/connectionState/{instance}", self.connection_state)  # ref §4.3
        r("GET", "/instance/connect/{instance}", self.connect, mutates=True)  # ref §4.4 (starts connecting)
        r("PUT", "/instance/restart/{instance}", self.restart, mutates=True)  # ref §2.2 (v1)
        r("POST", "/instance/restart/{instance}", self.restart, mutates=True)  # ref §2.2 (v2)
        r("DELETE", "/instance/logout/{instance}", self.logout, mutates=True)  # ref §11
        r("DELETE", "/instance/delete/{instance}", self.delete, mutates=True)  # ref §11
        r("POST", "/chatwoot/set/{instance}", self.chatwoot_set, mutates=True)  # ref §5.1
        r("GET", "/chatwoot/find/{instance}", self.chatwoot_find)  # ref §5.1
        r("POST", "/chatwoot/webhook/{instance}", self.chatwoot_webhook)  # ref §5.1; read-only unless it acts
        r("POST", "/webhook/set/{instance}", self.webhook_set, mutates=True)  # ref §6.1
        r("GET", "/webhook/find/{instance}", self.webhook_find)  # ref §6.1
        r("POST", "/message/sendText/{instance}", self.send_text, mutates=True)  # ref §7
        # ref §2.2/#2223: restart is PUT in v1 and POST in v2; ref §3: verify-creds from 2.0.10 (commit 9f2801d2)
        self._gates[("PUT", "/instance/restart/{instance}")] = lambda: self.is_v1
        self._gates[("POST", "/instance/restart/{instance}")] = lambda: not self.is_v1
        self._gates[("POST", "/verify-creds")] = lambda: self.ver >= (2, 0, 10)

    @property
    def ver(self) -> Version:
        return parse_version(self.version)

    @property
    def is_v1(self) -> bool:
        return self.ver < (2, 0, 0)

    def _fill_ids(self, inst: Instance) -> Instance:
        if not inst.id:
            inst.id = new_uuid() if self.is_v1 else new_cuid()  # ref §4.2: v1 uuid, v2 cuid
        return inst

    def find_instance(self, name: str) -> Instance | None:
        """The instance with this exact name (never by id: the real guards look names up, ref §4)."""
        for inst in self.instances:
            if inst.name == name:
                return self._fill_ids(inst)
        return None

    def add_instance(self, name: str, **fields: Any) -> Instance:
        """Create and register an instance; ``fields`` are :class:`Instance` fields (``id`` generated per
        version when not given)."""
        if self.find_instance(name) is not None:
            raise ValueError(f"instance {name!r} already exists")
        inst = self._fill_ids(Instance(name=name, **fields))
        self.instances.append(inst)
        return inst

    def _match(self, request: Request) -> tuple[_Route | None, dict[str, Any]]:
        route, params = super()._match(request)
        if route is not None:
            gate = self._gates.get((route.method, route.template))
            if gate is not None and not gate():
                return None, {}
        return route, params

    def _client(self) -> httpx.AsyncClient:
        """A fresh loopback-only client; use it as ``async with`` so no socket outlives the request."""
        return new_client(self.webhook_timeout_s, self.hosts)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for background work (bot commands received from Chatwoot). Run it on the server loop, e.g.
        ``server_thread.call(lab.drain())``."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _mark_mutating(self, request: Request) -> None:
        """A route that is read-only for probes but acted on this request: flag its log entry."""
        with self._lock:
            for entry in reversed(self.log):
                if entry.body is request.body and entry.received_at == request.received_at:
                    entry.mutates = True
                    return

    @staticmethod
    def _body(request: Request) -> tuple[Any, Response | None]:
        """``express.json()``: parsed only for a JSON content type, else ``{}``."""
        if "json" not in (request.header("content-type") or "").lower() or not request.body:
            return {}, None
        try:
            return request.json(), None
        except (ValueError, UnicodeDecodeError) as exc:
            # UNVERIFIED: body-parser's SyntaxError through Evolution's error handler
            return None, error(400, f"Unexpected token in JSON: {exc}")

    def _guarded_body(self, request: Request, raw_name: str) -> tuple[Instance, Any] | Response:
        """The guards, then the JSON body: the order the real routers apply them in (ref §5.3: 404 -> 401 -> 400)."""
        inst = self._guard(request, raw_name)
        if isinstance(inst, Response):
            return inst
        body, bad = self._body(request)
        return bad if bad is not None else (inst, body)

    def _missing_key(self) -> Response:
        """Missing apikey on create/fetchInstances: 403 up to 1.7.5, 401 from 1.8.0 (ref §2.3)."""
        if self.ver < (1, 8, 0):
            return error(403, ["Missing global api key", "The global api key must be set"])
        return unauthorized()

    def _guard(self, request: Request, raw_name: str) -> Instance | Response:
        """[instanceExistsGuard, instanceLoggedGuard, authGuard] in that order (ref §2.3; R@2.3.6
        index.router.ts#L41): an unknown name is a 404 whatever the key; then the global key or this
        instance's own token (ref §2.1; observed §11)."""
        name = unquote(raw_name)
        inst = self.find_instance(name)
        if inst is None:
            # ref §4.1: R@1.8.2 instance.guard.ts#L55, R@2.3.6 instance.guard.ts#L36; IDs too (§4, §11)
            return error(404, [f'The "{name}" instance does not exist'])
        key = request.header("apikey") or ""
        if key and key in (self.global_key, inst.token):
            return inst
        return unauthorized()  # ref §2.3: missing or wrong key on an instance route is 401 in every version

    def _active_cw(self, inst: Instance) -> ChatwootSettings | None:
        return chatwoot_sync.active_settings(self, inst)

    async def _emit(self, inst: Instance, event: str, data: Any) -> None:
        async with self._client() as client:
            await send_event(self, inst, event, data, client)

    async def not_found(self, request: Request) -> Response:
        """ref §2.2 (main.ts#L121-128; #2223). # UNVERIFIED: query string left out of the message."""
        return error(404, [f"Cannot {request.method} {request.path}"])

    # ---------------------------------------------------------------------------------------------------------
    # Public async API for scenarios: webhooks, inbound messages, bot messages
    # ---------------------------------------------------------------------------------------------------------

    async def deliver(self, instance_name: str, event: str, data: Any) -> list[Delivery]:
        """POST one event (``messages.upsert`` or ``MESSAGES_UPSERT``) to the instance and global webhooks."""
        inst = self._require(instance_name)
        async with self._client() as client:
            return await send_event(self, inst, event, data, client)

    async def simulate_inbound(self, instance_name: str, from_number: str, text: str, *, repeat: int = 1,
                               push_name: str | None = None,
                               entry_point_source: str | None = None) -> list[dict[str, Any]]:
        """WhatsApp delivers ``repeat`` distinct text messages from ``from_number``: each goes to the webhooks as
        ``messages.upsert`` (1.8.0: ``duplicate_deliveries`` times with the same ``key.id``, ref §6.7 #631),
        then into Chatwoot as an incoming message. Returns the ``data`` objects."""
        inst = self._require(instance_name)
        remote_jid = _jid(from_number)
        name = push_name if push_name is not None else f"Contact {remote_jid.split('@')[0][-4:]}"
        out: list[dict[str, Any]] = []
        async with self._client() as client:
            for _ in range(repeat):
                data = self._upsert_data(inst, remote_jid, name, text, entry_point_source)
                inst.message_count += 1
                copies = max(1, self.duplicate_deliveries) if self.ver == (1, 8, 0) else 1
                for _copy in range(copies):
                    await send_event(self, inst, "messages.upsert", data, client)  # fresh date_time each time
                await chatwoot_sync.sync_message(self, inst, client, remote_jid=remote_jid, push_name=name,
                                                 text=text, from_me=False, key_id=data["key"]["id"])
                out.append(data)
        return out

    async def bot_message(self, instance_name: str, text: str, *, qr: bool = False) -> bool:
        """Post a bot status message (or the QR, ``qr=True``) into the Chatwoot bot conversation, the path that
        breaks on 1.7.0–1.7.4 with Chatwoot ≥3.8 (ref §5.5). Returns False when a step failed."""
        inst = self._require(instance_name)
        async with self._client() as client:
            return await chatwoot_sync.bot_message(self, inst, client, text, qr=qr)

    def _require(self, name: str) -> Instance:
        inst = self.find_instance(name)
        if inst is None:
            raise KeyError(f"no instance named {name!r}")
        return inst

    def _upsert_data(self, inst: Instance, remote_jid: str, push_name: str, text: str,
                     entry_point_source: str | None) -> dict[str, Any]:
        """``messages.upsert`` data (ref §6.6): v1 ``owner``, v2 ``status`` + ``instanceId``; ``contextInfo`` only
        when present (undefined is dropped); ``messageTimestamp`` in UTC seconds."""
        data: dict[str, Any] = {"key": {"remoteJid": remote_jid, "fromMe": False, "id": new_message_id()},
                                "pushName": push_name}
        if not self.is_v1:
            data["status"] = "DELIVERY_ACK"  # UNVERIFIED value
        data["message"] = {"conversation": text}
        if entry_point_source is not None:
            data["contextInfo"] = {"entryPointConversionSource": entry_point_source}
        data["messageType"] = "conversation"
        data["messageTimestamp"] = int(time.time())
        if self.is_v1:
            data["owner"] = inst.name
        else:
            data["instanceId"] = inst.id
        data["source"] = "android"  # 32-hex ids come from Android phones
        return data

    # ---------------------------------------------------------------------------------------------------------
    # Server info and instances
    # ---------------------------------------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        """``GET /`` (ref §3, observed §11). No auth."""
        if self.ver >= (2, 3, 0) and self.root_delay_s:
            await asyncio.sleep(self.root_delay_s)  # ref §3: 2.3.x fetches web.whatsapp.com/sw.js per call
        host = request.header("host") or "undefined"
        return Response.json(payloads.root_body(self.version, self.ver, host, self.client_name,
                                                self.whatsapp_web_version, self.disable_docs,
                                                self.disable_manager))

    async def verify_creds(self, request: Request) -> Response:
        """``POST /verify-creds`` (v2 ≥2.0.10, ref §3): global key only (no :instanceName, so an instance token
        is a 401). # UNVERIFIED: the facebook* fields the reference elides are undefined when unset."""
        if (request.header("apikey") or "") != self.global_key:
            return unauthorized()
        return Response.json({"status": 200, "message": "Credentials are valid"})

    def _fetch_auth(self, request: Request) -> str | Response | None:
        """Auth for fetchInstances: ``None`` = global key, a token string = restricted to that instance."""
        key = request.header("apikey") or ""
        if not key:
            return self._missing_key()
        if key == self.global_key:
            return None
        # ref §2.1: instance token accepted only with DATABASE_ENABLED (v1) / DATABASE_SAVE_DATA_INSTANCE (v2)
        if self.instance_token_fetch and any(i.token == key for i in self.instances):
            return key
        return unauthorized()

    def _effective_client_name(self) -> str | None:
        if self.client_name is not None:
            return self.client_name
        return "evolution" if self.ver >= (2, 3, 0) else None  # None: Prisma ignores `clientName: undefined`

    def _v1_chatwoot(self, inst: Instance) -> dict[str, Any]:
        cw = inst.chatwoot
        if cw is None:
            return payloads.chatwoot_unconfigured(self.ver)
        return payloads.chatwoot_find(self.ver, cw, payloads.chatwoot_webhook_url(self.server_url, inst.name))

    async def fetch_instances(self, request: Request) -> Response:
        """``GET /instance/fetchInstances`` (ref §4.2; observed §11)."""
        auth = self._fetch_auth(request)
        if isinstance(auth, Response):
            return auth
        query = request.query
        name, inst_id = query.get("instanceName") or None, query.get("instanceId") or None
        pool = [self._fill_ids(i) for i in self.instances if auth is None or i.token == auth]
        if not self.is_v1:
            client = self._effective_client_name()
            # ref §4.2: filtered by clientName = DATABASE_CONNECTION_CLIENT_NAME (monitor.service.ts#L78-88)
            pool = [i for i in pool if client is None or (i.client_name or client) == client]
        if name or inst_id:
            pool = [i for i in pool if (not name or i.name == name) and (not inst_id or i.id == inst_id)]
            if not pool:
                # ref §4.1: R@1.8.2 monitor.service.ts#L101, R@2.3.6 #L73; observed §11
                return error(404, [f'Instance "{name or inst_id}" not found'])
        if not self.is_v1:
            return Response.json([payloads.fetch_row_v2(i, self.ver, self._effective_client_name())
                                  for i in pool])
        rows = [payloads.fetch_row_v1(i, self.expose_in_fetch, self.server_url, self._v1_chatwoot(i))
                for i in pool]
        if (name or inst_id) and auth is None:
            return Response.json(rows[0])  # ref §4.2: v1 quirk `instances.find(...) ?? instances` -> one object
        return Response.json(rows)

    async def connection_state(self, request: Request, instance: str) -> Response:
        """``GET /instance/connectionState/{instance}`` (ref §4.3; observed §11)."""
        inst = self._guard(request, instance)
        if isinstance(inst, Response):
            return inst
        return Response.json(payloads.connection_state(inst))

    async def _start_connecting(self, inst: Instance, client: httpx.AsyncClient, *, wait: bool = True) -> None:
        """Baileys socket start: ``connection.update`` connecting, then a QR (``qrcode.updated`` + Chatwoot bot
        QR) when one is available. Waits ``connect_delay_s`` (real: v1 5 s, v2 2 s, ref §4.4, §11)."""
        inst.state = "connecting"
        data = {"instance": inst.name, "state": "connecting", "statusReason": 200}  # observed §11 payload
        await send_event(self, inst, "connection.update", data, client)
        if wait and self.connect_delay_s:
            await asyncio.sleep(self.connect_delay_s)
        if inst.qr_available:
            qr = payloads.qr_body(inst, None)
            # UNVERIFIED: qrcode.updated data shape
            qr_event = {"qrcode": {"instance": inst.name, "pairingCode": None, "code": qr["code"],
                                   "base64": qr["base64"]}}
            await send_event(self, inst, "qrcode.updated", qr_event, client)
            await chatwoot_sync.bot_message(self, inst, client, QR_BOT_TEXT, qr=True)

    async def connect(self, request: Request, instance: str) -> Response:
        """``GET /instance/connect/{instance}`` (ref §4.4; observed §11): open -> connectionState shape; else the
        QR object or ``{"count":0}``; a ``close`` instance starts connecting first."""
        inst = self._guard(request, instance)
        if isinstance(inst, Response):
            return inst
        if inst.connect_error is not None:
            # ref §4.4: errors are swallowed: v1 200 with an empty body, v2 200 {"error":true,"message":...}
            if self.is_v1:
                return Response(200, b"", {"Content-Type": "application/json; charset=utf-8"})
            return Response.json({"error": True, "message": inst.connect_error})
        if inst.state == "open":
            return Response.json(payloads.connection_state(inst))
        if inst.state != "connecting":
            async with self._client() as client:
                await self._start_connecting(inst, client)
        number = request.query.get("number")
        pairing = ("LAB" + re.sub(r"\D", "", number)[-5:]).ljust(8, "0") if number else None  # UNVERIFIED
        return Response.json(payloads.qr_body(inst, pairing))

    async def create(self, request: Request) -> Response:
        """``POST /instance/create`` -> 201 (ref §4.5; observed §11)."""
        body, bad = self._body(request)
        if bad is not None:
            return bad
        body = body if isinstance(body, dict) else {}
        name = body.get("instanceName")
        # instanceLoggedGuard runs before authGuard (ref §2.3): a taken name is 403 whatever the key
        if name is None and not self.is_v1:
            return error(403, ['This name "undefined" is already in use.'])  # observed §11
        if name is not None and self.find_instance(str(name)) is not None:
            return error(403, [f'This name "{name}" is already in use.'])  # ref §4.5, §11
        key = request.header("apikey") or ""
        if not key:
            return self._missing_key()
        if key != self.global_key:
            return unauthorized()  # observed §11: an instance token is 401 on create
        errors = validate(body, payloads.CREATE)  # UNVERIFIED for v1 (missing name)
        if errors:
            return schema_error(errors)
        name = str(name)
        if not self.is_v1 and body.get("integration") not in INTEGRATIONS:
            return error(400, ["Invalid integration"])  # ref §4.5 (channel.controller.ts init() -> null), §11
        cw_keys = ("chatwootAccountId", "chatwootToken", "chatwootUrl") if not self.is_v1 else (
            "chatwoot_account_id", "chatwoot_token", "chatwoot_url")
        wants_cw = all(body.get(k) for k in cw_keys)
        if wants_cw and not self.is_v1 and not self.chatwoot_enabled:
            # ref §4.5: the instance is created, then deleted again, and the request fails (#1011)
            return error(400, ["Chatwoot is not enabled"])
        inst = Instance(name=name, token=str(body.get("token") or new_token()),
                        integration=str(body.get("integration") or "WHATSAPP-BAILEYS"),
                        qr_available=self.new_instances_get_qr, state="close")
        self._fill_ids(inst)
        if self.is_v1:
            if body.get("webhook"):
                inst.webhook = WebhookConfig(url=str(body["webhook"]),
                                             by_events=bool(body.get("webhook_by_events")),
                                             base64=bool(body.get("webhook_base64")),
                                             events=list(body.get("events") or []))
        else:
            inst.db_status = "close"  # observed §11: stored `close` while the socket is `connecting`
            wh = body.get("webhook")
            if isinstance(wh, dict) and wh.get("url"):
                inst.webhook = WebhookConfig(url=str(wh["url"]), by_events=bool(wh.get("byEvents")),
                                             base64=bool(wh.get("base64")), events=list(wh.get("events") or []),
                                             headers=wh.get("headers"))
        if wants_cw:
            inst.chatwoot = settings_mod.chatwoot_from_create(self, body, name)
        self.instances.append(inst)
        qrcode = bool(body.get("qrcode"))
        if not self.is_v1 or qrcode:
            async with self._client() as client:
                # v2 connects on create; v1 only with qrcode; only qrcode:true blocks waiting for a QR (§11)
                await self._start_connecting(inst, client, wait=qrcode)
        resp = settings_mod.response_v1(self, inst, body, qrcode) if self.is_v1 else \
            settings_mod.response_v2(self, inst, body, qrcode)
        return Response.json(resp, 201)

    async def restart(self, request: Request, instance: str) -> Response:
        """PUT (v1) / POST (v2) ``/instance/restart/{instance}``; the other method is the unknown-route 404
        (ref §2.2, #2223). # UNVERIFIED: response bodies; a non-open instance starts connecting."""
        inst = self._guard(request, instance)
        if isinstance(inst, Response):
            return inst
        if inst.state != "open":
            async with self._client() as client:
                await self._start_connecting(inst, client)
        if self.is_v1:
            return Response.json({"status": "SUCCESS", "error": False, "response": {"message": "Instance restarted"}})
        return Response.json(payloads.connection_state(inst))

    async def logout(self, request: Request, instance: str) -> Response:
        """``DELETE /instance/logout/{instance}``: 400 when not connected (observed §11). # UNVERIFIED: the
        success body and the close event (statusReason 401 = loggedOut, ref §4.2)."""
        inst = self._guard(request, instance)
        if isinstance(inst, Response):
            return inst
        if inst.state != "open":
            return error(400, [f'The "{inst.name}" instance is not connected'])
        inst.state, inst.db_status, inst.disconnection_reason_code = "close", "close", 401
        inst.updated_at = prisma_now()
        await self._emit(inst, "connection.update", {"instance": inst.name, "state": "close", "statusReason": 401})
        return Response.json({"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}})

    async def delete(self, request: Request, instance: str) -> Response:
        """``DELETE /instance/delete/{instance}`` -> 200 (observed §11 on 2.3.6; # UNVERIFIED for v1)."""
        inst = self._guard(request, instance)
        if isinstance(inst, Response):
            return inst
        self.instances.remove(inst)
        return Response.json({"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}})

    # ---------------------------------------------------------------------------------------------------------
    # Chatwoot integration (ref §5)
    # ---------------------------------------------------------------------------------------------------------

    async def chatwoot_set(self, request: Request, instance: str) -> Response:
        """``POST /chatwoot/set/{instance}`` -> 201 (ref §5.1, §5.2; observed §11). Checks: exists 404 -> apikey
        401 -> schema 400 -> "Chatwoot is disabled" 400 -> url/account/token 400 (ref §5.3)."""
        guarded = self._guarded_body(request, instance)
        if isinstance(guarded, Response):
            return guarded
        inst, body = guarded
        v1 = self.is_v1
        errors = validate(body, payloads.CHATWOOT_V1 if v1 else payloads.CHATWOOT_V2)
        if errors:
            return schema_error(errors)  # observed §11: [["instance requires property \"token\""]]
        if not v1 and not self.chatwoot_enabled:
            return payloads.chatwoot_disabled()  # chatwoot.controller.ts#L20

        data, settings = settings_mod.chatwoot_from_set(v1, body, inst.name)
        if isinstance(settings, str):
            return error(400, [settings])  # ref §5.2 controller checks; "url is not valid" observed §11
        if inst.chatwoot is not None:
            settings.id, settings.created_at = inst.chatwoot.id, inst.chatwoot.created_at
        inst.chatwoot = settings
        for cached in [c for c in self.conversation_cache if c.startswith(f"{inst.name}:")]:
            self.conversation_cache.pop(cached, None)
        webhook_url = payloads.chatwoot_webhook_url(self.server_url, inst.name)
        if inst.chatwoot.enabled and inst.chatwoot.auto_create:
            try:
                async with self._client() as client:
                    await chatwoot_sync.init_instance(self, inst, client)
            except ChatwootError as exc:
                # observed §11: 500 with the message as a plain string, config saved anyway
                return error(500, str(exc))
        return Response.json({**data, "webhook_url": webhook_url}, 201)  # ref §5.2 (#L45-53): snake in v2 too

    async def chatwoot_find(self, request: Request, instance: str) -> Response:
        """``GET /chatwoot/find/{instance}`` (ref §5.2, §5.3; observed §11): a read-only CHATWOOT_ENABLED probe."""
        inst = self._guard(request, instance)
        if isinstance(inst, Response):
            return inst
        if not self.is_v1 and not self.chatwoot_enabled:
            return payloads.chatwoot_disabled()  # chatwoot.controller.ts#L58
        if inst.chatwoot is None:
            return Response.json(payloads.chatwoot_unconfigured(self.ver))
        url = payloads.chatwoot_webhook_url(self.server_url, inst.name)
        return Response.json(payloads.chatwoot_find(self.ver, inst.chatwoot, url))

    async def chatwoot_webhook(self, request: Request, instance: str) -> Response:
        """``POST /chatwoot/webhook/{instance}``, called by Chatwoot; no guards (ref §5.1, §5.4). A body without
        ``conversation`` (or a private note) -> ``{"message":"bot"}``; no provider -> ``null``; v2 disabled ->
        400. An agent's outgoing message is sent to WhatsApp; ``init``/``status`` to the bot contact ``123456``
        run bot commands (UNVERIFIED details). Only those cases are logged as mutating."""
        if not self.is_v1 and not self.chatwoot_enabled:
            return payloads.chatwoot_disabled()  # chatwoot.controller.ts#L85
        if self.chatwoot_webhook_delay_s:
            await asyncio.sleep(self.chatwoot_webhook_delay_s)  # receiveWebhook sleeps 500 ms
        inst = self.find_instance(unquote(instance))
        if inst is None or self._active_cw(inst) is None:
            return Response.json(None)  # ref §5.4: no provider -> HTTP 200 body `null` (# UNVERIFIED: unknown name)
        body, _bad = self._body(request)
        bot = Response.json({"message": "bot"})
        if not isinstance(body, dict) or "conversation" not in body or body.get("private"):
            return bot
        conversation = body.get("conversation") or {}
        if body.get("event") == "conversation_status_changed" and conversation.get("status") == "resolved":
            # ref §5.6 step 3: a resolved conversation clears the cached id (v2)
            for key in [k for k in self.conversation_cache if k.startswith(f"{inst.name}:")]:
                self.conversation_cache.pop(key, None)
            return bot
        if body.get("event") != "message_created" or body.get("message_type") != "outgoing":
            return bot
        sender = (conversation.get("meta") or {}).get("sender") or {}
        chat_id = str(sender.get("identifier") or sender.get("phone_number") or "").lstrip("+").split("@")[0]
        content = str(body.get("content") or "")
        self._mark_mutating(request)
        if chat_id == BOT_CONTACT:
            self._spawn(self._bot_command(inst, content.strip().lower()))
            return bot
        cw = self._active_cw(inst)
        if cw is not None and cw.sign_msg:
            agent = (body.get("sender") or {}).get("available_name") or (body.get("sender") or {}).get("name")
            if agent:
                content = f"*{agent}:*{cw.sign_delimiter or chr(10)}{content}"  # UNVERIFIED signature format
        message = self._outgoing_message(inst, _jid(chat_id), content)
        self.sent_messages.append(message)
        inst.message_count += 1
        await self._emit(inst, "send.message", message)
        return bot

    async def _bot_command(self, inst: Instance, command: str) -> None:
        """Commands typed to the bot contact (UNVERIFIED: command set). ``init`` connects -> QR -> bot QR."""
        async with self._client() as client:
            if command.lstrip("/") in ("init", "iniciar") or command.startswith("init:"):
                if inst.state == "open":
                    await chatwoot_sync.bot_message(self, inst, client, f"🚨 {inst.name} instance is connected.")
                else:
                    await self._start_connecting(inst, client)
            elif command.lstrip("/") == "status":
                await chatwoot_sync.bot_message(self, inst, client,
                                                f"⚠️ {inst.name} instance status: *{inst.state}*")

    # ---------------------------------------------------------------------------------------------------------
    # Webhook settings (ref §6.1)
    # ---------------------------------------------------------------------------------------------------------

    def _webhook_schema(self) -> Schema:
        if self.is_v1:
            return payloads.WEBHOOK_V1
        return payloads.WEBHOOK_V20 if self.ver < (2, 1, 0) else payloads.WEBHOOK_V21

    async def webhook_set(self, request: Request, instance: str) -> Response:
        """``POST /webhook/set/{instance}`` -> 201 in three body shapes (ref §6.1; observed §11: URL stored
        verbatim, no reachability check)."""
        guarded = self._guarded_body(request, instance)
        if isinstance(guarded, Response):
            return guarded
        inst, body = guarded
        errors = validate(body, self._webhook_schema())
        if errors:
            return schema_error(errors)  # e.g. v1 body on 2.1+: [["instance requires property \"webhook\""]]
        if self.is_v1:
            data = body
            names = ("webhook_by_events", "webhook_base64")
        elif self.ver < (2, 1, 0):
            data = body
            names = ("webhookByEvents", "webhookBase64")
        else:
            data = body["webhook"]
            names = ("byEvents", "base64")
        enabled = data.get("enabled", True) if self.is_v1 else data["enabled"]
        if enabled and self.ver < (2, 3, 0) and not settings_mod.is_url(data.get("url")):
            return error(400, ['Invalid "url" property'])  # ref §6.1: v1 and ≤2.2.x isURL; 2.3 no check
        if not self.is_v1 and not isinstance(data.get("events"), list):
            # ref §6.1 (inferred): `0 === data.webhook.events.length` on a missing key -> TypeError -> 500
            return error(500, "Cannot read properties of undefined (reading 'length')")
        old = inst.webhook
        inst.webhook = WebhookConfig(url=data["url"], enabled=bool(enabled), by_events=bool(data.get(names[0])),
                                     base64=bool(data.get(names[1])), events=list(data.get("events") or []),
                                     headers=data.get("headers") if self.ver >= (2, 1, 0) else None)
        if old is not None:
            inst.webhook.id, inst.webhook.created_at = old.id, old.created_at
        if self.is_v1:
            # UNVERIFIED: v1 set response (as in the v1 docs example)
            return Response.json({"webhook": {"instanceName": inst.name, "webhook": body}}, 201)
        return Response.json(payloads.webhook_row(inst, inst.webhook, self.ver), 201)  # observed §11

    async def webhook_find(self, request: Request, instance: str) -> Response:
        """``GET /webhook/find/{instance}``: v1 fixed shape; v2 the Prisma row or ``null`` (ref §6.1, §11)."""
        inst = self._guard(request, instance)
        if isinstance(inst, Response):
            return inst
        if self.is_v1:
            return Response.json(payloads.webhook_find_v1(inst.webhook))
        if inst.webhook is None:
            return Response.json(None)  # observed §11: 200 with body `null`
        return Response.json(payloads.webhook_row(inst, inst.webhook, self.ver))

    # ---------------------------------------------------------------------------------------------------------
    # Messages (ref §7)
    # ---------------------------------------------------------------------------------------------------------

    def _outgoing_message(self, inst: Instance, remote_jid: str, text: str) -> dict[str, Any]:
        """The message object sendText returns and ``send.message`` carries. # UNVERIFIED beyond ``key.id``."""
        key = {"remoteJid": remote_jid, "fromMe": True, "id": new_message_id(android=False)}
        if self.is_v1:
            return {"key": key, "message": {"extendedTextMessage": {"text": text}},
                    "messageTimestamp": str(int(time.time())), "status": "PENDING"}
        return {"key": key, "pushName": inst.profile_name or "", "status": "PENDING",
                "message": {"conversation": text}, "contextInfo": None, "messageType": "conversation",
                "messageTimestamp": int(time.time()), "instanceId": inst.id, "source": "unknown"}

    async def send_text(self, request: Request, instance: str) -> Response:
        """``POST /message/sendText/{instance}`` -> 201 (ref §7). Then a ``send.message`` webhook and an
        outgoing Chatwoot message; their failures never fail the send (Evolution only logs them)."""
        guarded = self._guarded_body(request, instance)
        if isinstance(guarded, Response):
            return guarded
        inst, body = guarded
        errors = validate(body, payloads.SEND_TEXT_V1 if self.is_v1 else payloads.SEND_TEXT_V2)
        if errors:
            return schema_error(errors)  # v1 body on v2: [["instance requires property \"text\""]] (ref §7)
        if inst.state != "open":
            return error(500, "Connection Closed")  # UNVERIFIED: Baileys' error on a closed socket
        number = body["number"]
        digits = re.sub(r"\D", "", number.split("@")[0])
        remote_jid = _jid(number)
        if digits in self.not_on_whatsapp or number in self.not_on_whatsapp:
            # ref §7: R@2.3.6 whatsapp.baileys.service.ts#L2135-2139 (# UNVERIFIED for v1)
            return error(400, [{"jid": remote_jid, "exists": False, "number": digits}])
        text = body["textMessage"]["text"] if self.is_v1 else body["text"]
        message = self._outgoing_message(inst, remote_jid, text)
        self.sent_messages.append(message)
        inst.message_count += 1
        async with self._client() as client:
            await send_event(self, inst, "send.message", message, client)
            await chatwoot_sync.sync_message(self, inst, client, remote_jid=remote_jid, push_name="", text=text,
                                             from_me=True, key_id=message["key"]["id"])
        return Response.json(message, 201)
