"""Start a whole lab: Evolution API, Chatwoot, OpenIM, an S3-like store, a webhook sink and a DNS server, all on
127.0.0.1 random ports, wired together like a docker-compose deployment, with one scenario's fault applied.

Inside the emulated deployment the servers call each other by compose-style service names (``chatwoot``,
``evolution``, ``webhook-sink``): the Evolution emulator maps those names to the loopback ports, the way a
compose network would, so nothing ever leaves 127.0.0.1. evodiag itself reaches the servers by their loopback
URLs and resolves every other name through the lab DNS server (``--dns-server``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from evodiag.httpserver import HTTPServer, ServerThread
from evodiag.lab.chatwoot import operations
from evodiag.lab.chatwoot.app import ChatwootLab
from evodiag.lab.deployment import (
    CHATWOOT_TOKEN,
    CONTACT_NUMBER,
    GLOBAL_KEY,
    INSTANCE,
    LAB_NUMBER,
    OPENIM_SECRET,
    PUBLIC_ZONES,
    Lab,
)
from evodiag.lab.dns import DnsServer
from evodiag.lab.evolution.app import EvolutionLab
from evodiag.lab.evolution.model import ChatwootSettings, WebhookConfig
from evodiag.lab.evolution.state import DEFAULT_TIME_SCALE
from evodiag.lab.openim import OpenIMLab
from evodiag.lab.s3 import S3Lab
from evodiag.lab.scenarios import SCENARIOS
from evodiag.webhook.capture import WebhookReceiver

__all__ = ["CHATWOOT_TOKEN", "CONTACT_NUMBER", "GLOBAL_KEY", "INSTANCE", "LAB_NUMBER", "OPENIM_SECRET", "Lab",
           "start_lab"]

def _healthy_world(lab: Lab) -> None:
    """What every scenario starts from: a correctly wired deployment with some traffic already captured."""
    evo, cw = lab.evolution, lab.chatwoot
    evo.server_url = lab.internal_url("evolution")
    evo.global_key = GLOBAL_KEY
    evo.hosts = {name: "127.0.0.1" for name in ("evolution", "chatwoot", "webhook-sink", "minio", "openim")}
    account = cw.add_account("Lab Support", id=1)
    cw.add_user("Lab Admin", token=CHATWOOT_TOKEN, role="administrator", account_id=account.id)
    webhook_url = f"{evo.server_url}/chatwoot/webhook/{INSTANCE}"
    cw.add_inbox(account.id, INSTANCE, webhook_url=webhook_url)
    cw.frontend_url = "https://chatwoot.example.com"  # FRONTEND_URL: the public name agents and Evolution use
    evo.add_instance(
        INSTANCE, state="open", owner_jid=f"{LAB_NUMBER}@s.whatsapp.net", profile_name="Lab",
        webhook=WebhookConfig(url=f"{lab.internal_url('webhook-sink')}/evolution", enabled=True,
                              events=["MESSAGES_UPSERT", "CONNECTION_UPDATE", "SEND_MESSAGE"]),
        chatwoot=ChatwootSettings(enabled=True, account_id="1", token=CHATWOOT_TOKEN,
                                  url=lab.internal_url("chatwoot"), name_inbox=INSTANCE),
    )
    lab.openim.webhook_url = f"{lab.urls['webhook-sink']}/openim"  # OpenIM's edge is not part of the domain graph
    lab.openim.secret = OPENIM_SECRET
    lab.openim.enabled_callbacks = {"afterUserOnline", "afterUserOffline", "afterSendSingleMsg"}
    env_file = lab.workdir / "evolution.env"
    env_file.write_text(
        "# Evolution API settings (lab)\n"
        f"SERVER_URL={evo.server_url}\n"
        f"AUTHENTICATION_API_KEY={GLOBAL_KEY}\n"
        "AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES=true\n"
        "CHATWOOT_ENABLED=true\n"
        "CHATWOOT_MESSAGE_READ=true\n"
        "WEBHOOK_GLOBAL_ENABLED=false\n"
        "DATABASE_CONNECTION_CLIENT_NAME=evolution\n",
        encoding="utf-8",
    )
    openim_config = lab.workdir / "webhooks.yml"
    openim_config.write_text(_openim_webhooks_yaml(lab.openim.webhook_url, lab.openim.version), encoding="utf-8")
    lab.settings_values.update({
        "evolution.url": lab.urls["evolution"], "evolution.api_key": GLOBAL_KEY, "evolution.instance": INSTANCE,
        "chatwoot.url": lab.urls["chatwoot"], "chatwoot.token": CHATWOOT_TOKEN, "chatwoot.account_id": "1",
        "openim.url": lab.urls["openim"], "openim.secret": OPENIM_SECRET, "openim.config": str(openim_config),
        "s3.endpoint": lab.urls["minio"], "files.env": [str(env_file)], "dns.server": lab.dns.address,
        "webhook.capture": str(lab.sink.out_path), "send.to": CONTACT_NUMBER,
    })


def _openim_webhooks_yaml(url: str, version: str) -> str:
    """A webhooks.yml as OpenIM ships it, trimmed to the keys the lab uses
    (https://github.com/openimsdk/open-im-server/blob/v3.8.1/config/webhooks.yml).
    3.8.2+ configs carry allowedTypes/deniedTypes, the version fingerprint."""
    filters = "  allowedTypes: []\n  deniedTypes: []\n" if version >= "3.8.2" else ""
    return (
        f"url: {url}\n"
        f"beforeSendSingleMsg:\n  enable: false\n  timeout: 5\n  failedContinue: true\n{filters}"
        f"afterSendSingleMsg:\n  enable: true\n  timeout: 5\n  attentionIds: []\n{filters}"
        "afterUserOnline:\n  enable: true\n  timeout: 5\n"
        "afterUserOffline:\n  enable: true\n  timeout: 5\n"
        "afterUserKickOff:\n  enable: false\n  timeout: 5\n"
    )


def _agent_replies_with_a_file(lab: Lab) -> None:
    """An agent answers the conversation the inbound message opened with an image, so chatwoot.media has an
    attachment ``data_url`` to judge (none when Chatwoot refused the message, as in the token scenarios)."""
    cw = lab.chatwoot
    conversation = next(iter(cw.conversations.values()), None)
    if conversation is None:
        return
    reply = cw.add_message(conversation, "here is our price list", message_type="outgoing")
    operations.attach_file(cw, reply, {"filename": "price-list.png", "content_type": "image/png",
                                       "data": b"\x89PNG\r\n\x1a\n lab image"})


async def _generate_traffic(lab: Lab) -> None:
    """Traffic the webhook checks can analyse: inbound WhatsApp messages and OpenIM user sessions."""
    await lab.evolution.simulate_inbound(INSTANCE, CONTACT_NUMBER, "hello from the lab",
                                         entry_point_source=lab.scenario.entry_point_source)
    _agent_replies_with_a_file(lab)
    await lab.openim.simulate_user_session("u1")
    await lab.openim.simulate_single_msg("u1", "u2")


@contextmanager
def start_lab(scenario: str = "healthy", *, evolution_version: str | None = None,
              chatwoot_version: str | None = None, locale: str | None = None, latency_ms: float = 0,
              generate_traffic: bool = True, time_scale: float = DEFAULT_TIME_SCALE) -> Iterator[Lab]:
    """Start the lab for ``scenario``. ``time_scale`` multiplies the real servers' delays (5 s create with a QR
    request, rows removed seconds after delete, 25 s GET / without WhatsApp DNS): the default keeps tests and
    ``evodiag demo`` fast; 1.0 is real time."""
    if scenario not in SCENARIOS:
        raise KeyError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    spec = SCENARIOS[scenario]
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="evodiag-lab-")))
        thread = ServerThread()
        stack.callback(thread.stop)
        evo_version = evolution_version or spec.evolution_version
        evo = EvolutionLab(version=evo_version, latency_ms=latency_ms, time_scale=time_scale)
        cw = ChatwootLab(version=chatwoot_version or spec.chatwoot_for(evo_version), locale=locale or spec.locale,
                         latency_ms=latency_ms)
        openim = OpenIMLab(version=spec.openim_version, latency_ms=latency_ms)
        s3 = S3Lab(latency_ms=spec.s3_latency_ms or latency_ms)
        sink = WebhookReceiver(workdir / "deliveries.jsonl", durability="write")
        dns = stack.enter_context(DnsServer(dict(PUBLIC_ZONES)))
        urls = {"evolution": thread.start(HTTPServer(evo)).url, "chatwoot": thread.start(HTTPServer(cw)).url,
                "openim": thread.start(HTTPServer(openim)).url, "minio": thread.start(HTTPServer(s3)).url}
        thread.call(sink.astart())
        stack.callback(lambda: thread.call(sink.aclose()))
        urls["webhook-sink"] = sink.url
        lab = Lab(spec, workdir, thread, evo, cw, openim, s3, sink, dns, urls)
        _healthy_world(lab)
        spec.apply(lab)
        if generate_traffic:
            thread.call(_generate_traffic(lab), 30)
        yield lab
