"""evolution.session: why the WhatsApp session of an instance ended, and whether Evolution comes back by itself.

Facts (Evolution 2.3.6, whatsapp.baileys.service.ts#L400-L424): on a close with 401 (loggedOut), 403 (forbidden),
402 or 406 Evolution stores ``disconnectionReasonCode``, ``disconnectionObject`` (``JSON.stringify(lastDisconnect)``,
which keeps Baileys' ``stream:error`` node, e.g. ``conflict type=device_removed``) and ``disconnectionAt`` on the
instance row and stops; any other code reconnects. The stored fields are never cleared after a new pairing.
Baileys' DisconnectReason values: 401 loggedOut, 403 forbidden, 408 lost/timed out, 428 closed, 440 replaced,
500 bad session, 515 restart required.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome
from evodiag.engine.shape import expect
from evodiag.probes.declare import probe
from evodiag.probes.evolution import APIKEY, enrich, is_v1

REASONS: dict[int, str] = {
    401: "logged out", 403: "forbidden", 402: "restricted", 406: "restricted", 408: "connection lost",
    428: "connection closed", 440: "session replaced", 500: "bad session", 503: "service unavailable",
    515: "restart required",
}


@dataclass(frozen=True)
class StoredSession:
    """The session fields of a v2 fetchInstances row."""

    status: str | None
    code: int | None
    detail: str
    at: str | None


def parse_session(row: dict[str, Any]) -> StoredSession:
    code = row.get("disconnectionReasonCode")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    detail = row.get("disconnectionObject")
    status = row.get("connectionStatus")
    at = row.get("disconnectionAt")
    return StoredSession(str(status) if status else None, code if isinstance(code, int) else None,
                         detail if isinstance(detail, str) else "" if detail is None else str(detail),
                         str(at) if at else None)


async def _row(ctx: ProbeContext) -> tuple[int | None, dict[str, Any] | None]:
    exchange = await ctx.request("GET", "{evolution.url}/instance/fetchInstances?instanceName={evolution.instance}",
                                 headers=APIKEY)
    if exchange.status != 200:
        return exchange.status, None
    rows = expect(exchange, exchange.json_or_none(), list, "fetchInstances rows")
    name = ctx.value("evolution.instance")
    row = next((r for r in rows if isinstance(r, dict) and r.get("name") == name), None)
    if row is not None:
        expect(exchange, row.get("disconnectionReasonCode"), (int, str), "disconnectionReasonCode", optional=True)
    return 200, row


def _diagnosis(session: StoredSession, live: str) -> str:
    """The diagnosis for a stored close code while the instance is not open."""
    code = session.code
    if code == 401:
        return "device_removed" if "device_removed" in session.detail else "logged_out"
    if code == 403:
        return "forbidden"
    if code in (402, 406):
        return "restricted"
    if code == 440 or '"replaced"' in session.detail:
        return "replaced"
    if code == 515:
        return "restart_loop"
    return "closed_other"


@probe("evolution.session",
       diagnoses={"closed_other", "device_removed", "forbidden", "logged_out", "ok", "recovered", "replaced",
                  "restart_loop", "restricted", "unlisted", "v1", "zombie"},
       texts={"at_text"}, values={"at", "at_text", "code", "reason", "state", "status", "stored"},
       reads={"evolution.generation", "evolution.instance", "evolution.instance.state"})
async def session(ctx: ProbeContext) -> Outcome:
    if is_v1(ctx):
        return ctx.diagnose("v1")
    status, row = await _row(ctx)
    if row is None:
        return ctx.diagnose("unlisted", status=status)
    stored = parse_session(row)
    live = str(ctx.value("evolution.instance.state", "unknown"))
    at_text = " " + ctx.text("at_text", at=stored.at) if stored.at else ""
    values = {"state": live, "code": stored.code, "at_text": at_text, "stored": stored.status,
              "reason": REASONS.get(stored.code or 0, "unknown reason")}
    if live == "open":
        name = "recovered" if stored.code is not None else "ok"
        return ctx.diagnose(name, **values)
    if stored.code is None:
        if stored.status == "open":
            return enrich(ctx, ctx.diagnose("zombie", **values), only_findings=True)
        return ctx.diagnose("ok", **values)
    outcome = ctx.diagnose(_diagnosis(stored, live), **values)
    if stored.detail:
        outcome.evidence.append(f"disconnectionObject: {stored.detail[:300]}")
    outcome.details["disconnection_code"] = stored.code
    return enrich(ctx, outcome, only_findings=True)
