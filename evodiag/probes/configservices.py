"""Config rules for Evolution API's backing services (database, Redis, RabbitMQ), its integration switches and
the pinned WhatsApp Web version: pure functions of one environment (:class:`Scope`), like
:mod:`evodiag.probes.configlint`, so each rule is tested on its own.

Facts behind the rules (Evolution API source at the tags named; links in the catalog, checks/services.yaml):

* Prisma reads ``DATABASE_CONNECTION_URI`` (``prisma/postgresql-schema.prisma#L13`` at 2.3.6), never Prisma's
  usual ``DATABASE_URL``; ``DATABASE_PROVIDER`` defaults to ``postgresql`` and must be ``postgresql``, ``mysql``
  or ``psql_bouncer`` (``Docker/scripts/deploy_database.sh#L9``), the bouncer schema also needs
  ``DATABASE_BOUNCER_CONNECTION_URI``. v1 used MongoDB (``DATABASE_ENABLED``) and has none of this.
* Redis: ``CACHE_REDIS_ENABLED`` (``=== 'true'``), ``CACHE_REDIS_URI``, ``CACHE_REDIS_PREFIX_KEY``
  (``src/config/env.config.ts#L844-848``); ``.env.example`` ships ``redis://localhost:6379/6`` with Redis on
  (#L349-350), which inside a container is the container itself. ``REDIS_URI``/``REDIS_URL`` are read by nothing.
* RabbitMQ: ``RABBITMQ_ENABLED``, ``RABBITMQ_URI`` (parsed with ``new URL()`` on 2.3.6),
  ``RABBITMQ_EXCHANGE_NAME`` (default ``evolution_exchange``), ``RABBITMQ_FRAME_MAX`` (2.3.0+, default 8192,
  which RabbitMQ 4.1+ requires) (``env.config.ts#L505-510``).
* Integration switches are read with ``=== 'true'`` and default to off (``env.config.ts#L808-840``).
* ``CONFIG_SESSION_PHONE_VERSION`` pins the WhatsApp Web version on 1.8.0–2.3.0 and is not read from 2.3.1 on
  (commit b5c67774, CHANGELOG 2.3.1 "Removed CONFIG_SESSION_PHONE_VERSION environment variable").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from evodiag.envfiles import EnvVar
from evodiag.netinfo import HostKind, classify_address, mask_url
from evodiag.probes.configfiles import ConfigSources, Scope
from evodiag.probes.configlint import _TRUTHY, _unknown
from evodiag.probes.findings import Finding
from evodiag.versions import in_range

DB_PROVIDERS = {"postgresql": ("postgresql", "postgres"), "mysql": ("mysql",),
                "psql_bouncer": ("postgresql", "postgres")}
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "redis": 6379, "rediss": 6379,
                 "amqp": 5672, "amqps": 5671}
MIN_FRAME_MAX = 8192  # RabbitMQ 4.1+ refuses a smaller frame_max (fix 3297364c, first in 2.3.0)
WRONG_REDIS_NAMES = ("REDIS_URI", "REDIS_URL")
# Images that tell which compose service is the database, Redis or RabbitMQ (for the suggested host name).
_SERVICE_IMAGES = {"database": ("postgres", "pgvector", "postgis", "mysql", "mariadb"),
                   "redis": ("redis", "valkey", "keydb", "dragonfly"), "rabbitmq": ("rabbitmq",)}
# WhatsApp Web versions evodiag knows a release to have shipped or fallen back to (newest last):
# .env.example of 2.2.0-2.2.3 and of 2.3.0, and Baileys 7.0.0-rc.6's fallback reported by 2.3.6.
RELEASE_PHONE_VERSIONS = {"2.2": "2.3000.1015901307", "2.3.0": "2.3000.1023204200"}
NEWEST_KNOWN_WA_VERSION = "2.3000.1027934701"
READS_PHONE_VERSION = ">=1.8.0,<2.3.1"  # env.config.ts reads CONFIG_SESSION_PHONE_VERSION at 1.8.0 through 2.3.0
_WA_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Integration:
    flag: str
    label: str
    since: str  # first release whose env.config.ts reads the flag
    settings: tuple[str, ...] = ()  # variables that only matter when the flag is on
    owner: str | None = None  # the check that judges this flag in depth


INTEGRATIONS: tuple[Integration, ...] = (
    Integration("CHATWOOT_ENABLED", "Chatwoot", "2.0.0", owner="config.chatwoot_enabled"),
    Integration("TYPEBOT_ENABLED", "Typebot", "2.0.0", ("TYPEBOT_API_VERSION", "TYPEBOT_SEND_MEDIA_BASE64")),
    Integration("OPENAI_ENABLED", "OpenAI", "2.0.0", ("OPENAI_API_KEY_GLOBAL",)),
    Integration("DIFY_ENABLED", "Dify", "2.1.0"),
    Integration("EVOAI_ENABLED", "EvoAI", "2.3.0"),
    Integration("FLOWISE_ENABLED", "Flowise", "2.3.0"),
    Integration("N8N_ENABLED", "n8n", "2.3.0"),
    Integration("RABBITMQ_ENABLED", "RabbitMQ", "1.5.0", owner="config.rabbitmq"),
    Integration("SQS_ENABLED", "SQS", "2.0.0", ("SQS_ACCESS_KEY_ID", "SQS_SECRET_ACCESS_KEY", "SQS_REGION")),
    Integration("WEBSOCKET_ENABLED", "WebSocket", "1.5.0", ("WEBSOCKET_GLOBAL_EVENTS",)),
    Integration("S3_ENABLED", "S3", "1.7.0", ("S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY")),
)


@dataclass(frozen=True)
class Endpoint:
    """A backing service Evolution connects to, as its environment says."""

    service: str  # database | redis | rabbitmq
    var: EnvVar
    scheme: str
    host: str
    port: int
    has_password: bool

    @property
    def shown(self) -> str:
        return shown_uri(self.var.value)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def shown_uri(value: str) -> str:
    """A connection URI fit to print: the password masked, also when the URI is too broken for ``mask_url``
    (``user:secret@host`` without a scheme parses as scheme ``user``)."""
    masked = mask_url(value.strip())
    if "@" in masked and "***@" not in masked:
        return "***@" + masked.rsplit("@", 1)[1]
    return masked


def _split(value: str) -> SplitResult | None:
    try:
        parts = urlsplit(value.strip())
        _ = parts.port  # raises on a non-numeric port
    except ValueError:
        return None
    return parts if parts.scheme and parts.hostname else None


def endpoint(service: str, var: EnvVar | None) -> Endpoint | None:
    """The host and port in ``var`` (a URI), with the scheme's default port; ``None`` when it has no host."""
    if var is None or not var.value.strip():
        return None
    parts = _split(var.value)
    if parts is None:
        return None
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return Endpoint(service, var, scheme, parts.hostname or "", port, bool(parts.password))


