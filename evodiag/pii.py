"""Personal data in tickets, logs and bundles, replaced by stable pseudonyms.

``+55 11 91234-5678`` becomes ``phone#a1b2``, ``5511912345678@s.whatsapp.net`` becomes ``jid#c3d4@s.whatsapp.net``,
a ``pushName``/``name`` JSON value becomes ``name#…`` and message text (``conversation``/``text``/``content``)
becomes ``text#…``. The pseudonym is a keyed hash (HMAC-SHA256, key random per run unless given), so the same
number reads the same across every file of one run, and cannot be reversed or looked up by whoever reads it.

Phone numbers are only recognised with context, so Unix timestamps and numeric ids stay readable: a leading
``+``, a JID suffix, a phone-ish JSON key or label (``number``, ``telefone``...), separators in a phone shape
(``(11) 91234-5678``), or the Brazilian mobile shape with country code (``55`` + area code + ``9`` + 8 digits).

:class:`PiiRedactor` composes this with :class:`evodiag.redact.Redactor`: secrets first, then personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from evodiag.redact import MASK, Redactor, is_secret_name

KINDS = ("secret", "phone", "jid", "name", "text")

# JSON keys whose (string) value is personal data of that kind. Compared lower-cased, last dotted component.
NAME_KEYS = frozenset({"pushname", "name", "notifyname", "verifiedname", "verifiedbizname", "contactname",
                       "profilename", "sendername", "fullname", "first_name", "last_name", "nome", "nombre"})
TEXT_KEYS = frozenset({"conversation", "text", "content", "caption", "body", "message_text", "mensagem",
                       "mensaje"})
PHONE_KEYS = frozenset({"number", "phone", "phone_number", "phonenumber", "wa_id", "wuid", "msisdn", "mobile",
                        "telefone", "celular", "telefono", "whatsapp", "to", "send_to", "sender", "owner",
                        "participant", "remotejid", "jid", "from", "chatid", "chat_id", "identifier",
                        "source_id"})

_JID_SUFFIX = r"@(?:s\.whatsapp\.net|g\.us|lid|c\.us|broadcast|newsletter)"
_JID = re.compile(r"(?<![#\w.+-])(\+?\d[\d-]{4,40})(:\d{1,3})?(" + _JID_SUFFIX + r")\b")
# +CC then 8..15 more digits, optionally separated by spaces, dots, dashes or parentheses.
_PLUS_PHONE = re.compile(r"(?<![\w+#])\+\d{1,3}(?:[\s.()-]{0,2}\d){7,14}(?!\d)")
# Local formats with separators: "(11) 91234-5678", "11 91234-5678", "11 1234-5678", "91234-5678".
_SEP_PHONE = re.compile(r"(?<![\w#+.-])(?:\(\d{2}\)\s?|\d{2}\s)?9?\d{4}-\d{4}(?![\w-])")
# Brazilian mobile with country code, bare digits: 55 + DDD (no zeros) + 9 + 8 digits.
_BR_MOBILE = re.compile(r"(?<![\w#.+-])55[1-9][1-9]9\d{8}(?![\w.])")
# A label before bare digits: number=5511..., "telefone: 11912345678", 手机 13800138000.
_LABELED_PHONE = re.compile(
    r"(?i)((?:phone|number|n[uú]mero|tel[eé]fono|telefone|celular|whatsapp|wa_id|mobile|msisdn|send[_-]?to"
    r"|电话|手机|号码)[\"']?\s*(?:[:=]|is|é|es)?\s*[\"']?)(\d[\d\s-]{7,17}\d)(?![\d.])"
)
_NAME_FIELD = re.compile(r"(?i)(\"(?:pushName|notifyName|verifiedName|name|contactName|senderName)\"\s*:\s*\")"
                         r"((?:[^\"\\]|\\.)+)(\")")
_TEXT_FIELD = re.compile(r"(?i)(\"(?:conversation|text|content|caption|body)\"\s*:\s*\")((?:[^\"\\]|\\.)+)(\")")
_PHONE_FIELD = re.compile(r"(?i)(\"(?:number|phone|phone_number|phoneNumber|wa_id|wuid|owner|sender|participant"
                          r"|to|from)\"\s*:\s*\"?)(\+?\d[\d\s-]{7,17}\d)(?=[\"\s,}])")
_PSEUDONYM = re.compile(r"^(?:phone|jid|name|text)#[0-9a-f]{4,}")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _phoneish(value: str) -> bool:
    digits = _digits(value)
    return 8 <= len(digits) <= 15 and not re.search(r"[^\d\s().+-]", value)


class Pseudonymizer:
    """Keyed, stable pseudonyms plus a count of what was replaced."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else os.urandom(16)
        self.counts: Counter[str] = Counter()

    def pseudonym(self, kind: str, value: str) -> str:
        # jid and phone share the digits' hash, so one person reads the same in both forms.
        basis = "phone" if kind in ("phone", "jid") else kind
        norm = _digits(value) if basis == "phone" else value.strip()
        digest = hmac.new(self._key, f"{basis}:{norm}".encode("utf-8", "replace"), hashlib.sha256).hexdigest()
        self.counts[kind] += 1
        return f"{kind}#{digest[:4]}"

    def phone(self, value: str) -> str:
        return self.pseudonym("phone", value)

    def text(self, text: str) -> str:
        """Replace personal data found by shape or JSON structure in free text (a log line, a JSON body)."""
        if not text:
            return text
        text = _NAME_FIELD.sub(lambda m: self._field(m, "name"), text)
        text = _TEXT_FIELD.sub(lambda m: self._field(m, "text"), text)
        text = _JID.sub(lambda m: self.pseudonym("jid", m.group(1)) + m.group(3), text)
        text = _PHONE_FIELD.sub(lambda m: m.group(1) + self.phone(m.group(2)), text)
        text = _LABELED_PHONE.sub(lambda m: m.group(1) + self.phone(m.group(2)), text)
        text = _PLUS_PHONE.sub(lambda m: self.phone(m.group(0)), text)
        text = _SEP_PHONE.sub(lambda m: self.phone(m.group(0)), text)
        return _BR_MOBILE.sub(lambda m: self.phone(m.group(0)), text)

    def _field(self, match: re.Match[str], kind: str) -> str:
        value = match.group(2)
        if _PSEUDONYM.match(value) or value == MASK:
            return match.group(0)
        return match.group(1) + self.pseudonym(kind, value) + match.group(3)

    def value(self, key: str, value: Any) -> Any:
        """The pseudonym for ``value`` if ``key`` marks it as personal data, else ``None``."""
        name = key.rsplit(".", 1)[-1].strip().lower()
        if isinstance(value, bool) or value in (None, ""):
            return None
        if isinstance(value, (int, float)):
            return self.phone(str(value)) if name in PHONE_KEYS and _phoneish(str(value)) else None
        if not isinstance(value, str) or _PSEUDONYM.match(value):
            return None
        if name in PHONE_KEYS:
            jid = _JID.fullmatch(value)
            if jid:
                return self.pseudonym("jid", jid.group(1)) + jid.group(3)
            if _phoneish(value):
                return self.phone(value)
            return None
        if name in NAME_KEYS:
            return self.pseudonym("name", value)
        if name in TEXT_KEYS:
            return self.pseudonym("text", value)
        return None

    def summary(self) -> dict[str, int]:
        return {kind: self.counts[kind] for kind in KINDS if self.counts[kind]}


