"""`webhook listen`'s live table stays readable before the first delivery: the title on one line, a row that
says what to do, and the elapsed time in units people read."""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console

from evodiag.commands.webhook import _table
from evodiag.webhook.capture import WebhookReceiver


def rendered(receiver: WebhookReceiver, started: float) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(_table(receiver, started))
    return out.getvalue().splitlines()


def test_table_at_zero_deliveries_is_readable(tmp_path: Path) -> None:
    receiver = WebhookReceiver(tmp_path / "deliveries.jsonl", host="127.0.0.1", port=0)
    url = receiver.start()
    try:
        rows = rendered(receiver, time.time() - 5400)
    finally:
        receiver.stop()
    title = rows[0].strip()
    assert title == f"{url}  ·  0 deliveries  ·  1.5 h"  # one line, not wrapped into the narrow columns
    assert any("no delivery yet" in r and r.rstrip().endswith("0 │") for r in rows)
