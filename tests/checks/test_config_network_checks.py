"""Config lint, URL lint, the call graph (DNS) and S3 latency, through the real catalog and pipeline.

Every name is resolved by a DNS server on 127.0.0.1 (``evodiag.lab.dns.DnsServer``); the autouse guard makes
any use of the system resolver fail. Every HTTP request goes to a lab server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import Catalog
from evodiag.config import Settings
from evodiag.engine.context import RunOptions
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import Pipeline, RunReport
from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp
from evodiag.lab.dns import DnsServer
from evodiag.lab.s3 import S3Lab
from evodiag.lab.scenarios import SCENARIOS
from evodiag.report.common import as_dict

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG_IDS = ("config.files", "config.chatwoot_enabled", "config.server_url", "config.api_key", "config.env_names",
              "config.webhook_global")
MINE = (*CONFIG_IDS, "network.urls", "network.domains", "storage.s3")
ZONES = {
    "evo.example.com": ["203.0.113.10"],
    "chatwoot.example.com": ["198.51.100.20"],
    "chat.example.com": ["198.51.100.21"],
    "hooks.example.com": ["203.0.113.30"],
    "looks-public.example.com": ["192.168.1.50"],
    "chatwoot.lan": ["10.0.0.5"],
    "slow.example.com": {"delay": 2.0, "a": ["203.0.113.11"]},
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(ZONES) as server:
        yield server


def execute(catalog: Catalog, values: dict[str, Any], only: tuple[str, ...],
            timeout: float = 2.0) -> tuple[dict[str, Result], RunReport]:
    """Run the real catalog; facts a probe reads may be given as values (the scope reads settings first)."""
    report = asyncio.run(Pipeline(catalog, Settings(values=values), RunOptions(timeout=timeout, only=only)).run())
    return {r.id: r for r in report.results}, report


def env(*names: str) -> list[str]:
    return [str(FIXTURES / n) for n in names]


def everything(result: Result) -> str:
    return json.dumps(result.to_dict())


# ============================================================================================ config lint


def test_good_env_passes_every_config_check(catalog: Catalog) -> None:
    results, _ = execute(catalog, {"files.env": env("good.env")}, CONFIG_IDS)
    assert {i: results[i].status for i in CONFIG_IDS} == dict.fromkeys(CONFIG_IDS, Status.PASS)
    assert "SQS_ENABLED" not in everything(results["config.env_names"])  # a real name, not a typo of S3_ENABLED


def test_tutorial_pitfalls_point_at_file_and_line(catalog: Catalog) -> None:
    path = env("pitfalls.env")[0]
    results, report = execute(catalog, {"files.env": [path]}, CONFIG_IDS)
    cw = results["config.chatwoot_enabled"]
    assert cw.status is Status.FAIL and "CHATWOOT_ENABLED is not set" in cw.message
    assert f"{path}:6: CHATWOOT_MESSAGE_READ is set" in cw.evidence
    assert "CHATWOOT_ENABLED=true" in cw.remediation.text

    url = results["config.server_url"]
    assert url.status is Status.FAIL and url.message.startswith(f"{path}:2: SERVER_URL=https://evolution.example.com/")
    assert "https://evolution.example.com//chatwoot/webhook/<instance>" in url.message
    assert f"{path}:2 to SERVER_URL=https://evolution.example.com," in url.remediation.text

    key = results["config.api_key"]
    assert key.status is Status.FAIL and key.message.startswith(f"{path}:4:")
    assert "v1 Dockerfile" in key.message

    names = results["config.env_names"]
    assert names.status is Status.FAIL and "API_KEY_GLOBAL" in names.message
    assert "AUTHENTICATION_API_KEY" in names.message
    assert any(e.startswith(f"{path}:5: AUTH_ENABLED") for e in names.evidence)
    assert any("WEBHOOK_GLOBAL_URLS" in n and "did you mean WEBHOOK_GLOBAL_URL?" in n for n in names.notes)
    assert results["config.webhook_global"].status is Status.SKIP

    dumped = json.dumps(as_dict(report))
    assert "B6D711FCDE4D4FD5936544120E713976" not in dumped  # the key is described, never printed


def test_capital_true_loopback_and_short_key(catalog: Catalog) -> None:
    path = env("enabled-capital.env")[0]
    results, report = execute(catalog, {"files.env": [path]}, CONFIG_IDS)
    cw = results["config.chatwoot_enabled"]
    assert cw.status is Status.FAIL and f"{path}:3: CHATWOOT_ENABLED=True is read as false" in cw.message
    url = results["config.server_url"]
    assert url.status is Status.FAIL and "points at localhost" in url.message
    key = results["config.api_key"]
    assert key.status is Status.WARN and "only 9 characters" in key.message
    dumped = json.dumps(as_dict(report))
    assert "short-key" not in dumped and "cwpass" not in dumped


def test_unset_values_and_a_malformed_line_explain_each_other(catalog: Catalog) -> None:
    path = env("unset.env")[0]
    results, _ = execute(catalog, {"files.env": [path]}, CONFIG_IDS)
    files = results["config.files"]
    assert files.status is Status.WARN
    assert files.evidence == [f"{path}:2: line has no '=' (expected KEY=value): CHATWOOT_ENABLED (+4 more characters)"]
    cw = results["config.chatwoot_enabled"]
    assert cw.status is Status.FAIL and "CHATWOOT_MESSAGE_DELETE is set" in cw.message
    assert f"{path}:2: line has no '=' (expected KEY=value): CHATWOOT_ENABLED (+4 more characters)" in cw.evidence
    url = results["config.server_url"]
    assert url.status is Status.FAIL and "undefined/chatwoot/webhook/<instance>" in url.message
    assert results["config.api_key"].status is Status.FAIL
    assert "built-in key" in results["config.api_key"].message


def test_malformed_lines_are_evidence_not_a_crash(catalog: Catalog) -> None:
    path = env("malformed.env")[0]
    results, _ = execute(catalog, {"files.env": [path]}, CONFIG_IDS)
    files = results["config.files"]
    assert files.status is Status.WARN and "4 line(s)" in files.message
    assert [e.split(": ", 1)[0] for e in files.evidence] == [f"{path}:{n}" for n in (3, 4, 5, 8)]
    assert any(f"{path}:7: CHATWOOT_ENABLED is assigned 2 times" in n for n in files.notes)
    assert not [r for r in results.values() if r.status is Status.ERROR]
    assert results["config.chatwoot_enabled"].status is Status.SKIP  # the last assignment (false) wins
    assert results["config.api_key"].status is Status.PASS


def test_a_malformed_key_line_is_not_echoed(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("SERVER_URL=http://evolution-api:8080\nAUTHENTICATION_API_KEY 7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e\n")
    results, report = execute(catalog, {"files.env": [str(path)]}, CONFIG_IDS)
    assert results["config.files"].evidence == [f"{path}:2: line has no '=' (expected KEY=value): "
                                                 "AUTHENTICATION_API_KEY (+32 more characters)"]
    assert results["config.api_key"].status is Status.FAIL  # the broken line sets nothing
    assert "7f3a9c1e" not in json.dumps(as_dict(report))


def test_global_webhook_without_url_or_events(catalog: Catalog) -> None:
    path = env("webhook-no-url.env")[0]
    results, _ = execute(catalog, {"files.env": [path]}, CONFIG_IDS)
    hook = results["config.webhook_global"]
    assert hook.status is Status.FAIL and "WEBHOOK_GLOBAL_URL is empty" in hook.message
    assert any("no WEBHOOK_EVENTS_* is exactly" in n for n in hook.notes)
    assert f"{path}:4: WEBHOOK_EVENTS_MESSAGES_UPSERT=True is read as false" in hook.evidence
    assert f"{path}:5: WEBHOOK_EVENTS_CONNECTION_UPDATE=1 is read as false" in hook.evidence


def test_global_webhook_by_events_trailing_slash(catalog: Catalog) -> None:
    path = env("webhook-slash.env")[0]
    results, _ = execute(catalog, {"files.env": [path]}, CONFIG_IDS)
    hook = results["config.webhook_global"]
    assert hook.status is Status.FAIL and hook.message.startswith(f"{path}:4: WEBHOOK_GLOBAL_URL=")
    assert "WEBHOOK_GLOBAL_URL=https://hooks.example.com/evolution" in hook.remediation.text


def test_global_webhook_enabled_1_and_server_url_without_scheme(catalog: Catalog) -> None:
    path = env("webhook-capital.env")[0]
    results, _ = execute(catalog, {"files.env": [path]}, CONFIG_IDS)
    assert results["config.webhook_global"].status is Status.FAIL
    assert "WEBHOOK_GLOBAL_ENABLED=1 is read as false" in results["config.webhook_global"].message
    url = results["config.server_url"]
    assert url.status is Status.FAIL and "not an http(s) URL" in url.message


def test_compose_file_with_env_file_and_image_version(catalog: Catalog) -> None:
    compose = str(FIXTURES / "compose" / "docker-compose.yml")
    results, _ = execute(catalog, {"files.compose": [compose]}, CONFIG_IDS)
    files = results["config.files"]
    assert files.status is Status.PASS and any("EVO_KEY" in n for n in files.notes)
    key = results["config.api_key"]
    assert key.status is Status.SKIP and "${EVO_KEY}" in key.message  # the shell's value: unknown, not empty
    names = results["config.env_names"]
    assert names.status is Status.WARN and "AUTHENTICATION_TYPE" in names.message and "2.3.6" in names.message
    assert names.evidence[0].startswith(str(FIXTURES / "compose" / "evolution.env") + ":3:")
    cw = results["config.chatwoot_enabled"]
    assert cw.status is Status.FAIL
    assert any("the compose file runs Chatwoot (service chatwoot)" in e for e in cw.evidence)
    assert "service evolution-api" in cw.remediation.text
    assert results["config.server_url"].status is Status.PASS


def test_explicit_false_fails_only_when_the_files_run_chatwoot(catalog: Catalog, tmp_path: Path) -> None:
    example = tmp_path / ".env"  # as Evolution's .env.example ships it: off, with the other CHATWOOT_* lines
    example.write_text("SERVER_URL=http://evolution-api:8080\nCHATWOOT_ENABLED=false\nCHATWOOT_MESSAGE_READ=true\n")
    only = ("config.chatwoot_enabled",)
    res = execute(catalog, {"files.env": [str(example)]}, only)[0]["config.chatwoot_enabled"]
    assert res.status is Status.SKIP and "deliberately off" in res.message

    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  evolution-api:\n    image: evoapicloud/evolution-api:v2.3.6\n"
                       "    env_file: [.env]\n  chatwoot:\n    image: chatwoot/chatwoot:v4.1.0\n")
    res = execute(catalog, {"files.compose": [str(compose)]}, only)[0]["config.chatwoot_enabled"]
    assert res.status is Status.FAIL and res.message.startswith(f"{example}:2: CHATWOOT_ENABLED=false switches")
    assert f"{compose}:5: the compose file runs Chatwoot (service chatwoot)" in res.evidence


def test_unreadable_file_is_one_error_and_blocks_the_rest(catalog: Catalog, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.env")
    results, _ = execute(catalog, {"files.env": [missing]}, CONFIG_IDS)
    files = results["config.files"]
    assert files.status is Status.ERROR and files.message == f"{missing}: file not found"
    for check_id in CONFIG_IDS[1:]:
        assert results[check_id].status is Status.BLOCKED and results[check_id].blocked_by == ["config.files"]

    broken = str(FIXTURES / "compose" / "broken.yml")
    results, _ = execute(catalog, {"files.compose": [broken]}, CONFIG_IDS)
    assert results["config.files"].status is Status.ERROR
    assert results["config.files"].message.startswith(f"{broken}:6: invalid YAML")
    assert "\n" not in results["config.files"].message


def test_chatwoot_env_is_not_linted_as_evolution(catalog: Catalog) -> None:
    results, _ = execute(catalog, {"files.env": env("chatwoot.env")}, CONFIG_IDS)
    assert results["config.files"].status is Status.PASS
    assert all(results[i].status is Status.SKIP for i in CONFIG_IDS[1:])


# ============================================================================================ network.domains


def domain_values(dns_server: DnsServer, **facts: Any) -> dict[str, Any]:
    return {"evolution.url": "http://127.0.0.1:8080", "chatwoot.url": "http://127.0.0.1:3000",
            "dns.server": dns_server.address, **facts}


def test_internal_forward_public_back_is_the_domain_mix(catalog: Catalog, dns_server: DnsServer) -> None:
    values = domain_values(dns_server, **{"evolution.chatwoot.url": "http://chatwoot:3000",
                                          "chatwoot.inbox.webhook_url": "https://evo.example.com/chatwoot/webhook/shop"})
    results, report = execute(catalog, values, ("network.domains",))
    res = results["network.domains"]
    assert res.status is Status.FAIL
    assert "Evolution API → Chatwoot uses http://chatwoot:3000" in res.message
    assert "Chatwoot → Evolution API uses https://evo.example.com/chatwoot/webhook/shop" in res.message
    assert "use the same access style on both sides" in res.message
    assert "SERVER_URL=http://<evolution-service>:8080" in res.remediation.text
    edges = {(e["caller"], e["callee"]): e for e in res.details["edges"]}
    assert edges[("Evolution API", "Chatwoot")]["kind"] == "internal-name"
    assert edges[("Chatwoot", "Evolution API")]["style"] == "public"
    assert edges[("evodiag", "Evolution API")]["kind"] == "loopback"
    assert res.details["hosts"]["evo.example.com"]["addresses"] == [{"address": "203.0.113.10", "kind": "public"}]
    assert {a["name"] for a in report.state.dns_answers} >= {"evo.example.com", "chatwoot"}
    assert all(q.peer.startswith("127.0.0.1:") for q in dns_server.queries)


def test_public_forward_internal_back_also_mixes(catalog: Catalog, dns_server: DnsServer) -> None:
    values = domain_values(dns_server, **{"evolution.chatwoot.url": "https://chatwoot.example.com",
                                          "evolution.chatwoot.webhook_url": "http://evolution-api:8080/chatwoot/webhook/x"})
    results, _ = execute(catalog, values, ("network.domains",))
    res = results["network.domains"]
    assert res.status is Status.FAIL and "one side relies on the compose network" in res.message


def test_same_style_both_ways_passes(catalog: Catalog, dns_server: DnsServer) -> None:
    public = domain_values(dns_server, **{"evolution.chatwoot.url": "https://chatwoot.example.com",
                                          "chatwoot.inbox.webhook_url": "https://evo.example.com/chatwoot/webhook/x"})
    assert execute(catalog, public, ("network.domains",))[0]["network.domains"].status is Status.PASS
    lan = domain_values(dns_server, **{"evolution.chatwoot.url": "http://chatwoot.lan:3000",
                                       "chatwoot.inbox.webhook_url": "http://evolution-api:8080/chatwoot/webhook/x"})
    assert execute(catalog, lan, ("network.domains",))[0]["network.domains"].status is Status.PASS


def test_server_side_loopback_fails_when_containers_show(catalog: Catalog, dns_server: DnsServer,
                                                         tmp_path: Path) -> None:
    service_name = domain_values(dns_server, **{
        "evolution.chatwoot.url": "http://localhost:3000",
        "chatwoot.inbox.webhook_url": "http://evolution-api:8080/chatwoot/webhook/x"})
    res = execute(catalog, service_name, ("network.domains",))[0]["network.domains"]
    assert res.status is Status.FAIL
    assert res.message.startswith("Evolution API → Chatwoot: http://localhost:3000 points at localhost")
    assert "the service-name URL http://evolution-api:8080" in res.message
    assert not any("evodiag →" in e for e in res.evidence)
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  evolution-api:\n    image: atendai/evolution-api:v2.3.6\n")
    with_compose = domain_values(dns_server, **{"evolution.chatwoot.url": "http://localhost:3000",
                                                "files.compose": [str(compose)]})
    res = execute(catalog, with_compose, ("network.domains",))[0]["network.domains"]
    assert res.status is Status.FAIL and f"the compose file {compose}" in res.message


def test_server_side_loopback_only_warns_on_what_may_be_a_same_host_install(catalog: Catalog,
                                                                            dns_server: DnsServer) -> None:
    values = domain_values(dns_server, **{"evolution.chatwoot.url": "http://127.0.0.1:3000",
                                          "evolution.webhook.target": "http://127.0.0.1:9000/hook"})
    res = execute(catalog, values, ("network.domains",))[0]["network.domains"]
    assert res.status is Status.WARN, res.message
    assert "nothing here shows containers" in res.message
    assert "wrong if Evolution API runs in a container" in res.message


def test_public_name_resolving_to_a_private_address(catalog: Catalog, dns_server: DnsServer) -> None:
    values = domain_values(dns_server, **{"evolution.webhook.target": "https://looks-public.example.com/hook"})
    res = execute(catalog, values, ("network.domains",))[0]["network.domains"]
    assert res.status is Status.FAIL and "resolves to 192.168.1.50 (private)" in res.message
    assert dns_server.address in res.message


def test_internal_fqdn_that_does_not_resolve(catalog: Catalog, dns_server: DnsServer) -> None:
    values = domain_values(dns_server, **{"evolution.chatwoot.url": "http://chatwoot.corp.internal:3000"})
    res = execute(catalog, values, ("network.domains",))[0]["network.domains"]
    assert res.status is Status.FAIL and "chatwoot.corp.internal does not resolve (nxdomain" in res.message


def test_dns_timeout_only_warns(catalog: Catalog, dns_server: DnsServer) -> None:
    values = domain_values(dns_server, **{"evolution.webhook.target": "https://slow.example.com/hook"})
    res = execute(catalog, values, ("network.domains",), timeout=0.4)[0]["network.domains"]
    assert res.status is Status.WARN and "timed out" in res.message


def test_edges_from_the_files(catalog: Catalog, dns_server: DnsServer) -> None:
    compose = str(FIXTURES / "compose" / "docker-compose.yml")
    values = {"files.compose": [compose], "dns.server": dns_server.address}
    res = execute(catalog, values, ("network.domains",))[0]["network.domains"]
    assert res.status is Status.PASS  # minio (S3, a compose service) and chat.example.com (FRONTEND_URL, public)
    callees = {e["callee"]: e for e in res.details["edges"]}
    assert callees["S3"]["url"] == "http://minio:9000" and callees["S3"]["style"] == "internal"
    assert callees["Chatwoot attachments"]["host"] == "chat.example.com"

    values = {"files.env": env("chatwoot.env"), "dns.server": dns_server.address}
    res = execute(catalog, values, ("network.domains",))[0]["network.domains"]
    # an env file alone shows no container: a same-host install is possible, so a warning that says so
    assert res.status is Status.WARN and "Evolution API → Chatwoot attachments: http://0.0.0.0:3000" in res.message


def test_nothing_to_resolve_skips(catalog: Catalog, dns_server: DnsServer) -> None:
    res = execute(catalog, {"dns.server": dns_server.address}, ("network.domains",))[0]["network.domains"]
    assert res.status is Status.SKIP


# ============================================================================================ network.urls


def test_url_judged_elsewhere_is_only_a_note(catalog: Catalog) -> None:
    results, _ = execute(catalog, {"files.env": env("pitfalls.env")}, ("network.urls", "config.server_url"))
    assert results["config.server_url"].status is Status.FAIL
    urls = results["network.urls"]
    assert urls.status is Status.PASS
    assert any("SERVER_URL" in n and "(judged by config.server_url)" in n for n in urls.notes)


def test_broken_urls_fail_and_credentials_are_masked(catalog: Catalog) -> None:
    results, _ = execute(catalog, {"files.env": env("webhook-capital.env")}, ("network.urls",))
    urls = results["network.urls"]
    assert urls.status is Status.FAIL and "WEBHOOK_GLOBAL_URL" in everything(urls) and "'undefined'" in everything(urls)

    values = {"webhook.url": "https://bot:hunter2pw@hooks.example.com/x",
              "evolution.chatwoot.webhook_url": "undefined/chatwoot/webhook/x"}
    urls = execute(catalog, values, ("network.urls",))[0]["network.urls"]
    assert urls.status is Status.FAIL  # the owner (evolution.chatwoot.config) did not run: reported here
    assert any("embeds credentials" in n and "bot:***@hooks.example.com" in n for n in urls.notes)
    assert "hunter2pw" not in everything(urls)


# ============================================================================================ storage.s3


def test_s3_fast_store_passes_read_only(catalog: Catalog, serve: Callable[[LabApp], str]) -> None:
    app = S3Lab()
    res = execute(catalog, {"s3.endpoint": serve(app)}, ("storage.s3",))[0]["storage.s3"]
    assert res.status is Status.PASS  # the slow case is the s3-slow scenario below
    assert len(res.details["samples_ms"]) == 5
    assert [e.method for e in app.requests()] == ["HEAD"] * 5 and not app.requests(mutating=True)


class _Fixed(LabApp):
    """Answers every request with one status (403 like S3 without credentials, or 503)."""

    def __init__(self, status: int) -> None:
        super().__init__(name="fixed")
        self.status = status

    async def not_found(self, request: Request) -> Response:
        return Response.text("<Error/>", self.status, content_type="application/xml")


def test_s3_403_is_an_answer_503_is_not(catalog: Catalog, serve: Callable[[LabApp], str]) -> None:
    res = execute(catalog, {"s3.endpoint": serve(_Fixed(403))}, ("storage.s3",))[0]["storage.s3"]
    assert res.status is Status.PASS
    res = execute(catalog, {"s3.endpoint": serve(_Fixed(503))}, ("storage.s3",))[0]["storage.s3"]
    assert res.status is Status.WARN and "5 of 5 requests" in res.message and "HTTP 503" in res.message


def test_s3_unreachable_fails_every_sample(catalog: Catalog) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = execute(catalog, {"s3.endpoint": f"http://127.0.0.1:{port}"}, ("storage.s3",))[0]["storage.s3"]
    assert res.status is Status.WARN and "5 of 5 requests" in res.message


def test_s3_internal_endpoint_or_none_skips(catalog: Catalog) -> None:
    compose = str(FIXTURES / "compose" / "docker-compose.yml")
    res = execute(catalog, {"files.compose": [compose]}, ("storage.s3",))[0]["storage.s3"]
    assert res.status is Status.SKIP and "http://minio:9000" in res.message
    res = execute(catalog, {"files.env": env("good.env")}, ("storage.s3",))[0]["storage.s3"]
    assert res.status is Status.SKIP and "not configured" in res.message


# ============================================================================================ lab scenarios

PUBLISHERS = ("evolution.chatwoot.config", "chatwoot.inbox", "evolution.webhook.url")


@pytest.mark.parametrize("scenario", ["healthy", "domain-mixing", "s3-slow", "env-file-pitfalls"])
def test_scenarios(catalog: Catalog, scenario: str) -> None:
    from evodiag.lab.runtime import start_lab

    only = MINE + tuple(p for p in PUBLISHERS if p in catalog.checks)
    with start_lab(scenario, generate_traffic=False) as lab:
        report = lab.run(only=only)
    mine = {r.id: r for r in report.results if r.id in MINE}
    found = {i: r.status.value for i, r in mine.items() if r.status.is_finding}
    expected = {i: s for i, s in SCENARIOS[scenario].expect.items() if i in MINE}
    assert found == expected, {i: mine[i].message for i in found}
    if scenario == "s3-slow":
        s3 = mine["storage.s3"]
        assert "threshold 500 ms" in s3.message and "S3_ENABLED=false" in s3.remediation.text
        assert {r.number for r in s3.refs} == {833, 11766}
        assert not [e for e in lab.s3.requests() if e.method != "HEAD"]
    if scenario == "domain-mixing":
        message = mine["network.domains"].message
        assert "http://chatwoot:" in message and "https://evolution.example.com/chatwoot/webhook/lab" in message
