"""Fixtures for webhook tests: a capture receiver on a random 127.0.0.1 port, and fixture paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evodiag.webhook.capture import WebhookReceiver

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    rx = WebhookReceiver(tmp_path / "capture.jsonl")
    rx.start()
    yield rx
    rx.stop()
