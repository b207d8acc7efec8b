"""Shared fixtures: real servers on 127.0.0.1, random free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dns.resolver
import pytest

from evodiag.httpserver import HTTPServer, ServerThread
from evodiag.lab.base import LabApp


@pytest.fixture(autouse=True)
def _no_system_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may resolve names through the machine's resolver (it is not on loopback): DNS tests pass the
    lab DNS server explicitly."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("tests must not use the system resolver; pass the lab DNS server")

    monkeypatch.setattr(dns.resolver.Resolver, "read_resolv_conf", refuse)


@pytest.fixture
def server_thread() -> Iterator[ServerThread]:
    thread = ServerThread()
    yield thread
    thread.stop()


@pytest.fixture
def serve(server_thread: ServerThread) -> Callable[[LabApp], str]:
    """Start a lab app on a random loopback port and return its base URL."""

    def _serve(app: LabApp) -> str:
        return server_thread.start(HTTPServer(app)).url

    return _serve
