"""What every Chatwoot route shares: the authentication pipeline wrapper, the account path prefix, Rails' 404
page and page numbers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.chatwoot import auth
from evodiag.lab.chatwoot.rails import HTTPError, rails_json
from evodiag.lab.chatwoot.state import ChatwootState

Handler = Callable[..., Awaitable[Response]]
ACCOUNT = "/api/v1/accounts/{account_id}"


def endpoint(lab: ChatwootState, action: str, handler: Handler, scope: str = "account") -> Handler:
    """``handler(lab, request, caller, **path_params)`` behind the auth pipeline of
    :func:`evodiag.lab.chatwoot.auth.authenticate`, run with the Rails ``controller#action`` name (bot tokens
    are judged on it); an :class:`HTTPError` becomes its response."""

    async def run(request: Request, **params: str) -> Response:
        try:
            seen = auth.behind_proxy(lab, request)
            caller = auth.authenticate(lab, seen, action, params.get("account_id"), scope)
            return await handler(lab, seen, caller, **params)
        except HTTPError as exc:
            return exc.response

    return run


def not_found_page(request: Request) -> Response:
    """No route matched: Rails' exceptions app. JSON ``{"status":404,"error":"Not Found"}`` when the client asks
    for JSON, else ``public/404.html``. UNVERIFIED (Rails PublicExceptions; the HTML is abbreviated)."""
    if "json" in (request.header("accept") or ""):
        return rails_json({"status": 404, "error": "Not Found"}, 404)
    html = ("<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist (404)</title>\n"
            "</head>\n<body>\n  <h1>The page you were looking for doesn't exist.</h1>\n</body>\n</html>\n")
    return Response.text(html, 404, "text/html; charset=UTF-8")


def page_of(params: dict[str, Any]) -> tuple[int, Any]:
    """The page number asked for (at least 1) and the value to echo back."""
    raw = params.get("page")
    try:
        number = max(int(raw), 1) if raw is not None else 1
    except (TypeError, ValueError):
        number = 1
    return number, (raw if raw is not None else 1)
