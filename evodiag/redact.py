"""One redaction layer for every output path: terminal, JSON, JUnit, Markdown, verbose HTTP summaries, debug
tracebacks, bundles. Secrets are masked by value (every configured secret), by header or JSON key name
(``apikey``, ``api_access_token``, ``Authorization``...), and by shape (JWTs, bearer tokens, passwords in URLs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

# Request headers that carry credentials to Evolution, Chatwoot or OpenIM: never stored or shown.
CREDENTIAL_HEADERS = frozenset({"apikey", "api_access_token", "authorization", "token", "x-api-key", "cookie"})

# Header and JSON key names whose values are credentials in Evolution, Chatwoot, OpenIM or generally.
SECRET_NAMES = frozenset({
    "apikey", "api_key", "api-key", "x-api-key", "api_access_token", "access_token", "authorization", "token",
    "secret", "password", "passwd", "hmac_token", "pubsub_token", "cookie", "set-cookie", "chatwoot_token",
    "chatwoottoken", "jwt", "hash", "webhook_secret", "proxy-authorization", "secret_key_base",
    "authentication_api_key", "s3_secret_key", "s3_access_key",
})
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b")
# Token-shaped: 12+ token characters with a digit, or 20+ of them. Prose ("Bearer header", "apikey: <key>")
# must survive, or remediation text becomes unreadable.
_TOKEN = r"(?:(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}|[A-Za-z0-9._~+/=-]{20,})"
_BEARER = re.compile(r"(?i)\b(bearer\s+)" + _TOKEN)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@")
_NAMED_VALUE = re.compile(
    r"(?i)(\"?(?:apikey|api_access_token|access_token|authorization|token|secret|password)\"?\s*[:=]\s*\"?)"
    r"(?!\*\*\*)(" + _TOKEN + r")"
)
# An environment-style assignment whose (upper-case) name says credential: AUTHENTICATION_API_KEY=...,
# S3_SECRET_KEY=..., CHATWOOT_TOKEN=... . The value is a secret whatever its shape; ${VAR} references are kept.
_ENV_ASSIGNMENT = re.compile(
    r"\b([A-Z][A-Z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS)[A-Z0-9_]*[ \t]*=[ \t]*[\"']?)"
    r"(?!\*\*\*|\$\{)([^\s\"']+)"
)
# Broader, for text a user pasted (tickets, logs): any `name=value` / `"name": "value"` whose name says
# credential, `hash` included (Evolution's create reply carries the instance token there). Not applied to
# evodiag's own prose, where "key: <the key>" must survive.
_ASSIGNED_SECRET = re.compile(
    r"(?i)(\b[\w.-]*(?:key|token|secret|passw(?:or)?d|pass|hash)[\w.-]*[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)"
    r"([^\s\"',;{}\[\]]{4,})"
)
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words everywhere


def mask_assigned_secrets(text: str) -> str:
    """Mask values assigned to credential-named keys in pasted text."""
    return _ASSIGNED_SECRET.sub(lambda m: m.group(1) + MASK, text)


def is_secret_name(name: str) -> bool:
    return name.strip().lower().replace(" ", "") in SECRET_NAMES


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        values = {str(s) for s in secrets if s and len(str(s)) >= MIN_SECRET_LENGTH}
        # Longest first, so a secret that contains another is masked whole.
        self._values = sorted(set(self._values) | values, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        text = _JWT.sub(MASK, text)
        text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
        text = _ENV_ASSIGNMENT.sub(lambda m: m.group(1) + MASK, text)
        return _NAMED_VALUE.sub(lambda m: m.group(1) + MASK, text)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: (MASK if is_secret_name(k) else self.text(str(v))) for k, v in headers.items()}

    def obj(self, value: Any) -> Any:
        """Redact a JSON-like structure: secret-named keys are masked whole, strings by value and shape."""
        if isinstance(value, Mapping):
            return {k: (MASK if is_secret_name(str(k)) and v not in (None, "", False) else self.obj(v))
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value
