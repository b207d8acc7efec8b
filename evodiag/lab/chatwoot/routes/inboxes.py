"""``…/inboxes`` and ``…/agent_bots``: list, show, create, update, the inbox's agent bot
(https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/controllers/api/v1/accounts/inboxes_controller.rb)."""

from __future__ import annotations

import re
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.chatwoot import auth, texts, views
from evodiag.lab.chatwoot.auth import Caller
from evodiag.lab.chatwoot.model import Inbox
from evodiag.lab.chatwoot.rails import (
    not_allowed,
    not_found,
    parse_params,
    rails_bool,
    rails_json,
    record_invalid,
    server_error,
)
from evodiag.lab.chatwoot.state import ChatwootState


def _inbox(lab: ChatwootState, caller: Caller, inbox_id: str) -> Inbox:
    """``fetch_inbox``: ``Current.account.inboxes.find`` (404) then ``authorize @inbox, :show?`` (401)."""
    assert caller.account is not None
    inbox = lab.inboxes.get(int(inbox_id)) if inbox_id.isdigit() else None
    if inbox is None or inbox.account_id != caller.account.id:
        raise not_found()
    auth.authorize_inbox_show(lab, caller, inbox)
    return inbox


def _admin_only(caller: Caller) -> None:
    # Administrator-only actions (InboxPolicy create?/update?/set_agent_bot?):
    # https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/policies/inbox_policy.rb
    if not caller.administrator:
        raise not_allowed()


def _inbox_name_errors(lab: ChatwootState, name: Any, channel_type: str) -> list[tuple[str, str]]:
    """Inbox-name validation (2.7-era … 4.2.x; replaced by sanitising in 4.3.0,
    https://github.com/chatwoot/chatwoot/pull/11597): presence, then (Email/Api/WebWidget
    channels, before 4.3.0) no ``/ \\ < > @`` and word characters at both ends (``\\b`` anchors; Unicode word
    characters count as such here, UNVERIFIED for Ruby's ``\\b`` on non-ASCII)."""
    errors: list[tuple[str, str]] = []
    text = "" if name is None else str(name)
    if not text.strip():
        errors.append(("name", texts.BLANK))
    checked = channel_type in ("Channel::Email", "Channel::Api", "Channel::WebWidget")
    if lab.v < (4, 3, 0) and checked and not re.search(r"^\b[^/\\<>@]*\b$", text, re.MULTILINE):
        errors.append(("name", texts.INBOX_NAME_INVALID))
    return errors


CHANNEL_TYPES = {"web_widget": "Channel::WebWidget", "api": "Channel::Api", "email": "Channel::Email",
                 "line": "Channel::Line", "telegram": "Channel::Telegram", "whatsapp": "Channel::Whatsapp",
                 "sms": "Channel::Sms"}


