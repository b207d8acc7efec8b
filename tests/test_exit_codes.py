"""Exit codes and error wording as a CI step sees them: real subprocesses, real servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp
from tests.test_cli import FakeEvolution, evodiag


def test_nothing_to_check_is_a_usage_error(tmp_path: Path) -> None:
    proc = evodiag("check", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nothing to check" in lines[0] and "--evolution-url" in lines[0]
    assert "No problems found" not in proc.stdout


def test_no_check_selected_is_a_usage_error(serve: Callable[[LabApp], str]) -> None:
    url = serve(FakeEvolution(name="evo"))
    proc = evodiag("check", "--evolution-url", url, "--tags", "nosuchtag")
    assert proc.returncode == 2 and "no check selected" in proc.stderr and "Traceback" not in proc.stderr


def test_an_env_file_alone_is_something_to_check(tmp_path: Path) -> None:
    env = tmp_path / "evolution.env"
    env.write_text("SERVER_URL=http://localhost:8080\nAUTHENTICATION_API_KEY=Zq8xR2mP7vK4nT9wB3cYa1\n")
    proc = evodiag("check", "--env-file", str(env), "-v", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert "config.files" in proc.stdout


@dataclass
class RedirectingEvolution(LabApp):
    def __post_init__(self) -> None:
        self.route("GET", "/", self.hop("/a"))
        self.route("GET", "/a", self.hop("/"))

    @staticmethod
    def hop(to: str) -> Callable[[Request], object]:
        async def handler(request: Request) -> Response:
            return Response(302, b"", {"Location": to})

        return handler


@pytest.mark.parametrize("body", [b"<html><head><title>Sign in</title></head><body>login</body></html>",
                                  b'{"status": 200, "version": '])
def test_a_server_that_answers_is_reachable_exit_1(serve: Callable[[LabApp], str], body: bytes) -> None:
    url = serve(FakeEvolution(name="evo", version_body=body))
    proc = evodiag("check", "--evolution-url", url, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    reachable = next(r for r in json.loads(proc.stdout)["results"] if r["id"] == "evolution.reachable")
    assert reachable["status"] in ("fail", "error") and reachable["message"]


def test_a_redirect_loop_says_loop(serve: Callable[[LabApp], str]) -> None:
    url = serve(RedirectingEvolution(name="evo"))
    proc = evodiag("check", "--evolution-url", url, "--format", "json", "--only", "evolution.reachable")
    assert proc.returncode == 1, proc.stderr
    reachable = next(r for r in json.loads(proc.stdout)["results"] if r["id"] == "evolution.reachable")
    assert "loop" in reachable["message"] and "HTTP 302" not in reachable["message"]


def _raw_server(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                behaviour(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    listener.close()


def _reset_mid_body(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ver')
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN


def _close_after_reading(conn: socket.socket) -> None:
    conn.recv(65536)


@pytest.fixture
def reset_port() -> Iterator[int]:
    yield from _raw_server(_reset_mid_body)


@pytest.fixture
def closing_port() -> Iterator[int]:
    yield from _raw_server(_close_after_reading)


def _reachable_message(url: str) -> str:
    proc = evodiag("check", "--evolution-url", url, "--format", "json", "--only", "evolution.reachable")
    assert proc.returncode == 3, proc.stderr
    return str(next(r for r in json.loads(proc.stdout)["results"] if r["id"] == "evolution.reachable")["message"])


def test_connection_errors_say_what_happened_in_words(reset_port: int, closing_port: int) -> None:
    reset = _reachable_message(f"http://127.0.0.1:{reset_port}")
    assert "reset the connection" in reset and not reset.rstrip().endswith(":"), reset
    tls = _reachable_message(f"https://127.0.0.1:{closing_port}")
    assert "closed the connection during the TLS handshake" in tls and ":  (" not in tls, tls


@pytest.mark.parametrize("args", [("catalog",), ("catalog", "--format", "json"), ("explain", "evolution.qr")])
def test_a_closed_stdout_pipe_ends_quietly(args: tuple[str, ...]) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "evodiag", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: the reader is gone before evodiag writes
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr
    assert stderr == ""
