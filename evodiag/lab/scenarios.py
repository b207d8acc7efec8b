"""Named fault scenarios: each is real behaviour of the real servers, applied to the healthy lab world.

``expect`` is the contract the scenario test enforces: exactly these checks fail (or warn) against this
scenario, everything else passes or skips. One root cause gives one finding.

To add one: write a ``_setup(lab: Lab) -> None`` that changes the healthy world (``lab.evolution`` and
``lab.chatwoot`` are the emulators' state stores, ``lab.settings_values`` what evodiag is told, ``lab.workdir``
its files), append a :class:`Scenario` to ``_ALL`` below, and add its row to the README's scenario table;
``tests/test_scenarios.py`` then holds it to ``expect``. A behaviour the emulators lack goes into the lab first
(see :mod:`evodiag.lab`).
"""

from __future__ import annotations

import json
import time

from evodiag.lab.chatwoot.model import Inbox
from evodiag.lab.deployment import CONTACT_NUMBER, INSTANCE, Lab, Scenario
from evodiag.lab.evolution.model import Instance, new_message_id, prisma_now
from evodiag.lab.evolution.whatsapp import store


def _instance(lab: Lab) -> Instance:
    inst = lab.evolution.find_instance(INSTANCE)
    assert inst is not None
    return inst


def _inbox(lab: Lab) -> Inbox:
    return next(iter(lab.chatwoot.inboxes.values()))


def _wrong_key(lab: Lab) -> None:
    lab.settings_values["evolution.api_key"] = "not-the-right-key-0000"


def _instance_id(lab: Lab) -> None:
    lab.settings_values["evolution.instance"] = _instance(lab).id


def _not_connected(lab: Lab) -> None:
    inst = _instance(lab)
    inst.state, inst.db_status, inst.qr_available = "close", "open", True


def _no_qr(lab: Lab) -> None:
    inst = _instance(lab)
    inst.state, inst.db_status, inst.qr_available = "close", "close", False


def _chatwoot_disabled(lab: Lab) -> None:
    lab.evolution.chatwoot_enabled = False
    env = lab.workdir / "evolution.env"
    env.write_text(env.read_text().replace("CHATWOOT_ENABLED=true", "CHATWOOT_ENABLED=false"))


def _bad_token(lab: Lab) -> None:
    # The token was revoked in Chatwoot (Profile -> Access Token -> reset): both evodiag and Evolution
    # still hold the old value.
    user = next(iter(lab.chatwoot.users.values()))
    user.token = "regenerated-token-xyz-0001"


def _header_stripped(lab: Lab) -> None:
    lab.chatwoot.drop_underscore_headers = True


def _double_slash(lab: Lab) -> None:
    webhook = _instance(lab).webhook
    assert webhook is not None
    webhook.url, webhook.by_events = webhook.url + "/", True


def _webhook_mismatch(lab: Lab) -> None:
    # The inbox was created for an earlier instance name; Evolution never updates an existing inbox's URL.
    _inbox(lab).webhook_url = f"{lab.evolution.server_url}/chatwoot/webhook/old-instance"


def _domain_mixing(lab: Lab) -> None:
    public = "https://evolution.example.com"
    lab.evolution.server_url = public
    _inbox(lab).webhook_url = f"{public}/chatwoot/webhook/lab"
    env = lab.workdir / "evolution.env"
    text = env.read_text()
    env.write_text(text.replace(f"SERVER_URL={lab.internal_url('evolution')}", f"SERVER_URL={public}"))


def _bot_pending(lab: Lab) -> None:
    bot = lab.chatwoot.add_agent_bot("Lab triage bot", account_id=1)
    lab.chatwoot.attach_bot(_inbox(lab).id, bot.id)


def _duplicates(lab: Lab) -> None:
    lab.evolution.duplicate_deliveries = 4


def _openim_381(lab: Lab) -> None:
    lab.settings_values["openim.version"] = "3.8.1"


