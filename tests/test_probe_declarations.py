"""Each probe's ``@probe`` declaration against the real catalog and against its own source code (read with
``ast``, see tests/probe_usage.py): declared names exist in the catalog, used names are declared."""

from __future__ import annotations

import re

import pytest

from evodiag.catalog.loader import load_catalog, load_catalog_text
from evodiag.catalog.model import Check
from evodiag.config import Settings
from evodiag.engine.context import ProbeContext, RunOptions, RunState, UndeclaredName
from evodiag.engine.http import HttpClient
from evodiag.probes.declare import ProbeSpec, resolve
from tests.probe_usage import PACKAGE, SCANNED, Usage, scan, used_by

CATALOG = load_catalog()
PROBE_CHECKS = [c for c in CATALOG.checks.values() if c.probe]
USAGE = scan()
SOURCES = "\n".join(p.read_text(encoding="utf-8") for folder in SCANNED for p in (PACKAGE / folder).glob("*.py"))


def spec_and_usage(check: Check) -> tuple[ProbeSpec, Usage]:
    assert check.probe
    module, _, function = check.probe.partition(":")
    return resolve(check.probe)[1], used_by(f"evodiag.probes.{module}:{function}", USAGE)


def test_every_probe_check_is_covered() -> None:
    assert len(PROBE_CHECKS) >= 25


@pytest.mark.parametrize("check", PROBE_CHECKS, ids=lambda c: c.id)
def test_declared_diagnoses_and_texts_exist_in_the_real_catalog(check: Check) -> None:
    spec, _ = spec_and_usage(check)
    assert spec.check == check.id, f"{check.probe} is declared for {spec.check}"
    named = {d.name for d in check.diagnoses if d.name}
    assert spec.diagnoses <= named, spec.diagnoses - named
    assert spec.texts <= {name for name, _ in check.texts}


@pytest.mark.parametrize("check", PROBE_CHECKS, ids=lambda c: c.id)
def test_every_name_the_code_uses_is_declared(check: Check) -> None:
    spec, used = spec_and_usage(check)
    named = {d.name for d in check.diagnoses if d.name}
    text_names = {name for name, _ in check.texts}
    assert used.exact["diagnoses"] | (used.loose["diagnoses"] & named) <= spec.diagnoses
    assert used.exact["texts"] | (used.loose["texts"] & text_names) <= spec.texts
    assert used.exact["reads"] <= spec.reads
    assert used.exact["publishes"] <= spec.publishes


@pytest.mark.parametrize("check", PROBE_CHECKS, ids=lambda c: c.id)
def test_every_declared_name_is_used_by_the_code(check: Check) -> None:
    """No dead declaration: each declared diagnosis and text is named in the code the probe runs (names built
    by helpers are only found as literals), each value is passed somewhere."""
    spec, used = spec_and_usage(check)
    assert spec.diagnoses - used.mentioned == set()
    assert spec.texts - used.mentioned == set()
    for value in spec.values:
        assert re.search(rf'\b{re.escape(value)}=|"{re.escape(value)}"', SOURCES), value


def _context(spec: ProbeSpec) -> ProbeContext:
    catalog = load_catalog_text("""version: 1
checks:
  - id: evolution.known_issues
    title: t
    stage: api
    doc: {what: w, why: y}
    probe: evolution:known_issues
    diagnoses:
      - {name: found, status: warn, message: "{count} {summary} {workarounds}"}
      - {name: none, status: pass, message: "none{covered_text}"}
      - {name: unknown_version, status: skip, message: unknown}
    texts: {covered_text: " ({covered})", issue_note: "{id}", possible_note: "{id}"}
""")
    state = RunState(catalog, Settings({"evolution.version": "2.3.6"}), RunOptions(), HttpClient(timeout=1))
    return ProbeContext(catalog.checks["evolution.known_issues"], state, spec)


def test_probe_context_refuses_undeclared_names() -> None:
    spec = resolve("evolution:known_issues")[1]
    ctx = _context(spec)
    assert ctx.diagnose("none", covered_text="").message == "none"
    assert ctx.text("covered_text", covered="x") == "(x)"  # texts are stripped, like messages
    assert ctx.value("evolution.version") == "2.3.6"
    for call in (lambda: ctx.diagnose("found_it"), lambda: ctx.text("note"), lambda: ctx.value("evolution.url"),
                 lambda: ctx.publish("evolution.version", "1")):
        with pytest.raises(UndeclaredName, match=r"evodiag/probes/evolution\.py:\d+"):
            call()
