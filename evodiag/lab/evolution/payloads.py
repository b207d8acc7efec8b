"""Response and payload bodies of the emulated Evolution API, as pure functions of the lab state.

Key order matters: the lab promises byte-for-byte bodies and Express serialises keys in insertion order, so
every dict here is built in the order the source shows. Keys whose JavaScript value would be
``undefined`` are left out, as ``JSON.stringify`` drops them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from evodiag.httpserver import Response
from evodiag.lab.evolution.model import ChatwootSettings, Instance, Version, WebhookConfig

V2 = (2, 0, 0)

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}


def error(status: int, message: Any) -> Response:
    """The global error envelope: https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/main.ts#L110-L116"""
    body = {"status": status, "error": REASONS.get(status, "Internal Server Error"), "response": {"message": message}}
    return Response.json(body, status)


def unauthorized() -> Response:
    """Argless ``UnauthorizedException()``: message is the plain string (confirmed on a real 2.3.6 server)."""
    return error(401, "Unauthorized")


def chatwoot_disabled() -> Response:
    """``CHATWOOT_ENABLED`` false on v2 (observed on a real 2.3.6 server)."""
    return error(400, ["Chatwoot is disabled"])


def encode_uri_component(text: str) -> str:
    """JavaScript ``encodeURIComponent``: leaves ``A-Za-z0-9 - _ . ! ~ * ' ( )`` alone."""
    return quote(text, safe="!~*'()")


def chatwoot_webhook_url(server_url: str | None, instance_name: str) -> str:
    """``${SERVER_URL}/chatwoot/webhook/${encodeURIComponent(name)}`` with no slash normalisation: a trailing
    ``/`` gives ``//chatwoot`` and an unset SERVER_URL gives ``undefined/…``
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L119-L123)."""
    base = "undefined" if server_url is None else server_url
    return f"{base}/chatwoot/webhook/{encode_uri_component(instance_name)}"


# --------------------------------------------------------------------------------------------------------------
# JSON-schema validation, rendered the way Evolution's dataValidate does:
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/abstract/abstract.router.ts#L46-L59
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prop:
    name: str
    types: tuple[str, ...]
    min_length: bool = False  # isNotEmpty(...) in the Evolution schemas
    nested: Schema | None = None


@dataclass(frozen=True)
class Schema:
    props: tuple[Prop, ...]
    required: tuple[str, ...]


def _type_ok(value: Any, types: tuple[str, ...]) -> bool:
    checks = {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "null": lambda v: v is None,
    }
    return any(checks[t](value) for t in types)


def validate(body: Any, schema: Schema, path: str = "instance") -> list[str]:
    """Error strings in npm ``jsonschema`` ``stack`` form with the leading ``instance.`` stripped, the way
    Evolution renders them: ``instance requires property "text"``, ``accountId is not of a type(s) string``
    (observed on a real 2.3.6 server: ``[["instance requires property \\"token\\""]]``).
    Properties are checked before ``required``, the order of the keys in Evolution's schema objects."""
    if not isinstance(body, dict):
        return [f"{path} is not of a type(s) object"]
    errors: list[str] = []
    for prop in schema.props:
        if prop.name not in body:
            continue
        value = body[prop.name]
        where = f"{path}.{prop.name}"
        if not _type_ok(value, prop.types):
            errors.append(f"{where} is not of a type(s) {','.join(prop.types)}")
        elif prop.min_length and isinstance(value, str) and not value:
            errors.append(f"{where} does not meet minimum length of 1")  # UNVERIFIED wording for isNotEmpty
        elif prop.nested is not None:
            errors.extend(validate(value, prop.nested, where))
    errors.extend(f'{path} requires property "{name}"' for name in schema.required if name not in body)
    return [e.replace("instance.", "", 1) if e.startswith("instance.") else e for e in errors]


def schema_error(errors: list[str]) -> Response:
    """dataValidate passes the whole list as one argument, so it is wrapped again."""
    return error(400, [errors])


