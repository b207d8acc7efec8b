"""Personal data in shareable reports (JSON, JUnit, Markdown, bundles): pseudonymised by where it comes from, never
by the key names of evodiag's own report structures; the terminal text keeps the user's own numbers readable."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from evodiag.bundle import build_members
from evodiag.lab.base import LabApp
from evodiag.lab.runtime import CONTACT_NUMBER, LAB_NUMBER, start_lab
from tests.test_cli import FakeEvolution, evodiag

BOT_FIX = "If agents should get conversations as open"


def test_markdown_ticket_report_keeps_the_fix_and_hides_numbers() -> None:
    proc = evodiag("demo", "--scenario", "bot-pending", "--format", "markdown")
    assert proc.returncode == 1, proc.stderr
    fixes = [line for line in proc.stdout.splitlines() if "**Fix:**" in line]
    assert fixes and all(not re.search(r"\*\*Fix:\*\* text#", line) for line in fixes), fixes
    assert any(BOT_FIX in line for line in fixes)
    assert LAB_NUMBER not in proc.stdout and CONTACT_NUMBER not in proc.stdout
    assert "jid#" in proc.stdout  # the connected number, from Evolution's reply, is pseudonymised


def test_bundle_keeps_remediation_and_pseudonymises_server_data() -> None:
    with start_lab("bot-pending") as lab:
        report = lab.run()
    members, _ = build_members(report, ["evodiag", "bundle"])
    findings = json.loads(members["findings.json"])
    bot = next(r for r in findings["results"] if r["id"] == "chatwoot.bot")
    assert bot["remediation"]["text"].startswith(BOT_FIX)
    everything = b"".join(members.values()).decode()
    assert LAB_NUMBER not in everything and CONTACT_NUMBER not in everything
    http = json.loads(members["http.json"])
    sent = [ex["request_body"] for ex in http if ex["method"] == "POST" and "/message/sendText/" in ex["url"]]
    assert sent and all(body["text"].startswith("text#") and body["number"].startswith("phone#") for body in sent)


def test_json_and_junit_mask_the_send_to_number_text_keeps_it(serve: Callable[[LabApp], str]) -> None:
    url = serve(FakeEvolution(name="evo"))
    number = "+55 11 91234-5678"
    base = ["check", "--evolution-url", url, "--only", "evolution.reachable", "--send-to", number]
    as_json = evodiag(*base, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert "91234" not in as_json.stdout
    assert json.loads(as_json.stdout)["target"]["send.to"].startswith("phone#")
    junit = evodiag(*base, "--format", "junit")
    assert junit.returncode == 0 and "91234" not in junit.stdout
