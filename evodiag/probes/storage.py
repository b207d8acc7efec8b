"""``storage.s3``: how fast Evolution's media store answers (read-only).

Why latency and not access: Evolution uploads every media message to S3/MinIO and hands out its URL, and
Chatwoot fetches it right away; during the Chatwoot initialisation the QR code image travels that way too. A
slow or flaky store shows up as missing images and QR codes, not as an error (evo#833, cw#11766). So the probe
sends a few unauthenticated ``HEAD /`` requests at once and takes the median of their own round-trip times: any
HTTP answer counts (a 403 is the normal answer without credentials), a 5xx or a network failure does not.
Concurrent samples keep the check off the run's critical path and cost one timeout, not several, when the store
hangs.
"""

from __future__ import annotations

import asyncio
import statistics
from urllib.parse import urlsplit

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome
from evodiag.errors import TargetError
from evodiag.netinfo import mask_url
from evodiag.probes.configfiles import s3_url, sources_from_settings
from evodiag.probes.declare import probe
from evodiag.probes.findings import Finding, combine

SAMPLES = 5
# A store in the same region answers an unauthenticated HEAD in tens of milliseconds. Each media message costs
# an upload by Evolution and a download by Chatwoot (plus a redirect), so a median above half a second adds
# seconds per attachment and lets Chatwoot read the object before it is readable (the race of cw#11766).
SLOW_MEDIAN_MS = 500.0
REQUEST_TIMEOUT_S = 3.0


def _endpoint(ctx: ProbeContext) -> tuple[str | None, str, str | None]:
    """(URL to measure, where it came from, an internal-only endpoint that cannot be measured from here)."""
    setting = ctx.value("s3.endpoint")
    if setting:
        return str(setting), "setting s3.endpoint", None
    sources = sources_from_settings(ctx.value("files.env"), ctx.value("files.compose"))
    for scope in sources.evolution:
        url = s3_url(scope)
        if not url:
            continue
        var = scope.get("S3_ENDPOINT")
        origin = var.origin if var else scope.anchor
        host = urlsplit(url).hostname or ""
        if "." not in host and ":" not in host:  # a compose service name: only resolves inside the network
            return None, origin, url
        return url, f"{origin} S3_ENDPOINT", None
    return None, "", None


@probe("storage.s3", diagnoses={"failing", "internal_only", "not_configured", "ok", "slow"},
       values={"answered", "count", "error", "failed", "median_ms", "source", "threshold_ms", "url"},
       reads={"files.compose", "files.env", "s3.endpoint"})
async def s3(ctx: ProbeContext) -> Outcome:
    url, source, internal = _endpoint(ctx)
    if url is None:
        if internal:
            return ctx.diagnose("internal_only", url=mask_url(internal), source=source)
        return ctx.diagnose("not_configured")
    target = url.rstrip("/") + "/"
    shown = mask_url(target)
    samples: list[float] = []
    errors: list[str] = []
    timeout = min(REQUEST_TIMEOUT_S, ctx.timeout)
    replies = await asyncio.gather(*(ctx.request("HEAD", target, timeout=timeout) for _ in range(SAMPLES)),
                                   return_exceptions=True)
    for reply in replies:
        if isinstance(reply, TargetError):
            errors.append(str(reply))
        elif isinstance(reply, BaseException):
            raise reply
        elif reply.status is not None and reply.status >= 500:
            errors.append(f"HTTP {reply.status} after {reply.elapsed_ms:.0f} ms")
        else:
            samples.append(reply.elapsed_ms)
    attempts = len(samples) + len(errors)
    median = statistics.median(samples) if samples else None
    values = {"url": shown, "source": source, "count": attempts, "answered": len(samples),
              "median_ms": f"{median:.0f}" if median is not None else "n/a",
              "threshold_ms": f"{SLOW_MEDIAN_MS:.0f}", "failed": len(errors), "error": errors[0] if errors else ""}
    findings: list[Finding] = []
    if errors:
        findings.append(Finding("failing", values, [f"{shown}: {e}" for e in errors]))
    if median is not None and median > SLOW_MEDIAN_MS:
        findings.append(Finding("slow", values, [f"{shown}: HEAD answered in " +
                                                 ", ".join(f"{s:.0f}" for s in samples) + " ms"]))
    details = {"url": shown, "source": source, "samples_ms": [round(s, 1) for s in samples], "errors": errors,
               "median_ms": round(median, 1) if median is not None else None, "threshold_ms": SLOW_MEDIAN_MS}
    return combine(ctx, findings, fallback=Finding("ok", values), details=details)
