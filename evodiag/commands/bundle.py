"""``evodiag bundle``: run the checks and write a redacted support bundle (zip)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import typer

from evodiag.commands._args import RunArgs
from evodiag.commands._options import run_params, target_params, with_options


@with_options(target_params(), run_params())
def bundle(
    output: Path = typer.Option(Path("evodiag-bundle.zip"), "--output", "-o", metavar="PATH",
                                help="Zip file to write"),
    no_redact: bool = typer.Option(False, "--no-redact",
                                   help="Keep secrets and personal data verbatim (local use only; never share)"),
    **params: Any,
) -> None:
    """Run the checks (same flags as `evodiag check`) and write a support bundle: findings, every HTTP
    exchange, DNS answers, effective config, versions, the command line and a sha256 manifest. Secrets are
    masked and phone numbers, JIDs, names and message text pseudonymised unless --no-redact.

    Exit codes: as `evodiag check` (the bundle is written whatever the findings); 2 usage; 4 internal error."""
    # The bundle carries the JSON report; --output names the zip, not a report file.
    args = dataclasses.replace(RunArgs.from_params(params), format="json", output=None)
    raise typer.Exit(_run_bundle(args, output or Path("evodiag-bundle.zip"), redact=not no_redact))


def _run_bundle(args: RunArgs, out: Path, *, redact: bool) -> int:
    """Check the output path, run the pipeline, write the zip, print where it went."""
    import sys

    from evodiag.bundle import NO_REDACT_WARNING, build_members, write_bundle
    from evodiag.commands._run import guarded, run_and_report, settings_from
    from evodiag.engine.runner import RunReport
    from evodiag.errors import UsageError
    from evodiag.report import common

    def write(report: RunReport) -> None:
        members, manifest = build_members(report, ["evodiag", *sys.argv[1:]], redact=redact)
        manifest = write_bundle(out, members, manifest)
        print(common.headline(report), file=sys.stderr)
        print(f"evodiag: wrote {out} ({len(manifest['members']) + 1} files, "
              f"{'redacted' if redact else 'NOT REDACTED'})", file=sys.stderr)

    def body() -> int:
        if out.is_dir():
            raise UsageError(f"--output {out}: is a directory; give a .zip file name")
        if not out.parent.exists():
            raise UsageError(f"--output {out}: directory {out.parent} does not exist")
        if not redact:
            print(f"evodiag: WARNING: --no-redact: {NO_REDACT_WARNING}", file=sys.stderr)
        return run_and_report(args, settings=lambda: settings_from(args), write=write, show_progress=True)

    return guarded(body, debug=args.debug)
