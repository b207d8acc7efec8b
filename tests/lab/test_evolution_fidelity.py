"""Fidelity of the Evolution API emulator to the real server.

Every expected body is the reference's bytes; ``ref §N`` = /work/shared/reference/evolution-api.md section N,
``cw §N`` = chatwoot.md. Tests talk to the lab over real HTTP on 127.0.0.1 (no mocks).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from evodiag.httpserver import Request, Response, ServerThread
from evodiag.lab.base import LabApp
from evodiag.lab.evolution import ChatwootSettings, EvolutionLab, Instance, WebhookConfig

GK = "lab-global-key"
Serve = Callable[[LabApp], str]

UNAUTHORIZED = b'{"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}}'
MISSING_KEY_403 = (b'{"status":403,"error":"Forbidden","response":{"message":["Missing global api key",'
                   b'"The global api key must be set"]}}')
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CHATWOOT_DISABLED = b'{"status":400,"error":"Bad Request","response":{"message":["Chatwoot is disabled"]}}'


_open_clients: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open_clients:
        _open_clients.pop().close()


def start(serve: Serve, version: str = "2.3.6", **kw: Any) -> tuple[EvolutionLab, httpx.Client]:
    lab = EvolutionLab(version=version, global_key=GK, **kw)
    base = serve(lab)
    client = httpx.Client(base_url=base, timeout=5, trust_env=False)
    _open_clients.append(client)
    return lab, client


def envelope(status: int, error: str, message: str) -> bytes:
    """``{"status":N,"error":"...","response":{"message":<message JSON>}}`` (ref §2.2)."""
    return f'{{"status":{status},"error":"{error}","response":{{"message":{message}}}}}'.encode()


def host_of(client: httpx.Client) -> str:
    return urlsplit(str(client.base_url)).netloc


# ------------------------------------------------------------------------------------------------------------------
# Auth, guards and the error envelope (ref §2)
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.7.4", "1.8.2", "2.3.6"])
def test_wrong_key_is_401_with_string_message(serve: Serve, version: str) -> None:
    lab, c = start(serve, version)
    lab.add_instance("lab1")
    for path in ("/instance/connectionState/lab1", "/instance/fetchInstances", "/webhook/find/lab1"):
        r = c.get(path, headers={"apikey": "wrong"})
        # ref §2.2/§2.3: argless UnauthorizedException -> message is the string "Unauthorized" (#1020, §11)
        assert (r.status_code, r.content) == (401, UNAUTHORIZED)
    r = c.get("/instance/connectionState/lab1")  # ref §2.3: missing key on an instance route: 401 everywhere
    assert (r.status_code, r.content) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(("version", "status", "body"), [
    ("1.7.4", 403, MISSING_KEY_403),  # ref §2.3: R@1.7.4:src/api/guards/auth.guard.ts#L67
    ("1.8.0", 401, UNAUTHORIZED),  # ref §2.3: `if (!key) throw new UnauthorizedException()` from 1.8.0
    ("2.3.6", 401, UNAUTHORIZED),  # ref §2.3: R@2.3.6:auth.guard.ts#L15-16
])
def test_missing_key_on_global_routes(serve: Serve, version: str, status: int, body: bytes) -> None:
    _lab, c = start(serve, version)
    r = c.get("/instance/fetchInstances")
    assert (r.status_code, r.content) == (status, body)
    r = c.post("/instance/create", json={"instanceName": "new", "integration": "WHATSAPP-BAILEYS"})
    assert (r.status_code, r.content) == (status, body)


@pytest.mark.parametrize("version", ["1.8.2", "2.3.6"])
def test_unknown_instance_404_before_auth(serve: Serve, version: str) -> None:
    lab, c = start(serve, version)
    inst = lab.add_instance("lab1")
    # ref §4.1 (R@2.3.6:src/api/guards/instance.guard.ts#L36); §11: same shape for "nope"
    r = c.get("/instance/connectionState/nope", headers={"apikey": GK})
    assert (r.status_code, r.content) == (
        404, b'{"status":404,"error":"Not Found","response":{"message":["The \\"nope\\" instance does not exist"]}}')
    # ref §2.3 guard order + §11: wrong key on a non-existent instance -> 404, not 401; no key -> 404 too
    for headers in ({"apikey": "wrong"}, {}):
        assert c.get("/instance/connectionState/nope", headers=headers).status_code == 404
    # ref §4 / #1312 / §11: the instance ID in place of the name -> 404 "<id>" instance does not exist
    for path in (f"/instance/connectionState/{inst.id}", f"/chatwoot/find/{inst.id}", f"/webhook/find/{inst.id}"):
        r = c.get(path, headers={"apikey": GK})
        assert (r.status_code, r.content) == (
            404, b'{"status":404,"error":"Not Found","response":{"message":["The \\"'
            + inst.id.encode() + b'\\" instance does not exist"]}}')


def test_instance_token_restrictions(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    a = lab.add_instance("a", token="TOKEN-A")
    lab.add_instance("b", token="TOKEN-B")
    # ref §2.1, observed §11: works for its own instance, 401 for another, 401 on create
    assert c.get("/instance/connectionState/a", headers={"apikey": a.token}).status_code == 200
    r = c.get("/instance/connectionState/b", headers={"apikey": a.token})
    assert (r.status_code, r.content) == (401, UNAUTHORIZED)
    r = c.post("/instance/create", headers={"apikey": a.token}, json={"instanceName": "x",
                                                                       "integration": "WHATSAPP-BAILEYS"})
    assert (r.status_code, r.content) == (401, UNAUTHORIZED)
    # §11: fetchInstances with an instance token returns only that instance
    r = c.get("/instance/fetchInstances", headers={"apikey": a.token})
    assert [row["name"] for row in r.json()] == ["a"]
    # ref §3: verify-creds has no :instanceName, so an instance token fails
    r = c.post("/verify-creds", headers={"apikey": a.token})
    assert (r.status_code, r.content) == (401, UNAUTHORIZED)
    # ref §2.1: token on fetchInstances only with DATABASE_SAVE_DATA_INSTANCE
    lab.instance_token_fetch = False
    assert c.get("/instance/fetchInstances", headers={"apikey": a.token}).status_code == 401


def test_unknown_route_and_restart_method(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("cassiorh")
    r = c.get("/foo")  # ref §2.2 (main.ts#L121-128)
    assert (r.status_code, r.content) == (
        404, b'{"status":404,"error":"Not Found","response":{"message":["Cannot GET /foo"]}}')
    r = c.put("/instance/restart/cassiorh", headers={"apikey": GK})  # ref §2.2, #2223: v2 restart is POST
    assert (r.status_code, r.content) == (
        404, b'{"status":404,"error":"Not Found","response":{"message":["Cannot PUT /instance/restart/cassiorh"]}}')
    assert c.post("/instance/restart/cassiorh", headers={"apikey": GK}).status_code == 200
    lab_v1, c1 = start(serve, "1.8.2")
    lab_v1.add_instance("x")
    assert c1.put("/instance/restart/x", headers={"apikey": GK}).status_code == 200  # ref §2.2: PUT in 1.8.2
    assert c1.post("/instance/restart/x", headers={"apikey": GK}).status_code == 404


# ------------------------------------------------------------------------------------------------------------------
# GET / and verify-creds (ref §3)
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "template"), [
    # ref §3 table: v1 has swagger (R@1.8.2:src/api/routes/index.router.ts#L43-51)
    ("1.7.4", '{"status":200,"message":"Welcome to the Evolution API, it is working!","version":"1.7.4",'
              '"swagger":"http://H/docs","manager":"http://H/manager","documentation":"https://doc.evolution-api.com"}'),
    ("1.8.2", '{"status":200,"message":"Welcome to the Evolution API, it is working!","version":"1.8.2",'
              '"swagger":"http://H/docs","manager":"http://H/manager","documentation":"https://doc.evolution-api.com"}'),
    # ref §3: 2.0.10–2.2.3 add clientName, no swagger
    ("2.2.3", '{"status":200,"message":"Welcome to the Evolution API, it is working!","version":"2.2.3",'
              '"clientName":"evolution","manager":"http://H/manager","documentation":"https://doc.evolution-api.com"}'),
    # ref §3 + observed §11 (key order): 2.3.0+ add whatsappWebVersion; §11's server had no WhatsApp egress, so
    # it reported Baileys' fallback version (the lab's dns-fail egress below)
    ("2.3.6", '{"status":200,"message":"Welcome to the Evolution API, it is working!","version":"2.3.6",'
              '"clientName":"evolution","manager":"http://H/manager","documentation":"https://doc.evolution-api.com",'
              '"whatsappWebVersion":"2.3000.1027934701"}'),
])
def test_root_per_version(serve: Serve, version: str, template: str) -> None:
    _lab, c = start(serve, version, whatsapp_egress="dns-fail")
    r = c.get("/")
    assert r.status_code == 200
    assert r.content == template.replace("H", host_of(c)).encode()


def test_root_client_name_unset_before_2_3(serve: Serve) -> None:
    # ref §3: clientName is process.env.DATABASE_CONNECTION_CLIENT_NAME in 2.0.10–2.2.3 -> undefined is dropped
    _lab, c = start(serve, "2.0.10", client_name=None)
    assert "clientName" not in c.get("/").json()


def test_verify_creds(serve: Serve) -> None:
    _lab, c = start(serve, "2.3.6")
    r = c.post("/verify-creds", headers={"apikey": GK})  # ref §3 (R@2.3.6:index.router.ts#L202-210)
    assert (r.status_code, r.json()["message"]) == (200, "Credentials are valid")
    _lab1, c1 = start(serve, "1.8.2")
    r = c1.post("/verify-creds", headers={"apikey": GK})  # absent before 2.0.10 -> unknown route
    assert (r.status_code, r.content) == (
        404, b'{"status":404,"error":"Not Found","response":{"message":["Cannot POST /verify-creds"]}}')


# ------------------------------------------------------------------------------------------------------------------
# Instances (ref §4)
# ------------------------------------------------------------------------------------------------------------------


def test_fetch_instances_v1_shape(serve: Serve) -> None:
    lab, c = start(serve, "1.8.2", server_url="http://evo", expose_in_fetch=False)
    x = lab.add_instance("x", state="open", owner_jid="5511999990000@s.whatsapp.net", profile_name="Shop")
    y = lab.add_instance("y", state="close")
    r = c.get("/instance/fetchInstances", headers={"apikey": GK})
    # ref §4.2: array of {"instance":{...}} wrappers; profile fields only when open; uuid instanceId
    assert r.content == (
        b'[{"instance":{"instanceName":"x","instanceId":"' + x.id.encode() + b'","owner":"5511999990000@s.whatsapp'
        b'.net","profileName":"Shop","profilePictureUrl":null,"profileStatus":"","status":"open"}},'
        b'{"instance":{"instanceName":"y","instanceId":"' + y.id.encode() + b'","status":"close"}}]')
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", x.id)
    # ref §4.2: ?instanceName with the global key -> a single object, not an array
    assert c.get("/instance/fetchInstances?instanceName=y", headers={"apikey": GK}).json() == {
        "instance": {"instanceName": "y", "instanceId": y.id, "status": "close"}}
    # ref §4.2: with an instance key -> 1-element array
    assert isinstance(c.get("/instance/fetchInstances?instanceName=y", headers={"apikey": y.token}).json(), list)
    # ref §4.1: unknown name on fetchInstances has its own message
    r = c.get("/instance/fetchInstances?instanceName=nope", headers={"apikey": GK})
    assert (r.status_code, r.content) == (
        404, b'{"status":404,"error":"Not Found","response":{"message":["Instance \\"nope\\" not found"]}}')
    # ref §4.2: serverUrl/apikey/chatwoot/integration only with EXPOSE_IN_FETCH_INSTANCES
    lab.expose_in_fetch = True
    inner = c.get("/instance/fetchInstances?instanceName=y", headers={"apikey": GK}).json()["instance"]
    assert list(inner)[:6] == ["instanceName", "instanceId", "status", "serverUrl", "apikey", "chatwoot"]
    assert inner["apikey"] == y.token and inner["serverUrl"] == "http://evo"


def test_fetch_instances_v2_shape_and_client_filter(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6", client_name="evolution")
    a = lab.add_instance("a", state="connecting", db_status="close")
    lab.add_instance("other", client_name="evolution_exchange")
    rows = c.get("/instance/fetchInstances", headers={"apikey": GK}).json()
    # ref §4.2: filtered by clientName = DATABASE_CONNECTION_CLIENT_NAME
    assert [r["name"] for r in rows] == ["a"]
    # ref §4.2 + §11: Prisma row with relations, no Webhook key, Nats from 2.3.0; DB status, not live state
    assert list(rows[0]) == ["id", "name", "connectionStatus", "ownerJid", "profileName", "profilePicUrl",
                             "integration", "number", "businessId", "token", "clientName",
                             "disconnectionReasonCode", "disconnectionObject", "disconnectionAt", "createdAt",
                             "updatedAt", "Chatwoot", "Proxy", "Rabbitmq", "Nats", "Sqs", "Websocket", "Setting",
                             "_count"]
    assert rows[0]["connectionStatus"] == "close" and rows[0]["token"] == a.token
    assert UUID_V4.match(a.id)  # a real 2.3.6 creates instance ids with uuid v4, not Prisma's cuid
    # §11: ?instanceId works; ?instanceName=nope -> 404 Instance "nope" not found
    assert c.get(f"/instance/fetchInstances?instanceId={a.id}", headers={"apikey": GK}).json()[0]["name"] == "a"
    r = c.get("/instance/fetchInstances?instanceName=nope", headers={"apikey": GK})
    assert (r.status_code, r.content) == (
        404, b'{"status":404,"error":"Not Found","response":{"message":["Instance \\"nope\\" not found"]}}')
    lab.version = "2.2.3"  # ref §4.2: 2.2.x has no Nats relation
    assert "Nats" not in c.get("/instance/fetchInstances", headers={"apikey": GK}).json()[0]


def test_connection_state_and_connect(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("lab1", state="open")
    lab.add_instance("qr", state="connecting", qr_available=True)
    lab.add_instance("offline", state="close")
    h = {"apikey": GK}
    # ref §4.3 (R@2.3.6 instance.controller.ts#L361-368)
    r = c.get("/instance/connectionState/lab1", headers=h)
    assert (r.status_code, r.content) == (200, b'{"instance":{"instanceName":"lab1","state":"open"}}')
    # ref §4.4: open -> connectionState shape
    assert c.get("/instance/connect/lab1", headers=h).content == b'{"instance":{"instanceName":"lab1","state":"open"}}'
    # ref §4.4: connecting with a QR -> {pairingCode, code, base64, count}
    qr = c.get("/instance/connect/qr", headers=h).json()
    assert list(qr) == ["pairingCode", "code", "base64", "count"] and qr["pairingCode"] is None
    assert qr["base64"].startswith("data:image/png;base64,") and qr["count"] == 1
    # ref §4.4 + §11: offline -> {"count":0}; connect on a close instance starts connecting
    r = c.get("/instance/connect/offline", headers=h)
    assert (r.status_code, r.content) == (200, b'{"count":0}')
    assert c.get("/instance/connectionState/offline", headers=h).content == (
        b'{"instance":{"instanceName":"offline","state":"connecting"}}')
    # read-only routes are logged as such; connect is mutating
    assert {e.route for e in lab.requests(mutating=True)} == {"/instance/connect/{instance}"}


def test_create_v2(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6", chatwoot_enabled=False)
    h = {"apikey": GK}
    r = c.post("/instance/create", headers=h, json={"instanceName": "lab1", "integration": "WHATSAPP-BAILEYS",
                                                    "qrcode": True})
    # ref §4.5, §11: 201, hash is a string, webhook {} when none, qrcode {"count":0} offline
    assert r.status_code == 201
    body = r.json()
    assert isinstance(body["hash"], str) and body["webhook"] == {} and body["qrcode"] == {"count": 0}
    assert body["instance"]["status"] == "connecting"
    assert "qrcode" not in c.post("/instance/create", headers=h, json={
        "instanceName": "lab2", "integration": "WHATSAPP-BAILEYS", "qrcode": False}).json()
    # §11: duplicate name 403; missing instanceName -> 403 'This name "undefined" is already in use.'
    r = c.post("/instance/create", headers=h, json={"instanceName": "lab1", "integration": "WHATSAPP-BAILEYS"})
    assert (r.status_code, r.content) == (
        403, b'{"status":403,"error":"Forbidden","response":{"message":["This name \\"lab1\\" is already in use."]}}')
    r = c.post("/instance/create", headers=h, json={"integration": "WHATSAPP-BAILEYS"})
    assert r.content == (b'{"status":403,"error":"Forbidden","response":{"message":'
                         b'["This name \\"undefined\\" is already in use."]}}')
    # ref §4.5, §11: missing integration -> 400 ["Invalid integration"]
    r = c.post("/instance/create", headers=h, json={"instanceName": "lab3"})
    assert (r.status_code, r.content) == (
        400, b'{"status":400,"error":"Bad Request","response":{"message":["Invalid integration"]}}')
    # ref §4.5 (#1011): chatwoot fields with CHATWOOT_ENABLED false -> 400 and the instance is gone again
    r = c.post("/instance/create", headers=h, json={
        "instanceName": "lab4", "integration": "WHATSAPP-BAILEYS", "chatwootAccountId": "1",
        "chatwootToken": "t", "chatwootUrl": "http://127.0.0.1:9"})
    assert (r.status_code, r.content) == (
        400, b'{"status":400,"error":"Bad Request","response":{"message":["Chatwoot is not enabled"]}}')
    assert lab.find_instance("lab4") is None


def test_create_v1_hash_object(serve: Serve) -> None:
    _lab, c = start(serve, "1.8.2", server_url="http://evo/")
    r = c.post("/instance/create", headers={"apikey": GK}, json={
        "instanceName": "x", "token": "MYTOKEN", "chatwoot_account_id": "1", "chatwoot_token": "t",
        "chatwoot_url": "http://127.0.0.1:9"})
    # ref §4.5: v1 instance.status "created", hash object {"apikey": ...}, chatwoot.webhook_url
    assert r.status_code == 201
    body = r.json()
    assert body["instance"]["status"] == "created" and body["hash"] == {"apikey": "MYTOKEN"}
    assert body["chatwoot"]["webhook_url"] == "http://evo//chatwoot/webhook/x"


def test_logout_and_delete(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("lab2", state="connecting")
    r = c.delete("/instance/logout/lab2", headers={"apikey": GK})  # §11: never connected
    assert (r.status_code, r.content) == (
        400, envelope(400, "Bad Request", r'["The \"lab2\" instance is not connected"]'))
    r = c.delete("/instance/delete/lab2", headers={"apikey": GK})  # §11
    assert (r.status_code, r.content) == (
        200, b'{"status":"SUCCESS","error":false,"response":{"message":"Instance deleted"}}')
    assert lab.find_instance("lab2") is not None  # the rows go a few seconds later (see the test below)


# ------------------------------------------------------------------------------------------------------------------
# Chatwoot integration routes (ref §5)
# ------------------------------------------------------------------------------------------------------------------

CW_SET_V2 = {"enabled": True, "accountId": "1", "token": "cw-token", "url": "http://127.0.0.1:9", "signMsg": False,
             "reopenConversation": True, "conversationPending": False, "nameInbox": "lab1"}


def test_chatwoot_disabled(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6", chatwoot_enabled=False)
    lab.add_instance("lab1")
    h = {"apikey": GK}
    # ref §5.3 + §11: exactly this body on set, find and webhook
    for r in (c.get("/chatwoot/find/lab1", headers=h), c.post("/chatwoot/set/lab1", headers=h, json=CW_SET_V2),
              c.post("/chatwoot/webhook/lab1", json={})):
        assert (r.status_code, r.content) == (400, CHATWOOT_DISABLED)
    # ref §5.3 order: instance-exists 404 first, apikey 401 next
    assert c.get("/chatwoot/find/nope", headers=h).status_code == 404
    assert c.get("/chatwoot/find/lab1", headers={"apikey": "bad"}).content == UNAUTHORIZED


@pytest.mark.parametrize(("version", "body"), [
    # ref §5.2 (v1 names, R@1.8.2 chatwoot.controller.ts findChatwoot)
    ("1.8.2", b'{"enabled":false,"url":"","account_id":"","token":"","sign_msg":false,"name_inbox":"",'
              b'"webhook_url":""}'),
    # observed §11 on 2.3.6
    ("2.3.6", b'{"enabled":false,"url":"","accountId":"","token":"","signMsg":false,"nameInbox":"",'
              b'"webhook_url":""}'),
])
def test_chatwoot_find_unconfigured(serve: Serve, version: str, body: bytes) -> None:
    lab, c = start(serve, version)
    lab.add_instance("lab1")
    r = c.get("/chatwoot/find/lab1", headers={"apikey": GK})
    assert (r.status_code, r.content) == (200, body)


@pytest.mark.parametrize(("server_url", "expected"), [
    ("https://evo.example.com/", "https://evo.example.com//chatwoot/webhook/my%20inst"),  # ref §5.4: no normalising
    (None, "undefined/chatwoot/webhook/my%20inst"),  # ref §5.4: SERVER_URL has no default in v2
])
def test_chatwoot_set_webhook_url(serve: Serve, server_url: str | None, expected: str) -> None:
    lab, c = start(serve, "2.3.6", server_url=server_url)
    lab.add_instance("my inst")
    r = c.post("/chatwoot/set/my%20inst", headers={"apikey": GK}, json=CW_SET_V2)
    # ref §5.1: 201; §5.2: webhook_url stays snake_case in v2, encodeURIComponent(name); §11: no connection attempt
    assert r.status_code == 201
    assert r.json()["webhook_url"] == expected
    found = c.get("/chatwoot/find/my%20inst", headers={"apikey": GK}).json()
    assert found["webhook_url"] == expected and found["accountId"] == "1" and found["enabled"] is True
    assert lab.chatwoot_calls == []


def test_chatwoot_set_validation(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("lab1")
    h = {"apikey": GK}
    body = dict(CW_SET_V2)
    del body["token"]
    r = c.post("/chatwoot/set/lab1", headers=h, json=body)  # observed §11: nested array for schema errors
    assert (r.status_code, r.content) == (
        400, envelope(400, "Bad Request", r'[["instance requires property \"token\""]]'))
    r = c.post("/chatwoot/set/lab1", headers=h, json={**CW_SET_V2, "url": "not a url"})  # observed §11
    assert r.content == b'{"status":400,"error":"Bad Request","response":{"message":["url is not valid"]}}'
    r = c.post("/chatwoot/set/lab1", headers=h, json={**CW_SET_V2, "accountId": 1})  # ref §5.2 (inferred wording)
    assert r.content == (b'{"status":400,"error":"Bad Request","response":{"message":'
                         b'[["accountId is not of a type(s) string"]]}}')


def test_chatwoot_set_autocreate_dead_port_is_500_but_saved(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6", server_url="http://127.0.0.1:8080")
    lab.add_instance("lab1")
    r = c.post("/chatwoot/set/lab1", headers={"apikey": GK}, json={**CW_SET_V2, "autoCreate": True})
    # observed §11: 500 with the Node error as a plain string, config saved anyway
    assert (r.status_code, r.content) == (
        500, envelope(500, "Internal Server Error", '"connect ECONNREFUSED 127.0.0.1:9"'))
    assert c.get("/chatwoot/find/lab1", headers={"apikey": GK}).json()["enabled"] is True


@pytest.mark.parametrize("version", ["1.7.4", "2.3.6"])
def test_chatwoot_webhook_probe(serve: Serve, version: str) -> None:
    lab, c = start(serve, version)
    lab.add_instance("lab1", chatwoot=ChatwootSettings(url="http://127.0.0.1:9", token="t"))
    lab.add_instance("plain")
    # ref §5.4: no guards; body without `conversation` -> {"message":"bot"}; no provider -> body null
    r = c.post("/chatwoot/webhook/lab1", json={})
    assert (r.status_code, r.content) == (200, b'{"message":"bot"}')
    r = c.post("/chatwoot/webhook/plain", json={})
    assert (r.status_code, r.content) == (200, b"null")
    assert lab.requests(mutating=True) == []  # the probe is side-effect free


# ------------------------------------------------------------------------------------------------------------------
# Webhook settings (ref §6.1)
# ------------------------------------------------------------------------------------------------------------------


def test_webhook_find_set_v1(serve: Serve) -> None:
    lab, c = start(serve, "1.8.2")
    lab.add_instance("x")
    h = {"apikey": GK}
    r = c.get("/webhook/find/x", headers=h)  # ref §6.1: v1 defaults when unset
    assert r.content == b'{"enabled":false,"url":"","events":[],"webhook_by_events":false,"webhook_base64":false}'
    r = c.post("/webhook/set/x", headers=h, json={"url": "http://127.0.0.1:9/hook/", "enabled": True,
                                                  "webhook_by_events": True, "events": ["MESSAGES_UPSERT"]})
    assert r.status_code == 201
    r = c.get("/webhook/find/x", headers=h)
    assert r.content == (b'{"enabled":true,"url":"http://127.0.0.1:9/hook/","events":["MESSAGES_UPSERT"],'
                         b'"webhook_by_events":true,"webhook_base64":false}')


def test_webhook_set_find_v20_flat(serve: Serve) -> None:
    lab, c = start(serve, "2.0.10")
    inst = lab.add_instance("x")
    h = {"apikey": GK}
    r = c.post("/webhook/set/x", headers=h, json={"enabled": True, "url": "http://127.0.0.1:9/h",
                                                  "webhookByEvents": False, "events": []})
    assert r.status_code == 201  # ref §6.1: 2.0.x flat camelCase body, Prisma row back
    row = c.get("/webhook/find/x", headers=h).json()
    assert row["url"] == "http://127.0.0.1:9/h" and row["webhookByEvents"] is False and row["instanceId"] == inst.id


def test_webhook_set_find_v21_wrapped(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    inst = lab.add_instance("lab1")
    h = {"apikey": GK}
    r = c.get("/webhook/find/lab1", headers=h)
    assert (r.status_code, r.content) == (200, b"null")  # observed §11: before any set
    # ref §6.1: the v1/docs flat body fails against 2.1+ with the nested schema message
    r = c.post("/webhook/set/lab1", headers=h, json={"url": "http://x", "enabled": True})
    assert (r.status_code, r.content) == (
        400, envelope(400, "Bad Request", r'[["instance requires property \"webhook\""]]'))
    r = c.post("/webhook/set/lab1", headers=h, json={"webhook": {
        "enabled": True, "url": "http://127.0.0.1:1/byevents/", "byEvents": True, "events": ["CONNECTION_UPDATE"]}})
    # observed §11: 201, body = stored row, URL verbatim (trailing / kept), dead port accepted
    assert r.status_code == 201
    row = r.json()
    assert list(row) == ["id", "url", "headers", "enabled", "events", "webhookByEvents", "webhookBase64",
                         "createdAt", "updatedAt", "instanceId"]
    assert row["url"] == "http://127.0.0.1:1/byevents/" and row["instanceId"] == inst.id
    assert c.get("/webhook/find/lab1", headers=h).content == r.content


# ------------------------------------------------------------------------------------------------------------------
# sendText (ref §7)
# ------------------------------------------------------------------------------------------------------------------


def test_send_text_v1_and_v2(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("lab1", state="open")
    h = {"apikey": GK}
    r = c.post("/message/sendText/lab1", headers=h, json={"number": "5511999999999", "text": "hello"})
    assert r.status_code == 201 and r.json()["key"]["id"]  # ref §7: 201 with the message (key.id)
    assert r.json()["key"]["remoteJid"] == "5511999999999@s.whatsapp.net"
    # ref §7: a v1 body sent to v2
    r = c.post("/message/sendText/lab1", headers=h, json={"number": "5511999999999",
                                                          "textMessage": {"text": "hello"}})
    assert (r.status_code, r.content) == (
        400, b'{"status":400,"error":"Bad Request","response":{"message":[["instance requires property \\"text\\""]]}}')
    lab.not_on_whatsapp.add("5511000000000")  # ref §7: number not on WhatsApp -> OnWhatsApp object
    r = c.post("/message/sendText/lab1", headers=h, json={"number": "5511000000000", "text": "x"})
    assert r.content == (b'{"status":400,"error":"Bad Request","response":{"message":[{"jid":'
                         b'"5511000000000@s.whatsapp.net","exists":false,"number":"5511000000000"}]}}')

    lab1, c1 = start(serve, "1.8.2")
    lab1.add_instance("x", state="open")
    r = c1.post("/message/sendText/x", headers=h, json={"number": "5511999999999",
                                                        "textMessage": {"text": "hello"}})
    assert r.status_code == 201 and r.json()["key"]["id"]
    r = c1.post("/message/sendText/x", headers=h, json={"number": "5511999999999", "text": "hello"})
    assert r.content == (b'{"status":400,"error":"Bad Request","response":{"message":'
                         b'[["instance requires property \\"textMessage\\""]]}}')


# ------------------------------------------------------------------------------------------------------------------
# Outbound webhooks (ref §6.3–§6.7)
# ------------------------------------------------------------------------------------------------------------------


@dataclass
class Receiver(LabApp):
    """Records every POST, answers ``status``."""

    name: str = "receiver"
    status: int = 200
    got: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    async def not_found(self, request: Request) -> Response:
        self.got.append((request.path, dict(request.headers), request.json()))
        return Response.json({"ok": True}, self.status)


def _parse_dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def test_inbound_webhook_v2_path_and_payload(serve: Serve) -> None:
    rx = Receiver()
    rx_url = serve(rx)
    lab, _c = start(serve, "2.3.6", server_url="http://127.0.0.1:8080", expose_in_fetch=True)
    inst = lab.add_instance("lab1", owner_jid="5511888880000@s.whatsapp.net",
                            webhook=WebhookConfig(url=f"{rx_url}/hook/", by_events=True, events=["MESSAGES_UPSERT"]))
    [data] = asyncio.run(lab.simulate_inbound("lab1", "+55 11 99999-0001", "hi", push_name="Ana",
                                              entry_point_source="ctwa_ad"))
    [(path, headers, payload)] = rx.got
    assert path == "/hook//messages-upsert"  # ref §6.3 + §11: byEvents suffix, no slash normalisation
    assert headers["user-agent"] == "axios/1.12.2"  # observed §11
    # ref §6.6: key order and fields; v2 apikey is the instance token when exposed
    assert list(payload) == ["event", "instance", "data", "destination", "date_time", "sender", "server_url", "apikey"]
    assert payload["event"] == "messages.upsert" and payload["instance"] == "lab1"
    assert payload["destination"] == f"{rx_url}/hook/" and payload["apikey"] == inst.token
    assert payload["sender"] == "5511888880000@s.whatsapp.net" and payload["server_url"] == "http://127.0.0.1:8080"
    d = payload["data"]
    assert d == data
    assert list(d) == ["key", "pushName", "status", "message", "contextInfo", "messageType", "messageTimestamp",
                       "instanceId", "source"]
    assert d["key"]["remoteJid"] == "5511999990001@s.whatsapp.net" and d["key"]["fromMe"] is False
    assert d["instanceId"] == inst.id and d["contextInfo"] == {"entryPointConversionSource": "ctwa_ad"}
    # ref §6.6 (#631): date_time is local (UTC-3) wall-clock labelled Z; messageTimestamp is true UTC seconds
    skew = _parse_dt(payload["date_time"]) - datetime.fromtimestamp(d["messageTimestamp"], timezone.utc)
    assert abs(skew - timedelta(hours=-3)) < timedelta(seconds=5)
    assert [x.status for x in lab.deliveries] == [200]
    # ref §6.6: apikey null when not exposed
    lab.expose_in_fetch = False
    asyncio.run(lab.simulate_inbound("lab1", "5511999990001", "again"))
    assert rx.got[-1][2]["apikey"] is None


def test_inbound_webhook_v1_and_global(serve: Serve) -> None:
    rx = Receiver()
    rx_url = serve(rx)
    lab, _c = start(serve, "1.8.2", expose_in_fetch=True, global_webhook_url=f"{rx_url}/global",
                    global_by_events=True, global_events=["MESSAGES_UPSERT"])
    inst = lab.add_instance("x", webhook=WebhookConfig(url=f"{rx_url}/local"))
    asyncio.run(lab.simulate_inbound("x", "5511999990001", "hi"))
    got = {path: payload for path, _h, payload in rx.got}
    assert set(got) == {"/local", "/global/messages-upsert"}  # ref §6.3/§6.4
    # ref §6.6: v1 data has owner (not instanceId); local apikey = instance key, global apikey = GLOBAL key
    assert got["/local"]["data"]["owner"] == "x" and "instanceId" not in got["/local"]["data"]
    assert got["/local"]["apikey"] == inst.token and got["/global/messages-upsert"]["apikey"] == GK
    assert "sender" not in got["/local"]  # not connected to a number yet: undefined is dropped
    lab.expose_in_fetch = False
    asyncio.run(lab.simulate_inbound("x", "5511999990001", "hi"))
    assert "apikey" not in rx.got[-1][2]  # ref §6.6: v1 omits the key when not exposed


@pytest.mark.parametrize(("version", "status", "attempts"), [
    ("1.8.2", 404, 1),  # ref §6.5: v1 single POST
    ("2.2.3", 404, 10),  # ref §6.5: 2.0–2.2 retry on any error including 4xx, 10 attempts
    ("2.3.6", 404, 1),  # ref §6.5: 2.3 does not retry 400/401/403/404/422
    ("2.3.6", 500, 10),
])
def test_webhook_retries(serve: Serve, version: str, status: int, attempts: int) -> None:
    rx = Receiver(status=status)
    rx_url = serve(rx)
    lab, _c = start(serve, version)
    lab.add_instance("x", webhook=WebhookConfig(url=f"{rx_url}/webhook-test/abc"))
    asyncio.run(lab.deliver("x", "messages.upsert", {"k": 1}))
    assert len(rx.got) == attempts
    assert [d.attempt for d in lab.deliveries] == list(range(1, attempts + 1))
    assert lab.deliveries[-1].error == f"Request failed with status code {status}"


def test_webhook_dead_port_error_text(serve: Serve) -> None:
    lab, _c = start(serve, "2.3.6", webhook_max_attempts=2)
    lab.add_instance("x", webhook=WebhookConfig(url="http://127.0.0.1:1/hook"))
    asyncio.run(lab.deliver("x", "connection.update", {"instance": "x", "state": "connecting"}))
    # §11: "Tentativa n/10 falhou: connect ECONNREFUSED"
    assert [d.error for d in lab.deliveries] == ["connect ECONNREFUSED 127.0.0.1:1"] * 2


def test_v180_duplicate_deliveries(serve: Serve) -> None:
    rx = Receiver()
    rx_url = serve(rx)
    lab, _c = start(serve, "1.8.0", duplicate_deliveries=3)
    lab.add_instance("x", webhook=WebhookConfig(url=f"{rx_url}/h"))
    asyncio.run(lab.simulate_inbound("x", "5511999990001", "hi"))
    # ref §6.7 #631: the same key.id delivered repeatedly on 1.8.0
    assert len(rx.got) == 3 and len({p["data"]["key"]["id"] for _x, _h, p in rx.got}) == 1


def test_connect_emits_connection_update(serve: Serve) -> None:
    rx = Receiver()
    rx_url = serve(rx)
    lab, c = start(serve, "2.3.6", server_url="http://127.0.0.1:8080")
    lab.add_instance("lab1", state="close", webhook=WebhookConfig(url=f"{rx_url}/hook/"))
    c.get("/instance/connect/lab1", headers={"apikey": GK})
    [(path, _h, payload)] = rx.got
    # observed §11: POST to the URL as is; data {"instance","state","statusReason"}
    assert path == "/hook/"
    assert payload["event"] == "connection.update"
    assert payload["data"] == {"instance": "lab1", "state": "connecting", "statusReason": 200}


# ------------------------------------------------------------------------------------------------------------------
# Chatwoot sync (ref §5.5–§5.6; cw §3.3, §3.4, §8)
# ------------------------------------------------------------------------------------------------------------------

CONTACT_ID_422 = (b'{"error":"Invalid attribute key - [contact_id]. The key should be one of '
                  b'[status,assignee_id,inbox_id,team_id,priority,display_id,campaign_id,labels,browser_language,conversation_language,country_code,'
                  b'referer,created_at,last_activity_at,mail_subject] or a custom attribute defined in the account."}')


@dataclass
class FakeChatwoot(LabApp):
    """Just enough Chatwoot ≥3.8 to follow Evolution's calls; records (method, path, headers, body)."""

    name: str = "chatwoot"
    inbox_name: str = "lab1"
    calls: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        a = "/api/v1/accounts/{acc}"
        self.route("GET", a + "/inboxes", self.inboxes)
        self.route("POST", a + "/contacts/filter", self.contact_filter)
        self.route("POST", a + "/contacts", self.contact_create)
        self.route("GET", a + "/contacts/{cid}/conversations", self.contact_conversations)
        self.route("POST", a + "/conversations/filter", self.conversation_filter)
        self.route("POST", a + "/conversations", self.conversation_create)
        self.route("GET", a + "/conversations/{conv}", self.conversation_get)
        self.route("POST", a + "/conversations/{conv}/messages", self.message_create)

    def _rec(self, request: Request) -> Any:
        ctype = request.header("content-type") or ""
        body = request.json() if "json" in ctype else ctype.split(";")[0]
        self.calls.append((request.method, request.path, dict(request.headers), body))
        return body

    async def inboxes(self, request: Request, acc: str) -> Response:
        self._rec(request)
        return Response.json({"payload": [{"id": 3, "name": "other"}, {"id": 7, "name": self.inbox_name}]})

    async def contact_filter(self, request: Request, acc: str) -> Response:
        body = self._rec(request)
        phones = {c["values"][0] for c in body["payload"]}
        found = [c for c in self.contacts if c["phone_number"] in phones]
        return Response.json({"meta": {"count": len(found), "current_page": 1}, "payload": found})

    async def contact_create(self, request: Request, acc: str) -> Response:
        body = self._rec(request)
        contact = {"id": 100 + len(self.contacts), "name": body["name"], "phone_number": body["phone_number"]}
        self.contacts.append(contact)
        return Response.json({"payload": {"contact": contact, "contact_inbox": {"source_id": "s"}}})

    async def contact_conversations(self, request: Request, acc: str, cid: str) -> Response:
        self._rec(request)
        return Response.json({"payload": [c for c in self.conversations if c["contact_id"] == int(cid)]})

    async def conversation_filter(self, request: Request, acc: str) -> Response:
        body = self._rec(request)
        if any(c["attribute_key"] == "contact_id" for c in body["payload"]):
            return Response(422, CONTACT_ID_422, {"Content-Type": "application/json"})  # cw §3.3 (3.8.0–4.9.x)
        return Response.json({"meta": {}, "payload": []})

    async def conversation_create(self, request: Request, acc: str) -> Response:
        body = self._rec(request)
        conv = {"id": len(self.conversations) + 1, "inbox_id": int(body["inbox_id"]),
                "contact_id": int(body["contact_id"]), "status": body.get("status", "open")}
        self.conversations.append(conv)
        return Response.json(conv)

    async def conversation_get(self, request: Request, acc: str, conv: str) -> Response:
        self._rec(request)
        found = [c for c in self.conversations if c["id"] == int(conv)]
        return Response.json(found[0]) if found else Response.json({"error": "Resource could not be found"}, 404)

    async def message_create(self, request: Request, acc: str, conv: str) -> Response:
        self._rec(request)
        return Response.json({"id": 1, "conversation_id": int(conv)})

    def steps(self) -> list[str]:
        return [f"{m} {re.sub(r'^/api/v1/accounts/1', '', p)}" for m, p, _h, _b in self.calls]


