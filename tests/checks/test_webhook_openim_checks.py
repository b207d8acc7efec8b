"""webhook.duplicates, openim.callbacks, openim.auth and `evodiag webhook analyze`: real deliveries over HTTP on
127.0.0.1, the lab scenarios, and the CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.config import Settings
from evodiag.engine.context import RunOptions
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import run
from evodiag.lab.runtime import start_lab
from evodiag.webhook.capture import WebhookReceiver

FIXTURES = Path(__file__).parent.parent / "webhook" / "fixtures"


def _run_check(check_id: str, **values: Any) -> Result:
    report = run(load_catalog(), Settings(values=values), RunOptions(timeout=5, only=(check_id,)))
    (result,) = [r for r in report.results if r.id == check_id]
    return result


def _upsert(key_id: str, date_time: str, *, source: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"key": {"remoteJid": "5511988887777@s.whatsapp.net", "fromMe": False, "id": key_id},
                            "pushName": "Ana", "message": {"conversation": "oi"},
                            "messageType": "conversation", "messageTimestamp": int(time.time()) - 5}
    if source:
        data["contextInfo"] = {"entryPointConversionSource": source}
    return {"event": "messages.upsert", "instance": "loja1", "data": data, "date_time": date_time,
            "destination": "http://127.0.0.1/hook", "sender": "5511900000000@s.whatsapp.net"}


def _capture(tmp_path: Path, bodies: list[dict[str, Any]], path: str = "/hook") -> Path:
    out = tmp_path / "capture.jsonl"
    with WebhookReceiver(out) as rx, httpx.Client() as client:
        for body in bodies:
            assert client.post(f"{rx.url}{path}", json=body).status_code == 200
        assert rx.count == len(bodies)
    return out


def test_duplicates_fail_with_count_spread_context_and_the_likely_known_issue(tmp_path: Path) -> None:
    stamps = ["2024-06-05T13:18:48.100Z", "2024-06-05T13:19:51.400Z", "2024-06-05T13:25:10.000Z"]
    bodies = [_upsert("3A55AAA", s, source="click_to_chat_link") for s in stamps] + [
        _upsert("3A55BBB", stamps[0])]
    capture = _capture(tmp_path, bodies)
    result = _run_check("webhook.duplicates", **{"webhook.capture": str(capture), "evolution.version": "1.8.0"})
    assert result.status is Status.FAIL, result.message
    assert "1 message(s) arrived more than once (2 extra copies, up to 3 each" in result.message
    assert "identical except timestamps" in result.message
    assert "date_time spread 6.4 min" in result.message  # 381.9 s, in units people read
    assert "entryPointConversionSource=click_to_chat_link" in result.message
    assert "likely Evolution 1.8.0 issue https://github.com/evolution-foundation/evolution-api/issues/631" \
        in result.message
    assert result.remediation is not None and "`instance` + `data.key.id`" in result.remediation.text
    assert any("key.id=3A55AAA" in e and "3x" in e for e in result.evidence)
    assert result.details["extra_copies"] == 2 and result.details["unique_messages"] == 2


def test_distinct_messages_pass_and_report_paths_and_lag(tmp_path: Path) -> None:
    capture = _capture(tmp_path, [_upsert("K1", "2024-06-05T13:18:48.100Z"), _upsert("K2", "2024-06-05T13:18:49Z")],
                       path="/hook/messages-upsert")
    result = _run_check("webhook.duplicates", **{"webhook.capture": str(capture)})
    assert result.status is Status.PASS, result.message
    assert "2 distinct instance+key.id" in result.message
    assert result.evidence == ["/hook/messages-upsert: 2"]
    assert any("byEvents" in n for n in result.notes)
    assert any(n.startswith("lag (received_at - messageTimestamp): median") for n in result.notes)


def test_double_slash_without_duplicates_warns(tmp_path: Path) -> None:
    capture = _capture(tmp_path, [_upsert("K1", "2024-06-05T13:18:48.100Z")], path="/hook//messages-upsert")
    result = _run_check("webhook.duplicates", **{"webhook.capture": str(capture)})
    assert result.status is Status.WARN, result.message
    assert "/hook//messages-upsert" in result.message


def test_unreadable_capture_is_an_error_not_a_crash(tmp_path: Path) -> None:
    result = _run_check("webhook.duplicates", **{"webhook.capture": str(tmp_path / "missing.jsonl")})
    assert result.status is Status.ERROR and "Cannot read the capture" in result.message


def test_openim_callbacks_timeout_and_trailing_slash_warn(tmp_path: Path) -> None:
    config = tmp_path / "webhooks.yml"
    config.write_text("url: http://hooks.example:8080/openim/\nafterSendSingleMsg:\n  enable: true\n  timeout: 30\n"
                      "  attentionIds: []\n  allowedTypes: []\n  deniedTypes: []\n", encoding="utf-8")
    result = _run_check("openim.callbacks", **{"openim.config": str(config)})
    assert result.status is Status.WARN, result.message
    assert "2 setting(s)" in result.message
    assert any("15 s" in e for e in result.evidence) and any("'//'" in e for e in result.evidence)


@pytest.mark.parametrize("scenario,expected", [
    ("healthy", {"webhook.duplicates": Status.PASS, "openim.callbacks": Status.PASS, "openim.auth": Status.PASS}),
    ("duplicate-webhooks", {"webhook.duplicates": Status.FAIL, "openim.callbacks": Status.PASS}),
    ("openim-3.8.1", {"openim.callbacks": Status.FAIL, "webhook.duplicates": Status.PASS,
                      "openim.auth": Status.PASS}),
])
def test_scenario_rows(scenario: str, expected: dict[str, Status]) -> None:
    with start_lab(scenario) as lab:
        report = lab.run(only=("evolution.reachable", *expected))
    got = {r.id: r for r in report.results if r.id in expected}
    assert {cid: r.status for cid, r in got.items()} == expected, {cid: r.message for cid, r in got.items()}
    if scenario == "duplicate-webhooks":
        msg = got["webhook.duplicates"].message
        assert "likely Evolution 1.8.0 issue https://github.com/evolution-foundation/evolution-api/issues/631" in msg
        assert "entryPointConversionSource=click_to_chat_link" in msg
    if scenario == "openim-3.8.1":
        cb = got["openim.callbacks"]
        assert "OpenIM 3.8.1 never sends" in cb.message
        assert any("callbackAfterSendSingleMsgCommand 1" in e for e in cb.evidence)
        assert {r.number for r in cb.refs} >= {2716, 2520, 2594, 2912}
    if scenario == "healthy":
        assert "callbackAfterUserOnlineCommand 1" in got["openim.callbacks"].message


def test_openim_auth_interprets_wrong_secret_errcode() -> None:
    with start_lab("healthy") as lab:
        lab.settings_values["openim.secret"] = "not-the-secret"
        report = lab.run(only=("openim.auth",))
    (result,) = report.results
    assert result.status is Status.FAIL
    assert "errCode 1002 NoPermissionError" in result.message
    assert result.remediation is not None and "share.yml" in result.remediation.text


_ANALYZE = ("import sys; from typer.main import get_command; from evodiag.commands.webhook import webhook_app; "
            "sys.exit(get_command(webhook_app).main(args=sys.argv[1:], prog_name='evodiag webhook', "
            "standalone_mode=True))")


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _ANALYZE, "analyze", *args], capture_output=True, text=True,
                          timeout=60)


def test_analyze_cli_exit_codes(tmp_path: Path) -> None:
    dup = _analyze(str(FIXTURES / "evolution_v1_duplicates.jsonl"))
    assert dup.returncode == 1, dup.stderr
    assert "1 message(s) delivered more than once" in dup.stdout and "3x (re-emitted)" in dup.stdout

    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"received_at": 1717604328.25, "method": "POST", "path": "/hook",
                                 "body": _upsert("K1", "2024-06-05T13:18:48.100Z")}) + "\n", encoding="utf-8")
    ok = _analyze(str(clean), "--format", "json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["total"] == 1 and doc["problems"] == [] and doc["events"] == {"messages.upsert": 1}

    missing = _analyze(str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr

    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\x00\xffnot json\n")
    bad = _analyze(str(garbage))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_listen_cli_records_and_prints_the_analysis(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "live.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _ANALYZE, "listen", "--port", str(port), "--out", str(out),
                             "--duration", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        while True:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/hook", json=_upsert("L1", "2024-06-05T13:18:48Z"))
                break
            except httpx.ConnectError:
                assert time.time() < deadline, "listener never came up"
                time.sleep(0.1)
        assert r.status_code == 200
        again = httpx.post(f"http://127.0.0.1:{port}/hook", json=_upsert("L1", "2024-06-05T13:18:50Z"))
        assert again.status_code == 200
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "deliveries: messages.upsert 2" in stdout
    assert "stopped: 2 deliveries" in stdout and "1 message(s) delivered more than once" in stdout
    assert len(out.read_text().splitlines()) == 2
