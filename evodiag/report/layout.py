"""Lines of terminal text that wrap at the screen width and keep their indentation. A command is never wrapped:
it must paste as one line."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass

DEFAULT_WIDTH = 100  # piped output: wide enough for most lines, narrow enough to read in a CI log


@dataclass(frozen=True)
class Line:
    """``text`` printed after ``indent`` spaces; continuation lines start at ``indent + hang``."""

    text: str
    style: str = ""
    indent: int = 0
    hang: int = 2
    wrap: bool = True


BLANK = Line("")


def screen_width() -> int:
    """The terminal's width; ``COLUMNS`` when set (tests and pipes); else :data:`DEFAULT_WIDTH`."""
    return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def wrapped(line: Line, width: int) -> list[str]:
    """The printed rows of one line. Words are never cut (a URL longer than the width stays whole)."""
    first = " " * line.indent
    if not line.text:
        return [""]
    rows: list[str] = []
    rest = first + " " * line.hang
    for i, paragraph in enumerate(line.text.splitlines() or [""]):
        lead = first if i == 0 else rest
        if not line.wrap or len(lead) + len(paragraph) <= width:
            rows.append(lead + paragraph)
            continue
        rows.extend(textwrap.wrap(paragraph, width, initial_indent=lead, subsequent_indent=rest,
                                  break_long_words=False, break_on_hyphens=False) or [lead])
    return rows


def plain(lines: list[Line], width: int) -> str:
    return "".join(row.rstrip() + "\n" for line in lines for row in wrapped(line, width))
