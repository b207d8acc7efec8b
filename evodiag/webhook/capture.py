"""A webhook receiver that writes every delivery to a JSONL file *before* acknowledging it.

Why it exists: when someone says "Evolution sends each message twice" or "OpenIM never calls my online
hook", the only trustworthy evidence is the raw deliveries. This receiver answers fast and exactly as the
sender expects (so it does not itself cause retries), and keeps a durable, secret-free record that
:mod:`evodiag.webhook.analyze` can explain afterwards.

Durability (what "acknowledged" promises)
-----------------------------------------
Deliveries are written with *group commit*: a request handler queues its line and waits; one committer
task takes everything queued so far (all the deliveries that arrived in the same loop tick, plus any that
arrived while the previous batch was being synced), writes it with a single ``os.write`` and then, in the
default ``durability="fsync"`` mode, a single ``fdatasync`` (``fsync`` where that is missing) on a worker
thread. Only after that returns are
the waiting requests answered ``200``. So:

* ``"fsync"`` (default): an acknowledged delivery survives a crash of this process *and* of the OS / a power
  loss (as far as the disk honours fsync). The sender's retry covers anything unacknowledged.
* ``"write"``: the batch is handed to the kernel (``os.write``) before answering, without fsync. An
  acknowledged delivery survives a crash of this process (the page cache belongs to the kernel) but not
  an OS crash. Use it only where the extra throughput matters more than power-loss safety.

If the write or fsync fails (disk full, I/O error) the waiting requests are answered ``500`` — never ``200``
— so the sender can try again (Evolution 2.0–2.2.x retries any error:
https://github.com/EvolutionAPI/evolution-api/blob/2.2.3/src/api/integrations/event/webhook/webhook.controller.ts#L187-L230).
A failed
write can leave a partial last line; the loader in :mod:`evodiag.webhook.analyze` counts it as malformed.

Answers
-------
* Evolution (and anything else): ``200 {"ok":true}``.
* OpenIM callback paths (last segment ``callback…Command``: OpenIM posts to ``{url}/{callbackCommand}``)
  or a body with ``callbackCommand``: the exact ``CommonCallbackResp`` OpenIM parses,
  ``{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}`` — OpenIM ignores the HTTP status and
  fails on non-JSON bodies
  (https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/callbackstruct/common.go#L59-L72).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evodiag.httpserver import HTTPServer, Request, Response, ServerThread
from evodiag.redact import CREDENTIAL_HEADERS, MASK

# OpenIM posts to `fullURL := c.url + "/" + command`; commands are callback<Before|After>…Command:
# https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/common/webhook/http_client.go#L71
OPENIM_COMMAND_RE = re.compile(r"^callback\w+Command$")
# CommonCallbackResp, int32 fields, all zero = continue:
# https://github.com/openimsdk/open-im-server/blob/v3.8.1/pkg/callbackstruct/common.go#L59-L72
OPENIM_ACK_BODY = '{"actionCode":0,"errCode":0,"errMsg":"","errDlt":"","nextCode":0}'
OK_BODY = '{"ok":true}'
UNKNOWN_EVENT = "(unknown)"

Durability = Literal["fsync", "write"]


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    """Header dict with credential values replaced by ``***`` (names are already lower-cased). Deliberately
    cheaper than ``Redactor.headers`` (no pattern pass over every value): this runs once per delivery."""
    return {k: (MASK if k.lower() in CREDENTIAL_HEADERS else v) for k, v in headers.items()}


def mask_body(body: Any) -> Any:
    """Mask a top-level ``apikey`` value.

    Evolution puts the instance token there — or, for the v1 *global* webhook, the global API key
    (https://github.com/EvolutionAPI/evolution-api/blob/1.8.2/src/api/services/channel.service.ts#L985).
    ``null``/absent is kept as is, so the analysis can still tell whether the
    key is being exposed without the capture file containing it.
    """
    if isinstance(body, dict) and body.get("apikey") not in (None, ""):
        body = dict(body)
        body["apikey"] = MASK
    return body


def parse_body(raw: bytes) -> Any:
    """The JSON body, or ``{"_raw": text}`` (invalid UTF-8 replaced) when it is not JSON."""
    if raw:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; absurd nesting recurses
            pass
    return {"_raw": raw.decode("utf-8", "replace")}


def last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def event_of(body: Any, path: str) -> str:
    """Event name for the live counters: Evolution's ``event``, OpenIM's ``callbackCommand``, else the
    OpenIM command in the path."""
    if isinstance(body, dict):
        for key in ("event", "callbackCommand"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    segment = last_segment(path)
    return segment if OPENIM_COMMAND_RE.match(segment) else UNKNOWN_EVENT


def is_openim_delivery(body: Any, path: str) -> bool:
    return bool(OPENIM_COMMAND_RE.match(last_segment(path))) or (
        isinstance(body, dict) and isinstance(body.get("callbackCommand"), str)
    )


# fdatasync flushes the data plus the metadata needed to read it back (the new file size), skipping mtime:
# enough for an append-only log and cheaper than fsync. macOS has no fdatasync; fsync is the fallback.
_datasync = getattr(os, "fdatasync", os.fsync)


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows cannot open directories; nothing more we can do there
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _GroupCommitLog:
    """Append-only JSONL file where ``append`` returns only once the line is durable (see module doc)."""

    def __init__(self, path: Path, durability: Durability) -> None:
        self.path = path
        self.durability = durability
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if created and durability == "fsync":
            _sync_dir(path.parent)  # a new file's directory entry must be durable too
        self._lines: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None
        # One thread: batches are written strictly in order, and fsync releases the GIL so the event loop
        # keeps reading the next batch meanwhile.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evodiag-capture-sync")
        self.batches = 0
        self._torn = False

    async def append(self, line: bytes) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._lines.append(line)
        self._waiters.append(waiter)
        if self._task is None:
            # Scheduled, not run now: everything else read in this loop tick joins the same batch.
            self._task = loop.create_task(self._commit_loop())
        await waiter

    async def _commit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._lines:
                lines, waiters = self._lines, self._waiters
                self._lines, self._waiters = [], []
                if self._torn:
                    # A failed write may have left a partial line: end it, so the next (acknowledged) line
                    # is not glued to it. A blank line is harmless to the loader.
                    lines.insert(0, b"\n")
                data = b"".join(lines)
                try:
                    if self.durability == "fsync":
                        await loop.run_in_executor(self._executor, self._write_and_sync, data)
                    else:
                        self._write(data)
                except Exception as exc:  # disk full, I/O error, executor gone: nobody gets a 200
                    self._torn = True
                    for w in waiters:
                        if not w.done():
                            w.set_exception(exc)
                else:
                    self._torn = False
                    self.batches += 1
                    for w in waiters:
                        if not w.done():
                            w.set_result(None)
        finally:
            self._task = None

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def _write_and_sync(self, data: bytes) -> None:
        self._write(data)
        _datasync(self._fd)

    async def close(self) -> None:
        while self._task is not None:
            await asyncio.shield(self._task)
        self._executor.shutdown(wait=True)
        with contextlib.suppress(OSError):
            os.close(self._fd)


@dataclass(frozen=True)
class RecentDelivery:
    """One line of the live tail a CLI can show."""

    received_at: float
    event: str
    path: str
    instance: str | None


class WebhookReceiver:
    """Receives webhooks on any path, records them durably to ``out_path`` (JSONL), keeps live counters.

    Use it from synchronous code (``start()``/``stop()`` or ``with``: runs on its own loop thread), from
    async code (``async with`` or ``await astart()``/``aclose()`` on the running loop), or hand
    :meth:`handle` to an existing :class:`~evodiag.httpserver.HTTPServer`.

    ``host`` defaults to loopback; a CLI may bind another address so a container can reach it, but that
    is the caller's explicit choice.
    """

    def __init__(self, out_path: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0, *,
                 durability: Durability = "fsync", recent: int = 50) -> None:
        if durability not in ("fsync", "write"):
            raise ValueError(f"durability must be 'fsync' or 'write', not {durability!r}")
        self.out_path = Path(out_path)
        self.durability: Durability = durability
        self.server = HTTPServer(self.handle, host=host, port=port)
        self._log: _GroupCommitLog | None = None
        self._thread: ServerThread | None = None
        self._lock = threading.Lock()
        self._count = 0
        self._failed = 0
        self._closed_commits = 0
        self._counts: Counter[str] = Counter()
        self._recent: deque[RecentDelivery] = deque(maxlen=recent)
        self.started_at: float | None = None

    # -- live state (safe to read from another thread) -------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url

    @property
    def count(self) -> int:
        """Deliveries recorded durably and acknowledged."""
        return self._count

    @property
    def failed(self) -> int:
        """Deliveries that could not be written (answered 500, not acknowledged)."""
        return self._failed

    @property
    def commits(self) -> int:
        """Group commits so far (one write, plus one fsync in "fsync" mode, each)."""
        return self._closed_commits + (self._log.batches if self._log is not None else 0)

    @property
    def counts_by_event(self) -> dict[str, int]:
        """Acknowledged deliveries per ``event`` (Evolution) / ``callbackCommand`` (OpenIM); a copy."""
        with self._lock:
            return dict(self._counts)

    def recent(self) -> list[RecentDelivery]:
        with self._lock:
            return list(self._recent)

    # -- request handling ------------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            resp = Response.json({"ok": False, "error": "only POST deliveries are recorded"}, 405)
            resp.headers["Allow"] = "POST"
            return resp
        if self._log is None:
            self._log = _GroupCommitLog(self.out_path, self.durability)
        body = parse_body(request.body)
        path = request.path
        record: dict[str, Any] = {
            "received_at": request.received_at,
            "method": request.method,
            "path": path,
            "headers": mask_headers(request.headers),
            "body": mask_body(body),
        }
        if "?" in request.target:
            record["query"] = request.target.split("?", 1)[1]
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode("ascii")
        try:
            await self._log.append(line)
        except Exception as exc:
            with self._lock:
                self._failed += 1
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            return Response.json({"ok": False, "error": f"capture write failed: {reason}"}, 500)
        event = event_of(body, path)
        instance = body.get("instance") if isinstance(body, dict) else None
        with self._lock:
            self._count += 1
            self._counts[event] += 1
            self._recent.append(RecentDelivery(request.received_at, event, path,
                                               instance if isinstance(instance, str) else None))
        if is_openim_delivery(body, path):
            return Response.raw_json(OPENIM_ACK_BODY)
        return Response.raw_json(OK_BODY)

    # -- lifecycle -------------------------------------------------------------------------------------
    async def astart(self) -> str:
        """Start listening on the running loop; returns the base URL."""
        self._log = _GroupCommitLog(self.out_path, self.durability)
        await self.server.start()
        self.started_at = time.time()
        return self.url

    async def aclose(self) -> None:
        """Stop accepting, wait for queued lines to be committed, close the file."""
        await self.server.close()
        if self._log is not None:
            await self._log.close()
            self._closed_commits += self._log.batches
            self._log = None

    async def __aenter__(self) -> WebhookReceiver:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def start(self) -> str:
        """Start on a private loop thread (for synchronous callers such as the CLI); returns the URL."""
        if self._thread is not None:
            raise RuntimeError("receiver already started")
        self._thread = ServerThread()
        try:
            self._thread.call(self.astart())
        except BaseException:
            self._thread.stop()
            self._thread = None
            raise
        return self.url

    def stop(self) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(Exception):
            self._thread.call(self.aclose(), timeout=30)
        self._thread.stop()
        self._thread = None

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
