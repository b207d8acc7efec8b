"""Evolution API probes (issue 4): reachability and generation, the API key, the known-issue table, and the
helpers the other ``evolution_*`` probe modules share.

Every probe here works against both API generations: v1 (1.7.x/1.8.x, snake_case) and v2 (2.x, camelCase).
``evolution.reachable`` publishes ``evolution.version`` and ``evolution.generation`` (``v1`` | ``v2``) first, and
the others branch on them. Facts: Evolution API's source at the tags linked below.
All user-facing text lives in checks.yaml; probes pick a named diagnosis and fill in values.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from evodiag import errors
from evodiag.catalog.model import Catalog, KnownIssue, Ref
from evodiag.engine.context import ProbeContext
from evodiag.engine.http import Exchange
from evodiag.engine.results import Outcome, Status
from evodiag.probes.declare import probe
from evodiag.versions import Version, in_range, parse_version

# The key goes in the `apikey` header on every guarded route, v1 and v2:
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/guards/auth.guard.ts#L12
APIKEY: dict[str, Any] = {"apikey": {"secret": "evolution.api_key"}}

# Publicly known default global keys -> where they come from. Never printed: only the source is.
DEFAULT_KEYS: dict[str, str] = {
    "B6D711FCDE4D4FD5936544120E713976": "the v1 Dockerfile and Docker/.env.example",
    "429683C4C977415CAAFCCE10F7D57E11": "the v2 .env.example",
    "BQYHJGJHJ": "the code default used when AUTHENTICATION_API_KEY is unset",
}

# GET / on 2.3.x fetches web.whatsapp.com/sw.js per call: above this it gets a note, not a finding.
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/utils/fetchLatestWaWebVersion.ts
SLOW_ROOT_MS = 1500.0
LIVENESS_PATH = "/evodiag-liveness-check"  # an unknown route: Evolution answers 404 in its envelope, no work done

# The WhatsApp Web version built into the Baileys of a release: GET / reports it only when fetching the current
# one from web.whatsapp.com/sw.js (and Baileys' own lookup) failed (2.3.6 src/utils/fetchLatestWaWebVersion.ts).
BAILEYS_FALLBACK_WA_VERSIONS: dict[str, str] = {"2.3000.1027934701": "Baileys 7.0.0-rc.6 of Evolution 2.3.6"}
EGRESS_FACT = "evolution.whatsapp_egress"  # "none" when the server likely cannot reach WhatsApp
EGRESS_EVIDENCE_FACT = "evolution.whatsapp_egress_evidence"

# Which fact holds each product's version, for the known-issue table.
PRODUCT_VERSION_KEYS: dict[str, str] = {
    "evolution-api": "evolution.version",
    "chatwoot": "chatwoot.version",
    "openim-server": "openim.version",
}


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------------------


def generation_of(version: str | None, doc: Mapping[str, Any]) -> str | None:
    """``v1`` for 1.x, ``v2`` for 2.x; without a parseable version, the welcome body's keys hint:
    ``swagger`` only in v1, ``clientName`` from 2.0.10, ``whatsappWebVersion`` from 2.3.0."""
    parsed = parse_version(version)
    if parsed is not None:
        return "v1" if parsed < (2, 0, 0) else "v2"
    if "swagger" in doc:
        return "v1"
    if "clientName" in doc or "whatsappWebVersion" in doc:
        return "v2"
    return None


def is_v1(ctx: ProbeContext) -> bool:
    return ctx.value("evolution.generation") == "v1"


def server_version(ctx: ProbeContext) -> Version | None:
    return parse_version(ctx.value("evolution.version"))


def error_messages(doc: Any) -> list[str]:
    """The strings in Evolution's error envelope ``{"response":{"message": ...}}``: a string, a list, or a
    nested list for schema errors
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/abstract/abstract.router.ts#L46-L59)."""
    if not isinstance(doc, dict):
        return []
    response = doc.get("response")
    raw = response.get("message") if isinstance(response, dict) else doc.get("message")
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None:
            out.append(str(value))

    walk(raw)
    return out


def excerpt(exchange: Exchange, limit: int = 160) -> str:
    text = " ".join(exchange.text.split())
    return (text[:limit] + "…") if len(text) > limit else (text or "(empty body)")


# ---------------------------------------------------------------------------------------------------------------
# Known issues
# ---------------------------------------------------------------------------------------------------------------


def _product_version(product: str, facts: Mapping[str, Any]) -> str | None:
    key = PRODUCT_VERSION_KEYS.get(product, f"{product}.version")
    value = facts.get(key)
    return str(value) if value not in (None, "") else None


