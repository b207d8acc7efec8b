"""The real-ticket corpus (tests/triage/real/) and how triage is measured on it.

Shared by tests/triage/test_real_corpus.py (asserts floors, checks the holdout is frozen) and
benchmarks/triage_real_corpus.py (prints the tables). Nothing here tunes anything: it reads labels, runs
``triage_stream`` and counts.

Figures, per set of tickets:
- top-1: share of labelled tickets whose first diagnosis is one of the ticket's checks;
- top-3: share of labelled tickets with one of its checks among the first three diagnoses;
- distractor rate: share of distractors (no check applies) that get any diagnosis at all;
- calibration: the first diagnosis of every ticket, bucketed by its confidence, and the share of them that were
  right (a diagnosis on a distractor is wrong).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from evodiag.catalog.model import Catalog
from evodiag.triage import triage_stream

REAL = Path(__file__).parent / "real"
LABELS = REAL / "labels.yaml"
SELF_WRITTEN = Path(__file__).parent / "corpus"
HOLDOUT_PERCENT = 50  # a ticket of a frozen batch is in the holdout when its id hashes below this (see split_of)
# Frozen holdout batches: batch number -> manifest of its ticket files (sha256sum format) and labels digest.
# Batch 2 has no holdout (all tuning); batches 3 and up are split like batch 1 and frozen when they land.
FROZEN_BATCHES = {batch: (REAL / f"holdout-batch{batch}.sha256", REAL / f"holdout-batch{batch}.labels.sha256")
                  for batch in (1, 3, 4, 5)}
BUCKETS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01))


@dataclass(frozen=True)
class Ticket:
    id: str
    path: Path
    checks: tuple[str, ...]  # checks that diagnose the ticket, first = primary; () for a distractor
    language: str = ""
    set: str = "tuning"
    batch: int = 1
    weak: bool = False

    @property
    def distractor(self) -> bool:
        return not self.checks


@dataclass
class Outcome:
    ticket: Ticket
    got: list[tuple[str, float]]  # (check id, confidence), best first

    @property
    def top1(self) -> bool:
        return bool(self.got) and self.got[0][0] in self.ticket.checks

    @property
    def top3(self) -> bool:
        return any(cid in self.ticket.checks for cid, _ in self.got[:3])


@dataclass
class Figures:
    name: str
    labelled: int = 0
    top1: int = 0
    top3: int = 0
    distractors: int = 0
    diagnosed_distractors: int = 0
    unknown_checks: int = 0  # labelled tickets whose checks are all missing from the catalog measured
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.labelled if self.labelled else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.labelled if self.labelled else 0.0

    @property
    def distractor_rate(self) -> float:
        return self.diagnosed_distractors / self.distractors if self.distractors else 0.0


def split_of(ticket_id: str) -> str:
    """The deterministic split of every frozen batch: the first 32 bits of sha256(id), below HOLDOUT_PERCENT %
    → holdout."""
    value = int(hashlib.sha256(ticket_id.encode()).hexdigest()[:8], 16)
    return "holdout" if value % 100 < HOLDOUT_PERCENT else "tuning"


def load_real(path: Path = LABELS) -> list[Ticket]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["tickets"]
    return [Ticket(r["id"], path.parent / r["file"], tuple(r["checks"]), r["language"], r["set"],
                   int(r.get("batch", 1)), bool(r["weak"])) for r in rows]


def holdout_of(tickets: Iterable[Ticket], batches: Iterable[int] | None = None) -> list[Ticket]:
    """Holdout tickets of the given frozen batches, or of all of them."""
    wanted = set(FROZEN_BATCHES if batches is None else batches)
    return [t for t in tickets if t.set == "holdout" and t.batch in wanted]


def load_self_written() -> list[Ticket]:
    """The old corpus, written by the same hands as the signatures: ``a|b`` alternatives all count as right."""
    tickets = []
    for directory, name in ((SELF_WRITTEN, "self-written dev"), (SELF_WRITTEN / "holdout", "self-written holdout")):
        index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
        for file, groups in sorted(index.items()):
            checks = tuple(dict.fromkeys(c for g in groups for c in g.split("|")))
            tickets.append(Ticket(file, directory / file, checks, set=name))
    return tickets


def evaluate(catalog: Catalog, tickets: Iterable[Ticket], name: str) -> Figures:
    figures = Figures(name)
    for ticket in tickets:
        result = triage_stream(io.BytesIO(ticket.path.read_bytes()), catalog)
        outcome = Outcome(ticket, [(d.id, d.confidence) for d in result.diagnoses])
        figures.outcomes.append(outcome)
        if ticket.distractor:
            figures.distractors += 1
            figures.diagnosed_distractors += bool(outcome.got)
            continue
        figures.labelled += 1
        figures.top1 += outcome.top1
        figures.top3 += outcome.top3
        figures.unknown_checks += not any(c in catalog.checks for c in ticket.checks)
    return figures


def calibration(figures: Figures) -> list[tuple[str, int, int]]:
    """(bucket, diagnoses reported in it, how many were right) over every ticket's first diagnosis."""
    rows = []
    for low, high in BUCKETS:
        firsts = [o for o in figures.outcomes if o.got and low <= o.got[0][1] < high]
        label = f"{low:.1f}-{min(high, 1.0):.1f}"
        rows.append((label, len(firsts), sum(o.top1 for o in firsts)))
    return rows


