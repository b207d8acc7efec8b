"""chatwoot.inbox.webhook: does Chatwoot send agents' replies where Evolution listens?

The inbox's ``webhook_url`` (published by chatwoot.inbox) is compared with the ``webhook_url`` Evolution reports
for the instance (fact from evolution.chatwoot.config): literally and normalised, both shown. On its own the URL
must be http(s), without a doubled slash, and not loopback unless Chatwoot itself is reached over loopback.
Evolution sets the URL only when it creates the inbox and never updates it
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L189-L229),
so remediation is
always "fix the inbox". A URL that Evolution itself already reports broken (``undefined/…``, ``//chatwoot``) is
evolution.chatwoot.config's finding; here it becomes a note (one root cause, one finding).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote, urlsplit

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome
from evodiag.probes.declare import probe

EVOLUTION_ROUTE = re.compile(r"/chatwoot/webhook/[^/]+/?$")  # ${SERVER_URL}/chatwoot/webhook/${name}


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8, ``::1`` and ``0.0.0.0`` (which connects to the local host too)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def normalise(url: str) -> str:
    """Scheme and host lower-cased, default port dropped, path percent-decoded with repeated and trailing
    slashes removed: two URLs equal here reach the same Evolution route."""
    text = url.strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.hostname:
        return re.sub(r"/+", "/", unquote(text)).rstrip("/")
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    path = re.sub(r"/+", "/", unquote(parts.path)).rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}{port}{path}{query}"


def problems(url: str, chatwoot_on_loopback: bool) -> list[tuple[str, str]]:
    """What is wrong with ``url`` on its own, as (diagnosis name, host), worst first."""
    if not url.strip():
        return [("empty", "")]
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return [("no_scheme", "")]
    found: list[tuple[str, str]] = []
    if is_loopback(parts.hostname) and not chatwoot_on_loopback:
        found.append(("loopback", parts.hostname))
    if "//" in parts.path:
        found.append(("double_slash", parts.hostname))
    return found


@probe("chatwoot.inbox.webhook",
       diagnoses={"double_slash", "empty", "evolution_broken", "inbox_only", "literal_differs", "loopback", "match",
                  "mismatch", "no_scheme", "not_evolution_route"},
       values={"evo_part", "evo_url", "host", "inbox_norm", "inbox_part", "inbox_url", "instance", "norm_part",
               "wanted"},
       reads={"chatwoot.inbox.webhook_url", "chatwoot.url", "evolution.chatwoot.webhook_url", "evolution.instance"})
async def inbox_webhook(ctx: ProbeContext) -> Outcome:
    inbox_url = str(ctx.value("chatwoot.inbox.webhook_url", ""))
    evo_url = ctx.value("evolution.chatwoot.webhook_url")
    evo_url = str(evo_url) if evo_url else None
    chatwoot_host = urlsplit(str(ctx.value("chatwoot.url", ""))).hostname or ""
    cw_loopback = is_loopback(chatwoot_host)
    own = problems(inbox_url, cw_loopback)
    instance = ctx.value("evolution.instance", "<instance>")
    values = {"inbox_url": inbox_url or '""', "evo_url": evo_url, "inbox_norm": normalise(inbox_url),
              "evo_norm": normalise(evo_url or ""), "wanted": evo_url or f"<SERVER_URL>/chatwoot/webhook/{instance}",
              "evo_part": f"; Evolution expects {evo_url}" if evo_url else "", "host": own[0][1] if own else "",
              "norm_part": ""}
    if evo_url and (normalise(inbox_url), normalise(evo_url)) != (inbox_url, evo_url):
        values["norm_part"] = f"; normalised: {values['inbox_norm']} vs {values['evo_norm']}"
    notes = []
    inbox_host = urlsplit(inbox_url.strip()).hostname or ""
    if cw_loopback and is_loopback(inbox_host):
        notes.append(f"Chatwoot ({chatwoot_host}) and the webhook ({inbox_host}) are both on loopback: fine when "
                     "Chatwoot runs directly on this host, but from inside a Chatwoot container that address is "
                     "the container itself")

    if evo_url is not None:
        config = ctx.result_of("evolution.chatwoot.config")
        evo_broken = bool(problems(evo_url, cw_loopback)) and config is not None and config.status.is_finding
        if evo_broken and (inbox_url == evo_url or not own):
            same = inbox_url == evo_url
            values["inbox_part"] = ("; the inbox holds that same URL: once SERVER_URL is fixed, fix the inbox too, "
                                    "Evolution will not" if same else "; the inbox's own URL looks right")
            outcome = ctx.diagnose("evolution_broken", **values)
            assert config is not None
            outcome.notes.append(f"same root cause as evolution.chatwoot.config ({config.status.value}): "
                                 f"{config.message}")
            outcome.notes.extend(notes)
            return _details(outcome, inbox_url, evo_url)
    if own:
        return _details(_with_notes(ctx.diagnose(own[0][0], **values), notes), inbox_url, evo_url)
    if evo_url is None:
        path = urlsplit(inbox_url.strip()).path
        name = "inbox_only" if EVOLUTION_ROUTE.search(path) else "not_evolution_route"
        return _details(_with_notes(ctx.diagnose(name, **values), notes), inbox_url, evo_url)
    if inbox_url == evo_url:
        name = "match"
    elif normalise(inbox_url) == normalise(evo_url):
        name = "literal_differs"
    else:
        name = "mismatch"
    return _details(_with_notes(ctx.diagnose(name, **values), notes), inbox_url, evo_url)


def _with_notes(outcome: Outcome, notes: list[str]) -> Outcome:
    outcome.notes.extend(notes)
    return outcome


def _details(outcome: Outcome, inbox_url: str, evo_url: str | None) -> Outcome:
    outcome.details.update({"inbox_webhook_url": inbox_url, "evolution_webhook_url": evo_url,
                            "inbox_normalised": normalise(inbox_url),
                            "evolution_normalised": normalise(evo_url) if evo_url else None})
    return outcome
