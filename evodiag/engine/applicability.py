"""Why a check does not apply to this run, in words a user can act on ("not applicable: no .env or compose file
given — pass --env-file or --compose-file"), never a bare setting or check id in parentheses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evodiag.catalog.model import AppliesWhen, Matcher
from evodiag.config import OPTIONS_BY_KEY
from evodiag.engine import jsonpath
from evodiag.engine.conditions import match_value

# What the user gives so checks about each target run (the names are Settings.configured_targets()).
TARGET_HINTS = {
    "evolution": "no Evolution URL given — pass --evolution-url",
    "chatwoot": "no Chatwoot URL given — pass --chatwoot-url",
    "webhook": "no webhook receiver URL given — pass --webhook-url",
    "openim": "no OpenIM URL given — pass --openim-url",
    "s3": "no S3 endpoint given — pass --s3-endpoint",
    "files": "no .env or compose file given — pass --env-file or --compose-file",
    "openim_config": "no OpenIM webhooks.yml given — pass --openim-config",
    "webhook_capture": "no webhook capture given — pass --webhook-capture or --listen-seconds",
}


def _unmet_value(name: str, matcher: Matcher, value: Any) -> str:
    option = OPTIONS_BY_KEY.get(name)
    missing = value is jsonpath.MISSING or value is None
    if option is not None and missing:
        return f"{option.flag} not given"
    if missing:
        return f"{name} is unknown"
    if option is not None and option.secret:
        return f"{option.flag} does not fit"
    return f"{name} is {value}"


def unmet(applies: AppliesWhen, configured: set[str], scope: Mapping[str, Any]) -> str | None:
    """The reason a check is not applicable, or None when it applies."""
    missing = [t for t in applies.targets if t not in configured]
    if missing:
        return "not applicable: " + "; ".join(TARGET_HINTS.get(t, f"{t} not configured") for t in missing)
    reasons = [_unmet_value(name, matcher, scope.get(name, jsonpath.MISSING))
               for name, matcher in applies.values
               if not match_value(scope.get(name, jsonpath.MISSING), matcher)]
    return "not applicable: " + "; ".join(reasons) if reasons else None
