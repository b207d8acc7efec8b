"""Triage on the real-ticket corpus: top-1, top-3 and distractor rate per set, the holdout's calibration and
per-check table, and (--tickets) every ticket's result. Reads tests/triage/real/; asserts nothing.

The self-written corpus (tests/triage/corpus/) is printed as a separate set: the same hands wrote it and the
signatures, so it is not a measure of anything.

    python benchmarks/triage_real_corpus.py [--tickets] [--catalog FILE ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.triage.real_corpus

from evodiag.catalog.loader import load_catalog
from tests.triage.real_corpus import (
    FROZEN_BATCHES,
    calibration_table,
    evaluate,
    holdout_of,
    load_real,
    load_self_written,
    misses,
    per_check_table,
    summary_table,
)


def main(argv: list[str]) -> int:
    show_tickets = "--tickets" in argv
    extra = [Path(a) for a in argv if a not in ("--tickets", "--catalog")]
    catalog = load_catalog(extra)
    tickets = load_real()
    frozen = "+".join(str(b) for b in sorted(FROZEN_BATCHES))
    holdout = evaluate(catalog, holdout_of(tickets, [1]), "real holdout batch 1 (frozen)")
    holdout_all = evaluate(catalog, holdout_of(tickets), f"real holdout batches {frozen} (frozen)")
    tuning = evaluate(catalog, [t for t in tickets if t.set == "tuning"], "real tuning (all batches)")
    self_written = evaluate(catalog, load_self_written(), "self-written corpus (not a measure)")
    print(summary_table([holdout, holdout_all, tuning, self_written]))
    print()
    print(calibration_table(holdout))
    print()
    print(calibration_table(holdout_all))
    print()
    print(per_check_table(holdout_all, catalog))
    print()
    print(per_check_table(tuning, catalog))
    if show_tickets:
        for figures in (holdout_all, tuning):
            print()
            print(misses(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
