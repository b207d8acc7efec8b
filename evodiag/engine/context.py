"""The state of one run, and the small interface a probe sees (:class:`ProbeContext`).

A probe is ``async def name(ctx: ProbeContext) -> Outcome`` in ``evodiag/probes/<module>.py``, named in the
catalog as ``probe: <module>:<name>`` and declared with ``@probe(...)`` (:mod:`evodiag.probes.declare`). It keeps
messages and remediation in the catalog: it picks a named diagnosis with :meth:`ProbeContext.diagnose` (or a
fragment with :meth:`ProbeContext.text`) and passes the values the message needs.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evodiag.catalog.model import Catalog, Check, Diagnosis, Ref, Remediation
from evodiag.config import Settings
from evodiag.engine import jsonpath, template
from evodiag.engine.conditions import condition_holds
from evodiag.engine.http import Exchange, HttpClient
from evodiag.engine.results import Outcome, Result, Status
from evodiag.errors import MissingValue, NonJSONReply
from evodiag.probes.declare import ProbeSpec

# Every side effect a check may declare, each allowed by its own --allow-<kind> flag. The lab allows them all.
SIDE_EFFECT_KINDS = frozenset({"connect", "send", "webhook-post"})


@dataclass
class RunOptions:
    timeout: float = 10.0  # per request, unless a check declares a longer one
    timeout_cap: float | None = None  # --timeout given: no request waits longer, whatever a check declares
    deadline: float | None = None  # --deadline: the whole run (None: 60 s + listen seconds)
    allow: frozenset[str] = frozenset()
    concurrency: int = 0  # 0 = unlimited
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    insecure: bool = False
    debug: bool = False


@dataclass
class RunState:
    catalog: Catalog
    settings: Settings
    options: RunOptions
    http: HttpClient
    facts: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)
    tracebacks: dict[str, str] = field(default_factory=dict)
    dns_answers: list[dict[str, Any]] = field(default_factory=list)
    started: set[str] = field(default_factory=set)  # checks whose probe began (for the deadline's verdicts)

    @property
    def scope(self) -> ChainMap[str, Any]:
        return ChainMap(self.settings.values, self.facts)


class UndeclaredName(LookupError):
    """A probe used a catalog name its ``@probe(...)`` declaration does not list: fix the declaration."""


class ProbeContext:
    def __init__(self, check: Check, state: RunState, spec: ProbeSpec | None = None) -> None:
        self.check = check
        self.state = state
        # What the probe declared (None for a declarative check): names outside it are refused, so the load-time
        # verification of the catalog covers everything the probe can ask for.
        self.spec = spec
        self.exchanges = 0
        # Sequential depth: a request started while another of this check's requests is in flight overlaps it
        # and does not lengthen the check (the P1 benchmark's critical path is built from this).
        self.round_trips = 0
        self._in_flight = 0

    # --- values -------------------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def scope(self) -> ChainMap[str, Any]:
        return self.state.scope

    def _declared(self, kind: str, name: str) -> None:
        if self.spec is not None and name not in getattr(self.spec, kind):
            raise UndeclaredName(f"probe {self.spec.ref}: {kind} {name!r} is missing from its @probe declaration "
                                 f"({self.spec.where})")

    def value(self, key: str, default: Any = None) -> Any:
        """A config value or a fact published by an earlier check (declared in ``@probe(reads=...)``)."""
        self._declared("reads", key)
        value = self.scope.get(key)
        return default if value in (None, "") else value

    def publish(self, key: str, value: Any) -> None:
        """Make a fact available to later checks and message templates (declared in ``@probe(publishes=...)``)."""
        self._declared("publishes", key)
        self.state.facts[key] = value

    def result_of(self, check_id: str) -> Result | None:
        return self.state.results.get(check_id)

    @property
    def timeout(self) -> float:
        """The check's request timeout: its declared one when longer than the default, never past --timeout."""
        options = self.state.options
        declared = self.check.timeout
        chosen = max(declared, options.timeout) if declared else options.timeout
        return min(chosen, options.timeout_cap) if options.timeout_cap is not None else chosen

    def capped(self, timeout: float) -> float:
        cap = self.state.options.timeout_cap
        return min(timeout, cap) if cap is not None else timeout

    # --- HTTP ---------------------------------------------------------------------------------------------
    def _headers(self, raw: tuple[tuple[str, Any], ...] | Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        headers: dict[str, str] = {}
        credentials: dict[str, str] = {}
        items = raw.items() if isinstance(raw, Mapping) else raw
        for name, value in items:
            if isinstance(value, Mapping):
                secret_key = value["secret"]
                secret = self.scope.get(secret_key)  # a secret setting, verified when the catalog loads
                if secret in (None, ""):
                    raise MissingValue(f"{secret_key} is not set (flag, EVODIAG_* variable or evodiag.yaml)")
                headers[name] = str(secret)
                credentials[name] = secret_key
            else:
                headers[name] = template.render(str(value), self.scope, strict=True)
        return headers, credentials

    async def request(self, method: str, url: str, *, headers: Mapping[str, Any] | None = None,
                      json: Any = None, has_json: bool | None = None, timeout: float | None = None,
                      fresh: bool = False) -> Exchange:
        """Send a request. ``url`` may be a template (``{chatwoot.url}/api``); header values may be
        ``{"secret": "chatwoot.token"}`` to send a configured secret (origin-checked). Identical GETs in one run
        share one response; ``fresh=True`` always sends (for polling)."""
        rendered_url = template.render_url(url, self.scope) if "{" in url else url
        plain, credentials = self._headers(headers or {})
        self.exchanges += 1
        if self._in_flight == 0:
            self.round_trips += 1
        self._in_flight += 1
        try:
            return await self.state.http.request(
                method, rendered_url, headers=plain, json=json,
                has_json=json is not None if has_json is None else has_json,
                timeout=self.capped(timeout or self.timeout), credentials=credentials, check_id=self.check.id,
                fresh=fresh,
            )
        finally:
            self._in_flight -= 1

    async def fetch(self) -> Exchange:
        """Send the request declared in the catalog for this check."""
        req = self.check.request
        if req is None:
            raise RuntimeError(f"check {self.check.id} declares no request")
        return await self.request(req.method, req.url, headers=dict(req.headers), json=req.json,
                                  has_json=req.has_json)

    # --- outcomes -----------------------------------------------------------------------------------------
    def render(self, text: str, **values: Any) -> str:
        return template.render(text, ChainMap(values, self.scope)) if text else text

    def outcome(self, status: Status | str, message: str, *, remediation: Remediation | None = None,
                refs: tuple[Ref, ...] = (), **kwargs: Any) -> Outcome:
        status = Status(status)
        if remediation is None and status in (Status.FAIL, Status.WARN) and not self.check.remediation.is_empty():
            remediation = self._render_remediation(self.check.remediation, {})
        if not refs and status in (Status.FAIL, Status.WARN):
            refs = self.check.refs
        return Outcome(status, message, remediation=remediation, refs=refs, **kwargs)

    def _render_remediation(self, rem: Remediation, values: Mapping[str, Any]) -> Remediation:
        scope = ChainMap(dict(values), self.scope)
        return Remediation(template.render(rem.text, scope),
                           tuple(template.render(c, scope, fill_in=True) for c in rem.commands),
                           tuple(template.render(link, scope) for link in rem.links),
                           tuple(template.render(c, scope, fill_in=True) for c in rem.changes))

    def from_diagnosis(self, diag: Diagnosis, values: Mapping[str, Any]) -> Outcome:
        status = Status(diag.status)
        rem_source = diag.remediation or (self.check.remediation if status in (Status.FAIL, Status.WARN) else None)
        remediation = self._render_remediation(rem_source, values) if rem_source else None
        refs = diag.refs or (self.check.refs if status in (Status.FAIL, Status.WARN) else ())
        message = template.render(diag.message, ChainMap(dict(values), self.scope))
        return Outcome(status, message, remediation=remediation, refs=refs)

    def diagnose(self, name: str, **values: Any) -> Outcome:
        """The catalog diagnosis called ``name``, with ``values`` filled into its message and remediation."""
        self._declared("diagnoses", name)
        return self.from_diagnosis(self.check.diagnosis(name), values)

    def text(self, name: str, **values: Any) -> str:
        """The catalog text (message fragment) called ``name``, with ``values`` filled in."""
        self._declared("texts", name)
        return self.render(self.check.text(name), **values)

    def judge(self, exchange: Exchange, **values: Any) -> Outcome:
        """The declarative verdict: extract facts, then the first matching diagnosis, then ``expect``."""
        status = exchange.status
        try:
            doc: Any = exchange.json()
            json_error: NonJSONReply | None = None
        except NonJSONReply as exc:
            doc, json_error = jsonpath.MISSING, exc
        ok = status in self.check.expect_status if self.check.expect_status else 200 <= (status or 0) < 300
        if ok and self.check.extract:
            if json_error is not None:
                raise json_error
            for fact, path in self.check.extract:
                found = jsonpath.find(doc, path)
                if found is not jsonpath.MISSING:
                    self.publish(fact, found)
        local = {"http.status": status, "http.body": exchange.text[:300], **values}
        scope = ChainMap(local, self.scope)
        for diag in self.check.diagnoses:
            if diag.when is None:
                continue
            if condition_holds(diag.when, status=status, body=exchange.text, doc=doc, scope=scope):
                return self.from_diagnosis(diag, local)
        if ok:
            message = self.render(self.check.pass_message, **local) if self.check.pass_message else "ok"
            return Outcome(Status.PASS, message)
        if json_error is not None and status and status < 400:
            raise json_error
        excerpt = " ".join(exchange.text.split())[:200]
        return self.outcome(Status.FAIL, f"unexpected reply: HTTP {status} from {exchange.url}: {excerpt}")