def summary_table(all_figures: Sequence[Figures]) -> str:
    head = f"{'set':38} {'tickets':>7} {'labelled':>8} {'top-1':>13} {'top-3':>13} {'distractors diagnosed':>22}"
    lines = [head, "-" * len(head)]
    for f in all_figures:
        lines.append(f"{f.name:38} {f.labelled + f.distractors:7d} {f.labelled:8d} "
                     f"{f.top1:4d} ({f.top1_rate:4.0%}) {f.top3:4d} ({f.top3_rate:4.0%}) "
                     f"{f.diagnosed_distractors:6d}/{f.distractors:<3d} ({f.distractor_rate:4.0%})")
    return "\n".join(lines)


def calibration_table(figures: Figures) -> str:
    lines = [f"calibration, {figures.name} (first diagnosis of each ticket; on a distractor it is wrong):",
             f"  {'confidence':10} {'reported':>8} {'right':>6} {'share':>6}"]
    for label, n, right in calibration(figures):
        share = f"{right / n:6.0%}" if n else "     -"
        lines.append(f"  {label:10} {n:8d} {right:6d} {share}")
    silent = sum(1 for o in figures.outcomes if not o.got)
    lines.append(f"  no diagnosis: {silent} ticket(s)")
    return "\n".join(lines)


def per_check_table(figures: Figures, catalog: Catalog) -> str:
    """Labelled tickets per primary check: how many, top-1 and top-3 hits; '(not in catalog)' marks labels
    naming a check the measured catalog does not have yet."""
    rows: dict[str, list[int]] = {}
    for o in figures.outcomes:
        if o.ticket.distractor:
            continue
        row = rows.setdefault(o.ticket.checks[0], [0, 0, 0])
        row[0] += 1
        row[1] += o.top1
        row[2] += o.top3
    lines = [f"per primary check, {figures.name}:"]
    for cid, (n, t1, t3) in sorted(rows.items()):
        note = "" if cid in catalog.checks else "  (not in catalog)"
        lines.append(f"  {cid:28} {n:3d} tickets  top-1 {t1:3d}  top-3 {t3:3d}{note}")
    return "\n".join(lines)


def misses(figures: Figures) -> str:
    lines = [f"per ticket, {figures.name} (ok = top-1 right, near = right in top 3):"]
    for o in figures.outcomes:
        got = ", ".join(f"{cid} {conf:.2f}" for cid, conf in o.got[:3]) or "-"
        if o.ticket.distractor:
            mark = "FP  " if o.got else "ok  "
        else:
            mark = "ok  " if o.top1 else "near" if o.top3 else "MISS"
        expected = "|".join(o.ticket.checks) or "(distractor)"
        lines.append(f"  {mark} {o.ticket.id:22} want {expected:60} got {got}")
    return "\n".join(lines)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def labels_digest(tickets: Iterable[Ticket]) -> str:
    """Digest of what a holdout ticket is labelled with (id, checks), in id order."""
    canon = json.dumps(sorted([t.id, list(t.checks)] for t in tickets), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def read_manifest(path: Path) -> dict[str, str]:
    """``sha256sum`` format: '<hex>  <path relative to tests/triage/real>' per line."""
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            entries[name.strip()] = digest
    return entries
