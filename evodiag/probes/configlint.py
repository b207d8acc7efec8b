"""The config rules, as pure functions of one Evolution API environment (:class:`Scope`): no network, no
context, so each rule is tested on its own. Each returns :class:`Finding`s naming catalog diagnoses; the
probes in :mod:`evodiag.probes.config` turn them into results.

Facts behind the rules, in Evolution's source: v2 reads booleans with ``=== 'true'``, so ``True`` and ``1`` are
false (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/config/env.config.ts#L812-L825);
``SERVER_URL`` has no default in v2 and is concatenated with ``/chatwoot/webhook/<name>`` without normalising
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L119-L123);
the global key falls back to ``BQYHJGJHJ``
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/config/env.config.ts#L869) and two example files
ship public keys; names Evolution does not read are silently ignored
(https://github.com/evolution-foundation/evolution-api/issues/1708).
"""

from __future__ import annotations

import difflib
import re
from urllib.parse import urlsplit

from evodiag.envfiles import DEFAULT_API_KEYS, WRONG_NAMES, EnvVar, did_you_mean, is_known_evolution_name
from evodiag.netinfo import HostKind, classify_address, lint_url, mask_url
from evodiag.probes.configfiles import ConfigSources, Scope, problems_about
from evodiag.probes.findings import Finding

MIN_KEY_LENGTH = 16  # a random 16-character key is out of reach of guessing; the shipped examples are 32
_TRUTHY = frozenset({"true", "1", "yes", "on", "y"})
# v1-only settings: AUTHENTICATION_TYPE and JWT mode were removed in 2.0
# (https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/config/env.config.ts#L473).
_V1_ONLY_NAMES = frozenset({"AUTHENTICATION_TYPE"})
_V1_ONLY_PREFIXES = ("AUTHENTICATION_JWT_",)
_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_FIRST_TOKEN_SIMILARITY = 0.75  # SQS_ENABLED is not a typo of S3_ENABLED; CHATWOT_ENABLED is one of CHATWOOT_...


def describe_default_key(value: str) -> str:
    """Which public key this is, in words (never the key itself)."""
    source = DEFAULT_API_KEYS.get(value.strip(), "")
    if "code default" in source:
        return "Evolution's built-in fallback key, the same on every unconfigured server"
    if "v2 .env.example" in source:
        return "the public default key from .env.example (Evolution 2.3.6)"
    if "v1 Dockerfile" in source:
        return "the public default key from the v1 Dockerfile and Docker/.env.example (Evolution 1.8.2)"
    return "a publicly known default key"


def _shown(var: EnvVar) -> str:
    return mask_url(var.value)


def _absent(scope: Scope, name: str) -> bool:
    var = scope.get(name)
    return var is None or (not var.value.strip() and not scope.unknown(name))


def _unknown(scope: Scope, name: str) -> Finding:
    """A value taken from ``${VAR}`` that evodiag cannot see; only the referenced names are shown."""
    var = scope.get(name)
    origin = var.origin if var else scope.anchor
    refs = ", ".join(f"${{{n}}}" for n in _REF.findall(var.template or "")) if var else ""
    return Finding("unknown", {"var": name, "origin": origin, "refs": refs or "a variable"},
                   [f"{origin}: {name} comes from {refs or 'a variable'} (set by the shell running compose)"])


# --------------------------------------------------------------------------------------------- CHATWOOT_ENABLED


