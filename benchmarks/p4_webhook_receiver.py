"""P4: how many webhook deliveries per second the capture receiver sustains, and that none is lost.

Plain script (prints, asserts nothing)::

    /work/venv/bin/python benchmarks/p4_webhook_receiver.py [--n 20000] [--conns 64] [--durability fsync]

The receiver runs in this process on 127.0.0.1 (its own loop thread); the sender is a separate process
(this same file with ``--client``) speaking raw HTTP/1.1 over several keep-alive asyncio connections, so the
two compete for the machine's cores the way a real Evolution server and evodiag would.

Reported: deliveries/second, the ratio to the 5,000/s target, latency percentiles, the number of group
commits (write+fsync batches), and loss = 200s received by the sender minus lines in the JSONL (must be 0).
Then the capture is analysed (duplicates enabled): every 100th delivery re-sends the previous message id
with a new ``date_time``, so the analysis must find exactly n/100 duplicate groups.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_PER_S = 5000
DUP_EVERY = 100


def _payload(i: int, base_ts: int) -> bytes:
    """A v2 messages.upsert shaped like ref evolution-api.md §6.6 (instanceId, messageTimestamp seconds)."""
    msg_no = i - 1 if i % DUP_EVERY == DUP_EVERY - 1 else i  # every 100th re-sends the previous key.id
    ts = base_ts + msg_no // 1000
    body = {
        "event": "messages.upsert",
        "instance": "bench",
        "data": {
            "key": {"remoteJid": "5511999990000@s.whatsapp.net", "fromMe": False,
                    "id": f"3EB0BENCH{msg_no:08d}"},
            "pushName": "Bench",
            "status": "DELIVERY_ACK",
            "message": {"conversation": f"message number {msg_no}"},
            "contextInfo": None,
            "messageType": "conversation",
            "messageTimestamp": ts,
            "instanceId": "0b4f2a8e-bench-4c1e-9d7a-000000000000",
            "source": "android",
        },
        "destination": "http://127.0.0.1/hook",
        "date_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts - 3 * 3600)) + f".{i % 1000:03d}Z",
        "sender": "5511988880000@s.whatsapp.net",
        "server_url": "http://127.0.0.1:8080",
        "apikey": "bench-instance-token",
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def _client(url: str, n: int, conns: int, deadline_s: float) -> dict[str, object]:
    host, port = url.removeprefix("http://").split(":")
    base_ts = int(time.time()) - 60
    next_i = 0
    ok = 0
    errors = 0
    latencies: list[float] = []
    stop_at = time.perf_counter() + deadline_s

    async def worker() -> None:
        nonlocal next_i, ok, errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while next_i < n and time.perf_counter() < stop_at:
                i = next_i
                next_i += 1
                body = _payload(i, base_ts)
                head = (f"POST /hook HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                        f"apikey: bench-global-key\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                t0 = time.perf_counter()
                writer.write(head + body)
                resp_head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in resp_head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if resp_head.startswith(b"HTTP/1.1 200"):
                    ok += 1
                else:
                    errors += 1
        finally:
            writer.close()

    t_start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    elapsed = time.perf_counter() - t_start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"sent": next_i, "ok": ok, "errors": errors, "elapsed_s": elapsed,
            "client_cpu_s": usage.ru_utime + usage.ru_stime,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


def _run_client_process(url: str, n: int, conns: int, deadline_s: float) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--client", url, "--n", str(n), "--conns", str(conns),
           "--deadline", str(deadline_s)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=deadline_s + 60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _bench(n: int, conns: int, durability: str, deadline_s: float, workdir: Path) -> None:
    from evodiag.webhook.capture import WebhookReceiver

    out = workdir / f"capture-{durability}.jsonl"
    receiver = WebhookReceiver(out, durability=durability)  # type: ignore[arg-type]
    url = receiver.start()
    cpu0 = time.process_time()
    try:
        res = _run_client_process(url, n, conns, deadline_s)
    finally:
        server_cpu = time.process_time() - cpu0
        receiver.stop()
    batches = receiver.commits
    with out.open("rb") as fh:
        lines = sum(1 for _ in fh)
    rate = float(res["ok"]) / float(res["elapsed_s"])  # type: ignore[arg-type]
    print(f"\n== durability={durability}  n={n}  connections={conns}")
    print(f"sent {res['sent']}, 200s {res['ok']}, errors {res['errors']} in {res['elapsed_s']:.2f} s")
    print(f"throughput: {rate:,.0f} deliveries/s   ratio measured/{TARGET_PER_S} = {rate / TARGET_PER_S:.2f}")
    print(f"latency: p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  max {res['max_ms']:.2f} ms")
    ok = max(1, int(res["ok"]))  # type: ignore[call-overload]
    print(f"CPU per delivery: receiver {server_cpu / ok * 1e6:.0f} us, sender "
          f"{float(res['client_cpu_s']) / ok * 1e6:.0f} us "  # type: ignore[arg-type]
          f"(receiver busy {server_cpu / float(res['elapsed_s']):.0%} of one core)")  # type: ignore[arg-type]
    if batches:
        print(f"group commits: {batches} (avg {lines / batches:.1f} deliveries per write+sync)")
    print(f"JSONL lines {lines}; lost (200s - lines) = {int(res['ok']) - lines}")  # type: ignore[call-overload]

    try:
        from evodiag.webhook.analyze import analyze, load_deliveries
    except ImportError:
        return
    t0 = time.perf_counter()
    loaded = load_deliveries(out)
    report = analyze(loaded.deliveries, malformed=loaded.malformed)
    dt = time.perf_counter() - t0
    dups = report.duplicates
    expected = int(res["ok"]) // DUP_EVERY  # type: ignore[call-overload]
    print(f"analysis of {len(loaded.deliveries)} deliveries in {dt:.2f} s: "
          f"malformed {len(loaded.malformed)}, duplicate groups {len(dups.groups)} (expected {expected}), "
          f"extra copies {dups.extra_copies}, only-timestamps-differ "
          f"{sum(1 for g in dups.groups if g.differ_only_in_timestamps)}")
    if report.lag.date_time_offset_hours is not None:
        print(f"date_time offset detected: {report.lag.date_time_offset_hours:+g} h "
              "(the bench sends local time -3 h labelled Z)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--deadline", type=float, default=60.0, help="stop sending after this many seconds")
    ap.add_argument("--durability", choices=["fsync", "write", "both"], default="both")
    ap.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(_client(args.client, args.n, args.conns, args.deadline))))
        return
    print(f"P4 webhook receiver benchmark on {os.cpu_count()} CPU(s), python {sys.version.split()[0]}")
    modes = ["fsync", "write"] if args.durability == "both" else [args.durability]
    with tempfile.TemporaryDirectory(prefix="evodiag-p4-") as tmp:
        for mode in modes:
            _bench(args.n, args.conns, mode, args.deadline, Path(tmp))


if __name__ == "__main__":
    main()
