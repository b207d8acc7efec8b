"""How the emulated Evolution API calls Chatwoot, as Evolution's chatwoot.service.ts does
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts).

Every call is real HTTP to the configured Chatwoot ``url`` (loopback only), made the way the Chatwoot SDK Evolution
uses makes it: both ``api_access_token`` and ``Authorization: Bearer`` headers, ``${url}/api/v1/…`` with no slash
normalisation, and non-2xx answers turned into the SDK's terse messages (a 422 becomes ``Generic Error``,
by the SDK's catchErrorCodes). Each call is appended to ``lab.chatwoot_calls`` so a test can see where a sync broke.

Which lookups run where:

* messages (inbound and sent): inbox by exact name -> contact via ``contacts/filter`` -> (create contact) ->
  ``contacts/{id}/conversations`` filtered client side (+ reopen / pending rules) -> (create conversation)
  -> ``conversations/{id}/messages``. Same in every version for this path (1.8.2 and 2.3.6 read).
* bot messages (QR, status) to the bot contact ``123456``: on 1.7.0–1.7.4 ``getOpenConversationByContact`` POSTs
  ``conversations/filter`` with a ``contact_id`` condition, which Chatwoot ≥3.8 rejects with 422
  (https://github.com/evolution-foundation/evolution-api/issues/605);
  from 1.7.5 it lists the contact's conversations and keeps the open one in the inbox.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import httpx

from evodiag.lab.evolution.model import ChatwootCall, ChatwootSettings, Instance
from evodiag.lab.evolution.outbound import AXIOS_ACCEPT, node_error
from evodiag.lab.evolution.payloads import QR_BASE64, chatwoot_webhook_url
from evodiag.lab.evolution.state import EvolutionState

BOT_CONTACT = "123456"  # the bot contact autoCreate makes (CHATWOOT_BOT_CONTACT)

# The SDK's catchErrorCodes (@figuro/chatwoot-sdk, src/core/request.ts): anything else, 422 included, is
# "Generic Error".
SDK_ERRORS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class ChatwootError(Exception):
    """A failed step; ``str()`` is what Evolution would log (and, for autoCreate, return as a 500)."""


@dataclass
class Session:
    lab: EvolutionState
    inst: Instance
    cw: ChatwootSettings
    client: httpx.AsyncClient

    def url(self, path: str) -> str:
        return f"{self.cw.url}/api/v1/accounts/{self.cw.account_id}{path}"  # no normalisation, as Evolution

    async def call(self, step: str, method: str, path: str, body: Any = None, *,
                   multipart: dict[str, Any] | None = None) -> Any:
        """One request; returns the decoded JSON (or ``None`` for a non-JSON body) or raises ChatwootError."""
        url = self.url(path)
        headers = {"Accept": AXIOS_ACCEPT, "User-Agent": self.lab.user_agent, "api_access_token": self.cw.token}
        kwargs: dict[str, Any] = {}
        if multipart is None:
            headers["Authorization"] = f"Bearer {self.cw.token}"  # the SDK sends both headers
            if body is not None:
                headers["Content-Type"] = "application/json"
                kwargs["content"] = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            # Attachments go through axios + FormData with api_access_token only:
            # https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L1050-L1063
            kwargs["data"] = {k: v for k, v in multipart.items() if not isinstance(v, tuple)}
            kwargs["files"] = {k: v for k, v in multipart.items() if isinstance(v, tuple)}
        record = ChatwootCall(step, method, url, None, None, body if multipart is None else "<multipart>")
        self.lab.chatwoot_calls.append(record)
        try:
            resp = await self.client.request(method, url, headers=headers, timeout=self.lab.chatwoot_timeout_s,
                                             **kwargs)
        except Exception as exc:
            record.error = node_error(exc, url, self.lab.chatwoot_timeout_s, self.lab.hosts)
            raise ChatwootError(record.error) from None
        record.status = resp.status_code
        record.response_text = resp.text[:2000]
        if resp.status_code >= 300:
            if multipart is not None:
                record.error = f"Request failed with status code {resp.status_code}"  # axios wording
            else:
                record.error = SDK_ERRORS.get(resp.status_code, "Generic Error")
            raise ChatwootError(record.error)
        try:
            return resp.json()
        except ValueError:
            return None

    def fail(self, message: str) -> ChatwootError:
        """A failure Evolution hits after a 2xx (a TypeError on an unexpected body, or a logged 'not found')."""
        if self.lab.chatwoot_calls:
            self.lab.chatwoot_calls[-1].error = message
        return ChatwootError(message)


def active_settings(lab: EvolutionState, inst: Instance) -> ChatwootSettings | None:
    """The provider Evolution uses, or None: v2 also needs CHATWOOT_ENABLED (``findChatwoot`` returns null:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts#L322-L324)."""
    cw = inst.chatwoot
    if cw is None or not cw.enabled or (not lab.is_v1 and not lab.chatwoot_enabled):
        return None
    return cw


def _payload_list(data: Any) -> list[dict[str, Any]] | None:
    if isinstance(data, dict) and isinstance(data.get("payload"), list):
        return [x for x in data["payload"] if isinstance(x, dict)]
    return None


def _id_of(data: Any) -> Any:
    """Contact/conversation id from the shapes Chatwoot versions return (``payload.contact.id`` | ``payload.id``
    | ``id``)."""
    if isinstance(data, dict):
        payload = data.get("payload")
        if isinstance(payload, dict):
            contact = payload.get("contact")
            if isinstance(contact, dict) and "id" in contact:
                return contact["id"]
            if "id" in payload:
                return payload["id"]
        if "id" in data:
            return data["id"]
    return None


async def get_inbox(s: Session) -> dict[str, Any]:
    """``inboxes.list`` then exact match on ``nameInbox``:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L850-L868"""
    data = await s.call("find_inbox", "GET", "/inboxes")
    inboxes = _payload_list(data)
    if inboxes is None:
        # observed on a real 2.3.6 server pointed at a non-Chatwoot server
        raise s.fail("Cannot read properties of undefined (reading 'map')")
    name = s.cw.name_inbox or s.inst.name
    for inbox in inboxes:
        if inbox.get("name") == name:
            return inbox
    raise s.fail("inbox not found")


def _phone_variants(phone: str) -> list[str]:
    """``+55`` numbers with and without the 9th digit (getFilterPayload:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L551-L570)."""
    numbers = [phone]
    if phone.startswith("+55") and len(phone) == 14:
        numbers.append(phone[:5] + phone[6:])
    elif phone.startswith("+55") and len(phone) == 13:
        numbers.append(phone[:5] + "9" + phone[5:])
    return numbers


async def find_contact(s: Session, phone: str) -> dict[str, Any] | None:
    """``POST contacts/filter`` with ``phone_number equal_to`` OR-joined over the BR variants
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L417-L449).
    1.7.0–1.7.2 also used ``identifier contains`` (fixed by https://github.com/evolution-foundation/evolution-api/pull/538)
    # UNVERIFIED: exact old payload."""
    variants = _phone_variants(phone)
    payload: list[dict[str, Any]] = [
        {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": [v], "query_operator": "OR"}
        for v in variants
    ]
    if (1, 7, 0) <= s.lab.ver < (1, 7, 3):
        payload.append({"attribute_key": "identifier", "filter_operator": "contains",
                        "values": [phone.lstrip("+")], "query_operator": "OR"})
    payload[-1]["query_operator"] = None
    data = await s.call("find_contact", "POST", "/contacts/filter", {"payload": payload})
    contacts = _payload_list(data)
    return contacts[0] if contacts else None


async def create_contact(s: Session, inbox_id: Any, phone: str, name: str, identifier: str | None,
                         avatar_url: str | None = None) -> Any:
    """``POST contacts`` with ``inbox_id``. # UNVERIFIED: exact key set and order."""
    body: dict[str, Any] = {"inbox_id": inbox_id, "name": name, "phone_number": phone}
    if identifier is not None:
        body["identifier"] = identifier
    if avatar_url:
        body["avatar_url"] = avatar_url
    data = await s.call("create_contact", "POST", "/contacts", body)
    contact_id = _id_of(data)
    if contact_id is None:
        raise s.fail("Cannot read properties of undefined (reading 'id')")
    return contact_id


async def _new_conversation(s: Session, contact_id: Any, inbox_id: Any) -> Any:
    """``conversations.create({contact_id, inbox_id})`` plus ``status:'pending'`` if conversationPending.
    # UNVERIFIED: ids sent as strings (``toString()``)."""
    body: dict[str, Any] = {"contact_id": str(contact_id), "inbox_id": str(inbox_id)}
    if s.cw.conversation_pending:
        body["status"] = "pending"
    data = await s.call("create_conversation", "POST", "/conversations", body)
    conv_id = _id_of(data)
    if conv_id is None:
        raise s.fail("Cannot read properties of undefined (reading 'id')")
    return conv_id


async def create_conversation(s: Session, inbox: dict[str, Any], remote_jid: str, phone: str, name: str) -> Any:
    """Evolution's ``createConversation``, v1 vs v2 differences included:
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/integrations/chatwoot/services/chatwoot.service.ts#L650-L691
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L756-L803"""
    lab = s.lab
    cache_key = f"{s.inst.name}:{remote_jid}"
    if not lab.is_v1 and cache_key in lab.conversation_cache:
        # v2 caches the conversation id for 8 h. # UNVERIFIED: the existence re-check.
        conv_id = lab.conversation_cache[cache_key]
        try:
            await s.call("get_cached_conversation", "GET", f"/conversations/{conv_id}")
            return conv_id
        except ChatwootError:
            lab.conversation_cache.pop(cache_key, None)
    contact = await find_contact(s, phone)
    contact_id = contact.get("id") if contact else None
    if contact_id is None:
        contact_id = await create_contact(s, inbox.get("id"), phone, name, remote_jid)
    data = await s.call("list_conversations", "GET", f"/contacts/{contact_id}/conversations")
    conversations = _payload_list(data) or []
    in_inbox = [c for c in conversations if c.get("inbox_id") == inbox.get("id")]
    if s.cw.reopen_conversation:
        # reuse the latest conversation in the inbox even if resolved
        conv = in_inbox[0] if in_inbox else None
        if conv is not None and s.cw.conversation_pending and (lab.is_v1 or conv.get("status") != "open"):
            await s.call("toggle_status", "POST", f"/conversations/{conv.get('id')}/toggle_status",
                         {"status": "pending"})
    else:
        conv = next((c for c in in_inbox if c.get("status") != "resolved"), None)  # only an unresolved one
    conv_id = conv.get("id") if conv is not None else await _new_conversation(s, contact_id, inbox.get("id"))
    if not lab.is_v1:
        lab.conversation_cache[cache_key] = conv_id
    return conv_id


async def sync_message(lab: EvolutionState, inst: Instance, client: httpx.AsyncClient, *, remote_jid: str,
                       push_name: str, text: str, from_me: bool, key_id: str) -> bool:
    """Mirror one WhatsApp message into Chatwoot; failures are recorded, never raised (Evolution logs them)."""
    cw = active_settings(lab, inst)
    if cw is None or remote_jid.endswith("@g.us") or remote_jid in cw.ignore_jids:
        return False
    s = Session(lab, inst, cw, client)
    phone = "+" + remote_jid.split("@", 1)[0]
    name = remote_jid.split("@", 1)[0] if from_me or not push_name else push_name
    try:
        inbox = await get_inbox(s)
        conv_id = await create_conversation(s, inbox, remote_jid, phone, name)
        # UNVERIFIED: exact message body keys (content, message_type, private, source_id 'WAID:<id>')
        body = {"content": text, "message_type": "outgoing" if from_me else "incoming", "private": False,
                "source_id": f"WAID:{key_id}"}
        await s.call("create_message", "POST", f"/conversations/{conv_id}/messages", body)
    except ChatwootError:
        return False
    return True


async def open_bot_conversation(s: Session, inbox: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
    """``getOpenConversationByContact``: the filter call before 1.7.5, the contact's conversations after.
    https://github.com/EvolutionAPI/evolution-api/blob/1.7.4/src/api/integrations/chatwoot/services/chatwoot.service.ts#L778-L812
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L920-L942"""
    if s.lab.ver < (1, 7, 5):
        # 1.7.0–1.7.4: conversations/filter with contact_id -> 422 on Chatwoot ≥3.8 (1.7.4 chatwoot.service.ts
        # L778-L812, linked in open_bot_conversation)
        payload = [
            {"attribute_key": "inbox_id", "filter_operator": "equal_to", "values": [inbox.get("id")],
             "query_operator": "AND"},
            {"attribute_key": "contact_id", "filter_operator": "equal_to", "values": [contact.get("id")],
             "query_operator": "AND"},
            {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": None},
        ]
        data = await s.call("filter_conversations", "POST", "/conversations/filter", {"payload": payload})
        found = _payload_list(data) or []
    else:
        # ≥1.7.5 (commit ea3b0b37, PR #582): list and keep inbox_id match with status 'open' (#2580)
        data = await s.call("list_conversations", "GET", f"/contacts/{contact.get('id')}/conversations")
        found = [c for c in _payload_list(data) or []
                 if c.get("inbox_id") == inbox.get("id") and c.get("status") == "open"]
    if not found:
        raise s.fail("conversation not found")
    return found[0]


async def bot_message(lab: EvolutionState, inst: Instance, client: httpx.AsyncClient, content: str, *,
                      qr: bool = False) -> bool:
    """``createBotMessage`` / ``createBotQr``: post into the bot conversation (contact ``123456``)."""
    cw = active_settings(lab, inst)
    if cw is None:
        return False
    s = Session(lab, inst, cw, client)
    try:
        contact = await find_contact(s, "+" + BOT_CONTACT)
        if contact is None:
            raise s.fail("contact not found")
        inbox = await get_inbox(s)
        conv = await open_bot_conversation(s, inbox, contact)
        path = f"/conversations/{conv.get('id')}/messages"
        if qr:
            png = QR_BASE64.split(",", 1)[1].encode()
            await s.call("create_bot_qr", "POST", path, multipart={
                "content": content, "message_type": "incoming",
                "attachments[]": ("qrcode.png", base64.b64decode(png), "image/png")})
        else:
            await s.call("create_bot_message", "POST", path, {"content": content, "message_type": "incoming"})
    except ChatwootError:
        return False
    return True


async def init_instance(lab: EvolutionState, inst: Instance, client: httpx.AsyncClient) -> None:
    """``initInstanceChatwoot`` run by autoCreate (error texts observed on a real 2.3.6 server;
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L167-L200):
    reuse the inbox with the same name (its webhook_url is NOT updated) or create an API inbox; create the bot
    contact and conversation and post ``init``. Raises ChatwootError; the route turns it into a 500."""
    cw = inst.chatwoot
    assert cw is not None
    s = Session(lab, inst, cw, client)
    name = cw.name_inbox or inst.name
    data = await s.call("find_inbox", "GET", "/inboxes")
    inboxes = _payload_list(data)
    if inboxes is None:
        raise s.fail("Cannot read properties of undefined (reading 'map')")  # observed on 2.3.6
    inbox = next((i for i in inboxes if i.get("name") == name), None)
    if inbox is None:
        body = {"name": name, "channel": {"type": "api",
                                          "webhook_url": chatwoot_webhook_url(lab.server_url, inst.name)}}
        inbox = await s.call("create_inbox", "POST", "/inboxes", body)
        if not isinstance(inbox, dict):
            raise s.fail("Cannot read properties of undefined (reading 'id')")
    # CHATWOOT_BOT_CONTACT (2.1.0+, default true; always on before)
    if lab.ver < (2, 1, 0) or lab.chatwoot_bot_contact:
        contact = await find_contact(s, "+" + BOT_CONTACT)
        contact_id = contact.get("id") if contact else None
        if contact_id is None:
            contact_id = await create_contact(s, inbox.get("id"), "+" + BOT_CONTACT, "EvolutionAPI", None,
                                              cw.logo)
        conv_id = await _new_conversation(s, contact_id, inbox.get("id"))
        content = f"init:{cw.number}" if cw.number else "init"  # UNVERIFIED: exact init text
        await s.call("create_bot_message", "POST", f"/conversations/{conv_id}/messages",
                     {"content": content, "message_type": "outgoing"})
