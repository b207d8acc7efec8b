"""A support bundle: everything a maintainer needs to see what ``evodiag check`` saw, in one zip, redacted.

Members: ``findings.json`` (the JSON report), ``http.json`` (every HTTP exchange, bodies truncated),
``dns.json``, ``config.json`` (effective settings, secrets shown as ``***``), ``versions.json``,
``command.txt``, ``redaction.json`` (what was masked, by kind) and ``manifest.json`` (sha256 of every other
member, and whether redaction was on). Secrets are masked and personal data pseudonymised unless
``redact=False``, which the manifest records.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from pathlib import Path
from typing import Any

from evodiag import __version__
from evodiag.engine.runner import RunReport
from evodiag.pii import PiiRedactor
from evodiag.redact import Redactor

MAX_BODY_CHARS = 16 * 1024
NO_REDACT_WARNING = ("THIS BUNDLE IS NOT REDACTED: it contains API keys, tokens, phone numbers and message text. "
                     "Do not attach it to a ticket or share it.")


class NullRedactor(Redactor):
    """``--no-redact``: everything verbatim."""

    def text(self, text: str) -> str:
        return text

    def headers(self, headers: Any) -> dict[str, str]:
        return dict(headers)

    def obj(self, value: Any) -> Any:
        return value


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _body(raw: Any, red: Redactor) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw
    if not isinstance(text, str):
        return red.obj(text)
    truncated = len(text) > MAX_BODY_CHARS
    try:
        value: Any = red.obj(json.loads(text)) if not truncated and text.strip() else red.text(text)
    except ValueError:
        value = red.text(text[:MAX_BODY_CHARS])
    if truncated:
        value = red.text(text[:MAX_BODY_CHARS]) + f"… [truncated, {len(text)} chars]"
    return value


def http_transcript(report: RunReport, red: Redactor) -> list[dict[str, Any]]:
    out = []
    for ex in report.state.http.transcript:
        out.append({
            "check": ex.check_id, "method": ex.method, "url": red.text(ex.url), "status": ex.status,
            "elapsed_ms": round(ex.elapsed_ms, 1), "started_at": ex.started_at, "error": red.text(ex.error or ""),
            "request_headers": red.headers(ex.request_headers), "request_body": _body(ex.request_body, red),
            "response_headers": red.headers(ex.response_headers), "response_bytes": len(ex.body),
            "response_body": _body(ex.body, red),
        })
    return out


def build_members(report: RunReport, argv: list[str], *, redact: bool = True,
                  key: bytes | None = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The bundle's members (name → bytes) and the manifest (not yet containing hashes)."""
    from evodiag.report import common, json_report

    secrets = list(report.settings.secrets().values())
    red: Redactor = PiiRedactor(secrets, key=key) if redact else NullRedactor()
    members: dict[str, bytes] = {
        "findings.json": json_report.render(report, red).encode("utf-8"),
        "http.json": _dump(http_transcript(report, red)),
        "dns.json": _dump(red.obj(list(report.state.dns_answers))),
        "config.json": _dump(red.obj({"settings": report.settings.masked(), "origins": report.settings.origins,
                                      "config_file": report.settings.config_file})),
        "versions.json": _dump(red.obj({"evodiag": __version__, "facts": common.versions(report)})),
        "command.txt": (red.text(" ".join(argv)) + "\n").encode("utf-8"),
    }
    summary = red.summary() if isinstance(red, PiiRedactor) else {}
    members["redaction.json"] = _dump({
        "redacted": redact, "masked": summary,
        "note": ("secrets replaced by ***; phone numbers, WhatsApp JIDs, contact names and message text replaced "
                 "by keyed pseudonyms (kind#hash, stable within this bundle, not reversible)") if redact
        else NO_REDACT_WARNING,
    })
    manifest: dict[str, Any] = {"evodiag": __version__, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                    time.gmtime()),
                                "redacted": redact, "headline": red.text(common.headline(report))}
    if not redact:
        manifest["warning"] = NO_REDACT_WARNING
    return members, manifest


def write_bundle(path: Path, members: dict[str, bytes], manifest: dict[str, Any]) -> dict[str, Any]:
    """Write the zip (atomically: a temp file renamed into place); returns the final manifest."""
    manifest = dict(manifest)
    manifest["members"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                           for name, data in sorted(members.items())}
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(members.items()):
            zf.writestr(name, data)
        zf.writestr("manifest.json", _dump(manifest))
    tmp.replace(path)
    return manifest


def verify_bundle(path: Path) -> list[str]:
    """Problems found re-reading a bundle (hash mismatches, missing members); empty when it is intact."""
    problems = []
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = set(zf.namelist()) - {"manifest.json"}
        for name, info in manifest["members"].items():
            if name not in names:
                problems.append(f"{name}: missing")
            elif hashlib.sha256(zf.read(name)).hexdigest() != info["sha256"]:
                problems.append(f"{name}: sha256 mismatch")
        problems += [f"{name}: not in manifest" for name in sorted(names - set(manifest["members"]))]
    return problems