# https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/integrations/chatwoot/validate/chatwoot.schema.ts
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/validate/chatwoot.schema.ts#L24-L44
CHATWOOT_V1 = Schema(
    (
        Prop("enabled", ("boolean",)), Prop("account_id", ("string",)), Prop("token", ("string",)),
        Prop("url", ("string",)), Prop("sign_msg", ("boolean",)), Prop("sign_delimiter", ("string", "null")),
        Prop("name_inbox", ("string",)), Prop("reopen_conversation", ("boolean",)),
        Prop("conversation_pending", ("boolean",)), Prop("import_contacts", ("boolean",)),
        Prop("import_messages", ("boolean",)), Prop("days_limit_import_messages", ("number",)),
        Prop("merge_brazil_contacts", ("boolean",)), Prop("auto_create", ("boolean",)),
    ),
    ("enabled", "account_id", "token", "url", "sign_msg", "reopen_conversation", "conversation_pending"),
)
CHATWOOT_V2 = Schema(
    (
        Prop("enabled", ("boolean",)), Prop("accountId", ("string",)), Prop("token", ("string",)),
        Prop("url", ("string",)), Prop("signMsg", ("boolean",)), Prop("signDelimiter", ("string", "null")),
        Prop("nameInbox", ("string",)), Prop("reopenConversation", ("boolean",)),
        Prop("conversationPending", ("boolean",)), Prop("autoCreate", ("boolean",)),
        Prop("importContacts", ("boolean",)), Prop("mergeBrazilContacts", ("boolean",)),
        Prop("importMessages", ("boolean",)), Prop("daysLimitImportMessages", ("number",)),
        Prop("ignoreJids", ("array",)),
    ),
    ("enabled", "accountId", "token", "url", "signMsg", "reopenConversation", "conversationPending"),
)

# v1 number + textMessage.text; v2 number + text:
# https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/validate/validate.schema.ts#L143-L160
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/validate/message.schema.ts#L68-L93
_TEXT_MESSAGE = Schema((Prop("text", ("string",), min_length=True),), ("text",))
SEND_TEXT_V1 = Schema(
    (Prop("number", ("string",), min_length=True), Prop("options", ("object",)),
     Prop("textMessage", ("object",), nested=_TEXT_MESSAGE)),
    ("number", "textMessage"),
)
SEND_TEXT_V2 = Schema(
    (Prop("number", ("string",), min_length=True), Prop("text", ("string",), min_length=True),
     Prop("delay", ("integer",)), Prop("linkPreview", ("boolean",)), Prop("mentionsEveryOne", ("boolean",)),
     Prop("mentioned", ("array",))),
    ("number", "text"),
)

# v1 flat snake_case; 2.0 flat camelCase; 2.1+ wrapped, required ['webhook'] and inner ['enabled','url']:
# https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/validate/validate.schema.ts#L949
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.schema.ts#L25-L50
WEBHOOK_V1 = Schema(
    (Prop("url", ("string",)), Prop("enabled", ("boolean",)), Prop("webhook_by_events", ("boolean",)),
     Prop("webhook_base64", ("boolean",)), Prop("events", ("array",))),
    ("url",),  # UNVERIFIED: which keys v1 requires besides url
)
WEBHOOK_V20 = Schema(
    (Prop("enabled", ("boolean",)), Prop("url", ("string",)), Prop("webhookByEvents", ("boolean",)),
     Prop("webhookBase64", ("boolean",)), Prop("events", ("array",))),
    ("enabled", "url"),  # UNVERIFIED for 2.0.x
)
_WEBHOOK_INNER = Schema(
    (Prop("enabled", ("boolean",)), Prop("url", ("string",)), Prop("headers", ("object",)),
     Prop("byEvents", ("boolean",)), Prop("base64", ("boolean",)), Prop("events", ("array",))),
    ("enabled", "url"),
)
WEBHOOK_V21 = Schema((Prop("webhook", ("object",), nested=_WEBHOOK_INNER),), ("webhook",))

