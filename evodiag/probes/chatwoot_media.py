"""chatwoot.media: can Evolution download the attachments Chatwoot links to?

An agent's attachment reaches WhatsApp as a link: Chatwoot posts the message to Evolution with
``attachments[].data_url`` and Evolution downloads that URL itself (evolution-api 2.3.6 chatwoot.service.ts
L1427-1436, sendAttachment L1144-1158). Chatwoot builds ``data_url`` from FRONTEND_URL (chatwoot
app/models/attachment.rb ``file_metadata``), so the host in it must work from Evolution's container: the same
question network.domains asks of every configured URL, answered with the same classification
(:mod:`evodiag.netinfo`, :mod:`evodiag.probes.callgraph`).

Read-only: GETs of the inbox's most recent conversations and their messages. The attachment itself is never
downloaded (its content is personal data), and reports show the URL's origin only (the signed blob id and the
file name stay out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from evodiag.engine.context import ProbeContext
from evodiag.engine.http import Exchange
from evodiag.engine.results import Outcome, Status
from evodiag.netinfo import DnsResolver, HostInfo, HostKind, classify_host
from evodiag.probes.chatwoot import ACCOUNT, TOKEN, payload_list
from evodiag.probes.configfiles import ConfigSources, sources_from_settings
from evodiag.probes.declare import probe
from evodiag.probes.evolution import APIKEY, enrich, excerpt
from evodiag.probes.findings import Finding, combine
from evodiag.versions import in_range

RECENT_CONVERSATIONS = 5  # enough to find an attachment in a live inbox, few enough to stay cheap
FILE_TYPES = frozenset({"image", "audio", "video", "file"})  # location/fallback data_url is an external link
DNS_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class AttachmentHost:
    """Where attachments point: the URL's origin (never the signed path) and where evodiag read it."""

    origin: str
    host: str
    source: str


def origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.scheme and parts.netloc else url.strip()


def attachment_urls(messages: list[dict[str, Any]]) -> list[str]:
    """``data_url`` of the file attachments (image/audio/video/file) of ``messages``, newest message first."""
    urls: list[str] = []
    for message in reversed(messages):
        for attachment in message.get("attachments") or []:
            if not isinstance(attachment, dict) or attachment.get("file_type") not in FILE_TYPES:
                continue
            url = attachment.get("data_url")
            if isinstance(url, str) and url.strip():
                urls.append(url)
    return urls


async def _recent_attachment(ctx: ProbeContext) -> tuple[str | None, int, Exchange | None]:
    """The newest attachment URL in the inbox's most recent conversations, how many were read, and a failed
    exchange (if one failed)."""
    listing = await ctx.request("GET", ACCOUNT + "/conversations?inbox_id={chatwoot.inbox.id}&status=all&page=1",
                                headers=TOKEN)
    doc = listing.json_or_none()
    if listing.status != 200 or not isinstance(doc, dict):
        return None, 0, listing
    conversations = payload_list(doc.get("data"))[:RECENT_CONVERSATIONS]
    for conversation in conversations:
        exchange = await ctx.request("GET", ACCOUNT + f"/conversations/{conversation.get('id')}/messages",
                                     headers=TOKEN)
        if exchange.status != 200:
            return None, len(conversations), exchange
        urls = attachment_urls(payload_list(exchange.json_or_none()))
        if urls:
            return urls[0], len(conversations), None
    return None, len(conversations), None


def _frontend_url(sources: ConfigSources) -> tuple[str, str] | None:
    """FRONTEND_URL from the Chatwoot env/compose files given, with its ``file:line``."""
    for scope in sources.chatwoot:
        var = scope.get("FRONTEND_URL")
        if var is not None and var.value.strip():
            return var.value.strip(), f"FRONTEND_URL at {var.origin}"
    return None


