"""JSON objects in the key order of Chatwoot's jbuilder views (dicts keep insertion order, ``Response.json`` emits
them compactly like Rails). Only the fields a view emits for the cases the lab models are produced; where the
reference lists fields but no bytes, the order is that of the cited view."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from evodiag.lab.chatwoot.model import (
    MESSAGE_TYPE_NAMES,
    Account,
    AgentBot,
    Contact,
    Conversation,
    Inbox,
    Message,
    User,
)
from evodiag.lab.chatwoot.state import ChatwootState

JSON = dict[str, Any]


def rails_time(ts: float | None) -> str | None:
    """ActiveSupport's JSON encoding of a UTC time: ``2026-01-20T12:00:00.000Z``."""
    if ts is None:
        return None
    moment = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def db_time(ts: float) -> str:
    """``Time#to_fs(:db)``: ``YYYY-MM-DD HH:MM:SS`` (UTC, no ``T``/``Z``)."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def epoch(ts: float | None) -> int:
    """``time.to_i``; Ruby's ``nil.to_i`` is 0."""
    return int(ts) if ts is not None else 0


# --- users ---------------------------------------------------------------------------------------------------
def user_json(lab: ChatwootState, user: User) -> JSON:
    """``GET /api/v1/profile``:
    https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/views/api/v1/models/_user.json.jbuilder
    ``accounts[].permissions`` from 3.8.0 (diff 3.7.0..3.8.0); the enterprise ``custom_role_id`` /
    ``custom_role`` from 3.13.0 (commit 58e78621, git ancestry)."""
    active = user.active_account_id if user.active_account_id in user.memberships else next(iter(user.memberships),
                                                                                            None)
    out: JSON = {
        "access_token": user.token,
        "account_id": active,
        "available_name": user.available_name,
        "avatar_url": "",
        "confirmed": True,
        "display_name": user.display_name,
        "message_signature": user.message_signature,
        "email": user.email,
    }
    if lab.inbox_hmac_key:  # only when the installation HMAC key is set
        out["hmac_identifier"] = hmac.new(lab.inbox_hmac_key.encode(), user.email.encode(), hashlib.sha256).hexdigest()
    out.update({"id": user.id, "inviter_id": None, "name": user.name, "provider": "email",
                "pubsub_token": user.pubsub_token})
    if user.custom_attributes:
        out["custom_attributes"] = user.custom_attributes
    out.update({"role": user.memberships.get(active) if active is not None else None,
                "ui_settings": user.ui_settings, "uid": user.email, "type": user.type})
    accounts: list[JSON] = []
    for account_id, role in user.memberships.items():
        account = lab.accounts.get(account_id)
        if account is None:
            continue
        entry: JSON = {"id": account.id, "name": account.name, "status": account.status, "active_at": None,
                       "role": role}
        if lab.v >= (3, 8, 0):
            entry["permissions"] = [role]
        entry.update({"availability": user.availability, "availability_status": "offline", "auto_offline": True})
        if lab.enterprise and lab.v >= (3, 13, 0):
            entry.update({"custom_role_id": None, "custom_role": None})
        accounts.append(entry)
    out["accounts"] = accounts
    return out


def user_push(user: User) -> JSON:
    """``User#push_event_data`` (app/models/user.rb at 4.10.1)."""
    return {"id": user.id, "name": user.name, "available_name": user.available_name, "avatar_url": "",
            "type": "user", "availability_status": "offline", "thumbnail": ""}


def agent_json(lab: ChatwootState, user: User, account_id: int) -> JSON:
    """``api/v1/models/_agent.json.jbuilder`` (conversation ``meta.assignee``)."""
    out: JSON = {"id": user.id, "account_id": account_id, "availability_status": "offline", "auto_offline": True,
                 "confirmed": True, "email": user.email, "provider": "email", "available_name": user.available_name}
    if user.custom_attributes:
        out["custom_attributes"] = user.custom_attributes
    out.update({"name": user.name, "role": user.memberships.get(account_id), "thumbnail": ""})
    if lab.enterprise and lab.v >= (3, 13, 0):
        out["custom_role_id"] = None
    return out


