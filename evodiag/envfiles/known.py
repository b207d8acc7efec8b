"""Environment variable names Evolution API reads, known wrong names, and known default API keys.

Why a curated list: a misspelt variable is silently ignored by Evolution API (it falls back to a default),
so "401 with the right key" is often a wrong name (https://github.com/evolution-foundation/evolution-api/issues/1708).
A did-you-mean lint needs the real names. The list is kept honest: names in ``REFERENCE_NAMES`` were read in
Evolution API's source (where, in the trailing comment); names in ``COMMONLY_DOCUMENTED_NAMES`` appear in
Evolution API's published ``.env.example``/docs but were not (yet) traced in the source.
``KNOWN_PREFIXES`` are families the source reads by pattern
(``DATABASE_*``, ``CACHE_*``, ``WEBHOOK_EVENTS_*``); a lint should treat names under them as "not
checked", not as unknown.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Read in Evolution API's source; "v2 L<n>" / "v1 L<n>" are lines of src/config/env.config.ts at
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/config/env.config.ts (v2) and
# https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/config/env.config.ts (v1).
REFERENCE_NAMES: frozenset[str] = frozenset(
    {
        "AUTHENTICATION_API_KEY",  # global key, default 'BQYHJGJHJ' (v2 L869, v1 L475)
        "AUTHENTICATION_TYPE",  # v1 only: apikey | jwt (v1 L473)
        "AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES",  # fetchInstances fields and the webhook `apikey`
        "DOCKER_ENV",  # v1 reads env vars only when DOCKER_ENV=true (v1 L255)
        "DATABASE_ENABLED",  # v1.8 (MongoDB): instance tokens on fetchInstances
        "DATABASE_SAVE_DATA_INSTANCE",  # v2: instance tokens on fetchInstances (src/api/guards/auth.guard.ts)
        "DATABASE_CONNECTION_CLIENT_NAME",  # clientName of GET /, filters fetchInstances
        "SERVER_URL",  # no default in v2 (v2 L462) → "undefined/chatwoot/webhook/x"
        "SERVER_DISABLE_DOCS",  # drops `swagger` from GET /
        "SERVER_DISABLE_MANAGER",  # drops `manager` from GET /
        "CONFIG_SESSION_PHONE_VERSION",  # WhatsApp Web version (2.3.0; 2.3.6 fetches it itself)
        "QRCODE_LIMIT",  # default 30
        "CHATWOOT_ENABLED",  # v2 only, default false (v2 L812-L825)
        "CHATWOOT_MESSAGE_READ",  # v2 L812-L825
        "CHATWOOT_MESSAGE_DELETE",  # v2 L812-L825
        "CHATWOOT_BOT_CONTACT",  # 2.1.0+ (v2 L812-L825)
        "CHATWOOT_IMPORT_DATABASE_CONNECTION_URI",  # v2 L812-L825
        "CHATWOOT_IMPORT_PLACEHOLDER_MEDIA_MESSAGE",  # v2 L812-L825
        "WEBHOOK_GLOBAL_URL",  # v2 L747-L797
        "WEBHOOK_GLOBAL_ENABLED",  # v2 L747-L797
        "WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS",  # v2 L747-L797
        "WEBHOOK_EVENTS_MESSAGES_UPSERT",  # example of WEBHOOK_EVENTS_<EVENT> (v2 L747-L797)
        "WEBHOOK_EVENTS_GROUPS_UPDATE",  # read for GROUP_UPDATE (v2 L747-L797)
        "WEBHOOK_REQUEST_TIMEOUT_MS",  # 2.3.0+ (v2 L747-L797)
        "WEBHOOK_RETRY_MAX_ATTEMPTS",  # 2.3.0+ (v2 L747-L797)
        "WEBHOOK_RETRY_INITIAL_DELAY_SECONDS",  # 2.3.0+ (v2 L747-L797)
        "WEBHOOK_RETRY_USE_EXPONENTIAL_BACKOFF",  # 2.3.0+ (v2 L747-L797)
        "WEBHOOK_RETRY_MAX_DELAY_SECONDS",  # 2.3.0+ (v2 L747-L797)
        "WEBHOOK_RETRY_JITTER_FACTOR",  # 2.3.0+ (v2 L747-L797)
        "WEBHOOK_RETRY_NON_RETRYABLE_STATUS_CODES",  # 2.3.0+ (v2 L747-L797)
        "TZ",  # the v1 Dockerfile sets TZ=America/Sao_Paulo; webhook date_time is local time
    }
)

# Commonly documented (Evolution API .env.example / docs), not backed by the reference notes.
COMMONLY_DOCUMENTED_NAMES: frozenset[str] = frozenset(
    {
        "SERVER_TYPE",
        "SERVER_PORT",
        "DEL_INSTANCE",
        "LOG_LEVEL",
        "LOG_COLOR",
        "LOG_BAILEYS",
        "LANGUAGE",
        "CORS_ORIGIN",
        "CORS_METHODS",
        "CORS_CREDENTIALS",
        "DATABASE_PROVIDER",
        "DATABASE_CONNECTION_URI",
        "DATABASE_SAVE_DATA_NEW_MESSAGE",
        "DATABASE_SAVE_MESSAGE_UPDATE",
        "DATABASE_SAVE_DATA_CONTACTS",
        "DATABASE_SAVE_DATA_CHATS",
        "DATABASE_SAVE_DATA_LABELS",
        "DATABASE_SAVE_DATA_HISTORIC",
        "CACHE_REDIS_ENABLED",
        "CACHE_REDIS_URI",
        "CACHE_REDIS_PREFIX_KEY",
        "CACHE_REDIS_SAVE_INSTANCES",
        "CACHE_LOCAL_ENABLED",
        "S3_ENABLED",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "S3_BUCKET",
        "S3_PORT",
        "S3_ENDPOINT",
        "S3_USE_SSL",
        "S3_REGION",
        "QRCODE_COLOR",
        "CONFIG_SESSION_PHONE_CLIENT",
        "CONFIG_SESSION_PHONE_NAME",
        "WEBHOOK_EVENTS_APPLICATION_STARTUP",
        "WEBHOOK_EVENTS_QRCODE_UPDATED",
        "WEBHOOK_EVENTS_MESSAGES_SET",
        "WEBHOOK_EVENTS_MESSAGES_UPDATE",
        "WEBHOOK_EVENTS_MESSAGES_DELETE",
        "WEBHOOK_EVENTS_SEND_MESSAGE",
        "WEBHOOK_EVENTS_CONTACTS_SET",
        "WEBHOOK_EVENTS_CONTACTS_UPSERT",
        "WEBHOOK_EVENTS_CONTACTS_UPDATE",
        "WEBHOOK_EVENTS_PRESENCE_UPDATE",
        "WEBHOOK_EVENTS_CHATS_SET",
        "WEBHOOK_EVENTS_CHATS_UPSERT",
        "WEBHOOK_EVENTS_CHATS_UPDATE",
        "WEBHOOK_EVENTS_CHATS_DELETE",
        "WEBHOOK_EVENTS_GROUPS_UPSERT",
        "WEBHOOK_EVENTS_GROUP_PARTICIPANTS_UPDATE",
        "WEBHOOK_EVENTS_CONNECTION_UPDATE",
        "WEBHOOK_EVENTS_CALL",
        "WEBHOOK_EVENTS_LABELS_EDIT",
        "WEBHOOK_EVENTS_LABELS_ASSOCIATION",
        "WEBHOOK_EVENTS_ERRORS",
        "WEBHOOK_EVENTS_ERRORS_WEBHOOK",
    }
)

# Read by src/config/env.config.ts at tag 2.3.6 (and Prisma's schemas), for the backing services, integrations
# and event transports the config checks judge; the per-event families are in KNOWN_PREFIXES below.
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/config/env.config.ts
SOURCE_2_3_6_NAMES: frozenset[str] = frozenset(
    {
        "DATABASE_BOUNCER_CONNECTION_URI", "DATABASE_SAVE_IS_ON_WHATSAPP", "DATABASE_SAVE_IS_ON_WHATSAPP_DAYS",
        "DATABASE_DELETE_MESSAGE", "CACHE_REDIS_TTL",
        "RABBITMQ_ENABLED", "RABBITMQ_GLOBAL_ENABLED", "RABBITMQ_PREFIX_KEY", "RABBITMQ_EXCHANGE_NAME",
        "RABBITMQ_URI", "RABBITMQ_FRAME_MAX",
        "NATS_ENABLED", "NATS_GLOBAL_ENABLED", "NATS_PREFIX_KEY", "NATS_EXCHANGE_NAME", "NATS_URI",
        "SQS_ENABLED", "SQS_GLOBAL_ENABLED", "SQS_GLOBAL_FORCE_SINGLE_QUEUE", "SQS_GLOBAL_PREFIX_NAME",
        "SQS_ACCESS_KEY_ID", "SQS_SECRET_ACCESS_KEY", "SQS_ACCOUNT_ID", "SQS_REGION", "SQS_MAX_PAYLOAD_SIZE",
        "KAFKA_ENABLED", "KAFKA_CLIENT_ID", "KAFKA_BROKERS", "KAFKA_CONNECTION_TIMEOUT", "KAFKA_REQUEST_TIMEOUT",
        "KAFKA_GLOBAL_ENABLED", "KAFKA_CONSUMER_GROUP_ID", "KAFKA_TOPIC_PREFIX", "KAFKA_NUM_PARTITIONS",
        "KAFKA_REPLICATION_FACTOR", "KAFKA_AUTO_CREATE_TOPICS", "KAFKA_SASL_ENABLED", "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SSL_ENABLED", "KAFKA_SSL_REJECT_UNAUTHORIZED",
        "KAFKA_SSL_CA", "KAFKA_SSL_KEY", "KAFKA_SSL_CERT",
        "WEBSOCKET_ENABLED", "WEBSOCKET_GLOBAL_EVENTS", "WEBSOCKET_ALLOWED_HOSTS",
        "PUSHER_ENABLED", "PUSHER_GLOBAL_ENABLED", "PUSHER_GLOBAL_APP_ID", "PUSHER_GLOBAL_KEY",
        "PUSHER_GLOBAL_SECRET", "PUSHER_GLOBAL_CLUSTER", "PUSHER_GLOBAL_USE_TLS",
        "TYPEBOT_ENABLED", "TYPEBOT_API_VERSION", "TYPEBOT_SEND_MEDIA_BASE64",
        "OPENAI_ENABLED", "OPENAI_API_KEY_GLOBAL", "DIFY_ENABLED", "N8N_ENABLED", "EVOAI_ENABLED",
        "FLOWISE_ENABLED", "S3_SKIP_POLICY", "S3_SAVE_VIDEO", "DEL_TEMP_INSTANCES",
    }
)

EVOLUTION_ENV_NAMES: frozenset[str] = REFERENCE_NAMES | COMMONLY_DOCUMENTED_NAMES | SOURCE_2_3_6_NAMES

# Families described by pattern: WEBHOOK_EVENTS_<EVENT> and WEBHOOK_RETRY_* (v2 L747-L797), DATABASE_*,
# CACHE_* and S3_* (commonly documented), and the per-event switches of RabbitMQ, NATS, Kafka, Pusher and SQS.
KNOWN_PREFIXES: tuple[str, ...] = ("WEBHOOK_EVENTS_", "WEBHOOK_RETRY_", "DATABASE_", "CACHE_", "S3_",
                                   # per-event switches of the other transports (env.config.ts at 2.3.6)
                                   "RABBITMQ_EVENTS_", "NATS_EVENTS_", "KAFKA_EVENTS_", "PUSHER_EVENTS_",
                                   "SQS_GLOBAL_")

# Names Chatwoot reads that identify a Chatwoot service (FRONTEND_URL builds attachment URLs; SECRET_KEY_BASE
# is Rails').
CHATWOOT_MARKER_NAMES: frozenset[str] = frozenset({"FRONTEND_URL", "SECRET_KEY_BASE"})

# Names whose presence identifies an Evolution API service.
EVOLUTION_MARKER_NAMES: frozenset[str] = frozenset(
    {
        "AUTHENTICATION_API_KEY",
        "AUTHENTICATION_TYPE",
        "SERVER_URL",
        "CHATWOOT_ENABLED",
        "CONFIG_SESSION_PHONE_VERSION",
        "WEBHOOK_GLOBAL_URL",
        "WEBHOOK_GLOBAL_ENABLED",
    }
)

# OpenIM reads webhook config from IMENV_WEBHOOKS_* (viper env prefix); any IMENV_ name marks OpenIM.
OPENIM_MARKER_PREFIX = "IMENV_"


@dataclass(frozen=True)
class WrongName:
    """A name users set that Evolution API never reads, and the one it does read."""

    name: str
    right: str
    why: str


WRONG_NAMES: dict[str, WrongName] = {
    w.name: w
    for w in (
        WrongName("API_KEY_GLOBAL", "AUTHENTICATION_API_KEY",
                  "the global key stays at its default; https://github.com/evolution-foundation/evolution-api/issues/1708"),
        WrongName("AUTH_ENABLED", "AUTHENTICATION_API_KEY",
                  "see https://github.com/evolution-foundation/evolution-api/issues/1708"),
        WrongName("GLOBAL_API_KEY", "AUTHENTICATION_API_KEY",
                  "see https://github.com/evolution-foundation/evolution-api/issues/1708"),
        WrongName(
            "CHATWOOT_IMPORT_DATABASE_PLACEHOLDER_MEDIA_MESSAGE",
            "CHATWOOT_IMPORT_PLACEHOLDER_MEDIA_MESSAGE",
            "typo in the v1 .env.example; the code reads the other name",
        ),
    )
}


# Publicly known default API keys: a server using one is open to anyone.
DEFAULT_API_KEYS: dict[str, str] = {
    "B6D711FCDE4D4FD5936544120E713976": "v1 Dockerfile and Docker/.env.example (1.8.2)",
    "429683C4C977415CAAFCCE10F7D57E11": "v2 .env.example (2.3.6)",
    "BQYHJGJHJ": "code default when AUTHENTICATION_API_KEY is unset",
}

_EVENT_SUFFIX = re.compile(r"[A-Z0-9_]+")


def is_known_evolution_name(name: str) -> bool:
    """True for a listed name or one under a known family prefix (checked case-sensitively, like Node)."""
    if name in EVOLUTION_ENV_NAMES:
        return True
    return any(name.startswith(p) and _EVENT_SUFFIX.fullmatch(name[len(p) :]) for p in KNOWN_PREFIXES)


def is_default_api_key(value: str) -> bool:
    return value.strip() in DEFAULT_API_KEYS


def did_you_mean(name: str, known: Iterable[str] = EVOLUTION_ENV_NAMES, *, cutoff: float = 0.8) -> str | None:
    """The name the user probably meant, or ``None``.

    Known wrong names win (they are too far from the right name for difflib, e.g. ``AUTH_ENABLED``). Then the
    closest known name by :mod:`difflib` ratio, compared upper-case so ``server_url`` → ``SERVER_URL``. A name
    that is itself known (exactly) returns ``None``.
    """
    known_set = set(known)
    if name in known_set:
        return None
    wrong = WRONG_NAMES.get(name.upper())
    if wrong is not None:
        return wrong.right
    upper = name.upper()
    if upper in known_set:
        return upper
    matches = difflib.get_close_matches(upper, sorted(known_set), n=1, cutoff=cutoff)
    return matches[0] if matches else None
