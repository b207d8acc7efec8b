"""The unscoped routes: ``/api`` (version and health), ``/``, attachment blobs, the profile and the account."""

from __future__ import annotations

from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.chatwoot import views
from evodiag.lab.chatwoot.auth import Caller
from evodiag.lab.chatwoot.rails import (
    not_found,
    rails_json,
)
from evodiag.lab.chatwoot.routes.endpoint import not_found_page
from evodiag.lab.chatwoot.state import ChatwootState


async def api_index(lab: ChatwootState, request: Request) -> Response:
    # app/controllers/api_controller.rb (same at 3.8.0, 4.2.0, 4.10.1). Key order version, timestamp,
    # queue_services, data_services; the two services only from 2.14.0 (b1af814e).
    body: dict[str, Any] = {"version": lab.version, "timestamp": views.db_time(lab.clock())}
    if lab.v >= (2, 14, 0):
        body["queue_services"] = "ok" if lab.queue_ok else "failing"
        body["data_services"] = "ok" if lab.data_ok else "failing"
    return rails_json(body)


async def profile(lab: ChatwootState, request: Request, caller: Caller) -> Response:
    # ProfilesController < Api::BaseController (not account-scoped)
    assert caller.user is not None
    return rails_json(views.user_json(lab, caller.user))


async def account_show(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # current_user.accounts.find -> a non-member gets 404, not 401; no
    # suspended check on this controller (AccountsController < Api::BaseController)
    user = caller.user
    account = lab.accounts.get(int(account_id)) if account_id.isdigit() else None
    if user is None or account is None or account.id not in user.memberships:
        raise not_found()
    return rails_json(views.account_json(lab, account))


async def root(lab: ChatwootState, request: Request) -> Response:
    # with CW_API_ONLY_SERVER=true, / maps to api#index (config/routes.rb); otherwise the dashboard's HTML
    # (UNVERIFIED: abbreviated page, no redirect modelled)
    if lab.api_only_server:
        return await api_index(lab, request)
    return Response.text("<!DOCTYPE html>\n<html>\n<head>\n  <title>Chatwoot</title>\n</head>\n"
                         "<body>\n  <div id=\"app\"></div>\n</body>\n</html>\n", 200, "text/html; charset=utf-8")


async def blob_redirect(lab: ChatwootState, request: Request, signed: str, filename: str) -> Response:
    # ActiveStorage blobs/redirect: a redirect to the service URL (UNVERIFIED: 302 and the disk URL shape)
    if signed not in lab.blobs:
        return not_found_page(request)
    location = f"{lab.frontend_url.rstrip('/')}/rails/active_storage/disk/{signed}/{filename}"
    return Response(302, b"", {"Location": location, "Content-Type": "text/html; charset=utf-8"})


async def blob_disk(lab: ChatwootState, request: Request, signed: str, filename: str) -> Response:
    if signed not in lab.blobs:
        return not_found_page(request)
    data, ctype, _ = lab.blobs[signed]
    return Response(200, data, {"Content-Type": ctype})
