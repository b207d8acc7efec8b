"""The capture receiver: what it answers, what it writes, and that a 200 means the line is on disk."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from evodiag.webhook import capture
from evodiag.webhook.capture import OPENIM_ACK_BODY, WebhookReceiver


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_evolution_delivery_is_recorded_masked_before_the_answer(receiver: WebhookReceiver) -> None:
    # Body shaped like ref evolution-api.md §11 (a real 2.3.6 delivery): apikey carries the instance token.
    body = {"event": "connection.update", "instance": "lab1",
            "data": {"instance": "lab1", "state": "connecting", "statusReason": 200},
            "destination": f"{receiver.url}/hook/", "date_time": "2025-10-21T10:00:00.000Z",
            "server_url": "http://127.0.0.1:18080", "apikey": "SECRET-INSTANCE-TOKEN"}
    r = httpx.post(f"{receiver.url}/hook/", json=body,
                   headers={"apikey": "SECRET-GLOBAL", "Authorization": "Bearer x", "X-Trace": "t1"})
    assert r.status_code == 200
    assert r.content == b'{"ok":true}'
    # Durable before the answer: the line is in the file now, before stop().
    (line,) = _lines(receiver.out_path)
    assert line["method"] == "POST" and line["path"] == "/hook/"
    assert isinstance(line["received_at"], float)
    assert line["headers"]["apikey"] == "***" and line["headers"]["authorization"] == "***"
    assert line["headers"]["x-trace"] == "t1"
    assert line["body"]["apikey"] == "***" and line["body"]["data"]["state"] == "connecting"
    assert b"SECRET" not in receiver.out_path.read_bytes()
    assert receiver.count == 1 and receiver.counts_by_event == {"connection.update": 1}
    assert receiver.recent()[0].instance == "lab1"


def test_openim_paths_get_the_exact_callback_response(receiver: WebhookReceiver) -> None:
    # ref openim.md §2: POST {url}/{callbackCommand}; the receiver must answer CommonCallbackResp JSON.
    r = httpx.post(f"{receiver.url}/callbackExample/callbackAfterUserOnlineCommand",
                   content=b'{"callbackCommand":"callbackAfterUserOnlineCommand","userID":"u1"}\n',
                   headers={"operationID": "p_1_1", "Content-Type": "application/json; charset=utf-8"})
    assert r.content.decode() == OPENIM_ACK_BODY == '{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}'
    # The body alone is enough (e.g. an old ?command= URL).
    r2 = httpx.post(f"{receiver.url}/cb?command=x", json={"callbackCommand": "callbackBeforeSendSingleMsgCommand"})
    assert r2.content.decode() == OPENIM_ACK_BODY
    assert receiver.counts_by_event == {"callbackAfterUserOnlineCommand": 1, "callbackBeforeSendSingleMsgCommand": 1}
    lines = _lines(receiver.out_path)
    assert lines[1]["path"] == "/cb" and lines[1]["query"] == "command=x"


def test_raw_paths_non_json_and_invalid_utf8(receiver: WebhookReceiver) -> None:
    with httpx.Client() as client:
        assert client.post(f"{receiver.url}/hook//messages-upsert", content=b"plain text").status_code == 200
        assert client.post(f"{receiver.url}/x", content=b'{"pushName":"Jo\xe3o"}').status_code == 200
        assert client.get(f"{receiver.url}/x").status_code == 405
    first, second = _lines(receiver.out_path)
    assert first["path"] == "/hook//messages-upsert" and first["body"] == {"_raw": "plain text"}
    assert second["body"] == {"_raw": '{"pushName":"Jo\ufffdo"}'}
    assert receiver.counts_by_event == {"(unknown)": 2}


def test_concurrent_keep_alive_deliveries_are_all_on_disk(tmp_path: Path) -> None:
    async def run() -> tuple[int, int]:
        async with WebhookReceiver(tmp_path / "c.jsonl") as rx:
            limits = httpx.Limits(max_connections=8)
            async with httpx.AsyncClient(limits=limits) as client:
                async def send(i: int) -> int:
                    body = {"event": "messages.upsert", "instance": "i", "data": {"key": {"id": f"K{i}"}}}
                    return (await client.post(f"{rx.url}/hook", json=body)).status_code
                codes = await asyncio.gather(*(send(i) for i in range(200)))
            return codes.count(200), rx.count

    ok, count = asyncio.run(run())
    lines = _lines(tmp_path / "c.jsonl")
    assert ok == count == len(lines) == 200
    assert {line["body"]["data"]["key"]["id"] for line in lines} == {f"K{i}" for i in range(200)}


@pytest.mark.parametrize("durability", ["fsync", "write"])
def test_failed_write_is_never_acknowledged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            durability: str) -> None:
    def boom(self: object, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(capture._GroupCommitLog, "_write", boom)
    rx = WebhookReceiver(tmp_path / "full.jsonl", durability=durability)  # type: ignore[arg-type]
    with rx:
        r = httpx.post(f"{rx.url}/hook", json={"event": "messages.upsert"})
    assert r.status_code == 500 and b"No space left" in r.content
    assert rx.count == 0 and rx.failed == 1


def test_bad_durability_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        WebhookReceiver(tmp_path / "x.jsonl", durability="maybe")  # type: ignore[arg-type]


def test_torn_write_does_not_corrupt_the_next_acknowledged_line(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = capture._GroupCommitLog._write
    calls = {"n": 0}

    def flaky(self: capture._GroupCommitLog, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            real_write(self, data[:10])  # half a line reaches the disk, then the disk fills up
            raise OSError(28, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(capture._GroupCommitLog, "_write", flaky)
    with WebhookReceiver(tmp_path / "torn.jsonl") as rx, httpx.Client() as client:
        assert client.post(f"{rx.url}/hook", json={"event": "a"}).status_code == 500
        assert client.post(f"{rx.url}/hook", json={"event": "b"}).status_code == 200
    from evodiag.webhook.analyze import load_deliveries

    loaded = load_deliveries(tmp_path / "torn.jsonl")
    assert [d.body["event"] for d in loaded.deliveries] == ["b"] and len(loaded.malformed) == 1
