"""Every YAML evodiag reads goes through one bounded loader: an alias bomb, deep nesting or an oversized file is
refused with one line and exit 2, never a hang, a memory blow-up or a RecursionError."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evodiag import boundedyaml
from evodiag.catalog.loader import load_catalog_text
from evodiag.envfiles.compose import ComposeError, parse_compose
from evodiag.errors import CatalogError
from evodiag.webhook.openim_config import OpenIMConfigError, parse_webhooks_yaml

# "Billion laughs": nine levels of nine aliases, 9**9 strings once expanded, in under 1 KB.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join(["*" + chr(97 + i)] * 9) + "]\n" for i in range(8))
DEEP = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
DEEP_BLOCK = "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n"
CYCLE = "a: &x [1, *x]\n"


@pytest.mark.parametrize(("text", "words"), [
    (BOMB, "nodes once aliases are expanded"),
    (DEEP, "nest"),
    (DEEP_BLOCK, "nested too deeply (more than 64 levels)"),
    (CYCLE, "cycle"),
    ("a: [1, 2\n", "invalid YAML"),
    ("x: *nowhere\n", "invalid YAML"),
    ("a: &a 1\nk: [" + ", ".join(["*a"] * 1001) + "]\n", "aliases"),
])
def test_bounded_load_refuses_with_one_line(text: str, words: str) -> None:
    start = time.monotonic()
    with pytest.raises(boundedyaml.YamlInputError) as info:
        boundedyaml.load(text)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert time.monotonic() - start < 10  # a bound only a hang can exceed


def test_size_bound_and_ordinary_anchors_still_work(tmp_path: Path) -> None:
    assert boundedyaml.load("base: &b {x: 1}\nsvc:\n  <<: *b\n  y: 2\n") == {"base": {"x": 1}, "svc": {"x": 1, "y": 2}}
    big = tmp_path / "big.yml"
    big.write_bytes(b"# " + b"x" * boundedyaml.MAX_BYTES + b"\n")
    with pytest.raises(boundedyaml.YamlInputError, match="too large"):
        boundedyaml.read_text(big)
    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(boundedyaml.YamlInputError) as info:
        boundedyaml.read_text(latin)
    assert info.value.line == 2 and "UTF-8" in info.value.problem


def test_every_yaml_reader_uses_the_bounds(tmp_path: Path) -> None:
    with pytest.raises(OpenIMConfigError, match="aliases are expanded"):
        parse_webhooks_yaml(BOMB)
    with pytest.raises(CatalogError, match=r"cat\.yaml:\d+: more than .* nodes"):
        load_catalog_text("checks: []\n" + BOMB, "cat.yaml")
    with pytest.raises(CatalogError, match="nested too deeply"):
        load_catalog_text(DEEP, "cat.yaml")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  evo:\n    image: atendai/evolution-api\n" + "x-bomb:\n" +
                       "".join("  " + line + "\n" for line in BOMB.splitlines()))
    with pytest.raises(ComposeError, match="aliases are expanded"):
        parse_compose(str(compose), environ={})


def _limited() -> None:  # the child may not take more than 2 GB of address space: a blow-up fails fast
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("flag", ["--openim-config", "--config", "--compose-file", "--catalog"])
def test_alias_bomb_on_the_command_line_is_exit_2_in_one_line(tmp_path: Path, flag: str) -> None:
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(BOMB if flag != "--compose-file" else "services:\n  evo:\n    image: x\n" + BOMB)
    args = [sys.executable, "-m", "evodiag", "check", flag, str(bomb), "--evolution-url", "http://127.0.0.1:9",
            "--format", "json"]
    start = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, preexec_fn=_limited,
                          cwd=tmp_path)
    assert time.monotonic() - start < 120
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "MemoryError" not in out
    if flag in ("--compose-file", "--openim-config"):  # a file the lint is about: its problem is a finding
        assert "aliases are expanded" in out and proc.returncode in (1, 3), out[-2000:]
    else:
        assert proc.returncode == 2, out[-2000:]
        assert "aliases are expanded" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
