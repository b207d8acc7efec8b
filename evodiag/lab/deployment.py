"""The deployment a lab scenario works on: the running emulators, the evodiag settings that point at them, and
the names and keys the healthy world uses, and what a :class:`Scenario` is. :mod:`evodiag.lab.runtime` builds
the deployment; the named scenarios in :mod:`evodiag.lab.scenarios` change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from evodiag.httpserver import ServerThread
from evodiag.lab.base import LabApp, LoggedRequest
from evodiag.lab.chatwoot.app import ChatwootLab
from evodiag.lab.dns import DnsServer
from evodiag.lab.evolution.app import EvolutionLab
from evodiag.lab.openim import OpenIMLab
from evodiag.lab.s3 import S3Lab
from evodiag.webhook.capture import WebhookReceiver

if TYPE_CHECKING:
    from evodiag.engine.runner import RunReport

INSTANCE = "lab"
GLOBAL_KEY = "lab-global-key-4f9c2a"
CHATWOOT_TOKEN = "lab-chatwoot-token-8d1e7b"
OPENIM_SECRET = "lab-openim-secret-3a7f"
LAB_NUMBER = "5511987650000"
CONTACT_NUMBER = "5511912340000"
# The lab's "public" names resolve to documentation addresses (RFC 5737) through the lab DNS server.
PUBLIC_ZONES = {"evolution.example.com": ["203.0.113.10"], "chatwoot.example.com": ["203.0.113.20"]}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    expect: dict[str, str]
    setup: Callable[[Lab], None] = lambda lab: None
    evolution_version: str = "2.3.6"
    chatwoot_version: str = "4.10.1"
    locale: str = "en"
    openim_version: str = "3.8.2"
    s3_latency_ms: float = 0
    entry_point_source: str | None = None
    evolution_versions: tuple[str, ...] = ("1.7.4", "1.8.2", "2.2.3", "2.3.6")
    also_allowed: dict[str, str] = field(default_factory=dict)
    # Evolution 1.7.0-1.7.4 against Chatwoot >= 3.8 *is* the contact_id 422 bug (evo#605): unless a scenario is
    # about that bug, the lab pairs those versions with the last Chatwoot they worked with.
    pair_old_evolution_with_chatwoot: str | None = "3.7.0"

    def chatwoot_for(self, evolution_version: str) -> str:
        from evodiag.versions import in_range

        if self.pair_old_evolution_with_chatwoot and in_range(evolution_version, ">=1.7.0,<1.7.5"):
            return self.pair_old_evolution_with_chatwoot
        return self.chatwoot_version

    def apply(self, lab: Lab) -> None:
        self.setup(lab)


@dataclass
class Lab:
    scenario: Scenario
    workdir: Path
    thread: ServerThread
    evolution: EvolutionLab
    chatwoot: ChatwootLab
    openim: OpenIMLab
    s3: S3Lab
    sink: WebhookReceiver
    dns: DnsServer
    urls: dict[str, str] = field(default_factory=dict)
    settings_values: dict[str, Any] = field(default_factory=dict)

    @property
    def apps(self) -> list[LabApp]:
        return [self.evolution, self.chatwoot, self.openim, self.s3]

    def internal_url(self, service: str) -> str:
        """The URL a container on the emulated compose network uses for ``service``."""
        return f"http://{service}:{urlsplit(self.urls[service]).port}"

    def mutating_requests(self) -> list[LoggedRequest]:
        return [entry for app in self.apps for entry in app.requests(mutating=True)]

    def run_on_loop(self, coro: Any, timeout: float = 30) -> Any:
        return self.thread.call(coro, timeout)

    def cli_args(self) -> list[str]:
        """The ``evodiag check`` flags that point at this lab."""
        from evodiag.config import OPTIONS

        args: list[str] = []
        for opt in OPTIONS:
            value = self.settings_values.get(opt.key)
            if value in (None, "", [], False):
                continue
            if opt.kind == "paths":
                for item in value:
                    args += [opt.flag, str(item)]
            elif opt.kind == "bool":
                args.append(opt.flag)
            else:
                args += [opt.flag, str(value)]
        return args

    def run(self, *, only: tuple[str, ...] = (), allow: frozenset[str] | None = None,
            timeout: float = 5.0, concurrency: int = 0) -> RunReport:
        """For tests and benchmarks: the real catalog, in-process, against this lab. (The CLI's demo, with its
        flags, output and exit codes, is ``evodiag/commands/demo.py``.)"""
        from evodiag.catalog.loader import load_catalog
        from evodiag.config import Settings
        from evodiag.engine.context import SIDE_EFFECT_KINDS, RunOptions
        from evodiag.engine.runner import run

        options = RunOptions(timeout=timeout, allow=SIDE_EFFECT_KINDS if allow is None else allow, only=only,
                             concurrency=concurrency)
        return run(load_catalog(), Settings(values=dict(self.settings_values)), options)
