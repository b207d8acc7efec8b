"""The Evolution API checks (issue 4) against the emulated Evolution API on 127.0.0.1, on v1 (1.7.4, 1.8.2) and
v2 (2.0.10, 2.2.3, 2.3.6) shapes: the lab scenarios, every failure mode of every check, read-only behaviour,
and the known-issue table."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import Catalog, KnownIssue, Ref
from evodiag.config import Settings
from evodiag.engine.context import RunOptions
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import Pipeline, RunReport
from evodiag.httpserver import Request, Response, ServerThread
from evodiag.lab.base import LabApp
from evodiag.lab.evolution.app import EvolutionLab
from evodiag.lab.evolution.model import ChatwootSettings, Instance, WebhookConfig
from evodiag.lab.runtime import start_lab
from evodiag.lab.scenarios import SCENARIOS
from evodiag.probes.evolution import matching_known_issues

CATALOG = load_catalog()
EVO_IDS = tuple(cid for cid in CATALOG.checks if cid.startswith("evolution."))
V1 = ("1.7.4", "1.8.2")
V2 = ("2.2.3", "2.3.6")
VERSIONS = V1 + V2
KEY = "test-global-key-7c1d"
FINDINGS = (Status.FAIL, Status.WARN, Status.ERROR)
WEBHOOK_POST = frozenset({"webhook-post"})

Serve = Callable[[LabApp], str]


# ---------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------


def run(url: str, *, only: tuple[str, ...] = EVO_IDS, allow: frozenset[str] = frozenset(),
        catalog: Catalog = CATALOG, timeout: float = 5.0, **values: Any) -> dict[str, Result]:
    report = run_report(url, only=only, allow=allow, catalog=catalog, timeout=timeout, **values)
    return {r.id: r for r in report.results}


def run_report(url: str, *, only: tuple[str, ...] = EVO_IDS, allow: frozenset[str] = frozenset(),
               catalog: Catalog = CATALOG, timeout: float = 5.0, **values: Any) -> RunReport:
    settings_values = {"evolution.url": url, "evolution.api_key": KEY, "evolution.instance": "shop"}
    settings_values.update({k.replace("__", "."): v for k, v in values.items()})
    settings_values = {k: v for k, v in settings_values.items() if v is not None}
    options = RunOptions(timeout=timeout, only=only, allow=allow)
    return asyncio.run(Pipeline(catalog, Settings(values=settings_values), options).run())


def lab_with(version: str, *instances: Instance, **server: Any) -> EvolutionLab:
    lab = EvolutionLab(version=version, global_key=KEY, **server)
    for inst in instances:
        lab.add_instance(inst.name, **{k: v for k, v in vars(inst).items() if k != "name"})
    return lab


def shop(**fields: Any) -> Instance:
    base: dict[str, Any] = {"state": "open", "owner_jid": "5511999990000@s.whatsapp.net"}
    base.update(fields)
    return Instance(name="shop", **base)


def serve_lab(serve: Serve, lab: EvolutionLab, *, server_url: bool = True) -> str:
    url = serve(lab)
    if server_url:
        lab.server_url = url  # SERVER_URL set correctly unless a test says otherwise
    return url


def findings(results: dict[str, Result]) -> dict[str, str]:
    return {cid: r.status.value for cid, r in results.items() if r.status in FINDINGS}


# ---------------------------------------------------------------------------------------------------------------
# The lab scenarios: exactly the named evolution.* check fails, on every emulated version
# ---------------------------------------------------------------------------------------------------------------

MY_SCENARIOS = ("healthy", "wrong-evolution-key", "instance-id-not-name", "instance-not-connected",
                "qr-not-generated", "chatwoot-disabled", "webhook-double-slash")
MATRIX = [(name, version) for name in MY_SCENARIOS for version in SCENARIOS[name].evolution_versions]


# Checks of other areas that observe a known issue live: a real run includes them, and evolution.known_issues
# leaves an issue to them when they ran, so the scenario runs select them too.
OBSERVERS = tuple(sorted({cid for issue in CATALOG.known_issues for cid in issue.observed_by
                          if cid in CATALOG.checks and not cid.startswith("evolution.")}))


@pytest.mark.parametrize(("scenario", "version"), MATRIX)
def test_scenario_fails_exactly_its_evolution_check(scenario: str, version: str) -> None:
    spec = SCENARIOS[scenario]
    with start_lab(scenario, evolution_version=version) as lab:
        options = RunOptions(timeout=5.0, only=EVO_IDS + OBSERVERS, allow=frozenset({"connect"}))
        report = asyncio.run(Pipeline(CATALOG, Settings(values=dict(lab.settings_values)), options).run())
        results = {r.id: r for r in report.results if r.id.startswith("evolution.")}
        got = findings(results)
        expected = {cid: s for cid, s in spec.expect.items() if cid.startswith("evolution.")}
        allowed = {cid: s for cid, s in spec.also_allowed.items() if cid.startswith("evolution.")}
        assert {cid: s for cid, s in got.items() if cid not in allowed} == expected, {
            cid: results[cid].message for cid in got}
        assert report.facts["evolution.generation"] == ("v1" if version < "2" else "v2")
        assert report.facts["evolution.version"] == version
        # read-only: the only state-changing request is evolution.qr's declared connection attempt
        mutating = [(e.method, e.route) for e in lab.evolution.requests(mutating=True)]
        assert set(mutating) <= {("GET", "/instance/connect/{instance}")}
        if results["evolution.qr"].status in (Status.SKIP, Status.BLOCKED):
            assert mutating == []
        if scenario == "wrong-evolution-key":
            downstream = [cid for cid in EVO_IDS if cid not in ("evolution.reachable", "evolution.auth",
                                                                "evolution.known_issues")]
            assert {results[cid].status for cid in downstream} == {Status.BLOCKED}
            assert "token of instance" in results["evolution.auth"].message
        if scenario == "instance-id-not-name":
            message = results["evolution.instance"].message
            assert "is the ID of instance \"lab\"" in message and "Use `lab`" in message
        if scenario == "instance-not-connected" and version >= "2":
            assert any('Manager shows "open"' in n for n in results["evolution.instance.state"].notes)
        if scenario == "healthy":
            assert results["evolution.qr"].status is Status.SKIP  # open: no QR needed
            assert report.facts["evolution.instance.state"] == "open"
            assert report.facts["evolution.chatwoot.name_inbox"] == "lab"


def test_checks_skip_without_an_instance_and_qr_needs_allow_connect(serve: Serve) -> None:
    url = serve_lab(serve, lab_with("2.3.6", shop(state="close")))
    results = run(url, evolution__instance=None)
    assert results["evolution.instance"].status is Status.SKIP
    assert results["evolution.webhook.url"].status is Status.SKIP
    results = run(url)
    assert results["evolution.qr"].status is Status.SKIP
    assert "--allow-connect" in results["evolution.qr"].message


def test_qr_runs_without_allow_connect_while_connecting(serve: Serve) -> None:
    """In `connecting`, connect only returns the current QR: no flag needed. In `close` the gate stays."""
    connecting = serve_lab(serve, lab_with("2.3.6", shop(state="connecting", qr_available=True)))
    result = run(connecting)["evolution.qr"]
    assert result.status is Status.PASS and "QR code" in result.message, result.message
    closed = serve_lab(serve, lab_with("2.3.6", shop(state="close", qr_available=True)))
    gated = run(closed)["evolution.qr"]
    assert gated.status is Status.SKIP and "--allow-connect" in gated.message


# ---------------------------------------------------------------------------------------------------------------
# evolution.reachable
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class FixedApp(LabApp):
    """Answers every request with one fixed response (a proxy error page, a login portal, ...)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html"

    async def __call__(self, request: Request) -> Response:
        return Response(self.status, self.body, {"Content-Type": self.content_type})