def _on(scope: Scope, name: str) -> bool:
    return scope.value(name) == "true"


def in_container(scope: Scope, sources: ConfigSources) -> bool:
    """Evolution runs in a container: its environment comes from a compose service, or a compose file runs it."""
    return scope.service is not None or any(c.evolution is not None for c in sources.compose_files)


def is_local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return classify_address(host.strip("[]")).kind in (HostKind.LOOPBACK, HostKind.UNSPECIFIED)
    except ValueError:
        return False


def compose_service_for(scope: Scope, sources: ConfigSources, service: str) -> str | None:
    """The compose service that runs the database / Redis / RabbitMQ, by its image, if any."""
    composes = [scope.compose] if scope.compose is not None else sources.compose_files
    for compose in composes:
        if compose is None:
            continue
        for svc in compose.services.values():
            image = (svc.image or "").lower().rsplit("/", 1)[-1]
            if any(image.startswith(name) for name in _SERVICE_IMAGES[service]):
                return svc.name
    return None


def _loopback(scope: Scope, sources: ConfigSources, ep: Endpoint, service: str, default_name: str) -> Finding:
    name = compose_service_for(scope, sources, service) or default_name
    fixed = urlsplit(ep.var.value.strip())
    netloc = fixed.netloc.rsplit("@", 1)
    netloc[-1] = f"{name}:{fixed.port}" if fixed.port else name
    suggestion = mask_url(fixed._replace(netloc="@".join(netloc)).geturl())
    return Finding("loopback_in_container",
                   {"origin": ep.var.origin, "var": ep.var.name, "url": ep.shown, "host": ep.host,
                    "service": name, "fixed": suggestion, "where": scope.label,
                    "evolution_service": evolution_service(scope)},
                   [f"{ep.var.origin}: {ep.var.name} points at {ep.host}, which inside Evolution's container is "
                    "the container itself",
                    f"{scope.service.origin if scope.service else scope.anchor}: Evolution runs in a container "
                    f"({scope.label})"])