def _env_pitfalls(lab: Lab) -> None:
    env = lab.workdir / "evolution.env"
    env.write_text(
        "# copied from a tutorial\n"
        "SERVER_URL=https://evolution.example.com/\n"
        "API_KEY_GLOBAL=429683C4C977415CAAFCCE10F7D57E11\n"
        "AUTHENTICATION_API_KEY=429683C4C977415CAAFCCE10F7D57E11\n"
        "CHATWOOT_MESSAGE_READ=true\n"
        "CHATWOOT_IMPORT_DATABASE_CONNECTION_URI=postgres://user:pass@chatwoot-db:5432/chatwoot\n",
        encoding="utf-8",
    )


def _s3_slow(lab: Lab) -> None:
    env = lab.workdir / "evolution.env"
    env.write_text(env.read_text() + f"S3_ENABLED=true\nS3_ENDPOINT={lab.internal_url('minio')}\n")


def _append_env(lab: Lab, text: str) -> None:
    env = lab.workdir / "evolution.env"
    env.write_text(env.read_text() + text, encoding="utf-8")


def _in_compose(lab: Lab, *backing: tuple[str, str]) -> None:
    """Evolution in a container: a compose file whose Evolution service reads the lab's evolution.env, next to the
    given (service, image) backing services. Config checks then judge localhost as the container itself."""
    services = "".join(f"  {name}:\n    image: {image}\n" for name, image in backing)
    if "CACHE_REDIS_" not in (lab.workdir / "evolution.env").read_text():
        # Without any CACHE_REDIS_* line the image's built-in .env turns Redis on at localhost (config.redis).
        _append_env(lab, "CACHE_REDIS_ENABLED=false\nCACHE_LOCAL_ENABLED=true\n")
    compose = lab.workdir / "docker-compose.yml"
    compose.write_text(
        "services:\n"
        "  evolution-api:\n"
        f"    image: evoapicloud/evolution-api:v{lab.evolution.version}\n"
        "    env_file: [evolution.env]\n"
        '    ports: ["8080:8080"]\n' + services, encoding="utf-8")
    lab.settings_values["files.compose"] = [str(compose)]


def _redis_unreachable(lab: Lab) -> None:
    # .env.example's Redis line, used inside Docker (evo#1856, #2074): localhost is Evolution's own container.
    _append_env(lab, "CACHE_REDIS_ENABLED=true\nCACHE_REDIS_URI=redis://localhost:6379/6\nCACHE_REDIS_PREFIX_KEY=evolution\n")
    _in_compose(lab, ("redis", "redis:7-alpine"))


def _database_wrong_env(lab: Lab) -> None:
    # Prisma's usual DATABASE_URL instead of Evolution's DATABASE_CONNECTION_URI (evo#2381).
    _append_env(lab, "DATABASE_PROVIDER=postgresql\n"
                     "DATABASE_URL=postgresql://evolution:lab-db-pass-11@postgres:5432/evolution?schema=evolution_api\n")


def _rabbitmq_unreachable(lab: Lab) -> None:
    # .env.example's RABBITMQ_URI=amqp://localhost with RabbitMQ switched on, inside Docker (evo#343).
    _append_env(lab, "RABBITMQ_ENABLED=true\nRABBITMQ_URI=amqp://evolution:lab-mq-pass-22@localhost:5672\n"
                     "RABBITMQ_EXCHANGE_NAME=evolution_exchange\n")
    _in_compose(lab, ("rabbitmq", "rabbitmq:4.1-management"))


def _phone_version_stale(lab: Lab) -> None:
    # The value 2.2.x's .env.example pinned, still in a .env long after WhatsApp moved on (evo#2074, #1014).
    _append_env(lab, "CONFIG_SESSION_PHONE_VERSION=2.3000.1015901307\n")


def _media_url(lab: Lab) -> None:
    # FRONTEND_URL left at Chatwoot's .env.example default: every data_url points at 0.0.0.0:3000.
    lab.chatwoot.frontend_url = "http://0.0.0.0:3000"


