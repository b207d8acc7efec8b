"""URL lint: one test per problem code, plus clean URLs."""

from __future__ import annotations

import pytest

from evodiag.netinfo import lint_url, mask_url


def codes(url: str, appends: bool = True) -> list[str]:
    return [p.code for p in lint_url(url, receiver_appends_path=appends)]


@pytest.mark.parametrize(
    "url",
    ["https://evo.example.com", "http://evolution_api:8080", "https://evo.example.com/base", "http://[::1]:8080"],
)
def test_clean(url: str) -> None:
    assert codes(url) == []


def test_trailing_slash_only_matters_when_receiver_appends() -> None:
    assert codes("https://evo.example.com/") == ["trailing-slash"]
    assert codes("https://hooks.example.com/hook/") == ["trailing-slash"]
    assert codes("https://hooks.example.com/hook/", appends=False) == []


def test_double_slash() -> None:
    assert codes("https://evo.example.com//chatwoot/webhook/x", appends=False) == ["double-slash"]


def test_undefined_server_url() -> None:
    # unset SERVER_URL in v2: `${undefined}/chatwoot/webhook/x` (evolution-api.md §5.4)
    assert codes("undefined/chatwoot/webhook/x", appends=False) == ["bad-scheme", "undefined"]
    assert codes("http://undefined/chatwoot/webhook/x", appends=False) == ["undefined"]
    assert codes("https://evo.example.com/undefined/webhook", appends=False) == ["undefined"]


def test_scheme() -> None:
    assert codes("evo.example.com/hook", appends=False) == ["bad-scheme"]
    problems = lint_url("ftp://evo.example.com", receiver_appends_path=False)
    assert [p.code for p in problems] == ["bad-scheme"] and "'ftp'" in problems[0].message


def test_empty_and_empty_host() -> None:
    assert codes("") == ["empty"]
    assert codes("   ") == ["empty"]
    assert codes("http:///path", appends=False) == ["empty-host"]


def test_credentials_are_masked() -> None:
    problems = lint_url("https://admin:s3cret@evo.example.com/hook", receiver_appends_path=False)
    assert [p.code for p in problems] == ["credentials"]
    assert problems[0].masked == "https://admin:***@evo.example.com/hook"
    assert "s3cret" not in problems[0].message
    assert mask_url("https://admin:s3cret@evo.example.com") == "https://admin:***@evo.example.com"
    assert mask_url("https://evo.example.com/x") == "https://evo.example.com/x"
    # a secret never leaks through another problem's message either
    assert all("s3cret" not in p.message for p in lint_url("https://u:s3cret@h//x/", receiver_appends_path=True))


def test_other_problems() -> None:
    assert codes("https://evo.example.com:99999", appends=False) == ["bad-port"]
    assert codes("https://${SERVER_HOST}/x", appends=False) == ["unexpanded-variable"]
    assert codes(" https://evo.example.com", appends=False) == ["whitespace"]
    assert codes("https://hooks.example.com/hook?token=1") == ["query-before-append"]
    assert codes("https://hooks.example.com/hook?token=1", appends=False) == []


def test_messages_are_one_line() -> None:
    for url in ("", "undefined/x", "https://a:b@h//x/", "ftp://x", "https://h:0x"):
        for problem in lint_url(url, receiver_appends_path=True):
            assert "\n" not in problem.message and problem.code
