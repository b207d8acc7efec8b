"""Stream a ticket or log through every catalog signature.

Memory is bounded whatever the input: bytes are read in fixed-size blocks, cut at the last newline, and a line
longer than :data:`MAX_LINE` is processed in pieces. Invalid UTF-8 is replaced, never fatal.

Matching rules (what a signature in checks.yaml means):

* a signature is an RE2 regex matched line by line (on the line's bytes, as UTF-8), case-insensitively
  (``(?-i:...)`` turns that off for a part); RE2 matches in linear time, so no pattern can hang triage;
* a line that also matches the signature's ``unless`` pattern does not count (RE2 has no lookaround);
* a named group ``repeat`` (or several, ``repeat_*``) makes a *repetition rule*: the signature only counts when
  the value it captures was already captured earlier in the same input (e.g. a webhook ``key.id`` delivered twice);
* a ``kind: prose`` signature describes a symptom in a user's words ("the QR code never shows"); it is matched in
  the first block (4 MiB) of the input only (a ticket's text), not deep inside a large log.

Speed comes from a literal prefilter. Each signature regex is parsed once (``re._parser``) for the literal text
any match must contain; blocks are lower-cased once and only lines containing such a literal are decoded and run
through the real regexes. Per signature, the literal set rarest in the first block is used, and a literal that
contains another one is dropped (the shorter one's lines are checked anyway). A small input gives each literal a
``bytes.find`` pass. From the second block of a large input on, a cost model measured on the first block groups
literals that share a short *anchor* (``e``, ``or``, ``ime``...) into one regex each, the anchor followed by a trie
of the rest: sre runs such a regex with its literal-prefix loop, about as fast as one find pass, so one pass
replaces many. A signature that has matched often enough that more matches cannot change the output (its count is
saturated and its check's evidence list is full) leaves the plan. Signatures with no extractable literal go
through one combined RE2 alternation over each block; an RE2 set then tells which of them a found line matches.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from evodiag.catalog.model import Catalog, Signature
from evodiag.catalog.signature_regex import SignatureRegexError, compile_signature, signature_set, sre_view
from evodiag.redact import Redactor

BLOCK = 4 * 1024 * 1024
MAX_LINE = 1024 * 1024
EVIDENCE_CHARS = 240
SAMPLE_CHARS = 256 * 1024  # text kept (from the start) to suggest checks when nothing matched
MAX_VERSION_LINES = 2000  # lines per product word examined for versions (a log repeats its banner)
MIN_LITERAL = 3  # bytes (UTF-8): a shorter literal is no prefilter
PROSE_BYTES = 1024 * 1024  # prose signatures: blocks starting before this offset (i.e. the first block)
MAX_REPEAT_KEYS = 200_000  # values remembered per repetition rule (bounded memory)
SATURATED = 6  # matches after which one more cannot change the score (rank caps repeats at 5 extra)
PLAN_MIN_SAMPLE = 512 * 1024  # below this the input is small: every literal gets a find pass, no cost model
PLAN_FROM_BLOCK = 1  # the cost model (~0.1-0.3 s of planning) starts with this block: a large input amortises it
REPLAN_BLOCKS = 8  # after signatures saturate, plan again at most this often

# Cost model (seconds), measured on CPython 3.11 on a 4 MiB lower-cased log block. A regex that starts with one
# literal byte runs sre's tight prefix loop (about as fast as bytes.find), unlike a set of first bytes (~6 ns/byte).
_PREFIX_BYTE_S = 0.5e-9  # one anchored regex's scan per byte
_ATTEMPT_S = 10e-9  # one attempt of it (a position holding its anchor byte) ...
_BRANCH_S = 1.7e-9  # ... plus this per distinct byte that follows the anchor in its literals
_PREFIX_CHECK_S = 2e-9  # a multi-byte anchor: each occurrence of its first byte costs a compare
_CANDIDATE_S = 5e-6  # a line a suffix matched in vain: Python finds the line and tests its literals

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
    regex: Any  # RE2 program over a line's bytes
    unless: Any  # RE2 program, or None
    options: tuple[tuple[bytes, ...], ...]  # literal sets, each required by the pattern (any one member)
    prose: bool = False
    repeat: Any = None  # the regex again when it is a repetition rule, run over the lower-cased block
    repeat_groups: tuple[int, ...] = ()  # its repeat* group numbers


@dataclass
class _Plan:
    """How one block is searched: which literals get a find pass and which go into the anchored regex."""

    finds: list[tuple[bytes, tuple[int, ...]]]
    anchored: list[tuple[re.Pattern[bytes], list[tuple[bytes, tuple[int, ...]]]]]  # per anchor byte: regex, literals
    unfiltered: list[int]
    combined: Any  # RE2 alternation finding lines for the unfiltered signatures, or None
    unfiltered_set: Any  # RE2 set over the same signatures (index i → unfiltered[i]), or None
    repeats: list[int]


def _parser() -> tuple[object, object]:
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # Python < 3.11
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse  # type: ignore[no-redef]
    return c, sre_parse


def _long_enough(literals: Iterable[str]) -> bool:
    return all(len(x.encode("utf-8")) >= MIN_LITERAL for x in literals)


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Strings, one of which every match of ``pattern`` contains (lower-cased); ``None`` if none is certain."""
    c, sre_parse = _parser()
    try:
        parsed = sre_parse.parse(sre_view(pattern))  # type: ignore[attr-defined]
    except Exception:
        return None
    found = _seq(list(parsed), c, [])
    if not found or not _long_enough(found):
        return None
    return tuple(sorted(found))


