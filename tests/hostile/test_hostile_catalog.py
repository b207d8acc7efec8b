"""The whole catalog against every hostile kind: no traceback, the documented exit code, no secret in any output,
and the run ends (a generous bound only a hang can exceed). The table below is the README's "hostile case → what
evodiag reports → exit code"."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from evodiag.lab.hostile import KINDS, HostileLab, start_hostile_lab

# kind → (exit code, words the report must contain). 1: the server answered, so what it sent is a finding;
# 3: no answer came back from any target (timeout, reset, TLS refused).
EXPECTED: dict[str, tuple[int, str]] = {
    "html": (1, "HTML"),
    "html-error": (1, "502"),
    "invalid-json": (1, "non-JSON"),
    "shape-array": (1, "Evolution answered a list where an object (instance) was expected"),
    "shape-null": (1, "fail"),
    "shape-strings": (1, "fail"),
    "shape-missing": (1, "fail"),
    "deep-json": (1, "nested 100000 levels deep"),
    "huge-body": (1, "stopped reading"),
    "gzip-bomb": (1, "decompressed past"),
    "silent": (3, "timed out"),
    "drip": (3, "timed out"),
    "reset": (3, "error"),
    "redirect-away": (1, "never received the api_access_token header"),
    "redirect-loop": (1, "loop"),
    "rate-limited": (1, "429"),
    "self-signed-tls": (3, "certificate"),
}
DEADLINE_S = 6  # --deadline bounds the whole run; the slow kinds (silent, drip) end on it
OUTER_BOUND_S = 120  # only a hang exceeds it


def test_every_kind_has_an_expectation() -> None:
    assert set(EXPECTED) == set(KINDS)


def _check(hostile: HostileLab, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "evodiag", "check", *hostile.cli_args(), "--timeout", "2",
                           "--deadline", str(DEADLINE_S), *extra],
                          capture_output=True, text=True, timeout=OUTER_BOUND_S + 30, check=False, env=env)
    return proc, time.monotonic() - start


@pytest.mark.parametrize("hostile_lab", list(KINDS), indirect=True)
def test_whole_catalog_against_a_hostile_server(hostile_lab: HostileLab) -> None:
    code, words = EXPECTED[hostile_lab.kind]
    outputs = [_check(hostile_lab, "--format", "json")]
    if hostile_lab.kind not in ("silent", "drip"):  # the slow kinds: one format is enough
        outputs.append(_check(hostile_lab))
    for proc, took in outputs:
        out = proc.stdout + proc.stderr
        assert took < OUTER_BOUND_S
        assert "Traceback" not in out and "probe crashed" not in out, out[-3000:]
        assert proc.returncode == code, out[-3000:]
        for secret in hostile_lab.secrets():
            assert secret not in out
    assert any(words in proc.stdout for proc, _ in outputs), outputs[-1][0].stdout[-3000:]


def test_lab_serve_hostile_serves_the_kind_until_ctrl_c() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    proc = subprocess.Popen([sys.executable, "-m", "evodiag", "lab", "serve", "--hostile", "gzip-bomb"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (lines and "Ctrl-C" in lines[-1]):
            lines.append(proc.stdout.readline() if proc.stdout else "")
        text = "".join(lines)
        evolution = re.search(r"evolution\s+(http://127\.0\.0\.1:\d+)", text)
        assert evolution, text
        with httpx.stream("GET", evolution.group(1) + "/") as reply:
            raw = b"".join(reply.iter_raw())
        assert reply.headers["content-encoding"] == "gzip" and len(raw) < 1 << 20
        assert len(gzip.decompress(raw)) == 64 * 1024 * 1024
        assert "--evolution-url " + evolution.group(1) in text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0


def test_unknown_hostile_kind_is_exit_2() -> None:
    proc = subprocess.run([sys.executable, "-m", "evodiag", "lab", "serve", "--hostile", "nope"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "unknown hostile kind" in proc.stderr


SHAPES = ["shape-array", "shape-null", "shape-strings", "shape-missing"]


def test_each_route_alone_with_a_wrong_shape() -> None:
    """The shape kinds damage every reply at once, so the first gate stops the run; here each route evodiag calls
    (taken from a clean run's request log) is damaged alone, so the checks behind the gates read it too."""
    with start_hostile_lab("shape-array", only_path="/no-such-route") as clean:
        proc, _ = _check(clean)
        assert proc.returncode in (0, 1), proc.stdout[-2000:]
        apps = (clean.lab.evolution, clean.lab.chatwoot, clean.lab.openim)
        paths = sorted({entry.path.split("?", 1)[0] for app in apps for entry in app.requests()})
    assert len(paths) >= 12, paths
    # arrays for objects and numbers as strings on every route (the two that crashed probes); nulls and missing
    # fields on every other one
    runs = [(kind, path) for i, path in enumerate(paths)
            for kind in ("shape-array", "shape-strings", SHAPES[2 + i % 2])]
    for kind, path in runs:
        with start_hostile_lab(kind, only_path=path) as hostile:
            proc, took = _check(hostile)
        out = proc.stdout + proc.stderr
        assert took < OUTER_BOUND_S
        assert "Traceback" not in out and "probe crashed" not in out, (kind, path, out[-3000:])
        assert proc.returncode in (0, 1), (kind, path, out[-3000:])
