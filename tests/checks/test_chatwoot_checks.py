"""The Chatwoot checks (issue 5) and the message round trip, against the lab (real servers on 127.0.0.1).

Each test starts a lab scenario, changes one thing the way a real deployment goes wrong, runs the real catalog
in-process and reads the verdicts. Only the Chatwoot checks, their Evolution context checks and their
requirements run, so a test stays well under a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import Catalog
from evodiag.config import Settings
from evodiag.engine.context import RunOptions
from evodiag.engine.results import Result, Status
from evodiag.engine.runner import Pipeline
from evodiag.lab.runtime import CHATWOOT_TOKEN, CONTACT_NUMBER, INSTANCE, Lab, start_lab

MINE = ("chatwoot.reachable", "chatwoot.auth", "chatwoot.filter", "chatwoot.inbox", "chatwoot.inbox.webhook",
        "chatwoot.bot", "functional.message_sync")
CONTEXT = ("evolution.reachable", "evolution.chatwoot.config")
FINDINGS = (Status.FAIL, Status.WARN, Status.ERROR)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The real catalog, parsed once for the whole file (parsing dominates a lab run otherwise)."""
    return load_catalog()


@contextmanager
def lab_for(scenario: str = "healthy", *, traffic: bool = False, **kwargs: Any) -> Iterator[Lab]:
    """A lab; ``traffic`` replays the lab's inbound WhatsApp message first (contact + conversation exist)."""
    with start_lab(scenario, generate_traffic=traffic, **kwargs) as lab:
        yield lab


def run(lab: Lab, *, send: bool = False, timeout: float = 2.0, **settings: Any) -> dict[str, Result]:
    """Run MINE (+ context) with ``settings`` overrides (``None`` removes a setting)."""
    for key, value in settings.items():
        key = key.replace("__", ".")
        if value is None:
            lab.settings_values.pop(key, None)
        else:
            lab.settings_values[key] = value
    options = RunOptions(timeout=timeout, allow=frozenset({"send"}) if send else frozenset(), only=MINE + CONTEXT)
    report = asyncio.run(Pipeline(catalog(), Settings(values=dict(lab.settings_values)), options).run())
    return {r.id: r for r in report.results}


def findings(results: dict[str, Result]) -> dict[str, str]:
    return {i: r.status.value for i, r in results.items() if i in MINE and r.status in FINDINGS}


def account(lab: Lab) -> Any:
    return lab.chatwoot.accounts[1]


def admin(lab: Lab) -> Any:
    return next(iter(lab.chatwoot.users.values()))


def inbox(lab: Lab) -> Any:
    return next(iter(lab.chatwoot.inboxes.values()))


def instance(lab: Lab) -> Any:
    found = lab.evolution.find_instance(INSTANCE)
    assert found is not None
    return found


# --- scenarios: exactly the named check fails, on every Chatwoot generation and in both locales ---------------
SCENARIO_MATRIX = [
    ("healthy", "2.3.6", "4.10.1", "en", {}),
    ("healthy", "2.3.6", "3.7.0", "pt_BR", {}),
    ("healthy", "1.8.2", "3.8.0", "en", {}),
    ("healthy", "2.2.3", "4.10.1", "pt_BR", {}),
    ("chatwoot-bad-token", "2.3.6", "4.10.1", "en", {"chatwoot.auth": "fail"}),
    ("chatwoot-bad-token", "2.3.6", "3.7.0", "pt_BR", {"chatwoot.auth": "fail"}),
    ("chatwoot-header-stripped", "2.3.6", "4.10.1", "en", {"chatwoot.auth": "fail"}),
    ("chatwoot-header-stripped", "2.3.6", "3.8.0", "pt_BR", {"chatwoot.auth": "fail"}),
    ("chatwoot-filter-422", "1.7.4", "3.8.0", "en", {"chatwoot.filter": "fail"}),
    ("chatwoot-filter-422", "1.7.4", "4.10.1", "pt_BR", {"chatwoot.filter": "fail"}),
    ("chatwoot-webhook-mismatch", "2.3.6", "4.10.1", "en", {"chatwoot.inbox.webhook": "fail"}),
    ("chatwoot-webhook-mismatch", "2.3.6", "3.7.0", "pt_BR", {"chatwoot.inbox.webhook": "fail"}),
    ("bot-pending", "2.3.6", "4.10.1", "en", {"chatwoot.bot": "fail"}),
    ("bot-pending", "1.8.2", "3.8.0", "pt_BR", {"chatwoot.bot": "fail"}),
]


