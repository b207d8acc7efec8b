"""Real log lines from the media and group threads are diagnosed as chatwoot.media / chatwoot.groups (top 1),
with the shipped catalog. Each line is quoted from the thread named next to it (values shortened, not reworded)."""

from __future__ import annotations

import io

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.triage import triage_stream

MEDIA_LINES = [
    # evolution-api#1628 (2.2.3 + Chatwoot 4.1.0): an image/audio reply from Chatwoot
    ("[Evolution API] v2.2.3 177 - Fri Jun 20 2025 10:33:42 ERROR [ChatwootService] [object]\n"
     "Error: File or buffer is undefined\n"
     "    at is.audioOrWhatsapp (/evolution/dist/main.js:221:5372)\n"
     "    at Re.sendAttachment (/evolution/dist/main.js:92:10417)\n"),
    # chatwoot#11474 (Evolution 2.2.3 + Chatwoot 4.1.0): axios response of the data_url download
    ("  statusCode: 404,\n  statusMessage: 'Not Found',\n"
     "  responseUrl: 'https://xxx.xxx.com.br/rails/active_storage/blobs/redirect/eyJfcmFpbHMiOnsibWVzc2FnZSI6IkJBa"
     "HBDdz09IiwiZXhwIjpudWxsLCJwdXIiOiJibG9iX2lkIn19--968aa6e0343470d71170bb9ec8c70055a2970b28/ping-ad.png',\n"),
    # evolution-api#1047 (2.2.0): images from Chatwoot arrive gray
    "ActiveStorage::AnalyzeJob\nActiveStorage::FileNotFoundError\n",
    # evolution-api#2117 (2.3.6): audio from Chatwoot
    ("2025-10-21T21:56:33.431277566Z   error: [Error: ENOENT: no such file or directory, open "
     "'/tmp/audio3EB076C3BA7E0F661CD1D9-enc'] {\n"),
    # Baileys audioWhatsapp on 2.2.x-2.3.6 when the data_url is not a URL to class-validator
    '{"status":400,"error":"Bad Request","response":{"message":["File buffer, URL, or base64 audio is required"]}}\n',
]
GROUP_LINES = [
    # chatwoot.service.ts 2.3.6 L1925-1927, the warn line for an ignoreJids "@g.us"
    "[Evolution API]  v2.3.6  1  -  Thu Oct 23 2025 10:00:00  WARN  [ChatwootService]  [string]  "
    "Ignoring message from group: 120363025246125486@g.us\n",
    # whatsapp.baileys.service.ts 2.3.6 L583, logged when the instance starts
    "[Evolution API]  v2.3.6  1  -  Thu Oct 23 2025 10:00:00  INFO  [BaileysStartupService]  [string]  "
    "Group Ignore: true\n",
    # settings/find of a v1 instance created with groups_ignore false (stored true, instance.controller.ts L399)
    '{"reject_call":false,"msg_call":"","groups_ignore":true,"always_online":false,"read_messages":false}\n',
    # titles of evolution-api#1834 and #1811, as users write them
    "Mensagens de grupo nao aparecem no chatwoot (enviadas via API)\n",
    "WhatsApp group messages are not creating conversations in Chatwoot panel\n",
]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize("text", MEDIA_LINES)
def test_media_lines_are_chatwoot_media(catalog, text: str) -> None:
    result = triage_stream(io.BytesIO(text.encode()), catalog)
    assert result.diagnoses and result.diagnoses[0].id == "chatwoot.media", [d.id for d in result.diagnoses]


@pytest.mark.parametrize("text", GROUP_LINES)
def test_group_lines_are_chatwoot_groups(catalog, text: str) -> None:
    result = triage_stream(io.BytesIO(text.encode()), catalog)
    assert result.diagnoses and result.diagnoses[0].id == "chatwoot.groups", [d.id for d in result.diagnoses]


def test_unrelated_media_talk_is_not_chatwoot_media(catalog) -> None:
    """A text reply failing for another reason must not be blamed on attachments."""
    text = b'{"error":"Invalid Access Token"}\nresponseUrl: https://chat.example.com/api/v1/profile\n'
    result = triage_stream(io.BytesIO(text), catalog)
    assert [d.id for d in result.diagnoses][:1] == ["chatwoot.auth"]
