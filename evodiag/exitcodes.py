"""The exit-code contract, in a module light enough for ``--help`` to import."""

OK, FINDINGS, USAGE, UNREACHABLE, INTERNAL = 0, 1, 2, 3, 4
STDOUT_CLOSED = 141  # 128 + SIGPIPE: what any Unix tool ends with when its reader goes away (`| head`)

HELP = (
    "Exit codes: 0 nothing at or above --fail-on; 1 findings; 2 usage, config or catalog error; "
    "3 nothing could run (no target answered); 4 internal error. Nothing to check is exit 2."
)


def stdout_closed() -> int:
    """The reader of our stdout went away (``evodiag catalog | head -3``): end quietly. Point stdout at
    /dev/null so the interpreter's final flush does not raise again."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return STDOUT_CLOSED