def test_reachable_slow_23x_root_is_a_note_not_a_failure(serve: Serve) -> None:
    url = serve_lab(serve, lab_with("2.3.6", shop(), root_delay_s=1.6))
    result = run(url, only=("evolution.reachable",))["evolution.reachable"]
    assert result.status is Status.PASS
    assert any("web.whatsapp.com" in n for n in result.notes)


def test_reachable_hanging_root_on_23x_is_explained(serve: Serve) -> None:
    catalog = load_catalog()
    catalog.checks["evolution.reachable"].timeout = 0.5
    url = serve_lab(serve, lab_with("2.3.6", shop(), root_delay_s=3))
    report = run_report(url, only=("evolution.reachable",), catalog=catalog, timeout=0.5)
    result = report.results[0]
    assert result.status is Status.WARN
    assert "web.whatsapp.com" in result.message and "404" in result.message
    assert report.facts["evolution.generation"] == "v2"


def test_reachable_refused_is_a_connect_error(serve: Serve) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(f"http://127.0.0.1:{port}", only=("evolution.reachable",))["evolution.reachable"]
    assert result.status is Status.ERROR and result.error_kind == "connect"
    assert "refused" in result.message


def test_reachable_dns_failure_is_a_dns_error() -> None:
    from evodiag.lab.dns import DnsServer

    with DnsServer({}) as dns:  # the lab resolver: NXDOMAIN for every name, no query leaves 127.0.0.1
        result = run("http://evolution.invalid:8080", only=("evolution.reachable",),
                     dns__server=dns.address)["evolution.reachable"]
    assert result.status is Status.ERROR and result.error_kind == "dns"
    assert "evolution.invalid" in result.message