def _cw_lab(serve: Serve, version: str, **cw: Any) -> tuple[EvolutionLab, FakeChatwoot, httpx.Client]:
    fake = FakeChatwoot()
    url = serve(fake)
    lab, c = start(serve, version, server_url="http://127.0.0.1:8080")
    settings = ChatwootSettings(account_id="1", token="cw-token", url=url, name_inbox="lab1", **cw)
    lab.add_instance("lab1", state="open", owner_jid="5511888880000@s.whatsapp.net", chatwoot=settings)
    return lab, fake, c


def test_inbound_sync_2_3_6_call_sequence(serve: Serve) -> None:
    lab, fake, _c = _cw_lab(serve, "2.3.6", conversation_pending=True)
    asyncio.run(lab.simulate_inbound("lab1", "5511999990001", "olá", push_name="Ana"))
    # cw §8 / ref §5.5–5.6: inbox by name, contacts/filter, create contact, contact's conversations,
    # create conversation (pending), message
    assert fake.steps() == ["GET /inboxes", "POST /contacts/filter", "POST /contacts",
                            "GET /contacts/100/conversations", "POST /conversations",
                            "POST /conversations/1/messages"]
    _m, _p, headers, flt = fake.calls[1]
    # the SDK sends both headers (cw §1.1)
    assert headers["api_access_token"] == "cw-token" and headers["authorization"] == "Bearer cw-token"
    assert flt == {"payload": [  # ref §5.5: phone_number equal_to, OR-joined over the BR 9-digit variants
        {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": ["+5511999990001"],
         "query_operator": "OR"},
        {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": ["+551199990001"],
         "query_operator": None}]}
    assert fake.calls[4][3]["status"] == "pending"  # ref §5.6 step 4
    msg = fake.calls[5][3]
    assert msg["content"] == "olá" and msg["message_type"] == "incoming"
    assert [call.status for call in lab.chatwoot_calls] == [200] * 6


