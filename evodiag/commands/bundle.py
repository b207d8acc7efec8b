"""``evodiag bundle``: run the checks and write a redacted support bundle (zip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from evodiag.commands._options import run_params, target_params, with_options


@with_options(target_params(), run_params())
def bundle(
    output: Path = typer.Option(Path("evodiag-bundle.zip"), "--output", "-o", help="Zip file to write"),
    no_redact: bool = typer.Option(False, "--no-redact",
                                   help="Keep secrets and personal data verbatim (local use only; never share)"),
    **opts: Any,
) -> None:
    """Run the checks (same flags as `evodiag check`) and write a support bundle: findings, every HTTP
    exchange, DNS answers, effective config, versions, the command line and a sha256 manifest. Secrets are
    masked and phone numbers, JIDs, names and message text pseudonymised unless --no-redact.

    Exit codes: as `evodiag check` (the bundle is written whatever the findings); 2 usage; 4 internal error."""
    from evodiag.bundle import run_bundle_command

    raise typer.Exit(run_bundle_command(dict(opts, output=output, no_redact=no_redact)))
