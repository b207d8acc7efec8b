"""The Chatwoot routes. Each handler is wrapped by :func:`endpoint`, which runs the authentication pipeline of
:meth:`ChatwootLab.authenticate` with the Rails ``controller#action`` name (bot tokens are judged on it) and turns
:class:`HTTPError` into its response."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from evodiag.httpserver import Request, Response
from evodiag.lab.chatwoot import texts, views
from evodiag.lab.chatwoot.app import Caller
from evodiag.lab.chatwoot.filters import (
    FilterCrash,
    FilterInvalid,
    compile_conditions,
    contact_matcher,
    conversation_matcher,
)
from evodiag.lab.chatwoot.model import Contact, Conversation, Inbox
from evodiag.lab.chatwoot.rails import (
    HTTPError,
    error,
    not_allowed,
    not_found,
    present,
    rails_bool,
    rails_json,
    record_invalid,
    server_error,
)

if TYPE_CHECKING:
    from evodiag.lab.chatwoot.app import ChatwootLab

Handler = Callable[..., Awaitable[Response]]
ACCOUNT = "/api/v1/accounts/{account_id}"


def endpoint(lab: ChatwootLab, action: str, handler: Handler, scope: str = "account") -> Handler:
    async def run(request: Request, **params: str) -> Response:
        try:
            seen = lab.behind_proxy(request)
            caller = lab.authenticate(seen, action, params.get("account_id"), scope)
            return await handler(lab, seen, caller, **params)
        except HTTPError as exc:
            return exc.response

    return run


def register(lab: ChatwootLab) -> None:
    r = lab.route

    async def api(request: Request) -> Response:
        return await api_index(lab, request)

    async def root(request: Request) -> Response:
        # ref chatwoot.md §2: with CW_API_ONLY_SERVER=true, / maps to api#index; otherwise the dashboard's HTML
        # (UNVERIFIED: abbreviated page, no redirect modelled)
        if lab.api_only_server:
            return await api_index(lab, request)
        return Response.text("<!DOCTYPE html>\n<html>\n<head>\n  <title>Chatwoot</title>\n</head>\n"
                             "<body>\n  <div id=\"app\"></div>\n</body>\n</html>\n", 200, "text/html; charset=utf-8")

    async def blob_redirect(request: Request, signed: str, filename: str) -> Response:
        # ActiveStorage blobs/redirect: a redirect to the service URL (UNVERIFIED: 302 and the disk URL shape)
        if signed not in lab.blobs:
            return await lab.not_found(request)
        location = f"{lab.frontend_url.rstrip('/')}/rails/active_storage/disk/{signed}/{filename}"
        return Response(302, b"", {"Location": location, "Content-Type": "text/html; charset=utf-8"})

    async def blob_disk(request: Request, signed: str, filename: str) -> Response:
        if signed not in lab.blobs:
            return await lab.not_found(request)
        data, ctype, _ = lab.blobs[signed]
        return Response(200, data, {"Content-Type": ctype})

    r("GET", "/api", api)
    r("GET", "/rails/active_storage/blobs/redirect/{signed}/{filename}", blob_redirect)
    r("GET", "/rails/active_storage/representations/redirect/{signed}/{filename}", blob_redirect)
    r("GET", "/rails/active_storage/disk/{signed}/{filename}", blob_disk)
    r("GET", "/", root)
    r("GET", "/api/v1/profile", endpoint(lab, "profiles#show", profile, scope="none"))
    r("GET", ACCOUNT, endpoint(lab, "accounts#show", account_show, scope="none"))
    r("GET", f"{ACCOUNT}/inboxes", endpoint(lab, "inboxes#index", inboxes_index))
    r("POST", f"{ACCOUNT}/inboxes", endpoint(lab, "inboxes#create", inboxes_create), mutates=True)
    r("GET", f"{ACCOUNT}/inboxes/{{inbox_id}}", endpoint(lab, "inboxes#show", inboxes_show))
    r("PATCH", f"{ACCOUNT}/inboxes/{{inbox_id}}", endpoint(lab, "inboxes#update", inboxes_update), mutates=True)
    r("PUT", f"{ACCOUNT}/inboxes/{{inbox_id}}", endpoint(lab, "inboxes#update", inboxes_update), mutates=True)
    r("GET", f"{ACCOUNT}/inboxes/{{inbox_id}}/agent_bot", endpoint(lab, "inboxes#agent_bot", inbox_agent_bot))
    r("POST", f"{ACCOUNT}/inboxes/{{inbox_id}}/set_agent_bot",
      endpoint(lab, "inboxes#set_agent_bot", inbox_set_agent_bot), mutates=True)
    r("GET", f"{ACCOUNT}/agent_bots", endpoint(lab, "agent_bots#index", agent_bots_index))
    r("POST", f"{ACCOUNT}/conversations/filter", endpoint(lab, "conversations#filter", conversations_filter))
    r("POST", f"{ACCOUNT}/conversations", endpoint(lab, "conversations#create", conversations_create),
      mutates=True)
    r("GET", f"{ACCOUNT}/conversations/{{display_id}}", endpoint(lab, "conversations#show", conversations_show))
    r("POST", f"{ACCOUNT}/conversations/{{display_id}}/toggle_status",
      endpoint(lab, "conversations#toggle_status", conversations_toggle_status), mutates=True)
    r("GET", f"{ACCOUNT}/conversations/{{display_id}}/messages",
      endpoint(lab, "conversations/messages#index", messages_index))
    r("POST", f"{ACCOUNT}/conversations/{{display_id}}/messages",
      endpoint(lab, "conversations/messages#create", messages_create), mutates=True)
    r("PATCH", f"{ACCOUNT}/conversations/{{display_id}}/messages/{{message_id}}",
      endpoint(lab, "conversations/messages#update", messages_update), mutates=True)
    r("GET", f"{ACCOUNT}/contacts/search", endpoint(lab, "contacts#search", contacts_search))
    r("POST", f"{ACCOUNT}/contacts/filter", endpoint(lab, "contacts#filter", contacts_filter))
    r("POST", f"{ACCOUNT}/contacts", endpoint(lab, "contacts#create", contacts_create), mutates=True)
    r("GET", f"{ACCOUNT}/contacts/{{contact_id}}/conversations",
      endpoint(lab, "contacts/conversations#index", contact_conversations))


# --- version and profile -------------------------------------------------------------------------------------
async def api_index(lab: ChatwootLab, request: Request) -> Response:
    # ref chatwoot.md §2; CW@3.8.0/4.2.0/4.10.1:app/controllers/api_controller.rb. Key order version, timestamp,
    # queue_services, data_services; the two services only from 2.14.0 (b1af814e).
    body: dict[str, Any] = {"version": lab.version, "timestamp": views.db_time(lab.clock())}
    if lab.v >= (2, 14, 0):
        body["queue_services"] = "ok" if lab.queue_ok else "failing"
        body["data_services"] = "ok" if lab.data_ok else "failing"
    return rails_json(body)


async def profile(lab: ChatwootLab, request: Request, caller: Caller) -> Response:
    # ref chatwoot.md §1.4; ProfilesController < Api::BaseController (not account-scoped)
    assert caller.user is not None
    return rails_json(views.user_json(lab, caller.user))


async def account_show(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §2 "Alternative": current_user.accounts.find -> a non-member gets 404, not 401; no
    # suspended check on this controller (AccountsController < Api::BaseController)
    user = caller.user
    account = lab.accounts.get(int(account_id)) if account_id.isdigit() else None
    if user is None or account is None or account.id not in user.memberships:
        raise not_found()
    return rails_json(views.account_json(lab, account))


# --- inboxes -------------------------------------------------------------------------------------------------
def _inbox(lab: ChatwootLab, caller: Caller, inbox_id: str) -> Inbox:
    """``fetch_inbox``: ``Current.account.inboxes.find`` (404) then ``authorize @inbox, :show?`` (401)."""
    assert caller.account is not None
    inbox = lab.inboxes.get(int(inbox_id)) if inbox_id.isdigit() else None
    if inbox is None or inbox.account_id != caller.account.id:
        raise not_found()
    lab.authorize_inbox_show(caller, inbox)
    return inbox


def _admin_only(caller: Caller) -> None:
    # ref chatwoot.md §1.3 "Administrator-only actions" (InboxPolicy create?/update?/set_agent_bot?)
    if not caller.administrator:
        raise not_allowed()


def _inbox_name_errors(lab: ChatwootLab, name: Any, channel_type: str) -> list[tuple[str, str]]:
    """ref chatwoot.md §4.1 "Inbox-name validation (2.7-era … 4.2.x)": presence, then (Email/Api/WebWidget
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


async def inboxes_index(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §4.1: {"payload":[…]}, policy_scope -> assigned_inboxes, order_by_name (lower(name) ASC);
    # hmac_token only for administrators
    visible = lab.visible_inbox_ids(caller)
    inboxes = sorted((i for i in lab.inboxes.values() if i.id in visible), key=lambda i: (i.name.lower(), i.id))
    return rails_json({"payload": [views.inbox_json(lab, i, caller.administrator) for i in inboxes]})


async def inboxes_show(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                       inbox_id: str) -> Response:
    # ref chatwoot.md §4.1 inbox object (show.json.jbuilder renders the same partial); fetch_inbox 404/401
    inbox = _inbox(lab, caller, inbox_id)
    return rails_json(views.inbox_json(lab, inbox, caller.administrator))


async def inboxes_create(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §4.1 POST inboxes: administrator only -> 401 "You are not authorized to do this action"
    _admin_only(caller)
    assert caller.account is not None
    params = lab.params(request)
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


async def inboxes_update(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                         inbox_id: str) -> Response:
    # ref chatwoot.md §4.1 PATCH: admin; can update channel.webhook_url (Channel::Api::EDITABLE_ATTRS)
    inbox = _inbox(lab, caller, inbox_id)
    _admin_only(caller)
    params = lab.params(request)
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


async def inbox_agent_bot(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                          inbox_id: str) -> Response:
    # ref chatwoot.md §4.2: {"agent_bot": {…}}; open to any member with inbox access. The link counts whatever
    # its active/inactive status (@inbox.agent_bot).
    inbox = _inbox(lab, caller, inbox_id)
    bot = lab.agent_bots.get(inbox.agent_bot_id) if inbox.agent_bot_id is not None else None
    if bot is None:
        return Response.raw_json(lab.agent_bot_none_body)  # UNVERIFIED (ref §10): see ChatwootLab docstring
    assert caller.account is not None
    return rails_json({"agent_bot": views.agent_bot_json(bot, caller.account.id, presenter=False)})


async def inbox_set_agent_bot(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                              inbox_id: str) -> Response:
    # ref chatwoot.md §4.2 set_agent_bot: administrator only; {"agent_bot": id} attaches, null detaches; empty
    # 200 (head :ok); unknown bot -> 404. Before-action order: fetch_inbox, fetch_agent_bot, check_authorization.
    inbox = _inbox(lab, caller, inbox_id)
    params = lab.params(request)
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


async def agent_bots_index(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §4.2: a bare array; AgentBot.where(account_id: [nil, account.id]) (system bots included)
    assert caller.account is not None
    account = caller.account
    bots = sorted((b for b in lab.agent_bots.values() if b.account_id in (None, account.id)), key=lambda b: b.id)
    return rails_json([views.agent_bot_json(b, account.id, presenter=True) for b in bots])


# --- conversations -------------------------------------------------------------------------------------------
def _page(params: dict[str, Any]) -> tuple[int, Any]:
    raw = params.get("page")
    try:
        number = max(int(raw), 1) if raw is not None else 1
    except (TypeError, ValueError):
        number = 1
    return number, (raw if raw is not None else 1)


def _conversation_value(lab: ChatwootLab, conv: Conversation, key: str, custom: bool) -> Any:
    if custom:
        return conv.custom_attributes.get(key)
    if key in texts.CONVERSATION_ADDITIONAL:
        return conv.additional_attributes.get(key)
    if key == "labels":
        return conv.labels
    return getattr(conv, key, None)


async def conversations_filter(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §3.1-§3.3: 422 {"error": …} in the account locale; POST but read-only
    account = caller.account
    assert account is not None
    params = lab.params(request)
    keys = texts.conversation_filter_keys(lab.v)
    try:
        conds = compile_conditions(params.get("payload"), keys, account.conversation_custom_attributes, lab.v,
                                   lab.account_locale(account))
    except FilterInvalid as exc:
        raise error(422, str(exc)) from None
    except FilterCrash:
        raise server_error() from None
    candidates = [c for c in lab.conversations.values() if c.account_id == account.id]
    if lab.v >= (4, 1, 0) and not caller.administrator:
        # Conversations::PermissionFilterService in the filter's base relation (UNVERIFIED first version)
        user = caller.user
        candidates = [c for c in candidates if user is not None and c.inbox_id in user.inbox_ids]
    matched: list[Conversation] = []
    for conv in candidates:
        test = conversation_matcher(conds, lambda k, custom, c=conv: _conversation_value(lab, c, k, custom),
                                    lab.clock())
        try:
            if test():
                matched.append(conv)
        except FilterCrash:
            raise server_error() from None
    matched.sort(key=lambda c: (-c.last_activity_at, -c.id))
    page, _ = _page(params)
    user_id = caller.user.id if caller.user else None
    meta = {"mine_count": sum(1 for c in matched if user_id is not None and c.assignee_id == user_id),
            "unassigned_count": sum(1 for c in matched if c.assignee_id is None),
            "all_count": len(matched)}
    window = matched[(page - 1) * 25: page * 25]
    return rails_json({"meta": meta, "payload": [views.conversation_json(lab, c) for c in window]})


async def conversations_create(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §5.2 + §4.3 (pending when inbox.active_bot? even if "status":"open" is sent)
    conv = lab.create_conversation(caller, lab.params(request))
    return rails_json(views.conversation_json(lab, conv))


async def conversations_show(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                             display_id: str) -> Response:
    # ref chatwoot.md §3.4 "Conversation object": find_by!(display_id:) -> 404; ConversationPolicy#show? -> 401
    conv = lab.find_conversation(caller, display_id)
    return rails_json(views.conversation_json(lab, conv))


async def conversations_toggle_status(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                                      display_id: str) -> Response:
    # ref chatwoot.md §5.2 toggle_status. Body: toggle_status.json.jbuilder opens with an *empty* `json.meta do
    # end` block, which jbuilder 2.11.5 drops (its test "empty block handling"), so the bytes are
    # {"payload":{…}} without the {"meta":{}} the reference/swagger show. Inference from the view; UNVERIFIED.
    conv = lab.find_conversation(caller, display_id)
    success = lab.toggle_status(caller, conv, lab.params(request))
    return rails_json({"payload": {"success": success, "conversation_id": conv.display_id,
                                      "current_status": conv.status,
                                      "snoozed_until": views.rails_time(conv.snoozed_until)}})


async def messages_index(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                         display_id: str) -> Response:
    # ref chatwoot.md §5.3 GET messages: meta{labels, additional_attributes, contact, assignee?, agent_last_seen_at,
    # assignee_last_seen_at}, payload = the last 20 messages (MessageFinder), oldest first
    conv = lab.find_conversation(caller, display_id)
    contact = lab.contacts.get(conv.contact_id)
    meta: dict[str, Any] = {"labels": conv.labels, "additional_attributes": conv.additional_attributes,
                            "contact": views.contact_push(contact) if contact else None}
    assignee = lab.users.get(conv.assignee_id) if conv.assignee_id is not None else None
    if assignee is not None:
        meta["assignee"] = views.user_push(assignee)
    meta["agent_last_seen_at"] = views.rails_time(conv.agent_last_seen_at)
    meta["assignee_last_seen_at"] = views.rails_time(conv.assignee_last_seen_at)
    messages = lab.messages_of(conv)[-20:]
    return rails_json({"meta": meta, "payload": [views.message_json(lab, m) for m in messages]})


async def messages_create(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                          display_id: str) -> Response:
    # ref chatwoot.md §5.3 POST messages: incoming only on API inboxes; any builder error -> 422 {"error": …};
    # then Message#reopen_conversation (§4.3)
    conv = lab.find_conversation(caller, display_id)
    msg = lab.create_message(caller, conv, lab.params(request))
    return rails_json(views.message_json(lab, msg))


async def messages_update(lab: ChatwootLab, request: Request, caller: Caller, account_id: str, display_id: str,
                          message_id: str) -> Response:
    # ref chatwoot.md §5.3 PATCH messages/{id}: 4.2.0+ (970e76ac); non-API inbox -> 403
    if lab.v < (4, 2, 0):
        return await lab.not_found(request)
    conv = lab.find_conversation(caller, display_id)
    if not lab.inboxes[conv.inbox_id].api:
        raise error(403, "Message status update is only allowed for API inboxes")
    msg = lab.messages.get(int(message_id)) if message_id.isdigit() else None
    if msg is None or msg.conversation_id != conv.id:
        raise not_found()
    params = lab.params(request)
    status = params.get("status")
    if status in ("sent", "delivered", "read", "failed") and not (msg.status == "read" and status == "delivered"):
        msg.status = str(status)
        attrs = {k: v for k, v in msg.content_attributes.items() if k != "external_error"}
        if status == "failed" and params.get("external_error") is not None:
            attrs["external_error"] = params["external_error"]
        msg.content_attributes = attrs
    return rails_json(views.message_json(lab, msg))


# --- contacts ------------------------------------------------------------------------------------------------
def _like(pattern: str, text: str | None, case_insensitive: bool) -> bool:
    """SQL LIKE/ILIKE: ``%`` any run, ``_`` any one character."""
    if text is None:
        return False
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if case_insensitive else 0)) is not None


def _contacts_page(lab: ChatwootLab, params: dict[str, Any], contacts: list[Contact], count: int | None) -> Response:
    page, echoed = _page(params)
    include = params.get("include_contact_inboxes")
    with_inboxes = str(include) == "true" if present(include) else True
    window = contacts[(page - 1) * 15: page * 15]  # RESULTS_PER_PAGE = 15
    return rails_json({"meta": {"count": count, "current_page": echoed},
                          "payload": [views.contact_json(lab, c, with_contact_inboxes=with_inboxes)
                                      for c in window]})


async def contacts_search(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §5.1 search: name/email/phone ILIKE, identifier LIKE, company_name ILIKE on %q%, only
    # resolved contacts, 15 per page; current_page echoes params[:page] (a string) or 1
    assert caller.account is not None
    params = lab.params(request)
    query = params.get("q")
    if not present(query):
        if lab.search_without_q_422:
            raise error(422, texts.SEARCH_NEEDS_Q)
        # `render … if params[:q].blank? && return` returns before rendering: the template renders with nils
        # (see ChatwootLab.search_without_q_422; UNVERIFIED)
        return rails_json({"meta": {"count": None, "current_page": _page(params)[1]}, "payload": []})
    pattern = f"%{str(query).strip()}%"
    hits = [c for c in lab.contacts_of(caller.account.id) if c.resolved and (
        _like(pattern, c.name, True) or _like(pattern, c.email, True) or _like(pattern, c.phone_number, True)
        or _like(pattern, c.identifier, False)
        or _like(pattern, _str(c.additional_attributes.get("company_name")), True))]
    return _contacts_page(lab, params, hits, len(hits))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _contact_value(contact: Contact, key: str, custom: bool) -> Any:
    if custom:
        return contact.custom_attributes.get(key)
    if key in texts.CONTACT_ADDITIONAL:
        return contact.additional_attributes.get(key)
    return getattr(contact, key, None)


async def contacts_filter(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §3.2 "Contacts keys" / "Contacts filter specifics" and §5.1 POST contacts/filter; the
    # identifier operator error is the one Evolution 1.7.0-1.7.2 hit (§3.3)
    account = caller.account
    assert account is not None
    params = lab.params(request)
    try:
        conds = compile_conditions(params.get("payload"), texts.contact_filter_keys(lab.v),
                                   account.contact_custom_attributes, lab.v, lab.account_locale(account))
    except FilterInvalid as exc:
        raise error(422, str(exc)) from None
    except FilterCrash:
        raise server_error() from None
    matched: list[Contact] = []
    for contact in lab.contacts_of(account.id):
        if not contact.resolved:
            continue
        test = contact_matcher(conds, lambda k, custom, c=contact: _contact_value(c, k, custom), lab.clock())
        try:
            if test():
                matched.append(contact)
        except FilterCrash:
            raise server_error() from None
    return _contacts_page(lab, params, matched, len(matched))


EMAIL_RE = re.compile(r"\A[^@\s]+@[^@\s]+\Z")  # Devise.email_regexp
PHONE_RE = re.compile(r"\+[1-9]\d{1,14}\Z")  # ref chatwoot.md §5.1 (unanchored at the start, as in Ruby)


async def contacts_create(lab: ChatwootLab, request: Request, caller: Caller, account_id: str) -> Response:
    # ref chatwoot.md §5.1 POST contacts: E.164 phone, per-account uniqueness of email (case-insensitive),
    # identifier and phone -> 422 {"message": …, "attributes": […]} (render_record_invalid). Messages in validation
    # declaration order (CW@4.10.1:app/models/contact.rb); the model's custom texts are always English (I18n.t at
    # class load).
    account = caller.account
    assert account is not None
    params = lab.params(request)
    email = str(params["email"]).strip().lower() if present(params.get("email")) else None
    identifier = _str(params.get("identifier")) if present(params.get("identifier")) else None
    phone = _str(params.get("phone_number")) if present(params.get("phone_number")) else None
    others = [c for c in lab.contacts.values() if c.account_id == account.id]
    errors: list[tuple[str, str]] = []
    if email is not None:
        if any((c.email or "").lower() == email for c in others):
            errors.append(("email", texts.TAKEN))
        if not EMAIL_RE.search(email):
            errors.append(("email", texts.EMAIL_INVALID))
    if identifier is not None and any(c.identifier == identifier for c in others):
        errors.append(("identifier", texts.TAKEN))
    if phone is not None:
        if any(c.phone_number == phone for c in others):
            errors.append(("phone_number", texts.TAKEN))
        if not PHONE_RE.search(phone):
            errors.append(("phone_number", texts.PHONE_INVALID))
    if errors:
        raise record_invalid(errors)
    inbox: Inbox | None = None
    if present(params.get("inbox_id")):
        found = lab.inboxes.get(int(params["inbox_id"])) if str(params["inbox_id"]).isdigit() else None
        if found is None or found.account_id != account.id:
            raise not_found()  # the transaction rolls the contact back
        inbox = found
    contact = lab.add_contact(account.id, _str(params.get("name")) or "", phone_number=phone, email=email,
                              identifier=identifier, blocked=rails_bool(params.get("blocked")))
    for key in ("additional_attributes", "custom_attributes"):
        if isinstance(params.get(key), dict):
            setattr(contact, key, dict(params[key]))
    ci = lab.contact_inbox_for(contact, inbox, _str(params.get("source_id"))) if inbox is not None else None
    return rails_json({"payload": {
        "contact": views.contact_json(lab, contact, with_contact_inboxes=True),
        "contact_inbox": {"inbox": views.inbox_record(inbox) if inbox is not None else None,
                          "source_id": ci.source_id if ci is not None else None},
    }})


async def contact_conversations(lab: ChatwootLab, request: Request, caller: Caller, account_id: str,
                                contact_id: str) -> Response:
    # ref chatwoot.md §3.4: {"payload":[…]}, limit 20; id DESC up to 4.0.1, last_activity_at DESC from 4.0.2;
    # limited to the caller's assigned inboxes; unknown contact -> 404 (ensure_contact)
    account = caller.account
    assert account is not None
    contact = lab.contacts.get(int(contact_id)) if contact_id.isdigit() else None
    if contact is None or contact.account_id != account.id:
        raise not_found()
    visible = lab.visible_inbox_ids(caller)
    convs = [c for c in lab.conversations.values() if c.contact_id == contact.id and c.inbox_id in visible]
    if lab.v >= (4, 0, 2):
        convs.sort(key=lambda c: (-c.last_activity_at, -c.id))
    else:
        convs.sort(key=lambda c: -c.id)
    return rails_json({"payload": [views.conversation_json(lab, c) for c in convs[:20]]})
