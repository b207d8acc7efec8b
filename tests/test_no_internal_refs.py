"""Users cannot open the developers' reference notes: nothing evodiag prints or ships may cite them.

Internal references look like "evolution-api.md §6.5" or a machine path such as /work/shared/reference/…; the
upstream issue URL or tagged source line they stand for is what belongs in the package instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "evodiag"
# A note section ("§6.5"), the notes' file names, their citation keys ("R@2.3.6:src/…", "CW@4.10.1:app/…") or
# their location on a developer machine.
INTERNAL = re.compile(r"§|shared/reference|/work/|\b(?:evolution-api|chatwoot|openim|field-failure-modes|anchors-cli)"
                      r"\.md\b|\b(?:R|CW|EVO)@\d")
MACHINE_PATH = re.compile(r"shared/reference|/work/")


def catalog_files() -> list[Path]:
    return [ROOT / "checks.yaml", *sorted((ROOT / "checks").glob("*.yaml"))]


def internal_lines(path: Path, pattern: re.Pattern[str] = INTERNAL, base: Path = ROOT) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [f"{path.relative_to(base)}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)]


def docstring_ids(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def internal_string_literals(path: Path, base: Path = ROOT) -> list[str]:
    """String literals other than docstrings: the text evodiag can print (messages, findings, lab scenarios)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstring_ids(tree)
    return [f"{path.relative_to(base)}:{node.lineno}: {node.value[:100]!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and INTERNAL.search(node.value)]


def test_the_catalog_cites_no_internal_notes() -> None:
    found = [hit for path in catalog_files() for hit in internal_lines(path)]
    assert not found, "internal references in the catalog:\n" + "\n".join(found)


def test_no_package_file_names_a_machine_path() -> None:
    """Comments and docstrings included: the notes' location on a developer machine means nothing to a user."""
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in internal_lines(path, MACHINE_PATH)]
    assert not found, "paths outside the repository in the package:\n" + "\n".join(found)


def test_no_package_file_cites_the_notes() -> None:
    """Every package file, comments and docstrings included: a comment cites the upstream issue or tagged source
    line (or nothing), never a note section a reader cannot open."""
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in internal_lines(path)]
    assert not found, "internal references in the package:\n" + "\n".join(found)


def test_no_printable_string_cites_internal_notes() -> None:
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in internal_string_literals(path)]
    assert not found, "internal references in strings evodiag can print:\n" + "\n".join(found)


def test_the_detector_sees_an_internal_reference(tmp_path: Path) -> None:
    """The scan itself must be able to fail: a planted reference is found, with file and line."""
    planted = tmp_path / "planted.py"
    planted.write_text('"""Docstrings are not scanned: evolution-api.md §1."""\nOK = "fine"\n'
                       'TEXT = "see evolution-api.md §6.5"\n', encoding="utf-8")
    assert internal_string_literals(planted, tmp_path) == ["planted.py:3: 'see evolution-api.md §6.5'"]


def test_the_line_scan_sees_every_form_of_internal_citation(tmp_path: Path) -> None:
    """Comments are scanned line by line: a section, a note's name and a citation key are each caught."""
    planted = tmp_path / "planted.py"
    planted.write_text("# ref §6.5\n# see chatwoot.md\n# R@2.3.6:src/main.ts#L110\n# CW@4.10.1:app/x.rb\n"
                       "# https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/main.ts#L110\n"
                       "# mail R@x, README.md, OR@1\n", encoding="utf-8")
    hits = [hit.split(":")[1] for hit in internal_lines(planted, base=tmp_path)]
    assert hits == ["1", "2", "3", "4"]
