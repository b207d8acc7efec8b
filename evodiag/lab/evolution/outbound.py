"""Outbound HTTP from the emulated Evolution API: webhook deliveries
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts)
and the
shared client plumbing the Chatwoot sync uses.

Safety: the lab only ever talks to loopback. A destination on any other host is not contacted; the attempt is
recorded with the error a Node server gets for an unresolvable name (``getaddrinfo ENOTFOUND <host>``).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from evodiag.lab.evolution.model import Delivery, Instance
from evodiag.lab.evolution.state import EvolutionState

AXIOS_ACCEPT = "application/json, text/plain, */*"


class NotLoopback(Exception):
    """Raised by the request hook before any byte leaves for a non-loopback host."""

    def __init__(self, host: str) -> None:
        super().__init__(f"getaddrinfo ENOTFOUND {host}")


def is_loopback(host: str | None) -> bool:
    return bool(host) and (host == "localhost" or re.fullmatch(r"127(\.\d{1,3}){3}", host or "") is not None)


def new_client(timeout_s: float, hosts: dict[str, str] | None = None) -> httpx.AsyncClient:
    """An axios-like client: follows redirects, ignores proxy env vars. ``hosts`` maps compose-style service
    names to loopback addresses (the port and the Host header stay as in the URL, as on a docker network);
    every hop to any other non-loopback host fails before a byte is sent."""
    mapping = dict(hosts or {})

    async def resolve(request: httpx.Request) -> None:
        host = request.url.host
        target = mapping.get(host, host)
        if not is_loopback(target):
            raise NotLoopback(host)
        if target != host:
            request.url = request.url.copy_with(host=target)  # the Host header keeps the service name

    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=True, trust_env=False, verify=False,
                             event_hooks={"request": [resolve]})


def node_error(exc: BaseException, url: str, timeout_s: float, hosts: dict[str, str] | None = None) -> str:
    """The message a Node/axios client would log for this failure (resolved address, like Node)."""
    parts = urlsplit(url)
    if isinstance(exc, NotLoopback):
        return str(exc)
    if isinstance(exc, httpx.UnsupportedProtocol) or not parts.scheme or not parts.hostname:
        return f"Invalid URL: {url}"  # UNVERIFIED wording; axios throws TypeError [ERR_INVALID_URL]
    if isinstance(exc, httpx.ConnectError):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = (hosts or {}).get(parts.hostname, parts.hostname)
        return f"connect ECONNREFUSED {address}:{port}"  # wording observed on 2.3.6
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout of {int(timeout_s * 1000)}ms exceeded"
    return f"{type(exc).__name__}: {exc}"


def local_date_time(offset_hours: float) -> str:
    """``new Date(Date.now() - tzoffset).toISOString()``: local wall-clock time labelled ``Z``
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts#L436-L438)."""
    now = datetime.now(timezone.utc) + timedelta(hours=offset_hours)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def event_names(event: str) -> tuple[str, str, str]:
    """``messages.upsert`` -> (``messages.upsert``, ``MESSAGES_UPSERT``, ``messages-upsert``), as
    webhook.controller.ts#L86-L108 builds them."""
    upper = re.sub(r"[.-]", "_", event).upper()
    dotted = event if "." in event else upper.lower().replace("_", ".")
    return dotted, upper, upper.replace("_", "-").lower()


def _payload(lab: EvolutionState, inst: Instance, dotted: str, data: Any, destination: str,
             target: str) -> dict[str, Any]:
    """The POST body:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts#L92-L101
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/channel.service.ts#L1022-L1034"""
    body: dict[str, Any] = {"event": dotted, "instance": inst.name, "data": data, "destination": destination,
                            "date_time": local_date_time(lab.tz_offset_hours)}
    if inst.owner_jid is not None:
        body["sender"] = inst.owner_jid  # the instance's own JID; undefined (dropped) before it connects
    if lab.server_url is not None:
        body["server_url"] = lab.server_url
    if lab.is_v1:
        if lab.expose_in_fetch:
            # v1 local: the instance key; v1 global: the GLOBAL key
            # (https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/channel.service.ts#L1103-L1105)
            body["apikey"] = lab.global_key if target == "global" else inst.token
    else:
        body["apikey"] = inst.token if lab.expose_in_fetch else None  # v2: null unless exposed
    return body


