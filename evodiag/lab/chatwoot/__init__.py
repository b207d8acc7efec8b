"""Chatwoot emulator for the lab: a real HTTP server (via :class:`evodiag.lab.base.LabApp`) that answers the
Chatwoot endpoints Evolution API calls, with the bodies, status codes and version differences read in Chatwoot's
source (linked next to each behaviour, at the upstream "Bump version to X" commit of the release read).

Modules, bottom up: ``model`` (records), ``texts`` (messages per locale), ``rails`` (Rails params and errors),
``state`` (the state store: config, tables, scenario helpers), ``views`` (JSON shapes), ``filters``, ``auth``
(the auth pipeline and policies), ``webhooks`` (outbound), ``operations`` (builders, reopen and status rules),
``routes/<family>`` (handlers: ``server``, ``inboxes``, ``conversations``, ``contacts``), ``app``
(:class:`ChatwootLab`, the router). A new behaviour: state in ``state``, handler in its route family, route
line in ``app``.

Typical scenario setup::

    lab = ChatwootLab(version="3.8.0", locale="pt_BR")
    account = lab.add_account("Acme")
    admin = lab.add_user("Admin", token="admintoken", account_id=account.id)
    inbox = lab.add_inbox(account.id, "evolution", webhook_url="http://127.0.0.1:8080/chatwoot/webhook/evolution")
    bot = lab.add_agent_bot("Bot", account_id=account.id)
    lab.attach_bot(inbox.id, bot.id)          # new conversations in this inbox now start "pending"
"""

from evodiag.lab.chatwoot.app import ChatwootLab
from evodiag.lab.chatwoot.auth import Caller
from evodiag.lab.chatwoot.model import (
    Account,
    AgentBot,
    Contact,
    ContactInbox,
    Conversation,
    Delivery,
    Inbox,
    Message,
    PlatformApp,
    User,
    parse_version,
)
from evodiag.lab.chatwoot.rails import HTTPError

__all__ = [
    "Account",
    "AgentBot",
    "Caller",
    "ChatwootLab",
    "Contact",
    "ContactInbox",
    "Conversation",
    "Delivery",
    "HTTPError",
    "Inbox",
    "Message",
    "PlatformApp",
    "User",
    "parse_version",
]