@pytest.mark.parametrize("scenario,evo,cw,locale,expected", SCENARIO_MATRIX,
                         ids=[f"{s}-{e}-{c}-{lo}" for s, e, c, lo, _ in SCENARIO_MATRIX])
def test_scenario_fails_exactly_its_check(scenario: str, evo: str, cw: str, locale: str,
                                          expected: dict[str, str]) -> None:
    with lab_for(scenario, traffic=True, evolution_version=evo, chatwoot_version=cw, locale=locale) as lab:
        results = run(lab, send=True)
    assert findings(results) == expected
    if not expected:
        assert results["functional.message_sync"].status is Status.PASS
    for result in results.values():  # the same root cause never shows up twice
        assert result.status is not Status.ERROR, (result.id, result.message)


def test_bad_token_message_and_blocked_dependents() -> None:
    with lab_for("chatwoot-bad-token") as lab:
        results = run(lab, send=True)
    auth = results["chatwoot.auth"]
    assert '"Invalid Access Token"' in auth.message and auth.remediation is not None
    assert "Access Token" in auth.remediation.text
    for dependent in ("chatwoot.inbox", "chatwoot.filter", "chatwoot.bot", "functional.message_sync"):
        assert results[dependent].status is Status.BLOCKED and results[dependent].blocked_by == ["chatwoot.auth"]
    assert CHATWOOT_TOKEN not in auth.message and "regenerated-token" not in auth.message


@pytest.mark.parametrize("locale,text", [("en", "You need to sign in"), ("pt_BR", "Você precisa entrar")])
def test_header_stripped_names_the_proxy_in_both_locales(locale: str, text: str) -> None:
    with lab_for("chatwoot-header-stripped", locale=locale) as lab:
        auth = run(lab)["chatwoot.auth"]
    assert auth.status is Status.FAIL
    assert "api_access_token header" in auth.message and "proxy" in auth.message and text in auth.message
    assert auth.remediation is not None and "underscores_in_headers on;" in auth.remediation.text
    assert {r.number for r in auth.refs} == {1709, 774}


# --- chatwoot.reachable ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("queue_ok,data_ok,word", [(False, True, "Redis"), (True, False, "Postgres"),
                                                   (False, False, "both its Redis and its Postgres")])
def test_reachable_names_the_failing_service(queue_ok: bool, data_ok: bool, word: str) -> None:
    with lab_for() as lab:
        lab.chatwoot.queue_ok, lab.chatwoot.data_ok = queue_ok, data_ok
        result = run(lab)["chatwoot.reachable"]
    assert result.status is Status.FAIL and word in result.message and "down" in result.message


# --- chatwoot.auth: the other 401s, the account and the role -----------------------------------------------------
def _bot_token(lab: Lab) -> dict[str, Any]:
    bot = lab.chatwoot.add_agent_bot("Triage", account_id=1, token="bot-token-000000000001")
    return {"chatwoot.token": bot.token}


def _platform_token(lab: Lab) -> dict[str, Any]:
    return {"chatwoot.token": lab.chatwoot.add_platform_app(token="platform-token-0000001").token}


def _suspended(lab: Lab) -> dict[str, Any]:
    account(lab).status = "suspended"
    return {}


def _not_member(lab: Lab) -> dict[str, Any]:
    lab.chatwoot.add_account("Other", id=2)
    return {"chatwoot.account_id": "2"}


def _no_account(lab: Lab) -> dict[str, Any]:
    return {"chatwoot.account_id": "99"}


def _account_unset(lab: Lab) -> dict[str, Any]:
    return {"chatwoot.account_id": None}


