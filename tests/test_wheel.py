"""The wheel carries the whole catalog: build it from this checkout, install it into a fresh venv, and run
``evodiag catalog`` from the installed copy, outside the repository.

No network: hatchling (the build backend, in the test extras) builds without isolation, and pip installs the
wheel with ``--no-index --no-deps``. The fresh venv has no site packages of its own beyond the wheel; a ``.pth``
line puts this venv's site-packages after it so the runtime dependencies import, but that directory's own
``.pth`` files (this checkout's editable install) are not processed, so ``import evodiag`` can only find the
wheel's copy. Runs in CI with the rest of the suite (a few seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from evodiag.catalog.loader import load_catalog

REPO = Path(__file__).resolve().parents[1]
AREA_FILES = sorted(p.name for p in (REPO / "checks").glob("*.yaml"))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # A generous bound that only a hang can exceed.
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Not a skip: CI must run this. hatchling comes with the test extras (pip install -e '.[test]').
    import hatchling  # noqa: F401
    out = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                  "--quiet", "-w", str(out), str(REPO)], cwd=out)
    assert built.returncode == 0, built.stderr
    wheels = list(out.glob("evodiag-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its ``bin`` (``Scripts`` on Windows) directory."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=env_dir)
    assert site.returncode == 0, site.stderr
    (Path(site.stdout.strip()) / "_deps_from_test_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], cwd=env_dir)
    assert install.returncode == 0, install.stderr
    return python.parent


def test_wheel_carries_every_catalog_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "evodiag/checks.yaml" in names
    assert AREA_FILES, "the checkout has no checks/*.yaml area files"
    missing = [f for f in AREA_FILES if f"evodiag/checks/{f}" not in names]
    assert not missing, f"area files not in the wheel: {missing}"


def test_wheel_carries_the_report_json_schema(wheel: Path) -> None:
    """The JSON Schema of ``--format json`` ships with the package (issue 15), byte for byte the checkout's."""
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("evodiag/report/schema/report.schema.json")
    assert shipped == (Path(__file__).parent.parent / "evodiag/report/schema/report.schema.json").read_bytes()


def test_installed_catalog_matches_the_checkout(installed: Path, tmp_path: Path) -> None:
    evodiag = installed / ("evodiag.exe" if os.name == "nt" else "evodiag")
    text = _run([str(evodiag), "catalog"], cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    summary = text.stdout.strip().splitlines()[-1]
    sources = summary.split(" from ", 1)[1].split(", ")
    site = installed.parent
    # Every source is the installed copy's file, never this checkout's.
    assert all(Path(s).resolve().is_relative_to(site.resolve()) for s in sources), sources
    assert sorted(Path(s).name for s in sources if Path(s).parent.name == "checks") == AREA_FILES
    assert any(Path(s).as_posix().endswith("evodiag/checks.yaml") for s in sources), sources

    rows = _run([str(evodiag), "catalog", "--format", "json"], cwd=tmp_path)
    assert rows.returncode == 0, rows.stderr
    checkout = load_catalog()
    assert len(json.loads(rows.stdout)) == len(checkout.checks)
    assert summary.startswith(f"{len(checkout.checks)} checks, {len(checkout.known_issues)} known issues")
