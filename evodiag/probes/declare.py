"""``@probe(...)``: what a probe function uses from the catalog, declared next to its code.

Why: a probe picks catalog diagnoses and texts by name, fills placeholders in their wording, reads settings and
facts, and publishes facts for later checks. Declaring those names lets the catalog loader verify every one of
them when the catalog loads (a typo or a dropped diagnosis is a catalog error with ``file:line``, exit 2) instead
of surfacing as "probe crashed: KeyError" in a user's run. :class:`~evodiag.engine.context.ProbeContext`
refuses names a probe did not declare, so a declaration cannot silently drift from the code.

Example::

    @probe("chatwoot.auth", diagnoses={"ok", "account_unset"}, values={"user_name"},
           publishes={"chatwoot.user_id"}, reads={"chatwoot.account_id"})
    async def auth(ctx: ProbeContext) -> Outcome: ...

This module imports nothing from the catalog or the engine, so the catalog loader can use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ProbeSpec:
    """The names one probe function uses. ``check`` is the catalog check it was written for."""

    ref: str  # "<module>:<function>", as the catalog's `probe:` names it
    check: str
    diagnoses: frozenset[str]
    texts: frozenset[str] = frozenset()
    values: frozenset[str] = frozenset()  # per-diagnosis placeholders the probe fills ({route}, {count}...)
    publishes: frozenset[str] = frozenset()
    reads: frozenset[str] = frozenset()  # settings and facts read with ctx.value
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


class UnknownProbe(LookupError):
    """A catalog ``probe:`` names a module or function that does not exist, or one without a declaration."""


_SPECS: dict[str, ProbeSpec] = {}


def probe(check: str, *, diagnoses: Iterable[str], texts: Iterable[str] = (), values: Iterable[str] = (),
          publishes: Iterable[str] = (), reads: Iterable[str] = ()) -> Callable[[F], F]:
    """Declare the catalog names a probe function uses (see the module docstring)."""

    def register(func: F) -> F:
        module = func.__module__.removeprefix("evodiag.probes.")
        code = func.__code__
        path = Path(code.co_filename).resolve()
        file = str(path.relative_to(_PACKAGE_ROOT)) if path.is_relative_to(_PACKAGE_ROOT) else path.name
        ref = f"{module}:{func.__name__}"
        _SPECS[ref] = ProbeSpec(ref, check, frozenset(diagnoses), frozenset(texts), frozenset(values),
                                frozenset(publishes), frozenset(reads), file, code.co_firstlineno)
        return func

    return register


def resolve(ref: str) -> tuple[Any, ProbeSpec]:
    """``evolution:auth`` -> the function ``evodiag.probes.evolution.auth`` and its declaration."""
    module_name, _, func_name = ref.partition(":")
    try:
        module = importlib.import_module(f"evodiag.probes.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"evodiag.probes.{module_name}":
            raise
        raise UnknownProbe(f"probe {ref!r}: no module evodiag/probes/{module_name}.py") from None
    func = getattr(module, func_name, None)
    if func is None:
        raise UnknownProbe(f"probe {ref!r}: evodiag/probes/{module_name}.py has no function {func_name!r}")
    spec = _SPECS.get(ref)
    if spec is None:
        raise UnknownProbe(f"probe {ref!r}: evodiag/probes/{module_name}.py:{func.__code__.co_firstlineno} "
                           f"{func_name} has no @probe(...) declaration of the names it uses")
    return func, spec


@lru_cache(maxsize=1)
def _import_all() -> None:
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if not path.stem.startswith("_"):
            importlib.import_module(f"evodiag.probes.{path.stem}")


def all_probes() -> list[ProbeSpec]:
    """The declaration of every probe in evodiag/probes (imports each module once per process)."""
    _import_all()
    return list(_SPECS.values())