def test_reachable_https_to_a_plain_http_port_is_a_tls_error(server_thread: ServerThread) -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = server_thread.call(asyncio.start_server(plain_http, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    try:
        result = run(f"https://127.0.0.1:{port}", only=("evolution.reachable",))["evolution.reachable"]
    finally:
        server.close()
    assert result.status is Status.ERROR and result.error_kind == "tls", result.message


@pytest.mark.parametrize(("status", "phrase"), [(200, "HTML page"), (502, "proxy answered")])
def test_reachable_html_page_is_named(serve: Serve, status: int, phrase: str) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    url = serve(FixedApp(status=status, body=page))
    result = run(url, only=("evolution.reachable",))["evolution.reachable"]
    assert result.status is Status.ERROR and result.error_kind == "non_json"
    assert phrase in result.message and "502 Bad Gateway" in result.message


def test_reachable_404_points_at_a_path_prefix(serve: Serve) -> None:
    url = serve(FixedApp(status=404, body=b'{"error":"nope"}', content_type="application/json"))
    result = run(url, only=("evolution.reachable",))["evolution.reachable"]
    assert result.status is Status.FAIL and "path prefix" in result.message
    assert any(ref.number == 2216 for ref in result.refs)


# ---------------------------------------------------------------------------------------------------------------
# evolution.auth
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class HeaderDroppingEvolution(EvolutionLab):
    """Evolution behind a proxy that strips the apikey header (#1894)."""

    async def __call__(self, request: Request) -> Response:
        request.headers.pop("apikey", None)
        return await super().__call__(request)


@pytest.mark.parametrize("version", VERSIONS)
def test_auth_warns_on_a_public_default_key(serve: Serve, version: str) -> None:
    default = "429683C4C977415CAAFCCE10F7D57E11"
    lab = lab_with(version, shop())
    lab.global_key = default
    url = serve_lab(serve, lab)
    results = run(url, only=("evolution.auth",), evolution__api_key=default)
    assert results["evolution.auth"].status is Status.WARN
    assert "default key" in results["evolution.auth"].message
    assert default not in results["evolution.auth"].message


@pytest.mark.parametrize("version", VERSIONS)
def test_auth_recognises_an_instance_token(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop(token="SHOP-TOKEN-1")))
    report = run_report(url, evolution__api_key="SHOP-TOKEN-1")
    results = {r.id: r for r in report.results}
    assert results["evolution.auth"].status is Status.PASS
    assert "token of instance \"shop\"" in results["evolution.auth"].message
    assert report.facts["evolution.key_kind"] == "instance"
    assert results["evolution.instance"].status is Status.PASS  # its own routes work


@pytest.mark.parametrize("version", ("1.8.2", "2.3.6"))
def test_auth_wrong_key_without_instance_blames_the_global_key(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop()))
    results = run(url, evolution__api_key="wrong", evolution__instance=None)
    assert results["evolution.auth"].status is Status.FAIL
    assert "not Evolution's global key" in results["evolution.auth"].message
    assert "AUTHENTICATION_API_KEY" in results["evolution.auth"].remediation.text
    assert "API_KEY_GLOBAL" in results["evolution.auth"].remediation.text


@pytest.mark.parametrize("version", ("1.7.4", "2.3.6"))
def test_auth_unknown_key_and_unknown_instance_is_unverifiable(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop()))
    results = run(url, evolution__api_key="wrong", evolution__instance="nope")
    assert results["evolution.auth"].status is Status.WARN
    assert "cannot tell" in results["evolution.auth"].message
    assert results["evolution.instance"].status is Status.FAIL


def test_auth_header_dropped_on_174_reads_the_403(serve: Serve) -> None:
    lab = HeaderDroppingEvolution(version="1.7.4", global_key=KEY)
    lab.add_instance("shop", state="open")
    url = serve_lab(serve, lab)
    result = run(url, only=("evolution.auth",))["evolution.auth"]
    assert result.status is Status.FAIL
    assert "Missing global api key" in result.message and "drops" in result.message
    assert any(ref.number == 1894 for ref in result.refs)


def test_auth_without_a_key_says_how_to_set_one(serve: Serve) -> None:
    url = serve_lab(serve, lab_with("2.3.6", shop()))
    result = run(url, only=("evolution.auth",), evolution__api_key=None)["evolution.auth"]
    assert result.status is Status.FAIL and "evolution.api_key is not set" in result.message


# ---------------------------------------------------------------------------------------------------------------
# evolution.instance
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_instance_not_found_lists_names_and_hints_the_case(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop(), Instance(name="Sales", state="close")))
    result = run(url, evolution__instance="sales")["evolution.instance"]
    assert result.status is Status.FAIL
    assert '"shop", "Sales"' in result.message and 'did you mean "Sales"' in result.message
    has_client_note = any("DATABASE_CONNECTION_CLIENT_NAME" in n for n in result.notes)
    assert has_client_note == (version >= "2")


@pytest.mark.parametrize("version", ("1.8.2", "2.3.6"))
def test_instance_id_match_is_case_insensitive(serve: Serve, version: str) -> None:
    lab = lab_with(version, shop())
    url = serve_lab(serve, lab)
    inst = lab.find_instance("shop")
    assert inst is not None
    result = run(url, evolution__instance=inst.id.upper())["evolution.instance"]
    assert result.status is Status.FAIL and "Use `shop`" in result.message


def test_instance_missing_with_a_token_that_cannot_list(serve: Serve) -> None:
    lab = lab_with("2.3.6", shop(token="SHOP-TOKEN-1"), instance_token_fetch=False)
    url = serve_lab(serve, lab)
    results = run(url, evolution__api_key="SHOP-TOKEN-1", evolution__instance="shopp")
    assert results["evolution.instance"].status is Status.FAIL
    assert "cannot list" in results["evolution.instance"].message


