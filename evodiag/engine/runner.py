"""The staged pipeline: stages run in order; inside a stage every check starts as soon as the checks it
requires have finished, so independent checks overlap. A check whose requirement did not pass is reported
``blocked`` (naming the root cause), never silently dropped."""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from evodiag.catalog.model import STAGES, Catalog, Check
from evodiag.config import TARGET_URL_KEYS, Settings
from evodiag.engine.applicability import unmet
from evodiag.engine.conditions import values_hold
from evodiag.engine.context import ProbeContext, RunOptions, RunState
from evodiag.engine.deadline import Deadline, default_deadline
from evodiag.engine.http import HttpClient, origin
from evodiag.engine.results import Outcome, Result, Status
from evodiag.errors import CatalogError, EvodiagError, TargetError
from evodiag.probes.declare import ProbeSpec, UnknownProbe, resolve

Probe = Callable[[ProbeContext], Awaitable[Outcome]]


@dataclass(frozen=True)
class Progress:
    """One step of a run, for a live display: ``stage-start``, ``check-start`` (the check really runs: its
    requirements finished and nothing skipped or blocked it), ``check-end`` (with its result) or ``stage-end``."""

    event: str
    stage: str
    check_id: str | None = None
    result: Result | None = None


# One hook for every step; a run without one pays a single ``if`` per step.
ProgressHook = Callable[[Progress], None]


