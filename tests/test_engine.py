"""The staged pipeline against real HTTP servers on 127.0.0.1: stage order, blocked propagation, concurrency,
error kinds, credential origin, body cap."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from evodiag.catalog.loader import load_catalog_text
from evodiag.config import Settings
from evodiag.engine.context import RunOptions
from evodiag.engine.results import Status
from evodiag.engine.runner import Pipeline, RunReport
from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp


@dataclass
class ScriptedApp(LabApp):
    """A server whose routes answer fixed bodies, optionally after a delay."""

    delay_s: float = 0.0

    def __post_init__(self) -> None:
        self.route("GET", "/ok", self.ok)
        self.route("GET", "/slow", self.slow)
        self.route("GET", "/html", self.html)
        self.route("GET", "/huge", self.huge)
        self.route("GET", "/status/{code}", self.status)
        self.route("GET", "/redirect-away", self.redirect_away)
        self.route("GET", "/echo-key", self.echo_key)

    async def ok(self, request: Request) -> Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return Response.json({"version": "9.9.9", "ok": True})

    async def slow(self, request: Request) -> Response:
        await asyncio.sleep(5)
        return Response.json({})

    async def html(self, request: Request) -> Response:
        return Response.text("<html><body>502 Bad Gateway</body></html>", 200, "text/html")

    async def huge(self, request: Request) -> Response:
        return Response(200, b"x" * (3 * 1024 * 1024), {"Content-Type": "application/json"})

    async def status(self, request: Request, code: str) -> Response:
        return Response.json({"error": "nope"}, int(code))

    async def redirect_away(self, request: Request) -> Response:
        return Response(302, b"", {"Location": request.query.get("to", "/ok")})

    async def echo_key(self, request: Request) -> Response:
        return Response.json({"got": request.header("apikey")})


CHECK = """
  - id: {id}
    title: {id}
    stage: {stage}
    doc: {{what: w, why: y}}
    request: {{method: GET, url: "{{evolution.url}}{path}"}}
    requires: [{requires}]
"""


def catalog(*rows: tuple[str, str, str, str]) -> str:
    body = "".join(CHECK.format(id=i, stage=s, path=p, requires=r) for i, s, p, r in rows)
    return "version: 1\nchecks:\n" + body


def run(text: str, url: str, *, concurrency: int = 0, timeout: float = 2.0, **values: str) -> RunReport:
    settings = Settings(values={"evolution.url": url, **values})
    pipeline = Pipeline(load_catalog_text(text), settings, RunOptions(timeout=timeout, concurrency=concurrency))
    return asyncio.run(pipeline.run())


def by_id(report: RunReport) -> dict[str, Status]:
    return {r.id: r.status for r in report.results}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_blocked_propagates_and_names_the_root(serve: Callable[[LabApp], str]) -> None:
    url = serve(ScriptedApp(name="t"))
    report = run(catalog(("a.root", "auth", "/status/401", ""), ("a.mid", "api", "/ok", "a.root"),
                         ("a.leaf", "functional", "/ok", "a.mid"), ("a.free", "api", "/ok", "")), url)
    statuses = by_id(report)
    assert statuses == {"a.root": Status.FAIL, "a.mid": Status.BLOCKED, "a.leaf": Status.BLOCKED,
                        "a.free": Status.PASS}
    leaf = next(r for r in report.results if r.id == "a.leaf")
    assert leaf.blocked_by == ["a.root"] and "via a.mid" in leaf.message
    assert report.root_causes == [("a.root", 2)]


def test_stages_run_in_order(serve: Callable[[LabApp], str]) -> None:
    app = ScriptedApp(name="t")
    url = serve(app)
    run(catalog(("s.f", "functional", "/ok?f", ""), ("s.a", "api", "/ok?a", ""), ("s.u", "auth", "/ok?u", "")), url)
    assert [e.path for e in app.log] == ["/ok?u", "/ok?a", "/ok?f"]


def test_checks_in_a_stage_overlap(serve: Callable[[LabApp], str]) -> None:
    """Proof from the server's own clock: the second request arrived before the first was answered."""
    app = ScriptedApp(name="t", delay_s=0.4)
    url = serve(app)
    run(catalog(("c.one", "api", "/ok?1", ""), ("c.two", "api", "/ok?2", "")), url)
    first, second = sorted(app.log, key=lambda e: e.received_at)
    assert second.received_at - first.received_at < 0.4


def test_concurrency_one_serialises(serve: Callable[[LabApp], str]) -> None:
    app = ScriptedApp(name="t", delay_s=0.2)
    url = serve(app)
    run(catalog(("c.one", "api", "/ok?1", ""), ("c.two", "api", "/ok?2", "")), url, concurrency=1)
    first, second = sorted(app.log, key=lambda e: e.received_at)
    assert second.received_at - first.received_at >= 0.2


def test_refused_port_is_a_connect_error() -> None:
    report = run(catalog(("e.x", "auth", "/ok", "")), f"http://127.0.0.1:{free_port()}")
    result = report.results[0]
    assert result.status is Status.ERROR and result.error_kind == "connect"
    assert "connection refused" in result.message