def _verdict(info: HostInfo) -> str:
    """Judged from Evolution's side: the same reading of a host as network.domains gives a server-side edge."""
    if info.is_local:
        return "loopback"
    if info.kind is HostKind.TIMEOUT:
        return "dns_timeout"
    if info.unresolvable or info.kind is HostKind.INVALID:
        return "unresolvable"
    if info.kind is HostKind.INTERNAL_NAME:
        return "internal_name"
    return "ok"


@probe("chatwoot.media",
       diagnoses={"dns_timeout", "evolution_channel_audio", "internal_name", "loopback", "no_attachments", "ok",
                  "unexpected", "unresolvable"}, texts={"note_other_origin"},
       values={"api_origin", "channel", "conversations", "excerpt", "host", "id", "kind", "origin", "path",
               "resolver", "source", "status"},
       reads={"dns.server", "evolution.api_key", "evolution.chatwoot.url", "evolution.instance", "evolution.url",
              "evolution.version", "files.compose", "files.env"})
async def media(ctx: ProbeContext) -> Outcome:
    sources = sources_from_settings(ctx.value("files.env"), ctx.value("files.compose"))
    url, read, failed = await _recent_attachment(ctx)
    if failed is not None:
        path = urlsplit(failed.url).path
        return ctx.diagnose("unexpected", path=path, status=failed.status, excerpt=excerpt(failed))
    if url is not None:
        target = AttachmentHost(origin_of(url), (urlsplit(url.strip()).hostname or "").lower(),
                                "data_url of the newest attachment")
    else:
        frontend = _frontend_url(sources)
        if frontend is None:
            return ctx.diagnose("no_attachments", conversations=read)
        target = AttachmentHost(origin_of(frontend[0]), (urlsplit(frontend[0]).hostname or "").lower(), frontend[1])
    try:
        resolver = DnsResolver(ctx.value("dns.server"), timeout=min(ctx.state.options.timeout, DNS_TIMEOUT_S))
    except ValueError as exc:
        return ctx.outcome(Status.ERROR, f"dns.server: {exc}", error_kind="config")
    try:
        info = await classify_host(target.host, resolver, internal_names=sources.internal_names())
    finally:
        ctx.state.dns_answers.extend(resolver.records())
    values = {"origin": target.origin, "host": target.host, "source": target.source, "kind": info.kind.value,
              "resolver": resolver.nameserver}
    line = f"{target.source}: {target.origin} -> {target.host} is {info.kind.value}"
    findings = [Finding(_verdict(info), values, [line])]
    channel = await _instance_channel(ctx)
    if channel == "EVOLUTION" and in_range(ctx.value("evolution.version"), ">=2.2.0"):
        findings.append(Finding("evolution_channel_audio", {"channel": channel},
                                [f"instance {ctx.value('evolution.instance')}: integration {channel}"]))
    outcome = combine(ctx, findings, fallback=findings[0],
                      details={"attachments": {"origin": target.origin, "source": target.source,
                                               "host": info.to_dict(), "instance_channel": channel}})
    api = ctx.value("evolution.chatwoot.url")
    if api and origin_of(str(api)) != target.origin:
        outcome.notes.append(ctx.text("note_other_origin", api_origin=origin_of(str(api)), **values))
    return enrich(ctx, outcome, only_findings=True)


async def _instance_channel(ctx: ProbeContext) -> str | None:
    """The instance's channel (v2 fetchInstances ``integration``: WHATSAPP-BAILEYS, WHATSAPP-BUSINESS or
    EVOLUTION), when Evolution is configured; the same GET evolution.instance makes, so shared within a run."""
    if not (ctx.value("evolution.url") and ctx.value("evolution.instance") and ctx.value("evolution.api_key")):
        return None
    exchange = await ctx.request("GET", "{evolution.url}/instance/fetchInstances?instanceName={evolution.instance}",
                                 headers=APIKEY)
    doc = exchange.json_or_none() if exchange.status == 200 else None
    rows = doc if isinstance(doc, list) else [doc]
    name = ctx.value("evolution.instance")
    return next((str(r.get("integration")) for r in rows
                 if isinstance(r, dict) and r.get("name") == name and r.get("integration")), None)