@dataclass
class RunReport:
    results: list[Result]
    facts: dict[str, Any]
    settings: Settings
    catalog: Catalog
    state: RunState
    started_at: float
    duration_ms: float
    root_causes: list[tuple[str, int]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts


async def declarative(ctx: ProbeContext) -> Outcome:
    """A check with only a catalog ``request``: send it and judge the reply by the catalog."""
    return ctx.judge(await ctx.fetch())


def resolve_probe(name: str) -> tuple[Probe, ProbeSpec]:
    """``evolution:instance`` -> ``evodiag.probes.evolution.instance`` and its ``@probe`` declaration."""
    try:
        return resolve(name)
    except UnknownProbe as exc:
        raise CatalogError(str(exc)) from None


def select(catalog: Catalog, options: RunOptions) -> list[Check]:
    """Apply --only/--stage/--tags. Requirements of a selected check are always included."""
    chosen = []
    for check in catalog.ordered():
        if options.only and check.id not in options.only:
            continue
        if options.stages and check.stage not in options.stages:
            continue
        if options.tags and not set(options.tags) & set(check.tags):
            continue
        chosen.append(check.id)
    needed = set(chosen)
    frontier = list(chosen)
    while frontier:
        for req in catalog.checks[frontier.pop()].requires:
            if req not in needed:
                needed.add(req)
                frontier.append(req)
    unknown = [i for i in options.only + options.skip if i not in catalog.checks]
    if unknown:
        raise CatalogError(f"unknown check id {unknown[0]!r} (see `evodiag catalog`)")
    return [c for c in catalog.ordered() if c.id in needed]


def _credential_origins(settings: Settings) -> dict[str, str]:
    """Each secret may only go to its own target: ``evolution.api_key`` -> origin of ``evolution.url``."""
    origins = {}
    for key in settings.secrets():
        url_key = TARGET_URL_KEYS.get(key.split(".", 1)[0])
        url = settings.get(url_key) if url_key else None
        if url:
            origins[key] = origin(url)
    return origins


class Pipeline:
    def __init__(self, catalog: Catalog, settings: Settings, options: RunOptions,
                 progress: ProgressHook | None = None) -> None:
        self.catalog = catalog
        self.settings = settings
        self.options = options
        self.progress = progress
        self.checks = select(catalog, options)
        self.probes = {c.id: resolve_probe(c.probe) for c in self.checks if c.probe}
        self._semaphore = asyncio.Semaphore(options.concurrency) if options.concurrency else None

    async def run(self) -> RunReport:
        started_wall, started = time.time(), time.perf_counter()
        http = HttpClient(timeout=self.options.timeout, verify=not self.options.insecure,
                          credential_origins=_credential_origins(self.settings),
                          dns_server=self.settings.get("dns.server"))
        state = RunState(self.catalog, self.settings, self.options, http)
        deadline = Deadline(self.deadline_seconds())
        try:
            finished = await deadline.run(self._stages(state))
        finally:
            await http.aclose()
        if not finished:
            self._expired(state, deadline)
        results = [state.results[c.id] for c in self.checks]
        report = RunReport(results, dict(state.facts), self.settings, self.catalog, state, started_wall,
                           (time.perf_counter() - started) * 1000)
        report.root_causes = root_causes(results)
        return report

    def deadline_seconds(self) -> float:
        if self.options.deadline is not None:
            return self.options.deadline
        listen = self.settings.get("webhook.listen_seconds")
        return default_deadline(float(listen) if listen else None)

    async def _stages(self, state: RunState) -> None:
        for stage in STAGES:
            stage_checks = [c for c in self.checks if c.stage == stage]
            if not stage_checks:
                continue
            if self.progress:
                self.progress(Progress("stage-start", stage))
            done: dict[str, asyncio.Future[Result]] = {
                c.id: asyncio.get_running_loop().create_future() for c in stage_checks
            }
            await asyncio.gather(*(self._run_one(c, state, done) for c in stage_checks))
            if self.progress:
                self.progress(Progress("stage-end", stage))

    def _expired(self, state: RunState, deadline: Deadline) -> None:
        """The deadline cut the run: every check without a result ends as error (timeout), saying whether it
        was running or never started; what finished stays as it was."""
        budget = f"the run's deadline ({deadline.seconds:g} s, --deadline)"
        for check in self.checks:
            if check.id in state.results:
                continue
            message = (f"timed out: {budget} expired while this check was running" if check.id in state.started
                       else f"not run: {budget} expired before it could start")
            state.results[check.id] = self._result(check, Outcome(Status.ERROR, message, error_kind="timeout"))

    async def _run_one(self, check: Check, state: RunState, done: dict[str, asyncio.Future[Result]]) -> None:
        try:
            for dep in (*check.requires, *check.after):
                if dep in done:  # same stage and selected; earlier stages are already finished
                    await done[dep]
            result = await self._evaluate(check, state)
        except Exception as exc:  # the engine itself must never lose a result
            state.tracebacks[check.id] = traceback.format_exc()
            result = self._result(check, Outcome(Status.ERROR, f"internal error: {type(exc).__name__}: {exc}",
                                                 error_kind="internal"))
        state.results[check.id] = result
        done[check.id].set_result(result)
        if self.progress:
            self.progress(Progress("check-end", check.stage, check.id, result))

    def _result(self, check: Check, outcome: Outcome, **extra: Any) -> Result:
        return Result(
            id=check.id, stage=check.stage, title=check.title, severity=check.severity, status=outcome.status,
            message=outcome.message, remediation=outcome.remediation, evidence=outcome.evidence,
            details=outcome.details, refs=outcome.refs, notes=outcome.notes, error_kind=outcome.error_kind, **extra,
        )

    def _precondition(self, check: Check, state: RunState) -> Result | None:
        """skip / blocked decided before running: --skip, requirements, applicability, side effects."""
        if check.id in self.options.skip:
            return self._result(check, Outcome(Status.SKIP, "skipped by --skip"))
        roots: list[str] = []
        for req in check.requires:
            res = state.results[req]
            if res.status is Status.SKIP:
                return self._result(check, Outcome(Status.SKIP, f"requires {req}, which was skipped: {res.message}"))
            if res.status in (Status.FAIL, Status.ERROR):
                roots.append(req)
            elif res.status is Status.BLOCKED:
                roots.extend(res.blocked_by)
        if roots:
            roots = list(dict.fromkeys(roots))
            via = [r for r in check.requires if r not in roots]
            message = f"blocked by {', '.join(roots)}" + (f" (via {', '.join(via)})" if via else "")
            return self._result(check, Outcome(Status.BLOCKED, message + ": not run"), blocked_by=roots)
        not_applicable = unmet(check.applies_when, self.settings.configured_targets(), state.scope)
        if not_applicable:
            return self._result(check, Outcome(Status.SKIP, not_applicable))
        effect = check.side_effects
        reads_only = effect is not None and bool(effect.none_when) and values_hold(effect.none_when, state.scope)
        if effect and effect.kind not in self.options.allow and not reads_only:
            return self._result(check, Outcome(
                Status.SKIP, f"not run: it {effect.description}; allow with --allow-{effect.kind}"))
        return None

    async def _evaluate(self, check: Check, state: RunState) -> Result:
        pre = self._precondition(check, state)
        if pre is not None:
            return pre
        probe, spec = self.probes.get(check.id, (declarative, None))
        ctx = ProbeContext(check, state, spec)
        state.started.add(check.id)
        if self.progress:
            self.progress(Progress("check-start", check.stage, check.id))
        started = time.perf_counter()
        limit = ctx.timeout * 3 + 1  # a probe may make a few sequential requests
        try:
            async with self._slot():
                outcome = await asyncio.wait_for(probe(ctx), limit)
        except asyncio.TimeoutError:
            outcome = Outcome(Status.ERROR, f"timed out after {limit:g} s", error_kind="timeout")
        except TargetError as exc:
            outcome = Outcome(Status.ERROR, str(exc), error_kind=exc.kind)
        except EvodiagError as exc:
            outcome = Outcome(Status.ERROR, str(exc), error_kind="config")
        except Exception as exc:
            state.tracebacks[check.id] = traceback.format_exc()
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            outcome = Outcome(Status.ERROR, f"probe crashed: {type(exc).__name__}: {first_line}",
                              error_kind="probe")
        cap = self.options.timeout_cap
        if cap is not None and check.timeout and check.timeout > cap:
            outcome.notes.append(f"--timeout {cap:g} s cut this check's declared timeout of {check.timeout:g} s")
        result = self._result(check, outcome, duration_ms=(time.perf_counter() - started) * 1000)
        result.exchanges, result.round_trips = ctx.exchanges, ctx.round_trips
        return result

    @contextlib.asynccontextmanager
    async def _slot(self) -> Any:
        if self._semaphore is None:
            yield
        else:
            async with self._semaphore:
                yield


def root_causes(results: list[Result]) -> list[tuple[str, int]]:
    """Failing checks that block others, with how many they block, most first."""
    counts: dict[str, int] = {}
    for result in results:
        for root in result.blocked_by:
            counts[root] = counts.get(root, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def run(catalog: Catalog, settings: Settings, options: RunOptions,
        progress: ProgressHook | None = None) -> RunReport:
    return asyncio.run(Pipeline(catalog, settings, options, progress).run())
