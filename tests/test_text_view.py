"""Snapshot-style tests of the default terminal view (issue 15) at a fixed width of 160 columns: the headline
first, problems (each with its fix) before the per-stage lines of what passed, a line budget, and the fix you can
paste with the $EVODIAG_* variable instead of the secret. Runs the real catalog against the lab, in-process."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from evodiag.engine.runner import RunReport
from evodiag.lab.runtime import start_lab
from evodiag.report import text
from evodiag.report.layout import Line, wrapped

WIDTH = 160
STAGE_LINE = re.compile(r"^(config|auth|api|functional):\s+\d+ ")


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, tuple[RunReport, list[str]]]]:
    """Each scenario run once: its report and the secrets of the lab (which must never be printed)."""
    out = {}
    for name in ("healthy", "wrong-evolution-key", "bot-pending"):
        with start_lab(name) as lab:
            values = lab.settings_values
            secrets = [str(values[k]) for k in ("evolution.api_key", "chatwoot.token", "openim.secret") if k in values]
            secrets.append(str(lab.evolution.global_key))  # the server's real key, never the one evodiag sent
            out[name] = (lab.run(), secrets)
    yield out


def view(runs: dict[str, tuple[RunReport, list[str]]], name: str, level: int = text.DEFAULT) -> list[str]:
    return text.render(runs[name][0], level=level, width=WIDTH).splitlines()


def index_of(rows: list[str], pattern: str) -> int:
    return next(i for i, row in enumerate(rows) if re.search(pattern, row))


def test_healthy_fits_the_line_budget_headline_first(runs: dict[str, tuple[RunReport, list[str]]]) -> None:
    rows = view(runs, "healthy")
    assert len(rows) <= 30, "\n".join(rows)
    assert rows[0].startswith("✔ No problems found (")
    assert [r.split(":")[0] for r in rows if STAGE_LINE.match(r)] == ["config", "auth", "api", "functional"]
    assert not any("note:" in r for r in rows)  # notes on passing checks wait for -v
    assert max(len(r) for r in rows) <= WIDTH


def test_wrong_key_says_the_root_cause_first_and_what_it_blocks_once(
        runs: dict[str, tuple[RunReport, list[str]]]) -> None:
    rows = view(runs, "wrong-evolution-key")
    assert len(rows) <= 30, "\n".join(rows)
    assert rows[0].startswith("✘ 1 root cause: evolution.auth — blocks 12 checks, 5 more skipped for the same cause")
    problem = index_of(rows, r"^✘ fail  evolution\.auth: HTTP 401")
    assert problem < index_of(rows, r"^auth:\s+1 failed, 4 passed")  # problems before what passed
    blocks = [r for r in rows if "blocks 12 checks:" in r]
    assert len(blocks) == 1 and "evolution.instance," in blocks[0]
    assert not any("blocked by evolution.auth" in r for r in rows)  # no line per blocked check
    assert any(r.strip().startswith("skipped for the same cause: chatwoot.inbox") for r in rows)
    fix = [r for r in rows if r.strip().startswith("$ curl")]
    assert fix and '"apikey: $EVODIAG_EVOLUTION_API_KEY"' in fix[0] and "<the key>" not in "\n".join(rows)
    url = runs["wrong-evolution-key"][0].settings.get("evolution.url")
    assert f"{url}/instance/fetchInstances" in fix[0]  # the real URL, filled in


def test_bot_pending_shows_the_change_ready_to_paste(runs: dict[str, tuple[RunReport, list[str]]]) -> None:
    rows = view(runs, "bot-pending")
    assert rows[0] == "✘ 1 problem: chatwoot.bot"
    change = index_of(rows, r"change it \(this changes your server")
    call = rows[change + 1].strip()
    report = runs["bot-pending"][0]
    account, url = report.settings.get("chatwoot.account_id"), report.settings.get("chatwoot.url")
    inbox_id = report.facts["chatwoot.inbox.id"]
    assert call == (f"$ curl -X POST '{url}/api/v1/accounts/{account}/inboxes/{inbox_id}/set_agent_bot' "
                    "-H \"api_access_token: $EVODIAG_CHATWOOT_TOKEN\" -H 'Content-Type: application/json' "
                    "-d '{\"agent_bot\": null}'")
    assert index_of(rows, "^✘ fail  chatwoot.bot") < change < index_of(rows, r"^api:\s+1 failed")


@pytest.mark.parametrize("name", ["healthy", "wrong-evolution-key", "bot-pending"])
def test_no_secret_is_ever_printed(runs: dict[str, tuple[RunReport, list[str]]], name: str) -> None:
    report, secrets = runs[name]
    for level in (text.QUIET, text.DEFAULT, text.VERBOSE, text.DEBUG):
        out = text.render(report, level=level, width=WIDTH)
        for secret in secrets:
            assert secret not in out


def test_levels_say_more_step_by_step(runs: dict[str, tuple[RunReport, list[str]]]) -> None:
    quiet, default, verbose, debug = (view(runs, "wrong-evolution-key", level)
                                      for level in (text.QUIET, text.DEFAULT, text.VERBOSE, text.DEBUG))
    assert quiet[0] == default[0]  # the same headline
    assert not any(STAGE_LINE.match(r) for r in quiet) and any(STAGE_LINE.match(r) for r in default)
    assert any("fix:" in r for r in quiet)  # -q still shows each problem with its fix
    assert len(quiet) < len(default) < len(verbose) < len(debug)
    assert not any(r.startswith("  ✔ evolution.reachable") for r in default)
    assert any(r.startswith("  ✔ evolution.reachable") for r in verbose)  # -v: every check's line
    assert any(r.strip().startswith("note:") and "v2 API" in r for r in verbose)  # notes on passing checks
    skipped = verbose[index_of(verbose, "^skipped$"):]
    assert any("no database settings" in r for r in skipped)  # skip reasons, each said once
    assert sum("no database settings" in r for r in verbose) == 1
    assert not any(re.search(r"\[\d+ ms\]", r) for r in verbose)
    assert any(re.search(r"✔ evolution\.reachable: .*\[\d+ ms\]", r) for r in debug)  # -vv: timing
    assert "HTTP" in debug and any(r.startswith("  [evolution.auth] POST ") for r in debug)


def test_wrapped_lines_keep_their_indentation_and_commands_stay_whole() -> None:
    words = "word " * 60
    rows = wrapped(Line(words.strip(), indent=4, hang=5), 60)
    assert len(rows) > 1 and all(r.startswith("    ") for r in rows)
    assert all(r.startswith(" " * 9) for r in rows[1:]) and all(len(r) <= 60 for r in rows)
    url = "https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/services/channel.service.ts#L436-L438"
    assert url in wrapped(Line("see " + url, indent=4), 40)[-1]  # never cut mid-word
    command = "$ curl -X POST " + "x" * 200
    assert wrapped(Line(command, indent=6, wrap=False), 60) == ["      " + command]


def test_explain_renders_sections_and_never_cuts_text() -> None:
    from evodiag.catalog.loader import load_catalog
    from evodiag.explain import explain_text

    catalog = load_catalog()
    out = explain_text(catalog, "chatwoot.inbox.webhook", width=80)
    rows = out.splitlines()
    headings = [r for r in rows if r and not r.startswith(" ") and r.endswith(":")]
    assert headings == ["What it checks:", "Why it matters:", "Example:", "How to fix:",
                        "What it can report, and the fix for each:", "Known issues:",
                        "Triage signatures (evodiag triage):"]
    assert all(len(r) <= 80 for r in rows if not r.lstrip().startswith("$ "))  # commands stay whole
    flat = " ".join(out.split())
    for diag in catalog.checks["chatwoot.inbox.webhook"].diagnoses:  # every message in full (was cut at 160)
        if diag.status in ("fail", "warn", "error"):
            assert " ".join(diag.message.split()) in flat
    assert any(r.startswith("    change it (this changes your server") for r in rows)
