"""A time budget for one run of the pipeline (``--deadline``).

:meth:`evodiag.engine.runner.Pipeline.run` starts a fresh :class:`Deadline` each time it runs, so a command that
runs the pipeline several times gets one bound per run: ``check`` one, and a ``fleet`` one per instance or a
``watch`` one per round, without any code of their own. When it expires, the checks still running end as
``error`` (timeout), the ones not started say so, and the report keeps everything that finished.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field

DEFAULT_DEADLINE_S = 60.0


def default_deadline(listen_seconds: float | None) -> float:
    """60 s plus any time the run is told to spend listening for webhook deliveries."""
    return DEFAULT_DEADLINE_S + (listen_seconds or 0.0)


@dataclass(frozen=True)
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - time.monotonic())

    async def run(self, work: Awaitable[None]) -> bool:
        """Await ``work`` until the deadline; False (and ``work`` cancelled) when it expired first."""
        try:
            await asyncio.wait_for(work, self.remaining())
        except asyncio.TimeoutError:
            return False
        return True
