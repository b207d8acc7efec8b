"""The arguments of a command that runs checks (``check``, ``demo``, ``bundle``), built once from the CLI
parameters into one typed, frozen value. Everything after the CLI layer reads :class:`RunArgs`, never the raw
parameters.

Typer passes the target flags as parameters named after their setting key (``evolution.url`` ->
``evolution__url``, :func:`param_name`); :meth:`RunArgs.from_params` is the one place that maps them back."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evodiag.config import OPTIONS, Option
from evodiag.errors import UsageError
from evodiag.report.color import COLOR_MODES

FORMATS = ("text", "json", "junit", "markdown")
FAIL_ON = ("fail", "warn")


def param_name(option: Option) -> str:
    """The Python parameter name of a target flag (a setting key is dotted; a parameter name cannot be)."""
    return option.key.replace(".", "__")


def _paths(value: Any) -> tuple[Path, ...]:
    return tuple(Path(p) for p in value or ())


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


@dataclass(frozen=True)
class RunArgs:
    """What the user asked a run for. ``targets`` maps each setting key to its flag value (``None`` = flag not
    given; environment and config file fill those in later)."""

    targets: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    config: Path | None = None
    catalogs: tuple[Path, ...] = ()
    stages: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    format: str = "text"
    output: Path | None = None
    fail_on: str = "fail"
    exit_zero: bool = False
    timeout: float | None = None  # --timeout: caps every request; None = 10 s unless a check declares longer
    deadline: float | None = None  # --deadline: bounds the whole run; None = 60 s + listen seconds
    concurrency: int = 0
    allow: frozenset[str] = frozenset()
    insecure: bool = False
    verbose: int = 0  # -v / -vv (--verbose, repeatable)
    quiet: bool = False  # -q: the headline and the problems only
    color: str = "auto"  # --color auto | always | never
    debug: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RunArgs:
        """From the keyword parameters typer passed to the command (never fails: :meth:`validate` judges the
        values, inside the command's error boundary)."""
        allow = frozenset(kind for kind, flag in (("connect", "allow_connect"), ("send", "allow_send"),
                                                  ("webhook-post", "allow_webhook_post")) if params.get(flag))
        config, output = params.get("config"), params.get("output")
        return cls(
            targets=MappingProxyType({opt.key: params.get(param_name(opt)) for opt in OPTIONS}),
            config=Path(config) if config else None,
            catalogs=_paths(params.get("catalog")),
            stages=_strings(params.get("stage")),
            only=_strings(params.get("only")),
            skip=_strings(params.get("skip")),
            tags=_strings(params.get("tags")),
            format=str(params.get("format") or "text"),
            output=Path(output) if output else None,
            fail_on=str(params.get("fail_on") or "fail"),
            exit_zero=bool(params.get("exit_zero")),
            timeout=_seconds(params.get("timeout")),
            deadline=_seconds(params.get("deadline")),
            concurrency=int(params.get("concurrency") or 0),
            allow=allow,
            insecure=bool(params.get("insecure")),
            verbose=int(params.get("verbose") or 0),
            quiet=bool(params.get("quiet")),
            color=str(params.get("color") or "auto"),
            debug=bool(params.get("debug")),
        )

    @property
    def detail(self) -> int:
        """How much the terminal view says: -1 (-q), 0, 1 (-v), 2 (-vv or more)."""
        return -1 if self.quiet else min(self.verbose, 2)

    def validate(self) -> None:
        """Raise :class:`UsageError` for a value no run can use."""
        if self.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
        if self.color not in COLOR_MODES:
            raise UsageError(f"--color must be one of {', '.join(COLOR_MODES)}")
        if self.quiet and self.verbose:
            raise UsageError("-q/--quiet and -v/--verbose contradict each other: give one")
        if self.fail_on not in FAIL_ON:
            raise UsageError("--fail-on must be 'fail' or 'warn'")
        for flag, seconds in (("--timeout", self.timeout), ("--deadline", self.deadline)):
            if seconds is not None and not (seconds > 0 and math.isfinite(seconds)):
                raise UsageError(f"{flag} {seconds:g}: give a number of seconds greater than 0")