CREATE = Schema((Prop("instanceName", ("string",)),), ("instanceName",))


# --------------------------------------------------------------------------------------------------------------
# Bodies
# --------------------------------------------------------------------------------------------------------------


def root_body(version: str, ver: Version, host: str, client_name: str | None, wa_web_version: str,
              disable_docs: bool, disable_manager: bool) -> dict[str, Any]:
    """``GET /``. ``swagger`` only in v1; ``clientName`` from 2.0.10 (``undefined``, so dropped, when
    the env var is unset before 2.3, whose config defaults it to ``evolution``); ``whatsappWebVersion`` from
    2.3.0. Hosts come from the request Host header (``req.get('host')``), key order as observed on 2.3.6.
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/routes/index.router.ts#L191-L200"""
    base = f"http://{host}"
    body: dict[str, Any] = {"status": 200, "message": "Welcome to the Evolution API, it is working!",
                            "version": version}
    if ver < V2 and not disable_docs:
        # https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/routes/index.router.ts#L43-L51
        body["swagger"] = f"{base}/docs"
    if ver >= (2, 0, 10):
        name = client_name if client_name is not None else ("evolution" if ver >= (2, 3, 0) else None)
        if name is not None:
            body["clientName"] = name  # added in 2.0.10; config default `evolution` in 2.3.6
    if not disable_manager:
        body["manager"] = f"{base}/manager"
    body["documentation"] = "https://doc.evolution-api.com"  # UNVERIFIED for v2 (the 2.3.6 observation elides it)
    if ver >= (2, 3, 0):
        body["whatsappWebVersion"] = wa_web_version  # observed on 2.3.6
    return body


def connection_state(inst: Instance) -> dict[str, Any]:
    """State key dropped when not loaded:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/controllers/instance.controller.ts#L361-L368"""
    inner: dict[str, Any] = {"instanceName": inst.name}
    if inst.state is not None:
        inner["state"] = inst.state
    return {"instance": inner}


QR_BASE64 = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
             "60e6kgAAAABJRU5ErkJggg==")


def qr_body(inst: Instance, pairing_code: str | None) -> dict[str, Any]:
    """The Baileys ``qrCode`` getter: QR object, or ``{"count":0}`` when no QR was emitted (observed on 2.3.6)."""
    if not inst.qr_available:
        return {"count": 0}
    code = f"2@{inst.id[:8]}lab,{inst.token[:12]},lab=="  # UNVERIFIED: shape of the raw QR string
    return {"pairingCode": pairing_code, "code": code, "base64": QR_BASE64, "count": inst.qr_count}


def chatwoot_unconfigured(ver: Version) -> dict[str, Any]:
    """``find`` with nothing configured (observed on 2.3.6; v1 names from findChatwoot in 1.8.2)."""
    if ver < V2:
        return {"enabled": False, "url": "", "account_id": "", "token": "", "sign_msg": False, "name_inbox": "",
                "webhook_url": ""}
    return {"enabled": False, "url": "", "accountId": "", "token": "", "signMsg": False, "nameInbox": "",
            "webhook_url": ""}


def chatwoot_find(ver: Version, cw: ChatwootSettings, webhook_url: str) -> dict[str, Any]:
    """Configured ``find``; ``webhook_url`` stays snake_case in v2. # UNVERIFIED: v1 field order (mirrors v2's).
    v2 field list: https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts#L321-L356"""
    if ver < V2:
        return {"enabled": cw.enabled, "account_id": cw.account_id, "token": cw.token, "url": cw.url,
                "name_inbox": cw.name_inbox, "sign_msg": cw.sign_msg, "sign_delimiter": cw.sign_delimiter,
                "reopen_conversation": cw.reopen_conversation, "conversation_pending": cw.conversation_pending,
                "merge_brazil_contacts": cw.merge_brazil_contacts, "import_contacts": cw.import_contacts,
                "import_messages": cw.import_messages,
                "days_limit_import_messages": cw.days_limit_import_messages, "webhook_url": webhook_url}
    return {"enabled": cw.enabled, "accountId": cw.account_id, "token": cw.token, "url": cw.url,
            "nameInbox": cw.name_inbox, "signMsg": cw.sign_msg, "signDelimiter": cw.sign_delimiter,
            "reopenConversation": cw.reopen_conversation, "conversationPending": cw.conversation_pending,
            "mergeBrazilContacts": cw.merge_brazil_contacts, "importContacts": cw.import_contacts,
            "importMessages": cw.import_messages, "daysLimitImportMessages": cw.days_limit_import_messages,
            "organization": cw.organization, "logo": cw.logo, "ignoreJids": cw.ignore_jids,
            "webhook_url": webhook_url}


