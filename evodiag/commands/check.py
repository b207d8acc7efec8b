"""``evodiag check``: run the catalog against your deployment."""

from __future__ import annotations

from typing import Any

import typer

from evodiag.commands._options import run_params, target_params, with_options
from evodiag.exitcodes import HELP as EXIT_CODES_HELP


@with_options(target_params(), run_params())
def check(**opts: Any) -> None:
    from evodiag.commands._run import run_check_command

    raise typer.Exit(run_check_command(opts))


check.__doc__ = f"""Run the staged checks (config, auth, api, functional) and say what to change.

{EXIT_CODES_HELP}"""
