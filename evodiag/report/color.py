"""Whether the terminal view is coloured: ``--color always|never`` decides; with ``auto`` (the default) NO_COLOR
turns colour off, FORCE_COLOR turns it on where the output is not a terminal (GitHub Actions logs render colour),
else colour on a TTY only. See https://no-color.org and https://force-color.org."""

from __future__ import annotations

import os
from typing import IO

COLOR_MODES = ("auto", "always", "never")


def wants_color(mode: str, stream: IO[str]) -> bool:
    if mode in ("always", "never"):
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "").lower() not in ("", "0", "false", "no"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()
