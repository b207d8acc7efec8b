"""The typed shape of the check catalog. ``schema.py`` builds these from YAML; nothing else constructs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STAGES = ("config", "auth", "api", "functional")
SEVERITIES = ("critical", "high", "medium", "low", "info")
SIGNATURE_KINDS = ("log", "prose")
STATUSES = ("pass", "warn", "fail", "skip", "blocked", "error")

ISSUE_URLS = {
    "evolution-api": "https://github.com/evolution-foundation/evolution-api/issues/{number}",
    "chatwoot": "https://github.com/chatwoot/chatwoot/issues/{number}",
    "openim-server": "https://github.com/openimsdk/open-im-server/issues/{number}",
}


@dataclass(frozen=True)
class Remediation:
    text: str = ""
    commands: tuple[str, ...] = ()  # read-only: look before you change anything
    links: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()  # the exact call that fixes it (it changes the user's server: they run it)

    def is_empty(self) -> bool:
        return not (self.text or self.commands or self.links or self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "commands": list(self.commands), "links": list(self.links),
                "changes": list(self.changes)}


@dataclass(frozen=True)
class Ref:
    """A known issue upstream: project, number, and the version that fixed it (if any)."""

    project: str
    number: int
    fixed_in: str | None = None
    title: str | None = None
    url: str | None = None

    @property
    def link(self) -> str:
        if self.url:
            return self.url
        template = ISSUE_URLS.get(self.project, "https://github.com/{project}/issues/{number}")
        return template.format(project=self.project, number=self.number)

    def label(self) -> str:
        short = {"evolution-api": "evo", "chatwoot": "cw", "openim-server": "openim"}.get(self.project, self.project)
        fixed = f", fixed in {self.fixed_in}" if self.fixed_in else ""
        return f"{short}#{self.number}{fixed}"

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "number": self.number, "fixed_in": self.fixed_in,
                "title": self.title, "url": self.link}


@dataclass(frozen=True)
class Matcher:
    """One test on one value. Several set fields are ANDed."""

    equals: Any = None
    not_equals: Any = None
    one_of: tuple[Any, ...] | None = None
    matches: str | None = None
    contains: str | None = None
    exists: bool | None = None
    version: str | None = None
    has_equals: bool = False
    has_not_equals: bool = False


@dataclass(frozen=True)
class Condition:
    """``when``: every part present must hold."""

    status: tuple[int, ...] = ()
    json: tuple[tuple[str, Matcher], ...] = ()
    body: str | None = None
    values: tuple[tuple[str, Matcher], ...] = ()

    def is_empty(self) -> bool:
        return not (self.status or self.json or self.body or self.values)


@dataclass(frozen=True)
class Diagnosis:
    status: str
    message: str
    name: str | None = None
    when: Condition | None = None
    remediation: Remediation | None = None
    refs: tuple[Ref, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: tuple[tuple[str, Any], ...] = ()
    json: Any = None
    has_json: bool = False


@dataclass(frozen=True)
class AppliesWhen:
    targets: tuple[str, ...] = ()
    values: tuple[tuple[str, Matcher], ...] = ()


@dataclass(frozen=True)
class SideEffect:
    """What running the check changes on a server, allowed with ``--allow-<kind>``. ``none_when``: facts under
    which the same request only reads (e.g. connect while already connecting), so no flag is needed."""

    kind: str
    description: str
    none_when: tuple[tuple[str, Matcher], ...] = ()


@dataclass(frozen=True)
class Signature:
    """A regex (RE2 syntax, case-insensitive) that, found in a log or ticket line, points at this check (used by
    ``evodiag triage``). ``kind: prose`` is a symptom in a user's words, matched only in the first block of the
    input (a ticket's text), not deep inside a large log. A line that also matches ``unless`` does not count."""

    pattern: str
    weight: float = 1.0
    note: str = ""
    kind: str = "log"
    unless: str | None = None

    @property
    def prose(self) -> bool:
        return self.kind == "prose"


@dataclass(frozen=True)
class Doc:
    what: str
    why: str
    example: str = ""


@dataclass
class Check:
    id: str
    title: str
    stage: str
    doc: Doc
    severity: str = "medium"
    tags: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    # Checks to wait for when they run in the same stage, without being blocked by their outcome: for a check
    # that reads another's facts or results as context.
    after: tuple[str, ...] = ()
    applies_when: AppliesWhen = field(default_factory=AppliesWhen)
    side_effects: SideEffect | None = None
    remediation: Remediation = field(default_factory=Remediation)
    refs: tuple[Ref, ...] = ()
    signatures: tuple[Signature, ...] = ()
    request: HttpRequest | None = None
    expect_status: tuple[int, ...] = ()
    extract: tuple[tuple[str, str], ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    probe: str | None = None
    timeout: float | None = None
    pass_message: str = ""
    # Message fragments a probe assembles into its diagnoses and notes (`texts:` in the catalog), by name.
    texts: tuple[tuple[str, str], ...] = ()
    file: str = ""
    line: int | None = None
    # The line of each top-level key of this check (`doc`, `remediation`, `texts`...), for error messages.
    key_lines: dict[str, int] = field(default_factory=dict)

    def diagnosis(self, name: str) -> Diagnosis:
        for diag in self.diagnoses:
            if diag.name == name:
                return diag
        raise KeyError(f"check {self.id} has no diagnosis named {name!r}")

    def text(self, name: str) -> str:
        for text_name, text in self.texts:
            if text_name == name:
                return text
        raise KeyError(f"check {self.id} has no text named {name!r}")

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class KnownIssue:
    """A version-bound upstream bug, kept as data so checks and triage share one table."""

    id: str
    product: str
    versions: str
    symptom: str
    workaround: str
    fixed_in: str | None = None
    with_product: str | None = None
    with_versions: str | None = None
    refs: tuple[Ref, ...] = ()
    observed_by: tuple[str, ...] = ()
    file: str = ""
    line: int | None = None


@dataclass
class Catalog:
    checks: dict[str, Check]
    known_issues: tuple[KnownIssue, ...] = ()
    sources: tuple[str, ...] = ()

    def ordered(self) -> list[Check]:
        """Checks in stage order, catalog order within a stage."""
        return sorted(self.checks.values(), key=lambda c: STAGES.index(c.stage))

    def dependents(self, check_id: str) -> set[str]:
        """Every check that (transitively) requires ``check_id``."""
        found: set[str] = set()
        frontier = [check_id]
        while frontier:
            current = frontier.pop()
            for check in self.checks.values():
                if current in check.requires and check.id not in found:
                    found.add(check.id)
                    frontier.append(check.id)
        return found
