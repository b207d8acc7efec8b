"""Config lint (stage ``config``, no network): the ``.env`` and compose files given with ``--env-file`` and
``--compose-file``. Half of the broken Evolution/Chatwoot integrations are broken here, before any request is
made; these probes point at the ``file:line`` to edit. The rules live in :mod:`evodiag.probes.configlint`,
the wording in checks.yaml.
"""

from __future__ import annotations

from collections.abc import Callable

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome
from evodiag.probes import configlint, configservices
from evodiag.probes.configfiles import MALFORMED_CODES, ConfigSources, Scope, shown, sources_from_settings
from evodiag.probes.declare import probe
from evodiag.probes.findings import Finding, combine

Rule = Callable[[Scope, ConfigSources], list[Finding]]


def read_sources(ctx: ProbeContext) -> ConfigSources:
    return sources_from_settings(ctx.value("files.env"), ctx.value("files.compose"))


def _files_text(sources: ConfigSources) -> str:
    return ", ".join(sources.paths) or "the given files"


@probe("config.files", diagnoses={"malformed", "ok", "unreadable"},
       values={"count", "error", "files", "first", "summary"}, reads={"files.compose", "files.env"})
async def files(ctx: ProbeContext) -> Outcome:
    """Every given file is readable; malformed lines are listed with their ``file:line``."""
    sources = read_sources(ctx)
    if sources.errors:
        outcome = ctx.diagnose("unreadable", error=sources.errors[0], count=len(sources.errors))
        outcome.evidence = list(sources.errors)
        outcome.notes = sources.errors[1:]
        return outcome
    malformed = [p for p in sources.problems if p.code in MALFORMED_CODES]
    unset = [p for p in sources.problems if p.code == "unset-variable"]
    notes = [f"{shown(p)}: the value is whatever the shell running docker compose exports" for p in unset]
    for env in sources.env_files:
        notes += [f"{vs[-1].origin}: {name} is assigned {len(vs)} times; only this last one counts"
                  for name, vs in env.duplicates().items()]
    notes += [f"{path}: neither Evolution API's nor Chatwoot's settings; not linted" for path in sources.ignored]
    summary = "; ".join(f"{s.product.value} settings in {s.label}" for s in sources.scopes)
    summary = summary or "no Evolution API or Chatwoot settings found"
    if malformed:
        outcome = ctx.diagnose("malformed", count=len(malformed), first=shown(malformed[0]), files=_files_text(sources))
        outcome.evidence = [shown(p) for p in malformed]
    else:
        outcome = ctx.diagnose("ok", files=_files_text(sources), summary=summary)
    outcome.notes = notes
    outcome.details = {"files": sources.paths, "scopes": [s.label for s in sources.scopes]}
    return outcome


async def _lint(ctx: ProbeContext, rule: Rule) -> Outcome:
    sources = read_sources(ctx)
    scopes = sources.evolution
    if not scopes:
        return ctx.diagnose("no_evolution", files=_files_text(sources))
    findings = [finding for scope in scopes for finding in rule(scope, sources)]
    problems = [f for f in findings if ctx.check.diagnosis(f.diagnosis).status in ("fail", "warn")]
    passes = [f for f in findings if ctx.check.diagnosis(f.diagnosis).status == "pass"]
    chosen = problems or passes or findings
    outcome = combine(ctx, chosen, fallback=findings[0])
    outcome.details = {"scopes": [s.label for s in scopes]}
    return outcome


@probe("config.chatwoot_enabled",
       diagnoses={"disabled", "missing", "no_evolution", "not_true", "ok", "switched_off", "unknown", "unused", "v1"},
       values={"files", "label", "origin", "reason", "refs", "value", "var", "version", "where"},
       reads={"files.compose", "files.env"})
async def chatwoot_enabled(ctx: ProbeContext) -> Outcome:
    """Chatwoot configured but CHATWOOT_ENABLED missing or not exactly ``true`` (v2 default: false)."""
    return await _lint(ctx, configlint.chatwoot_enabled)


@probe("config.server_url",
       diagnoses={"bad_scheme", "loopback", "malformed", "no_evolution", "ok", "trailing_slash", "unknown", "unset"},
       values={"example", "files", "fixed", "host", "label", "origin", "problem", "refs", "url", "var", "where"},
       reads={"files.compose", "files.env"})
async def server_url(ctx: ProbeContext) -> Outcome:
    """SERVER_URL unset, with a trailing slash, not http(s), or loopback."""
    return await _lint(ctx, configlint.server_url)


@probe("config.api_key", diagnoses={"default", "no_evolution", "ok", "short", "unknown", "unset"},
       values={"files", "label", "length", "minimum", "origin", "refs", "var", "where", "which"},
       reads={"files.compose", "files.env"})
