"""Bad input gets exit 2 and one clear line: never exit 4, a traceback, or a silently wrong value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import evodiag

TARGET = ("--evolution-url", "http://127.0.0.1:9")  # discard port: nothing is sent before the error


def _one_line_usage_error(proc: object) -> str:
    returncode, stderr = proc.returncode, proc.stderr  # type: ignore[attr-defined]
    assert returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evodiag: error:") and "Traceback" not in stderr, stderr
    return str(lines[0])


CONFIG_CASES = {
    "not-utf8": (b"evolution:\n  url: \"http://a\xff\xfe\"\n", "not UTF-8"),
    "deep-mapping": (("a: {" * 3000 + "}" * 3000 + "\n").encode(), "nested too deeply"),
    "deep-list": (b"[" * 5000 + b"\n", "nested too deeply"),
    "account-list": (b"chatwoot:\n  account_id: [1, 2]\n", "chatwoot.account_id: expected one value, got a list"),
    "account-word": (b"chatwoot:\n  account_id: one\n", "chatwoot.account_id: 'one' is not a whole number"),
    "unclosed-ref": (b"evolution:\n  api_key: ${UNCLOSED\n", "not a complete ${NAME} reference"),
    "crlf-url": (b'chatwoot:\n  url: "http://evo.example/\\r\\nX-Injected: 1"\n', "control character"),
    "nan-listen": (b"webhook:\n  listen_seconds: .nan\n", "not a number of seconds"),
    "negative-listen": (b"webhook:\n  listen_seconds: -5\n", "not a number of seconds"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_file(tmp_path: Path, case: str) -> None:
    content, expected = CONFIG_CASES[case]
    config = tmp_path / "evodiag.yaml"
    config.write_bytes(content)
    line = _one_line_usage_error(evodiag("check", *TARGET, "--config", str(config), cwd=tmp_path))
    assert expected in line, line


@pytest.mark.parametrize(("flags", "expected"), [
    (("--dns-server", "127.0.0.1:abc"), "PORT must be a number"),
    (("--dns-server", "dns.example:53"), "HOST must be an IP address"),
    (("--listen-seconds", "nan", "--webhook-capture", "x.jsonl"), "not a number of seconds"),
    (("--listen-seconds", "-1", "--webhook-capture", "x.jsonl"), "not a number of seconds"),
    (("--chatwoot-url", "http://chat.example/\r\nX: 1"), "control character"),
    (("--chatwoot-url", "http://:80/"), "no host name"),
])
def test_bad_flags(tmp_path: Path, flags: tuple[str, ...], expected: str) -> None:
    line = _one_line_usage_error(evodiag("check", *TARGET, *flags, cwd=tmp_path))
    assert expected in line, line


CHECK = """
checks:
  - id: custom.ping
    title: Ping
    stage: auth
    doc: {what: pings, why: because}
    request: {url: "{evolution.url}/"}
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("version: 99\n" + CHECK, "catalog version 99 is not supported"),
    (CHECK + "    timeout: -1\n", "timeout: -1 is not a number of seconds"),
    (CHECK + "    timeout: .nan\n", "is not a number of seconds"),
])
def test_bad_catalog(tmp_path: Path, text: str, expected: str) -> None:
    catalog = tmp_path / "extra.yaml"
    catalog.write_text(text)
    line = _one_line_usage_error(evodiag("catalog", "--catalog", str(catalog)))
    assert expected in line and "extra.yaml" in line, line
    _one_line_usage_error(evodiag("check", *TARGET, "--catalog", str(catalog), cwd=tmp_path))
