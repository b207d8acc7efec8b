"""Chatwoot emulator for the lab: a real HTTP server (via :class:`evodiag.lab.base.LabApp`) that answers the
Chatwoot endpoints Evolution API calls, with the bodies, status codes and version differences documented in
``/work/shared/reference/chatwoot.md`` (cited as "ref chatwoot.md §N" next to each behaviour).

Typical scenario setup::

    lab = ChatwootLab(version="3.8.0", locale="pt_BR")
    account = lab.add_account("Acme")
    admin = lab.add_user("Admin", token="admintoken", account_id=account.id)
    inbox = lab.add_inbox(account.id, "evolution", webhook_url="http://127.0.0.1:8080/chatwoot/webhook/evolution")
    bot = lab.add_agent_bot("Bot", account_id=account.id)
    lab.attach_bot(inbox.id, bot.id)          # new conversations in this inbox now start "pending"
"""

from evodiag.lab.chatwoot.app import Caller, ChatwootLab
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
