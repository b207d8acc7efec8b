"""Did-you-mean: the known names closest to a mistyped one. One helper for every "unknown check id" message
(``explain``, ``--only``, ``--skip``), so they all suggest the same way."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

_CUTOFF = 0.6  # difflib's own default: below it names share too little to be a typo of each other
_SPREAD = 0.1


def closest(name: str, known: Iterable[str], *, n: int = 3) -> list[str]:
    """Up to ``n`` known names close to ``name``: by spelling (:mod:`difflib`), and every dotted id whose last
    part is ``name`` (``auth`` -> ``evolution.auth``, ``chatwoot.auth``)."""
    names = sorted(set(known))
    scored = sorted(((difflib.SequenceMatcher(None, name, k).ratio(), k) for k in names), reverse=True)
    best = scored[0][0] if scored else 0.0
    # Only the near-best: "evolution.aut" is evolution.auth, not also evolution.qr and evolution.lid.
    spelled = [k for ratio, k in scored[:n] if ratio >= max(_CUTOFF, best - _SPREAD)]
    by_last_part = [k for k in names if "." in k and k.rsplit(".", 1)[1] == name]
    return list(dict.fromkeys(spelled + by_last_part))[:n]


def unknown_check(check_id: str, known: Iterable[str], *, flag: str = "") -> str:
    """``no check 'x'; did you mean a, b?`` (or a pointer to ``evodiag catalog`` when nothing is close)."""
    close = closest(check_id, known)
    hint = f"; did you mean {', '.join(close)}?" if close else " (see `evodiag catalog`)"
    return f"{flag + ': ' if flag else ''}no check {check_id!r}{hint}"
