"""The `planner` command's entry point. Before the command line and everything it imports
load (most of a small run's time), it starts the spare process for the commands that
solve scenarios one after another, so that it loads beside this one (planner/spare.py)."""
from __future__ import annotations

import sys

from . import spare

# Commands whose scenarios (or frontier points) a spare process can share.
SHARING = {"run", "frontier"}


def wants_spare(args: list[str]) -> bool:
    """Whether the command line `args` (without the program) runs a command of SHARING
    with the default number of processes (--jobs given says how many: one, or a pool) and
    is not asking for help."""
    return bool(args) and args[0] in SHARING and not any(
        a in ("-h", "--help", "--jobs") or a.startswith("--jobs=") for a in args)


def entry() -> None:
    """The `planner` command (cli.entry), with a spare process where it can help."""
    if wants_spare(sys.argv[1:]):
        spare.start("planner.plan")
    from .cli import entry as command

    command()
