"""``evodiag lab serve`` hands the lab over three ways (check command, evodiag.yaml, export lines); each one,
used as printed, must give evodiag exactly the lab's settings. (The printed command, run against a served lab,
is tested in tests/test_demo_and_lab_serve.py.)"""

from __future__ import annotations

import shlex
from pathlib import Path

from evodiag.catalog.loader import load_catalog
from evodiag.config import OPTIONS, resolve_settings
from evodiag.lab import handoff
from evodiag.lab.runtime import start_lab


def _lab_settings(values: dict[str, object]) -> dict[str, object]:
    """The lab's values as evodiag resolves them (strings stay strings, lists stay lists)."""
    return dict(resolve_settings(dict(values), env={}, config_path=None,
                                 cwd=Path("/nonexistent")).values)


def test_yaml_and_exports_give_evodiag_the_same_settings(tmp_path: Path) -> None:
    with start_lab("bot-pending", generate_traffic=False) as lab:
        values = dict(lab.settings_values)
        expected = _lab_settings(values)
        config = tmp_path / "evodiag.yaml"
        config.write_text(handoff.config_yaml(values), encoding="utf-8")
        from_file = resolve_settings({}, env={}, config_path=config)
        assert from_file.values == expected
        env = {}
        for line in handoff.export_lines(values).splitlines():
            name, _, value = shlex.split(line, comments=True)[1].partition("=")
            env[name] = value
        from_env = resolve_settings({}, env=env, cwd=tmp_path / "none")
        assert from_env.values == expected
        secrets = [o for o in OPTIONS if o.secret and values.get(o.key)]
        assert secrets
        for opt in secrets:
            assert any(handoff.LAB_KEY_NOTE in line for line in handoff.export_lines(values).splitlines()
                       if line.startswith(f"export {opt.env}="))


def test_allow_flags_follow_the_side_effects_the_lab_can_exercise() -> None:
    catalog = load_catalog()
    with start_lab("healthy", generate_traffic=False) as lab:
        values = dict(lab.settings_values)
    assert handoff.allow_flags(catalog, values) == ["--allow-connect", "--allow-send", "--allow-webhook-post"]
    # Without an Evolution target no check with a side effect applies, so no --allow-* flag is needed.
    files_only = {"files.env": values["files.env"]}
    assert handoff.allow_flags(catalog, files_only) == []
