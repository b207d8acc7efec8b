"""Names are checked when the catalog loads: `evodiag catalog` (a real subprocess) exits 2 naming file:line and
the closest known name, for templates, diagnoses, facts, observers, and the include files that hold them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evodiag.catalog.loader import default_catalog_path, load_catalog, load_catalog_text
from evodiag.errors import CatalogError

REPO = Path(__file__).resolve().parents[1]


def catalog_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evodiag", "catalog", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def fails_at(tmp_path: Path, text: str, line: int, *needles: str, file: str = "extra.yaml") -> None:
    (tmp_path / "extra.yaml").write_text(text)
    proc = catalog_cli("--catalog", "extra.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{file}:{line}:" in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def check(body: str, cid: str = "mine.check") -> str:
    return f"""version: 1
checks:
  - id: {cid}
    title: mine
    stage: api
    doc: {{what: w, why: y}}
{body}"""


def test_template_typo_fails_with_file_line_and_did_you_mean(tmp_path: Path) -> None:
    text = check("""    request: {url: "{evolution.url}/instance"}
    diagnoses:
      - when: {status: 404}
        status: fail
        message: "{evolution.urll} has no such route"
""")
    fails_at(tmp_path, text, 9, "mine.check", "unknown name {evolution.urll}", "did you mean 'evolution.url'")


def test_unclosed_template_fails(tmp_path: Path) -> None:
    text = check("""    request: {url: "{evolution.url/instance"}
""")
    fails_at(tmp_path, text, 7, "request.url: unclosed placeholder '{evolution.url'")


def test_undeclared_fact_fails(tmp_path: Path) -> None:
    # evolution.instance.state is a fact evolution:instance publishes; "stat" is published by nobody.
    text = check("""    request: {url: "{evolution.url}/"}
    remediation:
      text: "The instance is {evolution.instance.stat}"
""")
    fails_at(tmp_path, text, 8, "unknown name {evolution.instance.stat}", "did you mean 'evolution.instance.state'")


def test_undeclared_fact_in_applies_when_fails(tmp_path: Path) -> None:
    text = check("""    request: {url: "{evolution.url}/"}
    applies_when: {values: {evolution.key_knd: {equals: global}}}
""")
    fails_at(tmp_path, text, 8, "unknown name 'evolution.key_knd'", "did you mean 'evolution.key_kind'")


def _reachable_override(tmp_path: Path, drop: str) -> tuple[str, int]:
    """The real evolution.reachable check as an extra file, without the diagnosis ``drop``."""
    area = yaml.safe_load((REPO / "checks" / "evolution.yaml").read_text())
    raw = next(c for c in area["checks"] if c["id"] == "evolution.reachable")
    raw["diagnoses"] = [d for d in raw["diagnoses"] if d.get("name") != drop]
    text = yaml.safe_dump({"version": 1, "checks": [raw]}, sort_keys=False, width=200)
    line = text.splitlines().index("  diagnoses:") + 1
    return text, line


def test_override_that_drops_a_diagnosis_the_probe_picks_fails_at_load(tmp_path: Path) -> None:
    text, line = _reachable_override(tmp_path, "html")
    fails_at(tmp_path, text, line, "evolution.reachable", "probe evolution:reachable",
             "picks diagnosis 'html', which this check does not define")


def test_override_that_rewords_a_probe_check_loads(tmp_path: Path) -> None:
    text, _ = _reachable_override(tmp_path, "no such diagnosis")
    extra = tmp_path / "extra.yaml"
    extra.write_text(text.replace("with an HTML page", "with an HTML page (reworded)"))
    catalog = load_catalog([extra])
    assert "(reworded)" in catalog.checks["evolution.reachable"].diagnosis("html").message
    assert catalog.checks["evolution.reachable"].file == str(extra)


def test_named_diagnosis_no_probe_picks_fails() -> None:
    names = ["args", "http_status", "not_found", "not_openim", "ok", "other", "secret", "server", "secrett"]
    diagnoses = "".join(f"      - {{name: {n}, status: fail, message: m}}\n" for n in names)
    text = check(f"    probe: openim:auth\n    diagnoses:\n{diagnoses}", "openim.auth")
    with pytest.raises(CatalogError) as info:
        load_catalog_text(text, "cat.yaml")
    assert str(info.value).startswith("cat.yaml:17: check openim.auth: diagnosis 'secrett': probe openim:auth "
                                      "never picks it")
    assert "did you mean 'secret'" in str(info.value)
    text = text.replace("      - {name: secrett, status: fail, message: m}\n", "")
    assert load_catalog_text(text, "cat.yaml").checks["openim.auth"].probe == "openim:auth"


def test_probe_without_declaration_or_function_fails() -> None:
    text = check("""    probe: evolution:no_such_probe
