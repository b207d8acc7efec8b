"""Static lint of URLs found in configuration (SERVER_URL, WEBHOOK_GLOBAL_URL, webhook_url, FRONTEND_URL).

Why: Evolution API concatenates without normalising. ``${SERVER_URL}/chatwoot/webhook/${name}`` turns a
trailing slash into ``//chatwoot`` and an unset SERVER_URL into ``undefined/chatwoot/webhook/x``
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L119-L123);
byEvents appends ``/<event-name>`` to the webhook URL, so a trailing slash becomes ``//messages-upsert``; a
webhook URL not matching ``^https?://`` is silently skipped in 2.3.x
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts#L86-L108).
These are all visible in the string, before any request is sent.

Problem codes: ``empty``, ``whitespace``, ``bad-scheme``, ``empty-host``, ``bad-port``, ``undefined``,
``unexpanded-variable``, ``credentials``, ``double-slash``, ``trailing-slash``, ``query-before-append``.
Messages never contain the password: credentials are shown masked (``https://user:***@host``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class UrlProblem:
    """One problem in a URL: a stable ``code`` and a one-line ``message`` (masked, never the secret)."""

    code: str
    message: str
    masked: str | None = None  # the URL with the password masked, for ``credentials``


def _masked_netloc(parts: SplitResult) -> str:
    netloc = parts.netloc
    if "@" not in netloc:
        return netloc
    userinfo, _, hostport = netloc.rpartition("@")
    user, sep, _ = userinfo.partition(":")
    return f"{user}:***@{hostport}" if sep or user else f"***@{hostport}"


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (``https://user:***@host/x``); others unchanged."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=_masked_netloc(parts)).geturl()


def lint_url(url: str, *, receiver_appends_path: bool) -> list[UrlProblem]:
    """Problems in ``url``. ``receiver_appends_path``: the consumer appends ``/more/path`` to it (SERVER_URL,
    a byEvents webhook URL), which makes a trailing slash or a query string harmful."""
    problems: list[UrlProblem] = []

    def add(code: str, message: str, masked: str | None = None) -> None:
        problems.append(UrlProblem(code, message, masked))

    if url is None or not url.strip():
        add("empty", "URL is empty")
        return problems
    shown = mask_url(url.strip())
    if url != url.strip() or any(c.isspace() for c in url.strip()):
        add("whitespace", f"URL contains whitespace: {shown!r}")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        add("bad-scheme", f"cannot parse URL {shown!r}: {exc}")
        return problems

    scheme_ok = parts.scheme.lower() in ("http", "https")
    if not parts.scheme:
        add("bad-scheme", f"URL has no scheme (expected http:// or https://): {shown!r}")
    elif not scheme_ok:
        add("bad-scheme", f"scheme {parts.scheme!r} is not http or https: {shown!r}")
    host = parts.hostname or ""
    if scheme_ok and not host:
        add("empty-host", f"URL has no host: {shown!r}")
    if scheme_ok:
        try:
            _ = parts.port
        except ValueError:
            add("bad-port", f"invalid port in {shown!r}")

    # Without a scheme everything lands in the path ("undefined/chatwoot/webhook/x"), so look at both.
    segments = [host, *(parts.path.split("/") if parts.scheme else re.split(r"[/:]", parts.path))]
    if any(seg.lower() == "undefined" for seg in segments):
        add("undefined", f"literal 'undefined' in the URL (an unset variable, e.g. SERVER_URL): {shown!r}")
    if _PLACEHOLDER.search(url):
        add("unexpanded-variable", f"URL contains an unexpanded variable reference: {shown!r}")
    if parts.username is not None or parts.password is not None:
        add("credentials", f"URL embeds credentials: {shown}", masked=shown)

    path = parts.path if parts.scheme else ""
    if "//" in path:
        add("double-slash", f"path contains '//' (a trailing slash was concatenated?): {shown!r}")
    if receiver_appends_path:
        if path.endswith("/") and "//" not in path[-2:]:
            add("trailing-slash", f"trailing '/' here becomes '//' when a path is appended: {shown!r}")
        if parts.query or parts.fragment:
            add("query-before-append", f"a path appended here lands inside the query/fragment: {shown!r}")
    return problems
