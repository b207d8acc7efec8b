"""The Chatwoot emulator's state store: the installation's configuration and its tables (accounts, users and
their tokens, agent bots, platform apps, inboxes, contacts, contact inboxes, conversations, messages, webhook
deliveries, attachment blobs), with the helpers scenarios use to fill them and the queries handlers share.
Route handlers (:mod:`.routes`) and domain operations (:mod:`.operations`) read and change it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from evodiag.lab.chatwoot import texts
from evodiag.lab.chatwoot.model import (
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


@dataclass
class ChatwootState:
    """An emulated Chatwoot ``version`` (any ``X.Y.Z``; behaviour switches on version comparisons; "3.7.0",
    "3.8.0", "4.2.0" and "4.10.1" are the reference points).

    Configuration:

    - ``locale``: the installation ``DEFAULT_LOCALE`` ("en" | "pt_BR"). Devise's unauthenticated message uses it
      (or a valid ``?locale=``), because ``authenticate_user!`` runs inside ApplicationController's
      ``switch_locale``, before any account is known. Account-scoped messages (filter 422s) use the *account*
      locale (``around_action :switch_locale_using_account_locale``); an :class:`Account` with ``locale=None``
      was created with DEFAULT_LOCALE and so follows this field.
    - ``queue_ok`` / ``data_ok``: Redis / Postgres health in ``GET /api`` (app/controllers/api_controller.rb).
    - ``drop_underscore_headers``: an nginx in front with the default ``underscores_in_headers off``: request
      headers whose name contains ``_`` are discarded before Chatwoot sees them
      (https://github.com/evolution-foundation/evolution-api/issues/1709).
    - ``enterprise``: the enterprise folder is present (the standard ``chatwoot/chatwoot`` image; ``-ce`` images
      are False). Affects ``active_bot?`` (response bot / Captain) and some extra JSON keys.
    - ``api_only_server``: ``CW_API_ONLY_SERVER=true``, ``/`` also answers like ``/api`` (config/routes.rb).
    - ``inbox_hmac_key``: ``CHATWOOT_INBOX_HMAC_KEY``; when set the profile carries ``hmac_identifier``.
    - ``agent_bot_none_body``: body of ``GET inboxes/{id}/agent_bot`` with no bot attached. UNVERIFIED:
      default ``{}`` because jbuilder 2.11.5 drops a key whose block sets nothing (its test "empty block
      handling") and a top-level blank renders as ``{}``; set ``'{"agent_bot":null}'`` to model the other reading.
    - ``search_without_q_422``: ``GET contacts/search`` without ``q``. The controller line is
      ``render … if params[:q].blank? && return``: Ruby evaluates ``return`` inside the condition, so the action
      returns *before* rendering and the default template renders ``{"meta":{"count":null,…},"payload":[]}``
      with 200. Default False models that reading (UNVERIFIED, not executed); True gives the reference's 422.
    - ``webhook_timeout``: seconds (5 s; configurable from 4.8.0 via WEBHOOK_TIMEOUT,
      https://github.com/chatwoot/chatwoot/pull/12777).
    - ``auto_deliver_webhooks``: POST ``message_created`` to an API inbox's ``webhook_url`` after every message
      created through the API (only loopback targets are contacted; others are recorded as failed).
    - ``frontend_url``: ``FRONTEND_URL``, the host of attachment ``data_url``s (default the
      ``.env.example`` value ``http://0.0.0.0:3000``). The lab serves ``/rails/active_storage/…`` itself, so
      pointing it at the lab's own URL makes attachments downloadable.
    - ``clock``: time source (UNIX seconds), for deterministic timestamps.
    """

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
    _tasks: set[asyncio.Task[object]] = field(default_factory=set, repr=False)

    # --- version -------------------------------------------------------------------------------------------
    @property
    def v(self) -> Version:
        return parse_version(self.version)

    def account_locale(self, account: Account) -> str:
        return texts.locale_or_default(account.locale or self.locale, self.locale)

    # --- scenario helpers ----------------------------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def _bump(self, kind: str, used: int) -> int:
        self._ids[kind] = max(self._ids.get(kind, 0), used)
        return used

    def add_account(self, name: str = "Acme", *, id: int | None = None, locale: str | None = None,
                    status: AccountStatus = "active") -> Account:
        """An account. ``locale=None``: created with DEFAULT_LOCALE, i.e. follows :attr:`locale`."""
        account_id = self._bump("account", id) if id is not None else self.next_id("account")
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
        user_id = self.next_id("user")
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
        bot_id = self.next_id("agent_bot")
        bot = AgentBot(bot_id, name, account_id=account_id, token=token or new_token(), outgoing_url=outgoing_url,
                       token_id=self.next_id("access_token"), token_created_at=self.clock())
        self.agent_bots[bot_id] = bot
        return bot

    def add_platform_app(self, name: str = "Platform", *, token: str | None = None) -> PlatformApp:
        app_id = self.next_id("platform_app")
        app = PlatformApp(app_id, name, token or new_token())
        self.platform_apps[app_id] = app
        return app

    def add_inbox(self, account_id: int, name: str = "WhatsApp", *, channel_type: str = "Channel::Api",
                  webhook_url: str | None = None, members: tuple[int, ...] | list[int] = (),
                  **options: Any) -> Inbox:
        """An inbox (API channel by default); ``members`` are user ids added as inbox members; ``options`` set any
        other :class:`Inbox` field (``lock_to_single_conversation=True``, ``dialogflow_enabled=True``…)."""
        inbox_id = self.next_id("inbox")
        now = self.clock()
        inbox = Inbox(inbox_id, account_id, name, channel_type=channel_type, channel_id=self.next_id(channel_type),
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
        contact = Contact(self.next_id("contact"), account_id, name, email=email, phone_number=phone_number,
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
        ci = ContactInbox(self.next_id("contact_inbox"), contact.id, inbox.id)
        if source_id:
            ci.source_id = str(source_id)
        self.contact_inboxes[ci.id] = ci
        return ci

    def add_conversation(self, inbox_id: int, contact_id: int, *, status: ConversationStatus = "open",
                         **options: Any) -> Conversation:
        """A conversation in exactly the given state (no ``determine_conversation_status``)."""
        inbox = self.inboxes[inbox_id]
        ci = self.contact_inbox_for(self.contacts[contact_id], inbox)
        return self.insert_conversation(inbox, ci, status, **options)

    def add_message(self, conversation: Conversation, content: str, *, message_type: str = "incoming",
                    **options: Any) -> Message:
        """A message stored as is (no reopen rules, no webhook)."""
        sender: tuple[str | None, int | None] = ("Contact", conversation.contact_id)
        if message_type != "incoming":
            sender = (None, None)
        return self.insert_message(conversation, MESSAGE_TYPES[message_type], content, sender, **options)

    # --- queries -------------------------------------------------------------------------------------------
    def active_bot(self, inbox_id: int) -> bool:
        """``inbox.active_bot?`` for this lab's version and edition."""
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

    # --- storage ------------------------------------------------------------------------------------------
    def insert_conversation(self, inbox: Inbox, ci: ContactInbox, status: ConversationStatus,
                             **options: Any) -> Conversation:
        now = self.clock()
        display_id = 1 + max((c.display_id for c in self.conversations.values()
                              if c.account_id == inbox.account_id), default=0)
        fields: dict[str, Any] = {"contact_inbox_id": ci.id, "status": status, "created_at": now, "updated_at": now,
                                  "last_activity_at": now, **options}
        conv = Conversation(self.next_id("conversation"), display_id, inbox.account_id, inbox.id, ci.contact_id,
                            **fields)
        self.conversations[conv.id] = conv
        return conv

    def insert_message(self, conv: Conversation, message_type: int, content: str | None,
                        sender: tuple[str | None, int | None], **options: Any) -> Message:
        now = self.clock()
        fields: dict[str, Any] = {"sender_type": sender[0], "sender_id": sender[1], "created_at": now,
                                  "updated_at": now, **options}
        msg = Message(self.next_id("message"), conv.account_id, conv.inbox_id, conv.id, message_type, content, **fields)
        self.messages[msg.id] = msg
        if message_type != MESSAGE_TYPES["activity"]:
            conv.last_activity_at = now
        conv.updated_at = now
        return msg

    def spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        """Work the server does after answering (webhook deliveries)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
