"""The ``sweep`` command line: ``main`` is the console script's entry point.

Each module registers its commands on the one click group: ``running`` (run, compare,
train, baseline), ``reading`` (table, best, report, dashboard, export) and ``spaces``.
"""

from sweep.cli import reading, running, spaces  # noqa: F401  (registers the commands)
from sweep.cli.app import Duration, UserError, main

__all__ = ["Duration", "UserError", "main"]
