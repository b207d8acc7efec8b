"""Settings: what to check and how. Precedence: command-line flag > ``EVODIAG_*`` environment > config file
(``evodiag.yaml`` in the working directory or ``--config PATH``).

Every option is one row of :data:`OPTIONS`: its dotted key (also the template name checks use, e.g.
``{evolution.url}``), its flag, its environment variable, and whether it is a secret. A secret is masked in
every output and is only ever sent to the origin of its own target's URL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evodiag.errors import ConfigError


@dataclass(frozen=True)
class Option:
    key: str
    flag: str
    help: str
    secret: bool = False
    kind: str = "str"  # "str" | "url" | "int" | "float" | "bool" | "paths" | "dns" (HOST[:PORT])
    metavar: str = ""  # the --help placeholder, when the kind's (URL, PATH, SECONDS...) does not say it

    @property
    def env(self) -> str:
        return "EVODIAG_" + self.flag.lstrip("-").replace("-", "_").upper()

    @property
    def placeholder(self) -> str:
        """What ``--help`` shows for the flag's value: ``URL``, ``PATH``, ``SECONDS``, ``KEY``..."""
        return self.metavar or _PLACEHOLDERS.get(self.kind, "VALUE")


_PLACEHOLDERS = {"url": "URL", "path": "PATH", "paths": "PATH", "float": "SECONDS", "int": "ID",
                 "dns": "HOST[:PORT]"}


OPTIONS: tuple[Option, ...] = (
    Option("evolution.url", "--evolution-url", "Evolution API base URL", kind="url"),
    Option("evolution.api_key", "--evolution-api-key", "Evolution global API key or instance token", secret=True,
           metavar="KEY"),
    Option("evolution.instance", "--instance", "Evolution instance NAME (routes take the name, not the ID)",
           metavar="NAME"),
    Option("chatwoot.url", "--chatwoot-url", "Chatwoot base URL", kind="url"),
    Option("chatwoot.token", "--chatwoot-token", "Chatwoot user access token (Profile > Access Token)",
           secret=True, metavar="TOKEN"),
    Option("chatwoot.account_id", "--chatwoot-account-id", "Chatwoot account id", kind="int"),
    Option("chatwoot.inbox", "--chatwoot-inbox", "Chatwoot inbox name (default: Evolution's nameInbox)",
           metavar="NAME"),
    Option("chatwoot.expect_pending", "--expect-pending", "New conversations are meant to start pending",
           kind="bool"),
    Option("chatwoot.expect_groups", "--expect-groups",
           "WhatsApp group messages are meant to reach Chatwoot (--no-expect-groups: meant to be ignored)",
           kind="bool"),
    Option("webhook.url", "--webhook-url", "Your webhook receiver URL", kind="url"),
    Option("webhook.capture", "--webhook-capture", "JSONL capture from `evodiag webhook listen`", kind="path"),
    Option("webhook.listen_seconds", "--listen-seconds", "Listen for webhook deliveries for N seconds",
           kind="float"),
    Option("openim.url", "--openim-url", "OpenIM API base URL (port 10002)", kind="url"),
    Option("openim.secret", "--openim-secret", "OpenIM share.yml secret", secret=True, metavar="SECRET"),
    Option("openim.config", "--openim-config", "OpenIM webhooks.yml path", kind="path"),
    Option("openim.version", "--openim-version", "OpenIM server version, when it cannot be detected",
           metavar="VERSION"),
    Option("s3.endpoint", "--s3-endpoint", "S3/MinIO endpoint URL used for media", kind="url"),
    Option("files.env", "--env-file", "Evolution .env file to lint (repeatable)", kind="paths"),
    Option("files.compose", "--compose-file", "docker-compose.yml to lint (repeatable)", kind="paths"),
    Option("dns.server", "--dns-server", "Resolver HOST[:PORT] for DNS checks", kind="dns"),
    Option("send.to", "--send-to", "WhatsApp number for the message round trip (needs --allow-send)",
           metavar="NUMBER"),
)
OPTIONS_BY_KEY = {opt.key: opt for opt in OPTIONS}

