"""Request bodies that configure an instance (``POST /instance/create``, ``POST /chatwoot/set``) turned into lab
settings, and the create response bodies (instance.controller.ts and chatwoot.controller.ts at 1.8.2 and 2.3.6;
observed on a real 2.3.6 server)."""

from __future__ import annotations

import re
from typing import Any

from evodiag.lab.evolution.model import ChatwootSettings, Instance, InstanceSettings
from evodiag.lab.evolution.payloads import chatwoot_webhook_url, qr_body
from evodiag.lab.evolution.state import EvolutionState


def chatwoot_from_create(lab: EvolutionState, body: dict[str, Any], name: str) -> ChatwootSettings:
    p = "chatwoot_" if lab.is_v1 else "chatwoot"

    def get(snake: str, camel: str, default: Any) -> Any:
        value = body.get(p + snake) if lab.is_v1 else body.get(p + camel)
        return default if value is None else value

    return ChatwootSettings(
        enabled=True, account_id=str(get("account_id", "AccountId", "")), token=get("token", "Token", ""),
        url=get("url", "Url", ""), name_inbox=get("name_inbox", "NameInbox", "") or name,
        sign_msg=get("sign_msg", "SignMsg", False),
        reopen_conversation=get("reopen_conversation", "ReopenConversation", False),
        conversation_pending=get("conversation_pending", "ConversationPending", False),
        merge_brazil_contacts=get("merge_brazil_contacts", "MergeBrazilContacts", False),
        import_contacts=get("import_contacts", "ImportContacts", False),
        import_messages=get("import_messages", "ImportMessages", False),
        days_limit_import_messages=get("days_limit_import_messages", "DaysLimitImportMessages", 60),
        organization=get("organization", "Organization", None), logo=get("logo", "Logo", None),
        number=body.get("number"),
    )


def settings_from_create(is_v1: bool, body: dict[str, Any]) -> InstanceSettings:
    """What instance/create stores. v1 (1.6.0-1.8.x) ORs every flag with its default and groups_ignore with
    *true*, so it is stored true whatever the body says (``groups_ignore: groups_ignore || true``); v2 keeps a
    flag only when it is exactly ``true``.
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/controllers/instance.controller.ts#L396-L404
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/controllers/instance.controller.ts#L117-L126"""
    if is_v1:
        return InstanceSettings(reject_call=bool(body.get("reject_call")),
                                msg_call=str(body.get("msg_call") or ""), groups_ignore=True,
                                always_online=bool(body.get("always_online")),
                                read_messages=bool(body.get("read_messages")),
                                read_status=bool(body.get("read_status")),
                                sync_full_history=body.get("sync_full_history") is True)
    return InstanceSettings(reject_call=body.get("rejectCall") is True, msg_call=str(body.get("msgCall") or ""),
                            groups_ignore=body.get("groupsIgnore") is True,
                            always_online=body.get("alwaysOnline") is True,
                            read_messages=body.get("readMessages") is True,
                            read_status=body.get("readStatus") is True,
                            sync_full_history=body.get("syncFullHistory") is True,
                            wavoip_token=str(body.get("wavoipToken") or ""))


def settings_from_set(is_v1: bool, body: dict[str, Any]) -> InstanceSettings:
    """``settings/set`` stores the validated body as given (setSettings upserts every field)."""
    def flag(snake: str, camel: str) -> bool:
        return body.get(snake if is_v1 else camel) is True

    return InstanceSettings(reject_call=flag("reject_call", "rejectCall"),
                            msg_call=str(body.get("msg_call" if is_v1 else "msgCall") or ""),
                            groups_ignore=flag("groups_ignore", "groupsIgnore"),
                            always_online=flag("always_online", "alwaysOnline"),
                            read_messages=flag("read_messages", "readMessages"),
                            read_status=flag("read_status", "readStatus"),
                            sync_full_history=flag("sync_full_history", "syncFullHistory"),
                            wavoip_token="" if is_v1 else str(body.get("wavoipToken") or ""))


