"""Bounded in time: --timeout caps every request, --deadline bounds the whole run and the report still comes out.
A server on 127.0.0.1 that accepts connections and never answers; only a generous outer bound on time."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.test_cli import evodiag


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts every connection and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()
    for conn in held:
        conn.close()


def _results(stdout: str) -> dict[str, dict[str, object]]:
    return {r["id"]: r for r in json.loads(stdout)["results"]}


def test_timeout_caps_a_longer_declared_timeout_and_says_so(silent_port: int) -> None:
    proc = evodiag("check", "--evolution-url", f"http://127.0.0.1:{silent_port}", "--only", "evolution.reachable",
                   "--timeout", "1", "--format", "json")  # evolution.reachable declares 20 s
    assert proc.returncode == 3, proc.stderr
    reachable = _results(proc.stdout)["evolution.reachable"]
    assert reachable["status"] == "error" and reachable["error_kind"] == "timeout", reachable
    assert "--timeout 1 s cut this check's declared timeout of 20 s" in reachable["notes"]


def test_deadline_ends_the_run_and_the_report_keeps_what_finished(silent_port: int) -> None:
    proc = evodiag("check", "--evolution-url", f"http://127.0.0.1:{silent_port}", "--timeout", "30",
                   "--deadline", "2", "--format", "json")
    assert proc.returncode == 3, proc.stderr
    results = _results(proc.stdout)  # the report is printed, whole
    reachable = results["evolution.reachable"]
    assert reachable["status"] == "error" and reachable["error_kind"] == "timeout"
    assert "deadline (2 s, --deadline) expired while this check was running" in str(reachable["message"])
    assert results["config.files"]["status"] == "skip"  # finished before the deadline: kept as it was
    assert "not applicable" in str(results["config.files"]["message"])
    later = results["network.urls"]  # a later stage never started
    assert later["status"] == "error" and "expired before it could start" in str(later["message"])


@pytest.mark.parametrize("flags", [("--deadline", "0"), ("--deadline", "nan"), ("--timeout", "-1")])
def test_bad_time_flags_are_usage_errors(flags: tuple[str, ...]) -> None:
    proc = evodiag("check", "--evolution-url", "http://127.0.0.1:9", *flags)
    assert proc.returncode == 2 and "greater than 0" in proc.stderr and "Traceback" not in proc.stderr