""")
    with pytest.raises(CatalogError, match=r"cat.yaml:7: check mine.check: .*has no function 'no_such_probe'"):
        load_catalog_text(text, "cat.yaml")


def test_unknown_observed_by_fails(tmp_path: Path) -> None:
    text = """version: 1
known_issues:
  - id: mine-issue
    product: evolution-api
    versions: ">=2.0.0"
    symptom: s
    workaround: w
    observed_by: [evolution.qrr]
"""
    fails_at(tmp_path, text, 3, "observed_by unknown check 'evolution.qrr'", "did you mean 'evolution.qr'")


def test_unknown_requires_suggests_the_close_id(tmp_path: Path) -> None:
    text = check("""    requires: [evolution.reachabel]
    request: {url: "{evolution.url}/"}
""")
    fails_at(tmp_path, text, 7, "requires unknown check 'evolution.reachabel'", "did you mean 'evolution.reachable'")


def test_shell_references_are_not_placeholders() -> None:
    text = check("""    request: {url: "{evolution.url}/"}
    remediation:
      text: "Set SERVER_URL so that ${SERVER_URL}/chatwoot/webhook resolves"
""")
    assert load_catalog_text(text, "cat.yaml").checks["mine.check"].remediation.text.startswith("Set")


# --- include: area files -----------------------------------------------------------------------------------------
def stderr_of_root(tmp_path: Path, root: str, areas: dict[str, str]) -> str:
    """`evodiag catalog --catalog root.yaml` with area files under checks/; its exit must be 2."""
    (tmp_path / "checks").mkdir()
    for name, text in areas.items():
        (tmp_path / "checks" / name).write_text(text)
    (tmp_path / "root.yaml").write_text(root)
    proc = catalog_cli("--catalog", "root.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    return proc.stderr


def test_missing_include_names_the_including_file_and_line(tmp_path: Path) -> None:
    stderr = stderr_of_root(tmp_path, "version: 1\ninclude:\n  - checks/a.yaml\n  - checks/nope.yaml\n",
                            {"a.yaml": "checks: []\n"})
    assert "root.yaml:4: include[1]: no such file 'checks/nope.yaml'" in stderr


def test_include_cycle_is_an_error(tmp_path: Path) -> None:
    stderr = stderr_of_root(tmp_path, "version: 1\ninclude:\n  - checks/a.yaml\n",
                            {"a.yaml": "include: [../root.yaml]\n"})
    assert "a.yaml:1: include cycle: root.yaml -> a.yaml -> root.yaml" in stderr


def test_error_in_an_area_file_names_that_file_and_line(tmp_path: Path) -> None:
    area = check("""    request: {url: "{evolution.url}/"}
    pass_message: "answered {http.stauts}"
""")
    stderr = stderr_of_root(tmp_path, "version: 1\ninclude:\n  - checks/area.yaml\n", {"area.yaml": area})
    assert "checks/area.yaml:8: check mine.check: pass_message: unknown name {http.stauts}" in stderr
    assert "did you mean 'http.status'" in stderr


def test_default_catalog_includes_every_area_file() -> None:
    catalog = load_catalog()
    areas = sorted(str(p) for p in (default_catalog_path().parent / "checks").glob("*.yaml"))
    assert sorted(s for s in catalog.sources if "/checks/" in s) == areas
    assert {Path(c.file).name for c in catalog.checks.values()} >= {"evolution.yaml", "chatwoot.yaml"}


def test_a_fix_names_secrets_by_the_variable_evodiag_reads(tmp_path: Path) -> None:
    """Remediation refers to a secret as "$EVODIAG_EVOLUTION_API_KEY": a typo in the variable would paste an
    empty key, and a ``{evolution.api_key}`` placeholder would print the secret itself."""
    typo = check("""    request: {url: "{evolution.url}/instance"}
    remediation:
      changes: ['curl -H "apikey: $EVODIAG_EVOLUTION_APIKEY" {evolution.url}/instance/fetchInstances']
""")
    fails_at(tmp_path, typo, 8, "remediation.changes[0]: unknown variable $EVODIAG_EVOLUTION_APIKEY",
             "did you mean 'EVODIAG_EVOLUTION_API_KEY'")
    secret = check("""    request: {url: "{evolution.url}/instance"}
    remediation:
      commands: ['curl -H "apikey: {evolution.api_key}" {evolution.url}/instance/fetchInstances']
""")
    fails_at(tmp_path, secret, 8, "remediation.commands[0]: {evolution.api_key} would print a secret",
             '"$EVODIAG_EVOLUTION_API_KEY"')
    good = check("""    request: {url: "{evolution.url}/instance"}
    remediation:
      changes: ['curl -H "apikey: $EVODIAG_EVOLUTION_API_KEY" {evolution.url}/instance/fetchInstances']
""")
    (tmp_path / "extra.yaml").write_text(good)
    assert catalog_cli("--catalog", "extra.yaml", cwd=tmp_path).returncode == 0
