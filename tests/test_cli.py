"""The CLI as a user runs it: a real subprocess, real servers on 127.0.0.1. Exit codes, formats, redaction."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp

SECRET_KEY = "EVOKEY-7f3a9c1e-distinctive"
SECRET_TOKEN = "CWTOKEN-b41d2e88-distinctive"


@dataclass
class FakeEvolution(LabApp):
    version_body: bytes = b'{"status":200,"message":"Welcome","version":"2.3.6"}'

    def __post_init__(self) -> None:
        self.route("GET", "/", self.root)
        self.route("GET", "/api", self.root)

    async def root(self, request: Request) -> Response:
        return Response(200, self.version_body, {"Content-Type": "application/json"})


def evodiag(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "evodiag", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=full_env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_version_and_help() -> None:
    from evodiag import __version__

    assert evodiag("--version").stdout.strip() == f"evodiag {__version__}"
    help_text = evodiag("check", "--help").stdout
    assert "--evolution-url" in help_text and "Exit codes" in help_text


def test_exit_0_when_healthy(serve: Callable[[LabApp], str]) -> None:
    url = serve(FakeEvolution(name="evo"))
    proc = evodiag("check", "--evolution-url", url, "--only", "evolution.reachable")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("✔ No problems found") and "auth:       1 passed" in proc.stdout
    proc = evodiag("check", "--evolution-url", url, "--only", "evolution.reachable", "-v")
    assert "✔ evolution.reachable: Evolution API 2.3.6" in proc.stdout  # -v: every check's line


def test_exit_1_on_findings(serve: Callable[[LabApp], str]) -> None:
    url = serve(FakeEvolution(name="evo", version_body=b'{"hello":"world"}'))
    proc = evodiag("check", "--evolution-url", url, "--only", "evolution.reachable")
    assert proc.returncode == 1
    assert "not like Evolution API" in proc.stdout
    assert evodiag("check", "--evolution-url", url, "--only", "evolution.reachable", "--exit-zero").returncode == 0


def test_exit_2_on_usage_and_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "evodiag.yaml"
    bad.write_text("evolution: {url: [unclosed\n")
    proc = evodiag("check", "--config", str(bad))
    assert proc.returncode == 2 and "invalid YAML" in proc.stderr and "Traceback" not in proc.stderr
    assert evodiag("check", "--format", "yaml").returncode == 2
    unknown = tmp_path / "u.yaml"
    unknown.write_text("evolution: {urll: x}\n")
    assert "unknown setting 'evolution.urll'" in evodiag("check", "--config", str(unknown)).stderr
    catalog = tmp_path / "c.yaml"
    catalog.write_text("checks:\n  - id: x.y\n    title: t\n    stage: nope\n")
    proc = evodiag("check", "--catalog", str(catalog))
    assert proc.returncode == 2 and f"{catalog}:4: check x.y" in proc.stderr


def test_exit_3_when_nothing_reachable() -> None:
    port = free_port()
    proc = evodiag("check", "--evolution-url", f"http://127.0.0.1:{port}", "--chatwoot-url",
                   f"http://127.0.0.1:{port}")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "connection refused" in proc.stdout


def test_config_file_env_and_flag_precedence(tmp_path: Path, serve: Callable[[LabApp], str]) -> None:
    good = serve(FakeEvolution(name="evo"))
    dead = f"http://127.0.0.1:{free_port()}"
    (tmp_path / "evodiag.yaml").write_text(f"evolution:\n  url: {dead}\n  api_key: ${{MY_KEY}}\n")
    # file only -> dead URL -> exit 3
    assert evodiag("check", "--only", "evolution.reachable", cwd=tmp_path, env={"MY_KEY": "k"}).returncode == 3
    # env beats file
    assert evodiag("check", "--only", "evolution.reachable", cwd=tmp_path,
                   env={"MY_KEY": "k", "EVODIAG_EVOLUTION_URL": good}).returncode == 0
    # flag beats env
    assert evodiag("check", "--only", "evolution.reachable", "--evolution-url", dead, cwd=tmp_path,
                   env={"MY_KEY": "k", "EVODIAG_EVOLUTION_URL": good}).returncode == 3
    # a ${VAR} that is not set is a config error
    proc = evodiag("check", cwd=tmp_path)
    assert proc.returncode == 2 and "${MY_KEY} is not set" in proc.stderr


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown"])
def test_every_format_parses_and_masks_secrets(serve: Callable[[LabApp], str], fmt: str, tmp_path: Path) -> None:
    url = serve(FakeEvolution(name="evo", version_body=f'{{"version":"2.3.6","leak":"{SECRET_KEY}"}}'.encode()))
    out = tmp_path / "report"
    proc = evodiag("check", "--evolution-url", url, "--evolution-api-key", SECRET_KEY, "--chatwoot-url", url,
                   "--chatwoot-token", SECRET_TOKEN, "--format", fmt, "--verbose", "--output", str(out),
                   "--only", "evolution.reachable", "--only", "chatwoot.reachable")
    text = out.read_text()
    assert proc.returncode in (0, 1), proc.stderr
    for secret in (SECRET_KEY, SECRET_TOKEN):
        assert secret not in text and secret not in proc.stdout and secret not in proc.stderr
    if fmt == "json":
        doc = json.loads(text)
        assert set(doc) >= {"evodiag", "catalog", "target", "facts", "summary", "results"}
        assert doc["target"]["evolution.api_key"] == "***"
        assert set(doc["results"][0]) >= {"id", "stage", "status", "severity", "title", "message", "remediation",
                                          "blocked_by", "evidence", "duration_ms"}
    elif fmt == "junit":
        root = ET.fromstring(text)
        assert {s.get("name") for s in root.iter("testsuite")} == {"auth"}
        assert all(c.get("classname") == "auth" for c in root.iter("testcase"))
    elif fmt == "markdown":
        assert text.startswith("# evodiag report")


def test_exit_2_when_the_output_cannot_be_written(serve: Callable[[LabApp], str], tmp_path: Path) -> None:
    url = serve(FakeEvolution(name="evo"))
    proc = evodiag("check", "--evolution-url", url, "--only", "evolution.reachable", "--output", str(tmp_path))
    assert proc.returncode == 2 and "cannot write --output" in proc.stderr and "Traceback" not in proc.stderr


def test_exit_4_on_an_internal_error_with_the_secret_masked(serve: Callable[[LabApp], str], tmp_path: Path) -> None:
    """A crash outside any check (here: injected into report rendering in the real subprocess) is exit 4, one
    line, the configured secret masked; --debug adds the traceback, masked too."""
    url = serve(FakeEvolution(name="evo"))
    (tmp_path / "sitecustomize.py").write_text(
        "import evodiag.report.common as c\n"
        "def boom(*a, **k):\n"
        f"    raise RuntimeError('renderer broke near {SECRET_KEY}')\n"
        "c.headline = boom\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    proc = evodiag("check", "--evolution-url", url, "--evolution-api-key", SECRET_KEY, "--only",
                   "evolution.reachable", env=env)
    assert proc.returncode == 4, proc.stderr
    assert "internal error: RuntimeError: renderer broke near ***" in proc.stderr
    assert "Traceback" not in proc.stderr and SECRET_KEY not in proc.stderr
    debug = evodiag("check", "--evolution-url", url, "--evolution-api-key", SECRET_KEY, "--only",
                    "evolution.reachable", "--debug", env=env)
    assert debug.returncode == 4 and "Traceback" in debug.stderr and SECRET_KEY not in debug.stderr


def test_explain_shows_doc_fix_known_issues_and_signatures() -> None:
    from evodiag.catalog.loader import load_catalog

    text = evodiag("explain", "chatwoot.filter").stdout
    for part in ("What it checks:", "Why it matters:", "fix: Upgrade Evolution API to 1.7.5", "Known issues:",
                 "fixed in 1.7.5",
                 "Triage signatures", "contact_id"):
        assert part in text, part
    assert text.count("issues/605") == 1  # one line per upstream issue
    listing = evodiag("explain", "--list").stdout
    assert all(f"{cid} — " in listing for cid in load_catalog().checks)
    wrong = evodiag("explain", "chatwoot.filtr")
    assert wrong.returncode == 2 and "did you mean chatwoot.filter" in wrong.stderr
