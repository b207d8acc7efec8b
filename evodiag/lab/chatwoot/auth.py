"""Who is calling: Chatwoot's authentication pipeline (token header, owner, bot-accessible actions, account
membership, suspended accounts) and the policies handlers apply
(https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/controllers/concerns/access_token_auth_helper.rb)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from evodiag.httpserver import Request
from evodiag.lab.chatwoot import texts
from evodiag.lab.chatwoot.model import Account, AgentBot, Conversation, Inbox, PlatformApp, Role, User
from evodiag.lab.chatwoot.rails import HTTPError, error, not_allowed, not_found, rails_json, server_error
from evodiag.lab.chatwoot.state import ChatwootState


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


def visible_inbox_ids(lab: ChatwootState, caller: Caller) -> set[int]:
    """``user.assigned_inboxes``: every account inbox for administrators, member inboxes for agents
    (app/models/user.rb, ``assigned_inboxes``)."""
    assert caller.account is not None
    inboxes = lab.inboxes_of(caller.account.id)
    if caller.administrator:
        return {i.id for i in inboxes}
    user = caller.user
    return {i.id for i in inboxes if user is not None and i.id in user.inbox_ids}


def behind_proxy(lab: ChatwootState, request: Request) -> Request:
    """What Chatwoot receives: with ``drop_underscore_headers``, nginx has discarded ``api_access_token``."""
    if not lab.drop_underscore_headers:
        return request
    headers = {k: v for k, v in request.headers.items() if "_" not in k}
    return Request(request.method, request.target, headers, request.body, request.received_at)


def token_of(request: Request) -> str | None:
    # request.headers[:api_access_token] || request.headers[:HTTP_API_ACCESS_TOKEN] (api/base_controller.rb).
    # Rack maps both `api_access_token` and `api-access-token` to HTTP_API_ACCESS_TOKEN; Puma keeps the hyphen
    # spelling when both are sent (UNVERIFIED precedence). `Authorization: Bearer` is ignored.
    for name in ("api-access-token", "api_access_token"):
        value = request.headers.get(name)
        if value is not None and value.strip():
            return value
    return None


def owner_of(lab: ChatwootState, token: str) -> User | AgentBot | PlatformApp | None:
    for user in lab.users.values():
        if user.token == token:
            return user
    for bot in lab.agent_bots.values():
        if bot.token == token:
            return bot
    for app in lab.platform_apps.values():
        if app.token == token:
            return app
    return None


def authenticate(lab: ChatwootState, request: Request, action: str, account_id: str | None, scope: str) -> Caller:
    """Run the before_actions in Chatwoot's order; raise :class:`HTTPError` with the exact body on failure.

    ``scope``: "account" (``Api::V1::Accounts::BaseController``), "none" (``Api::BaseController`` only)."""
    token = token_of(request)
    if token is None:
        # devise_token_auth authenticate_user!, locale = ?locale or DEFAULT_LOCALE
        locale = texts.locale_or_default(params_locale(request), lab.locale)
        raise HTTPError(rails_json({"errors": [texts.DEVISE_UNAUTHENTICATED[locale]]}, 401))
    owner = owner_of(lab, token)
    if owner is None:
        raise error(401, texts.INVALID_TOKEN)  # header present, token not in access_tokens
    is_user = isinstance(owner, User)
    if is_user and owner.type == "SuperAdmin" and (3, 5, 0) <= lab.v < (3, 5, 2):  # type: ignore[union-attr]
        # 56fbbe92 checked `[User, AgentBot].include?(@resource.class)`; fixed by ce8190da
        # (https://github.com/chatwoot/chatwoot/pull/8739)
        is_user = False
    if not is_user and not texts.bot_accessible(action, lab.v):
        raise error(401, texts.NOT_FOR_BOTS)  # AccessTokenAuthHelper::BOT_ACCESSIBLE_ENDPOINTS
    caller = Caller(owner, is_user)
    if scope != "account":
        return caller
    account = lab.accounts.get(int(account_id)) if account_id and account_id.isdigit() else None
    if account is None:
        raise not_found()  # Account.find -> RecordNotFound -> 404
    # Order inside ensure_current_account (3.8.0 and 4.10.1): suspended is checked *before* membership.
    # https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/controllers/concerns/ensure_current_account_helper.rb
    if account.status != "active":
        raise error(401, texts.SUSPENDED)
    if isinstance(owner, User):  # devise_token_auth current_user: any User, SuperAdmin included
        role = owner.memberships.get(account.id)
        if role is None:
            raise error(401, texts.NOT_MEMBER)
        caller.role = role
    elif isinstance(owner, AgentBot):
        # 4.8.0+ (commit 5f2b2f42, https://github.com/chatwoot/chatwoot/pull/12836)
        own = lab.v >= (4, 8, 0) and owner.account_id == account.id
        linked = any(i.agent_bot_id == owner.id and i.account_id == account.id for i in lab.inboxes.values())
        if not (own or linked):
            raise error(401, texts.BOT_NOT_IN_ACCOUNT)
    caller.account = account
    return caller


def params_locale(request: Request) -> str | None:
    return dict(parse_qsl(urlsplit(request.target).query)).get("locale")


def authorize_inbox_show(lab: ChatwootState, caller: Caller, inbox: Inbox) -> None:
    """``InboxPolicy#show?``: bots always; users via ``assigned_inboxes``. A platform token has no
    ``Current.user`` -> NoMethodError -> 500 (inference)."""
    if caller.bot is not None:
        return
    if not caller.current_user_is_user:
        raise server_error()
    if inbox.id not in visible_inbox_ids(lab, caller):
        raise not_allowed()


def authorize_conversation_show(lab: ChatwootState, caller: Caller, conv: Conversation) -> None:
    """``ConversationPolicy#show?``: administrator, agent bot, or an agent with access to the inbox."""
    if caller.administrator or caller.bot is not None:
        return
    if not caller.current_user_is_user:
        raise server_error()
    user = caller.user
    if user is None or conv.inbox_id not in user.inbox_ids:
        raise not_allowed()


def find_conversation(lab: ChatwootState, caller: Caller, display_id: str) -> Conversation:
    assert caller.account is not None
    conv = lab.conversation(caller.account.id, int(display_id)) if display_id.isdigit() else None
    if conv is None:
        raise not_found()  # find_by!(display_id:) -> 404
    authorize_conversation_show(lab, caller, conv)
    return conv