async def _post_with_retries(lab: EvolutionState, client: httpx.AsyncClient, target: str, event: str, url: str,
                             payload: dict[str, Any], extra_headers: dict[str, str]) -> list[Delivery]:
    """v1: one POST, errors only logged. 2.0–2.2: up to 10 attempts on any error, 4xx included. 2.3+: backoff,
    no retry on the non-retryable statuses. Delays are lab fields (0 by default).
    https://github.com/EvolutionAPI/evolution-api/blob/2.2.3/src/api/integrations/event/webhook/webhook.controller.ts#L187-L230"""
    attempts = lab.webhook_max_attempts or (1 if lab.is_v1 else 10)
    headers = {"Accept": AXIOS_ACCEPT, "Content-Type": "application/json", "User-Agent": lab.user_agent,
               **extra_headers}
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    out: list[Delivery] = []
    for attempt in range(1, attempts + 1):
        status: int | None = None
        err: str | None = None
        try:
            resp = await client.post(url, content=body, headers=headers, timeout=lab.webhook_timeout_s)
            status = resp.status_code
            if status >= 300:
                err = f"Request failed with status code {status}"
        except Exception as exc:
            err = node_error(exc, url, lab.webhook_timeout_s, lab.hosts)
        record = Delivery(target, event, url, attempt, status, err, payload)
        out.append(record)
        lab.deliveries.append(record)
        non_retryable = lab.ver >= (2, 3, 0) and status in lab.non_retryable_statuses
        if err is None or lab.is_v1 or non_retryable:
            break
        if attempt < attempts and lab.webhook_retry_delay_s:
            factor = 2 ** (attempt - 1) if lab.ver >= (2, 3, 0) else 1  # 2.3: exponential; ≤2.2: fixed 30 s
            await asyncio.sleep(lab.webhook_retry_delay_s * factor)
    return out


async def deliver(lab: EvolutionState, inst: Instance, event: str, data: Any,
                  client: httpx.AsyncClient) -> list[Delivery]:
    """Send one event to the instance webhook and the global webhook."""
    dotted, upper, dashed = event_names(event)
    jobs = []
    wh = inst.webhook
    if wh is not None and wh.enabled and (not wh.events or upper in {e.upper() for e in wh.events}):
        # `${url}/${event}` when byEvents, no slash normalisation (`/hook//messages-upsert` observed on 2.3.6)
        url = f"{wh.url}/{dashed}" if wh.by_events else wh.url
        payload = _payload(lab, inst, dotted, data, wh.url, "instance")
        if lab.ver >= (2, 3, 0) and not re.match(r"^https?://", wh.url):
            # 2.3.x silently skips a URL not matching /^(https?:\/\/)/ at send time (webhook.controller.ts#L90)
            skipped = Delivery("instance", dotted, url, 0, None, "skipped: URL does not match ^https?://", payload)
            lab.deliveries.append(skipped)
        else:
            jobs.append(_post_with_retries(lab, client, "instance", dotted, url, payload,
                                           dict(wh.headers or {}) if lab.ver >= (2, 1, 0) else {}))
    if lab.global_webhook_url and upper in {e.upper() for e in lab.global_events}:
        # fires only if WEBHOOK_GLOBAL_ENABLED && WEBHOOK_EVENTS_<EVENT>
        # (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/config/env.config.ts#L747-L797)
        url = f"{lab.global_webhook_url}/{dashed}" if lab.global_by_events else lab.global_webhook_url
        # UNVERIFIED: `destination` of a global delivery (the global URL is assumed)
        payload = _payload(lab, inst, dotted, data, lab.global_webhook_url, "global")
        jobs.append(_post_with_retries(lab, client, "global", dotted, url, payload, {}))
    results = await asyncio.gather(*jobs)
    return [d for batch in results for d in batch]


def client_for(lab: EvolutionState) -> httpx.AsyncClient:
    """A fresh loopback-only client; use it as ``async with`` so no socket outlives the request."""
    return new_client(lab.webhook_timeout_s, lab.hosts)