@pytest.mark.parametrize("setup,words", [
    (_bot_token, ["agent-bot or platform-app token", "not authorized for bots"]),
    (_platform_token, ["agent-bot or platform-app token"]),
    (_suspended, ['"Account is suspended"']),
    (_not_member, ["not a member of account 2", "1 (Lab Support, administrator)"]),
    (_no_account, ["Account 99 does not exist", "1 (Lab Support, administrator)"]),
    (_account_unset, ["chatwoot.account_id is not set", "1 (Lab Support, administrator)"]),
], ids=["bot", "platform", "suspended", "not-member", "no-account", "account-unset"])
def test_auth_tells_the_failures_apart(setup: Callable[[Lab], dict[str, Any]], words: list[str]) -> None:
    with lab_for() as lab:
        results = run(lab, **{k.replace(".", "__"): v for k, v in setup(lab).items()})
    auth = results["chatwoot.auth"]
    assert auth.status is Status.FAIL
    for word in words:
        assert word in auth.message


def test_superadmin_token_on_3_5_1_is_the_known_regression() -> None:
    with lab_for(chatwoot_version="3.5.1") as lab:
        admin(lab).type = "SuperAdmin"
        auth = run(lab)["chatwoot.auth"]
    assert auth.status is Status.FAIL and "3.5.0-3.5.1" in auth.message
    assert [(r.number, r.fixed_in) for r in auth.refs] == [(365, "3.5.2")]


def test_agent_role_warns_and_publishes_role() -> None:
    with lab_for() as lab:
        user = admin(lab)
        user.memberships[1] = "agent"
        user.inbox_ids.add(inbox(lab).id)
        results = run(lab)
        lab.settings_values["chatwoot.account_id"] = "1"
    auth = results["chatwoot.auth"]
    assert auth.status is Status.WARN and "is an agent on account 1" in auth.message
    assert results["chatwoot.inbox"].status is Status.PASS
    assert "agent's" in results["chatwoot.inbox"].message


def test_agent_without_inbox_membership_cannot_see_the_inbox() -> None:
    with lab_for() as lab:
        admin(lab).memberships[1] = "agent"
        result = run(lab)["chatwoot.inbox"]
    assert result.status is Status.FAIL and "agents only see the inboxes they are members of" in result.message
    assert result.remediation is not None and "Collaborators" in result.remediation.text


# --- chatwoot.filter --------------------------------------------------------------------------------------------
def test_filter_422_with_evolution_1_7_4_in_pt_br() -> None:
    with lab_for("chatwoot-filter-422", chatwoot_version="4.10.1", locale="pt_BR") as lab:
        result = run(lab)["chatwoot.filter"]
    assert result.status is Status.FAIL and "Chave de atributo inválido - [contact_id]" in result.message
    assert "Evolution 1.7.4" in result.message
    assert result.remediation is not None and "1.7.5" in result.remediation.text
    assert "3.7.0" in result.remediation.text
    assert {605, 547, 8239} <= {r.number for r in result.refs}


def test_filter_identifier_contains_with_evolution_1_7_2() -> None:
    with lab_for(evolution_version="1.7.2", chatwoot_version="3.8.0") as lab:
        results = run(lab)
    result = results["chatwoot.filter"]
    assert result.status is Status.FAIL
    assert "identifier contains" in result.message and "[contact_id]" in result.message
    assert "fixed_in" and any(r.number == 547 and r.fixed_in == "1.7.3" for r in result.refs)


def test_filter_on_chatwoot_3_7_accepts_contact_id_and_warns_before_upgrading() -> None:
    with lab_for(evolution_version="1.7.4", chatwoot_version="3.7.0") as lab:
        result = run(lab)["chatwoot.filter"]
    assert result.status is Status.PASS and "still accepts" in result.message
    assert "before upgrading Chatwoot to 3.8" in result.message


def test_filter_with_fixed_evolution_passes_saying_why() -> None:
    with lab_for(evolution_version="1.8.2", chatwoot_version="3.8.0") as lab:
        result = run(lab)["chatwoot.filter"]
    assert result.status is Status.PASS and "no longer sends it (fixed in 1.7.5)" in result.message


