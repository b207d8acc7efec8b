"""Stream a ticket or log through every catalog signature.

Memory is bounded whatever the input: bytes are read in fixed-size blocks, cut at the last newline, and a line
longer than :data:`MAX_LINE` is processed in pieces. Invalid UTF-8 is replaced, never fatal.

Speed comes from a literal prefilter. Each signature regex is parsed once (``re._parser``) for the literal text
any match must contain; a block is lower-cased once and searched for those literals with ``bytes.find``
(memchr-fast), and only the lines that contain one are decoded and run through the real regexes. Signatures
with no extractable literal go through one combined alternation over each block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from evodiag.catalog.model import Catalog, Signature
from evodiag.redact import Redactor

BLOCK = 4 * 1024 * 1024
MAX_LINE = 1024 * 1024
EVIDENCE_CHARS = 240
SAMPLE_CHARS = 256 * 1024  # text kept (from the start) to suggest checks when nothing matched
MAX_VERSION_LINES = 5000  # version mentions examined before we stop looking (a log repeats its banner)
MIN_LITERAL = 3

# Product names as tickets write them → the canonical product of KnownIssue.product.
PRODUCT_ALIASES = {"evolution": "evolution", "evolution-api": "evolution", "evolution_api": "evolution",
                   "evolution api": "evolution", "evoapi": "evolution", "evo api": "evolution",
                   "chatwoot": "chatwoot", "openim": "openim", "openim-server": "openim", "open-im": "openim",
                   "open im": "openim", "open-im-server": "openim", "openim server": "openim"}
_VERSION_MENTION = re.compile(
    r"(?i)\b(evolution[ _-]?api|evolution|evo[ -]?api|chatwoot|open[ -]?im(?:[ -]server)?)"
    r"(?:[ \t:/@_-]|\bversion\b|\bvers[aã]o\b|\bversi[oó]n\b|\bimage\b|\btag\b|[\]\[(),=\"'])*"
    r"(?:release-)?v?(\d+\.\d+(?:\.\d+)?)(?![\d.]*\d)"
)
_VERSION_KEYWORDS = (b"evolution", b"evo", b"chatwoot", b"openim", b"open-im", b"open im")


def canonical_product(name: str) -> str:
    key = re.sub(r"[\s_]+", " ", name.strip().lower())
    return PRODUCT_ALIASES.get(key, PRODUCT_ALIASES.get(key.replace(" ", "-"), key))


@dataclass
class Evidence:
    line: int
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "text": self.text}


@dataclass
class CheckHits:
    check_id: str
    counts: dict[int, int] = field(default_factory=dict)  # signature index → lines matched
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class ScanResult:
    hits: dict[str, CheckHits]
    versions: dict[str, dict[str, Evidence]]  # product → version → first mention
    lines: int = 0
    bytes: int = 0
    sample: str = ""


@dataclass(frozen=True)
class _Sig:
    check_id: str
    index: int
    signature: Signature
    regex: re.Pattern[str]
    literals: tuple[bytes, ...] | None  # any one must be in the lower-cased line; None = no prefilter
    options: tuple[tuple[bytes, ...], ...] = ()  # alternatives to ``literals``, all required by the pattern


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Strings, one of which every match of ``pattern`` contains (lower-cased); ``None`` if none is certain."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # Python < 3.11
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse  # type: ignore[no-redef]
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    options: list[set[str]] = []
    found = _seq(list(parsed), c, options)
    if not found or any(len(s) < MIN_LITERAL for s in found):
        return None
    return tuple(sorted(found))


def literal_options(pattern: str) -> list[tuple[str, ...]]:
    """Every literal set the pattern requires (each one alone is a valid prefilter), best-guess first."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # Python < 3.11
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse  # type: ignore[no-redef]
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return []
    options: list[set[str]] = []
    best = _seq(list(parsed), c, options)
    good = [tuple(sorted(o)) for o in options if o and all(len(x) >= MIN_LITERAL for x in o)]
    if best and all(len(x) >= MIN_LITERAL for x in best):
        good.insert(0, tuple(sorted(best)))
    return list(dict.fromkeys(good))