def test_bot_qr_conversation_lookup_1_7_4_vs_2_3_6(serve: Serve) -> None:
    for version, lookup in (("1.7.4", "POST /conversations/filter"), ("2.3.6", "GET /contacts/100/conversations")):
        lab, fake, _c = _cw_lab(serve, version)
        fake.contacts.append({"id": 100, "name": "EvolutionAPI", "phone_number": "+123456"})
        fake.conversations.append({"id": 1, "inbox_id": 7, "contact_id": 100, "status": "open"})
        ok = asyncio.run(lab.bot_message("lab1", "🚀 Connection successfully established!"))
        # ref §5.5: getOpenConversationByContact -> conversations/filter on 1.7.0–1.7.4, contact list from 1.7.5
        assert fake.steps()[:3] == ["POST /contacts/filter", "GET /inboxes", lookup]
        if version == "1.7.4":
            # cw §3.3: Chatwoot ≥3.8 rejects contact_id with 422; the SDK surfaces "Generic Error" (#605)
            assert not ok and len(fake.calls) == 3
            assert (lab.chatwoot_calls[-1].status, lab.chatwoot_calls[-1].error) == (422, "Generic Error")
            assert fake.calls[2][3]["payload"][1]["attribute_key"] == "contact_id"
        else:
            assert ok and fake.steps()[-1] == "POST /conversations/1/messages"


