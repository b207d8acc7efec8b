"""The lab contract: against each scenario, exactly the checks in its row fail (or warn); everything else passes,
skips, or is blocked. One root cause, one finding. Rows whose checks are not in the catalog yet are marked
expected-to-fail (never silently skipped)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evodiag.catalog.loader import load_catalog
from evodiag.engine.results import Status
from evodiag.lab.runtime import start_lab
from evodiag.lab.scenarios import SCENARIOS

CATALOG_IDS = set(load_catalog().checks)


def _cases() -> list[object]:
    cases = []
    for spec in SCENARIOS.values():
        missing = [cid for cid in spec.expect if cid not in CATALOG_IDS]
        reason = f"checks not built yet: {', '.join(missing)}"
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if missing else []
        cases.append(pytest.param(spec.name, spec.evolution_version, id=spec.name, marks=marks))
    return cases


def findings(scenario: str, evolution_version: str | None = None, chatwoot_version: str | None = None,
             locale: str | None = None) -> dict[str, str]:
    with start_lab(scenario, evolution_version=evolution_version, chatwoot_version=chatwoot_version,
                   locale=locale) as lab:
        report = lab.run()
    return {r.id: f"{r.status.value}: {r.message}" for r in report.results
            if r.status in (Status.FAIL, Status.WARN, Status.ERROR)}


@pytest.mark.parametrize("scenario,evolution_version", _cases())
def test_scenario_fails_exactly_its_row(scenario: str, evolution_version: str) -> None:
    spec = SCENARIOS[scenario]
    found = findings(scenario, evolution_version)
    statuses = {cid: text.split(":", 1)[0] for cid, text in found.items()}
    for cid, status in spec.also_allowed.items():
        if statuses.get(cid) == status:
            del statuses[cid]
    assert statuses == spec.expect, found


@pytest.mark.parametrize("version", SCENARIOS["healthy"].evolution_versions)
def test_healthy_on_every_evolution_version(version: str) -> None:
    assert findings("healthy", version) == {}


@pytest.mark.parametrize("chatwoot_version,locale", [("3.7.0", "en"), ("3.8.0", "pt_BR"), ("4.10.1", "pt_BR")])
def test_healthy_on_chatwoot_versions_and_locales(chatwoot_version: str, locale: str) -> None:
    assert findings("healthy", chatwoot_version=chatwoot_version, locale=locale) == {}


def test_the_lab_stays_untouched_without_side_effect_flags() -> None:
    """Read-only by default: without --allow-* no request that changes state reaches any lab server."""
    with start_lab("healthy") as lab:
        before = len(lab.mutating_requests())
        lab.run(allow=frozenset())
        after = lab.mutating_requests()[before:]
    assert after == []


def test_every_request_that_is_not_a_get_is_listed_in_the_readme() -> None:
    """Without --allow-* the only non-GET requests are the read-only ones the README lists, and the POST to
    Evolution's live Chatwoot webhook is not among them."""
    with start_lab("healthy") as lab:
        before = {app.name: len(app.requests()) for app in lab.apps}
        lab.run(allow=frozenset())
        sent = {(e.method, e.path) for app in lab.apps for e in app.requests()[before[app.name]:] if e.method != "GET"}
    assert not [path for _, path in sent if "/chatwoot/webhook/" in path]
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    listed = readme.split("### Every request that is not a GET", 1)[1].split("Only with a flag:", 1)[0]
    documented = {(m.group(1), m.group(2)) for m in re.finditer(r"`(POST|PUT|PATCH|DELETE|HEAD) ([^`]+)`", listed)}
    for method, path in sent:
        generic = re.sub(r"/accounts/\d+/", "/accounts/<id>/", path)
        generic = re.sub(r"^(/chat/find\w+)/[^/?]+$", r"\1/<instance>", generic)  # the instance name
        assert (method, generic) in documented, (method, path, documented)
