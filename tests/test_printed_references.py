"""Every upstream reference evodiag prints is a link the user can open (issue 12).

"#631", "evo#833" or "chatwoot#11474" means nothing in a terminal or a pasted report: which tracker, which
repository? Evolution's issues even moved between GitHub organisations. Printed text therefore cites the full
URL. Printed text here is every catalog string a user can see (titles, doc, messages, remediation, texts,
signature notes, known issues), the lab scenarios' descriptions, and every other string literal in the package
(the duplicate-webhook known issues, the wrong-name explanations, ...); docstrings and comments are not printed.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import AppliesWhen, Condition, HttpRequest, Matcher, Signature
from evodiag.lab.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "evodiag"

URL = re.compile(r"https?://\S+")
# "#631", "evo#833", "evolution-api#605", "PR #2716". Not an HTML entity (&#123;), and not a Chatwoot
# conversation's display id ("conversation #12"), which is data rather than a reference.
BARE_REF = re.compile(r"(?<![\w&])(?<!conversation )(?:[A-Za-z][\w-]*)?#\d+\b")

# Catalog fields that are never shown as prose: regexes, requests, conditions, identifiers.
_NOT_PRINTED = frozenset({"pattern", "unless", "request", "when", "applies_when", "extract", "id", "probe",
                          "requires", "after", "tags", "file", "key_lines", "observed_by", "project"})
_NOT_PRINTED_TYPES = (HttpRequest, Condition, Matcher, AppliesWhen)


def bare_refs(text: str) -> list[str]:
    return BARE_REF.findall(URL.sub("", text))


def printed_strings(obj: Any, where: str) -> Iterator[tuple[str, str]]:
    """(where, text) for every string a catalog object can print."""
    if isinstance(obj, str):
        yield where, obj
    elif isinstance(obj, _NOT_PRINTED_TYPES):
        return
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name not in _NOT_PRINTED:
                yield from printed_strings(getattr(obj, f.name), f"{where}.{f.name}")
    elif isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            yield from printed_strings(item, f"{where}[{i}]")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from printed_strings(item, f"{where}.{key}")


def offenders(pairs: Iterator[tuple[str, str]]) -> list[str]:
    return [f"{where}: {ref}" for where, text in pairs for ref in bare_refs(text)]


def string_literals(path: Path) -> Iterator[tuple[str, str]]:
    """Non-docstring string literals of a module, with file:line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield f"{path.relative_to(ROOT)}:{node.lineno}", node.value


def test_the_catalog_prints_no_bare_issue_number() -> None:
    catalog = load_catalog()
    pairs = [pair for check in catalog.checks.values() for pair in printed_strings(check, check.id)]
    pairs += [pair for issue in catalog.known_issues for pair in printed_strings(issue, f"known_issues.{issue.id}")]
    assert len(pairs) > 500, "the walk must reach the catalog's prose"
    found = offenders(iter(pairs))
    assert not found, "bare issue references in the catalog (cite the full URL):\n" + "\n".join(found)


def test_scenario_descriptions_print_no_bare_issue_number() -> None:
    found = offenders((f"scenario {name}", s.description) for name, s in SCENARIOS.items())
    assert not found, "bare issue references in lab scenarios:\n" + "\n".join(found)


def test_no_package_string_prints_a_bare_issue_number() -> None:
    found = offenders(pair for path in sorted(PACKAGE.rglob("*.py")) for pair in string_literals(path))
    assert not found, "bare issue references in strings evodiag can print:\n" + "\n".join(found)


def test_the_detector_tells_references_from_links() -> None:
    """It must be able to fail, and must not fire on the link forms that replace a reference."""
    assert bare_refs("duplicate deliveries (#631), see evo#833 and chatwoot#11474; PR #2716") == [
        "#631", "evo#833", "chatwoot#11474", "#2716"]
    assert bare_refs("https://github.com/evolution-foundation/evolution-api/issues/631 and "
                     "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/main.ts#L110-L116") == []
    assert bare_refs("reached Chatwoot: conversation #12, &#123;") == []
    signature = Signature(pattern=r"#1\d+ in a regex is no text", note="wrong method (#2223)")
    assert offenders(printed_strings(signature, "sig")) == ["sig.note: #2223"]
