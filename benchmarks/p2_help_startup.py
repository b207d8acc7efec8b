"""P2: `evodiag --help` start-up time relative to `python -c "import typer"` (median of N runs each, measured in
one run on this machine). Target ratio <= 1.5. Asserts nothing.

    python benchmarks/p2_help_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    baseline = median_seconds([sys.executable, "-c", "import typer"], args.runs)
    helped = median_seconds([sys.executable, "-m", "evodiag", "--help"], args.runs)
    check_help = median_seconds([sys.executable, "-m", "evodiag", "check", "--help"], args.runs)
    print(f"P2 import typer median={baseline * 1000:.0f} ms")
    print(f"P2 evodiag --help median={helped * 1000:.0f} ms  ratio={helped / baseline:.2f}  (target <= 1.5)")
    print(f"P2 evodiag check --help median={check_help * 1000:.0f} ms  ratio={check_help / baseline:.2f}")


if __name__ == "__main__":
    main()
