"""What the real routers check before a handler runs, in their order: the instance exists, then the
apikey, then the JSON body (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/routes/index.router.ts#L41)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution.model import Instance
from evodiag.lab.evolution.payloads import error, unauthorized
from evodiag.lab.evolution.state import EvolutionState


def json_body(request: Request) -> tuple[Any, Response | None]:
    """``express.json()``: parsed only for a JSON content type, else ``{}``."""
    if "json" not in (request.header("content-type") or "").lower() or not request.body:
        return {}, None
    try:
        return request.json(), None
    except (ValueError, UnicodeDecodeError) as exc:
        # UNVERIFIED: body-parser's SyntaxError through Evolution's error handler
        return None, error(400, f"Unexpected token in JSON: {exc}")


def instance(lab: EvolutionState, request: Request, raw_name: str) -> Instance | Response:
    """[instanceExistsGuard, instanceLoggedGuard, authGuard] in that order
    (https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/routes/index.router.ts#L41): an unknown
    name is a 404 whatever the key; then the global key or this instance's own token
    (observed on 2.3.6; https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/guards/auth.guard.ts#L29-L33)."""
    name = unquote(raw_name)
    inst = lab.find_instance(name)
    if inst is None:
        # IDs too (observed on 2.3.6): the guard looks names up.
        # https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/guards/instance.guard.ts#L55
        # https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/guards/instance.guard.ts#L36
        return error(404, [f'The "{name}" instance does not exist'])
    key = request.header("apikey") or ""
    if key and key in (lab.global_key, inst.token):
        return inst
    return unauthorized()  # missing or wrong key on an instance route is 401 in every version


def instance_and_body(lab: EvolutionState, request: Request, raw_name: str) -> tuple[Instance, Any] | Response:
    """The guards, then the JSON body: the order the real routers apply them in (404 -> 401 -> 400)."""
    inst = instance(lab, request, raw_name)
    if isinstance(inst, Response):
        return inst
    body, bad = json_body(request)
    return bad if bad is not None else (inst, body)


def missing_key(lab: EvolutionState) -> Response:
    """Missing apikey on create/fetchInstances: 403 up to 1.7.5, 401 from 1.8.0.
    https://github.com/EvolutionAPI/evolution-api/blob/1.7.4/src/api/guards/auth.guard.ts#L67
    https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/guards/auth.guard.ts#L63-L64"""
    if lab.ver < (1, 8, 0):
        return error(403, ["Missing global api key", "The global api key must be set"])
    return unauthorized()


def fetch_auth(lab: EvolutionState, request: Request) -> str | Response | None:
    """Auth for fetchInstances: ``None`` = global key, a token string = restricted to that instance."""
    key = request.header("apikey") or ""
    if not key:
        return missing_key(lab)
    if key == lab.global_key:
        return None
    # Instance token accepted only with DATABASE_ENABLED (v1) / DATABASE_SAVE_DATA_INSTANCE (v2):
    # https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/guards/auth.guard.ts#L37
    if lab.instance_token_fetch and any(i.token == key for i in lab.instances):
        return key
    return unauthorized()