def literal_options(pattern: str) -> list[tuple[str, ...]]:
    """Every literal set the pattern requires (each one alone is a valid prefilter), best-guess first."""
    c, sre_parse = _parser()
    try:
        parsed = sre_parse.parse(sre_view(pattern))  # type: ignore[attr-defined]
    except Exception:
        return []
    options: list[set[str]] = []
    best = _seq(list(parsed), c, options)
    good = [tuple(sorted(o)) for o in options if o and _long_enough(o)]
    if best and _long_enough(best):
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
        if op is c.BRANCH and run:  # type: ignore[attr-defined]
            # "re(?:ply|sposta)" (the parser factors common prefixes out): the run then each branch's start
            leads = [_lead(list(b), c) for b in av[1]]  # type: ignore[index]
            if all(leads):
                take({"".join(run).lower() + lead for lead in leads})
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
            take(_seq(list(av), c))  # type: ignore[call-overload]
    flush()
    return best


def _lead(items: list[tuple[object, object]], c: object) -> str:
    """The literal text a sequence starts with (lower-cased), up to its first non-literal item."""
    out = []
    for op, av in items:
        if op is not c.LITERAL:  # type: ignore[attr-defined]
            break
        ch = chr(av)  # type: ignore[arg-type]
        if ch.lower() != ch.upper() and not ch.isascii():
            break
        out.append(ch)
    return "".join(out).lower()


def _find_seconds(needle: bytes, size: int) -> float:
    """What one ``bytes.find`` pass over ``size`` bytes costs: CPython skips ahead further with longer needles
    (measured: 3 bytes ~1.5 GB/s, 9 ~2.4, 20 ~4.2, 47 ~7.3)."""
    return size / min(7.5e9, 1.0e9 + 0.15e9 * len(needle))