# --- accounts ------------------------------------------------------------------------------------------------
def account_json(lab: ChatwootState, account: Account) -> JSON:
    """``GET /api/v1/accounts/{id}`` (app/views/api/v1/accounts/show.json.jbuilder + models/_account.json.jbuilder
    at 4.10.1; ``settings`` replaced ``auto_resolve_duration`` in 4.2.0):
    https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/views/api/v1/models/_account.json.jbuilder"""
    out: JSON = {}
    if lab.v >= (4, 2, 0):
        out["settings"] = {}
    else:
        out["auto_resolve_duration"] = None
    out.update({
        "created_at": rails_time(account.created_at),
        "domain": account.domain,
        "features": account.features,
        "id": account.id,
        "locale": lab.account_locale(account),
        "name": account.name,
        "support_email": account.support_email,
        "status": account.status,
        "cache_keys": {"label": 0, "inbox": 0, "team": 0},
        "latest_chatwoot_version": lab.latest_chatwoot_version,
    })
    if lab.enterprise:
        out["subscribed_features"] = []
    return out


# --- inboxes and agent bots ----------------------------------------------------------------------------------
def _weekly_schedule() -> list[JSON]:
    # UNVERIFIED: default working hours (Mon-Fri 09:00-17:00, weekend closed) as created for a new inbox.
    days: list[JSON] = []
    for day in range(7):
        closed = day in (0, 6)
        days.append({"day_of_week": day, "closed_all_day": closed, "open_hour": None if closed else 9,
                     "open_minutes": None if closed else 0, "close_hour": None if closed else 17,
                     "close_minutes": None if closed else 0, "open_all_day": False})
    return days


def inbox_json(lab: ChatwootState, inbox: Inbox, administrator: bool) -> JSON:
    """Key order of
    https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/views/api/v1/models/_inbox.json.jbuilder
    API-channel block: ``hmac_token`` (administrators only), ``webhook_url``, ``inbox_identifier``,
    ``additional_attributes``."""
    out: JSON = {
        "id": inbox.id, "avatar_url": "", "channel_id": inbox.channel_id, "name": inbox.name,
        "channel_type": inbox.channel_type, "greeting_enabled": inbox.greeting_enabled,
        "greeting_message": inbox.greeting_message, "working_hours_enabled": inbox.working_hours_enabled,
        "enable_email_collect": inbox.enable_email_collect, "csat_survey_enabled": inbox.csat_survey_enabled,
    }
    if lab.v >= (4, 2, 0):
        out["csat_config"] = {}  # from 4.2.0 (d0611cb7, git ancestry)
    out.update({
        "enable_auto_assignment": inbox.enable_auto_assignment, "auto_assignment_config": {},
        "out_of_office_message": inbox.out_of_office_message, "working_hours": _weekly_schedule(),
        "timezone": inbox.timezone, "callback_webhook_url": None,
        "allow_messages_after_resolved": inbox.allow_messages_after_resolved,
        "lock_to_single_conversation": inbox.lock_to_single_conversation,
        "sender_name_type": inbox.sender_name_type, "business_name": inbox.business_name,
    })
    if lab.v >= (4, 6, 0):
        out["allowed_domains"] = None  # from 4.6.0 (de4430ea, git ancestry)
    out.update({
        # web-widget keys are emitted for every channel (nil unless the channel has them)
        "widget_color": None, "website_url": None,
        "hmac_mandatory": inbox.hmac_mandatory if inbox.api else None, "welcome_title": None,
        "welcome_tagline": None, "web_widget_script": None, "website_token": None,
        "selected_feature_flags": None, "reply_time": None, "messaging_service_sid": None, "phone_number": None,
    })
    if inbox.api:
        if administrator:
            out["hmac_token"] = inbox.hmac_token
        out["webhook_url"] = inbox.webhook_url
        out["inbox_identifier"] = inbox.inbox_identifier
        out["additional_attributes"] = inbox.additional_attributes
    out["provider"] = None
    return out


