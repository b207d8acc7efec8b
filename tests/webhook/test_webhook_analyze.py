"""Analysis of captured deliveries, from fixtures shaped like the reference payloads and from real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from evodiag.webhook.analyze import (
    Delivery,
    analyze,
    analyze_file,
    analyze_lag,
    by_events_suffix,
    find_retries,
    known_duplicate_issues,
    load_deliveries,
    online_offline_gap,
    parse_iso_as_utc,
    parse_lines,
)
from evodiag.webhook.capture import WebhookReceiver

from .conftest import FIXTURES

V1 = FIXTURES / "evolution_v1_duplicates.jsonl"
V2 = FIXTURES / "evolution_v2_retries.jsonl"
OPENIM_381 = FIXTURES / "openim_381_capture.jsonl"


def _delivery(body: dict, received_at: float, path: str = "/hook", line_no: int = 1) -> Delivery:
    return Delivery(line_no, received_at, "POST", path, {}, body)


def test_loader_counts_malformed_lines_and_replaces_invalid_utf8() -> None:
    loaded = load_deliveries(V1)
    reasons = sorted(m.reason.split(" (")[0] for m in loaded.malformed)
    # "{not json", "[1, 2, 3]" and the truncated last line (a partial write); the blank line is skipped.
    assert reasons == ["not JSON", "not JSON", "not a JSON object"]
    assert len(loaded.deliveries) == 6
    (joao,) = [d for d in loaded.deliveries if d.key_id == "3A0F00D1CAFE00000003"]
    assert joao.body["data"]["pushName"] == "Jo\ufffdo"


def test_loader_never_crashes_on_garbage() -> None:
    loaded = parse_lines([b"\xff\xfe\x00", "null", '{"received_at": "x"}', '{"received_at": true}', "  ",
                          '{"received_at": 1, "headers": [], "body": null}'])
    assert len(loaded.malformed) == 4 and len(loaded.deliveries) == 1
    report = analyze(loaded.deliveries, malformed=loaded.malformed)
    assert report.total == 1 and not report.duplicates.found and not report.retries.found


def test_v1_duplicates_differ_only_in_date_time() -> None:
    report = analyze_file(V1, evolution_version="1.8.0")
    dups = report.duplicates
    (group,) = dups.groups
    assert (group.instance, group.key_id, group.count) == ("loja1", "3A554E20ECABF3D45BB2", 3)
    assert group.differ_only_in_timestamps and group.differing_fields == ("date_time",)
    assert group.kind == "re-emitted"
    assert round(group.date_time_spread_s or 0, 3) == 382.688  # 13:18:47.612 → 13:25:10.300
    assert dups.extra_copies == 2 and dups.message_deliveries == 5 and dups.unique_messages == 3
    # 1.8.0 → #631 only; its root cause is UNVERIFIED, so the text says "likely".
    (issue,) = dups.known_issues
    assert issue.url == "https://github.com/evolution-foundation/evolution-api/issues/631"
    assert not issue.verified and "likely" in issue.summary
    assert "instance + data.key.id" in dups.fix
    assert "3 extra" not in dups.summary() and "1 message(s) delivered more than once" in dups.summary()


def test_known_issues_per_version() -> None:
    assert [i.url.rsplit("/", 1)[1] for i in known_duplicate_issues("2.2.3")] == ["1325"]
    assert [i.url.rsplit("/", 1)[1] for i in known_duplicate_issues("2.3.6")] == ["2192"]
    assert [i.url.rsplit("/", 1)[1] for i in known_duplicate_issues(None)] == ["631", "1325", "2192"]


def test_date_time_is_local_time_labelled_z_631_example() -> None:
    # ref evolution-api.md §6.6: #631 had messageTimestamp 1717604327 (16:18:47 UTC) and date_time 13:18:47.612Z.
    body = {"event": "messages.upsert", "date_time": "2024-06-05T13:18:47.612Z",
            "data": {"key": {"id": "A"}, "messageTimestamp": 1717604327}}
    lag = analyze_lag([_delivery(body, 1717604328.0)])
    assert lag.date_time_offset_hours == -3
    assert any("UTC-03:00" in n and "labels it 'Z'" in n for n in lag.notes)
    assert lag.median_s == 1.0


def test_v1_lag_and_offset_from_fixture() -> None:
    lag = analyze_file(V1).lag
    assert lag.date_time_offset_hours == -3 and lag.offset_samples == 6
    assert lag.max_s is not None and lag.max_s > 300  # the re-emitted copies arrive minutes later


def test_v2_retry_storm_is_told_apart_from_re_emitted_duplicates() -> None:
    report = analyze_file(V2)
    (retry,) = report.retries.groups
    assert retry.event == "connection.update" and retry.count == 3 and retry.pattern == "fixed-30s"
    assert [round(i, 1) for i in retry.intervals_s] == [30.2, 30.4]
    assert "2.0-2.2.x" in report.retries.summary() and "/issues/1325" in report.retries.summary()
    # The message duplicate has new timestamps, so it is NOT a retry; messages.update is not counted.
    (dup,) = report.duplicates.groups
    assert dup.key_id == "3EB0A1B2C3D4E5F60718" and dup.kind == "re-emitted" and dup.events == ("messages.upsert",)
    assert dup.shared_context == {"entryPointConversionSource": "ctwa_ad", "entryPointConversionApp": "instagram"}
    assert report.duplicates.context_counts == {"entryPointConversionSource=ctwa_ad": 1,
                                                "entryPointConversionApp=instagram": 1}


def test_v2_paths_by_events_and_double_slash() -> None:
    paths = analyze_file(V2).paths
    assert paths.double_slash == {"/hook//connection-update": 3}
    assert paths.by_events == {"/hook//connection-update": 3, "/hook/messages-upsert": 3, "/hook/messages-update": 1}
    notes = " ".join(paths.notes)
    assert "ends with '/'" in notes and "webhook.controller.ts#L86-L108" in notes
    assert "https://github.com/evolution-foundation/evolution-api/issues/2317" in notes
    assert by_events_suffix("messages.upsert") == "messages-upsert"
    assert by_events_suffix("group-participants.update") == "group-participants-update"


def test_v2_lag_utc_server_and_apikey_exposure() -> None:
    report = analyze_file(V2)
    assert report.lag.date_time_offset_hours is None  # this server runs in UTC
    assert report.lag.samples == 3 and report.lag.median_s == 5.0
    assert report.apikey.deliveries == 4 and report.apikey.instances == ("vendas",)
    assert "GLOBAL key" in report.apikey.summary()


def test_retry_patterns() -> None:
    body = {"event": "messages.upsert", "data": {"key": {"id": "X"}}}
    backoff = find_retries([_delivery(body, t) for t in (0.0, 5.1, 14.8, 33.0)]).groups[0]
    burst = find_retries([_delivery(body, t) for t in (0.0, 0.05, 0.1)]).groups[0]
    assert backoff.pattern == "backoff" and burst.pattern == "burst"


def test_openim_commands_and_online_offline_gap() -> None:
    report = analyze_file(OPENIM_381)
    assert report.openim.commands == {"callbackAfterSendSingleMsgCommand": 3}
    gap = online_offline_gap(report.openim, online_enabled=True, offline_enabled=True)
    assert gap is not None and gap.missing == ("callbackAfterUserOnlineCommand", "callbackAfterUserOfflineCommand")
    assert "likely" in gap.message and "open-im-server/pull/2716" in gap.fix and gap.other_callbacks == 3
    assert online_offline_gap(report.openim, online_enabled=False, offline_enabled=False) is None
    assert online_offline_gap({}, online_enabled=True, offline_enabled=True) is None  # nothing arrived at all
    arrived = {"callbackAfterUserOnlineCommand": 1, "callbackAfterSendSingleMsgCommand": 2}
    assert online_offline_gap(arrived, online_enabled=True, offline_enabled=False) is None


def test_iso_parsing() -> None:
    assert parse_iso_as_utc("2024-06-05T13:18:47.612Z") == 1717593527.612
    assert parse_iso_as_utc("2024-06-05T10:18:47-03:00") == 1717593527.0
    assert parse_iso_as_utc("yesterday") is None and parse_iso_as_utc(None) is None


def test_real_http_deliveries_read_back(receiver: WebhookReceiver) -> None:
    """Replay the v2 fixture bodies over HTTP to the receiver; the capture gives the same findings."""
    fixture = load_deliveries(V2).deliveries
    with httpx.Client() as client:
        for d in fixture:
            r = client.post(receiver.url + d.path, content=json.dumps(d.body).encode(),
                            headers={"Content-Type": "application/json", "apikey": "k"})
            assert r.status_code == 200
    captured = load_deliveries(receiver.out_path)
    assert not captured.malformed and len(captured.deliveries) == len(fixture)
    report = analyze(captured.deliveries)
    assert [g.key_id for g in report.duplicates.groups] == ["3EB0A1B2C3D4E5F60718"]
    assert report.duplicates.groups[0].differ_only_in_timestamps
    assert report.paths.double_slash == {"/hook//connection-update": 3}
    assert report.retries.groups[0].count == 3  # identical bodies; timing is live here, so no 30 s pattern
    assert all(d.headers["apikey"] == "***" for d in captured.deliveries)
    assert receiver.counts_by_event == {"connection.update": 3, "messages.upsert": 3, "messages.update": 1}


def test_capture_file_path_type(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert analyze_file(path).total == 0


def test_deeply_nested_bodies_do_not_crash() -> None:
    deep: dict = {"event": "messages.upsert", "data": {"key": {"id": "D"}}}
    node = deep["data"]
    for _ in range(900):
        node["n"] = {}
        node = node["n"]
    text = json.dumps({"received_at": 1.0, "body": deep})
    loaded = parse_lines([text, text.replace('"received_at": 1.0', '"received_at": 2.0'), "[" * 5000])
    report = analyze(loaded.deliveries, malformed=loaded.malformed)
    assert len(loaded.malformed) == 1 and len(report.duplicates.groups) == 1


def test_lag_is_said_in_units_people_read() -> None:
    """A message stamped two years before it arrived (a replayed history sync) reads as days, not 63072765.4 s."""
    from evodiag.durations import human_seconds

    body = {"event": "messages.upsert", "data": {"key": {"id": "OLD"}, "messageTimestamp": 1_600_000_000}}
    lag = analyze_lag([_delivery(body, 1_600_000_000 + 63_072_765.4)])
    (note,) = [n for n in lag.notes if n.startswith("lag ")]
    assert "median 730.0 days, max 730.0 days" in note and "63072765" not in note
    assert [human_seconds(s) for s in (0.34, 42.0, 150.0, 5400.0, -10800.0, None)] == [
        "0.3 s", "42.0 s", "2.5 min", "1.5 h", "-3.0 h", "n/a"]
