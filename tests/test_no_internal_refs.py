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
INTERNAL = re.compile(r"§|shared/reference|/work/")
MACHINE_PATH = re.compile(r"shared/reference|/work/")


# Comments and docstrings here still cite note sections ("ref §6.4"); issue 12 asks for upstream links there
# too. Shrink this list as files are converted; a file not on it must be free of "§" everywhere.
NOT_YET_CONVERTED = frozenset({
    "evodiag/envfiles/compose.py",
    "evodiag/envfiles/images.py",
    "evodiag/envfiles/known.py",
    "evodiag/lab/chatwoot/__init__.py",
    "evodiag/lab/chatwoot/auth.py",
    "evodiag/lab/chatwoot/filters.py",
    "evodiag/lab/chatwoot/model.py",
    "evodiag/lab/chatwoot/operations.py",
    "evodiag/lab/chatwoot/rails.py",
    "evodiag/lab/chatwoot/routes/contacts.py",
    "evodiag/lab/chatwoot/routes/conversations.py",
    "evodiag/lab/chatwoot/routes/inboxes.py",
    "evodiag/lab/chatwoot/routes/server.py",
    "evodiag/lab/chatwoot/state.py",
    "evodiag/lab/chatwoot/texts.py",
    "evodiag/lab/chatwoot/views.py",
    "evodiag/lab/chatwoot/webhooks.py",
    "evodiag/lab/evolution/__init__.py",
    "evodiag/lab/evolution/app.py",
    "evodiag/lab/evolution/chatwoot_sync.py",
    "evodiag/lab/evolution/guards.py",
    "evodiag/lab/evolution/model.py",
    "evodiag/lab/evolution/outbound.py",
    "evodiag/lab/evolution/payloads.py",
    "evodiag/lab/evolution/routes/chatwoot.py",
    "evodiag/lab/evolution/routes/instance.py",
    "evodiag/lab/evolution/routes/message.py",
    "evodiag/lab/evolution/routes/server.py",
    "evodiag/lab/evolution/routes/webhook.py",
    "evodiag/lab/evolution/settings.py",
    "evodiag/lab/evolution/state.py",
    "evodiag/lab/evolution/whatsapp.py",
    "evodiag/lab/openim.py",
    "evodiag/lab/runtime.py",
    "evodiag/netinfo/classify.py",
    "evodiag/netinfo/urls.py",
    "evodiag/probes/callgraph.py",
    "evodiag/probes/chatwoot.py",
    "evodiag/probes/chatwoot_sync.py",
    "evodiag/probes/chatwoot_webhook.py",
    "evodiag/probes/configlint.py",
    "evodiag/probes/evolution.py",
    "evodiag/probes/evolution_instance.py",
    "evodiag/probes/evolution_integrations.py",
    "evodiag/webhook/capture.py",
})


def catalog_files() -> list[Path]:
    return [ROOT / "checks.yaml", *sorted((ROOT / "checks").glob("*.yaml"))]


def internal_lines(path: Path, pattern: re.Pattern[str] = INTERNAL) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
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


def test_converted_package_files_cite_no_note_sections() -> None:
    """Outside NOT_YET_CONVERTED, no '§' even in comments and docstrings (new files start clean)."""
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             if str(path.relative_to(ROOT)) not in NOT_YET_CONVERTED for hit in internal_lines(path)]
    assert not found, "internal references in the package:\n" + "\n".join(found)


def test_not_yet_converted_list_is_current() -> None:
    """An entry whose file no longer cites a section must leave the list, so the list cannot hide regressions."""
    stale = sorted(name for name in NOT_YET_CONVERTED
                   if not (ROOT / name).exists() or not internal_lines(ROOT / name))
    assert not stale, "remove from NOT_YET_CONVERTED: " + ", ".join(stale)


def test_no_printable_string_cites_internal_notes() -> None:
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in internal_string_literals(path)]
    assert not found, "internal references in strings evodiag can print:\n" + "\n".join(found)


def test_the_detector_sees_an_internal_reference(tmp_path: Path) -> None:
    """The scan itself must be able to fail: a planted reference is found, with file and line."""
    planted = tmp_path / "planted.py"
    planted.write_text('"""Docstrings are not scanned: evolution-api.md §1."""\nOK = "fine"\n'
                       'TEXT = "see evolution-api.md §6.5"\n', encoding="utf-8")
    assert internal_string_literals(planted, tmp_path) == ["planted.py:3: 'see evolution-api.md §6.5'"]
