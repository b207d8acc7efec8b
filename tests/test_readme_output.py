"""The README's "What a run looks like" blocks are the tool's real output (issue 15). Numbers (ports, durations)
differ per run and are compared as N. Regenerate the blocks with ``python tests/test_readme_output.py``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
RUNS = {"healthy": ("demo",), "failing": ("demo", "--scenario", "wrong-evolution-key")}
WIDTH = "110"


def real_output(args: tuple[str, ...]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_") and k not in ("NO_COLOR",
                                                                                                "FORCE_COLOR")}
    proc = subprocess.run([sys.executable, "-m", "evodiag", *args], capture_output=True, text=True, timeout=120,
                          env={**env, "COLUMNS": WIDTH})
    return proc.stdout


def block(name: str, args: tuple[str, ...], output: str) -> str:
    return f"<!-- output:{name} -->\n```console\n$ evodiag {' '.join(args)}\n{output}```\n<!-- /output -->"


def pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"<!-- output:{name} -->.*?<!-- /output -->", re.S)


@pytest.mark.parametrize("name", list(RUNS))
def test_readme_shows_the_real_output(name: str) -> None:
    shown = pattern(name).search(README.read_text(encoding="utf-8"))
    assert shown, f"README has no <!-- output:{name} --> block"
    expected = block(name, RUNS[name], real_output(RUNS[name]))
    assert re.sub(r"\d+", "N", shown.group(0)) == re.sub(r"\d+", "N", expected), (
        "README output is stale: run python tests/test_readme_output.py")


if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    for run_name, run_args in RUNS.items():
        text = pattern(run_name).sub(lambda _m, n=run_name, a=run_args: block(n, a, real_output(a)), text, count=1)
    README.write_text(text, encoding="utf-8")
