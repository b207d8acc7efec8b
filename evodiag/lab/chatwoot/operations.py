"""What Chatwoot does when asked to create a conversation or a message or to toggle a status: the builders'
validations, ``determine_conversation_status``, the reopen rules and attachments (app/builders,
app/models/conversation.rb, app/models/message.rb). Handlers call these; they change the state store."""

from __future__ import annotations

import json
import uuid
from typing import Any

from evodiag.lab.chatwoot import texts
from evodiag.lab.chatwoot.auth import Caller, authorize_inbox_show
from evodiag.lab.chatwoot.model import (
    CONTENT_TYPES,
    CONVERSATION_STATUSES,
    MESSAGE_TYPES,
    AgentBot,
    Contact,
    Conversation,
    ConversationStatus,
    Inbox,
    Message,
    User,
)
from evodiag.lab.chatwoot.rails import HTTPError, error, not_found, present, rails_bool, server_error
from evodiag.lab.chatwoot.state import ChatwootState
from evodiag.lab.chatwoot.webhooks import deliver


def create_conversation(lab: ChatwootState, caller: Caller, params: dict[str, Any]) -> Conversation:
    """``POST …/conversations`` (ConversationBuilder, then ``determine_conversation_status``)."""
    account = caller.account
    assert account is not None
    inbox: Inbox | None = None
    contact: Contact | None = None
    if present(params.get("inbox_id")):
        inbox = lab.inboxes.get(_int(params["inbox_id"]))
        if inbox is None or inbox.account_id != account.id:
            raise not_found()
        authorize_inbox_show(lab, caller, inbox)
    if present(params.get("contact_id")):
        contact = lab.contacts.get(_int(params["contact_id"]))
        if contact is None or contact.account_id != account.id:
            raise not_found()
    source_id = params.get("source_id")
    if inbox is not None and contact is not None:
        ci = lab.contact_inbox_for(contact, inbox, str(source_id) if present(source_id) else None)
    else:
        # fallback ContactInbox.find_by!(source_id:) -> 404
        found = next((c for c in lab.contact_inboxes.values()
                      if source_id is not None and c.source_id == str(source_id)), None)
        if found is None:
            raise not_found()
        ci = found
        authorize_inbox_show(lab, caller, lab.inboxes[ci.inbox_id])
    ci_inbox = lab.inboxes[ci.inbox_id]
    message = params.get("message") if isinstance(params.get("message"), dict) else None
    if ci_inbox.lock_to_single_conversation:
        # ConversationBuilder returns the contact_inbox's last conversation, whatever its status
        existing = [c for c in lab.conversations.values() if c.contact_inbox_id == ci.id]
        if existing:
            conv = max(existing, key=lambda c: c.id)
            if message:
                create_message(lab, caller, conv, message, on_error=500)
            return conv
    status = params.get("status")
    if present(status) and str(status) not in CONVERSATION_STATUSES:
        raise server_error()  # enum ArgumentError is not rescued by handle_with_exception
    if message:
        check_message(lab, caller, ci_inbox, message, on_error=500)
    initial: ConversationStatus = str(status) if present(status) else "open"  # type: ignore[assignment]
    # determine_conversation_status (before_create, after the builder copied params[:status]):
    # https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/models/conversation.rb#L212-L221
    if lab.contacts[ci.contact_id].blocked:
        initial = "resolved"
    elif ci_inbox.active_bot(lab.v, lab.enterprise):
        initial = "pending"  # even when "status":"open" was sent (cw#7834)
    options: dict[str, Any] = {}
    for key in ("additional_attributes", "custom_attributes"):
        if isinstance(params.get(key), dict):
            options[key] = dict(params[key])
    if present(params.get("assignee_id")):
        options["assignee_id"] = _int(params["assignee_id"])
    if present(params.get("team_id")):
        options["team_id"] = _int(params["team_id"])
    conv = lab.insert_conversation(ci_inbox, ci, initial, **options)
    if message:
        create_message(lab, caller, conv, message, on_error=500)
    return conv


def check_message(lab: ChatwootState, caller: Caller, inbox: Inbox, params: dict[str, Any],
                  on_error: int = 422) -> None:
    """``Messages::MessageBuilder`` validations; errors become 422 ``{"error": e.message}`` from
    MessagesController#create or 500 inside ConversationsController#create."""

    def fail(message: str) -> HTTPError:
        return error(422, message) if on_error == 422 else server_error()

    raw = params.get("message_type")
    message_type = "outgoing" if raw is None else raw
    if not inbox.api and message_type == "incoming":
        raise fail(texts.INCOMING_ONLY_API)
    if message_type not in MESSAGE_TYPES and message_type not in MESSAGE_TYPES.values():
        raise fail(f"'{message_type}' is not a valid message_type")
    content_type = params.get("content_type") or "text"
    if content_type not in CONTENT_TYPES:
        raise fail(f"'{content_type}' is not a valid content_type")


