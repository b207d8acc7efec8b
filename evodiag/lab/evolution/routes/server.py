"""``GET /``, ``POST /verify-creds`` and the unknown-route answer (ref §2.2, §3)."""

from __future__ import annotations

import asyncio

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import payloads
from evodiag.lab.evolution.payloads import error, unauthorized
from evodiag.lab.evolution.state import EvolutionState


async def root(lab: EvolutionState, request: Request) -> Response:
    """``GET /`` (ref §3, observed §11). No auth."""
    if lab.ver >= (2, 3, 0) and lab.root_delay_s:
        await asyncio.sleep(lab.root_delay_s)  # ref §3: 2.3.x fetches web.whatsapp.com/sw.js per call
    host = request.header("host") or "undefined"
    return Response.json(payloads.root_body(lab.version, lab.ver, host, lab.client_name,
                                            lab.whatsapp_web_version, lab.disable_docs,
                                            lab.disable_manager))


async def verify_creds(lab: EvolutionState, request: Request) -> Response:
    """``POST /verify-creds`` (v2 ≥2.0.10, ref §3): global key only (no :instanceName, so an instance token
    is a 401). # UNVERIFIED: the facebook* fields the reference elides are undefined when unset."""
    if (request.header("apikey") or "") != lab.global_key:
        return unauthorized()
    return Response.json({"status": 200, "message": "Credentials are valid"})


def not_found(request: Request) -> Response:
    """ref §2.2 (main.ts#L121-128; #2223). # UNVERIFIED: query string left out of the message."""
    return error(404, [f"Cannot {request.method} {request.path}"])
