"""The catalog schema, declared as data (one table per YAML mapping), and the validator that turns YAML into
:mod:`evodiag.catalog.model` objects. Every problem is reported with the path to the bad key and its line."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evodiag.catalog import model as m
from evodiag.catalog.signature_regex import SignatureRegexError, compile_signature
from evodiag.catalog.yamlsource import LineDict, line_of
from evodiag.versions import parse_range


class SchemaIssue(Exception):
    def __init__(self, path: str, message: str, line: int | None) -> None:
        super().__init__(message)
        self.path, self.message, self.line = path, message, line


@dataclass(frozen=True)
class Key:
    kind: str  # "str" | "int" | "number" | "bool" | "list[str]" | "map" | "list[map]" | "any" | "int|list[int]"
    required: bool = False
    choices: tuple[str, ...] = ()
    pattern: str | None = None


REPEAT_GROUP = re.compile(r"\(\?P<repeat(?:_\w*)?>")
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
_DIAG_STATUSES = ("pass", "warn", "fail", "skip", "error")

CHECK_KEYS: dict[str, Key] = {
    "id": Key("str", required=True, pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"),
    "title": Key("str", required=True),
    "stage": Key("str", required=True, choices=m.STAGES),
    "severity": Key("str", choices=m.SEVERITIES),
    "tags": Key("list[str]"),
    "requires": Key("list[str]"),
    "after": Key("list[str]"),
    "applies_when": Key("map"),
    "side_effects": Key("any"),
    "doc": Key("map", required=True),
    "remediation": Key("map"),
    "refs": Key("list[map]"),
    "signatures": Key("list[map]"),
    "request": Key("map"),
    "expect": Key("map"),
    "extract": Key("map"),
    "diagnoses": Key("list[map]"),
    "probe": Key("str", pattern=r"^[a-z_][a-z0-9_]*:[a-z_][a-z0-9_]*$"),
    "timeout": Key("number"),
    "pass_message": Key("str"),
    # Message fragments (name: template) a probe fills and splices into its diagnoses or notes; not outcomes.
    "texts": Key("map"),
}
DOC_KEYS = {"what": Key("str", required=True), "why": Key("str", required=True), "example": Key("str")}
REMEDIATION_KEYS = {"text": Key("str"), "commands": Key("list[str]"), "links": Key("list[str]"),
                    "changes": Key("list[str]")}
REF_KEYS = {"project": Key("str", required=True), "number": Key("int", required=True), "fixed_in": Key("str"),
            "title": Key("str"), "url": Key("str")}
SIGNATURE_KEYS = {"pattern": Key("str", required=True), "kind": Key("str", choices=m.SIGNATURE_KINDS),
                  "unless": Key("str"), "weight": Key("number"), "note": Key("str")}
REQUEST_KEYS = {"method": Key("str", choices=_HTTP_METHODS), "url": Key("str", required=True),
                "headers": Key("map"), "json": Key("any")}
EXPECT_KEYS = {"status": Key("int|list[int]")}
APPLIES_KEYS = {"targets": Key("list[str]"), "values": Key("map")}
SIDE_EFFECT_KEYS = {"kind": Key("str", required=True), "description": Key("str", required=True),
                    "none_when": Key("map")}
DIAGNOSIS_KEYS = {"name": Key("str"), "when": Key("map"), "status": Key("str", required=True, choices=_DIAG_STATUSES),
                  "message": Key("str", required=True), "remediation": Key("map"), "refs": Key("list[map]")}
WHEN_KEYS = {"status": Key("int|list[int]"), "json": Key("map"), "body": Key("str"), "values": Key("map")}
MATCHER_KEYS = {"equals": Key("any"), "not_equals": Key("any"), "one_of": Key("any"), "matches": Key("str"),
                "contains": Key("str"), "exists": Key("bool"), "version": Key("str")}
KNOWN_ISSUE_KEYS = {
    "id": Key("str", required=True), "product": Key("str", required=True), "versions": Key("str", required=True),
    "with": Key("map"), "symptom": Key("str", required=True), "workaround": Key("str", required=True),
    "fixed_in": Key("str"), "refs": Key("list[map]"), "observed_by": Key("list[str]"),
}
WITH_KEYS = {"product": Key("str", required=True), "versions": Key("str", required=True)}
CATALOG_VERSION = 1  # the catalog format this evodiag reads; a file may say `version: 1`
MAX_CHECK_TIMEOUT = 300.0  # seconds; a check's declared timeout is at most this (and --timeout caps it anyway)
# `include` lists area files (relative to the including file) whose checks and known issues load in order.
TOP_KEYS = {"version": Key("int"), "include": Key("list[str]"), "checks": Key("list[map]"),
            "known_issues": Key("list[map]")}

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    "map": lambda v: isinstance(v, dict),
    "list[map]": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    "int|list[int]": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, list) and all(isinstance(i, int) for i in v)),
    "any": lambda v: True,
}


def validate_keys(obj: Any, spec: dict[str, Key], path: str) -> dict[str, Any]:
    """Check a mapping against its table: unknown keys, missing keys, types, choices, patterns."""
    if not isinstance(obj, dict):
        raise SchemaIssue(path, f"expected a mapping, got {type(obj).__name__}", line_of(obj))
    for key in obj:
        if key not in spec:
            close = [k for k in spec if k[:3] == str(key)[:3]]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            # A key with a newline or control character is quoted: the error stays one line.
            where = f"{path}.{key}" if str(key).isprintable() else f"{path}[{key!r}]"
            raise SchemaIssue(where, f"unknown key {key!r}{hint}", line_of(obj, str(key)))
    for key, rule in spec.items():
        if key not in obj:
            if rule.required:
                raise SchemaIssue(f"{path}.{key}", f"missing required key {key!r}", line_of(obj))
            continue
        value = obj[key]
        if not _TYPE_TESTS[rule.kind](value):
            raise SchemaIssue(f"{path}.{key}", f"expected {rule.kind}, got {type(value).__name__}",
                              line_of(obj, key))
        if rule.choices and value not in rule.choices:
            raise SchemaIssue(f"{path}.{key}", f"{value!r} is not one of {', '.join(rule.choices)}",
                              line_of(obj, key))
        if rule.pattern and not re.match(rule.pattern, value):
            raise SchemaIssue(f"{path}.{key}", f"{value!r} does not match {rule.pattern}", line_of(obj, key))
    return obj


def _regex(pattern: str, path: str, line: int | None) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise SchemaIssue(path, f"invalid regex {pattern!r}: {exc}", line) from None
    return pattern


def _linear_regex(pattern: str, path: str, line: int | None) -> None:
    """A signature must compile with RE2 (linear-time matching), not merely with Python's ``re``."""
    try:
        compile_signature(pattern)
    except SignatureRegexError as exc:
        raise SchemaIssue(path, f"pattern {pattern!r} is not usable by RE2: {exc}", line) from None