def create_message(lab: ChatwootState, caller: Caller, conv: Conversation, params: dict[str, Any],
                   on_error: int = 422) -> Message:
    """``POST …/messages``: build, then ``Message#reopen_conversation``."""
    inbox = lab.inboxes[conv.inbox_id]
    check_message(lab, caller, inbox, params, on_error)
    raw = params.get("message_type")
    name = "outgoing" if raw is None else raw
    type_value = MESSAGE_TYPES[name] if isinstance(name, str) else int(name)
    if name == "outgoing":  # MessageBuilder#sender compares the raw param with 'outgoing'
        owner = caller.owner
        sender: tuple[str | None, int | None] = (
            ("AgentBot", owner.id) if isinstance(owner, AgentBot)
            else ("User", owner.id) if isinstance(owner, User) else (None, None))
    else:
        sender = ("Contact", conv.contact_id)
    attrs = params.get("content_attributes")
    if isinstance(attrs, str):
        try:
            attrs = json.loads(attrs)
        except ValueError:
            attrs = {}
    files = params.get("attachments[]") or params.get("attachments") or []
    msg = lab.insert_message(
        conv, type_value, _str_or_none(params.get("content")), sender,
        private=rails_bool(params.get("private")), content_type=params.get("content_type") or "text",
        content_attributes=attrs if isinstance(attrs, dict) else {},
        source_id=_str_or_none(params.get("source_id")), echo_id=_str_or_none(params.get("echo_id")),
        attachments=[])
    msg.attachments = [_attachment(lab, msg, f) for f in files if isinstance(f, dict)]
    reopen(lab, conv, msg)
    if lab.auto_deliver_webhooks and inbox.api and inbox.webhook_url and type_value in (0, 1, 3):
        lab.spawn(deliver(lab, msg.id))
    return msg


def attach_file(lab: ChatwootState, msg: Message, upload: dict[str, Any]) -> dict[str, Any]:
    """Attach an uploaded file (``{"filename", "content_type", "data"}``, one ``attachments[]`` part) to ``msg``."""
    attachment = _attachment(lab, msg, upload)
    msg.attachments.append(attachment)
    return attachment


def _attachment(lab: ChatwootState, msg: Message, upload: dict[str, Any]) -> dict[str, Any]:
    """``Attachment#push_event_data`` (base_data + file_metadata in
    https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/models/attachment.rb).
    The blob is kept in :attr:`blobs`; ``data_url`` is ``url_for(file)`` on ``FRONTEND_URL``, which the lab
    serves as a redirect to the file (UNVERIFIED: the signed id format). The URLs
    are stored as paths: Rails builds them when the message is serialised (:func:`views.attachments_json`), so
    a changed FRONTEND_URL applies to old messages too."""
    ctype = str(upload.get("content_type") or "application/octet-stream")
    major = ctype.split("/", 1)[0]
    kind = major if major in ("image", "audio", "video") else "file"
    name = str(upload.get("filename") or "file")
    raw = upload.get("data")
    data = raw if isinstance(raw, bytes) else b""
    signed = uuid.uuid4().hex
    lab.blobs[signed] = (data, ctype, name)
    out: dict[str, Any] = {"id": lab.next_id("attachment"), "message_id": msg.id, "file_type": kind,
                           "account_id": msg.account_id, "extension": None,
                           "data_url": f"/rails/active_storage/blobs/redirect/{signed}/{name}",
                           "thumb_url": f"/rails/active_storage/representations/redirect/{signed}/{name}"
                           if kind == "image" else "",
                           "file_size": len(data), "width": None, "height": None}
    if kind == "audio":
        out["transcribed_text"] = ""
    return out


def reopen(lab: ChatwootState, conv: Conversation, msg: Message) -> None:
    """``Message#reopen_conversation``:
    https://github.com/chatwoot/chatwoot/blob/29f07e7e06a9702d8663897143a17b991db022fc/app/models/message.rb#L316-L330
    https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/models/message.rb#L383-L402"""
    if conv.muted or msg.message_type != MESSAGE_TYPES["incoming"]:
        return
    if conv.status == "snoozed":
        conv.status = "open"
    if conv.status == "resolved":
        conv.status = "pending" if lab.active_bot(conv.inbox_id) else "open"
    # a pending conversation stays pending


def toggle_status(lab: ChatwootState, caller: Caller, conv: Conversation, params: dict[str, Any]) -> bool | None:
    """``ConversationsController#toggle_status`` (same at 3.8.0 and 4.10.1). Returns
    ``@status`` (``success``): nil on the bot hand-off branch."""
    wanted = params.get("status")
    success: bool | None = True
    if caller.bot is not None and conv.status == "pending" and wanted == "open":
        conv.status = "open"  # bot_handoff! (also dispatches conversation.bot_handoff)
        success = None
    elif present(wanted):
        if str(wanted) not in CONVERSATION_STATUSES:
            raise server_error()
        conv.status = str(wanted)  # type: ignore[assignment]
        if params.get("snoozed_until") is not None:
            try:
                conv.snoozed_until = float(params["snoozed_until"])
            except (TypeError, ValueError):
                conv.snoozed_until = None
    else:
        conv.status = "resolved" if conv.status == "open" else "open"
    conv.updated_at = lab.clock()
    user = caller.user
    if conv.status == "open" and caller.current_user_is_user and user is not None and caller.role == "agent":
        conv.assignee_id = user.id  # should_assign_conversation?: an agent opening it gets it assigned
    return success


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