def test_timeout_is_its_own_error(serve: Callable[[LabApp], str]) -> None:
    url = serve(ScriptedApp(name="t"))
    result = run(catalog(("e.x", "auth", "/slow", "")), url, timeout=0.3).results[0]
    assert result.status is Status.ERROR and result.error_kind == "timeout"
    assert "timed out after 0.3 s" in result.message


def test_html_where_json_is_needed(serve: Callable[[LabApp], str]) -> None:
    url = serve(ScriptedApp(name="t"))
    text = catalog(("e.x", "auth", "/html", "")) + "    extract: {x.version: $.version}\n"
    result = run(text, url).results[0]
    assert result.status is Status.ERROR and result.error_kind == "non_json"
    assert "HTML page" in result.message


def test_body_cap(serve: Callable[[LabApp], str]) -> None:
    url = serve(ScriptedApp(name="t"))
    result = run(catalog(("e.x", "auth", "/huge", "")), url).results[0]
    assert result.status is Status.ERROR and result.error_kind == "body_too_large"


def test_credentials_never_follow_a_redirect_to_another_origin(serve: Callable[[LabApp], str]) -> None:
    home, other = ScriptedApp(name="home"), ScriptedApp(name="other")
    home_url, other_url = serve(home), serve(other)
    text = ("version: 1\nchecks:\n  - id: r.x\n    title: t\n    stage: auth\n    doc: {what: w, why: y}\n"
            f"    request: {{url: '{{evolution.url}}/redirect-away?to={other_url}/echo-key',"
            " headers: {apikey: {secret: evolution.api_key}}}\n")
    settings = Settings(values={"evolution.url": home_url, "evolution.api_key": "s3cret-key-value"})
    report = asyncio.run(Pipeline(load_catalog_text(text), settings, RunOptions(timeout=2)).run())
    assert report.results[0].status is Status.PASS
    assert home.log[0].headers["apikey"] == "***"  # the home origin got the key (masked in the log)
    assert "apikey" not in other.log[0].headers  # the other origin never saw it


def test_credential_refused_for_foreign_url(serve: Callable[[LabApp], str]) -> None:
    home, other = ScriptedApp(name="home"), ScriptedApp(name="other")
    home_url, other_url = serve(home), serve(other)
    text = ("version: 1\nchecks:\n  - id: r.x\n    title: t\n    stage: auth\n    doc: {what: w, why: y}\n"
            f"    request: {{url: '{other_url}/echo-key', headers: {{apikey: {{secret: evolution.api_key}}}}}}\n")
    settings = Settings(values={"evolution.url": home_url, "evolution.api_key": "s3cret-key-value"})
    result = asyncio.run(Pipeline(load_catalog_text(text), settings, RunOptions(timeout=2)).run()).results[0]
    assert result.status is Status.ERROR and result.error_kind == "credential_origin"
    assert other.log == [] and "s3cret" not in result.message


def test_identical_gets_share_one_request(serve: Callable[[LabApp], str]) -> None:
    app = ScriptedApp(name="t", delay_s=0.2)
    url = serve(app)
    report = run(catalog(("g.one", "api", "/ok", ""), ("g.two", "api", "/ok", "")), url)
    assert set(by_id(report).values()) == {Status.PASS}
    assert len(app.log) == 1


def test_missing_setting_is_an_error_not_a_crash() -> None:
    text = catalog(("m.x", "auth", "/ok", "")).replace("{evolution.url}", "{chatwoot.url}")
    result = run(text, "http://127.0.0.1:9").results[0]
    assert result.status is Status.ERROR and "chatwoot.url is not set" in result.message


@pytest.mark.parametrize("status,expected", [(200, Status.PASS), (500, Status.FAIL)])
def test_declarative_expect(serve: Callable[[LabApp], str], status: int, expected: Status) -> None:
    url = serve(ScriptedApp(name="t"))
    assert run(catalog(("d.x", "auth", f"/status/{status}", "")), url).results[0].status is expected


def test_https_against_a_plain_http_port_is_a_tls_error(serve: Callable[[LabApp], str]) -> None:
    url = serve(ScriptedApp(name="t")).replace("http://", "https://")
    result = run(catalog(("t.x", "auth", "/ok", "")), url, timeout=5).results[0]
    assert result.status is Status.ERROR and result.error_kind == "tls"  # not "timeout": the server answered


def test_dns_failure_through_the_chosen_resolver(serve: Callable[[LabApp], str]) -> None:
    """--dns-server: NXDOMAIN is a `dns` error; a name the server knows is resolved and connected to."""
    from urllib.parse import urlsplit

    from evodiag.lab.dns import DnsServer

    port = urlsplit(serve(ScriptedApp(name="t"))).port
    with DnsServer({"evo.lab.test": ["127.0.0.1"]}) as dns_server:
        missing = run(catalog(("n.x", "auth", "/ok", "")), f"http://nowhere.lab.test:{port}",
                      **{"dns.server": dns_server.address}).results[0]
        found = run(catalog(("n.x", "auth", "/ok", "")), f"http://evo.lab.test:{port}",
                    **{"dns.server": dns_server.address}).results[0]
    assert missing.status is Status.ERROR and missing.error_kind == "dns" and "NXDOMAIN" in missing.message
    assert found.status is Status.PASS