def test_filter_without_evolution_judges_chatwoot_alone() -> None:
    with lab_for() as lab:
        results = run(lab, evolution__url=None, evolution__api_key=None)
    assert results["chatwoot.filter"].status is Status.PASS
    assert "Evolution's version is unknown" in results["chatwoot.filter"].message


# --- chatwoot.inbox ---------------------------------------------------------------------------------------------
def test_inbox_missing_lists_what_exists() -> None:
    with lab_for() as lab:
        inbox(lab).name = "support"
        result = run(lab)["chatwoot.inbox"]
    assert result.status is Status.FAIL and 'No inbox named "lab"' in result.message
    assert '"support"' in result.message and "Evolution's nameInbox" in result.message


def test_inbox_name_differs_only_in_case() -> None:
    with lab_for() as lab:
        inbox(lab).name = "Lab"
        result = run(lab)["chatwoot.inbox"]
    assert result.status is Status.FAIL and '"Lab"' in result.message and "exactly" in result.message


def test_inbox_not_api_channel() -> None:
    with lab_for() as lab:
        inbox(lab).channel_type = "Channel::WebWidget"
        result = run(lab)["chatwoot.inbox"]
    assert result.status is Status.FAIL and "Channel::WebWidget" in result.message


def test_inbox_setting_overrides_and_duplicates_are_noted() -> None:
    with lab_for() as lab:
        lab.chatwoot.add_inbox(1, "support", webhook_url=inbox(lab).webhook_url)
        lab.chatwoot.add_inbox(1, "support")
        result = run(lab, chatwoot__inbox="support")["chatwoot.inbox"]
    assert result.status is Status.PASS and "chatwoot.inbox setting" in result.message
    assert any('2 inboxes are named "support"' in n for n in result.notes)


# --- chatwoot.inbox.webhook ----------------------------------------------------------------------------------
def test_webhook_mismatch_shows_both_forms_and_says_evolution_will_not_fix_it() -> None:
    with lab_for("chatwoot-webhook-mismatch") as lab:
        result = run(lab)["chatwoot.inbox.webhook"]
    assert result.status is Status.FAIL
    assert "/chatwoot/webhook/old-instance" in result.message and "/chatwoot/webhook/lab" in result.message
    assert result.details["inbox_normalised"] != result.details["evolution_normalised"]
    assert result.remediation is not None and "does NOT update" in result.remediation.text
    assert any("PATCH" in c and "/inboxes/1" in c for c in result.remediation.changes)  # a change the user makes


def test_webhook_literal_difference_only_is_a_pass_showing_both() -> None:
    with lab_for() as lab:
        url = inbox(lab).webhook_url
        inbox(lab).webhook_url = url.replace("http://evolution", "HTTP://EVOLUTION") + "/"
        result = run(lab)["chatwoot.inbox.webhook"]
    assert result.status is Status.PASS and "literally they differ" in result.message


def test_webhook_empty() -> None:
    with lab_for() as lab:
        inbox(lab).webhook_url = None
        result = run(lab)["chatwoot.inbox.webhook"]
    assert result.status is Status.FAIL and "no webhook URL" in result.message


def test_webhook_loopback_when_chatwoot_is_remote() -> None:
    """Chatwoot reached by a name (lab DNS -> 127.0.0.1), the inbox calling localhost: that is Chatwoot itself."""
    with lab_for() as lab:
        lab.dns.set("chatwoot.lab.test", ["127.0.0.1"])
        port = lab.urls["chatwoot"].rsplit(":", 1)[1]
        inbox(lab).webhook_url = f"http://localhost:{port}/chatwoot/webhook/lab"
        result = run(lab, chatwoot__url=f"http://chatwoot.lab.test:{port}")["chatwoot.inbox.webhook"]
    assert result.status is Status.FAIL and "points at localhost" in result.message
    assert result.remediation is not None and "SERVER_URL" in result.remediation.text


def test_webhook_doubled_slash_in_the_inbox_only() -> None:
    with lab_for() as lab:
        inbox(lab).webhook_url = f"{lab.evolution.server_url}//chatwoot/webhook/lab"
        result = run(lab)["chatwoot.inbox.webhook"]
    assert result.status is Status.FAIL and "doubled slash" in result.message


