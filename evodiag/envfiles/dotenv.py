"""A ``.env`` reader that accepts what docker compose and python-dotenv accept, and never crashes.

Why not python-dotenv: evodiag must keep the ``file:line`` of every assignment and report malformed lines as
findings instead of skipping them silently, and it may only depend on the standard library here.

Syntax (decisions a check author may rely on):

* ``KEY=value``, ``export KEY=value``, whitespace around ``=``; ``KEY=`` is the empty string.
* Names match ``[A-Za-z_][A-Za-z0-9_.-]*`` (compose also accepts dots and dashes); anything else is a
  ``bad-name`` problem. A line without ``=`` is a ``no-equals`` problem (compose would take such a bare name
  from the shell, which evodiag cannot see).
* Unquoted values: surrounding whitespace is stripped; `` #`` (whitespace then ``#``) starts a comment, a
  ``#`` glued to text (``a#b``) does not.
* Single quotes are literal. Double quotes process ``\\n \\r \\t \\" \\\\ \\$`` (other backslashes stay).
  Quoted values may span lines; the variable's line is the line where it starts. Text after the closing
  quote other than a comment is a ``trailing-text`` problem (the value is still kept).
* A UTF-8 BOM is skipped, CRLF endings are accepted, invalid UTF-8 is replaced with U+FFFD and reported once
  per line as ``invalid-utf8``.
* ``${VAR}`` is expanded only when ``interpolate=True`` (compose does it for ``env_file``; Evolution API's own
  ``dotenv`` loading does not), never inside single quotes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from evodiag.envfiles.interpolate import interpolate as _interpolate
from evodiag.envfiles.model import EnvFile, EnvFileError, EnvProblem, EnvVar

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_EXPORT_RE = re.compile(r"export[ \t]+")
_COMMENT_RE = re.compile(r"[ \t]#")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_DOLLAR = "\ue000"  # private-use stand-in for an escaped ``\$`` so interpolation leaves it alone
_BOM = b"\xef\xbb\xbf"
MAX_FILE_BYTES = 4 * 1024 * 1024  # a .env or compose file larger than this is not one: refuse, do not read it all


def read_text(path: str | os.PathLike[str]) -> tuple[str, bool, list[int]]:
    """Read ``path`` as UTF-8 → (text without BOM, had_bom, 1-based lines holding invalid UTF-8).

    Raises :class:`EnvFileError` with a one-line message when the file is missing, unreadable or too large.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise EnvFileError(str(path), "file not found") from None
    except IsADirectoryError:
        raise EnvFileError(str(path), "is a directory, not a file") from None
    except OSError as exc:
        raise EnvFileError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise EnvFileError(str(path), f"too large for a configuration file (over {MAX_FILE_BYTES:,} bytes)")
    had_bom = data.startswith(_BOM)
    if had_bom:
        data = data[len(_BOM) :]
    bad_lines: list[int] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        for n, chunk in enumerate(data.split(b"\n"), start=1):
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                bad_lines.append(n)
    return text, had_bom, bad_lines


def _find_double_close(buf: str) -> int:
    i = 0
    while i < len(buf):
        if buf[i] == "\\":
            i += 2
            continue
        if buf[i] == '"':
            return i
        i += 1
    return -1


def _unescape_double(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt == "$":
                out.append(_DOLLAR)
            else:
                out.append(ch + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_dotenv_text(
    text: str,
    path: str = "<string>",
    *,
    interpolate: bool = False,
    environ: Mapping[str, str] | None = None,
) -> EnvFile:
    """Parse ``.env`` text already decoded; see the module docstring for the accepted syntax."""
    env = EnvFile(path=path, crlf="\r\n" in text)
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
    current: dict[str, str] = {}

    def lookup(name: str) -> str | None:
        if name in current:
            return current[name]
        return (environ or {}).get(name)

    def problem(line: int, code: str, message: str) -> None:
        env.problems.append(EnvProblem(path, line, code, message))

    i = 0
    while i < len(lines):
        lineno = i + 1
        body = lines[i].strip()
        i += 1
        if not body or body.startswith("#"):
            continue
        m = _EXPORT_RE.match(body)
        if m and "=" in body[m.end() :]:
            body = body[m.end() :]
        if "=" not in body:
            # Show only the first word: the rest of a broken line is often a value, and values can be secrets.
            first, _, rest_of_line = body.partition(" ")
            shown = first[:40] + (f" (+{len(rest_of_line)} more characters)" if rest_of_line else "")
            problem(lineno, "no-equals", f"line has no '=' (expected KEY=value): {shown}")
            continue
        key, _, rest = body.partition("=")
        key = key.strip()
        if not NAME_RE.match(key):
            problem(lineno, "bad-name", f"invalid variable name {key!r} (expected letters, digits, '_')")
            continue
        value_text = rest.lstrip(" \t")
        quote = value_text[:1] if value_text[:1] in ("'", '"') else ""
        if quote:
            buf = value_text[1:]
            extra = 0
            close = buf.find("'") if quote == "'" else _find_double_close(buf)
            while close < 0 and i + extra < len(lines):
                buf += "\n" + lines[i + extra]
                extra += 1
                close = buf.find("'") if quote == "'" else _find_double_close(buf)
            after = buf[close + 1 :].strip() if close >= 0 else ""
            junk = bool(after) and not after.startswith("#")
            # A "multi-line value" whose closing quote is followed by junk is far more likely an unclosed quote
            # that swallowed the next assignment: report that instead of silently eating lines.
            if close < 0 or (extra and junk):
                problem(lineno, "unterminated-quote", f"{key}: opening {quote} is never closed; line ignored")
                continue
            i += extra
            raw_value = buf[:close]
            if junk:
                problem(lineno, "trailing-text",
                        f"{key}: {len(after)} characters after the closing quote are ignored")
            value = raw_value if quote == "'" else _unescape_double(raw_value)
        else:
            cm = _COMMENT_RE.search(rest)
            value = (rest[: cm.start()] if cm else rest).strip()
        template: str | None = None
        if interpolate and quote != "'":
            template = value.replace(_DOLLAR, "$")
            res = _interpolate(value, lookup, dollar_escape=False)
            value = res.value
            for name in res.unset:
                problem(lineno, "unset-variable", f"{key}: variable {name} is not set; compose uses ''")
            for err in res.errors:
                problem(lineno, "bad-interpolation", f"{key}: {err}")
        value = value.replace(_DOLLAR, "$")
        current[key] = value
        env.variables.append(EnvVar(key, value, path, lineno, quote=quote, template=template))
    return env


def parse_dotenv(
    path: str | os.PathLike[str],
    *,
    interpolate: bool = False,
    environ: Mapping[str, str] | None = None,
) -> EnvFile:
    """Read and parse a ``.env`` file. Only a missing/unreadable file raises (:class:`EnvFileError`)."""
    text, had_bom, bad_lines = read_text(path)
    env = parse_dotenv_text(text, str(path), interpolate=interpolate, environ=environ)
    env.had_bom = had_bom
    env.invalid_utf8 = bool(bad_lines)
    msg = "invalid UTF-8 bytes replaced with U+FFFD"
    bad = [EnvProblem(str(path), n, "invalid-utf8", msg) for n in bad_lines]
    env.problems = sorted(bad + env.problems, key=lambda p: p.line)
    return env
