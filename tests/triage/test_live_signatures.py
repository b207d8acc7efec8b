"""The real log lines of issue 13's session, integration, @lid, dedupe and WhatsApp-egress threads are diagnosed as
the right check (top 1) by triage against the shipped catalog. Each line is quoted from the thread named next to
it (timestamps and hosts as there)."""

from __future__ import annotations

import io

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import Catalog
from evodiag.triage import triage_stream

LINES = [
    # evo#2355 (2.2.3): Baileys' pino line after the phone removed the device
    ('{"level":50,"time":1767808891976,"pid":171,"hostname":"854a14bb2xxx","node":{"tag":"stream:error","attrs":'
     '{"code":"401"},"content":[{"tag":"conflict","attrs":{"type":"device_removed"}}]},"msg":"stream errored out"}',
     "evolution.session"),
    # evo#1816: the stream:error node alone, as users paste it
    ('{"tag":"stream:error","attrs":{"code":"401"},"content":[{"tag":"conflict","attrs":{"type":"device_removed"}}]}',
     "evolution.session"),
    # evo#2269 (2.2.3): the monitor's line after a final close
    ('[Evolution API]    v2.2.3  169   -  Thu Nov 27 2025 11:15:57     WARN   [WAMonitoringService]  [string]  '
     'Instance "Agent - Apontamento de Horas" - LOGOUT', "evolution.session"),
    # field failure modes: a send on a zombie instance
    ('{"status":500,"error":"Internal Server Error","response":{"message":["Error: Connection Closed"]}}',
     "evolution.session"),
    # evo#752 (2.0.9-rc)
    ('{"status":400,"error":"Bad Request","response":{"message":["Dify is disabled"]}}', "evolution.integrations"),
    # evo#794 (2.0.10), in Portuguese around it
    ('Tentei adicionar o dify via api e manager. E não conecta aparece esse erro "Dify is disabled"',
     "evolution.integrations"),
    ('{"status":400,"error":"Bad Request","response":{"message":["Typebot is disabled"]}}',
     "evolution.integrations"),
    # evo#1764 (2.3.0): the webhook body n8n received
    ('"key": {"remoteJid": "103899771998284@lid", "fromMe": false, "id": "XXXXXXXXXXX"}', "evolution.lid"),
    # evo#1585: presence from a lid
    ("presences: { '270793333939814@lid': { lastKnownPresence: 'composing' } }", "evolution.lid"),
    # evo#1762 (2.3.0)
    ("[Evolution API]  [derma]  v2.3.0 - Fri Jul 25 2025 23:33:39 INFO Message duplicated ignored: "
     "3AD29D4DE76AEBCC0662", "webhook.dedupe_drop"),
    # evo#1774 (2.3.1)
    ("[Evolution API]  [1-TI0503]  v2.3.1  163   -  Tue Jul 29 2025 17:21:00     INFO   [ChannelStartupService]  "
     "[string]  Message duplicated ignored [avoid deadlock]: 27ee9203-6f6e-46cd-8405-b8a233cbd82b_3EB085A85EC0331B"
     "AB0EE4A78E9DD493CD67F489_3", "webhook.dedupe_drop"),
    # evo#2214 (2.3.x)
    ("06:36 (-03) [Evolution API] Message duplicated ignored: ID-001 (usuarioA@whatsapp.net)", "webhook.dedupe_drop"),
    # A real 2.3.6 without WhatsApp connectivity: GET / with Baileys' fallback version
    ('{"status":200,"message":"Welcome to the Evolution API, it is working!","version":"2.3.6","clientName":'
     '"evolution","manager":"http://127.0.0.1:18080/manager","documentation":"https://doc.evolution-api.com",'
     '"whatsappWebVersion":"2.3000.1027934701"}', "evolution.reachable"),
    ("Error: getaddrinfo EAI_AGAIN web.whatsapp.com", "evolution.reachable"),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize(("line", "check_id"), LINES, ids=[f"{c}-{i}" for i, (_, c) in enumerate(LINES)])
def test_real_line_is_diagnosed_as_its_check(catalog: Catalog, line: str, check_id: str) -> None:
    result = triage_stream(io.BytesIO(line.encode() + b"\n"), catalog)
    assert result.diagnoses and result.diagnoses[0].id == check_id, [(d.id, d.confidence) for d in result.diagnoses]


@pytest.mark.parametrize("line", [line for line, check in LINES if check == "webhook.dedupe_drop"])
def test_dedupe_drop_is_never_diagnosed_as_duplicate_deliveries(catalog: Catalog, line: str) -> None:
    """The line means a message arrived zero times: webhook.duplicates must not appear at all."""
    result = triage_stream(io.BytesIO(line.encode() + b"\n"), catalog)
    assert "webhook.duplicates" not in [d.id for d in result.diagnoses]
