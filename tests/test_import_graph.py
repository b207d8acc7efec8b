"""The evodiag package has no import cycles: not at module level, not inside functions, not under
``TYPE_CHECKING``. Built from the source with ``ast``, so an import hidden inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import evodiag

PACKAGE_DIR = Path(evodiag.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``)."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ["evodiag", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _owner(name: str, modules: dict[str, tuple[Path, bool]]) -> str | None:
    """The module that ``name`` (a module, or a name inside one) lives in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Module -> the evodiag modules it imports anywhere in its source (``from pkg import sub`` is an edge to
    ``pkg.sub`` when ``sub`` is a module, else to ``pkg``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name.split(".") if is_package else name.split(".")[:-1]
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join([*package, *([node.module] if node.module else [])])
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                owner = _owner(target, modules) if target.startswith("evodiag") else None
                if owner and owner != name:
                    edges.add(owner)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, …, a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(graph):
        if state.get(root):
            continue
        path = [root]
        stack = [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_graph_sees_imports_everywhere() -> None:
    graph = import_graph()
    assert len(graph) > 100
    # module-level, function-level and relative forms are all edges
    assert "evodiag.lab.evolution.state" in graph["evodiag.lab.evolution.app"]
    assert "evodiag.lab.runtime" in graph["evodiag.commands.demo"]  # imported inside the command function
    assert "evodiag.lab.evolution.routes.instance" in graph["evodiag.lab.evolution.app"]  # `from pkg import mod`


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_the_cli_imports_the_command_layer() -> None:
    """Commands sit on top: the engine, lab, bundle and triage never import ``evodiag.commands`` upward."""
    upward = sorted(f"{module} -> {target}" for module, targets in import_graph().items() for target in targets
                    if target.startswith("evodiag.commands") and not module.startswith("evodiag.commands")
                    and module != "evodiag.cli")
    assert upward == []