def evolution_service(scope: Scope) -> str:
    """The compose service running Evolution, for the commands a remediation prints."""
    return scope.service.name if scope.service is not None else "<evolution-service>"


def _not_true(var: EnvVar) -> Finding:
    return Finding("not_true", {"origin": var.origin, "var": var.name, "value": var.value},
                   [f"{var.origin}: {var.name}={var.value} is read as false (only the exact string 'true' counts)"])


# --------------------------------------------------------------------------------------------- database


def database(scope: Scope, sources: ConfigSources) -> list[Finding]:
    if scope.generation == 1:
        return [Finding("v1", {"version": scope.version, "label": scope.label})]
    if scope.unknown("DATABASE_CONNECTION_URI"):
        return [_unknown(scope, "DATABASE_CONNECTION_URI")]
    uri, wrong = scope.get("DATABASE_CONNECTION_URI"), scope.get("DATABASE_URL")
    provider_var = scope.get("DATABASE_PROVIDER")
    provider = (provider_var.value.strip() if provider_var and provider_var.value.strip() else "postgresql")
    if uri is None or not uri.value.strip():
        if wrong is not None and wrong.value.strip():
            return [Finding("wrong_name", {"origin": wrong.origin, "where": scope.where, "file": wrong.file,
                                            "url": shown_uri(wrong.value),
                                            "evolution_service": evolution_service(scope)},
                            [f"{wrong.origin}: DATABASE_URL is set, but Evolution's Prisma schema reads "
                             "DATABASE_CONNECTION_URI",
                             f"{scope.anchor}: DATABASE_CONNECTION_URI is not set in {scope.label}"])]
        # The database section is configured (DATABASE_PROVIDER) but has no URI. Without any database setting the
        # given file is likely a fragment of the environment (the rest in compose or the image): no finding.
        if provider_var is not None:
            reason = f"DATABASE_PROVIDER is set at {provider_var.origin}"
            return [Finding("missing", {"where": scope.where, "label": scope.label, "reason": reason},
                            [f"{scope.anchor}: DATABASE_CONNECTION_URI is not set in {scope.label} ({reason})"])]
        return [Finding("no_settings", {"label": scope.label})]
    findings: list[Finding] = []
    origin = provider_var.origin if provider_var else scope.anchor
    if provider not in DB_PROVIDERS:
        findings.append(Finding("bad_provider", {"origin": origin, "provider": provider},
                                [f"{origin}: DATABASE_PROVIDER={provider} is not postgresql, mysql or psql_bouncer"]))
    ep = endpoint("database", uri)
    if ep is None:
        findings.append(Finding("malformed", {"origin": uri.origin, "url": shown_uri(uri.value)},
                                [f"{uri.origin}: DATABASE_CONNECTION_URI has no scheme://host"]))
        return findings
    expected = DB_PROVIDERS.get(provider)
    if expected and ep.scheme not in expected:
        findings.append(Finding("scheme_mismatch",
                                {"origin": uri.origin, "scheme": ep.scheme, "provider": provider,
                                 "provider_origin": origin, "expected": f"{expected[0]}://"},
                                [f"{uri.origin}: DATABASE_CONNECTION_URI starts with {ep.scheme}://",
                                 f"{origin}: DATABASE_PROVIDER={provider} (default postgresql when unset)"]))
    if provider == "psql_bouncer" and not (scope.value("DATABASE_BOUNCER_CONNECTION_URI") or "").strip():
        findings.append(Finding("bouncer_missing", {"origin": origin, "where": scope.where},
                                [f"{origin}: DATABASE_PROVIDER=psql_bouncer without DATABASE_BOUNCER_CONNECTION_URI"]))
    if is_local_host(ep.host) and in_container(scope, sources):
        findings.append(_loopback(scope, sources, ep, "database", "postgres"))
    return findings or [Finding("ok", {"origin": uri.origin, "provider": provider, "host": ep.address})]


# --------------------------------------------------------------------------------------------- Redis