# A target is "configured" when its URL is set; checks declare the targets they need in `applies_when`.
TARGET_URL_KEYS = {"evolution": "evolution.url", "chatwoot": "chatwoot.url", "webhook": "webhook.url",
                   "openim": "openim.url", "s3": "s3.endpoint"}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    config_file: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        return default if value in (None, "", []) else value

    def secrets(self) -> dict[str, str]:
        """Secret values by key, for redaction and credential-origin checks."""
        return {o.key: str(self.values[o.key]) for o in OPTIONS if o.secret and self.values.get(o.key)}

    def configured_targets(self) -> set[str]:
        targets = {name for name, key in TARGET_URL_KEYS.items() if self.get(key)}
        if self.get("files.env") or self.get("files.compose"):
            targets.add("files")
        if self.get("openim.config"):
            targets.add("openim_config")
        if self.get("webhook.capture") or self.get("webhook.listen_seconds"):
            targets.add("webhook_capture")
        return targets

    def masked(self) -> dict[str, Any]:
        """Effective settings for reports: secrets shown only as set/unset."""
        out: dict[str, Any] = {}
        for key, value in sorted(self.values.items()):
            if value in (None, "", []):
                continue
            opt = OPTIONS_BY_KEY.get(key)
            out[key] = "***" if opt and opt.secret else value
        return out


def _dns_server(text: str) -> str:
    """``HOST[:PORT]`` where HOST is an IP address (the resolver to ask) and PORT 1-65535."""
    import ipaddress

    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    host = host or text
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(f"{text!r}: HOST must be an IP address (HOST[:PORT], e.g. 127.0.0.53:53)") from None
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{text!r}: PORT must be a number from 1 to 65535 (HOST[:PORT])")
    return text


def _url(text: str) -> str:
    from urllib.parse import urlsplit

    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError(f"{text!r} contains a control character (CR, LF, tab...); a URL cannot")
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        raise ValueError(f"{text!r} is not a URL (expected http:// or https://)")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"{text!r} has no host name")
    return text


def _coerce(opt: Option, value: Any, origin: str, name: str | None = None) -> Any:
    if value is None:
        return None
    try:
        if isinstance(value, (list, dict)) and opt.kind != "paths":
            raise ValueError(f"expected one value, got a {'list' if isinstance(value, list) else 'mapping'}")
        if opt.kind == "paths":
            items = value if isinstance(value, list) else str(value).split(os.pathsep)
            return [str(item) for item in items if str(item)]
        if opt.kind == "bool":
            return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
        if opt.kind == "float":
            number = float(value)
            if not 0 <= number < float("inf"):  # also false for NaN
                raise ValueError(f"{value!r} is not a number of seconds (0 or more)")
            return number
        if opt.kind == "int":
            text = str(value).strip()
            if isinstance(value, (bool, float)) or not text.isdigit():
                raise ValueError(f"{value!r} is not a whole number")
            return str(int(text))
        if opt.kind == "url":
            return _url(str(value).strip())
        if opt.kind == "dns":
            return _dns_server(str(value).strip())
        return str(value).strip() if not isinstance(value, (int, float)) else str(value)
    except ValueError as exc:
        raise ConfigError(f"{origin} {name or opt.flag}: {exc}") from None