def chatwoot_row(inst: Instance, cw: ChatwootSettings) -> dict[str, Any]:
    """Prisma ``Chatwoot`` relation in v2 fetchInstances. # UNVERIFIED: column order of the Prisma model."""
    return {"id": cw.id, "enabled": cw.enabled, "accountId": cw.account_id, "token": cw.token, "url": cw.url,
            "nameInbox": cw.name_inbox, "signMsg": cw.sign_msg, "signDelimiter": cw.sign_delimiter,
            "number": cw.number, "reopenConversation": cw.reopen_conversation,
            "conversationPending": cw.conversation_pending, "mergeBrazilContacts": cw.merge_brazil_contacts,
            "importContacts": cw.import_contacts, "importMessages": cw.import_messages,
            "daysLimitImportMessages": cw.days_limit_import_messages, "organization": cw.organization,
            "logo": cw.logo, "ignoreJids": cw.ignore_jids, "createdAt": cw.created_at,
            "updatedAt": cw.updated_at, "instanceId": inst.id}


def setting_row(inst: Instance) -> dict[str, Any] | None:
    """Prisma ``Setting`` relation, ``null`` without a row. # UNVERIFIED: column order."""
    s = inst.settings
    if s is None:
        return None
    return {"id": "s" + inst.id[1:], "rejectCall": s.reject_call, "msgCall": s.msg_call,
            "groupsIgnore": s.groups_ignore, "alwaysOnline": s.always_online, "readMessages": s.read_messages,
            "readStatus": s.read_status, "syncFullHistory": s.sync_full_history, "wavoipToken": s.wavoip_token,
            "createdAt": inst.created_at, "updatedAt": inst.updated_at, "instanceId": inst.id}


# v2 camelCase, same list (src/validate/settings.schema.ts at 2.3.6):
# https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/validate/validate.schema.ts#L994-L1008
_SETTING_FLAGS_V1 = ("reject_call", "groups_ignore", "always_online", "read_messages", "read_status",
                     "sync_full_history")
_SETTING_FLAGS_V2 = ("rejectCall", "groupsIgnore", "alwaysOnline", "readMessages", "readStatus", "syncFullHistory")
SETTINGS_V1 = Schema((*(Prop(n, ("boolean",)) for n in _SETTING_FLAGS_V1), Prop("msg_call", ("string",))),
                     _SETTING_FLAGS_V1)
SETTINGS_V2 = Schema((*(Prop(n, ("boolean",)) for n in _SETTING_FLAGS_V2), Prop("msgCall", ("string",)),
                      Prop("wavoipToken", ("string",))), _SETTING_FLAGS_V2)


