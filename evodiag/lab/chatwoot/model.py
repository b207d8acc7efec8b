"""Plain dataclass state of the Chatwoot emulator: what scenario code sets up and what the routes read and write.

Nothing here speaks HTTP. Field names follow Chatwoot's columns where one exists, so scenario authors can look
the meaning up in ``db/schema.rb``. Timestamps are UNIX epoch floats (UTC); the views render them the way each
Chatwoot view does (epoch integers, Rails ISO-8601 strings or ``:db`` strings).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from evodiag import versions

Version = tuple[int, int, int]
Role = Literal["administrator", "agent"]
AccountStatus = Literal["active", "suspended"]
ConversationStatus = Literal["open", "resolved", "pending", "snoozed"]

# `enum status` in
# https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/models/conversation.rb
CONVERSATION_STATUSES: dict[str, int] = {"open": 0, "resolved": 1, "pending": 2, "snoozed": 3}
# `enum message_type` in
# https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/models/message.rb
MESSAGE_TYPES: dict[str, int] = {"incoming": 0, "outgoing": 1, "activity": 2, "template": 3}
MESSAGE_TYPE_NAMES: dict[int, str] = {v: k for k, v in MESSAGE_TYPES.items()}
# `enum content_type` in app/models/message.rb at 4.10.1 (the first values; the lab only ever creates "text")
CONTENT_TYPES: tuple[str, ...] = ("text", "input_text", "input_textarea", "input_email", "input_select", "cards",
                                  "form", "article", "incoming_email", "input_csat", "integrations", "sticker")
PRIORITIES: tuple[str, ...] = ("low", "medium", "high", "urgent")

def parse_version(text: str) -> Version:
    """``"4.10.1"`` -> ``(4, 10, 1)``; a leading ``v`` or a suffix is tolerated."""
    version = versions.parse_version(text)
    if version is None:
        raise ValueError(f"not a Chatwoot version: {text!r}")
    return version


def new_token() -> str:
    """A random access token shaped like Chatwoot's (``has_secure_token``: 24 base58 characters)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(24))


@dataclass
class Account:
    """``accounts`` row. ``locale=None`` means "created with the installation's DEFAULT_LOCALE" and resolves to
    :attr:`ChatwootLab.locale` at request time (new accounts take DEFAULT_LOCALE:
    https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/.env.example#L22)."""

    id: int
    name: str
    locale: str | None = None
    status: AccountStatus = "active"
    created_at: float = 0.0
    domain: str | None = None
    support_email: str | None = None
    features: dict[str, bool] = field(default_factory=dict)
    # Keys of custom attribute definitions: a filter on such a key is accepted (filter_helper.rb).
    conversation_custom_attributes: list[str] = field(default_factory=list)
    contact_custom_attributes: list[str] = field(default_factory=list)


@dataclass
class User:
    """``users`` row plus its ``account_users`` (``memberships``) and ``inbox_members`` (``inbox_ids``).

    ``type`` is the STI column: likely ``None`` or ``"SuperAdmin"``. ``token`` is the
    ``access_tokens.token`` of the user (Profile -> Access Token)."""

    id: int
    name: str
    email: str
    token: str
    type: str | None = None
    memberships: dict[int, Role] = field(default_factory=dict)
    inbox_ids: set[int] = field(default_factory=set)
    display_name: str | None = None
    message_signature: str | None = None
    pubsub_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    ui_settings: dict[str, Any] = field(default_factory=dict)
    availability: str = "online"
    active_account_id: int | None = None
    token_created_at: float = 0.0

    @property
    def available_name(self) -> str:
        return self.display_name or self.name


@dataclass
class AgentBot:
    """``agent_bots`` row; ``account_id=None`` is a system bot."""

    id: int
    name: str
    account_id: int | None = None
    token: str | None = None
    outgoing_url: str | None = None
    description: str | None = None
    bot_config: dict[str, Any] = field(default_factory=dict)
    token_id: int = 0
    token_created_at: float = 0.0

    @property
    def system_bot(self) -> bool:
        return self.account_id is None


@dataclass
class PlatformApp:
    """A Super Admin -> Platform Apps token (valid only on ``/platform/api/v1/...``)."""

    id: int
    name: str
    token: str