def _groups_ignored(lab: Lab) -> None:
    # The team wants WhatsApp groups in Chatwoot and had them (a group contact exists), but the instance was
    # (re)created with groupsIgnore on, so Evolution now ignores every group message.
    settings = _instance(lab).settings
    assert settings is not None
    settings.groups_ignore = True
    cw = lab.chatwoot
    group = cw.add_contact(1, "Lab team (GROUP)", identifier="120363025246125486@g.us", inbox_id=_inbox(lab).id)
    cw.add_conversation(_inbox(lab).id, group.id)
    lab.settings_values["chatwoot.expect_groups"] = True


# Baileys' close for a removed device, as Evolution stores it: JSON.stringify(lastDisconnect) keeps the Boom
# error's data (the stream:error node of #1816, #2269) and output (whatsapp.baileys.service.ts#L412 at 2.3.6).
_DEVICE_REMOVED = {"error": {"data": {"tag": "stream:error", "attrs": {"code": "401"},
                                      "content": [{"tag": "conflict", "attrs": {"type": "device_removed"}}]},
                             "isBoom": True, "isServer": False,
                             "output": {"statusCode": 401, "payload": {"statusCode": 401, "error": "Unauthorized",
                                                                       "message": "Stream Errored (conflict)"},
                                        "headers": {}}}}


def _device_removed(lab: Lab) -> None:
    inst = _instance(lab)
    inst.state, inst.db_status, inst.qr_available = "close", "close", True
    inst.disconnection_reason_code = 401
    inst.disconnection_at = prisma_now()
    inst.disconnection_object = json.dumps({**_DEVICE_REMOVED, "date": inst.disconnection_at},
                                           separators=(",", ":"))
    lab.evolution.log_line("WARN", "WAMonitoringService", f'Instance "{inst.name}" - LOGOUT')


def _integration_disabled(lab: Lab) -> None:
    # DIFY_ENABLED=true was added to the .env, but the container was never recreated: the running server still
    # has Dify off and answers "Dify is disabled" (#752); the instance's Dify bot exists but never runs.
    lab.evolution.integration_flags["DIFY_ENABLED"] = False
    _instance(lab).bots["dify"] = [{"id": "dify-bot-1", "enabled": True, "description": "Lab Dify bot",
                                    "botType": "chatBot", "apiUrl": "http://dify:5001/v1", "triggerType": "all"}]
    _append_env(lab, "DIFY_ENABLED=true\n")


def _lid_contacts(lab: Lab) -> None:
    # A contact in WhatsApp's LID addressing mode: remoteJid is <lid>@lid; 2.3.5+ puts the phone JID in
    # key.remoteJidAlt, 2.3.0-2.3.4 in key.senderPn, older releases nowhere (#1872, #2217, #1916).
    evo, inst = lab.evolution, _instance(lab)
    key: dict[str, object] = {"remoteJid": "210987654321098@lid", "fromMe": False, "id": new_message_id()}
    phone = f"{CONTACT_NUMBER[:-1]}7@s.whatsapp.net"
    if evo.ver >= (2, 3, 5):
        key.update({"remoteJidAlt": phone, "addressingMode": "lid"})
    elif evo.ver >= (2, 3, 0):
        key["senderPn"] = phone
    store(inst, {"key": key, "pushName": "Lid Contact", "message": {"conversation": "oi"},
                 "messageType": "conversation", "messageTimestamp": int(time.time()) - 60, "source": "android"})


def _dedupe_drop(lab: Lab) -> None:
    # The 2.3.x message cache skips one unique message (logged "Message duplicated ignored: <id>", no webhook)
    # while the store holds it (#1762, #2110); the lab's normal traffic then arrives as usual.
    lab.evolution.dedupe_drop_next = 1
    lab.run_on_loop(lab.evolution.simulate_inbound(INSTANCE, CONTACT_NUMBER, "first message, never delivered"))