class PiiRedactor(Redactor):
    """Secrets masked (``***``) and personal data pseudonymised, in text and JSON-like structures."""

    def __init__(self, secrets: Iterable[str] = (), *, key: bytes | None = None,
                 pseudonymizer: Pseudonymizer | None = None) -> None:
        super().__init__(secrets)
        self.pii = pseudonymizer or Pseudonymizer(key)

    def text(self, text: str) -> str:
        before = text.count(MASK)
        text = super().text(text)
        masked = text.count(MASK) - before
        if masked > 0:
            self.pii.counts["secret"] += masked
        return self.pii.text(text)

    def obj(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                if is_secret_name(str(k)) and v not in (None, "", False):
                    self.pii.counts["secret"] += 1
                    out[k] = MASK
                    continue
                replaced = self.pii.value(str(k), v)
                out[k] = replaced if replaced is not None else self.obj(v)
            return out
        return super().obj(value)

    def own(self, value: Any) -> Any:
        """evodiag's own structures: personal data is found by its shape in each string (a JID, a phone number,
        a JSON body quoted in a message), never because one of evodiag's keys is called ``text`` or ``name``,
        so a remediation's ``text`` stays readable."""
        if isinstance(value, Mapping):
            return {k: self.own(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.own(v) for v in value]
        return self.text(value) if isinstance(value, str) else value

    def summary(self) -> dict[str, int]:
        return self.pii.summary()


def redact_text(text: str, secrets: Iterable[str] = (), *, key: bytes | None = None) -> str:
    """One-shot convenience: secrets and personal data out of ``text``."""
    return PiiRedactor(secrets, key=key).text(text)