def _prefix(scope: Scope) -> str:
    return (scope.value("CACHE_REDIS_PREFIX_KEY") or "").strip() or "evolution-cache"


def _shared_prefix(scope: Scope, sources: ConfigSources, ep: Endpoint) -> Finding | None:
    """Two Evolution services on one Redis database with one prefix read and overwrite each other's cache."""
    for other in sources.evolution:
        if other is scope or not _on(other, "CACHE_REDIS_ENABLED"):
            continue
        theirs = endpoint("redis", other.get("CACHE_REDIS_URI"))
        if theirs and theirs.var.value.strip() == ep.var.value.strip() and _prefix(other) == _prefix(scope):
            return Finding("shared_prefix", {"origin": ep.var.origin, "other": other.label, "prefix": _prefix(scope)},
                           [f"{ep.var.origin}: CACHE_REDIS_URI and CACHE_REDIS_PREFIX_KEY={_prefix(scope)} are the "
                            f"same as in {other.label}"])
    return None


def redis(scope: Scope, sources: ConfigSources) -> list[Finding]:
    wrong = [Finding("wrong_name", {"origin": var.origin, "var": var.name, "url": shown_uri(var.value)},
                     [f"{var.origin}: {var.name} is not read by Evolution API; it reads CACHE_REDIS_URI"])
             for var in (scope.get(n) for n in WRONG_REDIS_NAMES) if var is not None]
    if scope.unknown("CACHE_REDIS_URI"):
        return wrong or [_unknown(scope, "CACHE_REDIS_URI")]
    # The wrong name is reported after what CACHE_REDIS_* itself does wrong: that is what Evolution uses.
    findings = _redis_uri(scope, sources)
    return findings + wrong if findings or wrong else [_redis_ok(scope)]


def _runs_image(scope: Scope) -> bool:
    """A compose service running a v2 Evolution image (or an untagged one, which pulls a v2 ``latest``)."""
    return scope.service is not None and scope.image is not None and scope.generation != 1


def _image_redis_default(scope: Scope, sources: ConfigSources) -> Finding:
    """Neither CACHE_REDIS_ENABLED nor CACHE_REDIS_URI is set for the container: the image's own .env decides.
    Evolution's Dockerfile copies .env.example to the image's .env (``COPY ./.env.example ./.env``, 2.2.0-2.3.6)
    and env.config.ts loads it with dotenv, which fills only unset variables: Redis on, at localhost."""
    name = compose_service_for(scope, sources, "redis") or "redis"
    return Finding("image_default", {"where": scope.where, "label": scope.label, "image": scope.image or "",
                                     "service": name, "evolution_service": evolution_service(scope)},
                   [f"{scope.anchor}: neither CACHE_REDIS_ENABLED nor CACHE_REDIS_URI is set for {scope.label}",
                    f"{scope.image}: the image's built-in .env (a copy of .env.example) sets CACHE_REDIS_ENABLED=true "
                    "and CACHE_REDIS_URI=redis://localhost:6379/6"])


def _redis_ok(scope: Scope) -> Finding:
    enabled, ep = scope.get("CACHE_REDIS_ENABLED"), endpoint("redis", scope.get("CACHE_REDIS_URI"))
    if enabled is None or enabled.value != "true" or ep is None:
        return Finding("switched_off", {"origin": enabled.origin if enabled else scope.anchor,
                                        "local": "on" if _on(scope, "CACHE_LOCAL_ENABLED") else "off"})
    return Finding("ok", {"origin": ep.var.origin, "host": ep.address, "prefix": _prefix(scope)})


