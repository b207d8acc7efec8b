"""Triage signatures run on RE2: linear-time whatever the pattern, refused at load (file:line) when RE2 cannot take
them, ``kind: prose`` instead of the old ``(?#prose)`` marker, ``unless:`` instead of lookarounds."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evodiag.catalog.loader import load_catalog, load_catalog_text
from evodiag.catalog.signature_regex import compile_signature, sre_view
from evodiag.errors import CatalogError
from evodiag.triage import triage_stream
from evodiag.triage.scan import Scanner, literal_options

HEAD = """checks:
  - id: t.sig
    title: t
    stage: config
    request: {url: "{evolution.url}/"}
    doc: {what: w, why: y}
    signatures:
"""


def _catalog(*signatures: str):
    return load_catalog_text(HEAD + "".join(f"      - {s}\n" for s in signatures), "cat.yaml")


def _hits(catalog, data: bytes) -> dict[str, int]:
    scan = Scanner(catalog).scan(io.BytesIO(data))
    return {cid: sum(h.counts.values()) for cid, h in scan.hits.items()}


def _error(*signatures: str) -> str:
    with pytest.raises(CatalogError) as info:
        _catalog(*signatures)
    return str(info.value)


@pytest.mark.parametrize(("pattern", "hint"), [
    ("'foo(?!bar)'", "unless"),
    ("'(?<![A-Z])KEY='", "unless"),
    ("'(?#prose)the qr code never shows'", "kind: prose"),
    ("'(a)\\1'", "backreference"),
])
def test_a_pattern_re2_cannot_take_is_refused_with_file_and_line(pattern: str, hint: str) -> None:
    msg = _error("{pattern: 'ok'}", f"{{pattern: {pattern}}}")
    assert msg.startswith("cat.yaml:9: check t.sig: checks[0].signatures[1].pattern: ") and "RE2" in msg, msg
    assert hint in msg and "\n" not in msg


def test_unless_is_checked_too_and_not_allowed_on_a_repetition_rule() -> None:
    assert "signatures[0].unless" in _error("{pattern: 'a', unless: 'b(?=c)'}")
    assert "repetition rule" in _error("""{pattern: 'id=(?P<repeat>\\d+)', unless: 'x'}""")


def test_kind_is_a_closed_choice() -> None:
    assert "is not one of log, prose" in _error("{pattern: 'a', kind: symptom}")


def test_catastrophic_backtracking_pattern_stays_linear() -> None:
    """`(a+)+b` on a line of 5,000 `a` takes Python's re about forever; RE2 answers at once. The bound only a
    hang can exceed."""
    catalog = _catalog("{pattern: '(a+)+b'}", "{pattern: '(x+x+)+y'}")
    data = (b"a" * 5000 + b"\n") * 20 + (b"x" * 5000 + b"\n") * 20
    start = time.monotonic()
    assert _hits(catalog, data) == {}
    assert time.monotonic() - start < 20


def test_unless_excludes_the_line() -> None:
    real = load_catalog()
    lines = {b"CHATWOOT_ENABLED=false": 1, b"CHATWOOT_ENABLED=true": 0, b'CHATWOOT_ENABLED: "true"': 0,
             b"CHATWOOT_ENABLED=TRUE": 1, b"CHATWOOT_ENABLED=1": 1}
    for line, expected in lines.items():
        assert _hits(real, line + b"\n").get("config.chatwoot_enabled", 0) == expected, line


def test_env_names_needs_a_name_boundary_without_lookbehind() -> None:
    real = load_catalog()
    assert _hits(real, b"API_KEY_GLOBAL=abc\n").get("config.env_names") == 1
    assert _hits(real, b"  GLOBAL_API_KEY: x\n").get("config.env_names") == 1
    assert "config.env_names" not in _hits(real, b"MY_API_KEY_GLOBAL=abc\nXAUTH_ENABLED=1\n")


def test_unicode_classes_match_portuguese_and_chinese() -> None:
    catalog = _catalog(r"{pattern: 'inst\pL+ncia \pL+ existe'}", r"{pattern: '实例\p{Han}{0,4}不存在'}")
    assert _hits(catalog, "a instância não existe\n".encode()) == {"t.sig": 1}
    assert _hits(catalog, "错误: 实例名称不存在\n".encode()) == {"t.sig": 1}
    assert _hits(catalog, b"instance does not exist\n") == {}


def test_sre_view_keeps_required_literals_only() -> None:
    assert sre_view(r"\pL+ foo[\p{Han}x]") == r"[\s\S]+ foo[\s\Sx]"
    assert sorted(literal_options(r"erro\pL{2} de conex\pLo")) == [(" de conex",), ("erro",)]
    assert ("]foo",) not in literal_options(r"[[:alpha:]]foo") and ("foo",) in literal_options(r"[[:alpha:]]foo")


def test_no_ascii_only_boundary_next_to_non_ascii_text_in_the_shipped_catalog() -> None:
    """RE2's \\b, \\w and \\s are ASCII-only: next to a non-ASCII letter they do not mean what the author meant
    (write \\pL there)."""
    near = re.compile(r"\\[bBwWsS](?:\[[^\]]*[^\x00-\x7f][^\]]*\]|[^\x00-\x7f])|(?:[^\x00-\x7f]|\[[^\]]*[^\x00-\x7f]"
                      r"[^\]]*\])\\[bBwW]")
    offenders = [(c.id, s.pattern) for c in load_catalog().checks.values() for s in c.signatures
                 if near.search(s.pattern) or (s.unless and near.search(s.unless))]
    assert offenders == []


def test_every_shipped_signature_compiles_with_re2_and_prose_is_a_field() -> None:
    sigs = [s for c in load_catalog().checks.values() for s in c.signatures]
    assert len(sigs) >= 85
    for sig in sigs:
        compile_signature(sig.pattern.encode())
        assert "(?#" not in sig.pattern and "(?<" not in sig.pattern.replace("(?P<", "")
    assert sum(s.prose for s in sigs) >= 7


def test_re2_logs_nothing_on_a_bad_pattern(tmp_path: Path) -> None:
    """RE2 would print its parse error to stderr; the catalog error is the one line."""
    bad = tmp_path / "extra.yaml"
    bad.write_text(HEAD + "      - {pattern: 'a(?=b)'}\n")
    proc = subprocess.run([sys.executable, "-m", "evodiag", "catalog", "--catalog", str(bad)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "re2.cc" not in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
    assert f"{bad}:8: check t.sig: checks[0].signatures[0].pattern" in proc.stderr + proc.stdout


def test_prose_kind_only_in_the_first_block() -> None:
    catalog = _catalog("{pattern: 'qr code never shows', kind: prose}")
    assert _hits(catalog, b"the qr code never shows\n") == {"t.sig": 1}
    result = triage_stream(io.BytesIO(b"x\n" * (3 * 1024 * 1024) + b"the qr code never shows\n"), catalog)
    assert result.diagnoses == []
