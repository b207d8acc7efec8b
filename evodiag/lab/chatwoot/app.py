"""The Chatwoot emulator's router: which handler answers which method and path.

State (configuration, tables, scenario helpers) lives in :mod:`.state`, the auth pipeline and policies in
:mod:`.auth`, domain operations in :mod:`.operations`, JSON views in :mod:`.views`, handlers in :mod:`.routes`
(one module per route family), outbound webhooks in :mod:`.webhooks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp, _Route
from evodiag.lab.chatwoot import webhooks
from evodiag.lab.chatwoot.model import Delivery
from evodiag.lab.chatwoot.routes import contacts, conversations, inboxes, server
from evodiag.lab.chatwoot.routes.endpoint import ACCOUNT, endpoint, not_found_page
from evodiag.lab.chatwoot.state import ChatwootState


@dataclass
class ChatwootLab(ChatwootState, LabApp):
    """An emulated Chatwoot: :class:`ChatwootState` (configuration and tables; see there) served over HTTP, plus
    the base class's request ``log``."""

    name: str = "chatwoot"

    def __post_init__(self) -> None:
        super().__post_init__()
        r = self.route
        for path, handler in (("/api", server.api_index),
                              ("/rails/active_storage/blobs/redirect/{signed}/{filename}", server.blob_redirect),
                              ("/rails/active_storage/representations/redirect/{signed}/{filename}",
                               server.blob_redirect),
                              ("/rails/active_storage/disk/{signed}/{filename}", server.blob_disk),
                              ("/", server.root)):
            r("GET", path, partial(handler, self))

        def account(action: str, handler: Any) -> Any:
            return endpoint(self, action, handler)

        r("GET", "/api/v1/profile", endpoint(self, "profiles#show", server.profile, scope="none"))
        r("GET", ACCOUNT, endpoint(self, "accounts#show", server.account_show, scope="none"))
        r("GET", f"{ACCOUNT}/inboxes", account("inboxes#index", inboxes.inboxes_index))
        r("POST", f"{ACCOUNT}/inboxes", account("inboxes#create", inboxes.inboxes_create), mutates=True)
        r("GET", f"{ACCOUNT}/inboxes/{{inbox_id}}", account("inboxes#show", inboxes.inboxes_show))
        r("PATCH", f"{ACCOUNT}/inboxes/{{inbox_id}}", account("inboxes#update", inboxes.inboxes_update),
          mutates=True)
        r("PUT", f"{ACCOUNT}/inboxes/{{inbox_id}}", account("inboxes#update", inboxes.inboxes_update), mutates=True)
        r("GET", f"{ACCOUNT}/inboxes/{{inbox_id}}/agent_bot", account("inboxes#agent_bot", inboxes.inbox_agent_bot))
        r("POST", f"{ACCOUNT}/inboxes/{{inbox_id}}/set_agent_bot",
          account("inboxes#set_agent_bot", inboxes.inbox_set_agent_bot), mutates=True)
        r("GET", f"{ACCOUNT}/agent_bots", account("agent_bots#index", inboxes.agent_bots_index))
        r("GET", f"{ACCOUNT}/conversations", account("conversations#index", conversations.conversations_index))
        r("POST", f"{ACCOUNT}/conversations/filter",
          account("conversations#filter", conversations.conversations_filter))
        r("POST", f"{ACCOUNT}/conversations", account("conversations#create", conversations.conversations_create),
          mutates=True)
        r("GET", f"{ACCOUNT}/conversations/{{display_id}}",
          account("conversations#show", conversations.conversations_show))
        r("POST", f"{ACCOUNT}/conversations/{{display_id}}/toggle_status",
          account("conversations#toggle_status", conversations.conversations_toggle_status), mutates=True)
        r("GET", f"{ACCOUNT}/conversations/{{display_id}}/messages",
          account("conversations/messages#index", conversations.messages_index))
        r("POST", f"{ACCOUNT}/conversations/{{display_id}}/messages",
          account("conversations/messages#create", conversations.messages_create), mutates=True)
        r("PATCH", f"{ACCOUNT}/conversations/{{display_id}}/messages/{{message_id}}",
          account("conversations/messages#update", conversations.messages_update), mutates=True)
        r("GET", f"{ACCOUNT}/contacts/search", account("contacts#search", contacts.contacts_search))
        r("POST", f"{ACCOUNT}/contacts/filter", account("contacts#filter", contacts.contacts_filter))
        r("POST", f"{ACCOUNT}/contacts", account("contacts#create", contacts.contacts_create), mutates=True)
        r("GET", f"{ACCOUNT}/contacts/{{contact_id}}/conversations",
          account("contacts/conversations#index", contacts.contact_conversations))

    def _match(self, request: Request) -> tuple[_Route | None, dict[str, Any]]:
        # Rails' router squeezes repeated slashes and drops a trailing one before matching
        # (Journey::Router::Utils.normalize_path; inference, UNVERIFIED against a live Chatwoot).
        path = re.sub(r"/+", "/", request.path)
        path = path.rstrip("/") or "/"
        normalised = Request(request.method, path + request.target[len(request.path):], request.headers,
                             request.body, request.received_at)
        return super()._match(normalised)

    async def not_found(self, request: Request) -> Response:
        return not_found_page(request)

    async def deliver_message_created(self, message_id: int, event: str = "message_created") -> Delivery:
        """POST the message's webhook payload to its API inbox's ``webhook_url``; see
        :func:`evodiag.lab.chatwoot.webhooks.deliver`."""
        return await webhooks.deliver(self, message_id, event)
