"""Outbound webhooks of an API inbox (``Webhooks::Trigger``,
https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/lib/webhooks/trigger.rb)."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from evodiag.lab.chatwoot.model import Delivery
from evodiag.lab.chatwoot.state import ChatwootState
from evodiag.lab.chatwoot.views import message_webhook


async def deliver(lab: ChatwootState, message_id: int, event: str = "message_created") -> Delivery:
    """POST the message's webhook payload to its API inbox's ``webhook_url`` with ``webhook_timeout``.

    Like ``Webhooks::Trigger``: on failure of ``message_created``/``message_updated`` the message becomes
    ``failed`` with ``content_attributes.external_error`` = the error text (RestClient style "404 Not Found").
    Only loopback hosts are contacted; any other target is recorded as failed without sending."""
    msg = lab.messages[message_id]
    inbox = lab.inboxes[msg.inbox_id]
    url = inbox.webhook_url or ""
    payload = message_webhook(lab, msg, event)
    delivery = Delivery(url, event, payload, message_id, started_at=lab.clock())
    started = time.monotonic()
    host = urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        delivery.error = f"lab: refusing non-loopback webhook target {host or url!r}"
    else:
        try:
            async with httpx.AsyncClient(timeout=lab.webhook_timeout) as client:
                resp = await client.post(url, json=payload)
            delivery.status_code = resp.status_code
            if resp.status_code >= 400:
                delivery.error = f"{resp.status_code} {resp.reason_phrase}"
        except httpx.TimeoutException:
            delivery.error = "Timed out reading data from server"  # UNVERIFIED wording
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"  # UNVERIFIED wording
    delivery.duration_s = time.monotonic() - started
    lab.deliveries.append(delivery)
    if delivery.error is not None and inbox.api and event in ("message_created", "message_updated"):
        msg.status = "failed"
        msg.content_attributes = {**msg.content_attributes, "external_error": delivery.error}
    return delivery