# ---------------------------------------------------------------------------------------------------------------
# evolution.instance.state
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "fields", "phrase"), [
    ("1.8.2", {"state": "connecting"}, "`connecting`"),
    ("2.3.6", {"state": "connecting"}, "`connecting`"),
    ("1.7.4", {"state": "close"}, "`close`: not connected"),
    ("2.2.3", {"state": "close", "disconnection_reason_code": 401}, "logged out"),
    ("2.3.6", {"state": "close", "disconnection_reason_code": 403}, "forbidden"),
    ("2.3.6", {"state": "close", "disconnection_reason_code": 406}, "does not reconnect"),
    ("2.3.6", {"state": "close", "disconnection_reason_code": 428}, "last disconnection code 428"),
    ("2.3.6", {"state": "refused"}, "QRCODE_LIMIT"),
    ("1.8.2", {"state": None}, "not loaded in memory"),
    ("2.3.6", {"state": None}, "not loaded in memory"),
])
def test_state_failures(serve: Serve, version: str, fields: dict[str, Any], phrase: str) -> None:
    url = serve_lab(serve, lab_with(version, shop(**fields)))
    result = run(url)["evolution.instance.state"]
    assert result.status is Status.FAIL
    assert phrase in result.message


def test_state_stale_dashboard_is_a_note_on_v2(serve: Serve) -> None:
    url = serve_lab(serve, lab_with("2.3.6", shop(state="open", db_status="close")))
    report = run_report(url)
    result = next(r for r in report.results if r.id == "evolution.instance.state")
    assert result.status is Status.PASS
    assert any('Manager shows "close"' in n for n in result.notes)
    assert report.facts["evolution.instance.stored_status"] == "close"


# ---------------------------------------------------------------------------------------------------------------
# evolution.qr
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "fields", "status", "phrase"), [
    ("1.8.2", {"state": "close", "qr_available": True}, Status.PASS, "QR code"),
    ("2.3.6", {"state": "connecting", "qr_available": True}, Status.PASS, "QR code"),
    ("1.7.4", {"state": "close"}, Status.FAIL, '{"count":0}'),
    ("2.3.6", {"state": "close"}, Status.FAIL, '{"count":0}'),
    ("1.8.2", {"state": "close", "connect_error": "boom"}, Status.FAIL, "empty body"),
    ("2.2.3", {"state": "close", "connect_error": "getaddrinfo ENOTFOUND web.whatsapp.com"}, Status.FAIL,
     "ENOTFOUND"),
])
def test_qr(serve: Serve, version: str, fields: dict[str, Any], status: Status, phrase: str) -> None:
    lab = lab_with(version, shop(**fields))
    url = serve_lab(serve, lab)
    result = run(url, allow=frozenset({"connect"}))["evolution.qr"]
    assert result.status is status, result.message
    assert phrase in result.message
    if status is Status.FAIL:
        assert any(ref.number == 2437 for ref in result.refs)
    assert [(e.method, e.route) for e in lab.requests(mutating=True)] == [("GET", "/instance/connect/{instance}")]


def test_qr_mentions_the_servers_whatsapp_web_version_on_23x(serve: Serve) -> None:
    lab = lab_with("2.3.6", shop(state="close"))
    result = run(serve_lab(serve, lab), allow=frozenset({"connect"}))["evolution.qr"]
    assert f"whatsappWebVersion {lab.whatsapp_web_version}" in result.message  # with egress: the current one
    assert "CONFIG_SESSION_PHONE_VERSION" in result.remediation.text


# ---------------------------------------------------------------------------------------------------------------
# evolution.webhook.url
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ("1.7.4", "2.0.10", "2.3.6"))
def test_webhook_none_configured_is_a_pass(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop()))
    result = run(url)["evolution.webhook.url"]
    assert result.status is Status.PASS and "No webhook is configured" in result.message


@pytest.mark.parametrize(("version", "body_marker"), [
    ("1.8.2", '"webhook_by_events": false'), ("2.0.10", '"webhookByEvents": false'),
    ("2.3.6", '{"webhook": {"enabled": true'),
])
def test_webhook_none_but_one_expected_shows_the_set_body(serve: Serve, version: str, body_marker: str) -> None:
    url = serve_lab(serve, lab_with(version, shop()))
    result = run(url, webhook__url="http://127.0.0.1:9/hook")["evolution.webhook.url"]
    assert result.status is Status.WARN
    (change,) = result.remediation.changes  # the webhook/set call, ready to paste, in this version's shape
    assert body_marker in change and "/webhook/set/shop" in change and "$EVODIAG_EVOLUTION_API_KEY" in change


def _hook(**fields: Any) -> WebhookConfig:
    base: dict[str, Any] = {"url": "http://127.0.0.1:9/hook", "events": ["MESSAGES_UPSERT"]}
    base.update(fields)
    return WebhookConfig(**base)


@pytest.mark.parametrize(("version", "hook", "status", "phrase"), [
    ("1.8.2", _hook(url="http://127.0.0.1:9/hook/", by_events=True), Status.FAIL, "/hook//messages-upsert"),
    ("2.3.6", _hook(url="http://127.0.0.1:9/hook/", by_events=True), Status.FAIL, "/hook//messages-upsert"),
    ("2.3.6", _hook(url="127.0.0.1:9/hook"), Status.FAIL, "does not start with http"),
    ("1.7.4", _hook(url="http://127.0.0.1:9//hook"), Status.FAIL, "doubled slash"),
    ("2.2.3", _hook(url="http://127.0.0.1:9//hook"), Status.FAIL, "doubled slash"),
    ("1.8.2", _hook(events=["CONNECTION_UPDATE"]), Status.WARN, "not MESSAGES_UPSERT"),
    ("2.3.6", _hook(events=["CONNECTION_UPDATE"]), Status.WARN, "not MESSAGES_UPSERT"),
    ("1.8.2", _hook(enabled=False), Status.WARN, "disabled"),
    ("2.3.6", _hook(enabled=False), Status.WARN, "disabled"),
    ("2.3.6", _hook(url="http://127.0.0.1:9/hook", by_events=True), Status.PASS,
     "posted to http://127.0.0.1:9/hook/messages-upsert"),
    ("1.7.4", _hook(events=[]), Status.PASS, "all events"),
])
def test_webhook_url(serve: Serve, version: str, hook: WebhookConfig, status: Status, phrase: str) -> None:
    url = serve_lab(serve, lab_with(version, shop(webhook=hook)))
    result = run(url)["evolution.webhook.url"]
    assert result.status is status, result.message
    assert phrase in result.message


