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

# Prose in pasted text: "401 Invalid Access Token Zq8x..." names no key, but the credential word and a
# token-shaped value share one phrase. Phrases end at sentence punctuation or a " | " separator.
_CREDENTIAL_WORD = re.compile(
    r"(?i)(?<![a-z])(?:token|api[_-]?key|secret|bearer|authorization|password|senha|clave|contraseña)")
_PHRASE_END = re.compile(r"[.;!?](?:\s|$)|\s\|\s")
_TOKEN_CANDIDATE = re.compile(r"(?<![\w-])[A-Za-z0-9_-]{16,}={0,2}(?![\w-])")
# WhatsApp message ids (key.id: 3EB0..., 3A..., BAE5...) are evidence, not secrets.
_WHATSAPP_MESSAGE_ID = re.compile(r"(?:3EB0|3A|BAE5)[0-9A-F]+")
MIN_PROSE_TOKEN_ENTROPY = 3.3  # bits per character; random 16+ character tokens score 3.5-4.5
MIN_LEARNED_LENGTH = 8  # a value masked once is masked everywhere after only when it is this long


def _entropy(value: str) -> float:
    import math
    from collections import Counter

    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _token_shaped(value: str) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    letters = sum(ch.isalpha() for ch in value)
    return (digits >= 2 and letters >= 4 and not _WHATSAPP_MESSAGE_ID.fullmatch(value)
            and _entropy(value) >= MIN_PROSE_TOKEN_ENTROPY)


def prose_credentials(text: str) -> list[str]:
    """Token-shaped values (16+ characters, letters and digits, high entropy) in the same phrase as a credential
    word (token, apikey, secret, bearer, authorization, password, senha, clave, contraseña)."""
    found: list[str] = []
    start = 0
    for end in [m.start() for m in _PHRASE_END.finditer(text)] + [len(text)]:
        phrase = text[start:end]
        start = end
        if _CREDENTIAL_WORD.search(phrase):
            found += [m.group(0) for m in _TOKEN_CANDIDATE.finditer(phrase) if _token_shaped(m.group(0))]
    return found


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

    def pasted(self, text: str) -> str:
        """Text a user pasted (a ticket, a log line): also masks values assigned to credential-named keys and
        token-shaped values in a phrase with a credential word, and remembers each such value, so every later
        occurrence in the same input is masked even where nothing names it."""
        assigned = [m.group(2) for m in _ASSIGNED_SECRET.finditer(text)]
        self.add([*prose_credentials(text),
                  *(v for v in assigned if len(v) >= MIN_LEARNED_LENGTH and re.fullmatch(_TOKEN, v))])
        return mask_assigned_secrets(self.text(text))

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: (MASK if is_secret_name(k) else self.text(str(v))) for k, v in headers.items()}

    def own(self, value: Any) -> Any:
        """Redact one of evodiag's own structures (a result's message and remediation, a report): its keys are
        evodiag's schema, not a server's, so only values count. For secrets that is the same as :meth:`obj`."""
        return self.obj(value)

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
