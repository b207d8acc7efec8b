"""How chatwoot.media and chatwoot.groups read the servers' bodies: Chatwoot message JSON (attachments of every
file_type), Evolution settings/find in both generations (and v2's null), chatwoot/find ignoreJids."""

from __future__ import annotations

from evodiag.probes.chatwoot_groups import GroupSettings, groups_ignore_of, ignore_jids_of
from evodiag.probes.chatwoot_media import attachment_urls, origin_of


def test_attachment_urls_take_files_newest_first_and_skip_links() -> None:
    messages = [
        {"id": 1, "attachments": [{"file_type": "image", "data_url": "https://cw.example.com/rails/a/1/x.png"}]},
        {"id": 2, "attachments": [{"file_type": "location", "data_url": "https://maps.example.com/?q=1"},
                                  {"file_type": "fallback", "data_url": "https://ig.example.com/story"}]},
        {"id": 3, "content": "no attachment"},
        {"id": 4, "attachments": [{"file_type": "audio", "data_url": "http://0.0.0.0:3000/rails/a/4/v.ogg"},
                                  {"file_type": "file", "data_url": ""}]},
    ]
    assert attachment_urls(messages) == ["http://0.0.0.0:3000/rails/a/4/v.ogg", "https://cw.example.com/rails/a/1/x.png"]


def test_origin_hides_the_signed_path_and_credentials() -> None:
    url = "https://agent:s3cret@chat.example.com:8443/rails/active_storage/blobs/redirect/eyJfcmFpbHMi--9f/photo.jpg"
    assert origin_of(url) == "https://chat.example.com:8443"


def test_settings_find_in_both_generations() -> None:
    assert groups_ignore_of({"rejectCall": False, "groupsIgnore": True, "wavoipToken": ""}) is True
    assert groups_ignore_of({"reject_call": False, "msg_call": "", "groups_ignore": True}) is True
    assert groups_ignore_of({"reject_call": False, "groups_ignore": False}) is False
    assert groups_ignore_of(None) is False  # v2 answers null when no Setting row exists: Evolution reads it as off
    assert groups_ignore_of("<html>") is None  # not an Evolution settings body


def test_ignore_jids_groups_contacts_and_single_groups() -> None:
    jids = ignore_jids_of({"enabled": True, "ignoreJids": ["@g.us", " 120363025246125486@g.us ", ""]})
    settings = GroupSettings(False, jids)
    assert settings.chatwoot_ignores_groups and settings.blocked and not settings.ignores_contacts
    assert settings.single_groups == ["120363025246125486@g.us"]
    assert ignore_jids_of({"enabled": True, "account_id": "1"}) == ()  # v1 has no ignoreJids
    assert GroupSettings(False, ("@s.whatsapp.net",)).ignores_contacts
    assert not GroupSettings(False, ()).blocked and GroupSettings(True, ()).blocked
