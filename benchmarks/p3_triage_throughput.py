"""P3: `evodiag triage` throughput vs `grep -E -f patterns` on a synthetic log (target: ratio >= 1/3).

Generates a log of SIZE MB in a temp dir (mostly Evolution/Chatwoot-style noise, ~0.1% matching lines), times
the triage scanner and `grep -E -i -c -f patterns` over the same file, prints both and the ratio. Asserts nothing.

    python benchmarks/p3_triage_throughput.py [SIZE_MB]   (default 500)
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evodiag.catalog.loader import load_catalog_text
from evodiag.pii import PiiRedactor
from evodiag.triage import triage_stream

# grep -E compatible (no \d, no (?i): grep runs with -i, our patterns carry (?i)).
PATTERNS = [
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
    "[Evolution API] v2.3.6 {pid} - {ts}     LOG [ChannelStartupService] Browser: Evolution API,Chrome,6.5.0",
    "[Evolution API] v2.3.6 {pid} - {ts}   VERBOSE [BaileysStartupService] Sending data to webhook in event "
    "MESSAGES_UPSERT",
    "{ts} INFO  -- : Started POST \"/api/v1/accounts/1/conversations/{n}/messages\" for 172.18.0.5",
    "{ts} INFO  -- : Completed 200 OK in {n}ms (Views: 0.3ms | ActiveRecord: 5.1ms | Allocations: 3411)",
    "{{\"event\":\"messages.upsert\",\"instance\":\"loja\",\"data\":{{\"key\":{{\"id\":\"3EB0{n}\"}},"
    "\"messageTimestamp\":{n}}}}}",
    "time={ts} level=info msg=\"rpc call\" method=/msg.msg/SendMsg cost={n}ms",
]


def catalog_yaml() -> str:
    lines = ["checks:"]
    for i, pattern in enumerate(PATTERNS):
        lines += [f"  - id: bench.c{i}", f"    title: bench {i}", "    stage: api", "    probe: x:y",
                  "    doc: {what: w, why: y}", f"    signatures: [{{pattern: '(?i){pattern}'}}]"]
    return "\n".join(lines) + "\n"


def generate(path: Path, size_mb: int) -> None:
    rnd = random.Random(7)
    target = size_mb * 1024 * 1024
    block: list[str] = []
    for i in range(20000):
        if rnd.random() < 0.001:
            line = f"2024-06-05T10:00:{i % 60:02d}Z ERROR {rnd.choice(PATTERNS).replace(chr(92), '')} (x)"
        else:
            line = rnd.choice(NOISE).format(pid=rnd.randint(1, 99), ts="2024-06-05T10:00:00.123Z",
                                            n=rnd.randint(1000, 9999999))
        block.append(line)
    chunk = ("\n".join(block) + "\n").encode()
    with path.open("wb") as out:
        written = 0
        while written < target:
            out.write(chunk)
            written += len(chunk)


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    catalog = load_catalog_text(catalog_yaml())
    with tempfile.TemporaryDirectory(prefix="evodiag-p3-") as tmp:
        log, pats = Path(tmp) / "synthetic.log", Path(tmp) / "patterns.txt"
        generate(log, size_mb)
        pats.write_text("\n".join(PATTERNS) + "\n")
        size = log.stat().st_size
        grep = shutil.which("grep")
        grep_s = None
        if grep:
            start = time.perf_counter()
            proc = subprocess.run([grep, "-E", "-i", "-c", "-f", str(pats), str(log)], capture_output=True,
                                  text=True, check=False)
            grep_s = time.perf_counter() - start
            print(f"grep -E -i -f: {grep_s:.2f} s, {size / grep_s / 1e6:.0f} MB/s, {proc.stdout.strip()} lines")
        start = time.perf_counter()
        with log.open("rb") as fh:
            result = triage_stream(fh, catalog, redactor=PiiRedactor(), top=None)
        ours = time.perf_counter() - start
        hits = sum(1 for _ in result.diagnoses)
        print(f"evodiag triage: {ours:.2f} s, {size / ours / 1e6:.0f} MB/s, {hits} checks matched, "
              f"{result.lines} lines")
        if grep_s:
            print(f"ratio (ours/grep throughput): {grep_s / ours:.2f}  (target >= 0.33)")


if __name__ == "__main__":
    main()