def test_webhook_differs_from_the_configured_receiver(serve: Serve) -> None:
    url = serve_lab(serve, lab_with("2.3.6", shop(webhook=_hook())))
    result = run(url, webhook__url="http://127.0.0.1:9/other")["evolution.webhook.url"]
    assert result.status is Status.WARN and "they differ" in result.message
    result = run(url, webhook__url="http://127.0.0.1:9/hook/")["evolution.webhook.url"]
    assert result.status is Status.PASS


def test_webhook_retry_known_issue_enriches_22x(serve: Serve) -> None:
    url = serve_lab(serve, lab_with("2.2.3", shop(webhook=_hook())))
    result = run(url)["evolution.webhook.url"]
    assert result.status is Status.PASS
    assert any(ref.number == 1325 and ref.fixed_in == "2.3.0" for ref in result.refs)
    url = serve_lab(serve, lab_with("2.3.6", shop(webhook=_hook())))
    assert not any(ref.number == 1325 for ref in run(url)["evolution.webhook.url"].refs)


# ---------------------------------------------------------------------------------------------------------------
# evolution.chatwoot.enabled / config / webhook
# ---------------------------------------------------------------------------------------------------------------


def _cw(**fields: Any) -> ChatwootSettings:
    base: dict[str, Any] = {"enabled": True, "account_id": "1", "token": "cw-token", "url": "http://127.0.0.1:9"}
    base.update(fields)
    return ChatwootSettings(**base)


@pytest.mark.parametrize("version", V2)
def test_chatwoot_disabled_on_the_server(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop(chatwoot=_cw()), chatwoot_enabled=False))
    unused = run(url)  # no Chatwoot setting on either side: not a failure for someone who does not use it
    assert unused["evolution.chatwoot.enabled"].status is Status.SKIP
    assert "nothing configures Chatwoot on either side" in unused["evolution.chatwoot.enabled"].message
    assert unused["evolution.chatwoot.config"].status is Status.SKIP
    assert not [cid for cid in findings(unused) if "chatwoot" in cid]
    results = run(url, chatwoot__account_id="1")
    assert results["evolution.chatwoot.enabled"].status is Status.FAIL
    assert "CHATWOOT_ENABLED=true" in results["evolution.chatwoot.enabled"].remediation.text
    assert {r.number for r in results["evolution.chatwoot.enabled"].refs} >= {1011, 2334}
    assert results["evolution.chatwoot.config"].status is Status.BLOCKED


@pytest.mark.parametrize("version", VERSIONS)
def test_chatwoot_not_configured(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop()))
    results = run(url, allow=WEBHOOK_POST)
    assert results["evolution.chatwoot.enabled"].status is Status.PASS
    assert "not configured" in results["evolution.chatwoot.enabled"].message
    assert results["evolution.chatwoot.webhook"].status is Status.PASS
    assert "answered null" in results["evolution.chatwoot.webhook"].message
    results = run(url, allow=WEBHOOK_POST, chatwoot__url="http://127.0.0.1:9")  # expected: a failure
    assert results["evolution.chatwoot.enabled"].status is Status.PASS
    assert results["evolution.chatwoot.config"].status is Status.FAIL
    assert "sends nothing to Chatwoot" in results["evolution.chatwoot.config"].message
    assert results["evolution.chatwoot.webhook"].status is Status.BLOCKED


@pytest.mark.parametrize("version", VERSIONS)
def test_chatwoot_config_publishes_the_facts(serve: Serve, version: str) -> None:
    url = serve_lab(serve, lab_with(version, shop(chatwoot=_cw(conversation_pending=True, reopen_conversation=False))))
    report = run_report(url)
    result = next(r for r in report.results if r.id == "evolution.chatwoot.config")
    assert result.status is Status.PASS
    assert "start as pending" in result.message and "reopenConversation=false" in result.message
    facts = report.facts
    assert facts["evolution.chatwoot.enabled"] is True
    assert facts["evolution.chatwoot.url"] == "http://127.0.0.1:9"
    assert facts["evolution.chatwoot.account_id"] == "1"
    assert facts["evolution.chatwoot.name_inbox"] == "shop"  # empty nameInbox defaults to the instance name
    assert facts["evolution.chatwoot.webhook_url"] == f"{url}/chatwoot/webhook/shop"
    assert facts["evolution.chatwoot.conversation_pending"] is True
    assert facts["evolution.chatwoot.reopen_conversation"] is False