def inbox_slim(inbox: Inbox) -> JSON:
    """``api/v1/models/_inbox_slim.json.jbuilder`` (inside ``contact_inboxes``)."""
    return {"id": inbox.id, "avatar_url": "", "channel_id": inbox.channel_id, "name": inbox.name,
            "channel_type": inbox.channel_type, "provider": None}


def inbox_record(inbox: Inbox) -> JSON:
    """``Inbox#as_json`` (every column, in db/schema.rb order at 4.10.1): ``contacts/create.json.jbuilder`` renders
    the model itself (``json.inbox @contact_inbox&.inbox``)."""
    return {
        "id": inbox.id, "channel_id": inbox.channel_id, "account_id": inbox.account_id, "name": inbox.name,
        "created_at": rails_time(inbox.created_at), "updated_at": rails_time(inbox.updated_at),
        "channel_type": inbox.channel_type, "enable_auto_assignment": inbox.enable_auto_assignment,
        "greeting_enabled": inbox.greeting_enabled, "greeting_message": inbox.greeting_message,
        "email_address": None, "working_hours_enabled": inbox.working_hours_enabled,
        "out_of_office_message": inbox.out_of_office_message, "timezone": inbox.timezone,
        "enable_email_collect": inbox.enable_email_collect, "csat_survey_enabled": inbox.csat_survey_enabled,
        "allow_messages_after_resolved": inbox.allow_messages_after_resolved, "auto_assignment_config": {},
        "lock_to_single_conversation": inbox.lock_to_single_conversation, "portal_id": None,
        "sender_name_type": inbox.sender_name_type, "business_name": inbox.business_name, "csat_config": {},
    }


def agent_bot_json(bot: AgentBot, account_id: int, *, presenter: bool) -> JSON:
    """``api/v1/models/_agent_bot.json.jbuilder``.

    ``presenter=True`` (``GET agent_bots`` wraps bots in ``AgentBotPresenter``): ``access_token`` is the token
    string, only for the account's own bots. ``presenter=False`` (``GET inboxes/{id}/agent_bot`` passes the model):
    ``access_token`` is the ``AccessToken`` record's ``as_json`` (inference from the view; UNVERIFIED)."""
    out: JSON = {"id": bot.id, "name": bot.name, "description": bot.description, "thumbnail": ""}
    if not bot.system_bot:
        out["outgoing_url"] = bot.outgoing_url
    out.update({"bot_type": "webhook", "bot_config": bot.bot_config, "account_id": bot.account_id})
    if presenter:
        if bot.token and bot.account_id == account_id:
            out["access_token"] = bot.token
    elif bot.token:
        out["access_token"] = {"id": bot.token_id, "owner_type": "AgentBot", "owner_id": bot.id, "token": bot.token,
                               "created_at": rails_time(bot.token_created_at),
                               "updated_at": rails_time(bot.token_created_at)}
    out["system_bot"] = bot.system_bot
    return out


def agent_bot_push(bot: AgentBot) -> JSON:
    return {"id": bot.id, "name": bot.name, "avatar_url": "", "type": "agent_bot"}


# --- contacts ------------------------------------------------------------------------------------------------
def contact_json(lab: ChatwootState, contact: Contact, *, with_contact_inboxes: bool) -> JSON:
    """https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/views/api/v1/models/_contact.json.jbuilder"""
    out: JSON = {
        "additional_attributes": contact.additional_attributes, "availability_status": "offline",
        "email": contact.email, "id": contact.id, "name": contact.name, "phone_number": contact.phone_number,
        "blocked": contact.blocked, "identifier": contact.identifier, "thumbnail": "",
        "custom_attributes": contact.custom_attributes,
    }
    if contact.last_activity_at is not None:
        out["last_activity_at"] = int(contact.last_activity_at)
    out["created_at"] = int(contact.created_at)
    if with_contact_inboxes:
        entries: list[JSON] = []
        for ci in lab.contact_inboxes.values():
            inbox = lab.inboxes.get(ci.inbox_id)
            if ci.contact_id == contact.id and inbox is not None:
                entries.append({"source_id": ci.source_id, "inbox": inbox_slim(inbox)})
        out["contact_inboxes"] = entries
    return out


