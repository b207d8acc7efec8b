"""``evodiag check``: run the catalog against your deployment."""

from __future__ import annotations

from typing import Any

import typer

from evodiag.commands._args import RunArgs
from evodiag.commands._options import run_params, target_params, with_options
from evodiag.exitcodes import HELP as EXIT_CODES_HELP


@with_options(target_params(), run_params())
def check(**params: Any) -> None:
    from evodiag.commands._run import run_and_report, settings_from

    args = RunArgs.from_params(params)
    raise typer.Exit(run_and_report(args, settings=lambda: settings_from(args)))


check.__doc__ = f"""Run the staged checks (config, auth, api, functional) and say what to change.

{EXIT_CODES_HELP}"""
