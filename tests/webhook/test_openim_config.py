"""OpenIM webhooks.yml + IMENV_WEBHOOKS_* reading, version fingerprint, and findings (ref openim.md §1-§5)."""

from __future__ import annotations

import pytest

from evodiag.webhook.openim_config import (
    OpenIMConfigError,
    check_webhooks_config,
    detect_version,
    load_webhooks_yaml,
    parse_webhooks_yaml,
)

from .conftest import FIXTURES

OPENIM = "https://github.com/openimsdk/open-im-server"

YML = FIXTURES / "openim"


def _codes(findings: list) -> dict[str, str]:
    return {f.code: f.severity for f in findings}


def test_parse_381_file() -> None:
    cfg = load_webhooks_yaml(YML / "webhooks_381.yml")
    assert cfg.url == "http://127.0.0.1:10006/callbackExample"
    assert cfg.hook("afterUserOnline").enable and cfg.hook("afterUserOnline").timeout == 5
    assert cfg.hook("beforeSendSingleMsg").failed_continue is True
    # `failedContinue:` left empty is YAML null, i.e. false (ref openim.md §1, beforeAddBlack).
    assert cfg.hook("beforeAddBlack").failed_continue is False
    # Keys missing from the file decode to Go zero values.
    assert not cfg.hook("afterCreateGroup").present and cfg.hook("afterCreateGroup").timeout == 0
    assert not cfg.has_type_filters and cfg.unknown_keys == []


def test_version_fingerprint() -> None:
    v381 = detect_version(load_webhooks_yaml(YML / "webhooks_381.yml"))
    v382 = detect_version(load_webhooks_yaml(YML / "webhooks_382.yml"))
    assert (v381.version, v381.at_least_382) == (None, False) and "likely" in v381.basis
    assert (v382.version, v382.at_least_382) == (None, True)
    assert detect_version(None, "openim/openim-server:v3.8.1").version == "3.8.1"
    assert detect_version(None, "[version:3.8.3-patch.16]").at_least_382 is True


def test_online_offline_on_381_fails_and_is_likely_without_version() -> None:
    cfg = load_webhooks_yaml(YML / "webhooks_381.yml")
    explicit = {f.code: f for f in check_webhooks_config(cfg, version="3.8.1")}
    f = explicit["openim.online_offline_never_sent"]
    assert f.severity == "fail" and f"{OPENIM}/pull/2716" in f.fix and f"{OPENIM}/issues/2912" in f.refs
    guessed = {f.code: f for f in check_webhooks_config(cfg)}["openim.online_offline_never_sent"]
    assert guessed.severity == "warn" and "likely" in guessed.message
    assert "openim.online_offline_never_sent" not in _codes(check_webhooks_config(cfg, version="3.8.2"))


def test_other_381_findings() -> None:
    cfg = load_webhooks_yaml(YML / "webhooks_381.yml")
    found = {f.code: f for f in check_webhooks_config(cfg, version="3.8.1", in_container=True)}
    fc = found["openim.failed_continue_ignored"]
    assert fc.severity == "warn" and "beforeSendSingleMsg" in fc.message and f"{OPENIM}/issues/3808" in fc.refs
    assert "beforeSendSingleMsg=30" in found["openim.timeout_capped"].message
    loop = found["openim.url_loopback"]
    assert loop.severity == "fail" and "shipped default" in loop.message and "container itself" in loop.message
    assert _codes(check_webhooks_config(cfg, in_container=None))["openim.url_loopback"] == "warn"


def test_382_kickoff_and_trailing_slash() -> None:
    cfg = load_webhooks_yaml(YML / "webhooks_382.yml")
    found = _codes(check_webhooks_config(cfg))
    assert found["openim.afterUserKickOff_never_sent"] == "warn"
    assert found["openim.url_trailing_slash"] == "warn"
    assert "openim.online_offline_never_sent" not in found and "openim.failed_continue_ignored" not in found
    # KickOff never fires in any version (ref openim.md §1).
    assert "openim.afterUserKickOff_never_sent" in _codes(check_webhooks_config(cfg, version="3.8.1"))


