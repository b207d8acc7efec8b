"""Shared records for `.env` and compose reading: every value remembers the file and line it came from.

Why ``file:line`` everywhere: evodiag's findings about configuration are only actionable (and only fit SARIF /
GitHub annotations) when they point at the exact line to edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class EnvFileError(Exception):
    """A configuration file could not be read or parsed at all (missing, unreadable, malformed YAML).

    ``str(err)`` is one line: ``path[:line]: message``. Malformed *lines* in a ``.env`` file are not errors:
    they are collected as :class:`EnvProblem` so one bad line never hides the rest of the file.
    """

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = " ".join(message.split())  # guarantee a single line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class ComposeError(EnvFileError):
    """The compose file is not YAML, or not a compose document (e.g. the top level is not a mapping)."""


@dataclass(frozen=True)
class EnvVar:
    """One variable assignment.

    ``value`` is what the process would see. ``template`` is the text before ``${VAR}`` interpolation, or
    ``None`` when interpolation was not applied (plain :func:`parse_dotenv`, inherited compose entries).
    ``quote`` is ``'"'``, ``"'"`` or ``""``.
    ``source`` says which mechanism set it: ``"dotenv"`` (a ``.env`` / ``env_file``) or ``"environment"``
    (a compose ``environment:`` entry). ``inherited`` marks a compose ``- KEY`` / ``KEY:`` entry whose value
    comes from the shell that runs ``docker compose``.
    """

    name: str
    value: str
    file: str
    line: int
    quote: str = ""
    template: str | None = None
    source: str = "dotenv"
    inherited: bool = False

    @property
    def origin(self) -> str:
        """``file:line``, the anchor a finding should print."""
        return f"{self.file}:{self.line}"

    @property
    def interpolated(self) -> bool:
        return self.template is not None and self.template != self.value


@dataclass(frozen=True)
class EnvProblem:
    """A line that could not be used as written, or a suspicious construct on it.

    ``code`` is stable for check authors: ``no-equals``, ``bad-name``, ``unterminated-quote``,
    ``trailing-text``, ``invalid-utf8``, ``unset-variable``, ``bad-interpolation``, ``env-file-missing``,
    ``env-file-unreadable``, ``bad-entry``.
    """

    file: str
    line: int
    code: str
    message: str

    @property
    def origin(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


@dataclass
class EnvFile:
    """A parsed ``.env`` file. ``variables`` keeps every assignment in file order, duplicates included."""

    path: str
    variables: list[EnvVar] = field(default_factory=list)
    problems: list[EnvProblem] = field(default_factory=list)
    had_bom: bool = False
    crlf: bool = False
    invalid_utf8: bool = False

    def get(self, name: str) -> EnvVar | None:
        """The effective assignment: the last one wins, as in docker compose and python-dotenv."""
        for var in reversed(self.variables):
            if var.name == name:
                return var
        return None

    def __contains__(self, name: object) -> bool:
        return any(v.name == name for v in self.variables)

    def as_dict(self) -> dict[str, EnvVar]:
        """Name → effective :class:`EnvVar` (last assignment wins)."""
        return {v.name: v for v in self.variables}

    def values(self) -> dict[str, str]:
        return {v.name: v.value for v in self.variables}

    def duplicates(self) -> dict[str, list[EnvVar]]:
        """Names assigned more than once; only the last assignment takes effect, which often surprises."""
        seen: dict[str, list[EnvVar]] = {}
        for v in self.variables:
            seen.setdefault(v.name, []).append(v)
        return {k: vs for k, vs in seen.items() if len(vs) > 1}