def test_send_text_syncs_outgoing_and_survives_chatwoot_failure(serve: Serve) -> None:
    rx = Receiver()
    rx_url = serve(rx)
    lab, fake, c = _cw_lab(serve, "2.3.6")
    lab.find_instance("lab1").webhook = WebhookConfig(url=f"{rx_url}/h", events=["SEND_MESSAGE"])  # type: ignore[union-attr]
    r = c.post("/message/sendText/lab1", headers={"apikey": GK}, json={"number": "5511999990001", "text": "hi"})
    assert r.status_code == 201
    assert rx.got[0][2]["event"] == "send.message" and rx.got[0][2]["data"] == r.json()
    assert fake.calls[-1][3]["message_type"] == "outgoing"
    # a dead Chatwoot: the send still returns 201 (Evolution logs and carries on)
    inst = lab.find_instance("lab1")
    assert isinstance(inst, Instance) and inst.chatwoot is not None
    inst.chatwoot.url = "http://127.0.0.1:1"
    lab.conversation_cache.clear()
    r = c.post("/message/sendText/lab1", headers={"apikey": GK}, json={"number": "5511999990001", "text": "x"})
    assert r.status_code == 201
    assert lab.chatwoot_calls[-1].error == "connect ECONNREFUSED 127.0.0.1:1"
    # v2 with CHATWOOT_ENABLED=false: the integration is inert (ref §5.3)
    before = len(lab.chatwoot_calls)
    lab.chatwoot_enabled = False
    c.post("/message/sendText/lab1", headers={"apikey": GK}, json={"number": "5511999990001", "text": "x"})
    assert len(lab.chatwoot_calls) == before


