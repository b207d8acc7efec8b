"""``GET /``, ``POST /verify-creds`` and the unknown-route answer
(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/routes/index.router.ts#L191-L210)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from email.utils import formatdate

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import payloads
from evodiag.lab.evolution.payloads import error, unauthorized
from evodiag.lab.evolution.state import EvolutionState

# Without outbound access, 2.3.6's GET / waits for the sw.js fetch to fail: about 25 s when DNS times out.
DNS_TIMEOUT_S = 25.0


async def root(lab: EvolutionState, request: Request) -> Response:
    """``GET /`` (observed on 2.3.6). No auth. 2.3.x fetches web.whatsapp.com/sw.js on every call and
    reports the fetched WhatsApp Web version, or Baileys' fallback when the fetch fails
    (src/utils/fetchLatestWaWebVersion.ts at 2.3.6)."""
    if lab.ver >= (2, 3, 0):
        if lab.root_delay_s:
            await asyncio.sleep(lab.root_delay_s)  # the sw.js fetch itself (src/utils/fetchLatestWaWebVersion.ts)
        if lab.whatsapp_egress == "dns-timeout":
            await asyncio.sleep(lab.delay(DNS_TIMEOUT_S))
    host = request.header("host") or "undefined"
    return Response.json(payloads.root_body(lab.version, lab.ver, host, lab.client_name,
                                            lab.reported_whatsapp_web_version, lab.disable_docs,
                                            lab.disable_manager))


def express_headers(response: Response) -> Response:
    """The headers Express 4 on Node adds to every answer: ``X-Powered-By``, a weak ``ETag`` (the etag
    module: hex length and the first 27 base64 characters of the body's SHA-1) for a body, ``Date``, and Node's
    ``Keep-Alive: timeout=5``."""
    headers = {"X-Powered-By": "Express", **response.headers}
    if response.body:
        digest = base64.b64encode(hashlib.sha1(response.body).digest()).decode()[:27]
        headers["ETag"] = f'W/"{len(response.body):x}-{digest}"'
    headers["Date"] = formatdate(usegmt=True)
    headers["Keep-Alive"] = "timeout=5"
    response.headers = headers
    return response


async def verify_creds(lab: EvolutionState, request: Request) -> Response:
    """``POST /verify-creds`` (v2 ≥2.0.10): global key only (no :instanceName, so an instance token
    is a 401). # UNVERIFIED: the facebook* fields are undefined when unset."""
    if (request.header("apikey") or "") != lab.global_key:
        return unauthorized()
    return Response.json({"status": 200, "message": "Credentials are valid"})


def not_found(request: Request) -> Response:
    """Express's unknown route in Evolution's envelope
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/main.ts#L121-L128;
    https://github.com/evolution-foundation/evolution-api/issues/2223). # UNVERIFIED: query string left out."""
    return error(404, [f"Cannot {request.method} {request.path}"])
