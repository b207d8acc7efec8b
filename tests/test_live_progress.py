"""Live progress in a real pseudo-terminal (pexpect): a server that never answers keeps evolution.reachable in
flight, so the display must name it with its running time, show the config stage's counts as soon as that stage
ended, and give way to the final report, headline first. NO_COLOR keeps the progress (only colour goes); piped
output gets no progress at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from evodiag.lab.hostile import HostileLab, start_hostile_lab

COLOUR = re.compile(r"\x1b\[(?:\d+;)*3\d(?:;\d+)*m")  # an SGR foreground colour


@pytest.fixture(scope="module")
def silent_lab() -> Iterator[HostileLab]:
    with start_hostile_lab("silent") as lab:
        yield lab


def argv(lab: HostileLab, tmp_path: Path) -> list[str]:
    env_file = tmp_path / "evolution.env"
    env_file.write_text("SERVER_URL=http://localhost:8080\n")
    return ["-m", "evodiag", "check", *lab.cli_args(), "--env-file", str(env_file), "--only", "config.files",
            "--only", "evolution.reachable", "--timeout", "1.5"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_") and k not in ("NO_COLOR",
                                                                                                "FORCE_COLOR")}
    return {**env, "COLUMNS": "120", "TERM": "xterm-256color", **extra}


def test_live_progress_names_checks_in_flight_then_gives_way_to_the_report(silent_lab: HostileLab,
                                                                            tmp_path: Path) -> None:
    child = pexpect.spawn(sys.executable, argv(silent_lab, tmp_path), env=clean_env(NO_COLOR="1"),
                          encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect(r"config: 1 passed")  # the config stage's counts, shown as soon as it ended
    child.expect(r"auth: waiting on evolution\.reachable \((\d+\.\d) s\)")
    first = float(child.match.group(1))
    child.expect(r"auth: waiting on evolution\.reachable \((\d+\.\d) s\)")
    assert float(child.match.group(1)) >= first  # the clock runs while the check is in flight
    child.expect(pexpect.EOF)
    rest = child.before
    child.close()
    assert child.exitstatus == 3  # no target answered
    final = rest[rest.rindex("waiting on"):]
    assert "✘ 1 problem: evolution.reachable" in final  # the report comes after the live display, headline first
    report = final[final.index("✘ 1 problem"):]
    assert "waiting on" not in report and report.index("✘ 1 problem") < report.index("auth:")
    assert not COLOUR.search(rest), "NO_COLOR: progress without colour"


def test_piped_output_prints_the_report_once_without_progress(silent_lab: HostileLab, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, *argv(silent_lab, tmp_path)], capture_output=True, text=True,
                          timeout=60, env=clean_env())
    assert proc.returncode == 3
    assert "waiting on" not in proc.stderr + proc.stdout
    assert proc.stdout.count("✘ 1 problem: evolution.reachable") == 1