async def inboxes_index(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # {"payload":[…]}, policy_scope -> assigned_inboxes, order_by_name (lower(name) ASC);
    # hmac_token only for administrators
    visible = auth.visible_inbox_ids(lab, caller)
    inboxes = sorted((i for i in lab.inboxes.values() if i.id in visible), key=lambda i: (i.name.lower(), i.id))
    return rails_json({"payload": [views.inbox_json(lab, i, caller.administrator) for i in inboxes]})


async def inboxes_show(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                       inbox_id: str) -> Response:
    # inbox object (show.json.jbuilder renders the same partial); fetch_inbox 404/401
    inbox = _inbox(lab, caller, inbox_id)
    return rails_json(views.inbox_json(lab, inbox, caller.administrator))


async def inboxes_create(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # POST inboxes: administrator only -> 401 "You are not authorized to do this action"
    _admin_only(caller)
    assert caller.account is not None
    params = parse_params(request)
    channel = params.get("channel")
    if not isinstance(channel, dict):
        raise server_error()  # permitted_params[:channel][:type] on nil: NoMethodError
    channel_type = CHANNEL_TYPES.get(str(channel.get("type")))
    errors = _inbox_name_errors(lab, params.get("name"), channel_type or "")
    if channel_type is None:
        errors.append(("channel", "must exist"))  # create_channel returned nil; belongs_to presence (UNVERIFIED)
    if errors:
        raise record_invalid(errors)
    inbox = lab.add_inbox(caller.account.id, str(params["name"]), channel_type=channel_type or "Channel::Api",
                          webhook_url=channel.get("webhook_url") if channel_type == "Channel::Api" else None)
    _apply_inbox_params(inbox, params)
    return rails_json(views.inbox_json(lab, inbox, administrator=True))


def _apply_inbox_params(inbox: Inbox, params: dict[str, Any]) -> None:
    for key in ("greeting_enabled", "enable_email_collect", "csat_survey_enabled", "enable_auto_assignment",
                "working_hours_enabled", "allow_messages_after_resolved", "lock_to_single_conversation"):
        if key in params:
            setattr(inbox, key, rails_bool(params[key]))
    for key in ("greeting_message", "out_of_office_message", "business_name"):
        if key in params:
            setattr(inbox, key, None if params[key] is None else str(params[key]))


async def inboxes_update(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                         inbox_id: str) -> Response:
    # PATCH: admin; can update channel.webhook_url (Channel::Api::EDITABLE_ATTRS)
    inbox = _inbox(lab, caller, inbox_id)
    _admin_only(caller)
    params = parse_params(request)
    if "name" in params:
        errors = _inbox_name_errors(lab, params["name"], inbox.channel_type)
        if errors:
            raise record_invalid(errors)
        inbox.name = str(params["name"])
    _apply_inbox_params(inbox, params)
    channel = params.get("channel")
    if isinstance(channel, dict) and inbox.api:
        if "webhook_url" in channel:
            inbox.webhook_url = None if channel["webhook_url"] is None else str(channel["webhook_url"])
        if "hmac_mandatory" in channel:
            inbox.hmac_mandatory = rails_bool(channel["hmac_mandatory"])
    inbox.updated_at = lab.clock()
    return rails_json(views.inbox_json(lab, inbox, caller.administrator))


async def inbox_agent_bot(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                          inbox_id: str) -> Response:
    # {"agent_bot": {…}}; open to any member with inbox access. The link counts whatever
    # its active/inactive status (@inbox.agent_bot).
    inbox = _inbox(lab, caller, inbox_id)
    bot = lab.agent_bots.get(inbox.agent_bot_id) if inbox.agent_bot_id is not None else None
    if bot is None:
        return Response.raw_json(lab.agent_bot_none_body)  # UNVERIFIED: see ChatwootState docstring
    assert caller.account is not None
    return rails_json({"agent_bot": views.agent_bot_json(bot, caller.account.id, presenter=False)})


async def inbox_set_agent_bot(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                              inbox_id: str) -> Response:
    # set_agent_bot: administrator only; {"agent_bot": id} attaches, null detaches; empty
    # 200 (head :ok); unknown bot -> 404. Before-action order: fetch_inbox, fetch_agent_bot, check_authorization.
    inbox = _inbox(lab, caller, inbox_id)
    params = parse_params(request)
    wanted = params.get("agent_bot")
    bot = None
    if wanted is not None and wanted is not False:
        bot = lab.agent_bots.get(int(wanted)) if str(wanted).isdigit() else None  # AgentBot.find: any account
        if bot is None:
            raise not_found()
    _admin_only(caller)
    if bot is not None:
        if inbox.agent_bot_id is None:
            inbox.agent_bot_status = "active"
        inbox.agent_bot_id = bot.id
    else:
        inbox.agent_bot_id = None
    return Response(200, b"", {"Content-Type": "application/json"})


async def agent_bots_index(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # a bare array; AgentBot.where(account_id: [nil, account.id]) (system bots included)
    assert caller.account is not None
    account = caller.account
    bots = sorted((b for b in lab.agent_bots.values() if b.account_id in (None, account.id)), key=lambda b: b.id)
    return rails_json([views.agent_bot_json(b, account.id, presenter=True) for b in bots])
