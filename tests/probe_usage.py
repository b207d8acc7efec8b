"""Which catalog names each probe function uses, read from the source with ``ast`` (not from its declaration).

For every function in ``evodiag/probes/*.py`` and the helper packages probes call into: the first argument of
``ctx.diagnose`` / ``Finding`` (diagnoses), ``ctx.text`` (texts), ``ctx.value`` (reads) and ``ctx.publish``
(publishes), then the same for every function it calls, transitively. An argument that is a variable counts the
string literals assigned to it in that function (and those of module-level tables it looks up); ``loose`` marks
those, since they may include strings that are not names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "evodiag"
SCANNED = ("probes", "webhook")
KINDS = {"diagnose": "diagnoses", "Finding": "diagnoses", "text": "texts", "value": "reads", "publish": "publishes"}


@dataclass
class Usage:
    exact: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in set(KINDS.values())})
    loose: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in set(KINDS.values())})
    calls: set[str] = field(default_factory=set)  # "module:function"
    mentioned: set[str] = field(default_factory=set)  # every string literal, incl. module tables it names


def _strings(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub.value


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


class _Module:
    def __init__(self, path: Path) -> None:
        self.name = _module_name(path)
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.tables: dict[str, ast.AST] = {}
        self.imports: dict[str, str] = {}  # local name -> "module:function" or "module"
        for node in self.tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.tables[target.id] = node.value
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("evodiag."):
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{node.module}:{alias.name}"
        self.functions = {n.name: n for n in self.tree.body
                          if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _kind_of(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ("diagnose", "text", "value", "publish") \
            and isinstance(func.value, ast.Name) and func.value.id == "ctx":
        return KINDS[func.attr]
    if isinstance(func, ast.Name) and func.id == "Finding":
        return "diagnoses"
    return None


def _usage(module: _Module, func: ast.AST) -> Usage:
    usage = Usage()
    assigned: dict[str, list[ast.AST]] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, (ast.Name, ast.Tuple)):
            names = [node.target] if isinstance(node.target, ast.Name) else node.target.elts
            for name in names:
                if isinstance(name, ast.Name):
                    assigned.setdefault(name.id, []).append(node.iter)
    usage.mentioned.update(_strings(func))
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and node.id in module.tables:
            usage.mentioned.update(_strings(module.tables[node.id]))
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if isinstance(target, ast.Name) and target.id in module.functions:
            usage.calls.add(f"{module.name}:{target.id}")
        elif isinstance(target, ast.Name) and target.id in module.imports:
            usage.calls.add(module.imports[target.id])
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                and target.value.id in module.imports:
            usage.calls.add(f"{module.imports[target.value.id].replace(':', '.')}:{target.attr}")
        kind = _kind_of(node)
        if kind is None or not node.args:
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            usage.exact[kind].add(arg.value)
            continue
        sources: list[ast.AST] = [arg]
        if isinstance(arg, ast.Name):
            sources += assigned.get(arg.id, [])
        for source in list(sources):
            for sub in ast.walk(source):
                if isinstance(sub, ast.Name):
                    sources += assigned.get(sub.id, [])
                    if sub.id in module.tables:
                        sources.append(module.tables[sub.id])
        for source in sources:
            usage.loose[kind].update(_strings(source))
    return usage


def scan() -> dict[str, Usage]:
    """"evodiag.probes.evolution:reachable" -> what it uses itself (calls not yet followed)."""
    found: dict[str, Usage] = {}
    for folder in SCANNED:
        for path in sorted((PACKAGE / folder).glob("*.py")):
            module = _Module(path)
            for name, func in module.functions.items():
                found[f"{module.name}:{name}"] = _usage(module, func)
    return found


def used_by(ref: str, table: dict[str, Usage] | None = None) -> Usage:
    """Everything ``evodiag.probes.<module>:<function>`` uses, following calls transitively."""
    table = table if table is not None else scan()
    total = Usage()
    todo, seen = [ref], set()
    while todo:
        current = todo.pop()
        if current in seen or current not in table:
            continue
        seen.add(current)
        usage = table[current]
        for kind in total.exact:
            total.exact[kind] |= usage.exact[kind]
            total.loose[kind] |= usage.loose[kind]
        total.mentioned |= usage.mentioned
        todo.extend(usage.calls)
    return total
