"""Evolution integration probes (issue 4): the instance webhook, and the Chatwoot integration as Evolution sees
it (CHATWOOT_ENABLED, its settings, the webhook route Chatwoot calls). Both API generations; facts from
Evolution API's source at the tags linked below. The Chatwoot-side checks consume the
``evolution.chatwoot.*`` facts published here: keep their names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from evodiag.engine import template
from evodiag.engine.context import ProbeContext
from evodiag.engine.http import origin
from evodiag.engine.results import Outcome
from evodiag.probes.configfiles import sources_from_settings
from evodiag.probes.declare import probe
from evodiag.probes.evolution import (
    APIKEY,
    enrich,
    error_messages,
    excerpt,
    is_v1,
    server_version,
)
from evodiag.probes.findings import Finding, combine

HTTP_URL = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
# What Chatwoot calls, unguarded:
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/routes/chatwoot.router.ts#L33-L41
WEBHOOK_ROUTE = "{evolution.url}/chatwoot/webhook/{evolution.instance}"


def _first(doc: dict[str, Any], *keys: str, default: Any = None) -> Any:
    """The first present key: v1 snake_case and v2 camelCase name the same field differently."""
    for key in keys:
        if key in doc and doc[key] is not None:
            return doc[key]
    return default


# ---------------------------------------------------------------------------------------------------------------
# evolution.webhook.url
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookView:
    url: str
    enabled: bool
    by_events: bool
    events: list[str] = field(default_factory=list)

    def target(self, event_path: str = "messages-upsert") -> str:
        """Where Evolution posts an event: ``<url>/<event-name>`` with byEvents, no normalisation:
        https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts#L86-L108"""
        return f"{self.url}/{event_path}" if self.by_events else self.url


def parse_webhook(doc: Any) -> WebhookView | None:
    """``webhook/find`` in its three shapes: v1 fixed object, v2 Prisma row, v2.1+ ``null`` when unset
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/event.controller.ts)."""
    if not isinstance(doc, dict):
        return None
    url = str(_first(doc, "url", default="") or "")
    enabled = bool(_first(doc, "enabled", default=False))
    if not url and not enabled:
        return None  # v1 answers an unset webhook with empty defaults
    events = [str(e) for e in (_first(doc, "events", default=[]) or [])]
    by_events = bool(_first(doc, "webhookByEvents", "webhook_by_events", "byEvents", default=False))
    return WebhookView(url, enabled, by_events, events)


def _event_key(name: str) -> str:
    return re.sub(r"[.\-]", "_", name).upper()  # 'messages.upsert' -> 'MESSAGES_UPSERT', as webhook.controller.ts


def _set_body(ctx: ProbeContext, url: str, *, by_events: bool = False,
              events: list[str] | None = None) -> str:
    """The webhook/set body for this generation: v1 flat snake, 2.0 flat camel, 2.1+ wrapped
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.schema.ts#L25-L50).
    A fix for an existing webhook keeps its byEvents and events: the pasted call must change only the URL."""
    subscribed = list(events) if events is not None else ["MESSAGES_UPSERT"]
    if is_v1(ctx):
        body: dict[str, Any] = {"url": url, "enabled": True, "webhook_by_events": by_events, "events": subscribed}
    elif (server_version(ctx) or (2, 1, 0)) < (2, 1, 0):
        body = {"enabled": True, "url": url, "webhookByEvents": by_events, "events": subscribed}
    else:
        body = {"webhook": {"enabled": True, "url": url, "byEvents": by_events, "events": subscribed}}
    return json.dumps(body)


@probe("evolution.webhook.url",
       diagnoses={"bad_scheme", "differs", "disabled", "double_slash", "no_upsert", "none", "none_expected", "ok",
                  "trailing_slash_by_events", "unexpected"}, texts={"events_all", "note_by_events"},
       values={"events_text", "excerpt", "fixed_url", "status", "target", "url", "webhook_body"},
       publishes={"evolution.webhook.by_events", "evolution.webhook.configured_url", "evolution.webhook.enabled",
                  "evolution.webhook.events", "evolution.webhook.target"},
       reads={"evolution.generation", "evolution.version", "webhook.url"})