def settings_v1(s: InstanceSettings) -> dict[str, Any]:
    return {"reject_call": s.reject_call, "msg_call": s.msg_call, "groups_ignore": s.groups_ignore,
            "always_online": s.always_online, "read_messages": s.read_messages, "read_status": s.read_status,
            "sync_full_history": s.sync_full_history}


def settings_v2(s: InstanceSettings, with_wavoip: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"rejectCall": s.reject_call, "msgCall": s.msg_call, "groupsIgnore": s.groups_ignore,
                           "alwaysOnline": s.always_online, "readMessages": s.read_messages,
                           "readStatus": s.read_status, "syncFullHistory": s.sync_full_history}
    if with_wavoip:
        out["wavoipToken"] = s.wavoip_token
    return out


def response_v1(lab: EvolutionState, inst: Instance, body: dict[str, Any], qrcode: bool) -> dict[str, Any]:
    """``instance.status: "created"``, ``hash`` object, ``chatwoot.webhook_url`` when set
    (https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/controllers/instance.controller.ts#L52-L95).
    # UNVERIFIED: the other keys (webhook/events/settings) and their order."""
    resp: dict[str, Any] = {
        "instance": {"instanceName": inst.name, "instanceId": inst.id, "status": "created"},
        "hash": {"apikey": inst.token},
        "webhook": inst.webhook.url if inst.webhook else "",
        "webhook_by_events": inst.webhook.by_events if inst.webhook else False,
        "events": inst.webhook.events if inst.webhook else [],
        "settings": settings_v1(inst.settings or settings_from_create(True, body)),
    }
    if qrcode:
        resp["qrcode"] = qr_body(inst, None)
    if inst.chatwoot is not None:
        resp["chatwoot"] = chatwoot_block(lab, inst)
    return resp


def response_v2(lab: EvolutionState, inst: Instance, body: dict[str, Any], qrcode: bool) -> dict[str, Any]:
    """Observed on a real 2.3.6 server: ``hash`` string, ``webhook: {}`` when none, ``qrcode`` only with
    ``qrcode:true``. # UNVERIFIED: webhookWaBusiness/accessTokenWaBusiness values, the filled webhook block,
    where ``chatwoot`` goes."""
    wh = inst.webhook
    resp: dict[str, Any] = {
        "instance": {"instanceName": inst.name, "instanceId": inst.id, "integration": inst.integration,
                     "webhookWaBusiness": None, "accessTokenWaBusiness": "", "status": inst.state},
        "hash": inst.token,
        "webhook": {} if wh is None else {"webhookUrl": wh.url, "webhookHeaders": wh.headers,
                                           "webhookByEvents": wh.by_events, "webhookBase64": wh.base64},
        "websocket": {}, "rabbitmq": {},
    }
    if lab.ver >= (2, 3, 0):
        resp["nats"] = {}
    resp["sqs"] = {}
    resp["settings"] = settings_v2(inst.settings or settings_from_create(False, body))
    if qrcode:
        resp["qrcode"] = qr_body(inst, None)
    if inst.chatwoot is not None:
        resp["chatwoot"] = chatwoot_block(lab, inst)
    return resp


def chatwoot_block(lab: EvolutionState, inst: Instance) -> dict[str, Any]:
    """Chatwoot block of the create response; ``webhook_url`` (v1) / ``webhookUrl`` (v2)."""
    cw = inst.chatwoot
    assert cw is not None
    url = chatwoot_webhook_url(lab.server_url, inst.name)
    if lab.is_v1:
        return {"enabled": True, "account_id": cw.account_id, "token": cw.token, "url": cw.url,
                "sign_msg": cw.sign_msg, "reopen_conversation": cw.reopen_conversation,
                "conversation_pending": cw.conversation_pending,
                "merge_brazil_contacts": cw.merge_brazil_contacts, "import_contacts": cw.import_contacts,
                "import_messages": cw.import_messages,
                "days_limit_import_messages": cw.days_limit_import_messages, "number": cw.number,
                "name_inbox": cw.name_inbox, "webhook_url": url}
    return {"enabled": True, "accountId": cw.account_id, "token": cw.token, "url": cw.url,
            "signMsg": cw.sign_msg, "reopenConversation": cw.reopen_conversation,
            "conversationPending": cw.conversation_pending, "mergeBrazilContacts": cw.merge_brazil_contacts,
            "importContacts": cw.import_contacts, "importMessages": cw.import_messages,
            "daysLimitImportMessages": cw.days_limit_import_messages, "number": cw.number,
            "nameInbox": cw.name_inbox, "webhookUrl": url}


