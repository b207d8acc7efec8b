"""P3: `evodiag triage` throughput vs `grep -E -i -f patterns` on a synthetic log (target: ratio >= 1/3).

Generates a log of SIZE MB in a temp dir (Evolution, Chatwoot, nginx, OpenIM and webhook-payload noise, ~0.1% of
lines carrying a string some signature matches), then times the triage scanner and GNU grep over the same file with
the same patterns, and prints both throughputs and the ratio. Asserts nothing; the temp dir is deleted.

By default the patterns are the signatures of the shipped catalog (checks.yaml), translated to POSIX ERE for grep
(`(?:` → `(`, `\\d` → `[0-9]`, `\\pL` → `[[:alpha:]]`, lazy quantifiers dropped, `unless:` ignored, so grep's set
is a superset).
`--bench-catalog` uses the older fixed list of 30 patterns instead.

    python benchmarks/p3_triage_throughput.py [SIZE_MB] [--bench-catalog] [--keep-going]   (default 500)
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evodiag.catalog.loader import load_catalog, load_catalog_text
from evodiag.catalog.model import Catalog
from evodiag.pii import PiiRedactor
from evodiag.triage import triage_stream

# The older fixed benchmark set (grep -E compatible; no \d, no (?i): grep runs with -i).
BENCH_PATTERNS = [
    "you need to sign in or sign up before continuing", "Invalid Access Token",
    "Invalid attribute key - \\[contact_id\\]", "Chatwoot is (disabled|not enabled)",
    "instance does not exist", "Missing global api key", "Cannot (GET|PUT|POST) /instance/restart",
    "Access to this endpoint is not authorized for bots", "You are not authorized to do this action",
    "rails/active_storage/blobs/redirect", "afterUser(Online|Offline)", "ECONNREFUSED [0-9.]+:[0-9]+",
    "getaddrinfo ENOTFOUND", "Generic Error", "Phone number has already been taken",
    "conversation.*pending", "webhook.*(timeout|timed out)", "self.signed certificate",
    "QRCODE_UPDATED.*count.*0", "Invalid operator\\. The allowed operators for identifier",
    "underscores_in_headers", "CONFIG_SESSION_PHONE_VERSION", "Connection Closed", "Stream Errored",
    "status code 413", "Request failed with status code 5[0-9][0-9]", "duplicate key value violates",
    "ERR_TLS_CERT_ALTNAME_INVALID", "callbackCommand", "Bot is not authorized to access this account",
]

NOISE = [
    "[Evolution API] v2.3.6 {pid} - {date}     LOG [ChannelStartupService] Browser: Evolution API,Chrome,6.5.0",
    "[Evolution API] v2.3.6 {pid} - {date}   VERBOSE [BaileysStartupService] Sending data to webhook in event "
    "MESSAGES_UPSERT",
    "[Evolution API] v2.3.6 {pid} - {date}   VERBOSE [ChatwootService] Sending message to chatwoot: {n}",
    "[Evolution API] v2.3.6 {pid} - {date}    INFO [WebhookController] Webhook sent to https://n8n.example.com/"
    "webhook/evo status 200",
    "{ts} INFO  -- : Started POST \"/api/v1/accounts/1/conversations/{n}/messages\" for 172.18.0.5",
    "{ts} INFO  -- : Completed 200 OK in {n}ms (Views: 0.3ms | ActiveRecord: 5.1ms | Allocations: 3411)",
    "{ts} INFO  -- : Processing by Api::V1::Accounts::ConversationsController#index as JSON",
    "{{\"event\":\"messages.upsert\",\"instance\":\"loja\",\"data\":{{\"key\":{{\"remoteJid\":\"5511{n}@s."
    "whatsapp.net\",\"fromMe\":false,\"id\":\"3EB0{n}\"}},\"pushName\":\"Cliente\",\"messageType\":\"conversation\","
    "\"messageTimestamp\":{n}}},\"date_time\":\"{ts}\"}}",
    "{{\"event\":\"messages.update\",\"instance\":\"loja\",\"data\":{{\"keyId\":\"3EB0{n}\",\"status\":\"READ\"}}}}",
    "172.18.0.1 - - [05/Jun/2024:10:00:00 +0000] \"POST /chatwoot/webhook/loja HTTP/1.1\" 200 17 \"-\" "
    "\"rest-client/2.1.0\" {n}",
    "time={ts} level=info msg=\"rpc call\" method=/msg.msg/SendMsg cost={n}ms operationID=p_1_{n}",
    "{ts} [sidekiq] INFO: ConversationReplyEmailWorker JID-{n} done: 0.012 sec",
]

# Lines that match one signature each (written as servers and users write them).
HITS = [
    '{"status":404,"error":"Not Found","response":{"message":["The \\"loja2\\" instance does not exist"]}}',
    '{"errors":["You need to sign in or sign up before continuing."]}',
    '{"status":400,"error":"Bad Request","response":{"message":["Chatwoot is disabled"]}}',
    '{"error":"Invalid attribute key - [contact_id]. The key should be one of [status,assignee_id]"}',
    "ERROR [ChatwootService] Error: Generic Error",
    "POST https://n8n.example.com/webhook/abc//messages-upsert 404",
    "getaddrinfo ENOTFOUND chatwoot",
    "connect ECONNREFUSED 127.0.0.1:3000",
    '{"error":"Access to this endpoint is not authorized for bots"}',
    "Error uploading to S3 bucket media: connect ETIMEDOUT 10.0.0.5:9000",
    "webhook_url: undefined/chatwoot/webhook/loja",
    '{"qrcode":{"count":0}}',
    "callbackAfterUserOnlineCommand not received",
]


def ere(pattern: str) -> str:
    """A Python signature as a GNU grep -E pattern matching at least what it matches (grep runs with -i)."""
    p = re.sub(r"^\(\?[aiLmsux]+\)", "", pattern)
    p = re.sub(r"\(\?<?[!=][^()]*(?:\([^()]*\)[^()]*)*\)", "", p)  # lookarounds: dropped (superset)
    p = p.replace("(?-i:", "(").replace("(?:", "(")
    p = re.sub(r"\(\?P<\w+>", "(", p)
    p = p.replace("*?", "*").replace("+?", "+").replace("}?", "}")
    p = re.sub(r"\\[pP](?:\{[^}]*\}|[A-Za-z])", "[[:alpha:]]", p)  # RE2 Unicode classes

    def bracket(m: re.Match[str]) -> str:
        body = m.group(1).replace("\\d", "0-9").replace("\\s", "[:space:]").replace("\\'", "'")
        body = body.replace('\\"', '"').replace("\\\\", "\\")
        return f"[{body}]"

    p = re.sub(r"\[((?:\\.|[^\]\\])+)\]", bracket, p)
    return p.replace("\\d", "[0-9]").replace("\\'", "'")


def catalog_patterns(catalog: Catalog) -> list[str]:
    return [ere(s.pattern) for c in catalog.checks.values() for s in c.signatures]


def bench_catalog() -> Catalog:
    lines = ["checks:"]
    for i, pattern in enumerate(BENCH_PATTERNS):
        lines += [f"  - id: bench.c{i}", f"    title: bench {i}", "    stage: api", "    probe: x:y",
                  "    doc: {what: w, why: y}", f"    signatures: [{{pattern: '{pattern}'}}]"]
    return load_catalog_text("\n".join(lines) + "\n")


def generate(path: Path, size_mb: int, hits: list[str]) -> None:
    rnd = random.Random(7)
    target = size_mb * 1024 * 1024
    block: list[str] = []
    for i in range(40000):
        if rnd.random() < 0.001:
            line = f"2024-06-05T10:00:{i % 60:02d}Z ERROR {rnd.choice(hits)}"
        else:
            line = rnd.choice(NOISE).format(pid=rnd.randint(1, 99), ts="2024-06-05T10:00:00.123Z",
                                            date="06/05/2024, 10:00:00 AM", n=rnd.randint(1000, 9999999))
        block.append(line)
    chunk = ("\n".join(block) + "\n").encode()
    with path.open("wb") as out:
        written = 0
        while written < target:
            out.write(chunk)
            written += len(chunk)


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    size_mb = int(args[0]) if args else 500
    if "--bench-catalog" in argv:
        catalog, patterns, hits = bench_catalog(), BENCH_PATTERNS, [p.replace("\\", "") for p in BENCH_PATTERNS]
        label = f"bench catalog, {len(patterns)} patterns"
    else:
        catalog = load_catalog()
        patterns, hits = catalog_patterns(catalog), HITS
        label = f"shipped catalog, {len(patterns)} signatures"
    with tempfile.TemporaryDirectory(prefix="evodiag-p3-") as tmp:
        log, pats = Path(tmp) / "synthetic.log", Path(tmp) / "patterns.txt"
        generate(log, size_mb, hits)
        pats.write_text("\n".join(patterns) + "\n")
        size = log.stat().st_size
        print(f"{label}; {size / 1e6:.0f} MB synthetic log; LC_ALL={os.environ.get('LC_ALL', '')!r} "
              f"LANG={os.environ.get('LANG', '')!r}")
        grep = shutil.which("grep")
        greps: list[tuple[str, float]] = []
        if grep:
            envs = [("grep -E -i -c -f", dict(os.environ))]
            if os.environ.get("LC_ALL") != "C":
                envs.append(("LC_ALL=C grep -E -i -c -f", {**os.environ, "LC_ALL": "C"}))
            for name, env in envs:
                start = time.perf_counter()
                proc = subprocess.run([grep, "-E", "-i", "-c", "-f", str(pats), str(log)], capture_output=True,
                                      text=True, check=False, env=env)
                took = time.perf_counter() - start
                if proc.returncode > 1:
                    print(f"{name}: failed: {proc.stderr.strip()}")
                    continue
                greps.append((name, took))
                print(f"{name}: {took:.2f} s, {size / took / 1e6:.0f} MB/s, {proc.stdout.strip()} lines")
        start = time.perf_counter()
        with log.open("rb") as fh:
            result = triage_stream(fh, catalog, redactor=PiiRedactor(), top=None)
        ours = time.perf_counter() - start
        print(f"evodiag triage:   {ours:.2f} s, {size / ours / 1e6:.0f} MB/s, {len(result.diagnoses)} checks matched, "
              f"{result.lines} lines")
        for name, took in greps:
            print(f"ratio vs {name} (ours/grep throughput): {took / ours:.2f}  (target >= 0.33)")


if __name__ == "__main__":
    main(sys.argv[1:])