def chatwoot_enabled(scope: Scope, sources: ConfigSources) -> list[Finding]:
    if scope.generation == 1:
        return [Finding("v1", {"version": scope.version, "label": scope.label})]
    if scope.unknown("CHATWOOT_ENABLED"):
        return [_unknown(scope, "CHATWOOT_ENABLED")]
    enabled = scope.get("CHATWOOT_ENABLED")
    if enabled is not None and enabled.value == "true":
        return [Finding("ok", {"origin": enabled.origin})]
    reasons = [f"{v.origin}: {v.name} is set" for v in sorted(scope.variables.values(), key=lambda v: (v.file, v.line))
               if v.name.startswith("CHATWOOT_") and v.name != "CHATWOOT_ENABLED"]
    wired = scope.compose.chatwoot if scope.compose is not None else sources.chatwoot_wired()
    if wired is not None:
        reasons.append(f"{wired.origin}: the compose file runs Chatwoot (service {wired.name})")
    reason = reasons[0].split(": ", 1)[1] if reasons else ""
    if enabled is None:
        if not reasons:
            return [Finding("unused", {"label": scope.label})]
        evidence = [*reasons, f"{scope.anchor}: CHATWOOT_ENABLED is not set in {scope.label}",
                    *problems_about(sources, "CHATWOOT_ENABLED")]
        return [Finding("missing", {"where": scope.where, "reason": reason, "label": scope.label}, evidence)]
    evidence = [f"{enabled.origin}: CHATWOOT_ENABLED={enabled.value} (only the exact string 'true' enables it)",
                *reasons]
    values = {"origin": enabled.origin, "value": enabled.value, "reason": reason or "CHATWOOT_ENABLED is set",
              "label": scope.label}
    if enabled.value.strip().lower() in _TRUTHY:  # True, 1, yes: meant to switch it on
        return [Finding("not_true", values, evidence)]
    if wired is not None:  # off, while the same compose file runs Chatwoot next to Evolution
        return [Finding("disabled", values, evidence)]
    # An explicit "false" next to CHATWOOT_* lines is how .env.example ships
    # (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/.env.example#L324): a deliberate choice, not a
    # defect the files prove. Whether the server runs with it off is evolution.chatwoot.enabled's finding.
    return [Finding("switched_off", values)]


# --------------------------------------------------------------------------------------------- SERVER_URL


def _local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        kind = classify_address(host.strip("[]")).kind
    except ValueError:
        return False
    return kind in (HostKind.LOOPBACK, HostKind.UNSPECIFIED)


def server_url(scope: Scope, sources: ConfigSources) -> list[Finding]:
    if scope.unknown("SERVER_URL"):
        return [_unknown(scope, "SERVER_URL")]
    if _absent(scope, "SERVER_URL"):
        evidence = [f"{scope.anchor}: SERVER_URL is not set in {scope.label}", *problems_about(sources, "SERVER_URL")]
        return [Finding("unset", {"where": scope.where, "label": scope.label}, evidence)]
    var = scope.get("SERVER_URL")
    assert var is not None
    url, shown = var.value, _shown(var)
    values = {"origin": var.origin, "url": shown, "fixed": mask_url(url.strip().rstrip("/")),
              "example": mask_url(url.strip()) + "/chatwoot/webhook/<instance>"}
    findings: list[Finding] = []
    for problem in lint_url(url, receiver_appends_path=True):
        name = {"bad-scheme": "bad_scheme", "empty-host": "bad_scheme", "trailing-slash": "trailing_slash"}.get(
            problem.code, "malformed")
        findings.append(Finding(name, {**values, "problem": problem.message},
                                [f"{var.origin}: SERVER_URL: {problem.message}"]))
    host = urlsplit(url.strip()).hostname or ""
    if host and _local_host(host):
        findings.append(Finding("loopback", {**values, "host": host},
                                [f"{var.origin}: SERVER_URL points at {host}, the container itself"]))
    return findings or [Finding("ok", values)]


# --------------------------------------------------------------------------------------------- API key


def api_key(scope: Scope, sources: ConfigSources) -> list[Finding]:
    if scope.unknown("AUTHENTICATION_API_KEY"):
        return [_unknown(scope, "AUTHENTICATION_API_KEY")]
    if _absent(scope, "AUTHENTICATION_API_KEY"):
        evidence = [f"{scope.anchor}: AUTHENTICATION_API_KEY is not set in {scope.label}"]
        evidence += [f"{v.origin}: {v.name} is set, but Evolution API does not read it"
                     for v in scope.variables.values()
                     if v.name.upper() in WRONG_NAMES and WRONG_NAMES[v.name.upper()].right == "AUTHENTICATION_API_KEY"]
        evidence += problems_about(sources, "AUTHENTICATION_API_KEY")
        return [Finding("unset", {"where": scope.where, "label": scope.label}, evidence)]
    var = scope.get("AUTHENTICATION_API_KEY")
    assert var is not None
    value = var.value.strip()
    if value in DEFAULT_API_KEYS:
        which = describe_default_key(value)
        return [Finding("default", {"origin": var.origin, "which": which},
                        [f"{var.origin}: AUTHENTICATION_API_KEY is {which}"])]
    if len(value) < MIN_KEY_LENGTH:
        return [Finding("short", {"origin": var.origin, "length": len(value), "minimum": MIN_KEY_LENGTH},
                        [f"{var.origin}: AUTHENTICATION_API_KEY has {len(value)} characters"])]
    return [Finding("ok", {"origin": var.origin, "length": len(value)})]


