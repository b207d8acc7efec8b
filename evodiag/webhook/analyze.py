"""Explain a webhook capture: duplicates, retry storms, URL shape, lag, and which OpenIM callbacks arrived.

Everything here is a pure function over captured deliveries (the JSONL written by
:mod:`evodiag.webhook.capture`), returning dataclasses. A check elsewhere turns them into pass/warn/fail;
keeping the judgement data-only makes it testable from fixtures and reusable on files users send in.

User-facing text says "likely" wherever the reference marks the fact UNVERIFIED.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evodiag.durations import human_seconds
from evodiag.versions import in_range, parse_version
from evodiag.webhook.capture import OPENIM_COMMAND_RE, last_segment

# Events whose data carries a WhatsApp message `key.id` that must be unique per delivery. messages.update
# is excluded on purpose: it legitimately repeats for each status change of the same message.
MESSAGE_EVENTS = frozenset({"messages.upsert", "send.message", "messages.edited"})

# Where Evolution keeps "how did this chat start" context (click-to-WhatsApp ads and similar): v2 lifts
# `contextInfo` into `data` (webhook.controller.ts, 2.3.6), v1 leaves it inside `data.message.<type>`.
CONTEXT_KEYS = ("entryPointConversionSource", "entryPointConversionApp", "conversionSource")

# A field name that is a timestamp: date_time, messageTimestamp, senderTimestamp, createdAt, sendTime …
_TIMESTAMP_FIELD = re.compile(r"(?i)(date|time|stamp)|At$")

# 2.0–2.2.x retry: fixed 30 s between attempts, on any error. The failed attempt's own duration adds to the gap,
# hence the asymmetric window. Source:
# https://github.com/EvolutionAPI/evolution-api/blob/2.2.3/src/api/integrations/event/webhook/webhook.controller.ts#L187-L230
RETRY_FIXED_S = 30.0
RETRY_WINDOW_S = (27.0, 45.0)

# Event names as byEvents appends them, for paths whose body has no event. Source:
# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts#L86-L108
_KNOWN_BY_EVENT_SUFFIXES = frozenset({
    "application-startup", "qrcode-updated", "connection-update", "messages-set", "messages-upsert",
    "messages-update", "messages-delete", "messages-edited", "send-message", "contacts-set",
    "contacts-upsert", "contacts-update", "presence-update", "chats-set", "chats-upsert", "chats-update",
    "chats-delete", "groups-upsert", "groups-update", "group-update", "group-participants-update",
    "call", "typebot-start", "typebot-change-status", "labels-edit", "labels-association",
})

# OpenIM: CallbackAfterRevokeMsgCommand = "callbackBeforeAfterMsgCommand" (typo kept upstream).
OPENIM_REVOKE_TYPO = "callbackBeforeAfterMsgCommand"
OPENIM_ONLINE = "callbackAfterUserOnlineCommand"
OPENIM_OFFLINE = "callbackAfterUserOfflineCommand"
OPENIM_KICKOFF = "callbackAfterUserKickOffCommand"

IDEMPOTENCY_FIX = (
    "make the receiver idempotent: remember instance + data.key.id and ignore repeats "
    "("
    "https://github.com/evolution-foundation/evolution-api/issues/631)"
)


# ------------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    """One captured delivery (one JSONL line)."""

    line_no: int
    received_at: float
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    query: str | None = None

    def _get(self, *keys: str) -> Any:
        node = self.body
        for key in keys:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node

    @property
    def event(self) -> str | None:
        """Evolution's dotted event name, normalised (``MESSAGES_UPSERT`` → ``messages.upsert``)."""
        value = self._get("event")
        return value.lower().replace("_", ".") if isinstance(value, str) and value else None

    @property
    def openim_command(self) -> str | None:
        """The OpenIM callback command, from the body or, failing that, from the path (POST {url}/{callbackCommand})."""
        value = self._get("callbackCommand")
        if isinstance(value, str) and value:
            return value
        segment = last_segment(self.path)
        return segment if OPENIM_COMMAND_RE.match(segment) else None

    @property
    def instance(self) -> str | None:
        value = self._get("instance")
        return value if isinstance(value, str) else None

    @property
    def key_id(self) -> str | None:
        value = self._get("data", "key", "id")
        return value if isinstance(value, str) and value else None

    @property
    def date_time(self) -> str | None:
        value = self._get("date_time")
        return value if isinstance(value, str) else None

    @property
    def message_timestamp(self) -> float | None:
        """``data.messageTimestamp`` in UTC seconds.

        Accepts a number, a numeric string, or a protobuf Long ``{low, high}``."""
        return _epoch_seconds(self._get("data", "messageTimestamp"))