def _signature(raw: Any, path: str) -> m.Signature:
    validate_keys(raw, SIGNATURE_KEYS, path)
    _linear_regex(raw["pattern"], f"{path}.pattern", line_of(raw, "pattern"))
    unless = raw.get("unless")
    if unless is not None:
        _linear_regex(unless, f"{path}.unless", line_of(raw, "unless"))
        if REPEAT_GROUP.search(raw["pattern"]):
            raise SchemaIssue(f"{path}.unless", "a repetition rule (a 'repeat' group) cannot have 'unless'",
                              line_of(raw, "unless"))
    return m.Signature(raw["pattern"], float(raw.get("weight", 1.0)), raw.get("note", ""),
                       kind=raw.get("kind", "log"), unless=unless)


def _matcher(raw: Any, path: str, line: int | None) -> m.Matcher:
    if not isinstance(raw, dict):  # shorthand: a scalar means equals
        return m.Matcher(equals=raw, has_equals=True)
    validate_keys(raw, MATCHER_KEYS, path)
    if "matches" in raw:
        _regex(raw["matches"], f"{path}.matches", line_of(raw, "matches"))
    if "version" in raw:
        try:
            parse_range(raw["version"])
        except ValueError as exc:
            raise SchemaIssue(f"{path}.version", str(exc), line_of(raw, "version")) from None
    one_of = raw.get("one_of")
    return m.Matcher(
        equals=raw.get("equals"), not_equals=raw.get("not_equals"),
        one_of=tuple(one_of) if isinstance(one_of, list) else None,
        matches=raw.get("matches"), contains=raw.get("contains"), exists=raw.get("exists"),
        version=raw.get("version"), has_equals="equals" in raw, has_not_equals="not_equals" in raw,
    )