@pytest.mark.parametrize("server_url", [None, "TRAILING"], ids=["unset", "trailing-slash"])
def test_webhook_broken_on_evolution_side_is_a_note_not_a_second_finding(server_url: str | None) -> None:
    with lab_for() as lab:
        good = lab.evolution.server_url
        lab.evolution.server_url = None if server_url is None else f"{good}/"
        if server_url is not None:  # the inbox was auto-created with the same broken URL
            inbox(lab).webhook_url = f"{good}//chatwoot/webhook/lab"
        results = run(lab)
    config, result = results["evolution.chatwoot.config"], results["chatwoot.inbox.webhook"]
    assert config.status is Status.FAIL
    assert result.status is Status.PASS and "not judged against Evolution's" in result.message
    assert any("same root cause as evolution.chatwoot.config" in n for n in result.notes)


def test_webhook_without_evolution_checks_the_inbox_alone() -> None:
    with lab_for() as lab:
        inbox(lab).webhook_url = "https://hooks.example.com/n8n/abc"
        results = run(lab, evolution__url=None, evolution__api_key=None)
    result = results["chatwoot.inbox.webhook"]
    assert result.status is Status.WARN and "/chatwoot/webhook/<instance>" in result.message


# --- chatwoot.bot -----------------------------------------------------------------------------------------------
def test_bot_pending_names_the_bot_and_the_evolution_setting() -> None:
    with lab_for("bot-pending") as lab:
        result = run(lab)["chatwoot.bot"]
    assert result.status is Status.FAIL and '"Lab triage bot"' in result.message
    assert "conversationPending is false: the bot is the only reason" in result.message
    assert result.remediation is not None and "Bot configuration" in result.remediation.text
    assert {7834, 7297, 488} == {r.number for r in result.refs}


def test_bot_pending_intended_is_a_warning() -> None:
    with lab_for("bot-pending") as lab:
        result = run(lab, chatwoot__expect_pending=True)["chatwoot.bot"]
    assert result.status is Status.WARN and "intended" in result.message


def test_no_bot_states_pending_from_evolution() -> None:
    with lab_for() as lab:
        chatwoot_settings = instance(lab).chatwoot
        assert chatwoot_settings is not None
        chatwoot_settings.conversation_pending = True
        result = run(lab)["chatwoot.bot"]
    assert result.status is Status.PASS and "start pending" in result.message
    assert "conversationPending is true" in result.message


def test_expect_pending_but_nothing_makes_it_pending() -> None:
    with lab_for() as lab:
        result = run(lab, chatwoot__expect_pending=True)["chatwoot.bot"]
    assert result.status is Status.WARN and "will start open" in result.message


# --- functional.message_sync ------------------------------------------------------------------------------------
def test_message_sync_reports_latency_conversation_and_status() -> None:
    with lab_for() as lab:
        result = run(lab, send=True)["functional.message_sync"]
        conversation = lab.chatwoot.conversation(1, result.details["conversation_id"])
        nonce = result.details["nonce"]
        assert conversation is not None and conversation.inbox_id == inbox(lab).id
        assert any(nonce in (m.content or "") for m in lab.chatwoot.messages_of(conversation))
    assert result.status is Status.PASS and " ms: conversation #" in result.message
    assert "status open" in result.message and CONTACT_NUMBER not in result.message
    assert result.details["latency_ms"] >= 0


def test_message_sync_v1_body_and_pending_from_bot() -> None:
    with lab_for("bot-pending", evolution_version="1.8.2") as lab:
        results = run(lab, send=True, send__to="5511955550001")
    result = results["functional.message_sync"]
    assert result.status is Status.PASS and "status pending" in result.message
    assert "created by this test" in result.message and "agent bot" in result.message


def test_message_sync_send_rejected() -> None:
    with lab_for() as lab:
        lab.evolution.not_on_whatsapp.add("5511900000000")
        result = run(lab, send=True, send__to="5511900000000")["functional.message_sync"]
    assert result.status is Status.FAIL and "refused to send" in result.message and "HTTP 400" in result.message
    assert "5511900000000" not in result.message


