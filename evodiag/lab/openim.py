"""An emulated OpenIM Server 3.8.1 / 3.8.2: admin token API and the webhook callbacks it sends.

Why: the most reported OpenIM webhook bug — afterUserOnline/afterUserOffline never arriving — depends only
on the server version (https://github.com/openimsdk/open-im-server/issues/2912, fixed in 3.8.2 by
https://github.com/openimsdk/open-im-server/pull/2716). This lab lets evodiag's probes and the webhook receiver be
tested against both behaviours without a real OpenIM: on "3.8.1" a user session produces no callback at
all, on "3.8.2" it produces the exact requests the msggateway sends.

Fidelity notes (what is exact, what is modelled):

* Callback requests: ``POST {url}/{callbackCommand}``, headers ``operationID`` and
  ``Content-Type: application/json; charset=utf-8``, body as Go's ``json.Encoder`` writes it (compact,
  HTML-escaped, trailing newline), field order of the Go structs
  (https://github.com/openimsdk/open-im-server/blob/v3.8.2/pkg/callbackstruct/common.go).
* ``/auth/get_admin_token``: HTTP 200 always, envelope ``{"errCode","errMsg","errDlt","data"}``
  (``apiresp.GinError`` in openimsdk/tools). ``errDlt`` strings follow openimsdk/tools' ``WrapMsg`` form
  ``"<msg>: <code> <Name>"``
  — exact for the operationID middleware (code-reading), UNVERIFIED for errors that cross the auth RPC.
* Message-callback field *values* other than names and order (serverMsgID format, status, msgFrom) are
  illustrative (UNVERIFIED).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp

# constant.PlatformIDToName (openimsdk/protocol constant/platform_id_to_name.go).
PLATFORM_NAMES = {1: "IOS", 2: "Android", 3: "Windows", 4: "OSX", 5: "Web", 6: "MiniWeb", 7: "Linux",
                  8: "APad", 9: "IPad", 10: "Admin"}
ADMIN_PLATFORM_ID = 10

# Error codes (openimsdk/tools errs/code.go) and names (errs/predefine.go).
ARGS_ERROR = (1001, "ArgsError")
NO_PERMISSION = (1002, "NoPermissionError")
TOKEN_KICKED = (1506, "TokenKickedError")

# 3.8.1 keeps at most 30 admin tokens (changed in 3.8.2, https://github.com/openimsdk/open-im-server/pull/2871):
# https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/storage/controller/auth.go
ADMIN_TOKEN_LIMIT_381 = 30
SUPPORTED_VERSIONS = ("3.8.1", "3.8.2")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def go_json(obj: Any) -> bytes:
    """Bytes as Go's ``json.NewEncoder(w).Encode(v)`` writes them: compact, ``<``/``>``/``&`` and U+2028/9
    escaped, UTF-8 kept, and a trailing newline (OpenIM encodes callback bodies with json.Encoder)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    # These characters can only occur inside JSON strings, so replacing them is safe.
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return (text + "\n").encode("utf-8")


def api_error(code: tuple[int, str], detail: str) -> Response:
    """OpenIM's error envelope, HTTP 200 (``apiresp.GinError`` in openimsdk/tools always uses StatusOK)."""
    num, name = code
    return Response.json({"errCode": num, "errMsg": name, "errDlt": f"{detail}: {num} {name}"})


def api_success(data: Any) -> Response:
    return Response.json({"errCode": 0, "errMsg": "", "errDlt": "", "data": data})


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class SentCallback:
    """One callback the lab posted, and what came back."""

    command: str
    url: str
    headers: dict[str, str]
    body: bytes
    sent_at: float
    status: int | None = None
    response: bytes = b""
    error: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def outcome(self) -> str:
        """How OpenIM would read the answer: ``ok``, ``network`` (ErrNetwork 90004) or
        ``bad-response`` (ErrData 90007: body does not unmarshal into the int32 CommonCallbackResp)."""
        if self.error is not None:
            return "network"
        return "ok" if callback_response_ok(self.response) else "bad-response"


