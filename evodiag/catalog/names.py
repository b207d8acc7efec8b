"""The registry of names a catalog may use, verified when the catalog loads.

A name is one of:
- a setting: a key of :data:`evodiag.config.OPTIONS` (``evolution.url``);
- a fact: published by ``extract`` (a declarative check of this catalog) or by a probe's
  ``@probe(publishes=...)`` (any probe in evodiag/probes: a check that reads a fact copes with its absence, so a
  ``--catalog`` file that replaces the publisher does not make the name unknown);
- a per-diagnosis value a probe fills (``@probe(values=...)``, e.g. ``{route}``), valid in that check only;
- ``http.status`` / ``http.body``, which the engine fills when it judges a reply by the catalog.

Every ``{name}`` in a template (messages, remediation, request URL and headers, doc, texts), every
``requires``/``after``/``observed_by``, every diagnosis and text a probe picks and every fact it reads must be
one of those; otherwise loading fails with a :class:`CatalogError` naming file:line and the closest known name.

An extra ``--catalog`` file may replace a probe's check (to reword it), and is held to the same contract: it
must define every diagnosis and text the probe declares, and may not add named diagnoses no code picks.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from evodiag.catalog.model import Catalog, Check, Remediation
from evodiag.config import OPTIONS
from evodiag.engine.template import scan
from evodiag.errors import CatalogError
from evodiag.probes.declare import ProbeSpec, UnknownProbe

# Filled by ProbeContext.judge for the diagnoses of a reply it judges.
ENGINE_VALUES = frozenset({"http.status", "http.body"})
SETTINGS = frozenset(o.key for o in OPTIONS)
SECRET_SETTINGS = frozenset(o.key for o in OPTIONS if o.secret)
ENV_VARS = frozenset(o.env for o in OPTIONS)
_ENV_REFERENCE = re.compile(r"\$\{?(EVODIAG_[A-Z0-9_]+)")

SpecLookup = Callable[[str], ProbeSpec]


@dataclass(frozen=True)
class Template:
    field: str  # where in the check: "diagnoses[html].message", "remediation.commands[0]"...
    text: str
    line: int | None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _remediation(rem: Remediation | None, prefix: str, line: int | None) -> Iterator[Template]:
    if rem is None:
        return
    yield Template(f"{prefix}.text", rem.text, line)
    for i, command in enumerate(rem.commands):
        yield Template(f"{prefix}.commands[{i}]", command, line)
    for i, link in enumerate(rem.links):
        yield Template(f"{prefix}.links[{i}]", link, line)
    for i, change in enumerate(rem.changes):
        yield Template(f"{prefix}.changes[{i}]", change, line)


def templates_of(check: Check) -> Iterator[Template]:
    """Every text of a check in which ``{name}`` is filled (doc included: it must not name unknown things)."""
    doc_line = check.line_of("doc")
    yield from (Template(f"doc.{key}", text, doc_line)
                for key, text in (("what", check.doc.what), ("why", check.doc.why), ("example", check.doc.example)))
    yield Template("pass_message", check.pass_message, check.line_of("pass_message"))
    yield from _remediation(check.remediation, "remediation", check.line_of("remediation"))
    if check.request:
        yield Template("request.url", check.request.url, check.line_of("request"))
        for header, value in check.request.headers:
            if isinstance(value, str):
                yield Template(f"request.headers.{header}", value, check.line_of("request"))
    for i, diag in enumerate(check.diagnoses):
        label = f"diagnoses[{diag.name or i}]"
        yield Template(f"{label}.message", diag.message, diag.line)
        yield from _remediation(diag.remediation, f"{label}.remediation", diag.line)
    for name, text in check.texts:
        yield Template(f"texts.{name}", text, check.line_of(f"texts.{name}"))


class NameRegistry:
    """Settings, and the facts checks extract or probes declare they publish."""

    def __init__(self, catalog: Catalog, probes: Iterable[ProbeSpec]) -> None:
        facts = {fact for check in catalog.checks.values() for fact, _ in check.extract}
        facts.update(fact for spec in probes for fact in spec.publishes)
        self.global_names = SETTINGS | frozenset(facts)

    def scope_of(self, spec: ProbeSpec | None) -> frozenset[str]:
        """The names a template of a check may use."""
        return self.global_names | ENGINE_VALUES | (spec.values if spec else frozenset())


def _fail(check: Check, message: str, line: int | None) -> CatalogError:
    return CatalogError(message, file=check.file, line=line, check_id=check.id)


def _check_env_references(check: Check, tpl: Template) -> None:
    """A command refers to a secret as the variable evodiag reads it from ("$EVODIAG_EVOLUTION_API_KEY"), never
    by its value: a wrong variable name would paste as an empty key."""
    for var in _ENV_REFERENCE.findall(tpl.text):
        if var not in ENV_VARS:
            raise _fail(check, f"{tpl.field}: unknown variable ${var}{did_you_mean(var, ENV_VARS)}; evodiag reads "
                               "the EVODIAG_* variables of its settings (evodiag check --help)", tpl.line)


def _check_templates(check: Check, known: frozenset[str]) -> None:
    for tpl in templates_of(check):
        _check_env_references(check, tpl)
        if "{" not in tpl.text:
            continue
        names, broken = scan(tpl.text)
        if broken:
            raise _fail(check, f"{tpl.field}: unclosed placeholder {broken!r} (missing '}}')", tpl.line)
        for name in names:
            if name in SECRET_SETTINGS and not tpl.field.startswith("request."):
                env = next(o.env for o in OPTIONS if o.key == name)
                raise _fail(check, f"{tpl.field}: {{{name}}} would print a secret; write \"${env}\" instead",
                            tpl.line)
            if name not in known:
                raise _fail(check, f"{tpl.field}: unknown name {{{name}}}{did_you_mean(name, known)}; a name is a "
                                   "setting (evodiag init), a fact some check publishes, or a value its probe "
                                   "declares", tpl.line)


def _check_value_names(check: Check, known: frozenset[str]) -> None:
    """Names tested by ``applies_when.values`` and ``when.values``, and secrets sent in headers."""
    tested = [(name, check.line_of("applies_when")) for name, _ in check.applies_when.values]
    tested += [(name, diag.line) for diag in check.diagnoses if diag.when for name, _ in diag.when.values]
    for name, line in tested:
        if name not in known:
            raise _fail(check, f"values: unknown name {name!r}{did_you_mean(name, known)}", line)
    for header, value in check.request.headers if check.request else ():
        if isinstance(value, dict) and value.get("secret") not in SECRET_SETTINGS:
            secret = str(value.get("secret"))
            raise _fail(check, f"request.headers.{header}: {secret!r} is not a secret setting"
                               f"{did_you_mean(secret, SECRET_SETTINGS)}", check.line_of("request"))


def _check_probe_contract(check: Check, spec: ProbeSpec | None, registry: NameRegistry) -> None:
    """The diagnoses and texts the probe picks exist here, and nothing here is named that no code picks."""
    named = {d.name: d for d in check.diagnoses if d.name}
    texts = dict(check.texts)
    if spec is None:
        for diag in named.values():
            if diag.when is None:
                raise _fail(check, f"diagnosis {diag.name!r} has a name but no 'when', and this check has no probe "
                                   "to pick it", diag.line)
        if texts:
            raise _fail(check, "texts: only a probe uses texts, and this check has none", check.line_of("texts"))
        return
    for kind, wanted, present, key in (("diagnosis", spec.diagnoses, named, "diagnoses"),
                                       ("text", spec.texts, texts, "texts")):
        for name in sorted(wanted - set(present)):
            raise _fail(check, f"probe {spec.ref} ({spec.where}) picks {kind} {name!r}, which this check does not "
                               f"define{did_you_mean(name, present)}", check.line_of(key))
    for diag in named.values():
        if diag.when is None and diag.name not in spec.diagnoses:
            raise _fail(check, f"diagnosis {diag.name!r}: probe {spec.ref} never picks it (it declares "
                               f"{', '.join(sorted(spec.diagnoses))}){did_you_mean(str(diag.name), spec.diagnoses)}",
                        diag.line)
    for name in texts:
        if name not in spec.texts:
            raise _fail(check, f"texts.{name}: probe {spec.ref} never uses it{did_you_mean(name, spec.texts)}",
                        check.line_of(f"texts.{name}"))
    for name in sorted(spec.reads):
        if name not in registry.global_names:
            raise CatalogError(f"probe {spec.ref} reads {name!r}, which is neither a setting nor a fact any check "
                               f"publishes{did_you_mean(name, registry.global_names)}", file=spec.file,
                               line=spec.line, check_id=check.id)


def _check_observers(catalog: Catalog) -> None:
    for issue in catalog.known_issues:
        for check_id in issue.observed_by:
            if check_id not in catalog.checks:
                raise CatalogError(f"known issue {issue.id}: observed_by unknown check {check_id!r}"
                                   f"{did_you_mean(check_id, catalog.checks)}", file=issue.file, line=issue.line)


def check_names(catalog: Catalog, spec_of: SpecLookup, probes: Iterable[ProbeSpec]) -> None:
    """Verify every name the catalog and its probes use; the first unknown one raises :class:`CatalogError`.
    (``requires``/``after`` are verified with the dependency graph, before this.)"""
    _check_observers(catalog)
    specs: dict[str, ProbeSpec] = {}
    for check in catalog.checks.values():
        if check.probe:
            try:
                specs[check.id] = spec_of(check.probe)
            except UnknownProbe as exc:
                raise _fail(check, str(exc), check.line_of("probe")) from None
    registry = NameRegistry(catalog, [*probes, *specs.values()])
    for check in catalog.checks.values():
        spec = specs.get(check.id)
        known = registry.scope_of(spec)
        _check_probe_contract(check, spec, registry)
        _check_templates(check, known)
        _check_value_names(check, known)