def with_version_known(issue: KnownIssue, facts: Mapping[str, Any]) -> bool:
    return issue.with_product is None or _product_version(issue.with_product, facts) is not None


def matching_known_issues(catalog: Catalog, facts: Mapping[str, Any], *, observed_by: str | None = None,
                          product: str | None = None, include_unknown_with: bool = False) -> list[KnownIssue]:
    """Known issues (top-level ``known_issues:`` of checks.yaml) whose version ranges match ``facts``
    (settings and facts: ``evolution.version``, ``chatwoot.version``, ...).

    ``observed_by`` keeps only issues that check observes (a probe enriching its own result); ``product``
    keeps one product's issues. An issue bound to a second product (``with``) whose version is unknown is left
    out unless ``include_unknown_with``."""
    found = []
    for issue in catalog.known_issues:
        if observed_by is not None and observed_by not in issue.observed_by:
            continue
        if product is not None and issue.product != product:
            continue
        if not in_range(_product_version(issue.product, facts), issue.versions):
            continue
        if issue.with_product is not None:
            other = _product_version(issue.with_product, facts)
            if other is None and not include_unknown_with:
                continue
            if other is not None and not in_range(other, issue.with_versions or ""):
                continue
        found.append(issue)
    return found


def issue_note(ctx: ProbeContext, issue: KnownIssue) -> str:
    """One line about a known issue, rendered from the evolution.known_issues catalog templates."""
    name = "issue_note" if with_version_known(issue, ctx.scope) else "possible_note"
    values = {"id": issue.id, "symptom": issue.symptom, "workaround": issue.workaround,
              "fixed_text": f" (fixed in {issue.fixed_in})" if issue.fixed_in else "",
              "with_product": issue.with_product or "", "with_versions": issue.with_versions or ""}
    owner = ctx.state.catalog.checks.get("evolution.known_issues")
    try:
        template = owner.text(name) if owner else ""
    except KeyError:
        template = ""
    if not template:
        return f"{issue.id}: {issue.symptom} {issue.workaround}"
    return ctx.render(template, **values)


def merge_refs(current: Iterable[Ref], extra: Iterable[Ref]) -> tuple[Ref, ...]:
    out: list[Ref] = list(current)
    seen = {(r.project, r.number) for r in out}
    for ref in extra:
        if (ref.project, ref.number) not in seen:
            seen.add((ref.project, ref.number))
            out.append(ref)
    return tuple(out)


def enrich(ctx: ProbeContext, outcome: Outcome, *, only_findings: bool = False) -> Outcome:
    """Add the known issues this check observes (for the detected versions) to its result: refs and a note.
    This is how a live check takes over an issue from evolution.known_issues."""
    if only_findings and not outcome.status.is_finding:
        return outcome
    for issue in matching_known_issues(ctx.state.catalog, ctx.scope, observed_by=ctx.check.id):
        outcome.refs = merge_refs(outcome.refs, issue.refs)
        outcome.notes.append(issue_note(ctx, issue))
    return outcome


# ---------------------------------------------------------------------------------------------------------------
# evolution.reachable
# ---------------------------------------------------------------------------------------------------------------