def _redis_uri(scope: Scope, sources: ConfigSources) -> list[Finding]:
    enabled, uri = scope.get("CACHE_REDIS_ENABLED"), scope.get("CACHE_REDIS_URI")
    findings: list[Finding] = []
    if enabled is None and uri is None and _runs_image(scope):
        return [_image_redis_default(scope, sources)]
    if enabled is None or enabled.value != "true":
        if enabled is not None and enabled.value.strip().lower() in _TRUTHY:
            findings.append(_not_true(enabled))
        return findings
    ep = endpoint("redis", uri)
    if uri is None or not uri.value.strip():
        findings.append(Finding("no_uri", {"origin": enabled.origin, "where": scope.where},
                                [f"{enabled.origin}: CACHE_REDIS_ENABLED=true, but CACHE_REDIS_URI is empty"]))
        return findings
    if ep is None or ep.scheme not in ("redis", "rediss"):
        findings.append(Finding("bad_scheme", {"origin": uri.origin, "url": shown_uri(uri.value)},
                                [f"{uri.origin}: CACHE_REDIS_URI is not redis://host:port or rediss://host:port"]))
        return findings
    if is_local_host(ep.host) and in_container(scope, sources):
        findings.append(_loopback(scope, sources, ep, "redis", "redis"))
    if (ep.scheme, ep.port) in (("rediss", 6379), ("redis", 6380)):
        findings.append(Finding("tls_port", {"origin": uri.origin, "scheme": ep.scheme, "port": ep.port},
                                [f"{uri.origin}: {ep.scheme}:// on port {ep.port}"]))
    shared = _shared_prefix(scope, sources, ep)
    if shared is not None:
        findings.append(shared)
    return findings


# --------------------------------------------------------------------------------------------- RabbitMQ


def rabbitmq(scope: Scope, sources: ConfigSources) -> list[Finding]:
    enabled, uri = scope.get("RABBITMQ_ENABLED"), scope.get("RABBITMQ_URI")
    if scope.unknown("RABBITMQ_URI"):
        return [_unknown(scope, "RABBITMQ_URI")]
    if enabled is None or enabled.value != "true":
        if enabled is not None and enabled.value.strip().lower() in _TRUTHY:
            return [_not_true(enabled)]
        return [Finding("switched_off", {"origin": enabled.origin if enabled else scope.anchor})]
    if uri is None or not uri.value.strip():
        return [Finding("no_uri", {"origin": enabled.origin, "where": scope.where},
                        [f"{enabled.origin}: RABBITMQ_ENABLED=true, but RABBITMQ_URI is empty"])]
    ep = endpoint("rabbitmq", uri)
    if ep is None or ep.scheme not in ("amqp", "amqps"):
        return [Finding("bad_scheme", {"origin": uri.origin, "url": shown_uri(uri.value)},
                        [f"{uri.origin}: RABBITMQ_URI is not amqp://user:password@host:5672/vhost"])]
    findings: list[Finding] = []
    if is_local_host(ep.host) and in_container(scope, sources):
        findings.append(_loopback(scope, sources, ep, "rabbitmq", "rabbitmq"))
    frame = scope.get("RABBITMQ_FRAME_MAX")
    if frame is not None and frame.value.strip().isdigit() and int(frame.value) < MIN_FRAME_MAX:
        findings.append(Finding("frame_max", {"origin": frame.origin, "value": frame.value.strip(),
                                              "minimum": MIN_FRAME_MAX},
                                [f"{frame.origin}: RABBITMQ_FRAME_MAX={frame.value.strip()}"]))
    events = [v for n, v in scope.variables.items() if n.startswith("RABBITMQ_EVENTS_") and v.value == "true"]
    global_on = scope.get("RABBITMQ_GLOBAL_ENABLED")
    if global_on is not None and global_on.value == "true" and not events:
        findings.append(Finding("no_events", {"origin": global_on.origin},
                                [f"{global_on.origin}: RABBITMQ_GLOBAL_ENABLED=true, but no RABBITMQ_EVENTS_*=true"]))
    exchange = (scope.value("RABBITMQ_EXCHANGE_NAME") or "").strip() or "evolution_exchange"
    return findings or [Finding("ok", {"origin": uri.origin, "host": ep.address, "exchange": exchange,
                                       "events": len(events)})]


# --------------------------------------------------------------------------------------------- integrations


def _reads_flag(scope: Scope, integration: Integration) -> bool:
    return not scope.version or in_range(scope.version, f">={integration.since}")


def integration_states(scope: Scope) -> dict[str, bool]:
    """Integration label → switched on (exactly ``true``), for the flags this release reads."""
    return {i.label: _on(scope, i.flag) for i in INTEGRATIONS if _reads_flag(scope, i)}


