"""The exit-code contract, in a module light enough for ``--help`` to import."""

OK, FINDINGS, USAGE, UNREACHABLE, INTERNAL = 0, 1, 2, 3, 4

HELP = (
    "Exit codes: 0 nothing at or above --fail-on; 1 findings; 2 usage, config or catalog error; "
    "3 nothing could run (every target unreachable); 4 internal error."
)
