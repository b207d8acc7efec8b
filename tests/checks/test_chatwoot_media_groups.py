"""chatwoot.media and chatwoot.groups against the lab (real servers on 127.0.0.1, the lab DNS server for names).

Each test changes one thing the way a real deployment goes wrong, runs the real catalog in-process (the two
checks, what they require and the Evolution checks whose facts they read) and reads the verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from evodiag.engine.results import Result, Status
from evodiag.lab.chatwoot import operations
from evodiag.lab.runtime import GLOBAL_KEY, INSTANCE, Lab, start_lab

CHECKS = ("evolution.reachable", "evolution.auth", "evolution.instance", "evolution.chatwoot.enabled",
          "evolution.chatwoot.config", "chatwoot.reachable", "chatwoot.auth", "chatwoot.inbox",
          "chatwoot.media", "chatwoot.groups")


@contextmanager
def lab_for(scenario: str = "healthy", *, traffic: bool = True, **kwargs: Any) -> Iterator[Lab]:
    with start_lab(scenario, generate_traffic=traffic, **kwargs) as lab:
        yield lab


def run(lab: Lab, **settings: Any) -> dict[str, Result]:
    """The two checks and what they read, with ``settings`` overrides (``a__b`` = ``a.b``; ``None`` removes)."""
    for key, value in settings.items():
        if value is None:
            lab.settings_values.pop(key.replace("__", "."), None)
        else:
            lab.settings_values[key.replace("__", ".")] = value
    return {r.id: r for r in lab.run(only=CHECKS, allow=frozenset(), timeout=3.0).results}


# --- chatwoot.media -------------------------------------------------------------------------------------------
def test_media_public_frontend_passes_and_shows_only_the_origin() -> None:
    with lab_for() as lab:
        result = run(lab)["chatwoot.media"]
    assert result.status is Status.PASS, result.message
    assert "https://chatwoot.example.com" in result.message and "public" in result.message
    assert "price-list" not in result.message + " ".join(result.evidence)  # the file name is personal data


def test_media_loopback_frontend_fails() -> None:
    with lab_for("chatwoot-media-url") as lab:
        result = run(lab)["chatwoot.media"]
    assert result.status is Status.FAIL and "0.0.0.0" in result.message and "Evolution itself" in result.message
    assert result.remediation is not None and "FRONTEND_URL" in result.remediation.text


def test_media_frontend_change_applies_to_existing_attachments() -> None:
    """Rails builds data_url on every render: fixing FRONTEND_URL fixes the links of old messages too."""
    with lab_for("chatwoot-media-url") as lab:
        lab.chatwoot.frontend_url = "https://chatwoot.example.com"
        assert run(lab)["chatwoot.media"].status is Status.PASS


def test_media_compose_service_name_fails_as_not_a_url_to_evolution() -> None:
    with lab_for() as lab:
        lab.chatwoot.frontend_url = "http://chatwoot:3000"
        result = run(lab)["chatwoot.media"]
    assert result.status is Status.FAIL and "compose service" in result.message


def test_media_unresolvable_name_fails() -> None:
    with lab_for() as lab:
        lab.chatwoot.frontend_url = "https://chat.not-registered.example.org"
        result = run(lab)["chatwoot.media"]
    assert result.status is Status.FAIL and "does not resolve" in result.message


def test_media_without_attachments_judges_frontend_url_from_the_chatwoot_env(tmp_path: Any) -> None:
    env = tmp_path / "chatwoot.env"
    env.write_text("FRONTEND_URL=http://localhost:3000\nSECRET_KEY_BASE=x\nPOSTGRES_HOST=postgres\n"
                   "REDIS_URL=redis://redis:6379\nRAILS_ENV=production\n", encoding="utf-8")
    with lab_for(traffic=False) as lab:
        none = run(lab)["chatwoot.media"]
        files = [*lab.settings_values["files.env"], str(env)]
        judged = run(lab, files__env=files)["chatwoot.media"]
    assert none.status is Status.PASS and "No attachment" in none.message
    assert judged.status is Status.FAIL and "localhost" in judged.message and "chatwoot.env" in judged.message


def test_media_evolution_channel_cannot_send_chatwoot_audio() -> None:
    with lab_for() as lab:
        inst = lab.evolution.find_instance(INSTANCE)
        assert inst is not None
        inst.integration = "EVOLUTION"
        result = run(lab)["chatwoot.media"]
    assert result.status is Status.WARN and "File or buffer is undefined" in result.message
    assert any(ref.number == 1628 for ref in result.refs)


def test_media_reads_with_gets_only() -> None:
    with lab_for() as lab:
        before = len(lab.chatwoot.requests())
        run(lab)
        calls = [(e.method, e.path) for e in lab.chatwoot.requests()[before:]]
    assert any(path.startswith("/api/v1/accounts/1/conversations?inbox_id=") for _, path in calls)
    assert {method for method, path in calls if "conversations" in path} == {"GET"}


# --- chatwoot.groups ------------------------------------------------------------------------------------------
def _instance_settings(lab: Lab) -> Any:
    inst = lab.evolution.find_instance(INSTANCE)
    assert inst is not None and inst.settings is not None
    return inst.settings


def _cw_settings(lab: Lab) -> Any:
    inst = lab.evolution.find_instance(INSTANCE)
    assert inst is not None and inst.chatwoot is not None
    return inst.chatwoot


def test_groups_flow_by_default_on_v2() -> None:
    with lab_for() as lab:
        result = run(lab)["chatwoot.groups"]
    assert result.status is Status.PASS and "reach Chatwoot" in result.message


def test_groups_v1_default_is_ignored_and_that_is_only_reported() -> None:
    with lab_for(evolution_version="1.8.2") as lab:
        result = run(lab)["chatwoot.groups"]
        expected = run(lab, chatwoot__expect_groups=True)["chatwoot.groups"]
    assert result.status is Status.PASS and "groups_ignore true" in result.message
    assert expected.status is Status.FAIL and "groups_ignore" in (expected.remediation.text if expected.remediation
                                                                    else "")
    assert "1.6.0-1.8.x" in (expected.remediation.text if expected.remediation else "")


def test_groups_ignore_jids_g_us_blocks_only_chatwoot() -> None:
    with lab_for() as lab:
        _cw_settings(lab).ignore_jids = ["@g.us"]
        result = run(lab, chatwoot__expect_groups=True)["chatwoot.groups"]
    assert result.status is Status.FAIL and "ignoreJids" in result.message and "groupsIgnore true" not in result.message


def test_groups_ignore_jids_contacts_is_a_failure_whatever_is_expected() -> None:
    with lab_for() as lab:
        _cw_settings(lab).ignore_jids = ["@s.whatsapp.net", "5511912340000@s.whatsapp.net"]
        result = run(lab)["chatwoot.groups"]
    assert result.status is Status.FAIL and "one-to-one" in result.message
    assert result.details["groups"]["ignore_jids_single"] == 1
    assert "5511912340000" not in repr(result.details) + result.message  # a JID is personal data


def test_groups_history_without_expectation_is_a_warning() -> None:
    with lab_for("chatwoot-groups-ignored") as lab:
        result = run(lab, chatwoot__expect_groups=None)["chatwoot.groups"]
        declared = run(lab, chatwoot__expect_groups=False)["chatwoot.groups"]
    assert result.status is Status.WARN and "1 group contact" in result.message
    assert declared.status is Status.PASS and "as chatwoot.expect_groups says" in declared.message


def test_groups_flowing_while_not_wanted_warns() -> None:
    with lab_for() as lab:
        result = run(lab, chatwoot__expect_groups=False)["chatwoot.groups"]
    assert result.status is Status.WARN and "@g.us" in result.message


def test_groups_v2_without_a_setting_row_reads_null_as_off() -> None:
    with lab_for() as lab:
        inst = lab.evolution.find_instance(INSTANCE)
        assert inst is not None
        inst.settings = None
        result = run(lab, chatwoot__expect_groups=True)["chatwoot.groups"]
    assert result.status is Status.PASS


def test_groups_fixed_through_settings_set_passes() -> None:
    """The remediation works against the emulator: POST /settings/set with groupsIgnore false."""
    with lab_for("chatwoot-groups-ignored") as lab:
        assert run(lab)["chatwoot.groups"].status is Status.FAIL
        body = {"rejectCall": False, "groupsIgnore": False, "alwaysOnline": False, "readMessages": False,
                "readStatus": False, "syncFullHistory": False}
        reply = httpx.post(f"{lab.urls['evolution']}/settings/set/{INSTANCE}", json=body,
                           headers={"apikey": GLOBAL_KEY})
        after = run(lab)["chatwoot.groups"]
    assert reply.status_code == 201 and reply.json() == {"settings": {"instanceName": INSTANCE, "settings": body}}
    assert after.status is Status.PASS


def test_attach_file_keeps_paths_in_the_store() -> None:
    """The store keeps paths; only the rendered JSON carries FRONTEND_URL (checked above through the API)."""
    with lab_for() as lab:
        conv = next(iter(lab.chatwoot.conversations.values()))
        msg = lab.chatwoot.add_message(conv, "x", message_type="outgoing")
        attachment = operations.attach_file(lab.chatwoot, msg, {"filename": "a.ogg", "content_type": "audio/ogg"})
    assert attachment["data_url"].startswith("/rails/active_storage/blobs/redirect/")
    assert attachment["file_type"] == "audio" and attachment["thumb_url"] == ""


def test_frontend_url_in_files_is_one_finding_not_two(tmp_path: Any) -> None:
    """FRONTEND_URL is both a network.domains edge and what chatwoot.media judges: when chatwoot.media runs it
    owns the finding, network.domains only notes it; without Chatwoot settings network.domains still judges it."""
    env = tmp_path / "chatwoot.env"
    env.write_text("FRONTEND_URL=http://localhost:3000\nSECRET_KEY_BASE=x\nPOSTGRES_HOST=postgres\n"
                   "REDIS_URL=redis://redis:6379\nRAILS_ENV=production\n", encoding="utf-8")
    with lab_for(traffic=False) as lab:
        lab.settings_values["files.env"] = [*lab.settings_values["files.env"], str(env)]
        both = {r.id: r for r in lab.run(only=(*CHECKS, "network.domains"), allow=frozenset(), timeout=3.0).results}
        for key in ("chatwoot.url", "chatwoot.token"):
            lab.settings_values.pop(key)
        alone = {r.id: r for r in lab.run(only=("network.domains",), allow=frozenset(), timeout=3.0).results}
    assert both["chatwoot.media"].status is Status.FAIL
    assert both["network.domains"].status is Status.PASS
    assert any("judged by chatwoot.media" in n for n in both["network.domains"].notes)
    assert alone["network.domains"].status is Status.FAIL and "localhost" in alone["network.domains"].message