def fetch_row_v2(inst: Instance, ver: Version, client_name: str | None) -> dict[str, Any]:
    """One v2 ``fetchInstances`` element: the Prisma Instance row plus relations (observed on 2.3.6: no
    ``Webhook`` key; ``connectionStatus`` is the stored value; ``Nats`` from 2.3.0)."""
    db_status = inst.db_status if inst.db_status is not None else inst.state
    row: dict[str, Any] = {
        "id": inst.id, "name": inst.name, "connectionStatus": db_status, "ownerJid": inst.owner_jid,
        "profileName": inst.profile_name, "profilePicUrl": inst.profile_pic_url, "integration": inst.integration,
        "number": None, "businessId": None, "token": inst.token,
        "clientName": inst.client_name if inst.client_name is not None else client_name,
        "disconnectionReasonCode": inst.disconnection_reason_code,
        "disconnectionObject": inst.disconnection_object,
        "disconnectionAt": inst.disconnection_at or (inst.updated_at if inst.disconnection_reason_code is not None
                                                     else None),
        "createdAt": inst.created_at, "updatedAt": inst.updated_at,
        "Chatwoot": chatwoot_row(inst, inst.chatwoot) if inst.chatwoot else None,
        "Proxy": None, "Rabbitmq": event_row(inst, "Rabbitmq"),
    }
    if ver >= (2, 3, 0):
        row["Nats"] = event_row(inst, "Nats")
    row.update({"Sqs": event_row(inst, "Sqs"), "Websocket": event_row(inst, "Websocket"),
                "Setting": setting_row(inst),
                "_count": {"Message": max(inst.message_count, len(inst.messages)), "Contact": len(inst.contacts),
                           "Chat": len(inst.chats)}})
    return row


def event_row(inst: Instance, key: str) -> dict[str, Any] | None:
    """An event integration's Prisma row (Rabbitmq, Sqs, Websocket, Nats) in fetchInstances: ``{id, enabled,
    events, createdAt, updatedAt, instanceId}`` (event.controller.ts set(), 2.3.6), or null when never set."""
    settings = inst.event_settings.get(key)
    if settings is None:
        return None
    return {"id": settings.get("id", f"{key.lower()}-{inst.id[:8]}"), "enabled": bool(settings.get("enabled")),
            "events": list(settings.get("events") or []), "createdAt": inst.created_at,
            "updatedAt": inst.updated_at, "instanceId": inst.id}


def fetch_row_v1(inst: Instance, expose: bool, server_url: str | None, chatwoot: dict[str, Any]) -> dict[str, Any]:
    """One v1 ``fetchInstances`` wrapper: profile fields only when ``open``; serverUrl/apikey/chatwoot/integration
    only with EXPOSE_IN_FETCH_INSTANCES.
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/monitor.service.ts#L98-L190"""
    inner: dict[str, Any] = {"instanceName": inst.name, "instanceId": inst.id}
    if inst.state == "open":
        inner.update({"owner": inst.owner_jid, "profileName": inst.profile_name,
                      "profilePictureUrl": inst.profile_pic_url, "profileStatus": inst.profile_status})
    if inst.state is not None:
        inner["status"] = inst.state
    if expose:
        if server_url is not None:
            inner["serverUrl"] = server_url
        inner["apikey"] = inst.token
        inner["chatwoot"] = chatwoot
        inner["integration"] = {"integration": inst.integration}  # UNVERIFIED: v1 integration object shape
    return {"instance": inner}


def webhook_find_v1(wh: WebhookConfig | None) -> dict[str, Any]:
    """Fixed shape, defaults when unset:
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/webhook.service.ts"""
    if wh is None:
        return {"enabled": False, "url": "", "events": [], "webhook_by_events": False, "webhook_base64": False}
    return {"enabled": wh.enabled, "url": wh.url, "events": wh.events, "webhook_by_events": wh.by_events,
            "webhook_base64": wh.base64}


def webhook_row(inst: Instance, wh: WebhookConfig, ver: Version) -> dict[str, Any]:
    """Prisma ``Webhook`` row (observed on 2.3.6). # UNVERIFIED: 2.0.x rows carry no ``headers``."""
    row: dict[str, Any] = {"id": wh.id, "url": wh.url}
    if ver >= (2, 1, 0):
        row["headers"] = wh.headers
    row.update({"enabled": wh.enabled, "events": wh.events, "webhookByEvents": wh.by_events,
                "webhookBase64": wh.base64, "createdAt": wh.created_at, "updatedAt": wh.updated_at,
                "instanceId": inst.id})
    return row