def test_message_sync_contact_never_created_names_the_nearest_cause() -> None:
    """Evolution 1.7.2 on Chatwoot 3.8: its contact lookup gets 422, so nothing is mirrored."""
    with lab_for(evolution_version="1.7.2", chatwoot_version="3.8.0") as lab:
        results = run(lab, send=True, timeout=0.6, send__to="5511955550002")
    result = results["functional.message_sync"]
    assert result.status is Status.FAIL and "no Chatwoot contact" in result.message
    assert "Nearest cause found by an earlier check: chatwoot.filter (fail)" in result.message


def test_message_sync_conversation_missing() -> None:
    with lab_for() as lab:
        lab.chatwoot.add_contact(1, "Someone", phone_number="+5511955550003")
        instance(lab).chatwoot.token = "stale-token"  # type: ignore[union-attr]
        result = run(lab, send=True, timeout=0.6, send__to="5511955550003")["functional.message_sync"]
    assert result.status is Status.FAIL and "got no conversation in inbox" in result.message


def test_message_sync_message_missing() -> None:
    with lab_for(traffic=True) as lab:  # the lab traffic created the contact and its conversation
        instance(lab).chatwoot.token = "stale-token"  # type: ignore[union-attr]
        result = run(lab, send=True, timeout=0.6)["functional.message_sync"]
    assert result.status is Status.FAIL and "did not arrive in it within 0.6 s" in result.message


def test_message_sync_wrong_inbox() -> None:
    with lab_for() as lab:
        lab.chatwoot.add_inbox(1, "support", webhook_url=inbox(lab).webhook_url)
        instance(lab).chatwoot.name_inbox = "support"  # type: ignore[union-attr]
        result = run(lab, send=True, chatwoot__inbox="lab", send__to="5511955550004")["functional.message_sync"]
    assert result.status is Status.FAIL and "not in inbox \"lab\"" in result.message


# --- read-only proof --------------------------------------------------------------------------------------------
def test_nothing_writes_without_allow_send() -> None:
    with lab_for() as lab:
        before = len(lab.mutating_requests())
        results = run(lab)
        assert lab.mutating_requests()[before:] == []
        reads = [e for e in lab.chatwoot.requests() if e.path.endswith("/filter")]
    assert results["functional.message_sync"].status is Status.SKIP
    assert reads and all(not e.mutates for e in reads)  # the filter POSTs are read-only


def test_with_allow_send_only_evolution_writes_to_chatwoot() -> None:
    with lab_for() as lab:
        before_evo, before_cw = len(lab.evolution.requests(mutating=True)), len(lab.chatwoot.requests(mutating=True))
        run(lab, send=True)
        evo_writes = lab.evolution.requests(mutating=True)[before_evo:]
        cw_writes = lab.chatwoot.requests(mutating=True)[before_cw:]
    assert [e.route for e in evo_writes] == ["/message/sendText/{instance}"]
    assert cw_writes and all(e.headers.get("user-agent", "").startswith("axios") for e in cw_writes)


# --- same root cause elsewhere: context, not a second finding ----------------------------------------------------
def test_instance_id_instead_of_name_is_left_to_evolution_instance() -> None:
    with lab_for("instance-id-not-name") as lab:
        results = run(lab, send=True)
    assert results["evolution.instance"].status is Status.FAIL
    assert results["chatwoot.inbox"].status is Status.SKIP and "evolution.instance" in results["chatwoot.inbox"].message
    assert findings(results) == {}


def test_message_sync_sends_nothing_when_evolution_does_not_mirror() -> None:
    with lab_for() as lab:
        instance(lab).chatwoot.enabled = False  # type: ignore[union-attr]
        before = len(lab.evolution.sent_messages)
        result = run(lab, send=True)["functional.message_sync"]
        assert len(lab.evolution.sent_messages) == before
    assert result.status is Status.SKIP and "would not be mirrored" in result.message


def test_inbox_without_any_name_to_look_for_is_skipped() -> None:
    with lab_for() as lab:
        results = run(lab, evolution__url=None, evolution__api_key=None, evolution__instance=None)
    assert results["chatwoot.inbox"].status is Status.SKIP and "chatwoot.inbox" in results["chatwoot.inbox"].message