def _no_egress(lab: Lab) -> None:
    # The host cannot reach web.whatsapp.com: DNS fails at once, so GET / reports Baileys' fallback version;
    # the instance never gets past `connecting` and connect gives {"count":0} (#2437). The other variant
    # (DNS times out, GET / answers after ~25 s) is whatsapp_egress="dns-timeout".
    lab.evolution.whatsapp_egress = "dns-fail"
    inst = _instance(lab)
    inst.state, inst.db_status, inst.qr_available = "connecting", "close", False


_ALL: list[Scenario] = [
    Scenario("healthy", "Everything wired correctly: every check passes or skips.", {}),
    Scenario("wrong-evolution-key",
             "The apikey header carries a key the server does not know: 401 "
             '{"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}} '
             "(https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/guards/auth.guard.ts).",
             {"evolution.auth": "fail"}, _wrong_key),
    Scenario("instance-id-not-name",
             'Routes take the instance name; the ID gives 404 The "<id>" instance does not exist '
             "("
             "https://github.com/evolution-foundation/evolution-api/issues/1312).",
             {"evolution.instance": "fail"}, _instance_id),
    Scenario("instance-not-connected",
             "The instance is closed (not paired) while the stored status still says open "
             "("
             "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/monitor.service.ts#L67-L111).",
             {"evolution.instance.state": "fail"}, _not_connected,
             also_allowed={"evolution.session": "fail"}),
    Scenario("qr-not-generated",
             'connect returns a bare {"count":0}: Baileys produced no QR '
             "(https://github.com/evolution-foundation/evolution-api/issues/2437,"
             " https://github.com/evolution-foundation/evolution-api/issues/1541).",
             {"evolution.qr": "fail"}, _no_qr, also_allowed={"evolution.instance.state": "fail"}),
    Scenario("chatwoot-disabled",
             'CHATWOOT_ENABLED=false (the v2 default): chatwoot/find answers 400 ["Chatwoot is disabled"] '
             "("
             "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/config/env.config.ts#L812-L825,"
             " https://github.com/evolution-foundation/evolution-api/issues/1011).",
             {"evolution.chatwoot.enabled": "fail"}, _chatwoot_disabled, evolution_versions=("2.2.3", "2.3.6")),
    Scenario("chatwoot-bad-token",
             'The access token was reset in Chatwoot: 401 {"error":"Invalid Access Token"} '
             "(https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/controllers/concerns/access_token_auth_helper.rb).",
             {"chatwoot.auth": "fail"}, _bad_token),
    Scenario("chatwoot-header-stripped",
             "An nginx proxy with the default underscores_in_headers off drops api_access_token: 401 "
             '{"errors":["You need to sign in or sign up before continuing."]} '
             "(https://github.com/evolution-foundation/evolution-api/issues/1709).",
             {"chatwoot.auth": "fail"}, _header_stripped),
    Scenario("chatwoot-filter-422",
             "Evolution 1.7.4 filters conversations by contact_id; Chatwoot >= 3.8.0 answers 422 "
             "Invalid attribute key - [contact_id] ("
             "https://github.com/chatwoot/chatwoot/blob/29f07e7e06a9702d8663897143a17b991db022fc/app/helpers/filter_helper.rb,"
             " https://github.com/evolution-foundation/evolution-api/issues/605).",
             {"chatwoot.filter": "fail"}, evolution_version="1.7.4", evolution_versions=("1.7.4",),
             pair_old_evolution_with_chatwoot=None),
    Scenario("webhook-double-slash",
             "The webhook URL ends in / and byEvents is on: Evolution posts to .../evolution//messages-upsert "
             "("
             "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts#L86-L108).",
             {"evolution.webhook.url": "fail"}, _double_slash),
    Scenario("chatwoot-webhook-mismatch",
             "The Chatwoot inbox still calls an old instance's URL; Evolution never updates an existing inbox "
             "("
             "https://github.com/evolution-foundation/evolution-api/issues/471).",
             {"chatwoot.inbox.webhook": "fail"}, _webhook_mismatch),
    Scenario("domain-mixing",
             "Evolution reaches Chatwoot by its compose service name, while Chatwoot calls Evolution back "
             "through a public domain (SERVER_URL) that does not hairpin ("
             "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L119-L123,"
             " https://github.com/evolution-foundation/evolution-api/issues/1133).",
             {"network.domains": "fail"}, _domain_mixing),
    Scenario("bot-pending",
             "An agent bot on the inbox makes every new conversation start pending, even when open is sent "
             "("
             "https://github.com/chatwoot/chatwoot/blob/29f07e7e06a9702d8663897143a17b991db022fc/app/models/conversation.rb#L223-L232,"
             " https://github.com/chatwoot/chatwoot/issues/7834).",
             {"chatwoot.bot": "fail"}, _bot_pending),
    Scenario("chatwoot-media-url",
             "Chatwoot's FRONTEND_URL is its .env.example default http://0.0.0.0:3000, so every attachment "
             "data_url points there and Evolution cannot download what agents attach ("
             "https://github.com/chatwoot/chatwoot/issues/11474,"
             " https://github.com/evolution-foundation/evolution-api/issues/1308).",
             {"chatwoot.media": "fail"}, _media_url),
    Scenario("chatwoot-groups-ignored",
             "Group messages are expected in Chatwoot (a group conversation exists there), but the instance has "
             "groupsIgnore on, so Evolution ignores every group message ("
             "https://github.com/evolution-foundation/evolution-api/issues/1426).",
             {"chatwoot.groups": "fail"}, _groups_ignored),
    Scenario("s3-slow",
             "The media store answers slowly ("
             "https://github.com/evolution-foundation/evolution-api/issues/833,"
             " https://github.com/chatwoot/chatwoot/issues/11766).",
             {"storage.s3": "warn"}, _s3_slow, s3_latency_ms=700),
    Scenario("duplicate-webhooks",
             "Evolution 1.8.0 delivers the same messages.upsert (same key.id) several times with new "
             "timestamps ("
             "https://github.com/evolution-foundation/evolution-api/issues/631).",
             {"webhook.duplicates": "fail"}, _duplicates, evolution_version="1.8.0",
             entry_point_source="click_to_chat_link", evolution_versions=("1.8.0",)),
    Scenario("openim-3.8.1",
             "OpenIM 3.8.1 never calls afterUserOnline/afterUserOffline although they are enabled "
             "("
             "https://github.com/openimsdk/open-im-server/issues/2520,"
             " https://github.com/openimsdk/open-im-server/issues/2912; fixed in 3.8.2 by "
             "https://github.com/openimsdk/open-im-server/pull/2716).",
             {"openim.callbacks": "fail"}, _openim_381, openim_version="3.8.1"),
    Scenario("env-file-pitfalls",
             "A .env copied from a tutorial: CHATWOOT_ENABLED missing, SERVER_URL with a trailing slash, the "
             "public default key, and API_KEY_GLOBAL instead of AUTHENTICATION_API_KEY ("
             "https://github.com/evolution-foundation/evolution-api/issues/1708).",
             {"config.chatwoot_enabled": "fail", "config.server_url": "fail", "config.api_key": "fail",
              "config.env_names": "fail"}, _env_pitfalls),
    Scenario("redis-unreachable",
             "Evolution runs in a container with .env.example's CACHE_REDIS_URI=redis://localhost:6379/6: localhost "
             "is the container itself, and the log fills with [Redis] redis disconnected ("
             "https://github.com/evolution-foundation/evolution-api/issues/1856,"
             " https://github.com/evolution-foundation/evolution-api/issues/2074).",
             {"config.redis": "fail"}, _redis_unreachable, evolution_versions=("2.3.6",),
             also_allowed={"network.services": "fail"}),
    Scenario("database-wrong-env",
             "DATABASE_URL (Prisma's usual name) instead of DATABASE_CONNECTION_URI: the migration fails with "
             "P1001 and the container restarts ("
             "https://github.com/evolution-foundation/evolution-api/issues/2381).",
             {"config.database": "fail"}, _database_wrong_env, evolution_versions=("2.2.3", "2.3.6")),
    Scenario("rabbitmq-unreachable",
             "RabbitMQ switched on with RABBITMQ_URI on localhost inside Evolution's container: Failed to connect "
             "to RabbitMQ, no event published ("
             "https://github.com/evolution-foundation/evolution-api/issues/343,"
             " https://github.com/evolution-foundation/evolution-api/issues/1460).",
             {"config.rabbitmq": "fail"}, _rabbitmq_unreachable, evolution_versions=("2.3.6",),
             also_allowed={"network.services": "fail"}),
    Scenario("phone-version-stale",
             "CONFIG_SESSION_PHONE_VERSION pinned to 2.3000.1015901307, the value 2.2.x shipped: likely stale, "
             "and ignored from 2.3.1 on ("
             "https://github.com/evolution-foundation/evolution-api/issues/2074,"
             " https://github.com/evolution-foundation/evolution-api/issues/1014,"
             " https://github.com/evolution-foundation/evolution-api/issues/2437).",
             {"config.phone_version": "warn"}, _phone_version_stale),
]
_ALL += [
    Scenario("device-removed",
             "WhatsApp logged the instance out: Baileys' stream:error 401 conflict device_removed, stored as "
             "disconnectionReasonCode 401; Evolution does not reconnect ("
             "https://github.com/evolution-foundation/evolution-api/issues/1816,"
             " https://github.com/evolution-foundation/evolution-api/issues/2269).",
             {"evolution.session": "fail"}, _device_removed, evolution_versions=("2.2.3", "2.3.6"),
             also_allowed={"evolution.instance.state": "fail"}),
    Scenario("integration-disabled",
             'DIFY_ENABLED=true in the .env, but the running server was not recreated and answers "Dify is '
             'disabled" ('
             "https://github.com/evolution-foundation/evolution-api/issues/752,"
             " https://github.com/evolution-foundation/evolution-api/issues/794).",
             {"evolution.integrations": "fail"}, _integration_disabled, evolution_versions=("2.2.3", "2.3.6"),
             also_allowed={"config.integrations": "fail"}),
    Scenario("lid-contacts",
             "A contact in WhatsApp's LID addressing mode: remoteJid <lid>@lid, the phone JID in key.remoteJidAlt "
             "(2.3.5+) or senderPn (2.3.0-2.3.4) or nowhere ("
             "https://github.com/evolution-foundation/evolution-api/issues/1872,"
             " https://github.com/evolution-foundation/evolution-api/issues/2217).",
             {"evolution.lid": "warn"}, _lid_contacts, evolution_versions=("2.3.6",)),
    Scenario("webhook-dedupe-drop",
             'Evolution 2.3.x skips a unique message as "Message duplicated ignored": stored, never delivered '
             "("
             "https://github.com/evolution-foundation/evolution-api/issues/1762,"
             " https://github.com/evolution-foundation/evolution-api/issues/2110).",
             {"webhook.dedupe_drop": "fail"}, _dedupe_drop, evolution_versions=("2.3.6",)),
    Scenario("no-whatsapp-egress",
             "The server cannot reach web.whatsapp.com: GET / reports Baileys' fallback WhatsApp Web version "
             '(or hangs ~25 s when DNS times out), the instance stays connecting and connect gives {"count":0} '
             "("
             "https://github.com/evolution-foundation/evolution-api/issues/2437).",
             {"evolution.reachable": "warn", "evolution.instance.state": "fail", "evolution.qr": "fail"}, _no_egress,
             evolution_versions=("2.3.6",)),
]
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _ALL}