def test_reopen_conversation_rules(serve: Serve) -> None:
    # ref §5.6: reopen=false skips a resolved conversation and creates a new one; reopen=true reuses it
    for reopen, expected_new in ((False, True), (True, False)):
        lab, fake, _c = _cw_lab(serve, "1.8.2", reopen_conversation=reopen)
        fake.contacts.append({"id": 100, "name": "Ana", "phone_number": "+5511999990001"})
        fake.conversations.append({"id": 1, "inbox_id": 7, "contact_id": 100, "status": "resolved"})
        asyncio.run(lab.simulate_inbound("lab1", "5511999990001", "hi"))
        assert ("POST /conversations" in fake.steps()) is expected_new
        assert fake.steps()[-1] == ("POST /conversations/2/messages" if expected_new else
                                    "POST /conversations/1/messages")


def test_chatwoot_webhook_outgoing_message_is_sent_and_logged_mutating(serve: Serve) -> None:
    rx = Receiver()
    rx_url = serve(rx)
    lab, _fake, c = _cw_lab(serve, "2.3.6")
    lab.find_instance("lab1").webhook = WebhookConfig(url=f"{rx_url}/h")  # type: ignore[union-attr]
    event = {"event": "message_created", "message_type": "outgoing", "content": "reply", "private": False,
             "conversation": {"id": 1, "meta": {"sender": {"identifier": "5511999990001@s.whatsapp.net",
                                                           "phone_number": "+5511999990001"}}}}
    r = c.post("/chatwoot/webhook/lab1", json=event)
    assert r.status_code == 200
    assert lab.sent_messages[-1]["message"]["conversation"] == "reply"
    assert rx.got[-1][2]["event"] == "send.message"
    assert [e.route for e in lab.requests(mutating=True)] == ["/chatwoot/webhook/{instance}"]
    assert json.loads(r.content) == {"message": "bot"}


