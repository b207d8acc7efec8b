"""Read a docker-compose file the way ``docker compose`` would build each container's environment.

Why: most Evolution API / Chatwoot problems are configuration (CHATWOOT_ENABLED, SERVER_URL, the global
webhook, FRONTEND_URL), and the compose file plus its ``env_file``s is where that configuration lives. Each effective
variable keeps the ``file:line`` it came from, so a finding can say "docker-compose.yml:14" or ".env:3".

Decisions (compose semantics as evodiag models them):

* Per service, ``env_file`` files are applied in order (a later file wins), then ``environment:`` wins
  over all of them. ``env_file`` paths are relative to the compose file's directory; ``required: false``
  files may be missing (compose ≥ 2.24); a missing required file is an ``env-file-missing`` problem,
  not an exception.
* ``environment:`` as a map keeps YAML's *text* for scalars (``8080`` → ``"8080"``, ``yes`` → ``"yes"`` as in
  YAML 1.2); booleans are lower-cased (``True`` → ``"true"``), like compose.
* ``- KEY`` / ``KEY:`` (no value) takes the value from the shell running compose. evodiag resolves it from
  ``environ`` (default: nothing) and the project ``.env``; when unresolved, the name goes to
  ``ComposeService.passthrough`` and is removed from ``environment`` (docker leaves such a variable unset).
* ``${VAR}`` in compose values is interpolated from ``environ`` first, then the project ``.env`` next to the
  compose file (compose's precedence); ``$$`` is a literal ``$``. Unset names become ``""`` and are
  reported as ``unset-variable`` problems.
* YAML anchors, aliases and ``<<`` merge keys are followed. ``extends``/``include`` are not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from evodiag import boundedyaml
from evodiag.envfiles.dotenv import NAME_RE, parse_dotenv, read_text
from evodiag.envfiles.images import ImageInfo, Product, parse_image
from evodiag.envfiles.interpolate import interpolate
from evodiag.envfiles.known import CHATWOOT_MARKER_NAMES, EVOLUTION_MARKER_NAMES, OPENIM_MARKER_PREFIX
from evodiag.envfiles.model import ComposeError, EnvFile, EnvFileError, EnvProblem, EnvVar


@dataclass(frozen=True)
class PortMapping:
    """One ``ports:`` entry; ``published``/``host_ip`` are ``None`` when not given (random port / all IPs)."""

    target: str
    published: str | None
    host_ip: str | None
    protocol: str
    line: int
    raw: str


@dataclass(frozen=True)
class EnvFileRef:
    """One ``env_file:`` entry: where it points, whether it must exist, and whether it was found."""

    declared: str
    path: str
    required: bool
    found: bool
    line: int


@dataclass
class ComposeService:
    """One service with its effective environment. ``product`` is the guess, ``product_reason`` says why."""

    name: str
    file: str
    line: int
    image: str | None = None
    image_info: ImageInfo | None = None
    product: Product | None = None
    product_reason: str = ""
    environment: dict[str, EnvVar] = field(default_factory=dict)
    passthrough: dict[str, EnvVar] = field(default_factory=dict)
    env_files: list[EnvFileRef] = field(default_factory=list)
    ports: list[PortMapping] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    container_name: str | None = None
    hostname: str | None = None
    command: str | None = None

    @property
    def version(self) -> str | None:
        """Version guessed from the image tag (a hint: ``latest`` gives ``None``)."""
        return self.image_info.version if self.image_info else None

    @property
    def origin(self) -> str:
        return f"{self.file}:{self.line}"

    def get(self, name: str) -> EnvVar | None:
        return self.environment.get(name)

    def value(self, name: str, default: str | None = None) -> str | None:
        var = self.environment.get(name)
        return var.value if var else default

    @property
    def hostnames(self) -> set[str]:
        """Names other containers on the same compose network can use to reach this one."""
        names = {self.name, *self.aliases}
        names.update(n for n in (self.container_name, self.hostname) if n)
        return names


@dataclass
class ComposeFile:
    """A parsed compose file. ``problems`` include those of every ``env_file`` and the project ``.env``."""

    path: str
    services: dict[str, ComposeService] = field(default_factory=dict)
    networks: list[str] = field(default_factory=list)
    problems: list[EnvProblem] = field(default_factory=list)
    project_env: EnvFile | None = None
    env_files: dict[str, EnvFile] = field(default_factory=dict)

    def by_product(self, product: Product | str) -> list[ComposeService]:
        p = Product(product)
        return [s for s in self.services.values() if s.product is p]

    def primary(self, product: Product | str) -> ComposeService | None:
        """The service to talk to for ``product``: not a worker (e.g. Chatwoot's sidekiq), ports first."""
        candidates = self.by_product(product)
        if not candidates:
            return None

        def rank(s: ComposeService) -> tuple[int, int]:
            worker = int("sidekiq" in (s.command or "").lower() or "sidekiq" in s.name.lower())
            return (worker, int(not s.ports))

        return sorted(candidates, key=rank)[0]

    @property
    def evolution(self) -> ComposeService | None:
        return self.primary(Product.EVOLUTION)

    @property
    def chatwoot(self) -> ComposeService | None:
        return self.primary(Product.CHATWOOT)

    @property
    def openim(self) -> ComposeService | None:
        return self.primary(Product.OPENIM)

    def internal_hostnames(self) -> set[str]:
        """Every name that resolves only inside this project's networks (service names, aliases, ...)."""
        names: set[str] = set()
        for s in self.services.values():
            names |= s.hostnames
        return names


# --------------------------------------------------------------------------- YAML helpers


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag.endswith(":null")


def _scalar_text(node: ScalarNode) -> str:
    """A scalar as compose sees it as a string: YAML text, booleans lower-cased."""
    if node.tag.endswith(":bool") and node.value.lower() in ("true", "false"):
        return node.value.lower()
    return node.value


def _items(node: Node) -> Iterator[tuple[str, Node, Node]]:
    """(key text, key node, value node) of a mapping node; merge keys were flattened at load time."""
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode):
                yield k.value, k, v


