"""Filters and sorts on a ranked table (``--where``, ``--sort``), and their one-line error.

No pandas import here: the CLI's error handling names ``QueryError`` before any table exists.
"""

from __future__ import annotations

from typing import Any


class QueryError(ValueError):
    """A filter or sort that does not fit the table; the message names the columns one can use.

    It names the argument as the caller wrote it: ``where=`` from Python, ``--where`` from the terminal
    (the CLI asks for ``str(error.as_flag())``).
    """

    def __init__(self, argument: str, value: str, reason: str, example: str = ""):
        self.argument, self.value, self.reason, self.example = argument, value, reason, example
        super().__init__(self._spelled(f"{argument}=", ""))

    def as_flag(self) -> QueryError:
        flagged = QueryError(self.argument, self.value, self.reason, self.example)
        flagged.args = (self._spelled(f"--{self.argument.replace('_', '-')}", " "),)
        return flagged

    def _spelled(self, name: str, gap: str) -> str:
        example = f"; e.g. {name}{gap}{self.example}" if self.example else ""
        return f"{name}{gap}{self.value!r} {self.reason}{example}"


def query(table: Any, where: str | None) -> Any:
    """``table.query(where)``, or QueryError naming the expression, pandas's complaint and the columns."""
    if not where:
        return table
    try:
        return table.query(where)
    except Exception as error:  # pandas raises SyntaxError, NameError, TypeError, ValueError, KeyError...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise QueryError(
            "where",
            where,
            f"is not a pandas query on this table ({reason}); columns: {', '.join(table.columns)}",
            "'optimizer == \"adam\" and val_accuracy > 0.85'",
        ) from None


def sort_by(table: Any, column: str | None) -> Any:
    """Highest first; QueryError for a column the table does not have."""
    if not column:
        return table
    if column not in table.columns:
        raise QueryError("sort", column, f"is not a column; columns: {', '.join(table.columns)}")
    return table.sort_values(column, ascending=False, na_position="last")