async def webhook_url(ctx: ProbeContext) -> Outcome:
    exchange = await ctx.request("GET", "{evolution.url}/webhook/find/{evolution.instance}", headers=APIKEY)
    if exchange.status != 200:
        return ctx.diagnose("unexpected", status=exchange.status, excerpt=excerpt(exchange))
    view = parse_webhook(exchange.json())
    expected = ctx.value("webhook.url")
    if view is None:
        ctx.publish("evolution.webhook.enabled", False)
        if expected:
            return enrich(ctx, ctx.diagnose("none_expected", webhook_body=_set_body(ctx, str(expected))))
        return enrich(ctx, ctx.diagnose("none"))
    target = view.target()
    ctx.publish("evolution.webhook.enabled", view.enabled)
    ctx.publish("evolution.webhook.configured_url", view.url)
    ctx.publish("evolution.webhook.target", target)
    ctx.publish("evolution.webhook.by_events", view.by_events)
    ctx.publish("evolution.webhook.events", view.events)
    events_text = ", ".join(view.events) if view.events else ctx.text("events_all")
    values = {"url": view.url, "target": target, "events_text": events_text}
    problems: list[Finding] = []
    if not HTTP_URL.match(view.url):
        problems.append(Finding("bad_scheme", values))
    elif "//" in urlsplit(view.url).path:
        parts = urlsplit(view.url)
        fixed = parts._replace(path=re.sub(r"/{2,}", "/", parts.path)).geturl()
        problems.append(Finding("double_slash", {**values, "fixed_url": fixed, "webhook_body": _set_body(
            ctx, fixed, by_events=view.by_events, events=view.events)}))
    elif view.by_events and view.url.endswith("/"):
        fixed = view.url.rstrip("/")
        problems.append(Finding("trailing_slash_by_events", {**values, "fixed_url": fixed, "webhook_body": _set_body(
            ctx, fixed, by_events=True, events=view.events)}))
    if not view.enabled:
        problems.append(Finding("disabled", values))
    if view.events and "MESSAGES_UPSERT" not in {_event_key(e) for e in view.events}:
        problems.append(Finding("no_upsert", values))
    if expected and not problems and str(expected).rstrip("/") != view.url.rstrip("/"):
        problems.append(Finding("differs", values))
    outcome = combine(ctx, problems, fallback=Finding("ok", values))
    if view.by_events:
        outcome.notes.append(ctx.text("note_by_events", url=view.url.rstrip("/")))
    outcome.details["webhook"] = {"url": view.url, "enabled": view.enabled, "by_events": view.by_events,
                                  "events": view.events, "messages_upsert_target": target}
    return enrich(ctx, outcome)


# ---------------------------------------------------------------------------------------------------------------
# Chatwoot integration
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatwootView:
    """``chatwoot/find`` normalised over v1 snake_case and v2 camelCase (v2 fields:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts#L321-L356)."""

    enabled: bool
    url: str
    account_id: Any
    name_inbox: str
    conversation_pending: bool
    reopen_conversation: bool
    webhook_url: str

    @property
    def configured(self) -> bool:
        return bool(self.url or self.account_id)


def parse_chatwoot(doc: Any) -> ChatwootView:
    doc = doc if isinstance(doc, dict) else {}
    return ChatwootView(
        enabled=bool(_first(doc, "enabled", default=False)),
        url=str(_first(doc, "url", default="") or ""),
        account_id=_first(doc, "accountId", "account_id", default=""),
        name_inbox=str(_first(doc, "nameInbox", "name_inbox", default="") or ""),
        conversation_pending=bool(_first(doc, "conversationPending", "conversation_pending", default=False)),
        reopen_conversation=bool(_first(doc, "reopenConversation", "reopen_conversation", default=False)),
        webhook_url=str(_first(doc, "webhook_url", "webhookUrl", default="") or ""),
    )


def _disabled(exchange_status: int | None, doc: Any) -> bool:
    return exchange_status == 400 and any("Chatwoot is disabled" in m for m in error_messages(doc))


async def _find(ctx: ProbeContext) -> tuple[int | None, Any, str]:
    exchange = await ctx.request("GET", "{evolution.url}/chatwoot/find/{evolution.instance}", headers=APIKEY)
    return exchange.status, exchange.json_or_none(), excerpt(exchange)


