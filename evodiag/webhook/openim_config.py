"""Read OpenIM's ``config/webhooks.yml`` the way the server does, and flag settings that silently do nothing.

Why: most "OpenIM never calls my webhook" reports are not network problems but configuration that the
server reads and then ignores — online/offline hooks on 3.8.0/3.8.1, ``afterUserKickOff`` everywhere,
``failedContinue`` everywhere, a ``webhooks.yml`` edited inside a container whose environment overrides it.
This module reproduces the effective configuration (file + ``IMENV_WEBHOOKS_*`` environment)
and turns the known traps into findings.

The environment arrives as a plain dict: parsing ``.env`` or compose files is someone else's job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from evodiag import boundedyaml

# The keys of OpenIM v3.8.1 config/webhooks.yml, in file order.
BEFORE_KEYS = (
    "beforeSendSingleMsg", "beforeUpdateUserInfoEx", "beforeSendGroupMsg", "beforeMsgModify",
    "beforeOfflinePush", "beforeOnlinePush", "beforeGroupOnlinePush", "beforeAddFriend",
    "beforeUpdateUserInfo", "beforeCreateGroup", "beforeMemberJoinGroup", "beforeSetGroupMemberInfo",
    "beforeApplyJoinGroup", "beforeUserRegister", "beforeSetFriendRemark", "beforeInviteUserToGroup",
    "beforeSetGroupInfo", "beforeSetGroupInfoEx", "beforeAddBlack", "beforeAddFriendAgree",
    "beforeImportFriends",
)
AFTER_KEYS = (
    "afterUpdateUserInfoEx", "afterSendSingleMsg", "afterSendGroupMsg", "afterUserOnline",
    "afterUserOffline", "afterUserKickOff", "afterUpdateUserInfo", "afterCreateGroup",
    "afterSetGroupMemberInfo", "afterQuitGroup",
    "afterKickGroupMember", "afterDismissGroup", "afterGroupMsgRead", "afterSingleMsgRead",
    "afterUserRegister", "afterTransferGroupOwner", "afterSetFriendRemark", "afterGroupMsgRevoke",
    "afterJoinGroup", "afterSetGroupInfo", "afterSetGroupInfoEx", "afterRevokeMsg", "afterAddFriend",
    "afterAddFriendAgree", "afterDeleteFriend", "afterImportFriends", "afterRemoveBlack",
)
# v3.8.2 adds allowedTypes/deniedTypes under these five (PR #2703, "Msg filter").
TYPE_FILTER_KEYS = ("beforeSendSingleMsg", "afterSendSingleMsg", "beforeSendGroupMsg", "beforeMsgModify",
                    "afterSendGroupMsg")

# Keys that never fire (from reading the code of each tag).
NEVER_CALLED: dict[str, tuple[str, ...]] = {
    "3.8.0": ("afterUserOnline", "afterUserOffline", "afterUserKickOff", "afterGroupMsgRevoke",
              "beforeAddBlack", "afterRemoveBlack"),
    "3.8.1": ("afterUserOnline", "afterUserOffline", "afterUserKickOff", "afterGroupMsgRevoke"),
    "3.8.2+": ("afterUserKickOff", "afterGroupMsgRevoke"),
}

DEFAULT_URL = "http://127.0.0.1:10006/callbackExample"  # line 1 of webhooks.yml
HTTP_CLIENT_CAP_S = 15  # shared http.Client Timeout 15 s (from the code)
ENV_PREFIX = "IMENV_WEBHOOKS_"  # environment overrides

# Go's strconv.ParseBool, which the weakly typed decode of an env string into a bool uses.
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})

Severity = Literal["fail", "warn", "info"]


class OpenIMConfigError(Exception):
    """The configuration cannot be read at all. ``str(exc)`` is one line, fit to print without a traceback."""


@dataclass
class HookConfig:
    """One ``before…``/``after…`` block as the server would decode it (missing keys = Go zero values)."""

    name: str
    kind: Literal["before", "after"]
    present: bool = False
    enable: bool = False
    timeout: int = 0
    failed_continue: bool | None = None  # Before hooks only
    attention_ids: list[str] = field(default_factory=list)  # After hooks only
    allowed_types: list[str] | None = None  # None = key absent (≤3.8.1 file)
    denied_types: list[str] | None = None
    from_env: list[str] = field(default_factory=list)  # fields set by IMENV_WEBHOOKS_*


@dataclass(frozen=True)
class EnvProblem:
    var: str
    value: str
    reason: str


@dataclass
class WebhooksConfig:
    url: str
    hooks: dict[str, HookConfig]
    source: str = "webhooks.yml"
    url_from_env: bool = False
    unknown_keys: list[str] = field(default_factory=list)
    env_applied: dict[str, str] = field(default_factory=dict)
    env_problems: list[EnvProblem] = field(default_factory=list)

    @property
    def has_type_filters(self) -> bool:
        """``allowedTypes``/``deniedTypes`` keys present anywhere: the file comes from ≥3.8.2."""
        return any(h.allowed_types is not None or h.denied_types is not None for h in self.hooks.values())

    def enabled(self) -> list[HookConfig]:
        return [h for h in self.hooks.values() if h.enable]

    def hook(self, name: str) -> HookConfig:
        return self.hooks[_canonical_key(name) or name]


_ALL_KEYS = {k.lower(): k for k in (*BEFORE_KEYS, *AFTER_KEYS)}
_FIELDS = {"enable": "enable", "timeout": "timeout", "failedcontinue": "failed_continue",
           "attentionids": "attention_ids", "allowedtypes": "allowed_types", "deniedtypes": "denied_types"}
_LIST_FIELDS = frozenset({"attention_ids", "allowed_types", "denied_types"})


def _canonical_key(name: str) -> str | None:
    # viper lower-cases every key, so `AfterUserOnline` in the file works like `afterUserOnline`.
    return _ALL_KEYS.get(name.lower())


def _as_bool(value: Any, where: str, source: str) -> bool:
    if value is None:
        return False  # `failedContinue:` left empty decodes to false (beforeAddBlack in webhooks.yml)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and (value in _GO_TRUE or value in _GO_FALSE or value == ""):
        return value in _GO_TRUE
    raise OpenIMConfigError(f"{source}: {where} must be true or false, not {value!r}")


def _as_int(value: Any, where: str, source: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise OpenIMConfigError(f"{source}: {where} must be a whole number of seconds, not {value!r}")


def _as_list(value: Any, where: str, source: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, (str, int)):
        return [str(value)]
    raise OpenIMConfigError(f"{source}: {where} must be a list, not {type(value).__name__}")


def _hook_from_yaml(name: str, raw: Any, source: str) -> HookConfig:
    kind: Literal["before", "after"] = "before" if name.startswith("before") else "after"
    hook = HookConfig(name=name, kind=kind, present=True)
    if raw is None:
        return hook
    if not isinstance(raw, dict):
        raise OpenIMConfigError(f"{source}: {name} must be a mapping (enable, timeout, …), "
                                f"not {type(raw).__name__}")
    for key, value in raw.items():
        attr = _FIELDS.get(str(key).lower())
        where = f"{name}.{key}"
        if attr == "enable":
            hook.enable = _as_bool(value, where, source)
        elif attr == "timeout":
            hook.timeout = _as_int(value, where, source)
        elif attr == "failed_continue":
            hook.failed_continue = _as_bool(value, where, source)
        elif attr in _LIST_FIELDS:
            setattr(hook, attr, _as_list(value, where, source))
    return hook


def parse_webhooks_yaml(text: str, *, env: Mapping[str, str] | None = None,
                        source: str = "webhooks.yml") -> WebhooksConfig:
    """Parse ``webhooks.yml`` text and apply ``IMENV_WEBHOOKS_*`` overrides from ``env``.

    Raises :class:`OpenIMConfigError` (one-line message) when the YAML is malformed or not shaped like a
    webhooks file.
    """
    try:
        data = boundedyaml.load(text)
    except boundedyaml.YamlInputError as exc:
        where = f" at line {exc.line}" if exc.line else ""
        problem = exc.problem.replace("invalid YAML: ", f"invalid YAML{where}: ", 1) if where else exc.problem
        raise OpenIMConfigError(f"{source}: {problem}") from None
    if data is None:
        raise OpenIMConfigError(f"{source}: the file is empty")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise OpenIMConfigError(f"{source}: expected a mapping of webhook settings, got {kind}")
    url = ""
    hooks: dict[str, HookConfig] = {}
    unknown: list[str] = []
    for key, raw in data.items():
        skey = str(key)
        if skey.lower() == "url":
            url = "" if raw is None else str(raw)
            continue
        name = _canonical_key(skey)
        if name is None:
            unknown.append(skey)
            continue
        hooks[name] = _hook_from_yaml(name, raw, source)
    for name in (*BEFORE_KEYS, *AFTER_KEYS):
        if name not in hooks:
            hooks[name] = HookConfig(name=name, kind="before" if name.startswith("before") else "after")
    config = WebhooksConfig(url=url, hooks=hooks, source=source, unknown_keys=unknown)
    if env:
        apply_env_overrides(config, env)
    return config


def load_webhooks_yaml(path: str | Path, *, env: Mapping[str, str] | None = None) -> WebhooksConfig:
    p = Path(path)
    try:
        text = boundedyaml.read_text(p, replace_invalid=True)
    except OSError as exc:
        raise OpenIMConfigError(f"{p}: cannot read ({exc.strerror or exc})") from None
    except boundedyaml.YamlInputError as exc:
        raise OpenIMConfigError(f"{p}: {exc.problem}") from None
    return parse_webhooks_yaml(text, env=env, source=str(p))


def _split_env_list(value: str) -> list[str]:
    # viper's decoder turns a string into a slice by splitting on "," (StringToSliceHookFunc(",")), so a
    # JSON-looking list keeps its brackets and quotes: '["1","2"]' → ['["1"', '"2"]'] (likely the
    # mechanism behind https://github.com/openimsdk/open-im-server/issues/3321; its root cause is not confirmed).
    return [] if value == "" else value.split(",")


def apply_env_overrides(config: WebhooksConfig, env: Mapping[str, str]) -> None:
    """Apply viper ``AutomaticEnv`` overrides: key ``afterUserOnline.enable`` ↔ env
    ``IMENV_WEBHOOKS_AFTERUSERONLINE_ENABLE`` (upper case, ``.`` → ``_``)."""
    by_env: dict[str, tuple[str, str | None]] = {f"{ENV_PREFIX}URL": ("url", None)}
    for name in config.hooks:
        for field_key, field_attr in _FIELDS.items():
            by_env[f"{ENV_PREFIX}{name.upper()}_{field_key.upper()}"] = (name, field_attr)
    for var, value in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        target = by_env.get(var)
        if target is None:
            config.env_problems.append(EnvProblem(var, value, "matches no webhooks key, so it is ignored"))
            continue
        name, attr = target
        if attr is None:
            config.url = value
            config.url_from_env = True
            config.env_applied[var] = value
            continue
        hook = config.hooks[name]
        if attr in ("enable", "failed_continue"):
            if value not in _GO_TRUE and value not in _GO_FALSE and value != "":
                config.env_problems.append(EnvProblem(var, value, "is not a Go boolean (true/false/1/0)"))
                continue
            setattr(hook, attr, value in _GO_TRUE)
        elif attr == "timeout":
            if not re.fullmatch(r"-?\d+", value.strip()):
                config.env_problems.append(EnvProblem(var, value, "is not a whole number of seconds"))
                continue
            hook.timeout = int(value)
        else:
            items = _split_env_list(value)
            setattr(hook, attr, items)
            if any(ch in value for ch in "[]\""):
                config.env_problems.append(EnvProblem(
                    var, value, f"is likely split on ',' into {items!r}, brackets and quotes included "
                    "(https://github.com/openimsdk/open-im-server/issues/3321); write it as 1,2"))
        hook.from_env.append(attr)
        config.env_applied[var] = value


# ------------------------------------------------------------------------------------------------------
# Version
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionGuess:
    """``version`` when known exactly; otherwise ``at_least_382`` from the file's fingerprint."""

    version: str | None
    at_least_382: bool | None
    basis: str


