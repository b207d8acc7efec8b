"""Image guessing, known variable names, did-you-mean, default keys, interpolation."""

from __future__ import annotations

import pytest

from evodiag.envfiles import (
    DEFAULT_API_KEYS,
    EVOLUTION_ENV_NAMES,
    REFERENCE_NAMES,
    Product,
    did_you_mean,
    guess_product,
    interpolate,
    is_default_api_key,
    is_known_evolution_name,
    parse_image,
)


@pytest.mark.parametrize(
    ("image", "product", "version"),
    [
        ("atendai/evolution-api:v2.2.3", Product.EVOLUTION, "2.2.3"),
        ("evoapicloud/evolution-api:v2.3.6", Product.EVOLUTION, "2.3.6"),
        ("atendai/evolution-api:v1.8.2", Product.EVOLUTION, "1.8.2"),
        ("atendai/evolution-api:latest", Product.EVOLUTION, None),
        ("atendai/evolution-api", Product.EVOLUTION, None),
        ("chatwoot/chatwoot:v3.8.0", Product.CHATWOOT, "3.8.0"),
        ("chatwoot/chatwoot:v4.2.0-ce", Product.CHATWOOT, "4.2.0"),
        ("openim/openim-server:release-v3.8.1", Product.OPENIM, "3.8.1"),
        ("ghcr.io/openimsdk/openim-server:v3.8.3-patch.16", Product.OPENIM, "3.8.3-patch.16"),
        ("registry.example.com:5000/mirror/evolution-api:2.3.0-rc1", Product.EVOLUTION, "2.3.0-rc1"),
        ("postgres:15", None, None),
        ("redis:7.2-alpine", None, "7.2"),
    ],
)
def test_guess_product(image: str, product: Product | None, version: str | None) -> None:
    assert guess_product(image) == (product, version)


def test_parse_image_parts() -> None:
    info = parse_image("registry.example.com:5000/mirror/evolution-api:v2.3.6@sha256:abc")
    assert (info.registry, info.repository, info.tag, info.digest) == (
        "registry.example.com:5000",
        "mirror/evolution-api",
        "v2.3.6",
        "sha256:abc",
    )
    assert info.name == "evolution-api"


def test_known_names() -> None:
    for name in (
        "AUTHENTICATION_API_KEY",
        "SERVER_URL",
        "CHATWOOT_ENABLED",
        "WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS",
        "CHATWOOT_IMPORT_PLACEHOLDER_MEDIA_MESSAGE",
        "S3_ENDPOINT",
        "DATABASE_CONNECTION_URI",
    ):
        assert is_known_evolution_name(name), name
    assert is_known_evolution_name("WEBHOOK_EVENTS_GROUPS_UPDATE")
    assert is_known_evolution_name("WEBHOOK_EVENTS_SOMETHING_NEW")  # family prefix
    assert not is_known_evolution_name("API_KEY_GLOBAL")
    assert not is_known_evolution_name("server_url")  # Node's process.env is case-sensitive
    assert REFERENCE_NAMES <= EVOLUTION_ENV_NAMES


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("API_KEY_GLOBAL", "AUTHENTICATION_API_KEY"),
        ("AUTH_ENABLED", "AUTHENTICATION_API_KEY"),
        ("GLOBAL_API_KEY", "AUTHENTICATION_API_KEY"),
        ("CHATWOOT_IMPORT_DATABASE_PLACEHOLDER_MEDIA_MESSAGE", "CHATWOOT_IMPORT_PLACEHOLDER_MEDIA_MESSAGE"),
        ("AUTHENTICATION_APIKEY", "AUTHENTICATION_API_KEY"),
        ("SERVER_URLL", "SERVER_URL"),
        ("server_url", "SERVER_URL"),
        ("CHATWOOT_ENABLE", "CHATWOOT_ENABLED"),
        ("WEBHOOK_GLOBAL_BY_EVENTS", "WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS"),
        ("SERVER_URL", None),
        ("POSTGRES_PASSWORD", None),
    ],
)
def test_did_you_mean(name: str, expected: str | None) -> None:
    assert did_you_mean(name, EVOLUTION_ENV_NAMES) == expected


def test_default_keys() -> None:
    assert set(DEFAULT_API_KEYS) == {
        "B6D711FCDE4D4FD5936544120E713976",
        "429683C4C977415CAAFCCE10F7D57E11",
        "BQYHJGJHJ",
    }
    assert is_default_api_key(" 429683C4C977415CAAFCCE10F7D57E11 ")
    assert not is_default_api_key("my-own-key")


@pytest.mark.parametrize(
    ("text", "value", "unset"),
    [
        ("${A}", "a", []),
        ("$A-$B", "a-", ["B"]),
        ("${B:-def}", "def", []),
        ("${E:-def}", "def", []),  # ':-' treats empty as unset
        ("${E-def}", "", []),  # '-' only replaces unset
        ("${A:+alt}", "alt", []),
        ("${B:-${A}x}", "ax", []),  # nested default
        ("$$A", "$A", []),
        ("cost 5$", "cost 5$", []),
    ],
)
def test_interpolate(text: str, value: str, unset: list[str]) -> None:
    env = {"A": "a", "E": ""}
    res = interpolate(text, env.get)
    assert (res.value, res.unset, res.errors) == (value, unset, [])


def test_interpolate_errors() -> None:
    assert interpolate("${B:?must be set}", {}.get).errors == ["required variable B is missing a value: must be set"]
    assert interpolate("${A", {}.get).errors and interpolate("${1x}", {}.get).errors