def _expand(value: Any, env: Mapping[str, str], where: str) -> Any:
    """Expand ``${VAR}`` references in config-file values, so secrets can stay out of the file."""
    if isinstance(value, list):
        return [_expand(v, env, where) for v in value]
    if not isinstance(value, str):
        return value

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{where}: environment variable ${{{name}}} is not set")
        return env[name]

    if "${" in _ENV_REF.sub("", value):
        raise ConfigError(f"{where}: '${{' that is not a complete ${{NAME}} reference (unclosed brace?)")
    return _ENV_REF.sub(repl, value)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def read_config_file(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    from evodiag import boundedyaml

    try:
        data = boundedyaml.load(boundedyaml.read_text(path))
        flat = _flatten(data) if isinstance(data, Mapping) else {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except boundedyaml.YamlInputError as exc:
        line = f":{exc.line}" if exc.line else ""
        hint = "; save it as UTF-8" if "UTF-8" in exc.problem else ""
        raise ConfigError(f"{path}{line}: {exc.problem}{hint}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for key in flat:
        if key not in OPTIONS_BY_KEY:
            known = ", ".join(sorted({k.split('.')[0] for k in OPTIONS_BY_KEY}))
            raise ConfigError(f"{path}: unknown setting {key!r} (sections: {known})")
    return {key: _expand(value, env, f"{path}: {key}") for key, value in flat.items()}


def resolve_settings(flags: Mapping[str, Any], *, env: Mapping[str, str] | None = None,
                     config_path: Path | None = None, cwd: Path | None = None) -> Settings:
    """Merge flag values (keyed by option key), ``EVODIAG_*`` variables and the config file."""
    env = os.environ if env is None else env
    path = config_path
    if path is None and env.get("EVODIAG_CONFIG"):
        path = Path(env["EVODIAG_CONFIG"])
    if path is None and (cwd or Path.cwd()).joinpath("evodiag.yaml").is_file():
        path = (cwd or Path.cwd()) / "evodiag.yaml"
    from_file = read_config_file(path, env) if path else {}
    settings = Settings(config_file=str(path) if path else None)
    for opt in OPTIONS:
        flag_value = flags.get(opt.key)
        if flag_value not in (None, [], ()):
            settings.values[opt.key] = _coerce(opt, flag_value, "flag")
            settings.origins[opt.key] = "flag"
        elif env.get(opt.env):
            settings.values[opt.key] = _coerce(opt, env[opt.env], f"environment {opt.env}:")
            settings.origins[opt.key] = "env"
        elif from_file.get(opt.key) not in (None, ""):
            settings.values[opt.key] = _coerce(opt, from_file[opt.key], f"{path}:", opt.key)
            settings.origins[opt.key] = "file"
    return settings


TEMPLATE = """\
# evodiag configuration. Precedence: command-line flags > EVODIAG_* environment variables > this file.
# Secrets may be ${ENV_VAR} references so the file itself can be committed.

evolution:
  url: https://evolution.example.com        # --evolution-url
  api_key: ${EVOLUTION_API_KEY}             # --evolution-api-key (global key or instance token)
  instance: my-instance                     # --instance: the instance NAME, not its ID

chatwoot:
  url: https://chatwoot.example.com         # --chatwoot-url
  token: ${CHATWOOT_TOKEN}                  # --chatwoot-token: a USER token of an administrator
  account_id: 1                             # --chatwoot-account-id
  # inbox: my-instance                      # --chatwoot-inbox (default: Evolution's nameInbox)
  # expect_pending: false                   # --expect-pending: pending conversations are intended
  # expect_groups: true                    # --expect-groups / --no-expect-groups: groups in Chatwoot

# webhook:
#   url: https://hooks.example.com/evolution  # --webhook-url
#   capture: deliveries.jsonl               # --webhook-capture (from `evodiag webhook listen`)

# openim:
#   url: http://openim.example.com:10002     # --openim-url
#   secret: ${OPENIM_SECRET}                # --openim-secret
#   config: ./openim/config/webhooks.yml    # --openim-config
#   version: 3.8.2                          # --openim-version

# s3:
#   endpoint: https://s3.example.com        # --s3-endpoint

# files:
#   env: [./evolution/.env]                 # --env-file (repeatable)
#   compose: [./docker-compose.yml]         # --compose-file (repeatable)

# dns:
#   server: 127.0.0.53                      # --dns-server HOST[:PORT]
"""
