"""``/settings/*``: the instance's settings (reject calls, ignore groups, always online, …), read by
chatwoot.groups. v1 names them snake_case, v2 camelCase (src/api/routes/settings.router.ts at 1.8.2 and 2.3.6:
https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/routes/settings.router.ts)."""

from __future__ import annotations

from evodiag.httpserver import Request, Response
from evodiag.lab.evolution import guards, payloads
from evodiag.lab.evolution import settings as settings_mod
from evodiag.lab.evolution.payloads import schema_error, validate
from evodiag.lab.evolution.state import EvolutionState

# settings.service.ts find() at 1.6.0-1.8.x: the answer when findSettings throws (no stored settings)
V1_DEFAULT = {"reject_call": False, "msg_call": "", "groups_ignore": True}


async def settings_find(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``GET /settings/find/{instance}`` -> 200: the stored settings; without a row v2 answers ``null``
    (settings.service.ts 2.3.6 catch -> null) and v1 its hard-coded default with groups_ignore true.
    ``wavoipToken`` from 2.2.3 (absent in 2.2.0's findSettings)."""
    inst = guards.instance(lab, request, instance)
    if isinstance(inst, Response):
        return inst
    if inst.settings is None:
        return Response.json(dict(V1_DEFAULT) if lab.is_v1 else None)
    if lab.is_v1:
        return Response.json(settings_mod.settings_v1(inst.settings))
    return Response.json(settings_mod.settings_v2(inst.settings, with_wavoip=lab.ver >= (2, 2, 3)))


async def settings_set(lab: EvolutionState, request: Request, instance: str) -> Response:
    """``POST /settings/set/{instance}`` -> 201 ``{"settings": {"instanceName", "settings": <body>}}``
    (settings.service.ts create: ``{ settings: { ...instance, settings: data } }``, instance = the path params).
    Every flag is required (settings schema ``required`` + isNotEmpty)."""
    guarded = guards.instance_and_body(lab, request, instance)
    if isinstance(guarded, Response):
        return guarded
    inst, body = guarded
    errors = validate(body, payloads.SETTINGS_V1 if lab.is_v1 else payloads.SETTINGS_V2)
    if errors:
        return schema_error(errors)
    stored = settings_mod.settings_from_set(lab.is_v1, body)
    inst.settings = stored
    return Response.json({"settings": {"instanceName": inst.name, "settings": body}}, 201)