@pytest.mark.parametrize(("version", "server_url", "cw", "status", "phrase"), [
    ("1.8.2", None, _cw(), Status.FAIL, "SERVER_URL is not set"),
    ("2.3.6", None, _cw(), Status.FAIL, "SERVER_URL is not set"),
    ("1.7.4", "slash", _cw(), Status.FAIL, "//chatwoot"),
    ("2.2.3", "slash", _cw(), Status.FAIL, "//chatwoot"),
    ("1.8.2", "ok", _cw(url="http://127.0.0.1:9/"), Status.WARN, "//api/v1"),
    ("2.3.6", "ok", _cw(url="http://127.0.0.1:9/"), Status.WARN, "//api/v1"),
    ("2.3.6", "ok", _cw(account_id=1), Status.WARN, "stored as a int"),
    ("1.8.2", "ok", _cw(account_id=""), Status.FAIL, "no account id"),
    ("2.3.6", "ok", _cw(url="chatwoot"), Status.FAIL, "not an http(s) URL"),
])
def test_chatwoot_config_problems(serve: Serve, version: str, server_url: str | None, cw: ChatwootSettings,
                                  status: Status, phrase: str) -> None:
    lab = lab_with(version, shop(chatwoot=cw))
    url = serve_lab(serve, lab)
    lab.server_url = {"ok": url, "slash": url + "/", None: None}[server_url]
    result = run(url)["evolution.chatwoot.config"]
    assert result.status is status, result.message
    assert phrase in result.message
    if server_url == "slash":
        assert f"{url}/chatwoot/webhook/shop" in result.remediation.text


@dataclass
class NoChatwootRouteEvolution(EvolutionLab):
    """Evolution behind a proxy that forwards only /instance, /webhook and /chatwoot/find|set."""

    async def __call__(self, request: Request) -> Response:
        if request.path.startswith("/chatwoot/webhook/"):
            return Response.text("<html><body>404 Not Found</body></html>", 404, "text/html")
        return await super().__call__(request)


@pytest.mark.parametrize("version", ("1.7.4", "2.3.6"))
def test_chatwoot_webhook(serve: Serve, version: str) -> None:
    lab = lab_with(version, shop(chatwoot=_cw()))
    url = serve_lab(serve, lab)
    result = run(url, allow=WEBHOOK_POST)["evolution.chatwoot.webhook"]
    assert result.status is Status.PASS and '{"message":"bot"}' in result.message
    assert lab.requests(mutating=True) == []
    lab = NoChatwootRouteEvolution(version=version, global_key=KEY)
    lab.add_instance("shop", state="open", chatwoot=_cw())
    url = serve_lab(serve, lab)
    result = run(url, allow=WEBHOOK_POST)["evolution.chatwoot.webhook"]
    assert result.status is Status.FAIL and "not served" in result.message


def test_chatwoot_webhook_is_not_posted_without_its_flag(serve: Serve) -> None:
    lab = lab_with("2.3.6", shop(chatwoot=_cw()))
    url = serve_lab(serve, lab)
    result = run(url)["evolution.chatwoot.webhook"]
    assert result.status is Status.SKIP and "--allow-webhook-post" in result.message
    assert not [e for e in lab.requests() if "/chatwoot/webhook/" in e.path]


# ---------------------------------------------------------------------------------------------------------------
# evolution.known_issues and matching_known_issues
# ---------------------------------------------------------------------------------------------------------------


def test_matching_known_issues_reads_both_products() -> None:
    ids = {i.id for i in matching_known_issues(CATALOG, {"evolution.version": "1.7.4", "chatwoot.version": "3.9.0"})}
    assert "evo-chatwoot-contact-id-filter" in ids
    assert "evo-chatwoot-identifier-contains" not in ids  # fixed in 1.7.3
    ids = {i.id for i in matching_known_issues(CATALOG, {"evolution.version": "1.7.4", "chatwoot.version": "3.7.1"})}
    assert "evo-chatwoot-contact-id-filter" not in ids
    ids = {i.id for i in matching_known_issues(CATALOG, {"evolution.version": "1.7.4"})}
    assert "evo-chatwoot-contact-id-filter" not in ids  # Chatwoot's version unknown
    unknown = matching_known_issues(CATALOG, {"evolution.version": "1.7.4"}, include_unknown_with=True)
    assert "evo-chatwoot-contact-id-filter" in {i.id for i in unknown}
    only_qr = matching_known_issues(CATALOG, {"evolution.version": "2.2.3"}, observed_by="evolution.qr")
    assert [i.id for i in only_qr] == ["evo-qr-count-zero"]
    assert {i.id for i in matching_known_issues(CATALOG, {"evolution.version": "2.2.3"})} >= {
        "evo-webhook-retry-any-error", "evo-v2-field-renames", "evo-v2-restart-post"}
    assert "evo-webhook-retry-any-error" not in {
        i.id for i in matching_known_issues(CATALOG, {"evolution.version": "2.3.0"})}


def test_known_issues_warns_when_no_live_check_observes(serve: Serve) -> None:
    cw = FixedApp(status=200, body=b'{"version":"3.9.0","queue_services":"ok","data_services":"ok"}',
                  content_type="application/json")
    cw_url = serve(cw)
    url = serve_lab(serve, lab_with("1.7.4", shop()))
    results = run(url, only=(*EVO_IDS, "chatwoot.reachable"), chatwoot__url=cw_url)
    result = results["evolution.known_issues"]
    assert result.status is Status.WARN
    assert "fixed in 1.7.5" in result.message and "Upgrade Evolution API to 1.7.5" in result.remediation.text
    assert any(ref.number == 605 for ref in result.refs)
    # without Chatwoot's version the same issue is only a possibility: a note, no finding
    result = run(url)["evolution.known_issues"]
    assert result.status is Status.PASS
    assert any("Possible known issue evo-chatwoot-contact-id-filter" in n for n in result.notes)