def _better(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if not a:
        return b
    if not b:
        return a
    return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b


def _seq(items: list[tuple[object, object]], c: object, options: list[set[str]] | None = None) -> set[str] | None:
    """The best literal set this sequence requires; every top-level one is also appended to ``options``."""
    best: set[str] | None = None
    run: list[str] = []

    def take(found: set[str] | None) -> None:
        nonlocal best
        if found and options is not None:
            options.append(found)
        best = _better(best, found)

    def flush() -> None:
        nonlocal run
        if run:
            take({"".join(run).lower()})
        run = []

    for op, av in items:
        if op is c.LITERAL:  # type: ignore[attr-defined]
            ch = chr(av)  # type: ignore[arg-type]
            if ch.lower() != ch.upper() and not ch.isascii():
                flush()  # non-ASCII cased letters: bytes.lower() would not fold them
                continue
            run.append(ch)
            continue
        flush()
        if op is c.SUBPATTERN:  # type: ignore[attr-defined]
            take(_seq(list(av[-1]), c))  # type: ignore[index]
        elif op is c.BRANCH:  # type: ignore[attr-defined]
            alts = [_seq(list(b), c) for b in av[1]]  # type: ignore[index]
            if all(alts):
                take(set().union(*alts))  # type: ignore[arg-type]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:  # type: ignore
            take(_seq(list(av[2]), c))  # type: ignore[index]
        elif op is getattr(c, "ATOMIC_GROUP", object()):
            take(_seq(list(av), c))  # type: ignore[arg-type]
    flush()
    return best


class Scanner:
    """Every signature of a catalog, compiled once; :meth:`scan` streams one input through them."""

    def __init__(self, catalog: Catalog, *, max_evidence: int = 3, redactor: Redactor | None = None) -> None:
        self.max_evidence = max_evidence
        self.redactor = redactor or Redactor()
        self.sigs: list[_Sig] = []
        for check in catalog.checks.values():
            for i, sig in enumerate(check.signatures):
                options = tuple(tuple(x.encode("utf-8") for x in o) for o in literal_options(sig.pattern))
                self.sigs.append(_Sig(check.id, i, sig, re.compile(sig.pattern),
                                      options[0] if options else None, options))
        self.by_literal: dict[bytes, list[int]] = {}
        self._index_literals()
        self.unfiltered = [i for i, s in enumerate(self.sigs) if s.literals is None]
        self.combined = _combine([self.sigs[i].signature.pattern for i in self.unfiltered])

    def _index_literals(self, sample: bytes | None = None) -> None:
        """Pick, per signature, the required literal set that is rarest in ``sample`` (the first block)."""
        if sample is not None:
            for i, s in enumerate(self.sigs):
                if len(s.options) > 1:
                    rarest = min(s.options, key=lambda o: (sum(sample.count(x) for x in o), -min(map(len, o))))
                    self.sigs[i] = _Sig(s.check_id, s.index, s.signature, s.regex, rarest, s.options)
        self.by_literal = {}
        for i, s in enumerate(self.sigs):
            for lit in s.literals or ():
                self.by_literal.setdefault(lit, []).append(i)

    # -- input ---------------------------------------------------------------------------------------------

    def scan(self, stream: BinaryIO) -> ScanResult:
        result = ScanResult({}, {})
        sample: list[str] = []
        sample_len = 0
        version_lines = 0
        line_no = 1
        ended = True
        for block in _blocks(stream):
            result.bytes += len(block)
            if sample_len < SAMPLE_CHARS:
                piece = block[: SAMPLE_CHARS - sample_len].decode("utf-8", "replace")
                sample.append(piece)
                sample_len += len(piece)
            lower = block.lower()
            if line_no == 1 and result.bytes == len(block):
                self._index_literals(lower[:BLOCK])
            if version_lines < MAX_VERSION_LINES:
                version_lines += self._versions(block, _lines_containing(lower, _VERSION_KEYWORDS), line_no, result)
            self._match(block, self._candidate_lines(lower), line_no, result)
            if self.combined is not None:
                self._match_unfiltered(block.decode("utf-8", "replace"), line_no, result)
            newlines = block.count(b"\n")
            line_no += newlines
            result.lines += newlines
            ended = block.endswith(b"\n")
        if result.bytes and not ended:
            result.lines += 1
        result.sample = "".join(sample)
        return result

    # -- matching ------------------------------------------------------------------------------------------

    def _candidate_lines(self, lower: bytes) -> dict[int, set[int]]:
        """Line start offset → indexes into ``self.sigs`` worth running on that line."""
        out: dict[int, set[int]] = {}
        for lit, sig_indexes in self.by_literal.items():
            pos = lower.find(lit)
            while pos != -1:
                start = lower.rfind(b"\n", 0, pos) + 1
                out.setdefault(start, set()).update(sig_indexes)
                end = lower.find(b"\n", pos)
                if end == -1:
                    break
                pos = lower.find(lit, end)
        return out

    def _match(self, block: bytes, starts: dict[int, set[int]], first_line: int, result: ScanResult) -> None:
        line_no, counted_to = first_line, 0
        for start in sorted(starts):
            line_no += block.count(b"\n", counted_to, start)
            counted_to = start
            end = block.find(b"\n", start)
            line = block[start: len(block) if end == -1 else end].decode("utf-8", "replace").rstrip("\r")
            self._record(line, line_no, sorted(starts[start]), result)

    def _match_unfiltered(self, text: str, first_line: int, result: ScanResult) -> None:
        assert self.combined is not None
        line_no, counted_to = first_line, 0
        m = self.combined.search(text)
        while m:
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.start())
            end = len(text) if end == -1 else end
            line_no += text.count("\n", counted_to, start)
            counted_to = start
            self._record(text[start:end].rstrip("\r"), line_no, self.unfiltered, result)
            m = self.combined.search(text, end + 1) if end < len(text) else None

    def _record(self, line: str, line_no: int, sig_indexes: Iterable[int], result: ScanResult) -> None:
        for i in sig_indexes:
            sig = self.sigs[i]
            if not sig.regex.search(line):
                continue
            hits = result.hits.setdefault(sig.check_id, CheckHits(sig.check_id))
            hits.counts[sig.index] = hits.counts.get(sig.index, 0) + 1
            if len(hits.evidence) < self.max_evidence and not any(e.line == line_no for e in hits.evidence):
                hits.evidence.append(Evidence(line_no, self.mask(line)))

    def _versions(self, block: bytes, starts: Iterable[int], first_line: int, result: ScanResult) -> int:
        line_no, counted_to, seen = first_line, 0, 0
        for start in sorted(starts):
            line_no += block.count(b"\n", counted_to, start)
            counted_to = start
            end = block.find(b"\n", start)
            line = block[start: len(block) if end == -1 else end].decode("utf-8", "replace")
            seen += 1
            for m in _VERSION_MENTION.finditer(line):
                product = canonical_product(m.group(1))
                versions = result.versions.setdefault(product, {})
                if m.group(2) not in versions and len(versions) < 20:
                    versions[m.group(2)] = Evidence(line_no, self.mask(line))
        return seen

    def mask(self, line: str) -> str:
        text = self.redactor.text(line.strip())
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
        return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def _lines_containing(lower: bytes, words: Iterable[bytes]) -> set[int]:
    out: set[int] = set()
    for word in words:
        pos = lower.find(word)
        while pos != -1:
            start = lower.rfind(b"\n", 0, pos) + 1
            out.add(start)
            end = lower.find(b"\n", pos)
            if end == -1:
                break
            pos = lower.find(word, end)
    return out


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """Blocks of whole lines (the last may lack its newline). A line longer than MAX_LINE is yielded in pieces
    without newlines, so counting newlines still gives the right line numbers."""
    carry = b""
    while True:
        data = stream.read(BLOCK)
        if not data:
            break
        buf = carry + data if carry else data
        cut = buf.rfind(b"\n")
        if cut == -1:
            if len(buf) >= MAX_LINE:
                yield buf
                carry = b""
            else:
                carry = buf
            continue
        carry = buf[cut + 1:]
        yield buf[: cut + 1]
        if len(carry) >= MAX_LINE:
            yield carry
            carry = b""
    if carry:
        yield carry


def _combine(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{_scoped(p)})" for p in patterns))
    except re.error:  # e.g. duplicate group names across patterns: fall back to any-line scanning
        return re.compile(r"(?s).")


_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _scoped(pattern: str) -> str:
    """``(?i)foo`` → ``(?i:foo)`` so several patterns with leading flags combine into one alternation."""
    m = _GLOBAL_FLAGS.match(pattern)
    if not m:
        return pattern
    flags = m.group(1).replace("u", "").replace("L", "")
    rest = pattern[m.end():]
    return f"(?{flags}:{rest})" if flags else rest
