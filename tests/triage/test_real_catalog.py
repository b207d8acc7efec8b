"""The shipped catalog (checks.yaml) against the labelled corpus: per-ticket results, precision and recall.

Labels (corpus/index.json, explained in corpus/LABELS.md) use real check ids; `a|b` is one problem either check
diagnoses. A problem is found when one of its checks is among the top 3 diagnoses; every other diagnosis in the top
3 is a false positive (unrelated tickets expect none). corpus/holdout/ was written after the signatures were frozen
and is scored on its own. Run with -s to see the table.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.triage import scan as scan_module
from evodiag.triage import triage_stream
from evodiag.triage.render import render_json, render_text
from evodiag.triage.scan import Scanner

CORPUS = Path(__file__).parent / "corpus"
TOP = 3
# Floors set a little below the measured values (dev corpus, 51 tickets tuned on: precision 0.98, recall 0.98;
# holdout, 16 tickets written after the freeze: precision 1.00, recall 0.92), so a regression of one or two
# tickets fails. Unrelated tickets stay in.
DEV_PRECISION, DEV_RECALL = 0.93, 0.9
HOLDOUT_PRECISION, HOLDOUT_RECALL = 0.85, 0.8


@pytest.fixture(scope="module")
def real():
    return load_catalog()


def _run(catalog, data: bytes, **kw):
    return triage_stream(io.BytesIO(data), catalog, **kw)


def _score(catalog, directory: Path) -> tuple[float, float, list[str]]:
    index = json.loads((directory / "index.json").read_text())
    tp = fp = fn = 0
    rows = []
    for name, expected in sorted(index.items()):
        result = _run(catalog, (directory / name).read_bytes())
        got = [d.id for d in result.diagnoses[:TOP]]
        groups = [set(e.split("|")) for e in expected]
        found = [g for g in groups if g & set(got)]
        extra = [g for g in got if not any(g in grp for grp in groups)]
        tp, fn, fp = tp + len(found), fn + len(groups) - len(found), fp + len(extra)
        missed = ["|".join(sorted(g)) for g in groups if not g & set(got)]
        mark = "ok  " if not missed and not extra else "MISS" if missed else "FP  "
        rows.append(f"{mark} {name:44} got {[f'{d.id} {d.confidence:.2f}' for d in result.diagnoses[:TOP]]}"
                    + (f" missed {missed}" if missed else "") + (f" extra {extra}" if extra else ""))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    rows.append(f"{len(index)} tickets, {tp + fn} problems: TP {tp} FP {fp} FN {fn} -> "
                f"precision {precision:.2f} recall {recall:.2f} (top {TOP})")
    return precision, recall, rows


def test_corpus_precision_recall_real_catalog(real):
    index = json.loads((CORPUS / "index.json").read_text())
    assert len(index) >= 45 and sum(1 for v in index.values() if not v) >= 8
    precision, recall, rows = _score(real, CORPUS)
    print("\ntriage corpus, shipped catalog:\n" + "\n".join(rows))
    assert precision >= DEV_PRECISION and recall >= DEV_RECALL


def test_holdout_precision_recall_real_catalog(real):
    holdout = CORPUS / "holdout"
    index = json.loads((holdout / "index.json").read_text())
    assert len(index) >= 10 and any(not v for v in index.values())
    precision, recall, rows = _score(real, holdout)
    print("\ntriage holdout (written after the signatures were frozen), shipped catalog:\n" + "\n".join(rows))
    assert precision >= HOLDOUT_PRECISION and recall >= HOLDOUT_RECALL


# Every seed pitfall of issue 8 → the check its signature sits on, as the server or log writes it.
SEED_PITFALLS = [
    ('{"status":404,"error":"Not Found","response":{"message":["The \\"4f0c2b7e-1d2a-4e55-9b1a-0c9c1f6a2e11\\" '
     'instance does not exist"]}}', "evolution.instance"),
    ('{"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}}', "evolution.auth"),
    ('{"errors":["You need to sign in or sign up before continuing."]}', "chatwoot.auth"),
    ('{"errors":["Você precisa entrar ou se cadastrar antes de continuar."]}', "chatwoot.auth"),
    ('{"error":"Invalid Access Token"}', "chatwoot.auth"),
    ('{"error":"Access to this endpoint is not authorized for bots"}', "chatwoot.auth"),
    ('{"error":"Account is suspended"}', "chatwoot.auth"),
    ('{"error":"You are not authorized to do this action"}', "chatwoot.auth"),
    ("add underscores_in_headers on; to nginx?", "chatwoot.auth"),
    ('{"status":400,"error":"Bad Request","response":{"message":["Chatwoot is disabled"]}}',
     "evolution.chatwoot.enabled"),
    ('{"status":400,"error":"Bad Request","response":{"message":["Chatwoot is not enabled"]}}',
     "evolution.chatwoot.enabled"),
    ('{"error":"Invalid attribute key - [contact_id]. The key should be one of [status,assignee_id]"}',
     "chatwoot.filter"),
    ('{"error":"Chave de atributo inválido - [contact_id]. A chave deve ser uma das [status]"}', "chatwoot.filter"),
    ('{"error":"Invalid operator. The allowed operators for identifier are [equal_to,not_equal_to]."}',
     "chatwoot.filter"),
    ("ERROR [ChatwootService] Error: Generic Error", "chatwoot.filter"),
    ('{"count":0}', "evolution.qr"),
    ('{"message":"QR code limit reached, please login again","statusCode":500}', "evolution.qr"),
    ('"POST /webhook/abc//messages-upsert HTTP/1.1" 404', "evolution.webhook.url"),
    ("Evolution posts to https://n8n.example.com/webhook/abc/messages-upsert", "evolution.webhook.url"),
    ('"webhook_url":"undefined/chatwoot/webhook/loja"', "evolution.chatwoot.config"),
    ('"webhook_url":"https://evo.example.com//chatwoot/webhook/loja"', "evolution.chatwoot.config"),
    ('{"status":403,"error":"Forbidden","response":{"message":["Missing global api key"]}}', "evolution.auth"),
    ('{"status":404,"error":"Not Found","response":{"message":["Cannot PUT /instance/restart/vendas"]}}',
     "evolution.reachable"),
    ("Error: getaddrinfo ENOTFOUND chatwoot-web", "network.domains"),
    ("Error: connect ECONNREFUSED 127.0.0.1:3000", "network.domains"),
    ('"url":"http://localhost:3000"', "network.domains"),
    ("FRONTEND_URL=http://0.0.0.0:3000", "network.domains"),
    ("ERROR [S3 Service] upload to minio failed: connect ETIMEDOUT 10.0.3.15:9000", "storage.s3"),
    ("RequestTimeout: Your socket connection to the server was not read from or written to within the timeout period",
     "storage.s3"),
    ("openim 3.8.1: callbackAfterUserOnlineCommand never arrives", "openim.callbacks"),
    ("422 {\"message\":\"Phone number has already been taken\",\"attributes\":[\"phone_number\"]}",
     "functional.message_sync"),
]


@pytest.mark.parametrize(("text", "check_id"), SEED_PITFALLS, ids=[c for _, c in SEED_PITFALLS])
def test_seed_pitfall_has_a_signature(real, text, check_id):
    result = _run(real, text.encode() + b"\n")
    assert result.diagnoses and result.diagnoses[0].id == check_id, [d.id for d in result.diagnoses]
    d = result.diagnoses[0]
    assert d.evidence[0].line == 1 and d.remediation["text"] and d.next.startswith(f"evodiag check --only {check_id}")


def test_repeated_key_id_is_a_repetition_rule(real):
    def upsert(key: str) -> bytes:
        return ('{"event":"messages.upsert","instance":"loja","data":{"key":{'
                '"remoteJid":"5511912345678@s.whatsapp.net",'
                f'"fromMe":false,"id":"{key}"}},"messageTimestamp":1717604327}}}}\n').encode()

    once = upsert("3EB0AAAA11112222") + upsert("3EB0BBBB33334444")
    assert "webhook.duplicates" not in {d.id for d in _run(real, once).diagnoses}
    twice = once + b"noise\n" + upsert("3EB0AAAA11112222")
    (d,) = [d for d in _run(real, twice).diagnoses if d.id == "webhook.duplicates"]
    assert [e.line for e in d.evidence] == [4] and "5511912345678" not in d.evidence[0].text


def test_repetition_across_blocks(real, monkeypatch):
    monkeypatch.setattr(scan_module, "BLOCK", 256)
    line = b'{"event":"messages.upsert","instance":"x","data":{"key":{"fromMe":false,"id":"ABCDEF0123456789"}}}\n'
    data = line + b"".join(b"filler line %d\n" % i for i in range(200)) + line
    (d,) = [d for d in _run(real, data).diagnoses if d.id == "webhook.duplicates"]
    assert d.evidence[0].line == 202


def test_case_insensitive_and_version_feeds_known_issue(real):
    result = _run(real, b"evolution 1.7.4 + chatwoot 3.8.0: INVALID ATTRIBUTE KEY - [CONTACT_ID]\n")
    top = result.diagnoses[0]
    assert top.id == "chatwoot.filter" and top.known_issues[0]["id"] == "evo-chatwoot-contact-id-filter"
    assert "1.7.5" in top.remediation["text"]


def test_version_only_is_never_a_diagnosis(real):
    result = _run(real, (CORPUS / "47_unrelated_openim_zh.txt").read_bytes())
    assert result.diagnoses == []
    assert [i["id"] for i in result.version_issues] == ["openim-3.8-online-offline-callbacks"]
    assert result.version_issues[0]["next"] == ["evodiag check --only openim.callbacks --openim-config <CONFIG>"]
    text = render_text(result)
    assert "No catalog signature matched" in text and "a lead, not a diagnosis" in text
    # an issue of every version from some release on says nothing about the version mentioned
    assert _run(real, b"we use evolution api 2.3.6, how do I send buttons?\n").version_issues == []


def test_nothing_matched_suggests_closest_checks(real):
    result = _run(real, b"chatwoot inbox webhook does not deliver replies\n")
    assert result.diagnoses == [] and result.suggestions
    assert "not a diagnosis" in render_text(result)


def test_every_signature_has_a_prefilter_literal(real):
    scanner = Scanner(real)
    assert scanner.unfiltered == []
    for sig in scanner.sigs:
        assert sig.options or sig.repeat is not None, sig.signature.pattern


def test_prose_signatures_only_in_the_first_bytes(real, monkeypatch):
    monkeypatch.setattr(scan_module, "BLOCK", 1024)
    monkeypatch.setattr(scan_module, "PROSE_BYTES", 1024)
    prose = b"mensagens duplicadas no webhook do n8n\n"
    noise = b"".join(b"2025-01-01 INFO line %04d ok\n" % i for i in range(200))
    assert "webhook.duplicates" in {d.id for d in _run(real, prose + noise).diagnoses}
    assert "webhook.duplicates" not in {d.id for d in _run(real, noise + prose).diagnoses}


def _big_log(lines: int, hits: dict[int, bytes]) -> bytes:
    rnd = random.Random(3)
    noise = [
        b"[Evolution API] v2.3.6 %d - 06/05/2024, 10:00:00   VERBOSE [BaileysStartupService] Sending data to webhook "
        b"in event MESSAGES_UPSERT",
        b"2024-06-05T10:00:00.123Z INFO  -- : Completed 200 OK in %dms (Views: 0.3ms | ActiveRecord: 5.1ms)",
        b'{"event":"messages.update","instance":"loja","data":{"keyId":"3EB0%d","status":"READ"}}',
        b"time=2024-06-05T10:00:00Z level=info msg=\"rpc call\" method=/msg.msg/SendMsg cost=%dms",
    ]
    return b"".join((hits[i] if i in hits else rnd.choice(noise) % rnd.randint(1, 9999999)) + b"\n"
                    for i in range(lines))


def test_cost_planner_gives_the_same_answer(real, monkeypatch):
    """A large input goes through the planned prefilter (anchored regex + find passes, saturation); the result
    must be exactly the one of plain find passes over every literal with nothing skipped."""
    hits = {10: b'{"errors":["You need to sign in or sign up before continuing."]}',
            20_001: b"ERROR getaddrinfo ENOTFOUND chatwoot-web",
            41_000: b'{"status":400,"error":"Bad Request","response":{"message":["Chatwoot is disabled"]}}',
            41_001: b"POST //messages-upsert 404"}
    hits.update({2_000 + 3_000 * i: b'{"qrcode":{"count":0}}' for i in range(12)})
    data = _big_log(45_000, hits)
    monkeypatch.setattr(scan_module, "BLOCK", 2 * scan_module.PLAN_MIN_SAMPLE)  # several blocks: saturation shows
    monkeypatch.setattr(scan_module, "REPLAN_BLOCKS", 1)
    assert len(data) > 6 * scan_module.PLAN_MIN_SAMPLE
    scanner = Scanner(real)
    planned = scanner.scan(io.BytesIO(data))
    plan = scanner.plan(prose=False)
    assert plan.anchored and all(lits for _, lits in plan.anchored), "the cost model should anchor some literals"
    monkeypatch.setattr(scan_module, "PLAN_MIN_SAMPLE", 1 << 40)
    plain = Scanner(real, saturate=False).scan(io.BytesIO(data))
    assert planned.hits.keys() == plain.hits.keys() == {
        "chatwoot.auth", "network.domains", "evolution.chatwoot.enabled", "evolution.webhook.url", "evolution.qr"}
    for cid in planned.hits:
        assert planned.hits[cid].evidence == plain.hits[cid].evidence
        assert {i: min(n, 6) for i, n in planned.hits[cid].counts.items()} == {
            i: min(n, 6) for i, n in plain.hits[cid].counts.items()}
    assert plain.hits["evolution.qr"].counts[0] == 12 and 6 <= planned.hits["evolution.qr"].counts[0] < 12


def test_scanner_reuse_starts_fresh(real):
    scanner = Scanner(real)
    data = b'{"count":0}\n' * 10
    first = scanner.scan(io.BytesIO(data))
    second = scanner.scan(io.BytesIO(data))
    assert first.hits["evolution.qr"].counts == second.hits["evolution.qr"].counts


def test_json_output_shape(real):
    doc = json.loads(render_json(_run(real, (CORPUS / "33_openim_381_online_en.txt").read_bytes())))
    (d,) = doc["diagnoses"]
    assert d["id"] == "openim.callbacks" and d["known_issues"][0]["fixed_in"] == "3.8.2"
    assert {"line", "text"} <= set(d["evidence"][0]) and d["remediation"]["text"]
    assert d["next"] == "evodiag check --only openim.callbacks --openim-config <CONFIG>"