def trie_regex(words: Iterable[bytes]) -> bytes:
    """One regex matching any of ``words``, shaped as a trie so a failing position costs a few byte checks."""
    trie: dict[int | None, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[None] = {}

    def emit(node: dict[int | None, dict]) -> bytes:
        alts = [re.escape(bytes([ch])) + emit(node[ch]) for ch in sorted(k for k in node if k is not None)]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        if None in node:
            return (body if len(alts) > 1 else b"(?:" + body + b")") + b"?"
        return body

    return emit(trie)


class Scanner:
    """Every signature of a catalog, compiled once; :meth:`scan` streams one input through them."""

    def __init__(self, catalog: Catalog, *, max_evidence: int = 3, redactor: Redactor | None = None,
                 saturate: bool = True) -> None:
        self.max_evidence = max_evidence
        self.redactor = redactor or Redactor()
        self.saturate = saturate
        self.sigs: list[_Sig] = []
        for check in catalog.checks.values():
            for i, sig in enumerate(check.signatures):
                regex = compile_signature(sig.pattern.encode("utf-8"))
                unless = compile_signature(sig.unless.encode("utf-8")) if sig.unless else None
                groups = tuple(sorted(number for name, number in regex.groupindex.items()
                                      if name == b"repeat" or name.startswith(b"repeat_")))
                options = tuple(tuple(x.encode("utf-8") for x in o) for o in literal_options(sig.pattern))
                self.sigs.append(_Sig(check.id, i, sig, regex, unless, options, sig.prose,
                                      regex if groups else None, groups))
        self._literal_counts: dict[bytes, int] = {}
        self._char_freq: dict[int, float] = {}
        self._head = b""
        self._gram_memo: dict[bytes, float] = {}
        self._done: set[int] = set()  # saturated signatures, no longer searched
        self._plans: dict[tuple[bool, bool], _Plan] = {}
        self.unfiltered = [i for i, s in enumerate(self.sigs) if not s.options and s.repeat is None]

    # -- planning ------------------------------------------------------------------------------------------

    def _learn(self, sample: bytes) -> None:
        """Literal counts and byte frequencies of the (lower-cased) first block, for the cost model."""
        self._char_freq = {}
        self._head = b""
        self._gram_memo = {}
        self._done = set()
        self._plans = {}
        literals = {x for s in self.sigs for o in s.options for x in o}
        head = sample[:PLAN_MIN_SAMPLE]
        self._literal_counts = {x: head.count(x) for x in literals}
        if len(sample) >= PLAN_MIN_SAMPLE:
            self._head = head
            self._char_freq = {ch: n / len(head) for ch, n in Counter(head).items()}

    def plan(self, *, prose: bool, costed: bool = True) -> _Plan:
        """The plan for a block: ``prose`` signatures included or not; ``costed`` = use the cost model (large
        inputs), else one find pass per literal."""
        key = (prose, costed and bool(self._char_freq))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._build_plan(prose, key[1])
        return plan

    def _build_plan(self, prose: bool, costed: bool) -> _Plan:
        active = [i for i, s in enumerate(self.sigs) if i not in self._done and (prose or not s.prose)]
        repeats = [i for i in active if self.sigs[i].repeat is not None]
        unfiltered = [i for i in active if not self.sigs[i].options and self.sigs[i].repeat is None]
        by_literal: dict[bytes, set[int]] = {}
        counts = self._literal_counts
        for i in active:
            sig = self.sigs[i]
            if sig.repeat is not None or not sig.options:
                continue
            chosen = min(sig.options, key=lambda o: (sum(counts.get(x, 0) for x in o), len(o), -min(map(len, o))))
            for lit in chosen:
                by_literal.setdefault(lit, set()).add(i)
        # A literal that contains another one is found by that one's pass (the line is then checked anyway).
        needles: dict[bytes, set[int]] = {}
        ordered = sorted(by_literal, key=len)
        for lit in ordered:
            cover = next((n for n in needles if n in lit), None)
            needles.setdefault(cover or lit, set()).update(by_literal[lit])
        finds, anchored = self._split(needles) if costed else (sorted((n, tuple(sorted(i))) for n, i in
                                                                       needles.items()), [])
        patterns = [self.sigs[i].signature.pattern for i in unfiltered]
        combined = _combine(patterns)
        return _Plan(finds, anchored, unfiltered, combined, signature_set(patterns) if patterns else None, repeats)

    def _split(self, needles: dict[bytes, set[int]]) -> tuple[
            list[tuple[bytes, tuple[int, ...]]], list[tuple[re.Pattern[bytes], list[tuple[bytes, tuple[int, ...]]]]]]:
        """Which literals get their own find pass, and which share one. A regex made of a short *anchor* (1-3
        bytes, e.g. ``or``) and a trie of what follows that anchor in each of several literals runs sre's literal
        prefix loop: about one find pass, plus a few ns per occurrence of the anchor in the text. Greedy weighted
        set cover: take the anchor with the lowest cost (its pass and attempts) per second of find passes saved
        (those of the literals it covers, less the lines its suffixes match in vain) while that is below 1. Only
        for large inputs, where the first block measured the frequencies."""
        items = {n: tuple(sorted(s)) for n, s in needles.items()}
        if not self._char_freq:
            return sorted(items.items()), []
        size, head = BLOCK, self._head[: 64 * 1024]
        scale = size / max(len(head), 1)
        memo = self._gram_memo  # kept across re-plans of one input

        def count(g: bytes) -> float:
            if g not in memo:
                memo[g] = self._char_freq.get(g[0], 0.0) * size if len(g) == 1 else head.count(g) * scale
            return memo[g]

        def suffix(n: bytes, g: bytes) -> bytes:
            return n[n.index(g):]

        def vain(n: bytes, g: bytes) -> float:
            tail = suffix(n, g)
            return 0.0 if tail == n else max(0.0, count(tail) - count(n)) * _CANDIDATE_S

        by_gram: dict[bytes, set[bytes]] = {}
        for n in items:
            for i in range(len(n) - MIN_LITERAL + 1):
                for width in (1, 2, 3):
                    if i + width <= len(n):
                        by_gram.setdefault(n[i:i + width], set()).add(n)
        remaining = set(items)
        groups: dict[bytes, list[bytes]] = {}
        while remaining:
            best: tuple[float, bytes, list[bytes]] | None = None  # (cost ratio, anchor, literals)
            for g, owners in by_gram.items():
                live = owners & remaining
                if not live:
                    continue
                gains = [(n, _find_seconds(n, size) - vain(n, g)) for n in live]
                covered = [n for n, gain in gains if gain > 0]
                if not covered:
                    continue
                branches = len({suffix(n, g)[len(g):len(g) + 1] for n in covered})
                cost = (size * _PREFIX_BYTE_S + count(g[:1]) * _PREFIX_CHECK_S * (len(g) > 1)
                        + count(g) * (_ATTEMPT_S + _BRANCH_S * branches))
                ratio = cost / sum(gain for _, gain in gains if gain > 0)  # < 1: cheaper than its finds
                if best is None or ratio < best[0]:
                    best = (ratio, g, covered)
            if best is None or best[0] >= 1:
                break
            _, g, covered = best
            groups[g] = covered
            remaining.difference_update(covered)
        anchored = []
        for g, covered in sorted(groups.items()):
            regex = re.compile(trie_regex(suffix(n, g) for n in covered))
            anchored.append((regex, sorted((n, items[n]) for n in covered)))
        return sorted((n, items[n]) for n in remaining), anchored

    def _saturated(self, result: ScanResult) -> bool:
        """Mark signatures whose further matches cannot change the output; ``True`` if any is new."""
        if not self.saturate:
            return False
        new = False
        for i, sig in enumerate(self.sigs):
            if i in self._done:
                continue
            hits = result.hits.get(sig.check_id)
            if hits and hits.counts.get(sig.index, 0) >= SATURATED and len(hits.evidence) >= self.max_evidence:
                self._done.add(i)
                new = True
        return new

    # -- input ---------------------------------------------------------------------------------------------

    def scan(self, stream: BinaryIO) -> ScanResult:
        result = ScanResult({}, {})
        sample: list[str] = []
        sample_len = 0
        version_lines = 0
        line_no = 1
        ended = True
        seen: dict[int, dict[object, int]] = {}  # repetition rule → value → line first seen
        dirty, since_plan = False, 0
        for number, block in enumerate(_blocks(stream)):
            offset = result.bytes
            result.bytes += len(block)
            if sample_len < SAMPLE_CHARS:
                piece = block[: SAMPLE_CHARS - sample_len].decode("utf-8", "replace")
                sample.append(piece)
                sample_len += len(piece)
            lower = block.lower()
            if offset == 0:
                self._learn(lower)
            if version_lines < MAX_VERSION_LINES:
                budget = MAX_VERSION_LINES - version_lines
                version_lines += self._versions(block, _lines_containing(lower, _VERSION_KEYWORDS, budget), line_no,
                                                result)
            if dirty and since_plan >= REPLAN_BLOCKS:  # saturated signatures leave the plan
                self._plans.clear()
                dirty, since_plan = False, 0
            since_plan += 1
            plan = self.plan(prose=offset < PROSE_BYTES, costed=number >= PLAN_FROM_BLOCK)
            self._match(block, self._candidate_lines(lower, plan), line_no, result)
            for i in plan.repeats:
                self._repeats(i, block, lower, line_no, seen.setdefault(i, {}), result)
            if plan.combined is not None:
                self._match_unfiltered(block, line_no, plan, result)
            dirty = self._saturated(result) or dirty
            newlines = block.count(b"\n")
            line_no += newlines
            result.lines += newlines
            ended = block.endswith(b"\n")
        if result.bytes and not ended:
            result.lines += 1
        result.sample = "".join(sample)
        return result

    # -- matching ------------------------------------------------------------------------------------------

    def _candidate_lines(self, lower: bytes, plan: _Plan) -> dict[int, set[int]]:
        """Line start offset → indexes into ``self.sigs`` worth running on that line."""
        out: dict[int, set[int]] = {}
        find, rfind = lower.find, lower.rfind
        for lit, sig_indexes in plan.finds:
            pos = find(lit)
            while pos != -1:
                start = rfind(b"\n", 0, pos) + 1
                out.setdefault(start, set()).update(sig_indexes)
                end = find(b"\n", pos)
                if end == -1:
                    break
                pos = find(lit, end)
        for regex, literals in plan.anchored:
            search = regex.search
            m = search(lower)
            while m:
                start = rfind(b"\n", 0, m.start()) + 1
                end = find(b"\n", m.start())
                line = lower[start: len(lower) if end == -1 else end]
                found = [idx for lit, idx in literals if lit in line]
                if found:
                    target = out.setdefault(start, set())
                    for idx in found:
                        target.update(idx)
                if end == -1:
                    break
                m = search(lower, end)
        return out

    def _match(self, block: bytes, starts: dict[int, set[int]], first_line: int, result: ScanResult) -> None:
        line_no, counted_to = first_line, 0
        for start in sorted(starts):
            line_no += block.count(b"\n", counted_to, start)
            counted_to = start
            end = block.find(b"\n", start)
            line = block[start: len(block) if end == -1 else end].rstrip(b"\r")
            self._record(line, line_no, sorted(starts[start]), result)

    def _match_unfiltered(self, block: bytes, first_line: int, plan: _Plan, result: ScanResult) -> None:
        """Signatures without a literal: the combined alternation finds a line, the set says which matched."""
        line_no, counted_to = first_line, 0
        search = plan.combined.search
        m = search(block)
        while m:
            start = block.rfind(b"\n", 0, m.start()) + 1
            end = block.find(b"\n", m.start())
            end = len(block) if end == -1 else end
            line_no += block.count(b"\n", counted_to, start)
            counted_to = start
            line = block[start:end].rstrip(b"\r")
            matched = plan.unfiltered_set.Match(line) or []
            self._record(line, line_no, sorted(plan.unfiltered[k] for k in matched), result)
            m = search(block, end + 1) if end < len(block) else None

    def _repeats(self, i: int, block: bytes, lower: bytes, first_line: int, seen: dict[object, int],
                 result: ScanResult) -> None:
        """A repetition rule over one block: values are collected at C speed; only a block where some value
        repeats (within it, or from an earlier block) is walked match by match to find the lines."""
        sig = self.sigs[i]
        assert sig.repeat is not None
        groups = sig.repeat_groups
        values = [m.group(*groups) for m in sig.repeat.finditer(lower)]
        if not values:
            return
        fresh = {v for v in set(values) if v not in seen}
        repeats = len(values) - len(fresh)
        for value in fresh:
            if len(seen) >= MAX_REPEAT_KEYS:
                break
            seen[value] = 0
        if not repeats:
            return
        hits = result.hits.get(sig.check_id)
        if hits is not None and len(hits.evidence) >= self.max_evidence:  # no more evidence: only the count
            hits.counts[sig.index] = hits.counts.get(sig.index, 0) + repeats
            return
        for value in fresh:  # walk the block in order: the first occurrence of a fresh value is no repeat
            seen.pop(value, None)
        line_no, counted_to = first_line, 0
        for m in sig.repeat.finditer(lower):
            value = m.group(*groups)
            if value not in seen:
                if len(seen) < MAX_REPEAT_KEYS:
                    seen[value] = 0
                continue
            hits = result.hits.get(sig.check_id)
            if hits is not None and len(hits.evidence) >= self.max_evidence:
                hits.counts[sig.index] = hits.counts.get(sig.index, 0) + 1
                continue
            start = lower.rfind(b"\n", 0, m.start()) + 1
            line_no += block.count(b"\n", counted_to, start)
            counted_to = start
            end = block.find(b"\n", start)
            line = block[start: len(block) if end == -1 else end].decode("utf-8", "replace").rstrip("\r")
            self._hit(sig, line, line_no, result)

    def _record(self, line: bytes, line_no: int, sig_indexes: Iterable[int], result: ScanResult) -> None:
        text: str | None = None
        for i in sig_indexes:
            sig = self.sigs[i]
            if sig.repeat is not None or not sig.regex.search(line):
                continue
            if sig.unless is not None and sig.unless.search(line):
                continue
            if text is None:
                text = line.decode("utf-8", "replace")
            self._hit(sig, text, line_no, result)

    def _hit(self, sig: _Sig, line: str, line_no: int, result: ScanResult) -> None:
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
        text = self.redactor.pasted(line.strip())
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
        return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def _lines_containing(lower: bytes, words: Iterable[bytes], limit: int) -> set[int]:
    """Start offsets of lines containing one of ``words``: for each word, its first ``limit`` lines."""
    out: set[int] = set()
    for word in words:
        pos, found = lower.find(word), 0
        while pos != -1 and found < limit:
            found += 1
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


def _combine(patterns: list[str]) -> Any:
    """One RE2 alternation of ``patterns`` (multi-line, so ``^``/``$`` hold at line ends); ``None`` if empty."""
    if not patterns:
        return None
    try:
        return compile_signature(("(?m)" + "|".join(f"(?:{p})" for p in patterns)).encode("utf-8"))
    except SignatureRegexError:  # together over RE2's memory bound: every line goes to the set instead
        return compile_signature(b"(?m)^")