def _get(node: Node, key: str) -> Node | None:
    found = None
    for k, _, v in _items(node):
        if k == key:
            found = v  # the last one wins, like YAML loaders do
    return found


def _flatten_all(loader: yaml.SafeLoader, node: Node, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        loader.flatten_mapping(node)
        for k, v in node.value:
            _flatten_all(loader, k, seen)
            _flatten_all(loader, v, seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _flatten_all(loader, item, seen)


def load_yaml_nodes(path: str, text: str) -> Node | None:
    """Compose ``text`` into a node tree (line numbers kept; bounded, see :mod:`evodiag.boundedyaml`); malformed
    or oversized YAML → :class:`ComposeError`."""
    try:
        root, loader = boundedyaml.compose(text)
    except boundedyaml.YamlInputError as exc:
        raise ComposeError(path, exc.problem, exc.line) from None
    try:
        if root is not None:
            _flatten_all(loader, root, set())
    except yaml.MarkedYAMLError as exc:  # a merge key ('<<') on something that is not a mapping
        mark = exc.problem_mark or exc.context_mark
        raise ComposeError(path, f"invalid YAML: {exc.problem or exc.context}", mark.line + 1 if mark else None) \
            from None
    finally:
        loader.dispose()
    return root


# --------------------------------------------------------------------------- the parser


class _ComposeReader:
    def __init__(self, path: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.base = Path(path).parent
        self.environ = dict(environ)
        self.result = ComposeFile(path=path)
        self.project_values: dict[str, str] = {}
        self._parsed: dict[str, EnvFile | EnvFileError] = {}

    # -- interpolation
    def lookup(self, name: str) -> str | None:
        if name in self.environ:
            return self.environ[name]
        return self.project_values.get(name)

    def expand(self, text: str, line: int, what: str) -> str:
        res = interpolate(text, self.lookup)
        for name in res.unset:
            self.problem(line, "unset-variable", f"{what}: variable {name} is not set; compose uses ''")
        for err in res.errors:
            self.problem(line, "bad-interpolation", f"{what}: {err}")
        return res.value

    def problem(self, line: int, code: str, message: str, file: str | None = None) -> None:
        self.result.problems.append(EnvProblem(file or self.path, line, code, message))

    # -- env files
    def load_project_env(self) -> None:
        dotenv = self.base / ".env"
        if not dotenv.is_file():
            return
        try:
            env = parse_dotenv(dotenv, interpolate=True, environ=self.environ)
        except EnvFileError as exc:
            self.problem(1, "env-file-unreadable", exc.message, file=str(dotenv))
            return
        self.result.project_env = env
        self.project_values = env.values()
        self._parsed[str(dotenv.resolve())] = env
        self.result.env_files[str(dotenv)] = env
        self.result.problems.extend(env.problems)

    def env_file(self, path: Path) -> EnvFile | EnvFileError:
        key = str(path.resolve())
        if key not in self._parsed:
            merged = {**self.project_values, **self.environ}
            try:
                env = parse_dotenv(path, interpolate=True, environ=merged)
                self.result.env_files[str(path)] = env
                self.result.problems.extend(env.problems)
                self._parsed[key] = env
            except EnvFileError as exc:
                self._parsed[key] = exc
        return self._parsed[key]

    def env_file_refs(self, node: Node | None) -> list[tuple[str, bool, int]]:
        if node is None or _is_null(node):
            return []
        entries = node.value if isinstance(node, SequenceNode) else [node]
        refs: list[tuple[str, bool, int]] = []
        for item in entries:
            if isinstance(item, ScalarNode) and not _is_null(item):
                refs.append((item.value, True, _line(item)))
            elif isinstance(item, MappingNode) and (p := _get(item, "path")) is not None:
                req = _get(item, "required")
                required = not (isinstance(req, ScalarNode) and req.value.lower() in ("false", "no", "off"))
                refs.append((p.value if isinstance(p, ScalarNode) else "", required, _line(item)))
            else:
                self.problem(_line(item), "bad-entry", "env_file entry must be a path or {path: ...}")
        return refs

    # -- sections
    def environment(self, node: Node | None, svc: str) -> list[tuple[EnvVar, bool]]:
        """(variable, resolved) per entry; ``resolved`` is False for a bare ``KEY`` the shell must supply."""
        out: list[tuple[EnvVar, bool]] = []
        if node is None or _is_null(node):
            return out
        if isinstance(node, SequenceNode):
            pairs: list[tuple[str, Node, Node | None, str | None]] = []
            for item in node.value:
                if not isinstance(item, ScalarNode):
                    self.problem(_line(item), "bad-entry", f"{svc}: environment entry must be KEY=value")
                    continue
                key, eq, value = item.value.partition("=")
                pairs.append((key.strip(), item, item, value if eq else None))
        elif isinstance(node, MappingNode):
            pairs = []
            for key, knode, value_node in _items(node):
                if _is_null(value_node):
                    pairs.append((key, knode, None, None))
                elif isinstance(value_node, ScalarNode):
                    pairs.append((key, knode, value_node, _scalar_text(value_node)))
                else:
                    self.problem(_line(knode), "bad-entry", f"{svc}: {key} must be a string, number or bool")
        else:
            self.problem(_line(node), "bad-entry", f"{svc}: environment must be a list or a mapping")
            return out
        for key, knode, vnode, value in pairs:
            line = _line(knode)
            if not NAME_RE.match(key):
                self.problem(line, "bad-name", f"{svc}: invalid variable name {key!r}")
                continue
            quote = vnode.style if isinstance(vnode, ScalarNode) and vnode.style in ("'", '"') else ""
            if value is None:
                inherited = self.lookup(key)
                var = EnvVar(key, inherited or "", self.path, line, source="environment", inherited=True)
                out.append((var, inherited is not None))
                continue
            expanded = self.expand(value, line, f"{svc}: {key}")
            var = EnvVar(key, expanded, self.path, line, quote=quote, template=value, source="environment")
            out.append((var, True))
        return out

    def ports(self, node: Node | None, svc: str) -> list[PortMapping]:
        out: list[PortMapping] = []
        if not isinstance(node, SequenceNode):
            return out
        for item in node.value:
            line = _line(item)
            if isinstance(item, ScalarNode):
                raw = self.expand(item.value, line, f"{svc}: ports")
                pm = _parse_short_port(raw, line)
                if pm is None:
                    self.problem(line, "bad-entry", f"{svc}: cannot parse port mapping {raw!r}")
                else:
                    out.append(pm)
            elif isinstance(item, MappingNode):
                vals = {
                    k: self.expand(v.value, line, f"{svc}: ports")
                    for k, _, v in _items(item)
                    if isinstance(v, ScalarNode) and not _is_null(v)
                }
                if "target" not in vals:
                    self.problem(line, "bad-entry", f"{svc}: port mapping without target")
                    continue
                out.append(
                    PortMapping(
                        vals["target"],
                        vals.get("published"),
                        vals.get("host_ip"),
                        vals.get("protocol", "tcp"),
                        line,
                        str(vals),
                    )
                )
        return out

    def service(self, name: str, knode: Node, node: Node) -> ComposeService:
        svc = ComposeService(name=name, file=self.path, line=_line(knode))
        image = _get(node, "image")
        if isinstance(image, ScalarNode) and not _is_null(image):
            svc.image = self.expand(image.value, _line(image), f"{name}: image")
            svc.image_info = parse_image(svc.image)
        for attr in ("container_name", "hostname"):
            v = _get(node, attr)
            if isinstance(v, ScalarNode) and not _is_null(v):
                setattr(svc, attr, self.expand(v.value, _line(v), f"{name}: {attr}"))
        command = _get(node, "command")
        if isinstance(command, ScalarNode):
            svc.command = command.value
        elif isinstance(command, SequenceNode):
            svc.command = " ".join(i.value for i in command.value if isinstance(i, ScalarNode))
        svc.ports = self.ports(_get(node, "ports"), name)
        nets = _get(node, "networks")
        if isinstance(nets, SequenceNode):
            svc.networks = [i.value for i in nets.value if isinstance(i, ScalarNode)]
        elif isinstance(nets, MappingNode):
            for net, _, cfg in _items(nets):
                svc.networks.append(net)
                aliases = _get(cfg, "aliases")
                if isinstance(aliases, SequenceNode):
                    svc.aliases.extend(i.value for i in aliases.value if isinstance(i, ScalarNode))

        effective: dict[str, EnvVar] = {}
        for declared, required, line in self.env_file_refs(_get(node, "env_file")):
            declared = self.expand(declared, line, f"{name}: env_file")
            path = Path(declared) if os.path.isabs(declared) else self.base / declared
            parsed = self.env_file(path) if path.is_file() or required else None
            found = isinstance(parsed, EnvFile)
            svc.env_files.append(EnvFileRef(declared, str(path), required, found, line))
            if isinstance(parsed, EnvFileError):
                code = "env-file-missing" if not path.exists() else "env-file-unreadable"
                self.problem(line, code, f"{name}: env_file {declared}: {parsed.message}")
            elif isinstance(parsed, EnvFile):
                effective.update(parsed.as_dict())
        for var, resolved in self.environment(_get(node, "environment"), name):
            if not resolved:
                effective.pop(var.name, None)
                svc.passthrough[var.name] = var
            else:
                effective[var.name] = var
                svc.passthrough.pop(var.name, None)
        svc.environment = effective
        svc.product, svc.product_reason = _identify(svc)
        return svc

    def read(self) -> ComposeFile:
        text, _, bad_lines = read_text(self.path)
        for n in bad_lines:
            self.problem(n, "invalid-utf8", "invalid UTF-8 bytes replaced with U+FFFD")
        root = load_yaml_nodes(self.path, text)
        if root is None:
            raise ComposeError(self.path, "empty file: no services")
        if not isinstance(root, MappingNode):
            raise ComposeError(self.path, "top level must be a mapping with a 'services:' key", _line(root))
        services = _get(root, "services")
        if services is None:
            raise ComposeError(self.path, "no 'services:' section (is this a compose file?)", _line(root))
        if not isinstance(services, MappingNode):
            raise ComposeError(self.path, "'services:' must be a mapping of service names", _line(services))
        self.load_project_env()
        nets = _get(root, "networks")
        self.result.networks = [k for k, _, _ in _items(nets)] if nets is not None else []
        for name, knode, vnode in _items(services):
            if not isinstance(vnode, MappingNode):
                self.problem(_line(knode), "bad-entry", f"service {name!r} must be a mapping")
                continue
            self.result.services[name] = self.service(name, knode, vnode)
        return self.result


def _parse_short_port(raw: str, line: int) -> PortMapping | None:
    text = raw.strip()
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
    host_ip: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host_ip, text = text[1:end], text[end + 1 :].lstrip(":")
        parts = text.split(":")
        if len(parts) != 2:
            return None
        return PortMapping(parts[1], parts[0] or None, host_ip, protocol, line, raw)
    parts = text.split(":")
    if len(parts) == 1:
        published, target = None, parts[0]
    elif len(parts) == 2:
        published, target = parts
    elif len(parts) == 3:
        host_ip, published, target = parts
    else:
        return None
    if not target:
        return None
    return PortMapping(target, published or None, host_ip or None, protocol, line, raw)


def _identify(svc: ComposeService) -> tuple[Product | None, str]:
    if svc.image_info and svc.image_info.product:
        return svc.image_info.product, f"image {svc.image}"
    keys = set(svc.environment) | set(svc.passthrough)
    hits = {
        Product.EVOLUTION: sorted(keys & EVOLUTION_MARKER_NAMES),
        Product.CHATWOOT: sorted(keys & CHATWOOT_MARKER_NAMES),
        Product.OPENIM: sorted(k for k in keys if k.startswith(OPENIM_MARKER_PREFIX)),
    }
    best = max(hits, key=lambda p: len(hits[p]))  # ties: first in the order above
    if not hits[best]:
        return None, ""
    return best, "environment sets " + ", ".join(hits[best][:3])


def parse_compose(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> ComposeFile:
    """Parse a compose file and its ``env_file``s; ``environ`` stands for the shell running compose.

    Raises :class:`EnvFileError` (missing/unreadable file) or :class:`ComposeError` (malformed YAML, not a
    compose document); everything else is reported in ``ComposeFile.problems``.
    """
    return _ComposeReader(str(path), environ or {}).read()