def contact_push(contact: Contact) -> JSON:
    """``Contact#push_event_data``."""
    return {"additional_attributes": contact.additional_attributes, "custom_attributes": contact.custom_attributes,
            "email": contact.email, "id": contact.id, "identifier": contact.identifier, "name": contact.name,
            "phone_number": contact.phone_number, "thumbnail": "", "blocked": contact.blocked, "type": "contact"}


# --- messages ------------------------------------------------------------------------------------------------
def _sender(lab: ChatwootState, msg: Message) -> JSON | None:
    if msg.sender_type == "Contact" and msg.sender_id in lab.contacts:
        return contact_push(lab.contacts[msg.sender_id])
    if msg.sender_type == "User" and msg.sender_id in lab.users:
        return user_push(lab.users[msg.sender_id])
    if msg.sender_type == "AgentBot" and msg.sender_id in lab.agent_bots:
        return agent_bot_push(lab.agent_bots[msg.sender_id])
    return None


def attachments_json(lab: ChatwootState, msg: Message) -> list[JSON]:
    """The message's attachments with their URLs built on FRONTEND_URL now, as ``url_for`` does at render time."""
    base = lab.frontend_url.rstrip("/")
    out: list[JSON] = []
    for attachment in msg.attachments:
        item = dict(attachment)
        for key in ("data_url", "thumb_url"):
            if isinstance(item.get(key), str) and item[key].startswith("/"):
                item[key] = base + item[key]
        out.append(item)
    return out


def message_json(lab: ChatwootState, msg: Message) -> JSON:
    """``api/v1/models/_message.json.jbuilder``: ``message_type`` is the integer."""
    conv = lab.conversations[msg.conversation_id]
    out: JSON = {"id": msg.id, "content": msg.content, "inbox_id": msg.inbox_id}
    if msg.echo_id:
        out["echo_id"] = msg.echo_id
    out.update({"conversation_id": conv.display_id, "message_type": msg.message_type,
                "content_type": msg.content_type, "status": msg.status,
                "content_attributes": msg.content_attributes, "created_at": int(msg.created_at),
                "private": msg.private, "source_id": msg.source_id})
    sender = _sender(lab, msg)
    if sender is not None:
        out["sender"] = sender
    if msg.attachments:
        out["attachments"] = attachments_json(lab, msg)
    return out


def message_push(lab: ChatwootState, msg: Message) -> JSON:
    """``Message#push_event_data``: the row's attributes (schema order) merged with overrides, then ``sender``."""
    conv = lab.conversations[msg.conversation_id]
    ci = lab.contact_inboxes.get(conv.contact_inbox_id) if conv.contact_inbox_id else None
    out: JSON = {
        "id": msg.id, "content": msg.content, "account_id": msg.account_id, "inbox_id": msg.inbox_id,
        "conversation_id": conv.display_id, "message_type": msg.message_type, "created_at": int(msg.created_at),
        "updated_at": rails_time(msg.updated_at), "private": msg.private, "status": msg.status,
        "source_id": msg.source_id, "content_type": msg.content_type, "content_attributes": msg.content_attributes,
        "sender_type": msg.sender_type, "sender_id": msg.sender_id, "external_source_ids": {},
        "additional_attributes": msg.additional_attributes, "processed_message_content": msg.content,
        "sentiment": {},
        "conversation": {"assignee_id": conv.assignee_id, "unread_count": lab.unread_count(conv),
                         "last_activity_at": int(conv.last_activity_at),
                         "contact_inbox": {"source_id": ci.source_id if ci else None}},
    }
    if msg.echo_id:
        out["echo_id"] = msg.echo_id
    if msg.attachments:
        out["attachments"] = attachments_json(lab, msg)
    sender = _sender(lab, msg)
    if sender is not None:
        out["sender"] = sender
    return out


