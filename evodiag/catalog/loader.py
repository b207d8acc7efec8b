"""Load the default catalog (``checks.yaml``) plus any ``--catalog`` files, merge them by check id, and
validate the whole: schema, unknown ``requires``, dependency cycles, duplicate ids."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from evodiag.catalog import schema
from evodiag.catalog.model import STAGES, Catalog, Check, KnownIssue
from evodiag.catalog.names import check_names, did_you_mean
from evodiag.catalog.yamlsource import line_of, load_yaml, read_yaml_file
from evodiag.errors import CatalogError
from evodiag.probes.declare import ProbeSpec, all_probes, resolve


def spec_of(ref: str) -> ProbeSpec:
    """The declaration of the probe a check names (imports its module, as running it would)."""
    return resolve(ref)[1]


def default_catalog_path() -> Path:
    """The packaged ``evodiag/checks.yaml`` in a wheel; the repo-root ``checks.yaml`` in a source checkout."""
    packaged = resources.files("evodiag").joinpath("checks.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "checks.yaml"


def _includes(data: Any, file: str) -> list[tuple[Path, int | None]]:
    """The area files a catalog file includes, resolved relative to it, with the line naming each; each must
    exist."""
    if not isinstance(data, dict) or not data.get("include"):
        return []
    listed = data["include"]
    key_line = line_of(data, "include")
    paths = []
    for i, name in enumerate(listed):
        # Block style puts entry i on the line after the key plus i; flow style keeps them on the key's line.
        line = key_line + 1 + i if key_line and getattr(listed, "line", key_line) > key_line else key_line
        path = Path(file).parent / name
        if not path.is_file():
            raise CatalogError(f"include[{i}]: no such file {name!r} (relative to this file)", file=file, line=line)
        paths.append((path, line))
    return paths


def _read_with_includes(path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[Any, str]]:
    """The parsed file followed by its includes, depth first, in order; an include cycle is an error."""
    data = read_yaml_file(path)
    _validate_top(data, str(path))
    parsed: list[tuple[Any, str]] = [(data, str(path))]
    chain = (*seen, path.resolve())
    for included, line in _includes(data, str(path)):
        if included.resolve() in chain:
            cycle = " -> ".join(p.name for p in (*chain, included.resolve()))
            raise CatalogError(f"include cycle: {cycle}", file=str(path), line=line)
        parsed.extend(_read_with_includes(included, chain))
    return parsed


def _validate_top(data: Any, file: str) -> None:
    if data is None:
        return
    try:
        schema.validate_keys(data, schema.TOP_KEYS, "catalog")
    except schema.SchemaIssue as issue:
        raise CatalogError(f"{issue.path}: {issue.message}", file=file, line=issue.line) from None
    version = data.get("version", schema.CATALOG_VERSION)
    if version != schema.CATALOG_VERSION:
        raise CatalogError(f"catalog version {version} is not supported: this evodiag reads version "
                           f"{schema.CATALOG_VERSION} (a newer catalog needs a newer evodiag)", file=file,
                           line=line_of(data, "version"))


def _parse_file(data: Any, file: str) -> tuple[list[Check], list[KnownIssue]]:
    if data is None:
        return [], []
    _validate_top(data, file)
    checks: list[Check] = []
    seen: dict[str, int | None] = {}
    for i, raw in enumerate(data.get("checks", [])):
        check_id = schema.check_id_of(raw)
        try:
            check = schema.build_check(raw, f"checks[{i}]", file)
        except schema.SchemaIssue as issue:
            raise CatalogError(f"{issue.path}: {issue.message}", file=file, line=issue.line,
                               check_id=check_id) from None
        if check.id in seen:
            raise CatalogError(f"duplicate id (first defined at line {seen[check.id]})", file=file,
                               line=check.line, check_id=check.id)
        seen[check.id] = check.line
        checks.append(check)
    issues: list[KnownIssue] = []
    for i, raw in enumerate(data.get("known_issues", [])):
        try:
            issues.append(schema.build_known_issue(raw, f"known_issues[{i}]", file))
        except schema.SchemaIssue as issue:
            raise CatalogError(f"{issue.path}: {issue.message}", file=file, line=issue.line) from None
    return checks, issues


def _validate_graph(checks: dict[str, Check]) -> None:
    for check in checks.values():
        for key, deps in (("requires", check.requires), ("after", check.after)):
            for dep in deps:
                if dep not in checks:
                    raise CatalogError(f"{key} unknown check {dep!r}{did_you_mean(dep, checks)}", file=check.file,
                                       line=check.line_of(key), check_id=check.id)
                if STAGES.index(checks[dep].stage) > STAGES.index(check.stage):
                    raise CatalogError(f"{key} {dep!r}, which runs in a later stage ({checks[dep].stage})",
                                       file=check.file, line=check.line, check_id=check.id)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(check_id: str, path: list[str]) -> None:
        if state.get(check_id) == 2:
            return
        if state.get(check_id) == 1:
            cycle = " -> ".join([*path[path.index(check_id):], check_id])
            check = checks[check_id]
            raise CatalogError(f"dependency cycle: {cycle}", file=check.file, line=check.line, check_id=check_id)
        state[check_id] = 1
        for dep in (*checks[check_id].requires, *checks[check_id].after):
            visit(dep, [*path, check_id])
        state[check_id] = 2

    for check_id in checks:
        visit(check_id, [])


def load_catalog(extra: list[Path] | None = None, *, include_default: bool = True) -> Catalog:
    """Default catalog first; each extra file adds checks or replaces same-id checks."""
    files = ([default_catalog_path()] if include_default else []) + list(extra or [])
    checks: dict[str, Check] = {}
    known: dict[str, KnownIssue] = {}
    sources: list[str] = []
    for path in files:
        # Ids are unique within one file and its includes; a later --catalog file may replace them.
        first_defined: dict[str, Check] = {}
        for data, file in _read_with_includes(path):
            sources.append(file)
            file_checks, file_issues = _parse_file(data, file)
            for check in file_checks:
                if check.id in first_defined:
                    first = first_defined[check.id]
                    raise CatalogError(f"duplicate id (first defined at {first.file}:{first.line})", file=file,
                                       line=check.line, check_id=check.id)
                first_defined[check.id] = check
                checks[check.id] = check
            for issue in file_issues:
                known[issue.id] = issue
    _validate_graph(checks)
    catalog = Catalog(checks, tuple(known.values()), tuple(sources))
    check_names(catalog, spec_of, all_probes())
    return catalog


def load_catalog_text(text: str, file: str = "<text>") -> Catalog:
    """Parse one catalog from text (tests, and validation of user files)."""
    checks, issues = _parse_file(load_yaml(text, file), file)
    by_id = {c.id: c for c in checks}
    _validate_graph(by_id)
    catalog = Catalog(by_id, tuple(issues), (file,))
    check_names(catalog, spec_of, all_probes())
    return catalog
