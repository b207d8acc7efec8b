from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evodiag.bundle import verify_bundle
from evodiag.commands.bundle import bundle
from evodiag.commands.triage import triage
from tests.triage.catalog_fixture import CATALOG_YAML

CORPUS = Path(__file__).parent / "corpus"
app = typer.Typer()
app.command("triage")(triage)
app.command("bundle")(bundle)


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "triage.yaml"
    path.write_text(CATALOG_YAML)
    return path


def test_triage_file_json(catalog_file):
    r = CliRunner().invoke(app, ["triage", str(CORPUS / "03_filter_422.log"), "--catalog", str(catalog_file),
                                 "--format", "json"])
    assert r.exit_code == 1, r.output
    doc = json.loads(r.output)
    ids = [d["id"] for d in doc["diagnoses"]]
    # --catalog adds to the shipped catalog: its check and the extra file's both match
    assert ids[0] == "chatwoot.filter" and "chatwoot.conversation_filter" in ids
    assert doc["diagnoses"][0]["known_issues"][0]["id"] == "evo-chatwoot-contact-id-filter"
    assert "1.7.5" in doc["diagnoses"][0]["remediation"]["text"]


def test_triage_stdin_nothing_matched(catalog_file):
    r = CliRunner().invoke(app, ["triage", "-", "--catalog", str(catalog_file)], input="refund please\n")
    assert r.exit_code == 0 and "No catalog signature matched" in r.output


def test_triage_bad_input_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "from evodiag.commands.triage import triage; import typer;"
                           "typer.run(triage)", str(tmp_path / "nope.txt")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "cannot read" in proc.stderr
    r = CliRunner().invoke(app, ["triage", str(tmp_path), "--format", "json"])
    assert r.exit_code == 2


def test_bundle_against_lab(tmp_path):
    from evodiag.lab import runtime as rt
    from evodiag.lab.runtime import start_lab

    out = tmp_path / "bundle.zip"
    with start_lab() as lab:
        r = CliRunner().invoke(app, ["bundle", *lab.cli_args(), "-o", str(out), "--timeout", "5"])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert out.is_file(), r.output
    assert verify_bundle(out) == []
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"findings.json", "http.json", "dns.json", "config.json", "versions.json", "command.txt",
                "redaction.json", "manifest.json"} <= names
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["redacted"] is True
        http = json.loads(zf.read("http.json"))
        assert http and {"method", "url", "status", "elapsed_ms"} <= set(http[0])
        for name in names:
            data = zf.read(name)
            for seeded in (rt.CHATWOOT_TOKEN, rt.OPENIM_SECRET, rt.GLOBAL_KEY, rt.CONTACT_NUMBER):
                assert seeded.encode() not in data, (name, seeded)
        assert json.loads(zf.read("redaction.json"))["masked"]["secret"] > 0


def test_bundle_no_redact_is_loud(tmp_path):
    from evodiag.lab.runtime import start_lab

    out = tmp_path / "raw.zip"
    with start_lab(generate_traffic=False) as lab:
        r = CliRunner().invoke(app, ["bundle", *lab.cli_args(), "-o", str(out), "--no-redact", "--only",
                                     "evolution.reachable"])
    assert "NOT REDACTED" in r.output
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["redacted"] is False and "NOT REDACTED" in manifest["warning"]


def test_triage_masks_a_token_that_follows_prose_and_its_later_occurrences(tmp_path: Path) -> None:
    token = "Zq8xR2mP7vK4nT9wB3cYa1"
    log = tmp_path / "ticket.log"
    log.write_text(f"2026-05-01 ERROR chatwoot 401 Invalid Access Token {token}\n"
                   f"2026-05-01 nginx underscores_in_headers off: the request with {token} lost its header\n"
                   "2026-05-01 You need to sign in or sign up before continuing (message 3EB0C767D26A1B2C9F81, "
                   "token check)\n")
    proc = subprocess.run([sys.executable, "-m", "evodiag", "triage", str(log), "--max-evidence", "5"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    evidence = [line for line in proc.stdout.splitlines() if line.strip().startswith("line ")]
    assert len(evidence) == 3, proc.stdout
    assert token not in proc.stdout
    assert "3EB0C767D26A1B2C9F81" in proc.stdout  # a WhatsApp message id is evidence, not a secret
