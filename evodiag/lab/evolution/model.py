"""Plain state of the emulated Evolution API: instances, their webhook and Chatwoot settings, and the records
the lab keeps of what it sent (webhook deliveries, Chatwoot calls).

Scenario code builds these dataclasses directly; nothing here talks to the network.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from evodiag import versions

Version = tuple[int, int, int]

# Versions the lab is exercised with (any "X.Y.Z" works; behaviour is derived from comparisons).
SUPPORTED_VERSIONS = ("1.7.4", "1.8.0", "1.8.2", "2.0.10", "2.1.1", "2.2.3", "2.3.6")

# v2 values; anything else is 400 "Invalid integration":
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/channel/channel.controller.ts
INTEGRATIONS = ("WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION")


def parse_version(text: str) -> Version:
    """``"2.3.6"`` -> ``(2, 3, 6)``; a missing patch is 0."""
    version = versions.parse_version(text)
    if version is None:
        raise ValueError(f"not an Evolution version: {text!r}")
    return version


def prisma_now() -> str:
    """A Prisma ``DateTime`` as Express serialises it: ISO 8601 UTC with milliseconds and ``Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def new_token() -> str:
    """Instance token when the client supplies none: an upper-case UUID
    (https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/auth.service.ts#L67-L85)."""
    return str(uuid.uuid4()).upper()


def new_uuid() -> str:
    """An instance id: a UUID v4 (v1 ``instanceId``; v2 ``id``, observed on a real 2.3.6)."""
    return str(uuid.uuid4())


def new_cuid() -> str:
    """v2 Prisma ``@default(cuid())`` id: 25 characters starting with ``c``
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/prisma/postgresql-schema.prisma, model Instance)."""
    alphabet = string.ascii_lowercase + string.digits
    return "c" + "".join(secrets.choice(alphabet) for _ in range(24))


def new_message_id(android: bool = True) -> str:
    """A WhatsApp message id. Phones (android) use 32 upper-case hex digits, Baileys-sent ones ``3EB0…``.
    # UNVERIFIED: exact id formats; only their use as ``key.id`` in webhook payloads is sourced."""
    return secrets.token_hex(16).upper() if android else "3EB0" + secrets.token_hex(10).upper()


@dataclass
class WebhookConfig:
    """An instance's webhook. ``url`` is stored verbatim, trailing ``/`` kept (observed on a real 2.3.6 server).
    An empty ``events`` list means every event
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts#L28)."""

    url: str
    enabled: bool = True
    by_events: bool = False
    base64: bool = False
    events: list[str] = field(default_factory=list)
    headers: dict[str, str] | None = None
    id: str = field(default_factory=new_cuid)
    created_at: str = field(default_factory=prisma_now)
    updated_at: str = field(default_factory=prisma_now)


@dataclass
class ChatwootSettings:
    """An instance's Chatwoot integration
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/validate/chatwoot.schema.ts#L24-L44).
    Field names are the v1 snake_case ones;
    the lab renders camelCase for v2. ``account_id`` is a string, as in both schemas."""

    enabled: bool = True
    account_id: str = "1"
    token: str = ""
    url: str = ""
    name_inbox: str = ""
    sign_msg: bool = False
    sign_delimiter: str | None = None
    reopen_conversation: bool = True
    conversation_pending: bool = False
    merge_brazil_contacts: bool = False
    import_contacts: bool = False
    import_messages: bool = False
    days_limit_import_messages: int = 60
    auto_create: bool = False
    organization: str | None = None
    logo: str | None = None
    ignore_jids: list[str] = field(default_factory=list)
    number: str | None = None
    id: str = field(default_factory=new_cuid)
    created_at: str = field(default_factory=prisma_now)
    updated_at: str = field(default_factory=prisma_now)


@dataclass
class InstanceSettings:
    """The instance's settings (v2 Prisma ``Setting`` row, v1 settings document): what ``settings/find`` shows
    (findSettings in
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts; 1.8.2 has the
    same fields snake_case, without ``wavoipToken``). ``groups_ignore`` makes Baileys ignore every group JID
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts#L647)."""

    reject_call: bool = False
    msg_call: str = ""
    groups_ignore: bool = False
    always_online: bool = False
    read_messages: bool = False
    read_status: bool = False
    sync_full_history: bool = False
    wavoip_token: str = ""


@dataclass
class Instance:
    """One WhatsApp instance.

    ``state`` is the live Baileys state (``open`` | ``connecting`` | ``close``; ``None`` = not loaded in memory,
    so ``connectionState`` drops the key). ``db_status`` is the v2 stored ``connectionStatus``, which
    can disagree with ``state`` (observed on 2.3.6); ``None`` mirrors ``state``. ``qr_available`` says whether
    Baileys has a QR to show (connect returns the QR object) or not (bare ``{"count":0}``). ``client_name`` ``None``
    means "the server's own DATABASE_CONNECTION_CLIENT_NAME". ``connect_error`` makes connect fail the way
    Evolution swallows errors. ``settings`` is what instance/create stored (see
    :func:`evodiag.lab.evolution.settings.settings_from_create`).
    """

    name: str
    id: str = ""
    token: str = field(default_factory=new_token)
    state: str | None = "open"
    db_status: str | None = None
    qr_available: bool = False
    qr_count: int = 1
    disconnection_reason_code: int | None = None
    owner_jid: str | None = None
    profile_name: str | None = None
    profile_pic_url: str | None = None
    profile_status: str = ""
    client_name: str | None = None
    integration: str = "WHATSAPP-BAILEYS"
    webhook: WebhookConfig | None = None
    chatwoot: ChatwootSettings | None = None
    settings: InstanceSettings | None = None  # None: no row stored (v2 settings/find answers null)
    connect_error: str | None = None
    message_count: int = 0
    # v2 session fields of the row, written when Baileys closes for good (whatsapp.baileys.service.ts#L400-L424)
    disconnection_object: str | None = None
    disconnection_at: str | None = None
    # What the instance's own store holds (findMessages / findContacts / findChats), v2 shapes
    messages: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    chats: list[dict[str, Any]] = field(default_factory=list)
    # Chatbots configured per route family ("dify" -> bot rows) and event integrations ("Websocket" -> row)
    bots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    event_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: str = field(default_factory=prisma_now)
    updated_at: str = field(default_factory=prisma_now)


@dataclass
class Delivery:
    """One outbound webhook POST attempt. ``status`` is the HTTP status, ``None`` when no response came
    (``error`` then says why, Node-style: ``connect ECONNREFUSED 127.0.0.1:9``)."""

    target: str  # "instance" | "global"
    event: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    payload: dict[str, Any]
    at: float = field(default_factory=time.time)


@dataclass
class ChatwootCall:
    """One HTTP call Evolution made to Chatwoot. ``step`` names what Evolution was doing (``find_inbox``,
    ``find_contact``, ``list_conversations``, ``filter_conversations``, …); ``error`` is the message the
    Chatwoot SDK would raise (``Unauthorized``, ``Generic Error`` for a 422, …) or a Node network error."""

    step: str
    method: str
    url: str
    status: int | None
    error: str | None
    request_body: Any = None
    response_text: str = ""
    at: float = field(default_factory=time.time)
