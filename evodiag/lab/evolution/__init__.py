"""Emulated Evolution API (WhatsApp HTTP gateway) for the test lab.

Reproduces the real server's routes, guards, status codes and bodies per version (1.7.x/1.8.x = v1, 2.x = v2),
its outbound webhooks and the calls it makes to Chatwoot. Facts: Evolution API's and Chatwoot's source at the
tags linked in comments, and what a real Evolution API 2.3.6 server was observed to answer.

Modules, bottom up: ``model`` (instance records), ``state`` (the state store: server config, instances,
records), ``payloads`` (bodies, validation), ``outbound`` (webhook delivery), ``chatwoot_sync`` (calls to
Chatwoot), ``settings`` (configuring request bodies, create responses), ``guards`` (404/401/body checks),
``whatsapp`` (connecting, messages in and out), ``routes/<family>`` (handlers: ``server``, ``instance``,
``chatwoot``, ``webhook``, ``message``), ``app`` (:class:`EvolutionLab`, the router). A new behaviour: state in
``state``/``model``, handler in its route family, route line in ``app``.
"""

from evodiag.lab.evolution.app import EvolutionLab
from evodiag.lab.evolution.model import (
    SUPPORTED_VERSIONS,
    ChatwootCall,
    ChatwootSettings,
    Delivery,
    Instance,
    WebhookConfig,
    parse_version,
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "ChatwootCall",
    "ChatwootSettings",
    "Delivery",
    "EvolutionLab",
    "Instance",
    "WebhookConfig",
    "parse_version",
]