@pytest.mark.parametrize("version", ["1.7.4", "2.3.6"])
def test_autocreate_init_then_bot_qr_issue_605(serve: Serve, server_thread: ServerThread, version: str) -> None:
    """ref §5.5 (#605): autoCreate reuses the inbox and posts "init" to the bot contact; the "init" coming back
    from Chatwoot connects the instance, and the QR goes to the bot conversation, found with conversations/filter
    (422 on Chatwoot ≥3.8, so no QR) on 1.7.4 and with the contact's conversations on 2.3.6."""
    fake = FakeChatwoot()
    url = serve(fake)
    lab, c = start(serve, version, server_url="http://127.0.0.1:8080")
    lab.add_instance("lab1", state="close", qr_available=True)
    v1 = version.startswith("1.")
    body = ({"enabled": True, "account_id": "1", "token": "tk", "url": url, "sign_msg": False,
             "reopen_conversation": True, "conversation_pending": False, "auto_create": True} if v1 else
            {"enabled": True, "accountId": "1", "token": "tk", "url": url, "signMsg": False,
             "reopenConversation": True, "conversationPending": False, "autoCreate": True})
    r = c.post("/chatwoot/set/lab1", headers={"apikey": GK}, json=body)
    assert r.status_code == 201
    # cw §6/§8: inbox matched by name (no webhook_url update), bot contact 123456, conversation, "init"
    assert fake.steps() == ["GET /inboxes", "POST /contacts/filter", "POST /contacts", "POST /conversations",
                            "POST /conversations/1/messages"]
    assert fake.calls[2][3]["phone_number"] == "+123456" and fake.calls[4][3]["content"] == "init"
    init = {"event": "message_created", "message_type": "outgoing", "content": "init", "private": False,
            "conversation": {"id": 1, "meta": {"sender": {"phone_number": "+123456"}}}}
    assert c.post("/chatwoot/webhook/lab1", json=init).content == b'{"message":"bot"}'
    server_thread.call(lab.drain())
    assert c.get("/instance/connectionState/lab1", headers={"apikey": GK}).json()["instance"]["state"] == "connecting"
    if v1:
        assert fake.steps()[5:] == ["POST /contacts/filter", "GET /inboxes", "POST /conversations/filter"]
        assert lab.chatwoot_calls[-1].error == "Generic Error"
    else:
        assert fake.steps()[5:] == ["POST /contacts/filter", "GET /inboxes", "GET /contacts/100/conversations",
                                    "POST /conversations/1/messages"]
        _m, _p, headers, ctype = fake.calls[-1]
        # cw §8: the QR attachment is a multipart POST via axios with api_access_token only
        assert ctype == "multipart/form-data" and "authorization" not in headers
        assert headers["api_access_token"] == "tk"