# --------------------------------------------------------------------------------------------- names


def _plausible(name: str, suggestion: str) -> bool:
    """A suggestion is kept only when the first word is close too (RABBITMQ_URI is no typo of CACHE_REDIS_URI)."""
    first, other = name.upper().split("_", 1)[0], suggestion.split("_", 1)[0]
    return difflib.SequenceMatcher(None, first, other).ratio() >= _FIRST_TOKEN_SIMILARITY


def env_names(scope: Scope, sources: ConfigSources) -> list[Finding]:
    findings: list[Finding] = []
    for var in sorted(scope.variables.values(), key=lambda v: (v.file, v.line)):
        name = var.name
        wrong = WRONG_NAMES.get(name.upper())
        if wrong is not None:
            findings.append(Finding("wrong_name", {"origin": var.origin, "var": name, "right": wrong.right,
                                                   "why": wrong.why},
                                    [f"{var.origin}: {name} is not read by Evolution API; use {wrong.right}"]))
            continue
        if name in _V1_ONLY_NAMES or name.startswith(_V1_ONLY_PREFIXES):
            if scope.generation is not None and scope.generation >= 2:
                findings.append(Finding("v1_only", {"origin": var.origin, "var": name, "version": scope.version},
                                        [f"{var.origin}: {name} is only read by Evolution API v1"]))
            continue
        if is_known_evolution_name(name):
            continue
        suggestion = did_you_mean(name)
        if suggestion and _plausible(name, suggestion) and suggestion not in scope.variables:
            findings.append(Finding("typo", {"origin": var.origin, "var": name, "right": suggestion},
                                    [f"{var.origin}: {name} is not read by Evolution API; did you mean {suggestion}?"]))
    return findings or [Finding("ok", {"count": len(scope.variables), "label": scope.label})]


# --------------------------------------------------------------------------------------------- global webhook


def webhook_global(scope: Scope, sources: ConfigSources) -> list[Finding]:
    enabled = scope.get("WEBHOOK_GLOBAL_ENABLED")
    url = scope.get("WEBHOOK_GLOBAL_URL")
    by_events = scope.get("WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS")
    events = [v for n, v in sorted(scope.variables.items()) if n.startswith("WEBHOOK_EVENTS_")]
    if enabled is None and url is None and by_events is None:
        return [Finding("unused", {"label": scope.label})]
    if enabled is None or enabled.value != "true":
        if enabled is not None and enabled.value.strip().lower() in _TRUTHY:
            return [Finding("not_true", {"origin": enabled.origin, "value": enabled.value},
                            [f"{enabled.origin}: WEBHOOK_GLOBAL_ENABLED={enabled.value} is read as false"])]
        return [Finding("disabled", {"origin": enabled.origin if enabled else scope.anchor})]
    findings: list[Finding] = []
    if url is None or (not url.value.strip() and not scope.unknown("WEBHOOK_GLOBAL_URL")):
        findings.append(Finding("no_url", {"origin": enabled.origin, "where": scope.where},
                                [f"{enabled.origin}: WEBHOOK_GLOBAL_ENABLED=true",
                                 f"{url.origin if url else scope.anchor}: WEBHOOK_GLOBAL_URL is empty or missing"]))
    on = [v for v in events if v.value == "true"]
    if not on:
        near = [f"{v.origin}: {v.name}={v.value} is read as false" for v in events
                if v.value.strip().lower() in _TRUTHY]
        findings.append(Finding("no_events", {"origin": enabled.origin, "count": len(events)},
                                [f"{enabled.origin}: WEBHOOK_GLOBAL_ENABLED=true, but no WEBHOOK_EVENTS_*=true",
                                 *near]))
    if url is not None and by_events is not None and by_events.value == "true" and url.value.strip().endswith("/"):
        findings.append(Finding("trailing_slash", {"origin": url.origin, "url": _shown(url),
                                                   "fixed": mask_url(url.value.strip().rstrip("/")),
                                                   "by_events_origin": by_events.origin},
                                [f"{url.origin}: WEBHOOK_GLOBAL_URL ends with '/'",
                                 f"{by_events.origin}: WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS=true appends /<event-name>"]))
    if findings:
        return findings
    return [Finding("ok", {"origin": url.origin if url else scope.anchor,
                           "url": _shown(url) if url else "", "count": len(on)})]
