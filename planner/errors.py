"""Problems found in a user's workbook, and the exceptions the library raises.

The library never prints; it raises these and the CLI turns them into messages
and exit statuses (README.md).
"""
from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem in the input, located as a spreadsheet user would look for it."""

    severity: str               # ERROR or WARNING
    message: str                # a plain sentence, with the fix where there is one
    sheet: str | None = None
    row: int | None = None      # Excel row number
    column: str | None = None   # header text as typed in the file
    letter: str | None = None   # column letter
    value: object = None        # the offending cell value, if any

    def where(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}" + (f" ({self.letter})" if self.letter else ""))
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        value = "" if self.value is None else f" [value: {self.value!r}]"
        return f"{self.severity}: {where + ': ' if where else ''}{self.message}{value}"


class PlannerError(Exception):
    """Base of the errors the CLI reports without a traceback."""


class InputError(PlannerError):
    """The workbook cannot be planned; `problems` lists every error (and the warnings)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == ERROR]
        super().__init__(f"{len(errors)} problem(s) in the input workbook")


class OutputError(PlannerError):
    """The plan could not be written."""
