"""The terminal view's flags as a user runs them (a real subprocess, a real server on 127.0.0.1): -q/-v/-vv,
--color auto|always|never, NO_COLOR and FORCE_COLOR (GitHub Actions logs are not a TTY but render colour)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp

ESC = "\x1b["


@dataclass
class NotEvolution(LabApp):
    """Answers like a web server that is not Evolution: evolution.reachable fails (a problem with a fix)."""

    def __post_init__(self) -> None:
        self.route("GET", "/", self.root)

    async def root(self, request: Request) -> Response:
        return Response(200, b'{"hello":"world"}', {"Content-Type": "application/json"})


def run(url: str, *flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("EVODIAG_") and k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update({"COLUMNS": "160", **(env or {})})
    return subprocess.run([sys.executable, "-m", "evodiag", "check", "--evolution-url", url, "--only",
                           "evolution.reachable", *flags], capture_output=True, text=True, timeout=60, env=full_env)


@pytest.fixture
def url(serve: Callable[[LabApp], str]) -> str:
    return serve(NotEvolution(name="not-evo"))


@pytest.mark.parametrize("flags,env,coloured", [
    ((), {}, False),  # piped: plain text
    (("--color", "always"), {}, True),
    ((), {"FORCE_COLOR": "1"}, True),  # CI logs that render colour
    ((), {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # the user's NO_COLOR wins over FORCE_COLOR
    (("--color", "always"), {"NO_COLOR": "1"}, True),  # an explicit flag wins over both
    (("--color", "never"), {"FORCE_COLOR": "1"}, False),
])
def test_color_follows_flag_then_no_color_then_force_color(url: str, flags: tuple[str, ...], env: dict[str, str],
                                                           coloured: bool) -> None:
    proc = run(url, *flags, env=env)
    assert proc.returncode == 1, proc.stderr
    assert (ESC in proc.stdout) is coloured, proc.stdout
    if coloured:  # colour changes nothing but colour: the same rows (the run's duration aside)
        plain = run(url, "--color", "never").stdout.splitlines()
        stripped = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout).splitlines()
        assert len(stripped) == len(plain) and stripped[0] == plain[0] and stripped[3:] == plain[3:]


def test_quiet_verbose_and_their_contradiction(url: str) -> None:
    quiet, default, v, vv = (run(url, *f).stdout for f in (("-q",), (), ("-v",), ("-vv",)))
    assert quiet.splitlines()[0] == default.splitlines()[0] == "✘ 1 problem: evolution.reachable"
    assert "auth:" not in quiet and "auth:" in default
    assert "✘ evolution.reachable: fail (above)" in v and " ms]" not in v and " ms]" in vv
    assert "\nHTTP\n" in vv and "GET " in vv.split("\nHTTP\n")[1]
    assert run(url, "--verbose", "--verbose").stdout.count("\nHTTP\n") == 1  # --verbose is the repeatable -v
    proc = run(url, "-q", "-v")
    assert proc.returncode == 2 and "contradict" in proc.stderr
    proc = run(url, "--color", "sometimes")
    assert proc.returncode == 2 and "--color must be one of auto, always, never" in proc.stderr


def test_skips_are_grouped_by_their_first_reason_and_never_blamed_on_an_unrelated_root_cause() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on: chatwoot.reachable errors
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    proc = subprocess.run([sys.executable, "-m", "evodiag", "check", "--chatwoot-url", f"http://127.0.0.1:{port}",
                           "-v"], capture_output=True, text=True, timeout=60, env={**env, "COLUMNS": "160"})
    rows = proc.stdout.splitlines()
    # chatwoot.groups also needs Evolution, which was not given: that is why it skipped, not chatwoot.reachable
    assert rows[0] == "✘ 1 root cause: chatwoot.reachable — blocks 6 checks", proc.stdout
    skipped = rows[rows.index("skipped"):]
    reason = skipped.index("  not applicable: no Evolution URL given — pass --evolution-url")
    ids = skipped[reason + 1:][: next(i for i, r in enumerate(skipped[reason + 1:])
                                    if not r.startswith("      "))]
    listed = " ".join(ids)
    assert "chatwoot.groups" in listed and "evolution.auth" in listed
    assert "which was skipped" not in proc.stdout  # the chain of "requires X, which was skipped" is said once
