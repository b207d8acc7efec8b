"""Shared fixtures: real servers on 127.0.0.1, random free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from evodiag.httpserver import HTTPServer, ServerThread
from evodiag.lab.base import LabApp


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