def is_url(url: Any) -> bool:
    """Approximation of validator's ``isURL(url, {require_tld: false})``, as chatwoot.controller.ts calls it."""
    if not isinstance(url, str) or not url or " " in url:
        return False
    m = re.match(r"^(?:([a-zA-Z][a-zA-Z0-9+.-]*)://)?([^/?#]+)", url)
    if m is None:
        return False
    scheme = m.group(1)
    return scheme is None or scheme.lower() in ("http", "https", "ftp")


# (v1 name, v2 name, value a disabled config is saved with)
_BLANKS = (("account_id", "accountId", ""), ("token", "token", ""), ("url", "url", ""), ("sign_msg", "signMsg", False),
           ("reopen_conversation", "reopenConversation", False),
           ("conversation_pending", "conversationPending", False), ("import_contacts", "importContacts", False),
           ("import_messages", "importMessages", False), ("merge_brazil_contacts", "mergeBrazilContacts", False),
           ("days_limit_import_messages", "daysLimitImportMessages", 0), ("auto_create", "autoCreate", False),
           ("name_inbox", "nameInbox", ""))


def chatwoot_from_set(v1: bool, body: dict[str, Any], instance_name: str) -> tuple[dict[str, Any],
                                                                                     ChatwootSettings | str]:
    """A schema-valid ``/chatwoot/set`` body -> (the DTO echoed back, the settings) or (body, error message).
    With ``enabled:true``: url must pass isURL, account id and token are required, an empty inbox name becomes
    the instance name. # UNVERIFIED: a disabled config is saved with its fields blanked."""

    def k(snake: str, camel: str) -> str:
        return snake if v1 else camel

    data = dict(body)
    if data["enabled"]:
        if not is_url(data.get("url")):
            return body, "url is not valid"
        for snake, camel in (("account_id", "accountId"), ("token", "token")):
            if not data.get(k(snake, camel)):
                return body, f"{k(snake, camel)} is required"
        if not data.get(k("name_inbox", "nameInbox")):
            data[k("name_inbox", "nameInbox")] = instance_name
    else:
        for snake, camel, blank in _BLANKS:
            data[k(snake, camel)] = blank

    def get(snake: str, camel: str, default: Any) -> Any:
        value = data.get(k(snake, camel))
        return default if value is None else value

    settings = ChatwootSettings(
        enabled=bool(data["enabled"]), account_id=get("account_id", "accountId", ""),
        token=get("token", "token", ""), url=get("url", "url", ""), name_inbox=get("name_inbox", "nameInbox", ""),
        sign_msg=get("sign_msg", "signMsg", False), sign_delimiter=get("sign_delimiter", "signDelimiter", None),
        reopen_conversation=get("reopen_conversation", "reopenConversation", False),
        conversation_pending=get("conversation_pending", "conversationPending", False),
        merge_brazil_contacts=get("merge_brazil_contacts", "mergeBrazilContacts", False),
        import_contacts=get("import_contacts", "importContacts", False),
        import_messages=get("import_messages", "importMessages", False),
        days_limit_import_messages=get("days_limit_import_messages", "daysLimitImportMessages", 60),
        auto_create=get("auto_create", "autoCreate", False), organization=data.get("organization"),
        logo=data.get("logo"), ignore_jids=list(data.get("ignoreJids") or []), number=data.get("number"),
    )
    return data, settings