def _matchers(raw: dict[str, Any], path: str) -> tuple[tuple[str, m.Matcher], ...]:
    return tuple((str(k), _matcher(v, f"{path}[{k!r}]", line_of(raw, str(k)))) for k, v in raw.items())


def _statuses(value: int | list[int]) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def build_condition(raw: dict[str, Any], path: str) -> m.Condition:
    validate_keys(raw, WHEN_KEYS, path)
    body = raw.get("body")
    if body is not None:
        _regex(body, f"{path}.body", line_of(raw, "body"))
    return m.Condition(
        status=_statuses(raw["status"]) if "status" in raw else (),
        json=_matchers(raw.get("json", {}), f"{path}.json"),
        body=body,
        values=_matchers(raw.get("values", {}), f"{path}.values"),
    )


def build_remediation(raw: dict[str, Any] | None, path: str) -> m.Remediation:
    if raw is None:
        return m.Remediation()
    validate_keys(raw, REMEDIATION_KEYS, path)
    return m.Remediation(raw.get("text", "").strip(), tuple(raw.get("commands", [])), tuple(raw.get("links", [])),
                         tuple(raw.get("changes", [])))


def build_refs(raw: list[Any], path: str) -> tuple[m.Ref, ...]:
    refs = []
    for i, item in enumerate(raw):
        validate_keys(item, REF_KEYS, f"{path}[{i}]")
        fixed = item.get("fixed_in")
        refs.append(m.Ref(item["project"], item["number"], str(fixed) if fixed else None,
                          item.get("title"), item.get("url")))
    return tuple(refs)


def _diagnosis(raw: dict[str, Any], path: str) -> m.Diagnosis:
    validate_keys(raw, DIAGNOSIS_KEYS, path)
    when = build_condition(raw["when"], f"{path}.when") if "when" in raw else None
    if when is None and not raw.get("name"):
        raise SchemaIssue(path, "a diagnosis needs 'when' (declarative) or 'name' (chosen by a probe)",
                          line_of(raw))
    return m.Diagnosis(
        status=raw["status"], message=raw["message"].strip(), name=raw.get("name"), when=when,
        remediation=build_remediation(raw["remediation"], f"{path}.remediation") if "remediation" in raw else None,
        refs=build_refs(raw.get("refs", []), f"{path}.refs"), line=line_of(raw),
    )


def _request(raw: dict[str, Any], path: str) -> m.HttpRequest:
    validate_keys(raw, REQUEST_KEYS, path)
    headers = raw.get("headers", {})
    for name, value in headers.items():
        if isinstance(value, dict) and set(value) != {"secret"}:
            raise SchemaIssue(f"{path}.headers.{name}", "a header value is a string or {secret: <config key>}",
                              line_of(headers, name))
    return m.HttpRequest(raw.get("method", "GET"), raw["url"], tuple(headers.items()), raw.get("json"),
                         "json" in raw)


def _side_effects(raw: Any, path: str, line: int | None) -> m.SideEffect | None:
    if raw == "none" or raw is None:
        return None
    if isinstance(raw, dict):
        validate_keys(raw, SIDE_EFFECT_KEYS, path)
        return m.SideEffect(raw["kind"], raw["description"].strip(),
                            _matchers(raw.get("none_when", {}), f"{path}.none_when"))
    raise SchemaIssue(path, "side_effects is 'none' or {kind, description}", line)


