"""Property-based tests (hypothesis): whatever a user feeds evodiag's parsers — config file, catalog, .env, compose,
URL, triage input, webhook capture, OpenIM webhooks.yml — the answer is a result or one clear one-line error
(exit 2 where the input is a usage error), never a traceback, a hang or unbounded work. Examples are bounded and
``deadline=None`` so two busy cores do not make them flaky."""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evodiag.catalog.loader import load_catalog, load_catalog_text
from evodiag.config import read_config_file
from evodiag.envfiles.compose import parse_compose
from evodiag.envfiles.dotenv import parse_dotenv_text
from evodiag.envfiles.model import EnvFileError
from evodiag.errors import CatalogError, ConfigError
from evodiag.netinfo.urls import lint_url
from evodiag.triage import triage_stream
from evodiag.webhook.analyze import analyze, parse_lines
from evodiag.webhook.openim_config import OpenIMConfigError, parse_webhooks_yaml

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_BOUND_S = 20  # per example: only unbounded work exceeds it

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=40))
json_like = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)), max_leaves=30)
# YAML-ish text: structure from real YAML, plus fragments that stress the parser (anchors, aliases, nesting, tags).
fragments = st.sampled_from(["&a [1, 2]", "*a", "<<: *a", "{", "}", "[", "]", "- ", ": ", "!!python/object:os.system",
                             "\t", "\n", "'", '"', "${UNCLOSED", "${X:-y}", "\xff", "#", "---", "...", "? ", "%YAML"])
yaml_text = st.one_of(
    json_like.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    st.lists(st.one_of(fragments, st.text(max_size=10)), max_size=30).map("".join),
    st.integers(1, 3000).map(lambda n: "a: " + "[" * n + "]" * n),
    st.integers(1, 200).map(lambda n: "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "v: 1\n"),
)


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message, repr(message)
    return message


@BOUNDED
@given(yaml_text)
def test_config_file_gives_settings_or_exit_2(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evodiag.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        start = time.monotonic()
        try:
            values = read_config_file(path, {})
            assert isinstance(values, dict)
        except ConfigError as exc:
            one_line(exc)
            assert exc.exit_code == 2
        assert time.monotonic() - start < SLOW_BOUND_S


@BOUNDED
@given(yaml_text)
def test_catalog_text_gives_a_catalog_or_exit_2(text: str) -> None:
    try:
        catalog = load_catalog_text(text, "cat.yaml")
        assert isinstance(catalog.checks, dict)
    except CatalogError as exc:
        assert one_line(exc).startswith("cat.yaml") and exc.exit_code == 2


@BOUNDED
@given(st.lists(st.one_of(st.text(max_size=60), st.sampled_from(
    ["export A=1", "A='x", 'B="a\\', "C=${D:-${E}}", "=x", "A B=c", "K=v # c", "\r", "\x00", "${"])), max_size=40))
def test_dotenv_parser_never_raises(lines: list[str]) -> None:
    env = parse_dotenv_text("\n".join(lines), ".env", interpolate=True, environ={"E": "e"})
    for problem in env.problems:
        assert "\n" not in str(problem.message)


@BOUNDED
@given(yaml_text)
def test_compose_parser_gives_a_file_or_one_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docker-compose.yml"
        path.write_text("services:\n  evo:\n    image: atendai/evolution-api\n" + text if len(text) % 2 else text,
                        encoding="utf-8")
        try:
            parse_compose(str(path), environ={})
        except EnvFileError as exc:
            one_line(exc)


@BOUNDED
@given(st.one_of(st.text(max_size=200), st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https", "ftp", "", "HTTP"]), st.text(max_size=30),
    st.sampled_from(["", ":80", ":99999", ":abc", ":"]), st.text(max_size=30))), st.booleans())
def test_url_lint_gives_a_list(url: str, appends: bool) -> None:
    problems = lint_url(url, receiver_appends_path=appends)
    assert isinstance(problems, list)


@pytest.fixture(scope="module")
def real_catalog() -> Any:
    return load_catalog()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=4000), st.lists(st.sampled_from([
    b"apikey 401", b"CHATWOOT_ENABLED=false", b"a" * 5000, b"\xff\xfe", b"(a+)+b", b"\r\n", b"Evolution API v2.3.6",
    b"inst\xc3\xa2ncia n\xc3\xa3o existe", b'{"event":"messages.upsert","data":{"key":{"id":"3EB0AAAAAAAAAA"}}}']),
    max_size=50).map(b"\n".join)))
def test_triage_gives_a_result(real_catalog: Any, data: bytes) -> None:
    start = time.monotonic()
    result = triage_stream(io.BytesIO(data), real_catalog)
    assert result.lines <= data.count(b"\n") + 1
    assert time.monotonic() - start < SLOW_BOUND_S


@BOUNDED
@given(st.lists(st.one_of(st.text(max_size=80), json_like.map(json.dumps), st.builds(
    lambda body, path: json.dumps({"received_at": 1.0, "path": path, "headers": {}, "body": body}),
    json_like, st.sampled_from(["/", "/messages-upsert", "//x", "/callbackAfterUserOnlineCommand"]))), max_size=20))
def test_capture_analysis_gives_a_result(lines: list[str]) -> None:
    loaded = parse_lines([*lines, "[" * 100_000 + "]" * 100_000])
    report = analyze(loaded.deliveries, malformed=loaded.malformed)
    assert report.total == len(loaded.deliveries) and len(loaded.malformed) >= 1


@BOUNDED
@given(yaml_text)
def test_webhooks_yml_gives_a_config_or_one_line(text: str) -> None:
    try:
        parse_webhooks_yaml(text, source="webhooks.yml")
    except OpenIMConfigError as exc:
        assert one_line(exc).startswith("webhooks.yml")
