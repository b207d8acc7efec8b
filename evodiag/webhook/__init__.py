"""Webhook capture and analysis: record what Evolution API or OpenIM actually delivers, then explain it.

* :mod:`evodiag.webhook.capture` — a loopback receiver that appends every delivery to a JSONL file before
  acknowledging it, with secrets masked.
* :mod:`evodiag.webhook.analyze` — pure functions over captured deliveries (duplicates, retry storms, URL
  shape, lag, OpenIM callbacks).
* :mod:`evodiag.webhook.openim_config` — reads OpenIM's ``webhooks.yml`` plus ``IMENV_WEBHOOKS_*`` overrides
  and reports settings that silently do nothing.
"""

from __future__ import annotations

from evodiag.webhook.analyze import WebhookAnalysis, analyze, analyze_file, load_deliveries, online_offline_gap
from evodiag.webhook.capture import OPENIM_ACK_BODY, WebhookReceiver
from evodiag.webhook.openim_config import (
    OpenIMConfigError,
    check_webhooks_config,
    detect_version,
    load_webhooks_yaml,
    parse_webhooks_yaml,
)

__all__ = [
    "OPENIM_ACK_BODY",
    "OpenIMConfigError",
    "WebhookAnalysis",
    "WebhookReceiver",
    "analyze",
    "analyze_file",
    "check_webhooks_config",
    "detect_version",
    "load_deliveries",
    "load_webhooks_yaml",
    "online_offline_gap",
    "parse_webhooks_yaml",
]