def test_double_slash_chatwoot_webhook_path_is_unknown_route(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("x", chatwoot=ChatwootSettings(url="http://127.0.0.1:9", token="t"))
    # ref §5.4/§10 UNVERIFIED: Express does not match `//chatwoot/...` against `/chatwoot/webhook/:instanceName`
    r = c.post(f"http://{host_of(c)}//chatwoot/webhook/x", json={})  # absolute URL keeps the raw path
    assert (r.status_code, r.content) == (
        404, b'{"status":404,"error":"Not Found","response":{"message":["Cannot POST //chatwoot/webhook/x"]}}')


def test_compose_hosts_mapping_and_loopback_only(serve: Serve) -> None:
    rx = Receiver()
    port = urlsplit(serve(rx)).port
    lab, _c = start(serve, "2.3.6", hosts={"webhook-sink": "127.0.0.1"}, webhook_max_attempts=1)
    lab.add_instance("lab1", webhook=WebhookConfig(url=f"http://webhook-sink:{port}/evolution"))
    asyncio.run(lab.deliver("lab1", "messages.upsert", {}))
    # a compose service name reaches the mapped loopback port; the Host header keeps the service name
    [(path, headers, _payload)] = rx.got
    assert path == "/evolution" and headers["host"] == f"webhook-sink:{port}"
    # any other non-loopback name is never contacted: it fails the way an unresolvable name does in Node
    lab.find_instance("lab1").webhook = WebhookConfig(url="https://evolution.example.com/hook")  # type: ignore[union-attr]
    asyncio.run(lab.deliver("lab1", "messages.upsert", {}))
    assert lab.deliveries[-1].error == "getaddrinfo ENOTFOUND evolution.example.com" and len(rx.got) == 1


# --- Issue 13: fidelity to a real 2.3.6, measured side by side --------------------------------------------------


def test_v2_instance_ids_are_uuid_v4(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("seeded")
    created = c.post("/instance/create", headers={"apikey": GK},
                     json={"instanceName": "made", "integration": "WHATSAPP-BAILEYS"}).json()
    assert UUID_V4.match(created["instance"]["instanceId"]), created["instance"]
    rows = c.get("/instance/fetchInstances", headers={"apikey": GK}).json()
    assert [bool(UUID_V4.match(r["id"])) for r in rows] == [True, True], [r["id"] for r in rows]


def test_create_without_qrcode_leaves_the_instance_close(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    body = c.post("/instance/create", headers={"apikey": GK},
                  json={"instanceName": "quiet", "integration": "WHATSAPP-BAILEYS", "qrcode": False}).json()
    assert body["instance"]["status"] == "close" and "qrcode" not in body
    assert c.get("/instance/connectionState/quiet", headers={"apikey": GK}).content == \
        b'{"instance":{"instanceName":"quiet","state":"close"}}'
    assert lab.deliveries == []  # no connection.update: nothing connected


def test_create_with_qrcode_connects_and_waits_about_5_s_for_a_qr(serve: Serve) -> None:
    _lab, c = start(serve, "2.3.6", time_scale=0.1)  # 5 s real -> 0.5 s
    started = time.monotonic()
    body = c.post("/instance/create", headers={"apikey": GK},
                  json={"instanceName": "waits", "integration": "WHATSAPP-BAILEYS", "qrcode": True}).json()
    waited = time.monotonic() - started
    assert body["instance"]["status"] == "connecting" and body["qrcode"] == {"count": 0}
    assert waited >= 0.45  # the scaled 5 s wait happened (a lower bound: sleeping never returns early)


def test_chatwoot_set_echoes_sign_delimiter_null(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("cw")
    r = c.post("/chatwoot/set/cw", headers={"apikey": GK}, json={
        "enabled": True, "accountId": "1", "token": "t0k3n", "url": "http://chatwoot:3000", "signMsg": False,
        "reopenConversation": True, "conversationPending": False})
    assert r.status_code == 201 and b'"signDelimiter":null' in r.content, r.content


def test_delete_answers_at_once_and_removes_the_rows_later(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6", time_scale=0.1)  # rows go 3 s later -> 0.3 s
    lab.add_instance("gone")
    r = c.delete("/instance/delete/gone", headers={"apikey": GK})
    assert (r.status_code, r.content) == (
        200, b'{"status":"SUCCESS","error":false,"response":{"message":"Instance deleted"}}')
    assert [row["name"] for row in c.get("/instance/fetchInstances", headers={"apikey": GK}).json()] == ["gone"]
    for _ in range(100):  # a generous bound: only a hang exceeds it
        if c.get("/instance/fetchInstances", headers={"apikey": GK}).json() == []:
            break
        time.sleep(0.05)
    assert c.get("/instance/fetchInstances", headers={"apikey": GK}).json() == []


def test_express_headers(serve: Serve) -> None:
    import base64
    import hashlib
    from email.utils import parsedate_to_datetime

    lab, c = start(serve, "2.3.6")
    r = c.get("/")
    assert r.headers["x-powered-by"] == "Express" and r.headers["keep-alive"] == "timeout=5"
    # the etag module: W/"<length in hex>-<first 27 base64 characters of the body's SHA-1>"
    digest = base64.b64encode(hashlib.sha1(r.content).digest()).decode()[:27]
    assert r.headers["etag"] == f'W/"{len(r.content):x}-{digest}"'
    assert parsedate_to_datetime(r.headers["date"]).tzinfo is not None
    lab.add_instance("quiet")
    empty = c.get("/websocket/find/quiet", headers={"apikey": GK})  # json(undefined): no body, so no ETag
    assert empty.content == b"" and "etag" not in empty.headers and empty.headers["x-powered-by"] == "Express"


def test_only_a_server_without_whatsapp_egress_reports_the_fallback_version(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    healthy = c.get("/").json()["whatsappWebVersion"]
    assert healthy != "2.3000.1027934701" and healthy.startswith("2.3000.")
    lab.whatsapp_egress = "dns-fail"
    assert c.get("/").json()["whatsappWebVersion"] == "2.3000.1027934701"


def test_root_waits_for_the_dns_timeout_without_egress(serve: Serve) -> None:
    _lab, c = start(serve, "2.3.6", time_scale=0.02, whatsapp_egress="dns-timeout")  # 25 s -> 0.5 s
    started = time.monotonic()
    body = c.get("/").json()
    assert time.monotonic() - started >= 0.45 and body["whatsappWebVersion"] == "2.3000.1027934701"


@pytest.mark.parametrize(("route", "flag", "message"), [
    ("dify", "DIFY_ENABLED", "Dify is disabled"), ("typebot", "TYPEBOT_ENABLED", "Typebot is disabled"),
    ("openai", "OPENAI_ENABLED", "Openai is disabled"), ("n8n", "N8N_ENABLED", "N8n is disabled"),
])
def test_chatbot_find_behind_its_switch(serve: Serve, route: str, flag: str, message: str) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("bots", bots={route: [{"id": "b1", "enabled": True}]})
    r = c.get(f"/{route}/find/bots", headers={"apikey": GK})
    assert (r.status_code, r.content) == (400, envelope(400, "Bad Request", f'["{message}"]'))
    lab.integration_flags[flag] = True
    assert c.get(f"/{route}/find/bots", headers={"apikey": GK}).json() == [{"id": "b1", "enabled": True}]


def test_event_find_is_an_empty_200_when_switched_off(serve: Serve) -> None:
    lab, c = start(serve, "2.3.6")
    lab.add_instance("ev", event_settings={"Websocket": {"enabled": True, "events": ["MESSAGES_UPSERT"]}})
    r = c.get("/websocket/find/ev", headers={"apikey": GK})
    assert (r.status_code, r.content) == (200, b"")
    row = c.get("/instance/fetchInstances", headers={"apikey": GK}).json()[0]
    assert row["Websocket"]["enabled"] is True and row["Rabbitmq"] is None
    lab.integration_flags["WEBSOCKET_ENABLED"] = True
    assert c.get("/websocket/find/ev", headers={"apikey": GK}).json()["events"] == ["MESSAGES_UPSERT"]


def test_find_messages_pages_and_time_window(serve: Serve) -> None:
    from evodiag.lab.evolution.whatsapp import store

    lab, c = start(serve, "2.3.6")
    inst = lab.add_instance("store")
    for i in range(3):
        store(inst, {"key": {"remoteJid": "5511900000000@s.whatsapp.net", "fromMe": False, "id": f"ID{i}"},
                     "messageTimestamp": 1_700_000_000 + i * 100})
    body = c.post("/chat/findMessages/store", headers={"apikey": GK}, json={
        "where": {"messageTimestamp": {"gte": "2023-11-14T22:14:00.000Z", "lte": "2023-11-14T22:16:00.000Z"}},
        "offset": 50, "page": 1}).json()
    assert [r["key"]["id"] for r in body["messages"]["records"]] == ["ID1"]
    everything = c.post("/chat/findMessages/store", headers={"apikey": GK}, json={"where": {}}).json()
    assert everything["messages"]["total"] == 3 and everything["messages"]["records"][0]["key"]["id"] == "ID2"
    assert [lc["remoteJid"] for lc in c.post("/chat/findContacts/store", headers={"apikey": GK},
                                             json={"where": {}}).json()] == ["5511900000000@s.whatsapp.net"]
