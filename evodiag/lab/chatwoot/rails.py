"""Rails plumbing the emulator imitates: rendered errors (``render json: { error: … }``, ``render_record_invalid``,
the exceptions app), Ruby's ``blank?``/``present?``, ActiveModel's boolean cast, and ``params`` parsing."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from evodiag.httpserver import Request, Response
from evodiag.lab.chatwoot import texts

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def rails_json(obj: Any, status: int = 200) -> Response:
    """``render json:`` / jbuilder output: compact JSON, UTF-8 kept as is, and ActiveSupport's
    ``escape_html_entities_in_json`` (on by default, not changed by Chatwoot's config): ``<`` ``>`` ``&`` become
    ``\\u003c`` ``\\u003e`` ``\\u0026`` (and U+2028/U+2029 are escaped). These characters only occur inside JSON
    strings, so a textual replacement is exact."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    body = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)
    return Response(status, body.encode("utf-8"), {"Content-Type": "application/json; charset=utf-8"})


class HTTPError(Exception):
    """Short-circuits a handler with a finished response (Rails' ``render … and return`` / rescued exceptions)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def error(status: int, message: str) -> HTTPError:
    """``render json: { error: message }, status:``."""
    return HTTPError(rails_json({"error": message}, status))


def not_found() -> HTTPError:
    # RecordNotFound -> handle_with_exception -> 404 "Resource could not be found" (request_exception_handler.rb)
    return error(404, texts.NOT_FOUND)


def not_allowed() -> HTTPError:
    # Pundit::NotAuthorizedError -> 401 (not 403)
    return error(401, texts.NOT_ALLOWED)


def record_invalid(errors: list[tuple[str, str]]) -> HTTPError:
    """``render_record_invalid`` -> 422 ``{"message": full messages joined by ', ',
    "attributes": [...]}``; ``errors`` is ``[(attribute, message), …]`` in validation order."""
    full = ", ".join(f"{texts.ATTRIBUTE_NAMES.get(attr, attr.replace('_', ' ').capitalize())} {msg}"
                     for attr, msg in errors)
    attributes = list(dict.fromkeys(attr for attr, _ in errors))
    return HTTPError(rails_json({"message": full, "attributes": attributes}, 422))


def server_error() -> HTTPError:
    """An unhandled Ruby exception in production: the exceptions app renders the request format, JSON for
    ``/api`` routes (``defaults: { format: 'json' }``). UNVERIFIED (Rails PublicExceptions, not observed)."""
    return HTTPError(rails_json({"status": 500, "error": "Internal Server Error"}, 500))


def rails_bool(value: Any) -> bool:
    """ActiveModel boolean cast: everything but nil/false-ish strings is true."""
    if value is None or value == "":
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "f", "false", "off", "no", "n")
    return bool(value)


def present(value: Any) -> bool:
    """Ruby's ``present?``."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, dict)):
        return bool(value)
    return True


def parse_params(request: Request) -> dict[str, Any]:
    """Rails ``params``: query string merged with a JSON, urlencoded or multipart body (by Content-Type).
    A JSON body that does not parse raises ParseError -> 400 (UNVERIFIED body)."""
    params: dict[str, Any] = dict(parse_qsl(urlsplit(request.target).query, keep_blank_values=True))
    ctype = (request.header("content-type") or "").lower()
    if not request.body:
        return params
    if "json" in ctype:
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise HTTPError(rails_json({"status": 400, "error": "Bad Request"}, 400)) from None
        if isinstance(body, dict):
            params.update(body)
        else:
            params["_json"] = body
    elif "x-www-form-urlencoded" in ctype:
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    elif "multipart/form-data" in ctype:
        params.update(_multipart(ctype, request.body))
    return params


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Fields of a ``multipart/form-data`` body; files become ``{filename, content_type, data}``; names ending
    in ``[]`` collect lists."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        filename = part.get_filename()
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        value: Any = ({"filename": filename, "content_type": part.get_content_type(), "data": payload}
                      if filename else payload.decode("utf-8", "replace"))
        if str(name).endswith("[]"):
            out.setdefault(str(name), []).append(value)
        else:
            out[str(name)] = value
    return out