def test_env_overrides_like_viper() -> None:
    text = "url: http://127.0.0.1:10006/callbackExample\nafterUserOnline:\n  enable: false\n  timeout: 5\n"
    env = {"IMENV_WEBHOOKS_AFTERUSERONLINE_ENABLE": "true", "IMENV_WEBHOOKS_URL": "http://webhook:8000/cb",
           "IMENV_WEBHOOKS_AFTERUSERONLINE_TIMEOUT": "20",
           "IMENV_WEBHOOKS_AFTER_USER_ONLINE_ENABLE": "true",  # wrong spelling: ignored by viper
           "IMENV_WEBHOOKS_AFTERUSEROFFLINE_ENABLE": "yes",  # not a Go bool
           "IMENV_WEBHOOKS_AFTERSENDSINGLEMSG_ATTENTIONIDS": '["1","2"]',  # #3321
           "PATH": "/usr/bin"}
    cfg = parse_webhooks_yaml(text, env=env)
    online = cfg.hook("afterUserOnline")
    assert online.enable and online.timeout == 20 and online.from_env == ["enable", "timeout"]
    assert cfg.url == "http://webhook:8000/cb" and cfg.url_from_env
    assert not cfg.hook("afterUserOffline").enable
    assert cfg.hook("afterSendSingleMsg").attention_ids == ['["1"', '"2"]']
    problems = {p.var: p.reason for p in cfg.env_problems}
    assert "ignored" in problems["IMENV_WEBHOOKS_AFTER_USER_ONLINE_ENABLE"]
    assert "Go boolean" in problems["IMENV_WEBHOOKS_AFTERUSEROFFLINE_ENABLE"]
    assert "likely" in problems["IMENV_WEBHOOKS_AFTERSENDSINGLEMSG_ATTENTIONIDS"]
    found = check_webhooks_config(cfg, version="3.8.1")
    assert _codes(found)["openim.online_offline_never_sent"] == "fail"
    assert _codes(found)["openim.timeout_capped"] == "warn"
    assert sum(f.code == "openim.env_override" for f in found) == 3


def test_url_with_query_and_invalid_url() -> None:
    q = parse_webhooks_yaml("url: http://h:1/cb?contenttype=json\nafterSendSingleMsg: {enable: true}\n")
    assert "openim.url_query" in _codes(check_webhooks_config(q))
    bad = parse_webhooks_yaml("url: ''\nafterSendSingleMsg: {enable: true}\n")
    assert _codes(check_webhooks_config(bad))["openim.url_invalid"] == "fail"
    none = parse_webhooks_yaml("url: http://h:1/cb\n")
    assert list(_codes(check_webhooks_config(none))) == ["openim.none_enabled"]


def test_revoke_typo_and_case_insensitive_keys() -> None:
    cfg = parse_webhooks_yaml("url: http://h:1/cb\nAfterRevokeMsg:\n  Enable: 'true'\n")
    assert cfg.hook("afterRevokeMsg").enable
    assert "callbackBeforeAfterMsgCommand" in {f.code: f for f in check_webhooks_config(cfg)}[
        "openim.revoke_command_name"].message


def test_outdated_docs_root_key() -> None:
    cfg = load_webhooks_yaml(YML / "outdated_docs.yml")
    assert cfg.unknown_keys == ["callback"] and not cfg.enabled()
    assert _codes(check_webhooks_config(cfg))["openim.unknown_keys"] == "warn"


@pytest.mark.parametrize(("text", "fragment"), [
    ((YML / "malformed.yml").read_text(), "invalid YAML at line 4"),
    ("- a\n- b\n", "expected a mapping"),
    ("", "empty"),
    ("afterUserOnline: true\n", "afterUserOnline must be a mapping"),
    ("afterUserOnline:\n  enable: maybe\n", "must be true or false"),
    ("afterUserOnline:\n  timeout: soon\n", "whole number"),
])
def test_malformed_config_raises_one_line_error(text: str, fragment: str) -> None:
    with pytest.raises(OpenIMConfigError) as info:
        parse_webhooks_yaml(text, source="webhooks.yml")
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.startswith("webhooks.yml: ")
    # No chained yaml traceback to print.
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_missing_file() -> None:
    with pytest.raises(OpenIMConfigError, match="cannot read"):
        load_webhooks_yaml(YML / "nope.yml")
