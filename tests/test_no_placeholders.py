"""No message may show an unfilled placeholder: every diagnosis, remediation and pass message of the real catalog,
rendered with no settings and no facts at all, reads as words."""

from __future__ import annotations

import re

from evodiag.catalog.loader import load_catalog
from evodiag.config import Settings
from evodiag.engine import template
from evodiag.engine.context import ProbeContext, RunOptions, RunState
from evodiag.engine.http import HttpClient

PLACEHOLDER = re.compile(r"\{[A-Za-z_][\w.]*\}")


def test_every_diagnosis_of_the_real_catalog_renders_without_placeholders() -> None:
    catalog = load_catalog()
    state = RunState(catalog, Settings(), RunOptions(), HttpClient())
    rendered = 0
    for check in catalog.checks.values():
        ctx = ProbeContext(check, state)
        texts = [ctx.render(check.pass_message)]
        for diag in check.diagnoses:
            outcome = ctx.from_diagnosis(diag, {})
            rem = outcome.remediation
            texts += [outcome.message, *([rem.text, *rem.commands, *rem.links] if rem else [])]
        for text in texts:
            rendered += 1
            assert not PLACEHOLDER.search(text), f"{check.id}: {text}"
    assert rendered > 200  # the whole catalog, not a corner of it


def test_missing_values_read_as_words() -> None:
    text = 'Evolution {evolution.version} answers; inbox "{chatwoot.inbox.name}" of {evolution.instance}'
    expected = 'Evolution unknown version answers; inbox "unknown inbox name" of unknown instance'
    assert template.render(text, {}) == expected
    assert template.render("curl {evolution.url}/x", {}, fill_in=True) == "curl <evolution.url>/x"