@dataclass(frozen=True)
class MalformedLine:
    line_no: int
    reason: str
    excerpt: str


@dataclass
class LoadResult:
    deliveries: list[Delivery]
    malformed: list[MalformedLine]


def parse_lines(lines: Iterable[bytes | str]) -> LoadResult:
    """Parse JSONL lines; bad lines are collected with a reason, never raised. Blank lines are skipped."""
    deliveries: list[Delivery] = []
    malformed: list[MalformedLine] = []
    for line_no, raw in enumerate(lines, 1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            malformed.append(MalformedLine(line_no, f"not JSON ({getattr(exc, 'msg', exc)})", text[:120]))
            continue
        except RecursionError:
            malformed.append(MalformedLine(line_no, "not JSON (nested too deeply)", text[:120]))
            continue
        if not isinstance(obj, dict):
            malformed.append(MalformedLine(line_no, "not a JSON object", text[:120]))
            continue
        received_at = obj.get("received_at")
        if isinstance(received_at, bool) or not isinstance(received_at, (int, float)):
            malformed.append(MalformedLine(line_no, "missing or non-numeric received_at", text[:120]))
            continue
        headers = obj.get("headers")
        query = obj.get("query")
        deliveries.append(Delivery(
            line_no=line_no,
            received_at=float(received_at),
            method=str(obj.get("method") or "POST"),
            path=str(obj.get("path") or ""),
            headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
            body=obj.get("body"),
            query=query if isinstance(query, str) else None,
        ))
    return LoadResult(deliveries, malformed)


def load_deliveries(path: str | Path) -> LoadResult:
    """Load a capture file. Invalid UTF-8 is replaced; malformed lines are counted, not fatal."""
    with Path(path).open("rb") as fh:
        return parse_lines(fh)


# ------------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------------
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_iso_as_utc(text: str | None) -> float | None:
    """Epoch seconds for an ISO timestamp, taking its zone label at face value (``Z`` = UTC)."""
    if not text:
        return None
    m = _ISO_RE.match(text.strip())
    if not m:
        return None
    year, month, day, hh, mm, ss = (int(g) for g in m.groups()[:6])
    frac = float(f"0.{m.group(7)}") if m.group(7) else 0.0
    try:
        stamp = datetime(year, month, day, hh, mm, ss, tzinfo=timezone.utc).timestamp() + frac
    except ValueError:
        return None
    zone = m.group(8)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return stamp


def _epoch_seconds(value: Any) -> float | None:
    if isinstance(value, dict) and "low" in value:  # protobuf Long as serialised by Baileys (v1)
        low, high = value.get("low"), value.get("high") or 0
        if isinstance(low, int) and isinstance(high, int):
            value = (high << 32) + (low & 0xFFFFFFFF)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return value / 1000.0 if value > 1e12 else float(value)  # milliseconds → seconds


def _diff_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                out.append(sub)
            else:
                out.extend(_diff_paths(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(_diff_paths(x, y, f"{prefix}[{i}]"))
        return out
    return [] if a == b and type(a) is type(b) else [prefix or "$"]


def is_timestamp_field(path: str) -> bool:
    leaf = re.split(r"[.\[]", path)[-1]
    return bool(_TIMESTAMP_FIELD.search(leaf))


def _find_context(data: Any) -> dict[str, Any]:
    """``entryPointConversionSource`` and friends from ``data.contextInfo`` or any ``…contextInfo`` below
    ``data.message`` (v1 keeps it per message type)."""
    found: dict[str, Any] = {}
    if not isinstance(data, dict):
        return found
    stack: list[Any] = [data.get("contextInfo"), data.get("message")]
    depth = 0
    while stack and depth < 200:
        depth += 1
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        for key in CONTEXT_KEYS:
            if key in node and key not in found:
                found[key] = node[key]
        for key, value in node.items():
            if isinstance(value, dict) and (key.endswith("contextInfo") or key.endswith("ContextInfo")
                                            or key.endswith("Message") or key == "message"):
                stack.append(value)
    return found


def _canonical(body: Any) -> str:
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    except (RecursionError, ValueError):
        return repr(body)


def _spread(values: Sequence[float]) -> float | None:
    return (max(values) - min(values)) if values else None


# ------------------------------------------------------------------------------------------------------
# Duplicates (same instance + key.id)
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KnownIssue:
    url: str  # the upstream issue
    versions: str  # as shown to the user
    summary: str
    verified: bool
    applies: str = ""  # the version range it applies to (evodiag.versions syntax)


# Evolution API issues about duplicate webhooks.
_ISSUES = "https://github.com/evolution-foundation/evolution-api/issues/"
DUPLICATE_ISSUES = (
    KnownIssue(_ISSUES + "631", "1.8.0", "the same messages.upsert (same key.id) is delivered repeatedly; root "
               "cause likely in Evolution itself (UNVERIFIED; no explicit fix in the 1.8.1/1.8.2 changelog)",
               False, applies=">=1.8.0,<1.9.0"),
    KnownIssue(_ISSUES + "1325", "2.0-2.2.x", "up to 10 attempts, fixed 30 s apart, on ANY error including 4xx: the "
               "receiver (or a proxy in front of it) answered an error", True, applies=">=2.0.0,<2.3.0"),
    KnownIssue(_ISSUES + "2192", "2.3.6", "the same message is sent more than once", True, applies=">=2.3.0,<2.4.0"),
)


@dataclass(frozen=True)
class DuplicateGroup:
    """All deliveries of one message (instance + key.id)."""

    instance: str | None
    key_id: str
    events: tuple[str, ...]
    count: int
    line_nos: tuple[int, ...]
    first_received_at: float
    received_spread_s: float
    date_time_spread_s: float | None
    identical_bodies: bool
    differ_only_in_timestamps: bool
    differing_fields: tuple[str, ...]
    shared_context: dict[str, Any]

    @property
    def kind(self) -> str:
        """``"retry"`` (byte-identical body resent), ``"re-emitted"`` (same message, new timestamps) or
        ``"changed"`` (other fields differ too)."""
        if self.identical_bodies:
            return "retry"
        return "re-emitted" if self.differ_only_in_timestamps else "changed"


@dataclass
class DuplicateFinding:
    message_deliveries: int
    unique_messages: int
    groups: list[DuplicateGroup]
    known_issues: tuple[KnownIssue, ...]
    context_counts: dict[str, int] = field(default_factory=dict)
    fix: str = IDEMPOTENCY_FIX

    @property
    def extra_copies(self) -> int:
        return sum(g.count - 1 for g in self.groups)

    @property
    def found(self) -> bool:
        return bool(self.groups)

    def summary(self) -> str:
        if not self.groups:
            return (f"no duplicate message deliveries among {self.message_deliveries} message events "
                    f"({self.unique_messages} distinct instance+key.id)")
        kinds = Counter(g.kind for g in self.groups)
        parts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        return (f"{len(self.groups)} message(s) delivered more than once ({self.extra_copies} extra copies; "
                f"{parts}) among {self.message_deliveries} message events")


def known_duplicate_issues(evolution_version: str | None = None) -> tuple[KnownIssue, ...]:
    """The duplicate-delivery issues that apply to a version (all of them when it is unknown)."""
    v = parse_version(evolution_version)
    if v is None:
        return DUPLICATE_ISSUES
    return tuple(issue for issue in DUPLICATE_ISSUES if in_range(v, issue.applies))


def find_duplicates(deliveries: Sequence[Delivery], evolution_version: str | None = None) -> DuplicateFinding:
    """Group message events by instance + data.key.id and describe every group with more than one copy."""
    by_key: dict[tuple[str | None, str], list[Delivery]] = defaultdict(list)
    total = 0
    for d in deliveries:
        event = d.event
        key_id = d.key_id
        if event in MESSAGE_EVENTS and key_id:
            total += 1
            by_key[(d.instance, key_id)].append(d)
    groups: list[DuplicateGroup] = []
    context_counts: Counter[str] = Counter()
    for (instance, key_id), copies in by_key.items():
        if len(copies) < 2:
            continue
        copies.sort(key=lambda d: d.received_at)
        first = copies[0]
        diffs: set[str] = set()
        for other in copies[1:]:
            try:
                diffs.update(_diff_paths(first.body, other.body))
            except RecursionError:  # absurdly nested body: call it different, do not crash
                diffs.add("$")
        stamps = [t for t in (parse_iso_as_utc(c.date_time) for c in copies) if t is not None]
        contexts = [_find_context(c.body.get("data") if isinstance(c.body, dict) else None) for c in copies]
        shared = {k: v for k, v in contexts[0].items() if all(ctx.get(k) == v for ctx in contexts[1:])}
        for k, v in shared.items():
            context_counts[f"{k}={v}"] += 1
        groups.append(DuplicateGroup(
            instance=instance,
            key_id=key_id,
            events=tuple(sorted({c.event or "" for c in copies})),
            count=len(copies),
            line_nos=tuple(c.line_no for c in copies),
            first_received_at=first.received_at,
            received_spread_s=copies[-1].received_at - first.received_at,
            date_time_spread_s=_spread(stamps),
            identical_bodies=not diffs,
            differ_only_in_timestamps=bool(diffs) and all(is_timestamp_field(p) for p in diffs),
            differing_fields=tuple(sorted(diffs)),
            shared_context=shared,
        ))
    groups.sort(key=lambda g: g.first_received_at)
    return DuplicateFinding(total, len(by_key), groups, known_duplicate_issues(evolution_version),
                            dict(context_counts))


# ------------------------------------------------------------------------------------------------------
# Retry storms (byte-identical body arriving again)
# ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryGroup:
    event: str | None
    instance: str | None
    key_id: str | None
    count: int
    line_nos: tuple[int, ...]
    first_received_at: float
    intervals_s: tuple[float, ...]
    pattern: str  # "fixed-30s" | "backoff" | "burst" | "irregular"


@dataclass
class RetryFinding:
    groups: list[RetryGroup]

    @property
    def fixed_30s(self) -> list[RetryGroup]:
        return [g for g in self.groups if g.pattern == "fixed-30s"]

    @property
    def found(self) -> bool:
        return bool(self.groups)

    def summary(self) -> str:
        if not self.groups:
            return "no identical payload was delivered twice (no retries seen)"
        patterns = Counter(g.pattern for g in self.groups)
        text = (f"{len(self.groups)} payload(s) delivered again byte-for-byte ("
                + ", ".join(f"{n} {p}" for p, n in sorted(patterns.items())) + ")")
        if patterns.get("fixed-30s"):
            text += ("; the fixed ~30 s spacing is Evolution 2.0-2.2.x retrying after an error "
                     "("
                     "https://github.com/EvolutionAPI/evolution-api/blob/2.2.3/src/api/integrations/event/webhook/webhook.controller.ts#L187-L230,"
                     " https://github.com/evolution-foundation/evolution-api/issues/1325):"
                     " the receiver, or a proxy in front of it, answered "
                     "an error or refused the connection")
        elif patterns.get("backoff"):
            text += ("; growing gaps match Evolution 2.3.x exponential backoff (5 s initial, "
                     "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/config/env.config.ts#L747-L797):"
                     " the receiver returned a retryable error or timed out")
        return text


def _classify_intervals(intervals: Sequence[float]) -> str:
    if not intervals:
        return "irregular"
    lo, hi = RETRY_WINDOW_S
    if all(lo <= i <= hi for i in intervals):
        return "fixed-30s"
    if all(i < 1.0 for i in intervals):
        return "burst"
    # 2.3.0+: initial 5 s, exponential, jitter 0.2, cap 300 s (WEBHOOK_RETRY_* in env.config.ts 2.3.6;
    # a real 2.3.6 server spaced attempts 5 s, 9.5 s).
    if 3.0 <= intervals[0] <= 9.0 and all(b >= a * 1.2 or b >= 240 for a, b in itertools.pairwise(intervals)):
        return "backoff"
    return "irregular"


def find_retries(deliveries: Sequence[Delivery]) -> RetryFinding:
    """Find payloads delivered more than once byte-for-byte (same ``date_time`` too), i.e. resends of one
    attempt rather than new events — that is what a retry is."""
    by_body: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        if d.body is None or (isinstance(d.body, dict) and "_raw" in d.body and len(d.body) == 1):
            continue
        by_body[_canonical(d.body)].append(d)
    groups = []
    for copies in by_body.values():
        if len(copies) < 2:
            continue
        copies.sort(key=lambda d: d.received_at)
        intervals = tuple(b.received_at - a.received_at for a, b in itertools.pairwise(copies))
        first = copies[0]
        groups.append(RetryGroup(first.event or first.openim_command, first.instance, first.key_id,
                                 len(copies), tuple(c.line_no for c in copies), first.received_at,
                                 intervals, _classify_intervals(intervals)))
    groups.sort(key=lambda g: g.first_received_at)
    return RetryFinding(groups)


# ------------------------------------------------------------------------------------------------------
# Paths
# ------------------------------------------------------------------------------------------------------
def by_events_suffix(event: str) -> str:
    """The path segment byEvents appends: ``messages.upsert`` → ``messages-upsert``.

    Same result as the two steps in Evolution's webhook.controller.ts ([.-] → _ and upper, _ → - and lower)."""
    return re.sub(r"[._-]", "-", event).lower()


@dataclass
class PathFinding:
    paths: dict[str, int]
    double_slash: dict[str, int]
    by_events: dict[str, int]
    openim_query: dict[str, int]
    notes: list[str]

    @property
    def found(self) -> bool:
        return bool(self.double_slash or self.by_events or self.openim_query)


def analyze_paths(deliveries: Sequence[Delivery]) -> PathFinding:
    paths: Counter[str] = Counter()
    double: Counter[str] = Counter()
    by_events: Counter[str] = Counter()
    openim_query: Counter[str] = Counter()
    openim_double = evolution_double = False
    for d in deliveries:
        paths[d.path] += 1
        if "//" in d.path:
            double[d.path] += 1
            if d.openim_command is not None:
                openim_double = True
            else:
                evolution_double = True
        segment = last_segment(d.path)
        event = d.event
        if (segment == by_events_suffix(event)) if event else (segment in _KNOWN_BY_EVENT_SUFFIXES):
            by_events[d.path] += 1
        if d.query and re.search(r"(?i)\b(command|contenttype)=", d.query):
            openim_query[f"{d.path}?{d.query}"] += 1
    notes: list[str] = []
    if openim_double:
        notes.append("paths contain '//': OpenIM posts to {url}/{command}, so webhooks.yml `url` ends with "
                     "'/' ("
                     "https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71);"
                     " remove the trailing slash")
    if evolution_double:
        notes.append("paths contain '//': the Evolution webhook URL ends with '/' and byEvents is on, so "
                     "Evolution appends '/<event-name>' without normalising ("
                     "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/event/webhook/webhook.controller.ts#L86-L108,"
                     " seen on a 2.3.6 server); remove the trailing slash")
    if by_events:
        notes.append("paths end in '/<event-name>' (e.g. /messages-upsert): webhook byEvents "
                     "(webhook_by_events / WEBHOOK_GLOBAL_WEBHOOK_BY_EVENTS) is on, so each event goes to "
                     "<url>/<event-name> ("
                     "https://github.com/evolution-foundation/evolution-api/issues/2317); route those paths or turn it "
                     "off")
    if openim_query:
        notes.append("query strings such as ?command= / ?contenttype=json come from outdated OpenIM docs; "
                     "the server only appends '/<callbackCommand>' ("
                     "https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71)")
    return PathFinding(dict(paths), dict(double), dict(by_events), dict(openim_query), notes)


# ------------------------------------------------------------------------------------------------------
# Lag and the date_time time-zone label
# ------------------------------------------------------------------------------------------------------
@dataclass
class LagFinding:
    samples: int
    median_s: float | None
    max_s: float | None
    min_s: float | None
    date_time_offset_hours: float | None  # date_time minus true UTC, when it is a whole number of hours
    offset_samples: int
    notes: list[str]


_OFFSET_TOLERANCE_S = 300.0


def analyze_lag(deliveries: Sequence[Delivery]) -> LagFinding:
    """Lag = received_at - data.messageTimestamp (UTC seconds). Also detect ``date_time`` being local wall
    time labelled ``Z`` (Evolution's channel.service.ts: ``new Date(Date.now() - tzoffset).toISOString()``)."""
    lags: list[float] = []
    offsets: Counter[int] = Counter()  # in quarter hours
    for d in deliveries:
        ts = d.message_timestamp
        if ts is not None:
            lags.append(d.received_at - ts)
        dt = parse_iso_as_utc(d.date_time)
        if dt is None:
            continue
        # Compare with the message's own UTC stamp first; a re-emitted or late message can be minutes
        # older than its date_time, so fall back to the receive time (date_time is stamped just before
        # sending).
        for reference in (ts, d.received_at):
            if reference is None:
                continue
            delta = dt - reference
            quarters = round(delta / 900)
            if abs(delta - quarters * 900) <= _OFFSET_TOLERANCE_S:
                offsets[quarters] += 1
                break
    notes: list[str] = []
    offset_hours: float | None = None
    offset_samples = sum(offsets.values())
    if offsets:
        quarters, n = offsets.most_common(1)[0]
        if quarters != 0 and n * 2 > offset_samples:
            offset_hours = quarters / 4
            sign = "+" if offset_hours > 0 else "-"
            hours = abs(offset_hours)
            zone = f"UTC{sign}{int(hours):02d}:{round((hours % 1) * 60):02d}"
            notes.append(
                f"date_time is {offset_hours:+g} h from the UTC messageTimestamp in {n} of {offset_samples} "
                f"deliveries: Evolution writes server-local time ({zone}) and labels it 'Z' "
                "("
                "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts#L436-L438;"
                " https://github.com/evolution-foundation/evolution-api/issues/631"
                " showed 3 h); use data.messageTimestamp for timing"
            )
    if lags:
        med = statistics.median(lags)
        notes.append(f"lag (received_at - messageTimestamp): median {human_seconds(med)}, "
                     f"max {human_seconds(max(lags))} over {len(lags)} deliveries")
        return LagFinding(len(lags), med, max(lags), min(lags), offset_hours, offset_samples, notes)
    return LagFinding(0, None, None, None, offset_hours, offset_samples, notes)


# ------------------------------------------------------------------------------------------------------
# OpenIM
# ------------------------------------------------------------------------------------------------------
@dataclass
class OpenIMFinding:
    commands: dict[str, int]
    path_body_mismatch: int
    notes: list[str]

    @property
    def total(self) -> int:
        return sum(self.commands.values())

    def arrived(self, command: str) -> bool:
        return self.commands.get(command, 0) > 0


def analyze_openim(deliveries: Sequence[Delivery]) -> OpenIMFinding:
    commands: Counter[str] = Counter()
    mismatch = 0
    for d in deliveries:
        command = d.openim_command
        if command is None:
            continue
        commands[command] += 1
        segment = last_segment(d.path)
        if OPENIM_COMMAND_RE.match(segment) and segment != command:
            mismatch += 1
    notes: list[str] = []
    if commands.get(OPENIM_REVOKE_TYPO):
        notes.append(f"{OPENIM_REVOKE_TYPO} is the afterRevokeMsg callback: the constant is misnamed "
                     "upstream")
    if commands.get(OPENIM_ONLINE):
        notes.append("afterUserOnline arrived, so the server is 3.8.2 or later or pre-3.8 (3.8.0/3.8.1 never "
                     "send it, "
                     "https://github.com/openimsdk/open-im-server/issues/2520);"
                     " it also repeats about every 10 min for long-lived "
                     "connections, so de-duplicate")
    if mismatch:
        notes.append(f"{mismatch} deliveries have a path command different from the body's callbackCommand")
    return OpenIMFinding(dict(commands), mismatch, notes)


@dataclass(frozen=True)
class OnlineOfflineGap:
    """Online/offline hooks are enabled, other callbacks arrive, but these never did."""

    missing: tuple[str, ...]
    other_callbacks: int
    message: str
    fix: str
    refs: tuple[str, ...] = ("https://github.com/openimsdk/open-im-server/blob/v3.8.1/internal/msggateway/ws_server.go#L97-L107",
                             "https://github.com/openimsdk/open-im-server/issues/2520",
                             "https://github.com/openimsdk/open-im-server/issues/2594",
                             "https://github.com/openimsdk/open-im-server/issues/2912",
                             "https://github.com/openimsdk/open-im-server/pull/2716")


def online_offline_gap(commands: Mapping[str, int] | OpenIMFinding, *, online_enabled: bool,
                       offline_enabled: bool) -> OnlineOfflineGap | None:
    """Answer "are online/offline callbacks enabled but absent while other callbacks do arrive?".

    ``None`` when nothing is enabled, when the enabled ones arrived, or when no callback arrived at all
    (then the problem is reachability, not the 3.8.0/3.8.1 bug).
    """
    counts = commands.commands if isinstance(commands, OpenIMFinding) else dict(commands)
    wanted = [c for c, on in ((OPENIM_ONLINE, online_enabled), (OPENIM_OFFLINE, offline_enabled)) if on]
    missing = tuple(c for c in wanted if not counts.get(c))
    others = sum(n for c, n in counts.items() if c not in (OPENIM_ONLINE, OPENIM_OFFLINE))
    if not missing or others == 0:
        return None
    names = " and ".join(m.removeprefix("callback").removesuffix("Command") for m in missing)
    return OnlineOfflineGap(
        missing=missing,
        other_callbacks=others,
        message=(f"{names} enabled but never arrived while {others} other callback(s) did: likely OpenIM "
                 "3.8.0/3.8.1, where the msggateway calls were commented out ("
                 "https://github.com/openimsdk/open-im-server/blob/v3.8.1/internal/msggateway/ws_server.go#L97-L107)"
                 " — provided "
                 "a user connected or disconnected during the capture (callbacks arrive 0-1 s late)"),
        fix="upgrade OpenIM to 3.8.2 or later (https://github.com/openimsdk/open-im-server/pull/2716), "
            "and check the msggateway's own webhook config "
            "reaches this URL",
    )


# ------------------------------------------------------------------------------------------------------
# apikey exposure
# ------------------------------------------------------------------------------------------------------
@dataclass
class ApikeyExposure:
    deliveries: int
    instances: tuple[str, ...]

    def summary(self) -> str:
        if not self.deliveries:
            return "no payload carried an apikey value"
        return (f"{self.deliveries} payload(s) carried an apikey (masked in the capture): v2 sends the "
                "instance token when AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES=true, and a v1 global "
                "webhook sends the GLOBAL key ("
                "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts#L440-L452);"
                " protect the receiver URL or "
                "disable the exposure")


def find_apikey_exposure(deliveries: Sequence[Delivery]) -> ApikeyExposure:
    hits = [d for d in deliveries if isinstance(d.body, dict) and d.body.get("apikey") not in (None, "")]
    return ApikeyExposure(len(hits), tuple(sorted({d.instance for d in hits if d.instance})))


# ------------------------------------------------------------------------------------------------------
# Everything at once
# ------------------------------------------------------------------------------------------------------
@dataclass
class WebhookAnalysis:
    total: int
    malformed: list[MalformedLine]
    events: dict[str, int]
    duplicates: DuplicateFinding
    retries: RetryFinding
    paths: PathFinding
    lag: LagFinding
    openim: OpenIMFinding
    apikey: ApikeyExposure


def analyze(deliveries: Sequence[Delivery], *, malformed: Sequence[MalformedLine] = (),
            evolution_version: str | None = None) -> WebhookAnalysis:
    events: Counter[str] = Counter(d.event or d.openim_command or "(unknown)" for d in deliveries)
    return WebhookAnalysis(
        total=len(deliveries),
        malformed=list(malformed),
        events=dict(events),
        duplicates=find_duplicates(deliveries, evolution_version),
        retries=find_retries(deliveries),
        paths=analyze_paths(deliveries),
        lag=analyze_lag(deliveries),
        openim=analyze_openim(deliveries),
        apikey=find_apikey_exposure(deliveries),
    )


def analyze_file(path: str | Path, evolution_version: str | None = None) -> WebhookAnalysis:
    loaded = load_deliveries(path)
    return analyze(loaded.deliveries, malformed=loaded.malformed, evolution_version=evolution_version)
