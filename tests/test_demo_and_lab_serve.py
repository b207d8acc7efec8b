"""`evodiag demo` and `evodiag lab serve` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx

from evodiag.lab.scenarios import SCENARIOS


def evodiag(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    return subprocess.run([sys.executable, "-m", "evodiag", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_demo_list_names_every_scenario() -> None:
    out = evodiag("demo", "--list").stdout
    assert all(name in out for name in SCENARIOS)


def test_demo_exit_codes_and_json() -> None:
    healthy = evodiag("demo", "--format", "json")
    assert healthy.returncode == 0, healthy.stderr
    assert json.loads(healthy.stdout)["summary"]["fail"] == 0
    broken = evodiag("demo", "--scenario", "webhook-double-slash", "--format", "json")
    assert broken.returncode == 1
    failing = [r["id"] for r in json.loads(broken.stdout)["results"] if r["status"] == "fail"]
    assert failing == ["evolution.webhook.url"]
    assert evodiag("demo", "--scenario", "no-such-scenario").returncode == 2


def test_lab_serve_prints_a_working_command_and_stops_on_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    proc = subprocess.Popen([sys.executable, "-m", "evodiag", "lab", "serve", "--scenario", "bot-pending"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        evolution = re.search(r"evolution\s+(http://127\.0\.0\.1:\d+)", text)
        assert evolution, text
        assert httpx.get(evolution.group(1) + "/").json()["version"]
        command = next(line for line in lines if line.strip().startswith("evodiag check"))
        assert "--chatwoot-url" in command and "--evolution-api-key" in command
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_markdown_report_pseudonymises_phone_numbers_and_jids() -> None:
    from evodiag.lab.runtime import LAB_NUMBER

    text_report = evodiag("demo", "--format", "text", "-v").stdout
    markdown = evodiag("demo", "--format", "markdown").stdout
    assert LAB_NUMBER in text_report  # the local terminal shows the user's own instance number
    assert LAB_NUMBER not in markdown and "jid#" in markdown  # the paste-ready report does not
    assert markdown.startswith("# evodiag report")


def test_lab_serve_stops_cleanly_on_sigterm_and_removes_its_temp_folder() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    proc = subprocess.Popen([sys.executable, "-m", "evodiag", "lab", "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Ctrl-C" in line for line in lines):
            lines.append(proc.stdout.readline() if proc.stdout else "")
        workdir = re.search(r"(\S*evodiag-lab-[^/\s]+)/", "".join(lines))
        assert workdir and os.path.isdir(workdir.group(1)), lines
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=20)  # a bound only a hang can exceed
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "stopping the lab (SIGTERM)" in stdout and "Traceback" not in stderr
    assert not os.path.exists(workdir.group(1))