def _html_title(text: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    title = " ".join(match.group(1).split())[:80] if match else ""
    return f' ("{title}")' if title else ""


def _is_html(exchange: Exchange) -> bool:
    ctype = exchange.response_headers.get("content-type", "").lower()
    return "html" in ctype or exchange.text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


@probe("evolution.reachable", diagnoses={"fallback_wa_version", "html", "proxy_error", "root_hangs", "timeout"},
       texts={"egress_fallback_text", "egress_hang_text", "note_slow", "note_slow_23", "note_v1", "note_v2"},
       values={"alive_ms", "alive_status", "detail", "elapsed_ms", "fallback_of", "timeout", "title", "version"},
       publishes={"evolution.client_name", "evolution.generation", "evolution.version",
                  "evolution.whatsapp_egress", "evolution.whatsapp_egress_evidence",
                  "evolution.whatsapp_web_version"},
       reads={"evolution.generation", "evolution.version", "evolution.whatsapp_web_version"})
async def reachable(ctx: ProbeContext) -> Outcome:
    """``GET /``: version, generation, and a useful message for proxies, HTML pages and a hanging 2.3.x."""
    try:
        exchange = await ctx.fetch()
    except errors.RequestTimeout as exc:
        return await _root_timeout(ctx, exc)
    if _is_html(exchange):
        name = "proxy_error" if exchange.status in (502, 503, 504) else "html"
        outcome = ctx.diagnose(name, **{"http.status": exchange.status, "title": _html_title(exchange.text)})
        outcome.error_kind = "non_json"
        return outcome
    doc = exchange.json_or_none()
    if exchange.status == 200 and isinstance(doc, dict):
        generation = generation_of(doc.get("version"), doc)
        if generation:
            ctx.publish("evolution.generation", generation)
        for fact, key in (("evolution.whatsapp_web_version", "whatsappWebVersion"),
                          ("evolution.client_name", "clientName")):
            if doc.get(key):
                ctx.publish(fact, doc[key])
    outcome = ctx.judge(exchange)
    outcome.evidence.append(exchange.summary())
    wa_version = str(ctx.value("evolution.whatsapp_web_version") or "")
    if outcome.status is Status.PASS and wa_version in BAILEYS_FALLBACK_WA_VERSIONS:
        _publish_no_egress(ctx, ctx.text("egress_fallback_text", version=wa_version))
        outcome = ctx.diagnose("fallback_wa_version", fallback_of=BAILEYS_FALLBACK_WA_VERSIONS[wa_version])
        outcome.evidence.append(exchange.summary())
    elif outcome.status is Status.PASS:
        generation = ctx.value("evolution.generation")
        outcome.notes.append(ctx.text("note_v1" if generation == "v1" else "note_v2"))
        if exchange.elapsed_ms > SLOW_ROOT_MS:
            version = server_version(ctx)
            slow = "note_slow_23" if version and version >= (2, 3, 0) else "note_slow"
            outcome.notes.append(ctx.text(slow, elapsed_ms=f"{exchange.elapsed_ms:.0f}"))
        enrich(ctx, outcome)
    return outcome


def _publish_no_egress(ctx: ProbeContext, evidence: str) -> None:
    """Tell the instance checks that the server likely cannot reach WhatsApp, and why evodiag thinks so."""
    ctx.publish(EGRESS_FACT, "none")
    ctx.publish(EGRESS_EVIDENCE_FACT, evidence)


async def _root_timeout(ctx: ProbeContext, exc: errors.RequestTimeout) -> Outcome:
    """GET / hung. 2.3.x does an outbound fetch on every GET / (fetchLatestWaWebVersion), so ask another route
    that does no work: an answer in Evolution's error format proves the server is alive and points at its egress."""
    started = time.perf_counter()
    try:
        alive = await ctx.request("GET", "{evolution.url}" + LIVENESS_PATH, timeout=min(5.0, max(1.0, ctx.timeout)))
    except (errors.TargetError, asyncio.TimeoutError):
        alive = None
    doc = alive.json_or_none() if alive is not None else None
    if alive is None or not (isinstance(doc, dict) and "response" in doc and "status" in doc):
        outcome = ctx.diagnose("timeout", detail=str(exc))
        outcome.error_kind = "timeout"
        return outcome
    ctx.publish("evolution.generation", "v2")  # only 2.3.x hangs on GET / while answering other routes
    _publish_no_egress(ctx, ctx.text("egress_hang_text", timeout=f"{ctx.timeout:g}"))
    outcome = ctx.diagnose("root_hangs", timeout=f"{ctx.timeout:g}", alive_status=alive.status,
                           alive_ms=f"{(time.perf_counter() - started) * 1000:.0f}")
    outcome.evidence.append(alive.summary())
    return outcome


# ---------------------------------------------------------------------------------------------------------------
# evolution.auth
# ---------------------------------------------------------------------------------------------------------------


def _is_instance_token(doc: Any, key: str) -> bool:
    """fetchInstances rows carry each instance's token (v1 ``instance.apikey``, v2 ``token``) when exposed: a
    match means the configured key is an instance token, not the global key."""
    rows = doc if isinstance(doc, list) else [doc]
    for row in rows:
        if not isinstance(row, dict):
            continue
        nested = row.get("instance")
        inner = nested if isinstance(nested, dict) else row
        if key and key in (inner.get("apikey"), inner.get("token")):
            return True
    return False


@probe("evolution.auth",
       diagnoses={"default_key", "global_ok", "header_dropped", "instance_token", "no_key", "unexpected",
                  "unverifiable", "wrong_global_key", "wrong_key"}, values={"excerpt", "route", "source", "status"},
       publishes={"evolution.key_kind"},
       reads={"evolution.api_key", "evolution.generation", "evolution.instance", "evolution.version"})
async def auth(ctx: ProbeContext) -> Outcome:
    """Global key first (verify-creds on v2 ≥2.0.10, else fetchInstances), then the instance route, which
    also accepts the instance's own token."""
    key = ctx.value("evolution.api_key")
    if not key:
        return ctx.diagnose("no_key")
    version = server_version(ctx)
    verify = not is_v1(ctx) and (version is None or version >= (2, 0, 10))
    method, path = ("POST", "/verify-creds") if verify else ("GET", "/instance/fetchInstances")
    route = f"{method} {path}"
    exchange = await ctx.request(method, "{evolution.url}" + path, headers=APIKEY)
    doc = exchange.json_or_none()
    if exchange.status == 200:
        if not verify and _is_instance_token(doc, str(key)):
            ctx.publish("evolution.key_kind", "instance")
            return ctx.diagnose("instance_token", route=route)
        ctx.publish("evolution.key_kind", "global")
        if str(key) in DEFAULT_KEYS:
            return ctx.diagnose("default_key", source=DEFAULT_KEYS[str(key)])
        return ctx.diagnose("global_ok", route=route)
    if exchange.status == 403 and any("Missing global api key" in m for m in error_messages(doc)):
        # ≤1.7.5: no header arrived
        # (https://github.com/EvolutionAPI/evolution-api/blob/1.7.4/src/api/guards/auth.guard.ts#L67)
        return ctx.diagnose("header_dropped", route=route)
    if exchange.status == 401:
        return await _not_global(ctx, route)
    return ctx.diagnose("unexpected", route=route, status=exchange.status, excerpt=excerpt(exchange))


async def _not_global(ctx: ProbeContext, route: str) -> Outcome:
    """The key is not the global key. Existence is checked before the key (guard order in
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/routes/index.router.ts#L41), so on the instance
    route 200 = its token, 401 = the instance exists and the key is wrong, 404 = nothing known about the key."""
    if not ctx.value("evolution.instance"):
        return ctx.diagnose("wrong_global_key", route=route)
    instance_route = "GET /instance/connectionState/{evolution.instance}"
    exchange = await ctx.request("GET", "{evolution.url}/instance/connectionState/{evolution.instance}",
                                 headers=APIKEY)
    if exchange.status == 200:
        ctx.publish("evolution.key_kind", "instance")
        return ctx.diagnose("instance_token", route=ctx.render(instance_route))
    if exchange.status == 401:
        return ctx.diagnose("wrong_key", route=route)
    if exchange.status == 404:
        return ctx.diagnose("unverifiable", route=route)
    return ctx.diagnose("unexpected", route=ctx.render(instance_route), status=exchange.status,
                        excerpt=excerpt(exchange))


# ---------------------------------------------------------------------------------------------------------------
# evolution.known_issues
# ---------------------------------------------------------------------------------------------------------------


def _observed(ctx: ProbeContext, issue: KnownIssue) -> list[str]:
    """The observer checks that actually ran (not skipped or blocked) in this run."""
    ran = []
    for check_id in issue.observed_by:
        result = ctx.result_of(check_id)
        if result is not None and result.status not in (Status.SKIP, Status.BLOCKED):
            ran.append(check_id)
    return ran


@probe("evolution.known_issues", diagnoses={"found", "none", "unknown_version"},
       texts={"covered_text", "issue_note", "possible_note"},
       values={"count", "covered", "covered_text", "fixed_text", "id", "summary", "symptom", "with_product",
               "with_versions", "workaround", "workarounds"}, reads={"evolution.version"})
async def known_issues(ctx: ProbeContext) -> Outcome:
    """Warn about version-bound issues no live check of this run could observe and an upgrade fixes; the rest
    become notes (covered by a live check, or informational)."""
    if not ctx.value("evolution.version"):
        return ctx.diagnose("unknown_version")
    issues = matching_known_issues(ctx.state.catalog, ctx.scope, product="evolution-api", include_unknown_with=True)
    covered: list[str] = []
    warn: list[KnownIssue] = []
    info: list[KnownIssue] = []
    for issue in issues:
        if _observed(ctx, issue):
            covered.append(issue.id)
        elif issue.fixed_in and with_version_known(issue, ctx.scope):
            warn.append(issue)
        else:
            info.append(issue)
    if warn:
        summary = "; ".join(f"{i.id} ({i.symptom.split(': ')[0].rstrip('.')}, fixed in {i.fixed_in})" for i in warn)
        outcome = ctx.diagnose("found", count=len(warn), summary=summary,
                               workarounds=" ".join(i.workaround for i in warn))
        outcome.evidence.extend(issue_note(ctx, i) for i in warn)
    else:
        covered_text = ctx.text("covered_text", covered=", ".join(covered)) if covered else ""
        outcome = ctx.diagnose("none", covered_text=f" {covered_text}" if covered_text else "")
    for issue in warn + info:
        outcome.refs = merge_refs(outcome.refs, issue.refs)
    outcome.notes.extend(issue_note(ctx, i) for i in info)
    outcome.details["known_issues"] = {"warned": [i.id for i in warn], "covered": covered,
                                       "informational": [i.id for i in info]}
    return outcome
