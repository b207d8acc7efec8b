"""The files given with ``--env-file`` / ``--compose-file``, read into the views the config and network checks
judge: which environment each Evolution API process sees (and Chatwoot's, for FRONTEND_URL), with the
``file:line`` of every variable.

Why a view per process ("scope") instead of one merged dictionary: a compose file may run two Evolution
services, and an env file consumed through a service's ``env_file:`` must be judged with that service's
``environment:`` overrides applied, not on its own (one defect, one finding). Parsing is cheap, so each probe
reads the files again instead of sharing mutable state through the run; ``config.files`` is the one check that
reports unreadable files and malformed lines, and the others require it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evodiag.envfiles import (
    CHATWOOT_MARKER_NAMES,
    EVOLUTION_MARKER_NAMES,
    WRONG_NAMES,
    ComposeFile,
    ComposeService,
    EnvFile,
    EnvFileError,
    EnvProblem,
    EnvVar,
    Product,
    is_known_evolution_name,
    parse_compose,
    parse_dotenv,
)

# Problems that mean a line was not used as written; ``unset-variable`` is handled apart (evodiag cannot see
# the shell that runs compose, so such a value is unknown rather than wrong).
MALFORMED_CODES = frozenset({
    "no-equals", "bad-name", "unterminated-quote", "trailing-text", "invalid-utf8", "bad-interpolation",
    "env-file-missing", "env-file-unreadable", "bad-entry",
})


@dataclass
class Scope:
    """The environment one process sees. ``where`` names the place to add a missing variable."""

    product: Product
    label: str
    variables: dict[str, EnvVar]
    anchor: str  # file:line a finding about a missing variable points at
    where: str  # human description of where to add a variable
    version: str | None = None  # from the compose image tag, when known
    image: str | None = None
    compose: ComposeFile | None = None
    service: ComposeService | None = None

    def get(self, name: str) -> EnvVar | None:
        return self.variables.get(name)

    def value(self, name: str) -> str | None:
        var = self.variables.get(name)
        return var.value if var else None

    def unknown(self, name: str) -> bool:
        """True when the value comes from a ``${VAR}`` evodiag could not resolve (the compose shell's)."""
        var = self.variables.get(name)
        return bool(var and var.value == "" and var.template and "$" in var.template)

    @property
    def generation(self) -> int | None:
        """1 or 2 when the image tag says so; ``None`` when unknown."""
        if not self.version:
            return None
        head = self.version.split(".", 1)[0]
        return int(head) if head.isdigit() else None


@dataclass
class ConfigSources:
    env_files: list[EnvFile] = field(default_factory=list)
    compose_files: list[ComposeFile] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    problems: list[EnvProblem] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # env files that are neither Evolution's nor Chatwoot's

    @property
    def evolution(self) -> list[Scope]:
        return [s for s in self.scopes if s.product is Product.EVOLUTION]

    @property
    def chatwoot(self) -> list[Scope]:
        return [s for s in self.scopes if s.product is Product.CHATWOOT]

    @property
    def paths(self) -> list[str]:
        return [e.path for e in self.env_files] + [c.path for c in self.compose_files]

    def internal_names(self) -> set[str]:
        """Names that only resolve on the compose network (service, container, alias names)."""
        names: set[str] = set()
        for compose in self.compose_files:
            names |= compose.internal_hostnames()
        return names

    def chatwoot_wired(self) -> ComposeService | None:
        """A Chatwoot service in a compose file that also runs Evolution API: the integration is intended."""
        for compose in self.compose_files:
            if compose.evolution is not None and compose.chatwoot is not None:
                return compose.chatwoot
        return None


def _product_of(env: EnvFile) -> Product | None:
    """Evolution's, Chatwoot's or neither, from the names it sets."""
    names = {v.name for v in env.variables}
    evolution = bool(names & EVOLUTION_MARKER_NAMES) or any(
        is_known_evolution_name(n) or n.upper() in WRONG_NAMES or n.startswith("CHATWOOT_") for n in names)
    if names & CHATWOOT_MARKER_NAMES and not names & EVOLUTION_MARKER_NAMES:
        return Product.CHATWOOT
    return Product.EVOLUTION if evolution else None


def _service_scope(compose: ComposeFile, svc: ComposeService, product: Product) -> Scope:
    where = f"{Path(compose.path).name} (service {svc.name}, `environment:`)"
    if svc.env_files:
        where += f" or {svc.env_files[0].declared}"
    return Scope(product, f"{compose.path}: service {svc.name}", dict(svc.environment), svc.origin, where,
                 version=svc.version, image=svc.image, compose=compose, service=svc)


def _dedupe(problems: Iterable[EnvProblem]) -> list[EnvProblem]:
    seen: dict[tuple[str, int, str], EnvProblem] = {}
    for p in problems:
        seen.setdefault((str(Path(p.file).resolve()), p.line, p.code), p)
    return sorted(seen.values(), key=lambda p: (p.file, p.line))


def load_sources(env_paths: Sequence[str], compose_paths: Sequence[str]) -> ConfigSources:
    """Read every file; an unreadable file lands in ``errors`` (one line each), never raises."""
    out = ConfigSources()
    problems: list[EnvProblem] = []
    consumed: set[Path] = set()
    for path in compose_paths:
        try:
            compose = parse_compose(path)
        except EnvFileError as exc:
            out.errors.append(str(exc))
            continue
        out.compose_files.append(compose)
        problems.extend(compose.problems)
        for product in (Product.EVOLUTION, Product.CHATWOOT):
            services = compose.by_product(product)
            if product is Product.CHATWOOT:  # one Chatwoot view is enough (sidekiq shares the env)
                primary = compose.primary(product)
                services = [primary] if services and primary is not None else []
            for svc in services:
                out.scopes.append(_service_scope(compose, svc, product))
                consumed |= {Path(ref.path).resolve() for ref in svc.env_files}
    for path in env_paths:
        try:
            env = parse_dotenv(path)
        except EnvFileError as exc:
            out.errors.append(str(exc))
            continue
        out.env_files.append(env)
        problems.extend(env.problems)
        if Path(path).resolve() in consumed:
            continue  # judged through the compose service that loads it
        env_product = _product_of(env)
        if env_product is None:
            out.ignored.append(env.path)
            continue
        out.scopes.append(Scope(env_product, env.path, env.as_dict(), f"{env.path}:1", env.path))
    out.problems = _dedupe(problems)
    return out


def sources_from_settings(env_paths: object, compose_paths: object) -> ConfigSources:
    """``files.env`` / ``files.compose`` settings (lists of paths, or absent)."""

    def as_list(value: object) -> list[str]:
        if not value:
            return []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]

    return load_sources(as_list(env_paths), as_list(compose_paths))


def shown(problem: EnvProblem) -> str:
    """``file:line: message``. The parser never quotes the value part of a broken line (values can be secrets),
    so its messages are safe to show as they are."""
    return str(problem)


def problems_about(sources: ConfigSources, name: str) -> list[str]:
    """Malformed lines that mention ``name``: a variable missing because its line could not be parsed."""
    return [shown(p) for p in sources.problems if p.code in MALFORMED_CODES and name in p.message]


def s3_url(scope: Scope) -> str | None:
    """Evolution's S3 endpoint as a URL: S3_ENDPOINT is a host (with S3_PORT, S3_USE_SSL) or a full URL."""
    if scope.value("S3_ENABLED") != "true" or not (scope.value("S3_ENDPOINT") or "").strip():
        return None
    endpoint = (scope.value("S3_ENDPOINT") or "").strip()
    if "://" in endpoint:
        return endpoint
    scheme = "https" if scope.value("S3_USE_SSL") == "true" else "http"
    port = (scope.value("S3_PORT") or "").strip()
    return f"{scheme}://{endpoint}" + (f":{port}" if port else "")
