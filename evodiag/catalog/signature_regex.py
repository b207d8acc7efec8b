"""Triage signatures are matched with RE2, so matching is linear in the input whatever the pattern: a signature
like ``(a+)+b`` cannot hang triage on a long line, and a pattern RE2 cannot take (lookarounds, backreferences,
``(?#...)`` comments) is refused when the catalog loads.

RE2 syntax differs from Python's ``re`` in a few ways a signature author meets: ``\\b``, ``\\w``, ``\\s`` and
``\\d`` are ASCII-only (write ``\\pL`` for "a letter" in Portuguese, Spanish or Chinese text), and there is no
lookaround (a signature uses ``unless:`` for "but not when the line also says ..."). Matching is
case-insensitive; ``(?-i:...)`` turns that off for a part.

The triage prefilter extracts the literals a match must contain with Python's regex parser; :func:`sre_view`
rewrites the few RE2-only constructs into broader ``re`` ones for that analysis only.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import re2  # type: ignore[import-untyped,unused-ignore]

# RE2 refuses a program larger than this (bytes of compiled automaton); the default 8 MiB is ample for a
# signature, and the bound keeps one user-supplied pattern from taking much memory.
MAX_MEM = 8 << 20


class SignatureRegexError(ValueError):
    """A pattern RE2 cannot compile; the message is RE2's reason, one line."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would log to stderr; the catalog error says it in one line
    options.case_sensitive = False
    options.max_mem = MAX_MEM
    return options


@functools.lru_cache(maxsize=4096)
def compile_signature(pattern: str | bytes) -> Any:
    """The RE2 program for a signature pattern (case-insensitive). ``bytes`` patterns match bytes (Latin-1:
    one byte at a time), ``str`` patterns match text."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise SignatureRegexError(_reason(str(reason))) from None
    except (TypeError, ValueError) as exc:  # e.g. a NUL character or a str that is not valid Unicode
        raise SignatureRegexError(str(exc) or type(exc).__name__) from None


def _reason(reason: str) -> str:
    if "(?<" in reason or "(?=" in reason or "(?!" in reason:
        return f"{reason} (RE2 has no lookaround: express the exception as an 'unless:' pattern)"
    if "(?#" in reason:
        return f"{reason} (RE2 has no (?#...) comments; a symptom in a user's words is 'kind: prose')"
    if "backreference" in reason or "escape sequence: \\" in reason:
        return f"{reason} (RE2 has no backreferences)"
    return reason


def signature_set(patterns: list[str]) -> Any:
    """One RE2 set searching every pattern in one pass; ``Match(text)`` gives the indexes that matched."""
    matcher = re2.Set.SearchSet(_options())
    for pattern in patterns:
        matcher.Add(pattern)
    matcher.Compile()
    return matcher


_UNICODE_CLASS = re.compile(r"\\[pP](?:\{[^}]*\}|[A-Za-z])|\\C|\[:\^?[a-z]+:\]")


def sre_view(pattern: str) -> str:
    """``pattern`` with RE2-only constructs replaced by broader Python ones, for literal analysis only: a
    Unicode or POSIX class becomes "any character" (inside brackets: the whole range), ``\\z`` becomes ``\\Z``.
    Whatever the result requires, the RE2 pattern requires too. ``\\Q...\\E`` is left alone (Python refuses it,
    so the signature simply gets no prefilter)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        m = _UNICODE_CLASS.match(pattern, i)
        if m and (in_class or not m.group(0).startswith("[")):
            out.append("\\s\\S" if in_class else "[\\s\\S]")
            i = m.end()
            continue
        ch = pattern[i]
        if ch == "\\":
            escaped = pattern[i:i + 2]
            out.append("\\Z" if escaped == "\\z" else escaped)
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            i += 1
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):  # a leading ']' is a literal member
                out.append("\\]")
                i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)