def test_known_issues_leaves_observed_issues_to_the_live_check(serve: Serve) -> None:
    issue = KnownIssue(id="lab-issue", product="evolution-api", versions=">=2.0.0", symptom="Webhooks go wrong.",
                       workaround="Upgrade.", fixed_in="9.9.9", refs=(Ref("evolution-api", 4242),),
                       observed_by=("evolution.webhook.url",))
    catalog = replace(CATALOG, known_issues=(issue,))
    url = serve_lab(serve, lab_with("2.3.6", shop(webhook=_hook())))
    results = run(url, catalog=catalog)
    assert results["evolution.known_issues"].status is Status.PASS  # the webhook check ran: it owns the issue
    assert "lab-issue" in results["evolution.known_issues"].message
    assert any(ref.number == 4242 for ref in results["evolution.webhook.url"].refs)
    results = run(url, catalog=catalog, evolution__api_key="wrong")  # observer blocked: nobody else can see it
    assert results["evolution.webhook.url"].status is Status.BLOCKED
    assert results["evolution.known_issues"].status is Status.WARN
    assert "lab-issue" in results["evolution.known_issues"].message


def test_known_issues_waits_for_observers_in_its_own_stage(serve: Serve) -> None:
    issue = KnownIssue(id="qr-issue", product="evolution-api", versions=">=2.0.0", symptom="No QR.",
                       workaround="Upgrade.", fixed_in="9.9.9", observed_by=("evolution.qr",))
    catalog = replace(CATALOG, known_issues=(issue,))
    url = serve_lab(serve, lab_with("2.3.6", shop(state="close", qr_available=True), connect_delay_s=0.3))
    results = run(url, catalog=catalog, allow=frozenset({"connect"}))
    assert results["evolution.qr"].status is Status.PASS
    assert results["evolution.known_issues"].status is Status.PASS
    # A fresh lab: the first run left the instance `connecting`, where evolution.qr needs no flag.
    url = serve_lab(serve, lab_with("2.3.6", shop(state="close", qr_available=True)))
    results = run(url, catalog=catalog)  # evolution.qr skipped (no --allow-connect): the issue is raised here
    assert results["evolution.known_issues"].status is Status.WARN


# ---------------------------------------------------------------------------------------------------------------
# Issue 13: evolution.session, evolution.integrations, evolution.lid, no WhatsApp egress, webhook.dedupe_drop
# ---------------------------------------------------------------------------------------------------------------

SESSION = ("evolution.reachable", "evolution.auth", "evolution.instance", "evolution.session")


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"state": "close", "db_status": "close", "disconnection_reason_code": 401,
      "disconnection_object": '{"error":{"data":{"tag":"stream:error","attrs":{"code":"401"},"content":[{"tag":'
                              '"conflict","attrs":{"type":"device_removed"}}]}}}'}, "fail", "device_removed"),
    ({"state": "close", "db_status": "close", "disconnection_reason_code": 401}, "fail", "logged out"),
    ({"state": "close", "db_status": "close", "disconnection_reason_code": 403}, "fail", "forbidden"),
    ({"state": "close", "db_status": "close", "disconnection_reason_code": 406}, "fail", "final"),
    ({"state": "close", "db_status": "close", "disconnection_reason_code": 440}, "fail", "replaced"),
    ({"state": "connecting", "db_status": "close", "disconnection_reason_code": 515}, "warn", "515"),
    ({"state": "close", "db_status": "open"}, "fail", "zombie"),
    # an old code on a re-paired instance is history: Evolution never clears it
    ({"state": "open", "db_status": "open", "disconnection_reason_code": 401}, "pass", "history"),
    ({"state": "open"}, "pass", "no recorded disconnection"),
])
def test_session_reasons(serve: Serve, fields: dict[str, Any], status: str, words: str) -> None:
    url = serve_lab(serve, lab_with("2.3.6", shop(**fields)))
    result = run(url, only=SESSION)["evolution.session"]
    assert (result.status.value, words in result.message) == (status, True), result.message


def test_session_skips_v1(serve: Serve) -> None:
    url = serve_lab(serve, lab_with("1.8.2", shop(state="close", disconnection_reason_code=401)))
    assert run(url, only=SESSION)["evolution.session"].status is Status.SKIP


INTEGRATIONS = ("evolution.reachable", "evolution.auth", "evolution.instance", "evolution.integrations")


def test_integrations_event_configured_while_the_server_has_it_off(serve: Serve) -> None:
    inst = shop(event_settings={"Websocket": {"enabled": True, "events": ["MESSAGES_UPSERT"]}})
    url = serve_lab(serve, lab_with("2.3.6", inst))
    result = run(url, only=INTEGRATIONS)["evolution.integrations"]
    assert result.status is Status.FAIL and "WEBSOCKET_ENABLED" in result.message, result.message


