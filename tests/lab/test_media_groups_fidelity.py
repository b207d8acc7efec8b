"""The emulator routes chatwoot.media and chatwoot.groups read, byte for byte where the source gives the bytes:
Evolution's settings/find (v1 snake_case and its default, v2 camelCase and null), instance/create storing v1's
forced groups_ignore, Chatwoot's conversations index."""

from __future__ import annotations

import httpx
import pytest

from evodiag.lab.runtime import CHATWOOT_TOKEN, GLOBAL_KEY, INSTANCE, start_lab


def _get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=5)


def test_settings_find_v2_is_the_row_in_source_order() -> None:
    with start_lab("healthy", generate_traffic=False) as lab:
        reply = _get(f"{lab.urls['evolution']}/settings/find/{INSTANCE}", apikey=GLOBAL_KEY)
    assert reply.status_code == 200
    assert reply.text == ('{"rejectCall":false,"msgCall":"","groupsIgnore":false,"alwaysOnline":false,'
                          '"readMessages":false,"readStatus":false,"syncFullHistory":false,"wavoipToken":""}')


def test_settings_find_v2_without_a_row_is_null_and_guards_come_first() -> None:
    with start_lab("healthy", generate_traffic=False) as lab:
        inst = lab.evolution.find_instance(INSTANCE)
        assert inst is not None
        inst.settings = None
        reply = _get(f"{lab.urls['evolution']}/settings/find/{INSTANCE}", apikey=GLOBAL_KEY)
        missing = _get(f"{lab.urls['evolution']}/settings/find/nope", apikey="wrong")
        wrong_key = _get(f"{lab.urls['evolution']}/settings/find/{INSTANCE}", apikey="wrong")
    assert (reply.status_code, reply.text) == (200, "null")
    assert missing.status_code == 404 and wrong_key.status_code == 401


@pytest.mark.parametrize("version", ["1.7.4", "1.8.2"])
def test_v1_create_stores_groups_ignore_true_whatever_the_body_says(version: str) -> None:
    with start_lab("healthy", evolution_version=version, generate_traffic=False) as lab:
        created = httpx.post(f"{lab.urls['evolution']}/instance/create", headers={"apikey": GLOBAL_KEY},
                             json={"instanceName": "fresh", "groups_ignore": False, "reject_call": True}, timeout=10)
        found = _get(f"{lab.urls['evolution']}/settings/find/fresh", apikey=GLOBAL_KEY)
    assert created.status_code == 201 and created.json()["settings"]["groups_ignore"] is True
    assert found.json() == {"reject_call": True, "msg_call": "", "groups_ignore": True, "always_online": False,
                            "read_messages": False, "read_status": False, "sync_full_history": False}


def test_v1_without_stored_settings_answers_the_hard_coded_default() -> None:
    with start_lab("healthy", evolution_version="1.8.2", generate_traffic=False) as lab:
        inst = lab.evolution.find_instance(INSTANCE)
        assert inst is not None
        inst.settings = None
        reply = _get(f"{lab.urls['evolution']}/settings/find/{INSTANCE}", apikey=GLOBAL_KEY)
    assert reply.text == '{"reject_call":false,"msg_call":"","groups_ignore":true}'


def test_v2_create_keeps_groups_ignore_only_when_exactly_true() -> None:
    with start_lab("healthy", generate_traffic=False) as lab:
        for name, value in (("a", "yes"), ("b", True)):
            httpx.post(f"{lab.urls['evolution']}/instance/create", headers={"apikey": GLOBAL_KEY},
                       json={"instanceName": name, "integration": "WHATSAPP-BAILEYS", "groupsIgnore": value},
                       timeout=10)
        a = _get(f"{lab.urls['evolution']}/settings/find/a", apikey=GLOBAL_KEY).json()
        b = _get(f"{lab.urls['evolution']}/settings/find/b", apikey=GLOBAL_KEY).json()
        rows = _get(f"{lab.urls['evolution']}/instance/fetchInstances", apikey=GLOBAL_KEY).json()
    assert a["groupsIgnore"] is False and b["groupsIgnore"] is True
    assert {r["name"]: r["Setting"]["groupsIgnore"] for r in rows}["b"] is True


def test_settings_set_validates_every_flag() -> None:
    with start_lab("healthy", generate_traffic=False) as lab:
        reply = httpx.post(f"{lab.urls['evolution']}/settings/set/{INSTANCE}", headers={"apikey": GLOBAL_KEY},
                           json={"groupsIgnore": True}, timeout=5)
    assert reply.status_code == 400
    assert reply.json()["response"]["message"][0][0] == 'instance requires property "rejectCall"'


def test_conversations_index_wraps_in_data_and_filters_status() -> None:
    with start_lab("healthy") as lab:
        base = f"{lab.urls['chatwoot']}/api/v1/accounts/1/conversations"
        inbox_id = next(iter(lab.chatwoot.inboxes))
        conv = next(iter(lab.chatwoot.conversations.values()))
        conv.status = "resolved"
        default = _get(f"{base}?inbox_id={inbox_id}", api_access_token=CHATWOOT_TOKEN).json()
        every = _get(f"{base}?inbox_id={inbox_id}&status=all", api_access_token=CHATWOOT_TOKEN).json()
        other = _get(f"{base}?inbox_id=999&status=all", api_access_token=CHATWOOT_TOKEN).json()
    assert list(default) == ["data"] and list(default["data"]) == ["meta", "payload"]
    assert list(default["data"]["meta"]) == ["mine_count", "assigned_count", "unassigned_count", "all_count"]
    assert default["data"]["payload"] == [] and default["data"]["meta"]["all_count"] == 0
    assert [c["id"] for c in every["data"]["payload"]] == [conv.display_id]
    assert other["data"]["payload"] == []


def test_message_attachment_data_url_is_built_on_frontend_url() -> None:
    with start_lab("healthy") as lab:
        conv = next(iter(lab.chatwoot.conversations.values()))
        url = f"{lab.urls['chatwoot']}/api/v1/accounts/1/conversations/{conv.display_id}/messages"
        before = _get(url, api_access_token=CHATWOOT_TOKEN).json()["payload"][-1]["attachments"][0]
        lab.chatwoot.frontend_url = "https://support.example.net/"
        after = _get(url, api_access_token=CHATWOOT_TOKEN).json()["payload"][-1]["attachments"][0]
    assert before["data_url"].startswith("https://chatwoot.example.com/rails/active_storage/blobs/redirect/")
    assert after["data_url"].startswith("https://support.example.net/rails/active_storage/blobs/redirect/")
    assert list(before)[:4] == ["id", "message_id", "file_type", "account_id"] and before["file_type"] == "image"
