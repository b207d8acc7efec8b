"""OpenIM checks: the webhooks.yml that silently does nothing, callbacks that never arrive, the admin secret."""

from __future__ import annotations

import time
from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome
from evodiag.errors import NonJSONReply
from evodiag.probes.declare import probe
from evodiag.webhook.analyze import analyze_openim, load_deliveries, online_offline_gap
from evodiag.webhook.openim_config import (
    ConfigFinding,
    OpenIMConfigError,
    check_webhooks_config,
    detect_version,
    load_webhooks_yaml,
)

# Findings the check reports as notes only: they depend on where OpenIM runs (unknown here) or are hints.
_NOTE_ONLY = frozenset({"openim.url_loopback"})


def _finding_line(f: ConfigFinding) -> str:
    fix = f" — {f.fix}" if f.fix else ""
    refs = f" ({', '.join(f.refs)})" if f.refs else ""
    return f"{f.message}{fix}{refs}"


@probe("openim.callbacks",
       diagnoses={"config_fail", "ineffective", "likely_never_sent", "missing_in_capture", "never_sent", "ok",
                  "unreadable"},
       values={"arrived", "count", "enabled", "finding", "hooks", "missing", "others", "reason", "version"},
       reads={"openim.config", "openim.version", "webhook.capture"})
async def callbacks(ctx: ProbeContext) -> Outcome:
    path = ctx.value("openim.config")
    try:
        config = load_webhooks_yaml(path)
    except OpenIMConfigError as exc:
        return ctx.diagnose("unreadable", reason=str(exc))
    explicit = ctx.value("openim.version")
    guess = detect_version(config, str(explicit) if explicit else None)
    findings = check_webhooks_config(config, version=str(explicit) if explicit else None)
    online = config.hooks["afterUserOnline"].enable
    offline = config.hooks["afterUserOffline"].enable
    enabled = ", ".join(h.name for h in config.enabled()) or "none"
    version = guess.version or ("3.8.2+ (by webhooks.yml fingerprint)" if guess.at_least_382
                                else "3.8.1 or earlier (by webhooks.yml fingerprint)"
                                if guess.at_least_382 is False else "unknown")
    details: dict[str, Any] = {"version": guess.version, "version_basis": guess.basis, "enabled": enabled,
                               "findings": [f.code for f in findings]}

    # What arrived, when there is a capture.
    arrived = ""
    gap = None
    capture = ctx.value("webhook.capture")
    capture_lines: list[str] = []
    if capture:
        try:
            loaded = load_deliveries(capture)
        except OSError as exc:
            capture_lines.append(f"capture {capture} unreadable: {exc.strerror or exc}")
        else:
            found = analyze_openim(loaded.deliveries)
            details["callbacks_arrived"] = found.commands
            arrived = ", ".join(f"{c} {n}" for c, n in sorted(found.commands.items())) or "none"
            capture_lines.append(f"callbacks in {capture}: {arrived}")
            capture_lines.extend(found.notes)
            gap = online_offline_gap(found, online_enabled=online, offline_enabled=offline)

    never_sent = next((f for f in findings if f.code == "openim.online_offline_never_sent"), None)
    fails = [f for f in findings if f.severity == "fail" and f is not never_sent]
    warns = [f for f in findings if f.severity == "warn" and f is not never_sent and f.code not in _NOTE_ONLY]
    notes = [_finding_line(f) for f in findings
             if f.severity == "info" or f.code in _NOTE_ONLY]

    hooks = " and ".join(n for n, on in (("afterUserOnline", online), ("afterUserOffline", offline)) if on)
    if never_sent is not None and never_sent.severity == "fail":
        outcome = ctx.diagnose("never_sent", hooks=hooks, version=version)
    elif gap is not None:
        missing = " and ".join(m.removeprefix("callback").removesuffix("Command") for m in gap.missing)
        outcome = ctx.diagnose("missing_in_capture", missing=missing, others=gap.other_callbacks,
                               version=version)
    elif fails:
        outcome = ctx.diagnose("config_fail", finding=_finding_line(fails[0]), count=len(fails))
    elif never_sent is not None:
        outcome = ctx.diagnose("likely_never_sent", hooks=hooks)
    elif warns:
        outcome = ctx.diagnose("ineffective", finding=_finding_line(warns[0]), count=len(warns))
    else:
        outcome = ctx.diagnose("ok", version=version, enabled=enabled,
                               arrived=f"; arrived: {arrived}" if arrived else "")
    shown = [f for f in (never_sent, *fails, *warns) if f is not None]
    outcome.evidence = [f"{config.source}: {_finding_line(f)}" for f in shown] + capture_lines
    if gap is not None and outcome.status.value == "fail":
        outcome.evidence.append(f"{gap.message}; {gap.fix}")
    outcome.notes = [f"version: {version} ({guess.basis})", *notes]
    outcome.details = details
    return outcome


_ERRORS = {
    1001: "args", 1002: "secret", 1004: "not_found", 500: "server",
}


@probe("openim.auth", diagnoses={"args", "http_status", "not_found", "not_openim", "ok", "other", "secret", "server"},
       values={"body", "code", "dlt", "expire", "msg", "status", "user"}, reads={"openim.secret"})
async def auth(ctx: ProbeContext) -> Outcome:
    """``POST {openim.url}/auth/get_admin_token`` once. The secret goes in the JSON body, only to openim.url."""
    secret = ctx.value("openim.secret")
    user_id = "imAdmin"
    exchange = await ctx.request(
        "POST", "{openim.url}/auth/get_admin_token",
        headers={"operationID": f"evodiag-{int(time.time() * 1000)}"},
        json={"secret": str(secret), "userID": user_id},
    )
    if exchange.status != 200:
        return ctx.diagnose("http_status", status=exchange.status, body=" ".join(exchange.text.split())[:200])
    try:
        doc = exchange.json()
    except NonJSONReply:
        return ctx.diagnose("not_openim", body=" ".join(exchange.text.split())[:200])
    if not isinstance(doc, dict) or "errCode" not in doc:
        return ctx.diagnose("not_openim", body=" ".join(exchange.text.split())[:200])
    code = doc.get("errCode")
    err = {"code": code, "msg": doc.get("errMsg") or "", "dlt": doc.get("errDlt") or "", "user": user_id}
    if code == 0:
        raw = doc.get("data")
        data = raw if isinstance(raw, dict) else {}
        expire = data.get("expireTimeSeconds")
        days = f"{int(expire) // 86400} days" if isinstance(expire, int) else "unknown"
        outcome = ctx.diagnose("ok", user=user_id, expire=days)
        outcome.details = {"expireTimeSeconds": expire, "token": "***" if data.get("token") else None}
        return outcome
    name = _ERRORS.get(code, "other") if isinstance(code, int) else "other"
    outcome = ctx.diagnose(name, **err)
    outcome.evidence = [f"errCode {code} {err['msg']}: {err['dlt']}".strip()]
    return outcome