def build_check(raw: Any, path: str, file: str) -> m.Check:
    validate_keys(raw, CHECK_KEYS, path)
    doc = validate_keys(raw["doc"], DOC_KEYS, f"{path}.doc")
    applies = validate_keys(raw.get("applies_when", {}), APPLIES_KEYS, f"{path}.applies_when")
    expect = validate_keys(raw.get("expect", {}), EXPECT_KEYS, f"{path}.expect")
    extract = raw.get("extract", {})
    for fact, jpath in extract.items():
        if not isinstance(jpath, str) or not jpath.startswith("$"):
            raise SchemaIssue(f"{path}.extract.{fact}", "an extract value is a JSON path starting with '$'",
                              line_of(extract, fact))
    signatures = tuple(_signature(sig, f"{path}.signatures[{i}]") for i, sig in enumerate(raw.get("signatures", [])))
    diagnoses = tuple(_diagnosis(d, f"{path}.diagnoses[{i}]") for i, d in enumerate(raw.get("diagnoses", [])))
    timeout = raw.get("timeout")
    if timeout is not None and not 0 < timeout <= MAX_CHECK_TIMEOUT:  # also false for NaN
        raise SchemaIssue(f"{path}.timeout", f"{timeout!r} is not a number of seconds in (0, {MAX_CHECK_TIMEOUT:g}]",
                          line_of(raw, "timeout"))
    texts = raw.get("texts", {})
    for name, text in texts.items():
        if not isinstance(text, str):
            raise SchemaIssue(f"{path}.texts.{name}", "a text is a string (a message fragment)",
                              line_of(texts, str(name)))
    if "request" not in raw and "probe" not in raw:
        raise SchemaIssue(path, "a check needs 'request' (declarative HTTP) or 'probe' (Python)", line_of(raw))
    return m.Check(
        id=raw["id"], title=raw["title"], stage=raw["stage"],
        doc=m.Doc(doc["what"].strip(), doc["why"].strip(), doc.get("example", "").strip()),
        severity=raw.get("severity", "medium"), tags=tuple(raw.get("tags", [])),
        requires=tuple(raw.get("requires", [])), after=tuple(raw.get("after", [])),
        applies_when=m.AppliesWhen(tuple(applies.get("targets", [])),
                                   _matchers(applies.get("values", {}), f"{path}.applies_when.values")),
        side_effects=_side_effects(raw.get("side_effects"), f"{path}.side_effects", line_of(raw, "side_effects")),
        remediation=build_remediation(raw.get("remediation"), f"{path}.remediation"),
        refs=build_refs(raw.get("refs", []), f"{path}.refs"), signatures=signatures,
        request=_request(raw["request"], f"{path}.request") if "request" in raw else None,
        expect_status=_statuses(expect["status"]) if "status" in expect else (),
        extract=tuple((str(k), str(v)) for k, v in extract.items()), diagnoses=diagnoses,
        probe=raw.get("probe"), timeout=raw.get("timeout"), pass_message=raw.get("pass_message", "").strip(),
        texts=tuple((str(k), v.strip()) for k, v in texts.items()),
        file=file, line=line_of(raw), key_lines=_key_lines(raw, texts),
    )


def _key_lines(raw: Any, texts: dict[str, Any]) -> dict[str, int]:
    lines = dict(getattr(raw, "key_lines", {}))
    for name in texts:
        line = line_of(texts, str(name))
        if line:
            lines[f"texts.{name}"] = line
    return lines


def build_known_issue(raw: Any, path: str, file: str = "") -> m.KnownIssue:
    validate_keys(raw, KNOWN_ISSUE_KEYS, path)
    for key in ("versions",):
        try:
            parse_range(raw[key])
        except ValueError as exc:
            raise SchemaIssue(f"{path}.{key}", str(exc), line_of(raw, key)) from None
    with_ = validate_keys(raw["with"], WITH_KEYS, f"{path}.with") if "with" in raw else None
    fixed = raw.get("fixed_in")
    return m.KnownIssue(
        id=raw["id"], product=raw["product"], versions=raw["versions"], symptom=raw["symptom"].strip(),
        workaround=raw["workaround"].strip(), fixed_in=str(fixed) if fixed else None,
        with_product=with_["product"] if with_ else None, with_versions=with_["versions"] if with_ else None,
        refs=build_refs(raw.get("refs", []), f"{path}.refs"), observed_by=tuple(raw.get("observed_by", [])),
        file=file, line=line_of(raw),
    )


def check_id_of(raw: Any) -> str | None:
    return raw.get("id") if isinstance(raw, LineDict) and isinstance(raw.get("id"), str) else None
