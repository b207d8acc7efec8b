"""Fidelity of the OpenIM lab: admin-token bodies (ref openim.md §4) and callback requests (ref openim.md §2/§3)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from evodiag.httpserver import ServerThread
from evodiag.lab.openim import OpenIMLab, callback_response_ok, go_json
from evodiag.webhook.analyze import analyze_file, online_offline_gap
from evodiag.webhook.capture import OPENIM_ACK_BODY, WebhookReceiver

OP = {"operationID": "op-test-1"}


def _admin(url: str, body: dict, headers: dict[str, str] | None = OP) -> httpx.Response:
    return httpx.post(f"{url}/auth/get_admin_token", json=body, headers=headers or {})


def test_admin_token_success(serve: Callable) -> None:
    url = serve(OpenIMLab())
    r = _admin(url, {"secret": "openIM123", "userID": "imAdmin"})
    # ref openim.md §4: {"errCode":0,"errMsg":"","errDlt":"","data":{"token":"eyJ...","expireTimeSeconds":7776000}}
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["errCode", "errMsg", "errDlt", "data"]
    assert (body["errCode"], body["errMsg"], body["errDlt"]) == (0, "", "")
    assert body["data"]["expireTimeSeconds"] == 7776000 and body["data"]["token"].startswith("eyJ")
    assert r.content.startswith(b'{"errCode":0,"errMsg":"","errDlt":"","data":{"token":"eyJ')


def test_admin_token_errors_are_http_200(serve: Callable) -> None:
    url = serve(OpenIMLab())
    # ref openim.md §4: missing operationID → 1001 "header must have operationID" (tools mw GinParseOperationID;
    # errDlt = WrapMsg form "<msg>: <code> <name>", code-reading of openimsdk/tools).
    r = _admin(url, {"secret": "openIM123", "userID": "imAdmin"}, headers=None)
    assert r.status_code == 200
    assert r.content == b'{"errCode":1001,"errMsg":"ArgsError","errDlt":"header must have operationID: 1001 ArgsError"}'
    # ref openim.md §4: wrong secret → 1002 NoPermissionError, errDlt "secret invalid: ..." (tail UNVERIFIED).
    r = _admin(url, {"secret": "nope", "userID": "imAdmin"})
    assert r.status_code == 200
    body = r.json()
    assert (body["errCode"], body["errMsg"]) == (1002, "NoPermissionError")
    assert body["errDlt"].startswith("secret invalid")
    assert "data" not in body
    # ref openim.md §4: userID not in imAdminUserID → 1001 ArgsError "userID is error."
    body = _admin(url, {"secret": "openIM123", "userID": "u1"}).json()
    assert (body["errCode"], body["errMsg"]) == (1001, "ArgsError") and body["errDlt"].startswith("userID is error.")


@pytest.mark.parametrize(("version", "kicked"), [("3.8.1", True), ("3.8.2", False)])
def test_admin_token_limit_kicks_the_oldest_on_381(serve: Callable, version: str, kicked: bool) -> None:
    # ref openim.md §4 Gotcha: 3.8.1 keeps at most 30 admin tokens, older ones are kicked (1506).
    ticks = itertools.count(1_732_530_000)
    lab = OpenIMLab(version=version, clock=lambda: float(next(ticks)))
    url = serve(lab)
    with httpx.Client() as client:
        tokens = [client.post(f"{url}/auth/get_admin_token", json={"secret": "openIM123", "userID": "imAdmin"},
                              headers=OP).json()["data"]["token"] for _ in range(31)]
    assert len(set(tokens)) == 31
    assert lab.token_state(tokens[0]) == ("kicked" if kicked else "valid")
    assert lab.token_state(tokens[1]) == "valid"
    r = httpx.post(f"{url}/auth/get_user_token", json={"platformID": 5, "userID": "u1"},
                   headers={**OP, "token": tokens[0]})
    assert r.json()["errCode"] == (1506 if kicked else 0)
    missing = httpx.post(f"{url}/auth/get_user_token", json={"platformID": 5, "userID": "u1"}, headers=OP).json()
    assert (missing["errCode"], missing["errDlt"]) == (1001, "header must have token: 1001 ArgsError")


def _session_capture(version: str, tmp_path: Path, *,
                     url_suffix: str = "/callbackExample") -> tuple[OpenIMLab, WebhookReceiver]:
    receiver = WebhookReceiver(tmp_path / f"openim-{version}.jsonl")
    receiver.start()
    lab = OpenIMLab(version=version, webhook_url=receiver.url + url_suffix,
                    enabled_callbacks={"afterUserOnline", "afterUserOffline", "afterSendSingleMsg"})
    thread = ServerThread()
    try:
        thread.call(lab.simulate_user_session("u1", 5))
        thread.call(lab.simulate_single_msg("u1", "u2", "hi <b>&"))
    finally:
        thread.stop()
        receiver.stop()
    return lab, receiver


def test_382_sends_online_and_offline_exactly(tmp_path: Path) -> None:
    lab, receiver = _session_capture("3.8.2", tmp_path)
    online, offline, single = lab.callbacks_sent
    # ref openim.md §2: POST {url}/{callbackCommand}, no query string.
    assert online.url == f"{receiver.url}/callbackExample/callbackAfterUserOnlineCommand"
    assert offline.url.endswith("/callbackExample/callbackAfterUserOfflineCommand")
    # Headers: operationID + Content-Type with charset (ref openim.md §2).
    assert online.headers["Content-Type"] == "application/json; charset=utf-8"
    assert online.headers["operationID"] == online.payload["operationID"] == "p_1234_1"
    # Exact body: json.Encoder output with a trailing newline, Go struct field order (ref openim.md §2).
    seq = online.payload["seq"]
    assert online.body == (
        '{"callbackCommand":"callbackAfterUserOnlineCommand","operationID":"p_1234_1","platformID":5,'
        f'"platform":"Web","userID":"u1","seq":{seq},"isAppBackground":false,"connID":""}}\n').encode()
    seq = offline.payload["seq"]
    assert offline.body == (
        '{"callbackCommand":"callbackAfterUserOfflineCommand","operationID":"p_1234_2","platformID":5,'
        f'"platform":"Web","userID":"u1","seq":{seq},"connID":""}}\n').encode()
    assert list(single.payload) == [
        "sendID", "callbackCommand", "serverMsgID", "clientMsgID", "operationID", "senderPlatformID",
        "senderNickname", "sessionType", "msgFrom", "contentType", "status", "sendTime", "createTime", "content",
        "seq", "atUserList", "faceURL", "ex", "recvID"]
    assert single.payload["seq"] == 0  # #3322
    assert b"\\u003cb\\u003e\\u0026" in single.body  # Go's HTML escaping
    # The capture receiver answered the exact CommonCallbackResp, which OpenIM parses as success.
    assert all(s.response == OPENIM_ACK_BODY.encode() and s.outcome == "ok" for s in lab.callbacks_sent)
    report = analyze_file(receiver.out_path)
    assert report.openim.commands == {"callbackAfterUserOnlineCommand": 1, "callbackAfterUserOfflineCommand": 1,
                                      "callbackAfterSendSingleMsgCommand": 1}
    assert online_offline_gap(report.openim, online_enabled=True, offline_enabled=True) is None
    lines = [json.loads(line) for line in receiver.out_path.read_bytes().splitlines()]
    assert lines[0]["headers"]["operationid"] == "p_1234_1"
    assert lines[0]["headers"]["content-type"] == "application/json; charset=utf-8"


def test_381_never_sends_online_offline_but_sends_messages(tmp_path: Path) -> None:
    # ref openim.md §3: 3.8.0/3.8.1 commented out the msggateway calls; afterSendSingleMsg still works (#2912).
    lab, receiver = _session_capture("3.8.1", tmp_path)
    assert [s.command for s in lab.callbacks_sent] == ["callbackAfterSendSingleMsgCommand"]
    report = analyze_file(receiver.out_path)
    gap = online_offline_gap(report.openim, online_enabled=True, offline_enabled=True)
    assert gap is not None and "3.8.0/3.8.1" in gap.message


def test_trailing_slash_url_gives_double_slash(tmp_path: Path) -> None:
    lab, receiver = _session_capture("3.8.2", tmp_path, url_suffix="/callbackExample/")
    assert lab.callbacks_sent[0].url.endswith("/callbackExample//callbackAfterUserOnlineCommand")
    paths = analyze_file(receiver.out_path).paths
    assert "/callbackExample//callbackAfterUserOnlineCommand" in paths.double_slash
    assert any("OpenIM" in n and "trailing slash" in n for n in paths.notes)


def test_unreachable_receiver_and_lab_guards() -> None:
    with pytest.raises(ValueError):
        OpenIMLab(version="3.9.0")
    lab = OpenIMLab(webhook_url="http://10.0.0.1:1/cb", enabled_callbacks={"afterUserOnline"})
    thread = ServerThread()
    try:
        with pytest.raises(ValueError, match="loopback"):
            thread.call(lab.simulate_user_session("u1"))
        lab.webhook_url = "http://127.0.0.1:9/cb"  # discard port: nothing listens
        (sent,) = thread.call(lab.simulate_user_session("u1"))
    finally:
        thread.stop()
    assert sent.outcome == "network" and sent.status is None


def test_go_json_and_response_parsing() -> None:
    assert go_json({"a": "<é&>"}) == '{"a":"\\u003cé\\u0026\\u003e"}\n'.encode()
    assert callback_response_ok(OPENIM_ACK_BODY.encode())
    assert callback_response_ok(b'{"ok":true}')  # unknown keys are ignored by Go
    assert not callback_response_ok(b"OK")  # ref openim.md §2: non-JSON → 90007
    assert not callback_response_ok(b'{"actionCode":0,"nextCode":""}')  # old docs sample: string nextCode
