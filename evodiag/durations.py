"""Durations the way people read them: "0.3 s", "4.2 min", "3.0 h", "730.0 days", never "63072765.4 s"."""

from __future__ import annotations

_UNITS = ((86_400.0, "days"), (3_600.0, "h"), (60.0, "min"))


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    size = abs(seconds)
    for unit_s, unit in _UNITS:
        if size >= unit_s:
            return f"{seconds / unit_s:.1f} {unit}"
    return f"{seconds:.1f} s"
