"""network.services against real servers on 127.0.0.1: a real redis-server (Debian package, started here on a free
loopback port, stopped afterwards) for PING, plain TCP listeners standing in for PostgreSQL and RabbitMQ, and
closed ports for what does not answer. Names resolve only through a lab DNS server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import Catalog
from evodiag.config import Settings
from evodiag.engine.context import RunOptions
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import Pipeline
from evodiag.lab.dns import DnsServer
from evodiag.netinfo.tcpprobe import redis_ping, tcp_connect

REDIS = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(REDIS is None, reason="redis-server not installed (apt-get install redis-server; "
                                                      ".ci/run installs it)")
PASSWORD = "lab-redis-pass-5c1e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Listener:
    """A TCP listener on loopback that accepts and, per ``mode``, closes at once or stays silent."""

    def __init__(self, mode: str = "close") -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.mode, self.accepted, self.received = mode, 0, b""
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == "silent":
                self.held.append(conn)
                continue
            conn.settimeout(0.2)
            with contextlib.suppress(OSError):
                self.received += conn.recv(64)
            conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    item = Listener()
    yield item
    item.close()


def _start_redis(*extra: str) -> tuple[subprocess.Popen[bytes], int]:
    assert REDIS is not None
    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def redis_server() -> Iterator[int]:
    proc, port = _start_redis()
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_with_password() -> Iterator[int]:
    proc, port = _start_redis("--requirepass", PASSWORD)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    with DnsServer({"db.example.com": ["127.0.0.1"]}) as server:
        yield server


def services(catalog: Catalog, tmp_path: Path, env_text: str, dns: DnsServer, *,
             compose: str | None = None, timeout: float = 2.0) -> Result:
    env = tmp_path / ".env"
    env.write_text(env_text, encoding="utf-8")
    values: dict[str, object] = {"files.env": [str(env)], "dns.server": dns.address}
    if compose is not None:
        (tmp_path / "docker-compose.yml").write_text(compose, encoding="utf-8")
        values["files.compose"] = [str(tmp_path / "docker-compose.yml")]
    options = RunOptions(timeout=timeout, only=("network.services",))
    report = asyncio.run(Pipeline(catalog, Settings(values=values), options).run())
    return next(r for r in report.results if r.id == "network.services")


def env_for(db_port: int, redis_uri: str | None = None, rabbit_port: int | None = None) -> str:
    text = f"DATABASE_PROVIDER=postgresql\nDATABASE_CONNECTION_URI=postgresql://evo:dbpw@127.0.0.1:{db_port}/evo\n"
    if redis_uri:
        text += f"CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI={redis_uri}\n"
    if rabbit_port:
        text += f"RABBITMQ_ENABLED=true\nRABBITMQ_URI=amqp://evo:mqpw@127.0.0.1:{rabbit_port}\n"
    return text


# ------------------------------------------------------------------------------------------------ the PING itself


@needs_redis
def test_ping_against_a_real_redis_server(redis_server: int) -> None:
    probe = asyncio.run(redis_ping("127.0.0.1", redis_server, timeout=2))
    assert probe.ok and probe.reply == "+PONG"


@needs_redis
def test_ping_without_password_gets_noauth_and_never_logs_in(redis_with_password: int) -> None:
    probe = asyncio.run(redis_ping("127.0.0.1", redis_with_password, timeout=2))
    assert probe.ok and probe.reply is not None and probe.reply.startswith("-NOAUTH")


def test_ping_to_a_silent_port_is_bounded_by_the_timeout() -> None:
    silent = Listener("silent")
    try:
        start = time.monotonic()
        probe = asyncio.run(redis_ping("127.0.0.1", silent.port, timeout=0.3))
        assert probe.ok and probe.reply is None and probe.error_kind == "timeout"
        assert time.monotonic() - start < 5  # only a hang could exceed this
    finally:
        silent.close()


def test_connect_refused_on_a_closed_port() -> None:
    probe = asyncio.run(tcp_connect("127.0.0.1", free_port(), timeout=1))
    assert not probe.ok and probe.error_kind == "refused"


# ------------------------------------------------------------------------------------------------ the check


@needs_redis
def test_everything_answers(catalog: Catalog, tmp_path: Path, dns_server: DnsServer, listener: Listener,
                            redis_server: int) -> None:
    rabbit = Listener()
    try:
        result = services(catalog, tmp_path, env_for(listener.port, f"redis://127.0.0.1:{redis_server}/6",
                                                     rabbit.port), dns_server)
    finally:
        rabbit.close()
    assert result.status is Status.PASS, result.message
    assert "3 backing service(s)" in result.message and "+PONG" in result.message
    assert listener.accepted == 1 and listener.received == b""  # a TCP connect, nothing sent to the database
    assert "dbpw" not in str(result.to_dict()) and "mqpw" not in str(result.to_dict())


@needs_redis
def test_redis_down_fails_and_names_the_variable(catalog: Catalog, tmp_path: Path, dns_server: DnsServer,
                                                 listener: Listener) -> None:
    dead = free_port()
    result = services(catalog, tmp_path, env_for(listener.port, f"redis://127.0.0.1:{dead}/6"), dns_server)
    assert result.status is Status.FAIL
    assert f"127.0.0.1:{dead}" in result.message and "CACHE_REDIS_URI" in result.message
    assert "refused" in result.message
    assert any(f"database 127.0.0.1:{listener.port} answered" in note for note in result.notes)


@needs_redis
def test_redis_password_missing_from_the_uri(catalog: Catalog, tmp_path: Path, dns_server: DnsServer,
                                             listener: Listener, redis_with_password: int) -> None:
    port = redis_with_password
    bare = services(catalog, tmp_path, env_for(listener.port, f"redis://127.0.0.1:{port}/6"), dns_server)
    assert bare.status is Status.FAIL and "requires a password" in bare.message
    with_pw = services(catalog, tmp_path, env_for(listener.port, f"redis://:{PASSWORD}@127.0.0.1:{port}/6"),
                       dns_server)
    assert with_pw.status is Status.PASS and "NOAUTH" in with_pw.message
    assert PASSWORD not in str(with_pw.to_dict())
    # No login and no write: the server saw no AUTH and holds no key.
    stats = subprocess.run(["redis-cli", "-p", str(port), "-a", PASSWORD, "--no-auth-warning", "INFO", "all"],
                           capture_output=True, text=True, timeout=10, check=False).stdout
    if stats:  # redis-cli ships with redis-server; without it the PING assertions above still stand
        assert "cmdstat_auth:calls=1," in stats  # redis-cli's own login for INFO, none from evodiag
        assert "db0:" not in stats


def test_a_port_that_is_not_redis(catalog: Catalog, tmp_path: Path, dns_server: DnsServer,
                                  listener: Listener) -> None:
    other = Listener()  # accepts and closes without answering PING
    try:
        result = services(catalog, tmp_path, env_for(listener.port, f"redis://127.0.0.1:{other.port}"), dns_server)
    finally:
        other.close()
    assert result.status is Status.FAIL and "did not answer PING like Redis" in result.message


def test_database_and_rabbitmq_unreachable(catalog: Catalog, tmp_path: Path, dns_server: DnsServer) -> None:
    db, mq = free_port(), free_port()
    result = services(catalog, tmp_path, env_for(db, rabbit_port=mq), dns_server)
    assert result.status is Status.FAIL
    everything = result.message + " ".join(result.notes)
    assert f"127.0.0.1:{db}" in everything and f"127.0.0.1:{mq}" in everything


def test_names_resolve_through_the_given_dns_server(catalog: Catalog, tmp_path: Path, dns_server: DnsServer,
                                                    listener: Listener) -> None:
    env = f"DATABASE_CONNECTION_URI=postgresql://evo:dbpw@db.example.com:{listener.port}/evo\n"
    assert services(catalog, tmp_path, env, dns_server).status is Status.PASS
    missing = "DATABASE_CONNECTION_URI=postgresql://evo:dbpw@nowhere.example.com:5432/evo\n"
    result = services(catalog, tmp_path, missing, dns_server)
    assert result.status is Status.FAIL and "does not resolve" in result.message


def test_docker_only_hosts_are_notes_not_failures(catalog: Catalog, tmp_path: Path, dns_server: DnsServer) -> None:
    env = ("DATABASE_CONNECTION_URI=postgresql://evo:dbpw@postgres:5432/evo\n"
           "CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=redis://localhost:6379/6\n")
    compose = ("services:\n  evolution-api:\n    image: evoapicloud/evolution-api:v2.3.6\n    env_file: [.env]\n"
               "  postgres:\n    image: postgres:16\n")
    result = services(catalog, tmp_path, env, dns_server, compose=compose)
    assert result.status is Status.SKIP, result.message
    notes = " ".join(result.notes)
    assert "postgres only resolves inside the Docker network" in notes
    assert "container itself" in notes


def test_switched_off_services_are_not_contacted(catalog: Catalog, tmp_path: Path, dns_server: DnsServer) -> None:
    env = "CACHE_REDIS_ENABLED=false\nCACHE_REDIS_URI=redis://127.0.0.1:1/6\nRABBITMQ_URI=amqp://127.0.0.1:1\n"
    assert services(catalog, tmp_path, env, dns_server).status is Status.SKIP


@needs_redis
def test_rediss_against_a_plain_redis_fails_the_tls_handshake(catalog: Catalog, tmp_path: Path,
                                                              dns_server: DnsServer, listener: Listener,
                                                              redis_server: int) -> None:
    result = services(catalog, tmp_path, env_for(listener.port, f"rediss://127.0.0.1:{redis_server}/6"), dns_server)
    assert result.status is Status.FAIL and "TLS handshake failed" in result.message, result.message