def _parse_version(text: str) -> tuple[int, int, int] | None:
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def detect_version(config: WebhooksConfig | None = None, explicit: str | None = None) -> VersionGuess:
    """Explicit version (image tag, ``[version:3.8.1]`` log line, ``version/version`` file) wins; else the
    ``allowedTypes``/``deniedTypes`` fingerprint. No 3.8.x exposes its version over HTTP."""
    if explicit:
        v = _parse_version(explicit)
        if v is not None:
            return VersionGuess(".".join(map(str, v)), v >= (3, 8, 2), f"given: {explicit}")
    if config is not None and config.has_type_filters:
        return VersionGuess(None, True, "webhooks.yml has allowedTypes/deniedTypes (added in 3.8.2; the file "
                                        "could also have been copied from a newer release)")
    if config is not None:
        return VersionGuess(None, False, "webhooks.yml has no allowedTypes/deniedTypes, so it likely comes "
                                         "from 3.8.1 or earlier")
    return VersionGuess(None, None, "unknown")


# ------------------------------------------------------------------------------------------------------
# Findings
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfigFinding:
    code: str
    severity: Severity
    message: str
    fix: str = ""
    refs: tuple[str, ...] = ()


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


def _check_url(config: WebhooksConfig, in_container: bool | None) -> list[ConfigFinding]:
    out: list[ConfigFinding] = []
    url = config.url.strip()
    if not config.enabled():
        return out
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.netloc:
        out.append(ConfigFinding(
            "openim.url_invalid", "fail",
            f"webhooks url {url!r} is not an http(s) URL, yet {len(config.enabled())} hook(s) are enabled",
            "set `url` (or IMENV_WEBHOOKS_URL) to the receiver's base URL", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml",)))
        return out
    if url.endswith("/"):
        out.append(ConfigFinding(
            "openim.url_trailing_slash", "warn",
            f"webhooks url ends with '/': OpenIM posts to {url}/<callbackCommand>, i.e. a '//' path",
            "remove the trailing slash", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71",)))
    if split.query:
        out.append(ConfigFinding(
            "openim.url_query", "warn",
            f"webhooks url has a query string ({split.query!r}): OpenIM appends '/<callbackCommand>' to the "
            "whole URL, so the command ends up inside the query and the receiver likely never sees it",
            "use a plain base URL; older docs' ?command= / ?contenttype=json forms are outdated",
            ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71",)))
    host = (split.hostname or "").lower()
    if host in _LOOPBACK_HOSTS:
        default = " (the shipped default)" if url == DEFAULT_URL else ""
        if in_container is True:
            out.append(ConfigFinding(
                "openim.url_loopback", "fail",
                f"webhooks url {url}{default} points at {host}: inside a container that is the container "
                "itself, not your receiver",
                "use the receiver's service name or host address reachable from every OpenIM container "
                "(the msggateway sends online/offline)", ()))
        else:
            out.append(ConfigFinding(
                "openim.url_loopback", "warn" if in_container is None else "info",
                f"webhooks url {url}{default} points at {host}: fine on a single host, but if OpenIM runs "
                "in Docker it reaches the container itself",
                "in Docker, use an address reachable from every OpenIM container", ()))
    if split.scheme == "https":
        out.append(ConfigFinding(
            "openim.url_https", "info",
            "https receiver: the open-source client uses the system trust store (no custom CA or "
            "insecureSkipVerify), so a private CA fails", "use a publicly trusted certificate or plain "
            "http on a private network", ("https://github.com/openimsdk/open-im-server/issues/3069",)))
    return out


def check_webhooks_config(config: WebhooksConfig, *, version: str | None = None,
                          in_container: bool | None = None) -> list[ConfigFinding]:
    """All findings for an effective configuration. ``version`` is an explicit version string if known."""
    guess = detect_version(config, version)
    v = _parse_version(guess.version) if guess.version else None
    findings: list[ConfigFinding] = []
    hooks = config.hooks

    # Online/offline on 3.8.0/3.8.1 (https://github.com/openimsdk/open-im-server/pull/2716).
    online_offline = [n for n in ("afterUserOnline", "afterUserOffline") if hooks[n].enable]
    if online_offline:
        names = " and ".join(online_offline)
        if v is not None and v[:2] == (3, 8) and v[2] <= 1:
            findings.append(ConfigFinding(
                "openim.online_offline_never_sent", "fail",
                f"{names} enabled, but OpenIM {guess.version} never sends these callbacks (the msggateway "
                "calls were commented out in 3.8.0)",
                "upgrade to 3.8.2 or later (https://github.com/openimsdk/open-im-server/pull/2716)",
                ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/internal/msggateway/ws_server.go#L97-L107",
                 "https://github.com/openimsdk/open-im-server/issues/2520",
                 "https://github.com/openimsdk/open-im-server/issues/2594",
                 "https://github.com/openimsdk/open-im-server/issues/2912",
                 "https://github.com/openimsdk/open-im-server/pull/2716")))
        elif v is None and guess.at_least_382 is False:
            findings.append(ConfigFinding(
                "openim.online_offline_never_sent", "warn",
                f"{names} enabled, and the file has no allowedTypes/deniedTypes, so the server is likely "
                "3.8.0/3.8.1, which never sends these callbacks",
                "confirm the version (image tag, `[version:…]` in logs); on 3.8.0/3.8.1 upgrade to 3.8.2 "
                "(https://github.com/openimsdk/open-im-server/pull/2716)", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/internal/msggateway/ws_server.go#L97-L107",
                "https://github.com/openimsdk/open-im-server/issues/2912",
                "https://github.com/openimsdk/open-im-server/pull/2716")))
        findings.append(ConfigFinding(
            "openim.online_offline_sender", "info",
            "online/offline callbacks are sent by openim-msggateway (merged on a 1 s ticker, and online "
            "repeats about every 10 min for long connections): check the msggateway's own config and that "
            "its host reaches the url", "de-duplicate online callbacks in the receiver",
            ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml", "https://github.com/openimsdk/open-im-server/blob/v3.8.1/internal/msggateway/ws_server.go#L97-L107")))

    # Keys with no live caller.
    if v is not None and v[:3] == (3, 8, 0):
        dead = NEVER_CALLED["3.8.0"]
    elif v is not None and v[:3] == (3, 8, 1):
        dead = NEVER_CALLED["3.8.1"]
    else:
        dead = NEVER_CALLED["3.8.2+"]
    for name in dead:
        if name in ("afterUserOnline", "afterUserOffline") or not hooks[name].enable:
            continue
        if name in NEVER_CALLED["3.8.2+"]:
            message = f"{name} is enabled but no code calls it in any checked 3.8.x release"
        else:
            message = f"{name} is enabled but OpenIM {guess.version} never calls it"
        findings.append(ConfigFinding(f"openim.{name}_never_sent", "warn", message,
                                      f"do not rely on {name}", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml",)))

    # failedContinue (https://github.com/openimsdk/open-im-server/issues/3808).
    before_on = [h for h in hooks.values() if h.kind == "before" and h.enable]
    if before_on:
        misleading = [h.name for h in before_on if h.failed_continue]
        detail = (f"; failedContinue: true on {', '.join(misleading)} is ignored" if misleading else "")
        findings.append(ConfigFinding(
            "openim.failed_continue_ignored", "warn",
            f"{len(before_on)} Before hook(s) enabled ({', '.join(h.name for h in before_on)}): if the "
            f"receiver errors, times out or answers non-JSON, the user operation fails{detail}",
            "keep the receiver fast and always answer {\"actionCode\":0,\"errCode\":0,\"errMsg\":\"\","
            "\"errDlt\":\"\",\"nextCode\":0}", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71",
            "https://github.com/openimsdk/open-im-server/issues/3808")))

    # Timeouts capped at 15 s.
    capped = [h for h in config.enabled() if h.timeout > HTTP_CLIENT_CAP_S]
    if capped:
        findings.append(ConfigFinding(
            "openim.timeout_capped", "warn",
            "timeout above 15 s has no effect, the shared http.Client gives up after 15 s: "
            + ", ".join(f"{h.name}={h.timeout}" for h in capped),
            "answer within 15 s", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71",
            "https://github.com/openimsdk/open-im-server/issues/3045")))

    if hooks["afterRevokeMsg"].enable:
        findings.append(ConfigFinding(
            "openim.revoke_command_name", "info",
            "afterRevokeMsg is posted to <url>/callbackBeforeAfterMsgCommand (misnamed constant upstream)",
            "route that path in the receiver", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71",)))

    if config.has_type_filters and v is not None and v < (3, 8, 2):
        findings.append(ConfigFinding(
            "openim.type_filters_unsupported", "info",
            f"allowedTypes/deniedTypes were added in 3.8.2; OpenIM {guess.version} ignores them",
            "", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml", "https://github.com/openimsdk/open-im-server/pull/2703")))

    findings.extend(_check_url(config, in_container))

    for problem in config.env_problems:
        findings.append(ConfigFinding(
            "openim.env_override", "warn", f"{problem.var}={problem.value!r} {problem.reason}",
            "variable names are IMENV_WEBHOOKS_<KEY>_<FIELD> in upper case, e.g. "
            "IMENV_WEBHOOKS_AFTERUSERONLINE_ENABLE=true", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml",)))
    if config.unknown_keys:
        findings.append(ConfigFinding(
            "openim.unknown_keys", "warn",
            f"{config.source}: unknown top-level key(s) {', '.join(config.unknown_keys)} are ignored (a "
            "`callback:` root key comes from outdated docs)",
            "put url and the hook blocks at the top level", ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml",
            "https://github.com/openimsdk/open-im-server/issues/2629")))
    if not config.enabled():
        findings.append(ConfigFinding(
            "openim.none_enabled", "info", "no webhook is enabled (file plus IMENV_WEBHOOKS_* environment)",
            "in Docker, enable hooks through IMENV_WEBHOOKS_* in the openim-server environment",
            ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml",)))
    return findings
