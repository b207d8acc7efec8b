"""P1: the full catalog against the lab with injected latency on every request.

Prints wall time / critical path, where the critical path is the longest chain of *sequential* round trips
through the `requires` graph (stage barriers included), times the injected latency. Target <= 1.3.
Also prints the sequential figure (--concurrency 1) for comparison. Asserts nothing: a measurement, not a test.

    python benchmarks/p1_pipeline_latency.py [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import time

from evodiag.catalog.model import STAGES
from evodiag.lab.runtime import start_lab


def critical_path(report: object) -> int:
    """Longest chain of sequential round trips, honouring requires and stage order."""
    results = {r.id: r for r in report.results}  # type: ignore[attr-defined]
    checks = report.catalog.checks  # type: ignore[attr-defined]
    finish: dict[str, int] = {}
    stage_start = 0
    for stage in STAGES:
        ids = [cid for cid, r in results.items() if r.stage == stage]
        for cid in ids:  # results come in stage order; within a stage resolve requires recursively
            _finish(cid, results, checks, finish, stage_start)
        stage_end = max([finish[c] for c in ids], default=stage_start)
        stage_start = stage_end
    return max(finish.values(), default=0)


def _finish(cid: str, results: dict, checks: dict, finish: dict[str, int], stage_start: int) -> int:
    if cid in finish:
        return finish[cid]
    start = stage_start
    for req in (*checks[cid].requires, *checks[cid].after):
        if req in results and results[req].stage == results[cid].stage:
            start = max(start, _finish(req, results, checks, finish, stage_start))
    finish[cid] = start + results[cid].round_trips
    return finish[cid]


def measure(latency_ms: float, concurrency: int) -> tuple[float, float, int, int]:
    """(wall time of the whole run incl. catalog load, pipeline time, critical path, requests)."""
    with start_lab("healthy", latency_ms=latency_ms, generate_traffic=True) as lab:
        started = time.perf_counter()
        report = lab.run(concurrency=concurrency, timeout=10)
        wall = time.perf_counter() - started
    requests = sum(r.exchanges for r in report.results)
    return wall, report.duration_ms / 1000, critical_path(report), requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=100)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    wall, pipeline, depth, requests = measure(args.latency_ms, 0)
    seq_wall, _, _, _ = measure(args.latency_ms, 1)
    ideal = depth * latency
    print(f"P1 latency={args.latency_ms:.0f} ms  requests={requests}  critical path={depth} round trips "
          f"({ideal:.2f} s)")
    print(f"P1 concurrent: wall={wall:.2f} s (pipeline {pipeline:.2f} s + start-up {wall - pipeline:.2f} s)  "
          f"ratio wall/critical-path={wall / ideal:.2f}  pipeline/critical-path={pipeline / ideal:.2f}  "
          "(target <= 1.3)")
    print(f"P1 sequential (--concurrency 1): wall={seq_wall:.2f} s  ratio={seq_wall / ideal:.2f}  "
          f"concurrency speed-up={seq_wall / wall:.1f}x")


if __name__ == "__main__":
    main()