def test_integrations_switched_on_pass_and_list_the_bots(serve: Serve) -> None:
    inst = shop(bots={"typebot": [{"id": "t1", "enabled": True}]},
                event_settings={"Websocket": {"enabled": True, "events": []}})
    lab = lab_with("2.3.6", inst, integration_flags={"TYPEBOT_ENABLED": True, "WEBSOCKET_ENABLED": True})
    result = run(serve_lab(serve, lab), only=INTEGRATIONS)["evolution.integrations"]
    assert result.status is Status.PASS and "Typebot (1 bot(s))" in result.message and "WebSocket" in result.message
    assert any('"Dify is disabled"' in n for n in result.notes), result.notes  # explained before a user sees it


def test_integrations_on_an_older_v2_skip_the_routes_it_lacks(serve: Serve) -> None:
    lab = lab_with("2.2.3", shop())
    result = run(serve_lab(serve, lab), only=INTEGRATIONS)["evolution.integrations"]
    assert result.status is Status.PASS and "n8n" not in result.message, result.message
    assert not any(e.path.startswith("/n8n/") for e in lab.requests())


LID = ("evolution.reachable", "evolution.auth", "evolution.instance", "evolution.lid")


@pytest.mark.parametrize(("version", "status", "field"), [
    ("2.3.6", "warn", "remoteJidAlt"), ("2.3.4", "warn", "senderPn"), ("2.2.3", "fail", "remoteJidAlt"),
])
def test_lid_contacts_by_release(serve: Serve, version: str, status: str, field: str) -> None:
    from evodiag.lab.evolution.whatsapp import store

    lab = lab_with(version, shop())
    inst = lab.require("shop")
    key: dict[str, Any] = {"remoteJid": "210987654321098@lid", "fromMe": False, "id": "AB12"}
    if version >= "2.3.5":
        key["remoteJidAlt"] = "5511999990001@s.whatsapp.net"
    elif version >= "2.3.0":
        key["senderPn"] = "5511999990001@s.whatsapp.net"
    store(inst, {"key": key, "messageTimestamp": 1_760_000_000})
    result = run(serve_lab(serve, lab), only=LID)["evolution.lid"]
    assert result.status.value == status and field in result.message + " ".join(result.notes), result.message
    assert not [e for e in lab.requests(mutating=True)]  # the POST queries change nothing


def test_no_egress_with_a_hanging_root_names_outbound_access(serve: Serve) -> None:
    """The DNS-timeout variant: GET / outlasts evodiag's own timeout (20 s on evolution.reachable) and other
    routes answer; state and qr then name missing outbound access, not pairing or a version mismatch."""
    lab = lab_with("2.3.6", shop(state="connecting", db_status="close"), whatsapp_egress="dns-timeout",
                   time_scale=1.0)
    url = serve_lab(serve, lab)
    results = run(url, only=("evolution.reachable", "evolution.auth", "evolution.instance",
                             "evolution.instance.state", "evolution.qr"), allow=frozenset({"connect"}))
    assert results["evolution.reachable"].status is Status.WARN
    assert "web.whatsapp.com" in results["evolution.reachable"].message
    for cid in ("evolution.instance.state", "evolution.qr"):
        assert results[cid].status is Status.FAIL and "outbound access" in results[cid].message, results[cid].message
        assert "no answer within" in results[cid].message


def test_no_egress_fast_dns_failure(serve: Serve) -> None:
    lab = lab_with("2.3.6", shop(state="connecting", db_status="close"), whatsapp_egress="dns-fail")
    results = run(serve_lab(serve, lab), only=("evolution.reachable", "evolution.auth", "evolution.instance",
                                               "evolution.instance.state", "evolution.qr"),
                  allow=frozenset({"connect"}))
    assert results["evolution.reachable"].status is Status.WARN and "2.3000.1027934701" in \
        results["evolution.reachable"].message
    assert "fallback" in results["evolution.qr"].message and "version mismatch" in results["evolution.qr"].message


def test_dedupe_drop_on_2_2_is_a_plain_warning(serve: Serve, tmp_path: Any) -> None:
    """Stored but not delivered on a release without the dedupe cache: a warning that names no 2.3.x issue."""
    import json
    import time

    from evodiag.lab.evolution.whatsapp import store

    lab = lab_with("2.2.3", shop())
    inst = lab.require("shop")
    now = int(time.time())
    store(inst, {"key": {"remoteJid": "5511999990001@s.whatsapp.net", "fromMe": False, "id": "DELIVERED"},
                 "messageTimestamp": now})
    store(inst, {"key": {"remoteJid": "5511999990001@s.whatsapp.net", "fromMe": False, "id": "MISSING"},
                 "messageTimestamp": now})
    capture = tmp_path / "capture.jsonl"
    capture.write_text(json.dumps({"received_at": now + 0.2, "method": "POST", "path": "/hook", "headers": {},
                                   "body": {"event": "messages.upsert", "instance": "shop",
                                            "data": {"key": {"id": "DELIVERED"}, "messageTimestamp": now}}}) + "\n")
    result = run(serve_lab(serve, lab), only=("evolution.reachable", "evolution.auth", "evolution.instance",
                                              "webhook.dedupe_drop"), webhook__capture=str(capture))
    dedupe = result["webhook.dedupe_drop"]
    assert dedupe.status is Status.WARN and "MISSING" in dedupe.message and "DELIVERED" not in dedupe.message