async def api_key(ctx: ProbeContext) -> Outcome:
    """AUTHENTICATION_API_KEY unset, a public default, or short. Never prints the key."""
    return await _lint(ctx, configlint.api_key)


@probe("config.env_names", diagnoses={"no_evolution", "ok", "typo", "v1_only", "wrong_name"},
       values={"count", "files", "label", "origin", "right", "var", "version", "why"},
       reads={"files.compose", "files.env"})
async def env_names(ctx: ProbeContext) -> Outcome:
    """Names Evolution does not read (API_KEY_GLOBAL, typos, v1-only names on v2)."""
    return await _lint(ctx, configlint.env_names)


@probe("config.webhook_global",
       diagnoses={"disabled", "no_events", "no_evolution", "no_url", "not_true", "ok", "trailing_slash", "unused"},
       values={"by_events_origin", "count", "files", "fixed", "label", "origin", "url", "value", "where"},
       reads={"files.compose", "files.env"})
async def webhook_global(ctx: ProbeContext) -> Outcome:
    """WEBHOOK_GLOBAL_ENABLED=true without a URL or events; byEvents with a trailing slash."""
    return await _lint(ctx, configlint.webhook_global)


# Evolution's backing services, integration switches and pinned WhatsApp Web version (rules in configservices).


@probe("config.database",
       diagnoses={"bad_provider", "bouncer_missing", "loopback_in_container", "malformed", "missing", "no_evolution",
                  "no_settings", "ok", "scheme_mismatch", "unknown", "v1", "wrong_name"},
       values={"evolution_service", "expected", "file", "files", "fixed", "host", "label", "origin", "provider",
               "provider_origin", "reason", "refs", "scheme", "url", "var", "version", "where"},
       reads={"files.compose", "files.env"})
async def database(ctx: ProbeContext) -> Outcome:
    """DATABASE_URL instead of DATABASE_CONNECTION_URI, provider vs URI scheme, localhost in a container."""
    return await _lint(ctx, configservices.database)


@probe("config.redis",
       diagnoses={"bad_scheme", "image_default", "loopback_in_container", "no_evolution", "no_uri", "not_true", "ok",
                  "shared_prefix", "switched_off", "tls_port", "unknown", "wrong_name"},
       values={"evolution_service", "files", "fixed", "host", "image", "label", "local", "origin", "other", "port",
               "prefix", "refs", "scheme", "service", "url", "value", "var", "where"},
       reads={"files.compose", "files.env"})
async def redis(ctx: ProbeContext) -> Outcome:
    """CACHE_REDIS_URI on localhost in a container, REDIS_URI/REDIS_URL, rediss:// and port, shared prefix."""
    return await _lint(ctx, configservices.redis)


@probe("config.rabbitmq",
       diagnoses={"bad_scheme", "frame_max", "loopback_in_container", "no_events", "no_evolution", "no_uri",
                  "not_true", "ok", "switched_off", "unknown"},
       values={"events", "evolution_service", "exchange", "files", "fixed", "host", "minimum", "origin", "refs",
               "service", "url", "value", "var", "where"}, reads={"files.compose", "files.env"})
async def rabbitmq(ctx: ProbeContext) -> Outcome:
    """RABBITMQ_ENABLED without a usable RABBITMQ_URI, localhost in a container, frame_max, global events."""
    return await _lint(ctx, configservices.rabbitmq)


@probe("config.integrations", diagnoses={"flag_missing", "no_evolution", "not_true", "ok", "v1"},
       values={"files", "flag", "label", "off", "on", "origin", "value", "var", "version", "where"},
       publishes={"config.integrations.enabled"}, reads={"files.compose", "files.env"})
async def integrations(ctx: ProbeContext) -> Outcome:
    """Every integration switch: what is off; publishes config.integrations.enabled for the live check."""
    for scope in read_sources(ctx).evolution[:1]:
        ctx.publish("config.integrations.enabled", configservices.integration_states(scope))
    return await _lint(ctx, configservices.integrations)


@probe("config.phone_version",
       diagnoses={"ignored", "image_default", "malformed", "no_evolution", "ok", "older_than_release", "stale",
                  "unknown", "unset"},
       values={"default", "file", "files", "image", "label", "newest", "origin", "refs", "value", "var", "version",
               "where", "why"},
       reads={"files.compose", "files.env"})
async def phone_version(ctx: ProbeContext) -> Outcome:
    """CONFIG_SESSION_PHONE_VERSION set where it is ignored (2.3.1+) or older than the release's default."""
    return await _lint(ctx, configservices.phone_version)
