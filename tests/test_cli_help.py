"""The command line as a newcomer meets it: ``-h`` on every command, every flag with a real placeholder and its
``EVODIAG_*`` variable, typer's shell completion, and did-you-mean for a mistyped check id."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from evodiag.cli import app
from evodiag.config import OPTIONS

# An option line of click's help: two spaces, the flags, then (for a flag that takes a value) its placeholder.
_FLAG = r"-{1,2}[\w-]+(?: ?/ ?-{1,2}[\w-]+)?"
OPTION_LINE = re.compile(rf"^  ({_FLAG}(?:, {_FLAG})*)(?: ([^\s-]\S*))?(?:  +|$)")


def _paths(command: typer.main.click.Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _paths(sub, (*prefix, name))


COMMAND_PATHS = list(_paths(typer.main.get_command(app)))


def _help(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "-h"], env={"COLUMNS": "200"}, prog_name="evodiag")
    assert result.exit_code == 0, (path, result.output)
    return result.output


def test_every_command_is_reached() -> None:
    names = {" ".join(p) for p in COMMAND_PATHS}
    assert {"", "check", "demo", "explain", "lab serve", "webhook analyze", "webhook listen"} <= names


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "evodiag")
def test_dash_h_works_and_every_placeholder_is_a_word(path: tuple[str, ...]) -> None:
    out = _help(*path)
    assert out.startswith("Usage: evodiag"), out
    assert "-h, --help" in out
    placeholders = [m.group(2) for line in out.splitlines() if (m := OPTION_LINE.match(line)) and m.group(2)]
    bad = [p for p in placeholders if not re.fullmatch(r"[A-Z][A-Z_\[\]:|]*", p)]
    assert not bad, f"{' '.join(path)}: placeholders {bad} (want URL, PATH, SECONDS, ID...; never <str> or TEXT)"


@pytest.mark.parametrize("command", ["check", "bundle"])
def test_every_setting_flag_shows_its_variable_and_placeholder(command: str) -> None:
    out = _help(command)
    lines = out.splitlines()
    for opt in OPTIONS:
        line = next((i for i, text in enumerate(lines) if text.startswith(f"  {opt.flag}")), None)
        assert line is not None, opt.flag
        entry = " ".join(" ".join(lines[line:line + 4]).split())  # help text may wrap
        assert f"[env var: {opt.env}]" in entry, entry
        if opt.kind != "bool":
            assert entry.split()[1] == opt.placeholder, entry
    assert re.search(r"--timeout SECONDS", out) and re.search(r"--only ID", out)
    assert re.search(r"--evolution-url URL", out) and re.search(r"--env-file PATH", out)


def test_shell_completion_is_offered_and_works() -> None:
    out = _help()
    assert "--install-completion" in out and "--show-completion" in out
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    script = subprocess.run([sys.executable, "-m", "evodiag", "--show-completion", "bash"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert script.returncode == 0 and "_EVODIAG_COMPLETE" in script.stdout, script.stderr
    # What the shell asks when the user types `evodiag ch<TAB>`.
    env.update({"_EVODIAG_COMPLETE": "complete_bash", "COMP_WORDS": "evodiag ch", "COMP_CWORD": "1"})
    done = subprocess.run([sys.executable, "-m", "evodiag"], capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.split() == ["check"], (done.stdout, done.stderr)


@pytest.mark.parametrize("flag", ["--only", "--skip"])
def test_unknown_check_id_suggests_the_closest(flag: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODIAG_")}
    proc = subprocess.run([sys.executable, "-m", "evodiag", "check", "--evolution-url", "http://127.0.0.1:9",
                           flag, "evolution.aut"], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"evodiag: error: {flag}: no check 'evolution.aut'; did you mean evolution.auth?"]


def test_explain_and_only_share_one_suggestion_helper() -> None:
    from evodiag.catalog.loader import load_catalog
    from evodiag.suggest import closest, unknown_check

    ids = list(load_catalog().checks)
    assert closest("auth", ids) == [i for i in sorted(ids) if i.endswith(".auth")][:3]
    assert unknown_check("zzzz-qqqq", ids) == "no check 'zzzz-qqqq' (see `evodiag catalog`)"
    result = CliRunner().invoke(app, ["explain", "evolution.aut"])
    assert result.exit_code == 2 and "did you mean evolution.auth?" in result.output
