"""Catalog validation: every error names the file, the line and the check id, and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from evodiag.catalog.loader import load_catalog, load_catalog_text
from evodiag.errors import CatalogError

GOOD = """version: 1
checks:
  - id: a.one
    title: one
    stage: auth
    doc: {what: w, why: y}
    request: {url: "{evolution.url}/"}
  - id: a.two
    title: two
    stage: api
    requires: [a.one]
    doc: {what: w, why: y}
    request: {url: "{evolution.url}/"}
"""


def error_of(text: str) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog_text(text, "cat.yaml")
    return str(info.value)


def test_good_catalog_loads() -> None:
    cat = load_catalog_text(GOOD)
    assert [c.id for c in cat.ordered()] == ["a.one", "a.two"]
    assert cat.dependents("a.one") == {"a.two"}


def test_unknown_key_names_file_line_and_check() -> None:
    msg = error_of(GOOD.replace("    stage: api\n", "    stage: api\n    staus: x\n"))
    assert msg == "cat.yaml:11: check a.two: checks[1].staus: unknown key 'staus' (did you mean 'stage'?)"


def test_wrong_type() -> None:
    msg = error_of(GOOD.replace("requires: [a.one]", "requires: a.one"))
    assert msg.startswith("cat.yaml:11: check a.two: checks[1].requires: expected list[str], got str")


def test_unknown_requires() -> None:
    assert "requires unknown check 'a.zero'" in error_of(GOOD.replace("[a.one]", "[a.zero]"))


def test_cycle() -> None:
    text = GOOD.replace("    stage: auth\n", "    stage: auth\n    requires: [a.two]\n")
    text = text.replace("stage: api", "stage: auth")
    assert "dependency cycle: a.one -> a.two -> a.one" in error_of(text)


def test_duplicate_id() -> None:
    msg = error_of(GOOD.replace("id: a.two", "id: a.one"))
    assert "cat.yaml:8: check a.one: duplicate id (first defined at line 3)" in msg


def test_requires_a_later_stage() -> None:
    text = GOOD.replace("    stage: auth\n", "    stage: auth\n    requires: [a.two]\n").replace(
        "    requires: [a.one]\n", "")
    assert "runs in a later stage" in error_of(text)


def test_bad_regex_and_bad_version_range() -> None:
    bad_regex = GOOD + "    diagnoses:\n      - when: {body: '(unclosed'}\n        status: fail\n        message: m\n"
    assert "invalid regex" in error_of(bad_regex)
    bad_range = (GOOD + "    diagnoses:\n      - when: {values: {x.v: {version: 'abc'}}}\n"
                 "        status: fail\n        message: m\n")
    assert "bad version bound" in error_of(bad_range)


def test_malformed_yaml_is_one_line() -> None:
    msg = error_of("checks:\n  - id: [unclosed\n")
    assert msg.startswith("cat.yaml:") and "invalid YAML" in msg and "\n" not in msg


def test_check_needs_request_or_probe() -> None:
    no_request = GOOD.replace('    request: {url: "{evolution.url}/"}\n  - id: a.two', "  - id: a.two")
    assert "needs 'request'" in error_of(no_request)


def test_default_catalog_is_valid_and_probes_resolve() -> None:
    from evodiag.engine.runner import resolve_probe

    cat = load_catalog()
    assert "evolution.reachable" in cat.checks
    for check in cat.checks.values():
        if check.probe:
            resolve_probe(check.probe)
        for diag in check.diagnoses:
            assert diag.message.strip()


def test_extra_catalog_overrides_by_id(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(GOOD.replace("id: a.one", "id: evolution.reachable").replace("title: one", "title: mine")
                     .replace("[a.one]", "[evolution.reachable]"))
    cat = load_catalog([extra])
    assert cat.checks["evolution.reachable"].title == "mine"
    assert "a.two" in cat.checks
