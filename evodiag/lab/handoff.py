"""What ``evodiag lab serve`` prints so a user can point evodiag at the running lab, three equivalent ways: the
``evodiag check`` command with every flag, the same settings as an ``evodiag.yaml``, and as ``export
EVODIAG_…`` lines. Flags that are not settings (``--allow-send`` and the other ``--allow-*``) stay flags in all
three. The lab's keys are its own throwaway values; every place that prints one says so."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from typing import Any

from evodiag.catalog.model import Catalog
from evodiag.config import OPTIONS, Settings

LAB_KEY_NOTE = "lab key: a throwaway value of this lab, not a real secret"


def _given(value: Any) -> bool:
    return value not in (None, "", [], False)


def allow_flags(catalog: Catalog, values: Mapping[str, Any]) -> list[str]:
    """``--allow-<kind>`` for every side effect a check would need against these settings (its targets are
    configured), so the printed command runs the same checks as ``evodiag demo``."""
    configured = Settings(values=dict(values)).configured_targets()
    kinds = {check.side_effects.kind for check in catalog.checks.values()
             if check.side_effects and set(check.applies_when.targets) <= configured}
    return [f"--allow-{kind}" for kind in sorted(kinds)]


def check_command(setting_args: list[str], flags: list[str]) -> str:
    """``evodiag check`` with the flags of the settings (``Lab.cli_args()``) and the ``--allow-*`` flags."""
    return "evodiag check " + " ".join(shlex.quote(a) for a in [*setting_args, *flags])


def config_yaml(values: Mapping[str, Any]) -> str:
    """An ``evodiag.yaml`` with the same settings (values as JSON scalars, which YAML reads unchanged)."""
    lines: list[str] = []
    section = ""
    for opt in OPTIONS:
        value = values.get(opt.key)
        if not _given(value):
            continue
        head, name = opt.key.split(".", 1)
        if head != section:
            lines.append(f"{head}:")
            section = head
        note = f"  # {LAB_KEY_NOTE}" if opt.secret else ""
        lines.append(f"  {name}: {json.dumps(value, ensure_ascii=False)}{note}")
    return "\n".join(lines) + "\n"


def export_lines(values: Mapping[str, Any]) -> str:
    """``export EVODIAG_…=…`` lines with the same settings (lists joined by the path separator, as evodiag
    splits them)."""
    lines: list[str] = []
    for opt in OPTIONS:
        value = values.get(opt.key)
        if not _given(value):
            continue
        if opt.kind == "paths":
            text = os.pathsep.join(str(v) for v in value or ())
        elif opt.kind == "bool":
            text = "true"
        else:
            text = str(value)
        note = f"  # {LAB_KEY_NOTE}" if opt.secret else ""
        lines.append(f"export {opt.env}={shlex.quote(text)}{note}")
    return "\n".join(lines) + "\n"


def handoff_text(catalog: Catalog, values: Mapping[str, Any], setting_args: list[str]) -> str:
    """The three ways, ready to paste. ``setting_args``: the same settings as flags (``Lab.cli_args()``)."""
    flags = allow_flags(catalog, values)
    then = " ".join(["evodiag check", *flags])
    return (f"Run:\n  {check_command(setting_args, flags)}\n\n"
            f"Or as an evodiag.yaml (then: {then}):\n\n{_indent(config_yaml(values))}\n"
            f"Or as environment variables (then: {then}):\n\n{_indent(export_lines(values))}")


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())