# --- conversations -------------------------------------------------------------------------------------------
def conversation_json(lab: ChatwootState, conv: Conversation) -> JSON:
    """Key order of
    https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/views/api/v1/conversations/partials/_conversation.json.jbuilder
    (``updated_at`` from 4.0.2,
    ``assignee_type`` from 4.8.0, by git ancestry)."""
    inbox = lab.inboxes.get(conv.inbox_id)
    contact = lab.contacts.get(conv.contact_id)
    meta: JSON = {"sender": contact_json(lab, contact, with_contact_inboxes=False) if contact else None,
                  "channel": inbox.channel_type if inbox else None}
    assignee = lab.users.get(conv.assignee_id) if conv.assignee_id is not None else None
    if assignee is not None and conv.account_id in assignee.memberships:
        meta["assignee"] = agent_json(lab, assignee, conv.account_id)
        if lab.v >= (4, 8, 0):
            meta["assignee_type"] = "User"
    ci = lab.contact_inboxes.get(conv.contact_inbox_id) if conv.contact_inbox_id else None
    meta["hmac_verified"] = ci.hmac_verified if ci else None
    messages = lab.messages_of(conv)
    last_non_activity = next((m for m in reversed(messages) if m.message_type != 2), None)
    out: JSON = {
        "meta": meta,
        "id": conv.display_id,
        "messages": [message_push(lab, messages[-1])] if messages else [],
        "account_id": conv.account_id,
        "uuid": conv.uuid,
        "additional_attributes": conv.additional_attributes,
        "agent_last_seen_at": epoch(conv.agent_last_seen_at),
        "assignee_last_seen_at": epoch(conv.assignee_last_seen_at),
        "can_reply": True,  # API channel: no messaging window (Conversations::MessageWindowService)
        "contact_last_seen_at": epoch(conv.contact_last_seen_at),
        "custom_attributes": conv.custom_attributes,
        "inbox_id": conv.inbox_id,
        "labels": conv.labels,
        "muted": conv.muted,
        "snoozed_until": rails_time(conv.snoozed_until),
        "status": conv.status,
        "created_at": int(conv.created_at),
    }
    if lab.v >= (4, 0, 2):
        out["updated_at"] = conv.updated_at
    out.update({
        "timestamp": int(conv.last_activity_at),
        "first_reply_created_at": epoch(conv.first_reply_created_at),
        "unread_count": lab.unread_count(conv),
        "last_non_activity_message": message_push(lab, last_non_activity) if last_non_activity else None,
        "last_activity_at": int(conv.last_activity_at),
        "priority": conv.priority,
        "waiting_since": epoch(conv.waiting_since),
        "sla_policy_id": None,
    })
    return out


# --- webhooks ------------------------------------------------------------------------------------------------
def message_webhook(lab: ChatwootState, msg: Message, event: str) -> JSON:
    """``Message#webhook_data`` + ``event`` as POSTed to an API inbox's ``webhook_url``:
    ``message_type`` is the *string* there. Nested objects are abbreviated (UNVERIFIED beyond the listed keys)."""
    conv = lab.conversations[msg.conversation_id]
    account = lab.accounts.get(msg.account_id)
    inbox = lab.inboxes.get(msg.inbox_id)
    sender = _sender(lab, msg)
    return {
        "account": {"id": msg.account_id, "name": account.name if account else None},
        "additional_attributes": msg.additional_attributes,
        "content_attributes": msg.content_attributes,
        "content_type": msg.content_type,
        "content": msg.content,
        "conversation": {"id": conv.display_id, "inbox_id": conv.inbox_id, "status": conv.status,
                         "contact_inbox": {"source_id": lab.contact_inboxes[conv.contact_inbox_id].source_id
                                           if conv.contact_inbox_id in lab.contact_inboxes else None},
                         "meta": {"sender": contact_push(lab.contacts[conv.contact_id])
                                  if conv.contact_id in lab.contacts else None}},
        "created_at": rails_time(msg.created_at),
        "id": msg.id,
        "inbox": {"id": msg.inbox_id, "name": inbox.name if inbox else None},
        "message_type": MESSAGE_TYPE_NAMES.get(msg.message_type, "outgoing"),
        "private": msg.private,
        "sender": sender,
        "source_id": msg.source_id,
        "event": event,
    }
