"""Running the pipeline for a command and writing its report. Shared by ``check``, ``demo`` and ``bundle``,
which hand it their :class:`~evodiag.commands._args.RunArgs`; imported only when one of them runs, so
``--help`` stays fast. :func:`guarded` is every command's error boundary."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from evodiag import exitcodes
from evodiag.catalog.loader import load_catalog
from evodiag.catalog.model import STAGES, Catalog
from evodiag.commands._args import RunArgs
from evodiag.config import Settings, resolve_settings
from evodiag.engine.context import RunOptions
from evodiag.engine.runner import Pipeline, ProgressHook, RunReport
from evodiag.errors import EvodiagError, UsageError
from evodiag.redact import Redactor
from evodiag.report import common
from evodiag.report.color import wants_color

# A run with no target would "pass" by skipping everything: a CI step whose secrets are missing must fail.
DEFAULT_TIMEOUT_S = 10.0
NOTHING_TO_CHECK = ("nothing to check: set --evolution-url (or EVODIAG_EVOLUTION_URL, or evodiag.yaml), "
                    "--chatwoot-url, --openim-url, --env-file/--compose-file, --webhook-capture or --openim-config")


def settings_from(args: RunArgs) -> Settings:
    return resolve_settings(args.targets, config_path=args.config)


def run_options_from(args: RunArgs) -> RunOptions:
    args.validate()
    for stage in args.stages:
        if stage not in STAGES:
            raise UsageError(f"--stage {stage!r}: stages are {', '.join(STAGES)}")
    return RunOptions(timeout=DEFAULT_TIMEOUT_S if args.timeout is None else args.timeout,
                      timeout_cap=args.timeout, deadline=args.deadline, allow=args.allow,
                      concurrency=args.concurrency, only=args.only, skip=args.skip, stages=args.stages,
                      tags=args.tags, insecure=args.insecure, debug=args.debug)


def catalog_from(args: RunArgs) -> Catalog:
    return load_catalog(list(args.catalogs))


@contextmanager
def progress_display(enabled: bool, total: int, *, color: bool) -> Iterator[ProgressHook | None]:
    """Live progress on stderr when it is a terminal (NO_COLOR keeps it, without colour); nothing otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from evodiag.report.progress import live_progress

    with live_progress(total, color=color) as hook:
        yield hook


def execute(settings: Settings, options: RunOptions, catalog: Catalog, *, show_progress: bool,
            color: bool = False) -> RunReport:
    import asyncio

    if not settings.configured_targets():
        raise UsageError(NOTHING_TO_CHECK)
    pipeline = Pipeline(catalog, settings, options)
    if not pipeline.checks:
        raise UsageError("no check selected: --only/--stage/--tags match no check in the catalog "
                         "(see `evodiag catalog`)")
    with progress_display(show_progress, len(pipeline.checks), color=color) as hook:
        pipeline.progress = hook
        return asyncio.run(pipeline.run())


def render(report: RunReport, fmt: str, redactor: Redactor, *, level: int) -> str:
    if fmt == "json":
        from evodiag.report import json_report

        return json_report.render(report, redactor)
    if fmt == "junit":
        from evodiag.report import junit

        return junit.render(report, redactor)
    if fmt == "markdown":
        from evodiag.report import markdown

        return markdown.render(report, redactor)
    from evodiag.report import text

    return text.render(report, redactor, level=level)


def emit(report: RunReport, args: RunArgs) -> None:
    fmt = args.format
    redactor = common.redactor_for(report, shareable=fmt != "text")
    output = args.output
    if output:
        rendered = render(report, fmt, redactor, level=args.detail)
        try:
            Path(output).write_text(rendered, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write --output {output}: {exc.strerror or exc}") from None
        print(common.headline(report), file=sys.stderr)
        return
    if fmt == "text":
        from evodiag.report import text

        text.print_report(report, redactor, level=args.detail, color=wants_color(args.color, sys.stdout))
    else:
        sys.stdout.write(render(report, fmt, redactor, level=0))
    if args.debug and report.state.tracebacks:
        for check_id, tb in report.state.tracebacks.items():
            print(f"--- traceback for {check_id} ---\n{redactor.text(tb)}", file=sys.stderr)


def guarded(body: Callable[[], int], *, debug: bool, secrets: Callable[[], list[str]] = list) -> int:
    """Run a command body: known errors become one line and their exit code; anything else is exit 4."""
    try:
        return body()
    except EvodiagError as exc:
        print(f"evodiag: error: {exc}", file=sys.stderr)
        return exc.exit_code if exc.exit_code != 3 else common.EXIT_UNREACHABLE
    except BrokenPipeError:
        return exitcodes.stdout_closed()
    except KeyboardInterrupt:
        print("evodiag: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        redactor = Redactor(secrets())
        first_line = redactor.text(str(exc)).splitlines()[0] if str(exc) else ""
        print(f"evodiag: internal error: {type(exc).__name__}: {first_line}"
              " (run with --debug for the traceback; please report it)", file=sys.stderr)
        if debug:
            print(redactor.text(traceback.format_exc()), file=sys.stderr)
        return common.EXIT_INTERNAL


def exit_code(report: RunReport, args: RunArgs) -> int:
    return common.exit_code(report, fail_on=args.fail_on, exit_zero=args.exit_zero)


def run_and_report(args: RunArgs, *, settings: Callable[[], Settings],
                   write: Callable[[RunReport], None] | None = None, show_progress: bool | None = None) -> int:
    """The body every checks-running command shares: options, settings, catalog, run, report, exit code.
    ``settings`` is called inside the error boundary (config errors are usage errors); ``write`` replaces the
    report output (default :func:`emit`)."""
    holder: dict[str, Settings] = {}

    def body() -> int:
        options = run_options_from(args)
        resolved = holder["settings"] = settings()
        progress = (args.format == "text" and not args.quiet) if show_progress is None else show_progress
        report = execute(resolved, options, catalog_from(args), show_progress=progress,
                         color=wants_color(args.color, sys.stderr))
        (write or (lambda r: emit(r, args)))(report)
        return exit_code(report, args)

    def secrets() -> list[str]:
        return list(holder["settings"].secrets().values()) if "settings" in holder else []

    return guarded(body, debug=args.debug, secrets=secrets)