def chatwoot_wanted(ctx: ProbeContext) -> bool:
    """Chatwoot is configured on either side: evodiag was given Chatwoot settings, or the given .env/compose
    files set a CHATWOOT_ variable (other than CHATWOOT_ENABLED off) or run a Chatwoot service. Someone who does
    not use Chatwoot must not get a failure for it being off."""
    if any(ctx.value(key) for key in ("chatwoot.url", "chatwoot.token", "chatwoot.account_id", "chatwoot.inbox")):
        return True
    sources = sources_from_settings(ctx.value("files.env"), ctx.value("files.compose"))
    for scope in sources.evolution:
        if any(name.startswith("CHATWOOT_") and (name != "CHATWOOT_ENABLED" or scope.value(name) == "true")
               for name in scope.variables):
            return True
    return sources.chatwoot_wired() is not None


@probe("evolution.chatwoot.enabled",
       diagnoses={"enabled", "not_configured", "server_disabled", "server_disabled_unused", "unexpected"},
       texts={"server_text"}, values={"excerpt", "server_text", "status", "url"},
       publishes={"evolution.chatwoot.enabled"},
       reads={"chatwoot.account_id", "chatwoot.inbox", "chatwoot.token", "chatwoot.url", "evolution.generation",
              "files.compose", "files.env"})
async def chatwoot_enabled(ctx: ProbeContext) -> Outcome:
    """``chatwoot/find``: 400 "Chatwoot is disabled" = CHATWOOT_ENABLED off on the server (v2):
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/controllers/chatwoot.controller.ts#L58"""
    status, doc, body = await _find(ctx)
    if _disabled(status, doc):
        ctx.publish("evolution.chatwoot.enabled", False)
        return ctx.diagnose("server_disabled" if chatwoot_wanted(ctx) else "server_disabled_unused")
    if status != 200:
        return ctx.diagnose("unexpected", status=status, excerpt=body)
    view = parse_chatwoot(doc)
    ctx.publish("evolution.chatwoot.enabled", view.enabled)
    if view.enabled:
        return ctx.diagnose("enabled", url=view.url or "no URL")
    server_text = "" if is_v1(ctx) else " " + ctx.text("server_text")
    return ctx.diagnose("not_configured", server_text=server_text)


def _publish_chatwoot(ctx: ProbeContext, view: ChatwootView) -> str:
    name_inbox = view.name_inbox or str(ctx.value("evolution.instance"))  # empty nameInbox = instance name
    ctx.publish("evolution.chatwoot.enabled", view.enabled)
    ctx.publish("evolution.chatwoot.url", view.url)
    ctx.publish("evolution.chatwoot.account_id", "" if view.account_id in (None, "") else str(view.account_id))
    ctx.publish("evolution.chatwoot.name_inbox", name_inbox)
    ctx.publish("evolution.chatwoot.webhook_url", view.webhook_url)
    ctx.publish("evolution.chatwoot.conversation_pending", view.conversation_pending)
    ctx.publish("evolution.chatwoot.reopen_conversation", view.reopen_conversation)
    return name_inbox


def _config_problems(ctx: ProbeContext, view: ChatwootView) -> list[Finding]:
    values: dict[str, Any] = {"url": view.url, "webhook_url": view.webhook_url, "account_id": view.account_id}
    problems: list[Finding] = []
    if not HTTP_URL.match(view.url):
        problems.append(Finding("no_url", values))
    elif view.url.endswith("/"):
        problems.append(Finding("url_trailing_slash", {**values, "fixed_url": view.url.rstrip("/")}))
    if view.account_id in (None, ""):
        problems.append(Finding("no_account", values))
    elif not isinstance(view.account_id, str):
        problems.append(Finding("account_not_string", {**values, "account_type": type(view.account_id).__name__}))
    hook = view.webhook_url
    if hook.startswith("undefined") or (hook and not HTTP_URL.match(hook)):
        # `${SERVER_URL}/chatwoot/...` with SERVER_URL unset (no default in v2)
        problems.append(Finding("server_url_unset", values))
    elif "//chatwoot/" in urlsplit(hook).path:  # SERVER_URL ending in "/": Evolution does not normalise it
        fixed = re.sub(r"(?<!:)//+chatwoot/", "/chatwoot/", hook)
        problems.append(Finding("server_url_trailing_slash", {**values, "fixed_webhook_url": fixed}))
    return problems


