"""Live progress on a TTY (stderr): each finished stage with its counts, and the running stage's checks in flight
with how long each has run ("auth: waiting on evolution.auth (3.2 s)"). The display is transient: when the run
ends it gives way to the final report. Fed by the engine's one progress hook
(:class:`~evodiag.engine.runner.Progress`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from evodiag.engine.results import Result
from evodiag.engine.runner import Progress, ProgressHook
from evodiag.report.summary import count_words


class LiveProgress:
    """The state of a run as the engine reports it; rich renders it (``__rich__``) on every refresh."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.finished: list[str] = []  # "config: 11 passed, 1 skipped", one per ended stage
        self.stage = ""
        self.stage_results: list[Result] = []
        self.in_flight: dict[str, float] = {}  # check id -> when it started
        self.done = 0

    def __call__(self, step: Progress) -> None:
        if step.event == "stage-start":
            self.stage, self.stage_results = step.stage, []
        elif step.event == "check-start" and step.check_id:
            self.in_flight[step.check_id] = time.perf_counter()
        elif step.event == "check-end" and step.result is not None:
            self.in_flight.pop(step.result.id, None)
            self.stage_results.append(step.result)
            self.done += 1
        elif step.event == "stage-end":
            self.finished.append(f"{step.stage}: {count_words(self.stage_results)}")
            self.stage = ""

    def running_line(self) -> str:
        if not self.stage:
            return ""
        now = time.perf_counter()
        flying = sorted(list(self.in_flight.items()), key=lambda kv: kv[1])
        waiting = ", ".join(f"{cid} ({now - started:.1f} s)" for cid, started in flying[:3])
        more = f" and {len(flying) - 3} more" if len(flying) > 3 else ""
        doing = f"waiting on {waiting}{more}" if flying else "starting…"
        return f"{self.stage}: {doing}  [{self.done}/{self.total}]"

    def __rich__(self) -> Any:
        from rich.text import Text

        text = Text()
        for line in self.finished:
            text.append(line + "\n", style="dim")
        text.append(self.running_line(), style="bold")
        return text


@contextmanager
def live_progress(total: int, *, color: bool) -> Iterator[ProgressHook]:
    """The hook to hand the engine while the live display runs on stderr."""
    from rich.console import Console
    from rich.live import Live

    state = LiveProgress(total)
    console = Console(stderr=True, no_color=not color, highlight=False)
    with Live(state, console=console, transient=True, refresh_per_second=8, redirect_stdout=False,
              redirect_stderr=False):
        yield state
