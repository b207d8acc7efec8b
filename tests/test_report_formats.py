"""The CI formats as CI consumes them: every lab scenario's JUnit report validates against the strict Jenkins
JUnit schema (tests/schemas/jenkins-junit.xsd, with lxml), its JSON report against the JSON Schema shipped in
the package (with jsonschema), and ``--format github`` writes well-formed, escaped workflow commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from evodiag.engine.results import Location, Status
from evodiag.engine.runner import RunReport
from evodiag.lab.runtime import start_lab
from evodiag.lab.scenarios import SCENARIOS
from evodiag.report import github, json_report, junit
from evodiag.report.common import headline, redactor_for

XSD = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "schemas" / "jenkins-junit.xsd")))
REPORT_SCHEMA = json_report.schema()
# A workflow command: ::level key=value,key=value::message, nothing unescaped that would end or split it.
COMMAND = re.compile(r"^::(error|warning) ((?:[a-z]+=[^,:\r\n]*)(?:,[a-z]+=[^,:\r\n]*)*)::([^\r\n]*)$")


def _run(scenario: str) -> RunReport:
    with start_lab(scenario) as lab:
        return lab.run()


@pytest.fixture(scope="module")
def reports() -> dict[str, RunReport]:
    return {}


def _report(reports: dict[str, RunReport], scenario: str) -> RunReport:
    if scenario not in reports:
        reports[scenario] = _run(scenario)
    return reports[scenario]


def _junit_problems(xml: str) -> list[str]:
    doc = etree.fromstring(xml.encode("utf-8"))
    return [] if XSD.validate(doc) else [str(e) for e in XSD.error_log]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario_report_is_valid_junit_and_json(reports: dict[str, RunReport], scenario: str) -> None:
    report = _report(reports, scenario)
    redactor = redactor_for(report)
    for fail_on in ("fail", "warn"):
        xml = junit.render(report, redactor, fail_on=fail_on)
        assert _junit_problems(xml) == [], xml
    doc = json.loads(json_report.render(report, redactor))
    jsonschema.validate(doc, REPORT_SCHEMA)
    assert doc["schema_version"] == json_report.SCHEMA_VERSION
    _assert_every_key_declared(doc, REPORT_SCHEMA)


def _assert_every_key_declared(doc: dict[str, Any], schema: dict[str, Any]) -> None:
    """The schema stays complete: a key added to the report without a schema entry fails here."""
    result_schema = schema["$defs"]["result"]["properties"]
    assert set(doc) <= set(schema["properties"]), set(doc) - set(schema["properties"])
    for result in doc["results"]:
        assert set(result) <= set(result_schema), set(result) - set(result_schema)


def test_the_xsd_rejects_what_it_must() -> None:
    """The validator is live: the old report shape (``message`` on ``<skipped>``, no ``skipped`` on a suite)
    is refused."""
    bad = ('<testsuites><testsuite name="auth" tests="1" failures="0" errors="0" time="0">'
           '<testcase name="a.b"><skipped message="no"/></testcase></testsuite></testsuites>')
    assert _junit_problems(bad)


def test_junit_counts_and_warn_visibility(reports: dict[str, RunReport]) -> None:
    report = _report(reports, "s3-slow")  # one warn: storage.s3
    warned = [r.id for r in report.results if r.status is Status.WARN]
    assert warned, "s3-slow must warn"
    for fail_on in ("fail", "warn"):
        doc = etree.fromstring(junit.render(report, redactor_for(report), fail_on=fail_on).encode("utf-8"))
        for suite in doc.iter("testsuite"):
            cases = suite.findall("testcase")
            assert {"tests", "failures", "errors", "skipped", "time"} <= set(suite.attrib)
            assert int(suite.get("tests", "")) == len(cases)
            assert int(suite.get("failures", "")) == sum(len(c.findall("failure")) for c in cases)
            assert int(suite.get("errors", "")) == sum(len(c.findall("error")) for c in cases)
            assert int(suite.get("skipped", "")) == sum(len(c.findall("skipped")) for c in cases)
        for cid in warned:
            case = doc.find(f".//testcase[@name='{cid}']")
            assert case is not None
            assert (case.findtext("system-out") or "").startswith("WARN: ")
            failures = case.findall("failure")
            if fail_on == "warn":
                assert [f.get("type") for f in failures] == ["warning"]
            else:
                assert failures == []


def test_blocked_checks_are_skipped_with_the_reason_as_text(reports: dict[str, RunReport]) -> None:
    report = _report(reports, "wrong-evolution-key")
    doc = etree.fromstring(junit.render(report, redactor_for(report)).encode("utf-8"))
    skipped = {c.get("name"): c.find("skipped") for c in doc.iter("testcase") if c.find("skipped") is not None}
    blocked = [r.id for r in report.results if r.status is Status.BLOCKED]
    assert blocked and set(blocked) <= set(skipped)
    for cid in blocked:
        element = skipped[cid]
        assert element is not None and not element.attrib and "evolution.auth" in (element.text or "")


def test_config_findings_carry_their_file_and_line() -> None:
    with start_lab("env-file-pitfalls") as lab:
        report = lab.run(only=("config.server_url", "config.api_key"))
        located = {r.id: r.location for r in report.results if r.status is Status.FAIL}
        lines = {cid: Path(loc.file).read_text(encoding="utf-8").splitlines()[loc.line - 1]
                 for cid, loc in located.items() if isinstance(loc, Location)}
    assert lines["config.server_url"].startswith("SERVER_URL=")
    assert lines["config.api_key"].startswith("AUTHENTICATION_API_KEY=")
    assert all(r.location is None for r in report.results if r.stage != "config")


def test_github_annotations_point_at_the_env_line(reports: dict[str, RunReport], tmp_path: Path) -> None:
    report = _report(reports, "env-file-pitfalls")
    location = next(r.location for r in report.results if r.id == "config.server_url")
    assert location is not None
    workspace = str(Path(location.file).parent)
    out = github.render(report, redactor_for(report), env={"GITHUB_WORKSPACE": workspace})
    commands = [line for line in out.splitlines() if line.startswith("::")]
    failing = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR)]
    assert len(commands) == len(failing)
    parsed = [COMMAND.match(line) for line in commands]
    assert all(parsed), commands
    server_url = next(m for m in parsed if m and "title=config.server_url" in m.group(2))
    props = dict(p.split("=", 1) for p in server_url.group(2).split(","))
    assert props == {"title": "config.server_url", "file": Path(location.file).name, "line": str(location.line)}
    assert out.splitlines()[-1] == f"evodiag: {redactor_for(report).text(headline(report))}"


def test_github_root_cause_first_warnings_as_warnings(reports: dict[str, RunReport]) -> None:
    report = _report(reports, "wrong-evolution-key")
    lines = github.render(report, redactor_for(report), env={}).splitlines()
    assert lines[0].startswith("::error title=evolution.auth::")
    slow = _report(reports, "s3-slow")
    assert any(line.startswith("::warning title=storage.s3") for line in github.render(slow, env={}).splitlines())


def test_github_escaping_follows_the_workflow_command_rules() -> None:
    line = github.command("error", "50% done\r\nnext: a,b", title="x.y", file="dir:1,2/a.env")
    assert line == "::error title=x.y,file=dir%3A1%2C2/a.env::50%25 done%0D%0Anext: a,b"


def test_step_summary_is_appended_when_github_sets_it(reports: dict[str, RunReport], tmp_path: Path) -> None:
    report = _report(reports, "wrong-evolution-key")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert github.append_step_summary(report, env={}) is None
    assert github.append_step_summary(report, redactor_for(report), env={"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n# evodiag report")
    assert "evolution.auth" in text


def test_cli_github_format_end_to_end(tmp_path: Path) -> None:
    """Through the CLI as a workflow step runs it: annotations on stdout, the summary file appended, exit 1,
    and the lab's key never printed."""
    from evodiag.lab.deployment import GLOBAL_KEY

    summary = tmp_path / "summary.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVODIAG_", "GITHUB_"))}
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    proc = subprocess.run([sys.executable, "-m", "evodiag", "demo", "-s", "env-file-pitfalls", "--format", "github"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "::error title=config.api_key," in proc.stdout
    assert GLOBAL_KEY not in proc.stdout and GLOBAL_KEY not in summary.read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8").startswith("# evodiag report")


def test_json_schema_ships_in_the_package_and_rejects_bad_reports() -> None:
    from importlib.resources import files

    assert files("evodiag.report").joinpath("schema/report.schema.json").is_file()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema_version": 1, "results": []}, REPORT_SCHEMA)