@dataclass
class Inbox:
    """``inboxes`` row with its channel, agent bot link and bot integrations.

    ``agent_bot_id``/``agent_bot_status`` model the ``agent_bot_inboxes`` row (``enum status: {active, inactive}``),
    ``dialogflow_enabled`` an enabled Dialogflow hook, ``response_bot_enabled`` the enterprise response bot
    (3.8-3.16), ``captain_assistant``/``captain_responses_left`` the enterprise Captain (4.0+). See
    :meth:`active_bot`."""

    id: int
    account_id: int
    name: str
    channel_type: str = "Channel::Api"
    channel_id: int = 0
    webhook_url: str | None = None
    hmac_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    hmac_mandatory: bool = False
    inbox_identifier: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    additional_attributes: dict[str, Any] = field(default_factory=dict)
    agent_bot_id: int | None = None
    agent_bot_status: Literal["active", "inactive"] = "active"
    dialogflow_enabled: bool = False
    response_bot_enabled: bool = False
    captain_assistant: bool = False
    captain_responses_left: bool = True
    lock_to_single_conversation: bool = False
    allow_messages_after_resolved: bool = True
    enable_auto_assignment: bool = True
    greeting_enabled: bool = False
    greeting_message: str | None = None
    working_hours_enabled: bool = False
    out_of_office_message: str | None = None
    timezone: str = "UTC"
    enable_email_collect: bool = True
    csat_survey_enabled: bool = False
    sender_name_type: str = "friendly"
    business_name: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def api(self) -> bool:
        return self.channel_type == "Channel::Api"

    def active_bot(self, version: Version, enterprise: bool) -> bool:
        """``Inbox#active_bot?`` (app/models/inbox.rb and enterprise/app/models/enterprise/inbox.rb, 3.8.0 and 4.2.0:
        https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/models/inbox.rb).

        CE: an *active* agent-bot link, or an enabled Dialogflow hook. Enterprise adds, by version:
        <4.0.0 the response bot; 4.0.0-4.0.1 a linked Captain assistant; >=4.0.2 a linked Captain assistant with
        responses left (``captain_active?``; git ancestry puts commit 3b366f43 in 4.0.2, the reference says
        "4.2.0+", both agree at 4.2.0)."""
        if self.agent_bot_id is not None and self.agent_bot_status == "active":
            return True
        if self.dialogflow_enabled:
            return True
        if not enterprise:
            return False
        if version < (4, 0, 0):
            return self.response_bot_enabled
        if version < (4, 0, 2):
            return self.captain_assistant
        return self.captain_assistant and self.captain_responses_left


@dataclass
class Contact:
    id: int
    account_id: int
    name: str = ""
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None
    blocked: bool = False
    additional_attributes: dict[str, Any] = field(default_factory=dict)
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    created_at: float = 0.0
    last_activity_at: float | None = None

    @property
    def resolved(self) -> bool:
        """``Contact.resolved_contacts``: a non-empty email, phone number or identifier."""
        return bool(self.email or self.phone_number or self.identifier)


@dataclass
class ContactInbox:
    id: int
    contact_id: int
    inbox_id: int
    source_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    hmac_verified: bool = False


@dataclass
class Conversation:
    """``conversations`` row. ``display_id`` is the per-account number every ``/conversations/{id}`` route uses
    (``find_by!(display_id: …)``)."""

    id: int
    display_id: int
    account_id: int
    inbox_id: int
    contact_id: int
    contact_inbox_id: int | None = None
    status: ConversationStatus = "open"
    assignee_id: int | None = None
    team_id: int | None = None
    campaign_id: int | None = None
    priority: str | None = None
    muted: bool = False
    snoozed_until: float | None = None
    additional_attributes: dict[str, Any] = field(default_factory=dict)
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: float = 0.0
    updated_at: float = 0.0
    last_activity_at: float = 0.0
    agent_last_seen_at: float | None = None
    assignee_last_seen_at: float | None = None
    contact_last_seen_at: float | None = None
    first_reply_created_at: float | None = None
    waiting_since: float | None = None


@dataclass
class Message:
    """``messages`` row. ``message_type`` is the integer enum value (REST JSON carries the integer; webhooks the
    name)."""

    id: int
    account_id: int
    inbox_id: int
    conversation_id: int
    message_type: int
    content: str | None = None
    private: bool = False
    status: str = "sent"
    source_id: str | None = None
    content_type: str = "text"
    content_attributes: dict[str, Any] = field(default_factory=dict)
    additional_attributes: dict[str, Any] = field(default_factory=dict)
    sender_type: str | None = None
    sender_id: int | None = None
    echo_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass
class Delivery:
    """One outbound webhook attempt (lib/webhooks/trigger.rb)."""

    url: str
    event: str
    payload: dict[str, Any]
    message_id: int | None
    started_at: float
    duration_s: float = 0.0
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