@probe("evolution.chatwoot.config",
       diagnoses={"account_not_string", "no_account", "no_url", "not_configured", "not_enabled", "ok",
                  "server_url_trailing_slash", "server_url_unset", "unexpected", "url_trailing_slash"},
       texts={"note_local_webhook", "pending_false", "pending_true", "reopen_false", "reopen_true"},
       values={"account_id", "account_type", "configured_text", "conversation_text", "excerpt", "fixed_url",
               "fixed_webhook_url", "host", "name_inbox", "status", "url", "webhook_url"},
       publishes={"evolution.chatwoot.account_id", "evolution.chatwoot.conversation_pending",
                  "evolution.chatwoot.enabled", "evolution.chatwoot.name_inbox",
                  "evolution.chatwoot.reopen_conversation", "evolution.chatwoot.url",
                  "evolution.chatwoot.webhook_url"}, reads={"evolution.instance"})
async def chatwoot_config(ctx: ProbeContext) -> Outcome:
    status, doc, body = await _find(ctx)
    if status != 200:
        return ctx.diagnose("unexpected", status=status, excerpt=body)
    view = parse_chatwoot(doc)
    name_inbox = _publish_chatwoot(ctx, view)
    if not view.enabled:
        if "chatwoot" in ctx.settings.configured_targets():  # Chatwoot is expected to receive messages
            return ctx.diagnose("not_enabled", configured_text=f", url {view.url}" if view.url else "")
        return ctx.diagnose("not_configured")
    conversation_text = " ".join((
        ctx.text("pending_true" if view.conversation_pending else "pending_false"),
        ctx.text("reopen_true" if view.reopen_conversation else "reopen_false"),
    ))
    values = {"url": view.url, "account_id": view.account_id, "name_inbox": name_inbox,
              "webhook_url": view.webhook_url, "conversation_text": conversation_text}
    outcome = combine(ctx, _config_problems(ctx, view), fallback=Finding("ok", values))
    host = urlsplit(view.webhook_url).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1") or (host and "." not in host and HTTP_URL.match(view.webhook_url)):
        outcome.notes.append(ctx.text("note_local_webhook", host=host))
    if outcome.message != conversation_text and conversation_text not in outcome.message:
        outcome.notes.append(conversation_text)
    outcome.details["chatwoot"] = {"enabled": view.enabled, "url": view.url, "account_id": view.account_id,
                                   "name_inbox": name_inbox, "webhook_url": view.webhook_url,
                                   "conversation_pending": view.conversation_pending,
                                   "reopen_conversation": view.reopen_conversation}
    return enrich(ctx, outcome)


@probe("evolution.chatwoot.webhook", diagnoses={"bot", "disabled", "no_provider", "not_served", "unexpected"},
       texts={"note_other_host"}, values={"body", "excerpt", "probed", "status", "webhook_url"},
       reads={"evolution.chatwoot.webhook_url", "evolution.url"})
async def chatwoot_webhook(ctx: ProbeContext) -> Outcome:
    """``POST /chatwoot/webhook/{name}`` with ``{}``: unguarded, answers ``{"message":"bot"}`` (or ``null``
    without a provider) and does nothing for a body without a conversation (receiveWebhook:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L1257-L1283)."""
    probed = template.render_url(WEBHOOK_ROUTE, ctx.scope)
    exchange = await ctx.request("POST", WEBHOOK_ROUTE, json={})
    doc = exchange.json_or_none()
    if exchange.status == 200 and doc is None and exchange.text.strip() in ("", "null"):
        outcome = ctx.diagnose("no_provider", probed=probed)
    elif exchange.status in (200, 201) and isinstance(doc, dict):
        outcome = ctx.diagnose("bot", probed=probed, body=excerpt(exchange))
    elif _disabled(exchange.status, doc):
        outcome = ctx.diagnose("disabled", probed=probed)
    elif exchange.status == 404:
        outcome = ctx.diagnose("not_served", probed=probed, status=exchange.status, excerpt=excerpt(exchange))
    else:
        outcome = ctx.diagnose("unexpected", probed=probed, status=exchange.status, excerpt=excerpt(exchange))
    outcome.evidence.append(exchange.summary())
    hook = ctx.value("evolution.chatwoot.webhook_url")
    if hook and HTTP_URL.match(str(hook)) and origin(str(hook)) != origin(str(ctx.value("evolution.url"))):
        outcome.notes.append(ctx.text("note_other_host", webhook_url=hook, probed=probed))
    return outcome
