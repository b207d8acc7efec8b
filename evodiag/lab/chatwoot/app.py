"""The Chatwoot emulator: configuration, state, scenario helpers, the authentication pipeline and the domain
operations (conversation creation, message creation with the reopen rules, status toggling, webhooks).

The HTTP handlers live in :mod:`evodiag.lab.chatwoot.handlers`; they call into this class.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp, _Route
from evodiag.lab.chatwoot import texts
from evodiag.lab.chatwoot.model import (
    CONTENT_TYPES,
    CONVERSATION_STATUSES,
    MESSAGE_TYPES,
    Account,
    AccountStatus,
    AgentBot,
    Contact,
    ContactInbox,
    Conversation,
    ConversationStatus,
    Delivery,
    Inbox,
    Message,
    PlatformApp,
    Role,
    User,
    Version,
    new_token,
    parse_version,
)
from evodiag.lab.chatwoot.rails import (
    HTTPError,
    error,
    not_allowed,
    not_found,
    parse_params,
    present,
    rails_bool,
    rails_json,
    server_error,
)


@dataclass
class Caller:
    """Who is calling, after the auth pipeline.

    ``owner`` is the token's owner. ``current_user_is_user`` is ``Current.user.is_a?(User)`` (false for bots,
    platform apps, and SuperAdmins on 3.5.0-3.5.1). ``role`` is ``Current.account_user.role`` on account routes."""

    owner: User | AgentBot | PlatformApp
    current_user_is_user: bool
    account: Account | None = None
    role: Role | None = None

    @property
    def user(self) -> User | None:
        return self.owner if isinstance(self.owner, User) else None

    @property
    def bot(self) -> AgentBot | None:
        return self.owner if isinstance(self.owner, AgentBot) else None

    @property
    def administrator(self) -> bool:
        return self.role == "administrator"


@dataclass
class ChatwootLab(LabApp):
    """An emulated Chatwoot ``version`` (any ``X.Y.Z``; behaviour switches on version comparisons; "3.7.0",
    "3.8.0", "4.2.0" and "4.10.1" are the reference points).

    Configuration:

    - ``locale``: the installation ``DEFAULT_LOCALE`` ("en" | "pt_BR"). Devise's unauthenticated message uses it
      (or a valid ``?locale=``), because ``authenticate_user!`` runs inside ApplicationController's
      ``switch_locale``, before any account is known. Account-scoped messages (filter 422s) use the *account*
      locale (``around_action :switch_locale_using_account_locale``); an :class:`Account` with ``locale=None``
      was created with DEFAULT_LOCALE and so follows this field. ref chatwoot.md §1.2 "Error-message locale".
    - ``queue_ok`` / ``data_ok``: Redis / Postgres health in ``GET /api`` (ref §2).
    - ``drop_underscore_headers``: an nginx in front with the default ``underscores_in_headers off``: request
      headers whose name contains ``_`` are discarded before Chatwoot sees them (ref §1.2, §9).
    - ``enterprise``: the enterprise folder is present (the standard ``chatwoot/chatwoot`` image; ``-ce`` images
      are False). Affects ``active_bot?`` (response bot / Captain) and some extra JSON keys.
    - ``api_only_server``: ``CW_API_ONLY_SERVER=true``, ``/`` also answers like ``/api`` (ref §2).
    - ``inbox_hmac_key``: ``CHATWOOT_INBOX_HMAC_KEY``; when set the profile carries ``hmac_identifier``.
    - ``agent_bot_none_body``: body of ``GET inboxes/{id}/agent_bot`` with no bot attached. UNVERIFIED (ref §4.2,
      §10): default ``{}`` because jbuilder 2.11.5 drops a key whose block sets nothing (its test "empty block
      handling") and a top-level blank renders as ``{}``; set ``'{"agent_bot":null}'`` to model the other reading.
    - ``search_without_q_422``: ``GET contacts/search`` without ``q``. The controller line is
      ``render … if params[:q].blank? && return``: Ruby evaluates ``return`` inside the condition, so the action
      returns *before* rendering and the default template renders ``{"meta":{"count":null,…},"payload":[]}``
      with 200. Default False models that reading (UNVERIFIED, not executed); True gives the reference's 422.
    - ``webhook_timeout``: seconds (5 s; configurable from 4.8.0 via WEBHOOK_TIMEOUT; ref §6).
    - ``auto_deliver_webhooks``: POST ``message_created`` to an API inbox's ``webhook_url`` after every message
      created through the API (only loopback targets are contacted; others are recorded as failed).
    - ``frontend_url``: ``FRONTEND_URL``, the host of attachment ``data_url``s (ref §6; default the
      ``.env.example`` value ``http://0.0.0.0:3000``). The lab serves ``/rails/active_storage/…`` itself, so
      pointing it at the lab's own URL makes attachments downloadable.
    - ``clock``: time source (UNIX seconds), for deterministic timestamps.
    """

    name: str = "chatwoot"
    version: str = "4.10.1"
    locale: str = "en"
    queue_ok: bool = True
    data_ok: bool = True
    drop_underscore_headers: bool = False
    enterprise: bool = True
    api_only_server: bool = False
    inbox_hmac_key: str | None = None
    latest_chatwoot_version: str | None = None
    agent_bot_none_body: str = "{}"
    search_without_q_422: bool = False
    webhook_timeout: float = 5.0
    auto_deliver_webhooks: bool = False
    frontend_url: str = "http://0.0.0.0:3000"
    clock: Callable[[], float] = time.time

    accounts: dict[int, Account] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    agent_bots: dict[int, AgentBot] = field(default_factory=dict)
    platform_apps: dict[int, PlatformApp] = field(default_factory=dict)
    inboxes: dict[int, Inbox] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    contact_inboxes: dict[int, ContactInbox] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    blobs: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)
    _ids: dict[str, int] = field(default_factory=dict, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        from evodiag.lab.chatwoot.handlers import register

        register(self)

    # --- version -------------------------------------------------------------------------------------------
    @property
    def v(self) -> Version:
        return parse_version(self.version)

    def account_locale(self, account: Account) -> str:
        return texts.locale_or_default(account.locale or self.locale, self.locale)

    # --- scenario helpers ----------------------------------------------------------------------------------
    def _next(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def _bump(self, kind: str, used: int) -> int:
        self._ids[kind] = max(self._ids.get(kind, 0), used)
        return used

    def add_account(self, name: str = "Acme", *, id: int | None = None, locale: str | None = None,
                    status: AccountStatus = "active") -> Account:
        """An account. ``locale=None``: created with DEFAULT_LOCALE, i.e. follows :attr:`locale`."""
        account_id = self._bump("account", id) if id is not None else self._next("account")
        account = Account(account_id, name, locale=locale, status=status, created_at=self.clock())
        self.accounts[account_id] = account
        return account

    def add_user(self, name: str = "Admin", *, email: str | None = None, token: str | None = None,
                 role: Role = "administrator", account_id: int | None = None,
                 memberships: dict[int, Role] | None = None, inbox_ids: tuple[int, ...] | list[int] = (),
                 type: str | None = None) -> User:
        """A user with an access token. Membership: ``memberships`` if given, else ``{account_id: role}``, else
        ``role`` in the first account (if any). ``inbox_ids`` are inbox memberships (what an agent can see);
        ``type="SuperAdmin"`` for a super admin."""
        user_id = self._next("user")
        if memberships is None:
            target = account_id if account_id is not None else next(iter(self.accounts), None)
            memberships = {target: role} if target is not None else {}
        user = User(user_id, name, email or f"user{user_id}@example.com", token or new_token(), type=type,
                    memberships=dict(memberships), inbox_ids=set(inbox_ids), token_created_at=self.clock())
        self.users[user_id] = user
        return user

    def add_agent_bot(self, name: str = "Bot", *, account_id: int | None = None, token: str | None = None,
                      outgoing_url: str | None = "http://127.0.0.1:9/bot") -> AgentBot:
        """An agent bot; ``account_id=None`` is a system bot. Every bot gets an access token."""
        bot_id = self._next("agent_bot")
        bot = AgentBot(bot_id, name, account_id=account_id, token=token or new_token(), outgoing_url=outgoing_url,
                       token_id=self._next("access_token"), token_created_at=self.clock())
        self.agent_bots[bot_id] = bot
        return bot

    def add_platform_app(self, name: str = "Platform", *, token: str | None = None) -> PlatformApp:
        app_id = self._next("platform_app")
        app = PlatformApp(app_id, name, token or new_token())
        self.platform_apps[app_id] = app
        return app

    def add_inbox(self, account_id: int, name: str = "WhatsApp", *, channel_type: str = "Channel::Api",
                  webhook_url: str | None = None, members: tuple[int, ...] | list[int] = (),
                  **options: Any) -> Inbox:
        """An inbox (API channel by default); ``members`` are user ids added as inbox members; ``options`` set any
        other :class:`Inbox` field (``lock_to_single_conversation=True``, ``dialogflow_enabled=True``…)."""
        inbox_id = self._next("inbox")
        now = self.clock()
        inbox = Inbox(inbox_id, account_id, name, channel_type=channel_type, channel_id=self._next(channel_type),
                      webhook_url=webhook_url, created_at=now, updated_at=now, **options)
        self.inboxes[inbox_id] = inbox
        for user_id in members:
            self.users[user_id].inbox_ids.add(inbox_id)
        return inbox

    def attach_bot(self, inbox_id: int, bot_id: int, *, status: str = "active") -> None:
        """Connect an agent bot to an inbox (``agent_bot_inboxes`` row, ``active`` or ``inactive``)."""
        inbox = self.inboxes[inbox_id]
        inbox.agent_bot_id = bot_id
        inbox.agent_bot_status = "inactive" if status == "inactive" else "active"

    def detach_bot(self, inbox_id: int) -> None:
        self.inboxes[inbox_id].agent_bot_id = None

    def add_contact(self, account_id: int, name: str = "", *, phone_number: str | None = None,
                    email: str | None = None, identifier: str | None = None, blocked: bool = False,
                    inbox_id: int | None = None, source_id: str | None = None) -> Contact:
        """A contact (no validation), optionally with a contact_inbox for ``inbox_id``."""
        contact = Contact(self._next("contact"), account_id, name, email=email, phone_number=phone_number,
                          identifier=identifier, blocked=blocked, created_at=self.clock())
        self.contacts[contact.id] = contact
        if inbox_id is not None:
            self.contact_inbox_for(contact, self.inboxes[inbox_id], source_id)
        return contact

    def contact_inbox_for(self, contact: Contact, inbox: Inbox, source_id: str | None = None) -> ContactInbox:
        """``ContactInboxBuilder``: reuse the contact's row for this inbox (same ``source_id`` if one is given),
        else create one (a UUID ``source_id`` for API inboxes)."""
        for ci in self.contact_inboxes.values():
            if ci.contact_id == contact.id and ci.inbox_id == inbox.id and source_id in (None, ci.source_id):
                return ci
        ci = ContactInbox(self._next("contact_inbox"), contact.id, inbox.id)
        if source_id:
            ci.source_id = str(source_id)
        self.contact_inboxes[ci.id] = ci
        return ci

    def add_conversation(self, inbox_id: int, contact_id: int, *, status: ConversationStatus = "open",
                         **options: Any) -> Conversation:
        """A conversation in exactly the given state (no ``determine_conversation_status``)."""
        inbox = self.inboxes[inbox_id]
        ci = self.contact_inbox_for(self.contacts[contact_id], inbox)
        return self._insert_conversation(inbox, ci, status, **options)

    def add_message(self, conversation: Conversation, content: str, *, message_type: str = "incoming",
                    **options: Any) -> Message:
        """A message stored as is (no reopen rules, no webhook)."""
        sender: tuple[str | None, int | None] = ("Contact", conversation.contact_id)
        if message_type != "incoming":
            sender = (None, None)
        return self._insert_message(conversation, MESSAGE_TYPES[message_type], content, sender, **options)

    # --- queries -------------------------------------------------------------------------------------------
    def active_bot(self, inbox_id: int) -> bool:
        """``inbox.active_bot?`` for this lab's version and edition (ref chatwoot.md §4.3)."""
        return self.inboxes[inbox_id].active_bot(self.v, self.enterprise)

    def conversations_for(self, inbox_id: int) -> list[Conversation]:
        return sorted((c for c in self.conversations.values() if c.inbox_id == inbox_id), key=lambda c: c.id)

    def conversation(self, account_id: int, display_id: int) -> Conversation | None:
        return next((c for c in self.conversations.values()
                     if c.account_id == account_id and c.display_id == display_id), None)

    def messages_of(self, conversation: Conversation) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.conversation_id == conversation.id),
                      key=lambda m: m.id)

    def contacts_of(self, account_id: int) -> list[Contact]:
        return sorted((c for c in self.contacts.values() if c.account_id == account_id), key=lambda c: c.id)

    def inboxes_of(self, account_id: int) -> list[Inbox]:
        return sorted((i for i in self.inboxes.values() if i.account_id == account_id), key=lambda i: i.id)

    def unread_count(self, conv: Conversation) -> int:
        """``unread_incoming_messages.count``: incoming messages after ``agent_last_seen_at``, at most 10."""
        since = conv.agent_last_seen_at
        unread = [m for m in self.messages_of(conv)
                  if m.message_type == 0 and (since is None or m.created_at > since)]
        return min(len(unread), 10)

    def visible_inbox_ids(self, caller: Caller) -> set[int]:
        """``user.assigned_inboxes``: every account inbox for administrators, member inboxes for agents
        (ref chatwoot.md §1.3 "Inbox visibility")."""
        assert caller.account is not None
        inboxes = self.inboxes_of(caller.account.id)
        if caller.administrator:
            return {i.id for i in inboxes}
        user = caller.user
        return {i.id for i in inboxes if user is not None and i.id in user.inbox_ids}

    # --- requests ------------------------------------------------------------------------------------------
    def _match(self, request: Request) -> tuple[_Route | None, dict[str, Any]]:
        # Rails' router squeezes repeated slashes and drops a trailing one before matching
        # (Journey::Router::Utils.normalize_path; inference, UNVERIFIED against a live Chatwoot).
        path = re.sub(r"/+", "/", request.path)
        path = path.rstrip("/") or "/"
        normalised = Request(request.method, path + request.target[len(request.path):], request.headers,
                             request.body, request.received_at)
        return super()._match(normalised)

    async def not_found(self, request: Request) -> Response:
        """No route matched: Rails' exceptions app. JSON ``{"status":404,"error":"Not Found"}`` when the client asks
        for JSON, else ``public/404.html``. UNVERIFIED (Rails PublicExceptions; the HTML is abbreviated)."""
        if "json" in (request.header("accept") or ""):
            return rails_json({"status": 404, "error": "Not Found"}, 404)
        html = ("<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist (404)</title>\n"
                "</head>\n<body>\n  <h1>The page you were looking for doesn't exist.</h1>\n</body>\n</html>\n")
        return Response.text(html, 404, "text/html; charset=UTF-8")

    def behind_proxy(self, request: Request) -> Request:
        """What Chatwoot receives: with ``drop_underscore_headers``, nginx has discarded ``api_access_token``."""
        if not self.drop_underscore_headers:
            return request
        headers = {k: v for k, v in request.headers.items() if "_" not in k}
        return Request(request.method, request.target, headers, request.body, request.received_at)

    def params(self, request: Request) -> dict[str, Any]:
        """Rails ``params`` of ``request`` (see :func:`evodiag.lab.chatwoot.rails.parse_params`)."""
        return parse_params(request)

    # --- authentication (ref chatwoot.md §1.1-§1.3) ---------------------------------------------------------
    def _token(self, request: Request) -> str | None:
        # ref chatwoot.md §1.1: request.headers[:api_access_token] || request.headers[:HTTP_API_ACCESS_TOKEN].
        # Rack maps both `api_access_token` and `api-access-token` to HTTP_API_ACCESS_TOKEN; Puma keeps the hyphen
        # spelling when both are sent (UNVERIFIED precedence). `Authorization: Bearer` is ignored.
        for name in ("api-access-token", "api_access_token"):
            value = request.headers.get(name)
            if value is not None and value.strip():
                return value
        return None

    def _owner(self, token: str) -> User | AgentBot | PlatformApp | None:
        for user in self.users.values():
            if user.token == token:
                return user
        for bot in self.agent_bots.values():
            if bot.token == token:
                return bot
        for app in self.platform_apps.values():
            if app.token == token:
                return app
        return None

    def authenticate(self, request: Request, action: str, account_id: str | None, scope: str) -> Caller:
        """Run the before_actions in Chatwoot's order; raise :class:`HTTPError` with the exact body on failure.

        ``scope``: "account" (``Api::V1::Accounts::BaseController``), "none" (``Api::BaseController`` only)."""
        token = self._token(request)
        if token is None:
            # ref chatwoot.md §1.2 rows 1-2: devise_token_auth authenticate_user!, locale = ?locale or DEFAULT_LOCALE
            locale = texts.locale_or_default(self.params_locale(request), self.locale)
            raise HTTPError(rails_json({"errors": [texts.DEVISE_UNAUTHENTICATED[locale]]}, 401))
        owner = self._owner(token)
        if owner is None:
            raise error(401, texts.INVALID_TOKEN)  # ref §1.2 "Header present, token not in access_tokens"
        is_user = isinstance(owner, User)
        if is_user and owner.type == "SuperAdmin" and (3, 5, 0) <= self.v < (3, 5, 2):  # type: ignore[union-attr]
            # ref §1.2 "History": 56fbbe92 checked `[User, AgentBot].include?(@resource.class)`; fixed by ce8190da
            is_user = False
        if not is_user and not texts.bot_accessible(action, self.v):
            raise error(401, texts.NOT_FOR_BOTS)  # ref §1.2 / §1.3 BOT_ACCESSIBLE_ENDPOINTS
        caller = Caller(owner, is_user)
        if scope != "account":
            return caller
        account = self.accounts.get(int(account_id)) if account_id and account_id.isdigit() else None
        if account is None:
            raise not_found()  # ref §1.2: Account.find -> RecordNotFound -> 404
        # Order inside ensure_current_account (CW@3.8.0 and CW@4.10.1:
        # app/controllers/concerns/ensure_current_account_helper.rb): suspended is checked *before* membership.
        if account.status != "active":
            raise error(401, texts.SUSPENDED)
        if isinstance(owner, User):  # devise_token_auth current_user: any User, SuperAdmin included
            role = owner.memberships.get(account.id)
            if role is None:
                raise error(401, texts.NOT_MEMBER)
            caller.role = role
        elif isinstance(owner, AgentBot):
            own = self.v >= (4, 8, 0) and owner.account_id == account.id  # ref §1.2: 4.8.0+ (5f2b2f42, #12836)
            linked = any(i.agent_bot_id == owner.id and i.account_id == account.id for i in self.inboxes.values())
            if not (own or linked):
                raise error(401, texts.BOT_NOT_IN_ACCOUNT)
        caller.account = account
        return caller

    def params_locale(self, request: Request) -> str | None:
        return dict(parse_qsl(urlsplit(request.target).query)).get("locale")

    # --- policies ------------------------------------------------------------------------------------------
    def authorize_inbox_show(self, caller: Caller, inbox: Inbox) -> None:
        """``InboxPolicy#show?``: bots always; users via ``assigned_inboxes``. A platform token has no
        ``Current.user`` -> NoMethodError -> 500 (inference)."""
        if caller.bot is not None:
            return
        if not caller.current_user_is_user:
            raise server_error()
        if inbox.id not in self.visible_inbox_ids(caller):
            raise not_allowed()

    def authorize_conversation_show(self, caller: Caller, conv: Conversation) -> None:
        """``ConversationPolicy#show?``: administrator, agent bot, or an agent with access to the inbox."""
        if caller.administrator or caller.bot is not None:
            return
        if not caller.current_user_is_user:
            raise server_error()
        user = caller.user
        if user is None or conv.inbox_id not in user.inbox_ids:
            raise not_allowed()

    def find_conversation(self, caller: Caller, display_id: str) -> Conversation:
        assert caller.account is not None
        conv = self.conversation(caller.account.id, int(display_id)) if display_id.isdigit() else None
        if conv is None:
            raise not_found()  # find_by!(display_id:) -> 404
        self.authorize_conversation_show(caller, conv)
        return conv

    # --- domain operations ---------------------------------------------------------------------------------
    def _insert_conversation(self, inbox: Inbox, ci: ContactInbox, status: ConversationStatus,
                             **options: Any) -> Conversation:
        now = self.clock()
        display_id = 1 + max((c.display_id for c in self.conversations.values()
                              if c.account_id == inbox.account_id), default=0)
        fields: dict[str, Any] = {"contact_inbox_id": ci.id, "status": status, "created_at": now, "updated_at": now,
                                  "last_activity_at": now, **options}
        conv = Conversation(self._next("conversation"), display_id, inbox.account_id, inbox.id, ci.contact_id,
                            **fields)
        self.conversations[conv.id] = conv
        return conv

    def _insert_message(self, conv: Conversation, message_type: int, content: str | None,
                        sender: tuple[str | None, int | None], **options: Any) -> Message:
        now = self.clock()
        fields: dict[str, Any] = {"sender_type": sender[0], "sender_id": sender[1], "created_at": now,
                                  "updated_at": now, **options}
        msg = Message(self._next("message"), conv.account_id, conv.inbox_id, conv.id, message_type, content, **fields)
        self.messages[msg.id] = msg
        if message_type != MESSAGE_TYPES["activity"]:
            conv.last_activity_at = now
        conv.updated_at = now
        return msg

    def create_conversation(self, caller: Caller, params: dict[str, Any]) -> Conversation:
        """``POST …/conversations`` (ref chatwoot.md §5.2 and §4.3)."""
        account = caller.account
        assert account is not None
        inbox: Inbox | None = None
        contact: Contact | None = None
        if present(params.get("inbox_id")):
            inbox = self.inboxes.get(_int(params["inbox_id"]))
            if inbox is None or inbox.account_id != account.id:
                raise not_found()
            self.authorize_inbox_show(caller, inbox)
        if present(params.get("contact_id")):
            contact = self.contacts.get(_int(params["contact_id"]))
            if contact is None or contact.account_id != account.id:
                raise not_found()
        source_id = params.get("source_id")
        if inbox is not None and contact is not None:
            ci = self.contact_inbox_for(contact, inbox, str(source_id) if present(source_id) else None)
        else:
            # ref §5.2: fallback ContactInbox.find_by!(source_id:) -> 404
            found = next((c for c in self.contact_inboxes.values()
                          if source_id is not None and c.source_id == str(source_id)), None)
            if found is None:
                raise not_found()
            ci = found
            self.authorize_inbox_show(caller, self.inboxes[ci.inbox_id])
        ci_inbox = self.inboxes[ci.inbox_id]
        message = params.get("message") if isinstance(params.get("message"), dict) else None
        if ci_inbox.lock_to_single_conversation:
            # ref §5.2: ConversationBuilder returns the contact_inbox's last conversation, whatever its status
            existing = [c for c in self.conversations.values() if c.contact_inbox_id == ci.id]
            if existing:
                conv = max(existing, key=lambda c: c.id)
                if message:
                    self.create_message(caller, conv, message, on_error=500)
                return conv
        status = params.get("status")
        if present(status) and str(status) not in CONVERSATION_STATUSES:
            raise server_error()  # enum ArgumentError is not rescued by handle_with_exception
        if message:
            self.check_message(caller, ci_inbox, message, on_error=500)
        initial: ConversationStatus = str(status) if present(status) else "open"  # type: ignore[assignment]
        # ref §4.3 determine_conversation_status (before_create, after the builder copied params[:status]):
        if self.contacts[ci.contact_id].blocked:
            initial = "resolved"
        elif ci_inbox.active_bot(self.v, self.enterprise):
            initial = "pending"  # even when "status":"open" was sent (cw#7834)
        options: dict[str, Any] = {}
        for key in ("additional_attributes", "custom_attributes"):
            if isinstance(params.get(key), dict):
                options[key] = dict(params[key])
        if present(params.get("assignee_id")):
            options["assignee_id"] = _int(params["assignee_id"])
        if present(params.get("team_id")):
            options["team_id"] = _int(params["team_id"])
        conv = self._insert_conversation(ci_inbox, ci, initial, **options)
        if message:
            self.create_message(caller, conv, message, on_error=500)
        return conv

    def check_message(self, caller: Caller, inbox: Inbox, params: dict[str, Any], on_error: int = 422) -> None:
        """``Messages::MessageBuilder`` validations; errors become 422 ``{"error": e.message}`` from
        MessagesController#create (ref chatwoot.md §5.3) or 500 inside ConversationsController#create."""

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

    def create_message(self, caller: Caller, conv: Conversation, params: dict[str, Any],
                       on_error: int = 422) -> Message:
        """``POST …/messages``: build, then ``Message#reopen_conversation`` (ref chatwoot.md §4.3 "Reopen")."""
        inbox = self.inboxes[conv.inbox_id]
        self.check_message(caller, inbox, params, on_error)
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
        msg = self._insert_message(
            conv, type_value, _str_or_none(params.get("content")), sender,
            private=rails_bool(params.get("private")), content_type=params.get("content_type") or "text",
            content_attributes=attrs if isinstance(attrs, dict) else {},
            source_id=_str_or_none(params.get("source_id")), echo_id=_str_or_none(params.get("echo_id")),
            attachments=[])
        msg.attachments = [self._attachment(msg, f) for f in files if isinstance(f, dict)]
        self.reopen(conv, msg)
        if self.auto_deliver_webhooks and inbox.api and inbox.webhook_url and type_value in (0, 1, 3):
            task = asyncio.get_running_loop().create_task(self.deliver_message_created(msg.id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return msg

    def _attachment(self, msg: Message, upload: dict[str, Any]) -> dict[str, Any]:
        """``Attachment#push_event_data`` (CW@4.10.1:app/models/attachment.rb base_data + file_metadata). The blob
        is kept in :attr:`blobs`; ``data_url`` is ``url_for(file)`` on ``FRONTEND_URL`` (ref chatwoot.md §6
        "Attachments"), which the lab serves as a redirect to the file (UNVERIFIED: the signed id format)."""
        ctype = str(upload.get("content_type") or "application/octet-stream")
        major = ctype.split("/", 1)[0]
        kind = major if major in ("image", "audio", "video") else "file"
        name = str(upload.get("filename") or "file")
        data = upload.get("data") if isinstance(upload.get("data"), bytes) else b""
        signed = uuid.uuid4().hex
        self.blobs[signed] = (data, ctype, name)
        base = self.frontend_url.rstrip("/")
        out: dict[str, Any] = {"id": self._next("attachment"), "message_id": msg.id, "file_type": kind,
                               "account_id": msg.account_id, "extension": None,
                               "data_url": f"{base}/rails/active_storage/blobs/redirect/{signed}/{name}",
                               "thumb_url": f"{base}/rails/active_storage/representations/redirect/{signed}/{name}"
                               if kind == "image" else "",
                               "file_size": len(data), "width": None, "height": None}
        if kind == "audio":
            out["transcribed_text"] = ""
        return out

    def reopen(self, conv: Conversation, msg: Message) -> None:
        """``Message#reopen_conversation`` (ref chatwoot.md §4.3; CW@3.8.0 L316-330, CW@4.10.1 L383-402)."""
        if conv.muted or msg.message_type != MESSAGE_TYPES["incoming"]:
            return
        if conv.status == "snoozed":
            conv.status = "open"
        if conv.status == "resolved":
            conv.status = "pending" if self.active_bot(conv.inbox_id) else "open"
        # a pending conversation stays pending

    def toggle_status(self, caller: Caller, conv: Conversation, params: dict[str, Any]) -> bool | None:
        """``ConversationsController#toggle_status`` (ref chatwoot.md §4.3 "Toggle status", §5.2). Returns
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
        conv.updated_at = self.clock()
        user = caller.user
        if conv.status == "open" and caller.current_user_is_user and user is not None and caller.role == "agent":
            conv.assignee_id = user.id  # should_assign_conversation?: an agent opening it gets it assigned
        return success

    # --- outbound webhooks (ref chatwoot.md §6) --------------------------------------------------------------
    async def deliver_message_created(self, message_id: int, event: str = "message_created") -> Delivery:
        """POST the message's webhook payload to its API inbox's ``webhook_url``; see
        :func:`evodiag.lab.chatwoot.webhooks.deliver`."""
        from evodiag.lab.chatwoot.webhooks import deliver

        return await deliver(self, message_id, event)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