def integrations(scope: Scope, sources: ConfigSources) -> list[Finding]:
    if scope.generation == 1:
        return [Finding("v1", {"version": scope.version, "label": scope.label})]
    findings: list[Finding] = []
    for item in INTEGRATIONS:
        if item.owner is not None or not _reads_flag(scope, item):
            continue  # the owner check judges its own flag: one defect, one finding
        flag = scope.get(item.flag)
        if flag is not None and flag.value != "true" and flag.value.strip().lower() in _TRUTHY:
            findings.append(Finding("not_true", {"origin": flag.origin, "var": item.flag, "value": flag.value,
                                                 "label": item.label},
                                    [f"{flag.origin}: {item.flag}={flag.value} is read as false"]))
        elif flag is None:
            configured = [scope.get(n) for n in item.settings if scope.get(n) is not None]
            if configured:
                first = configured[0]
                assert first is not None
                findings.append(Finding("flag_missing", {"origin": first.origin, "var": first.name,
                                                         "flag": item.flag, "label": item.label,
                                                         "where": scope.where},
                                        [f"{first.origin}: {first.name} is set, but {item.flag} is not: "
                                         f"{item.label} stays off"]))
    states = integration_states(scope)
    on = ", ".join(k for k, v in states.items() if v) or "none"
    off = ", ".join(k for k, v in states.items() if not v) or "none"
    return findings or [Finding("ok", {"on": on, "off": off, "label": scope.label})]


# --------------------------------------------------------------------------------------------- phone version


def _wa_tuple(value: str) -> tuple[int, ...]:
    return tuple(int(p) for p in value.split("."))


def release_default(version: str | None) -> str | None:
    """The CONFIG_SESSION_PHONE_VERSION the release's own .env.example ships (2.2.x, 2.3.0), if known."""
    if not version:
        return None
    if version.startswith("2.2."):
        return RELEASE_PHONE_VERSIONS["2.2"]
    return RELEASE_PHONE_VERSIONS.get(version)


def phone_version(scope: Scope, sources: ConfigSources) -> list[Finding]:
    var = scope.get("CONFIG_SESSION_PHONE_VERSION")
    if var is None and _runs_image(scope) and scope.version and scope.version.startswith("2.2."):
        # 2.2.x images carry .env.example as their .env, with the version pinned (see _image_redis_default).
        pinned = RELEASE_PHONE_VERSIONS["2.2"]
        return [Finding("image_default", {"label": scope.label, "image": scope.image, "value": pinned,
                                          "newest": NEWEST_KNOWN_WA_VERSION, "where": scope.where},
                        [f"{scope.anchor}: CONFIG_SESSION_PHONE_VERSION is not set for {scope.label}",
                         f"{scope.image}: the image's built-in .env pins CONFIG_SESSION_PHONE_VERSION={pinned}"])]
    if var is None or not var.value.strip():
        return [Finding("unset", {"label": scope.label})]
    if scope.unknown("CONFIG_SESSION_PHONE_VERSION"):
        return [_unknown(scope, "CONFIG_SESSION_PHONE_VERSION")]
    value = var.value.strip()
    values = {"origin": var.origin, "value": value, "version": scope.version or "unknown",
              "newest": NEWEST_KNOWN_WA_VERSION, "where": scope.where, "file": var.file}
    if scope.version and not in_range(scope.version, READS_PHONE_VERSION):
        why = "removed in 2.3.1" if in_range(scope.version, ">=2.3.1") else "first read in 1.8.0"
        return [Finding("ignored", {**values, "why": why}, [f"{var.origin}: CONFIG_SESSION_PHONE_VERSION={value}",
                                            f"Evolution {scope.version} ({scope.label}) does not read it"])]
    if not _WA_VERSION.match(value):
        return [Finding("malformed", values, [f"{var.origin}: CONFIG_SESSION_PHONE_VERSION={value} is not "
                                              "a version like 2.3000.1027934701"])]
    default = release_default(scope.version)
    if default and _wa_tuple(value) < _wa_tuple(default):
        return [Finding("older_than_release", {**values, "default": default},
                        [f"{var.origin}: CONFIG_SESSION_PHONE_VERSION={value}",
                         f"Evolution {scope.version}'s .env.example ships {default}"])]
    if _wa_tuple(value) < _wa_tuple(NEWEST_KNOWN_WA_VERSION):
        return [Finding("stale", values, [f"{var.origin}: CONFIG_SESSION_PHONE_VERSION={value} is older than "
                                          f"{NEWEST_KNOWN_WA_VERSION}"])]
    return [Finding("ok", values)]