def callback_response_ok(body: bytes) -> bool:
    """Whether a receiver's answer unmarshals into ``CommonCallbackResp`` (int32 fields; the HTTP status is
    never checked). Unknown keys are ignored as Go does; ``"nextCode": ""`` fails
    (https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/callbackstruct/common.go#L59-L72)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return False
    if obj is None:
        return True
    if not isinstance(obj, dict):
        return False
    for key in ("actionCode", "errCode", "nextCode"):
        if key in obj and obj[key] is not None and (isinstance(obj[key], bool) or not isinstance(obj[key], int)
                                                    or not -(2**31) <= obj[key] < 2**31):
            return False
    return all(obj.get(k) is None or isinstance(obj.get(k), str) for k in ("errMsg", "errDlt"))


@dataclass
class OpenIMLab(LabApp):
    """OpenIM API (admin/user tokens) plus a webhook sender that behaves like 3.8.1 or 3.8.2.

    ``enabled_callbacks`` holds ``webhooks.yml`` keys (``"afterUserOnline"``, ``"afterSendSingleMsg"``…);
    ``webhook_url`` is the ``url`` key — only loopback URLs are accepted, the lab never sends elsewhere.
    """

    name: str = "openim"
    version: str = "3.8.2"
    secret: str = "openIM123"
    admin_user_ids: list[str] = field(default_factory=lambda: ["imAdmin"])
    token_expire_days: int = 90
    webhook_url: str = ""
    enabled_callbacks: set[str] = field(default_factory=set)
    callback_timeout_s: float = 5.0
    pid: int = 1234
    clock: Callable[[], float] = time.time
    callbacks_sent: list[SentCallback] = field(default_factory=list)
    _admin_tokens: list[str] = field(default_factory=list, repr=False)
    _kicked: set[str] = field(default_factory=set, repr=False)
    _op_seq: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(f"OpenIMLab version must be one of {SUPPORTED_VERSIONS}, not {self.version!r}")
        self.route("POST", "/auth/get_admin_token", self._get_admin_token)
        self.route("POST", "/auth/get_user_token", self._get_user_token)

    # -- tokens ----------------------------------------------------------------------------------------
    @property
    def expire_seconds(self) -> int:
        return self.token_expire_days * 86400  # tokenPolicy.expire in days: the default 90 → 7776000

    def _make_token(self, user_id: str, platform_id: int) -> str:
        # An HS256 JWT signed with the secret, like tools' mw.CreateToken; the claim names are illustrative
        # (UNVERIFIED) — clients treat the token as opaque.
        now = int(self.clock())
        header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
        claims = {"UserID": user_id, "PlatformID": platform_id, "exp": now + self.expire_seconds,
                  "nbf": now, "iat": now}
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = hmac.new(self.secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(sig)}"

    def _token_claims(self, token: str) -> dict[str, Any] | None:
        try:
            header, payload, sig = token.split(".")
            want = hmac.new(self.secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_b64url(want), sig):
                return None
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        return claims if isinstance(claims, dict) else None

    def token_state(self, token: str) -> str:
        """``"valid"``, ``"kicked"`` (3.8.1's 30-admin-token limit) or ``"invalid"``."""
        if self._token_claims(token) is None:
            return "invalid"
        return "kicked" if token in self._kicked else "valid"

    @staticmethod
    def _operation_id(request: Request) -> str | None:
        return request.header("operationid") or None

    async def _get_admin_token(self, request: Request) -> Response:
        # operationID required on every POST (openimsdk/tools mw GinParseOperationID).
        if self._operation_id(request) is None:
            return api_error(ARGS_ERROR, "header must have operationID")
        try:
            body = request.json() or {}
        except ValueError as exc:
            return api_error(ARGS_ERROR, f"invalid JSON body: {exc}")  # exact text UNVERIFIED
        if not isinstance(body, dict):
            return api_error(ARGS_ERROR, "invalid JSON body")
        # secret first, then the admin user list:
        # https://github.com/openimsdk/open-im-server/blob/v3.8.1/internal/rpc/auth/auth.go#L75-L99
        if body.get("secret") != self.secret:
            return api_error(NO_PERMISSION, "secret invalid")  # errDlt wording after "secret invalid" UNVERIFIED
        user_id = body.get("userID")
        if user_id not in self.admin_user_ids:
            return api_error(ARGS_ERROR, "userID is error.")
        token = self._make_token(str(user_id), ADMIN_PLATFORM_ID)
        if token in self._admin_tokens:
            self._admin_tokens.remove(token)
        self._admin_tokens.append(token)
        if self.version == "3.8.1":
            # CreateToken keeps at most 30 admin tokens, the others become kicked
            # (1506). 3.8.2 changed this (PR #2871); the lab models 3.8.2 as "no limit" (exact rule UNVERIFIED).
            while len(self._admin_tokens) > ADMIN_TOKEN_LIMIT_381:
                self._kicked.add(self._admin_tokens.pop(0))
        return api_success({"token": token, "expireTimeSeconds": self.expire_seconds})

    async def _get_user_token(self, request: Request) -> Response:
        if self._operation_id(request) is None:
            return api_error(ARGS_ERROR, "header must have operationID")
        token = request.header("token")
        if not token or self._token_claims(token) is None:
            # tools mw GinParseToken answers the same for a missing and an unparsable token.
            return api_error(ARGS_ERROR, "header must have token")
        if token in self._kicked:
            return api_error(TOKEN_KICKED, "token kicked")  # errDlt wording UNVERIFIED
        claims = self._token_claims(token) or {}
        if claims.get("UserID") not in self.admin_user_ids:
            return api_error(NO_PERMISSION, "only app manager")  # wording UNVERIFIED
        try:
            body = request.json() or {}
        except ValueError:
            body = {}
        user_id = str(body.get("userID") or "")
        platform_id = body.get("platformID")
        if not user_id or not isinstance(platform_id, int) or platform_id not in PLATFORM_NAMES:
            return api_error(ARGS_ERROR, "userID and platformID are required")  # wording UNVERIFIED
        return api_success({"token": self._make_token(user_id, platform_id),
                            "expireTimeSeconds": self.expire_seconds})

    # -- callbacks -------------------------------------------------------------------------------------
    def _next_operation_id(self) -> str:
        self._op_seq += 1
        return f"p_{self.pid}_{self._op_seq}"  # the 3.8.2 form p_<pid>_<n> (internal/msggateway/online.go)

    def _check_url(self) -> None:
        split = urlsplit(self.webhook_url)
        if split.scheme != "http" or (split.hostname or "") not in _LOOPBACK:
            raise ValueError(f"OpenIMLab only posts to loopback http URLs, not {self.webhook_url!r}")

    async def _post(self, command: str, payload: dict[str, Any], operation_id: str) -> SentCallback:
        self._check_url()
        # c.url + "/" + command, no normalising:
        # https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71
        url = self.webhook_url + "/" + command
        headers = {"operationID": operation_id, "Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Go-http-client/1.1"}
        body = go_json(payload)
        sent = SentCallback(command, url, headers, body, sent_at=time.time())
        try:
            async with httpx.AsyncClient(timeout=min(self.callback_timeout_s, 15.0), trust_env=False) as client:
                resp = await client.post(url, content=body, headers=headers)
            sent.status, sent.response = resp.status_code, resp.content
        except httpx.HTTPError as exc:
            sent.error = f"{type(exc).__name__}: {exc}"
        self.callbacks_sent.append(sent)
        return sent

    async def simulate_user_session(self, user_id: str, platform_id: int = 5, *, online_seconds: float = 0.0,
                                    is_app_background: bool = False) -> list[SentCallback]:
        """A client connects and, after ``online_seconds``, disconnects — as the msggateway reports it.

        3.8.2 posts ``callbackAfterUserOnlineCommand`` then ``callbackAfterUserOfflineCommand`` (each only if
        enabled). 3.8.1 posts nothing: the calls are commented out
        (https://github.com/openimsdk/open-im-server/blob/v3.8.1/internal/msggateway/ws_server.go#L97-L107).
        """
        sent: list[SentCallback] = []
        sends = self.version == "3.8.2"
        platform = PLATFORM_NAMES.get(platform_id, "")
        if sends and "afterUserOnline" in self.enabled_callbacks:
            # the online body, field order of the Go struct; seq = time.Now().UnixMilli()
            # (pkg/callbackstruct/msg_gateway.go, internal/msggateway/callback.go).
            payload = {"callbackCommand": "callbackAfterUserOnlineCommand", "operationID": "",
                       "platformID": platform_id, "platform": platform, "userID": user_id,
                       "seq": int(time.time() * 1000), "isAppBackground": is_app_background, "connID": ""}
            op = payload["operationID"] = self._next_operation_id()
            sent.append(await self._post("callbackAfterUserOnlineCommand", payload, op))
        if online_seconds:
            await asyncio.sleep(online_seconds)
        if sends and "afterUserOffline" in self.enabled_callbacks:
            payload = {"callbackCommand": "callbackAfterUserOfflineCommand", "operationID": "",
                       "platformID": platform_id, "platform": platform, "userID": user_id,
                       "seq": int(time.time() * 1000), "connID": ""}
            op = payload["operationID"] = self._next_operation_id()
            sent.append(await self._post("callbackAfterUserOfflineCommand", payload, op))
        return sent

    async def simulate_single_msg(self, send_id: str, recv_id: str, text: str = "hello", *,
                                  sender_platform_id: int = 5, sender_nickname: str = "") -> SentCallback | None:
        """A one-to-one text message: posts ``callbackAfterSendSingleMsgCommand`` if afterSendSingleMsg is
        enabled — on both versions (it worked on 3.8.1 while online did not:
        https://github.com/openimsdk/open-im-server/issues/2912)."""
        if "afterSendSingleMsg" not in self.enabled_callbacks:
            return None
        now_ms = int(time.time() * 1000)
        op = self._next_operation_id()
        client_msg_id = hashlib.md5(f"{send_id}{recv_id}{now_ms}{op}".encode()).hexdigest()
        server_msg_id = hashlib.md5(f"server{client_msg_id}".encode()).hexdigest()
        # CommonCallbackReq fields in order, then recvID; seq is 0 in afterSendSingleMsg
        # (https://github.com/openimsdk/open-im-server/issues/3322). Values for sessionType/msgFrom/contentType/status
        # are the usual text-message constants.
        payload = {
            "sendID": send_id, "callbackCommand": "callbackAfterSendSingleMsgCommand",
            "serverMsgID": server_msg_id, "clientMsgID": client_msg_id, "operationID": op,
            "senderPlatformID": sender_platform_id, "senderNickname": sender_nickname, "sessionType": 1,
            "msgFrom": 100, "contentType": 101, "status": 2, "sendTime": now_ms, "createTime": now_ms,
            "content": json.dumps({"content": text}, ensure_ascii=False, separators=(",", ":")), "seq": 0,
            "atUserList": None, "faceURL": "", "ex": "", "recvID": recv_id,
        }
        return await self._post("callbackAfterSendSingleMsgCommand", payload, op)
