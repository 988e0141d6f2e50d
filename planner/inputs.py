"""The typed inputs every layer above the reader works on: the tables as read (`Table`,
which can point at a cell), the run settings and the validated `Inputs`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import schema
from .errors import ERROR, Problem

BASE = "base"  # the scenario that is the workbook's data unchanged
ROW = "row"  # column holding the Excel row number of each record


@dataclass
class Table:
    sheet: schema.Sheet
    title: str                  # the sheet's name as typed in the file
    frame: pd.DataFrame         # schema columns present in the file, plus ROW
    headers: dict[str, str]     # schema column -> header text as typed
    letters: dict[str, str]     # schema column -> column letter

    def problem(self, message: str, row: int | None = None, column: str | None = None,
                value: object = None, severity: str = ERROR) -> Problem:
        return Problem(severity, message, self.title, row,
                       self.headers.get(column, column) if column else None,
                       self.letters.get(column) if column else None, value)


@dataclass
class Settings:
    currency: str = schema.DEFAULT_CURRENCY
    unmet_penalty: float | None = None
    solver: str | None = None
    time_limit_s: float | None = None
    max_outcomes: float = 1024      # outcomes enumerated up to this many, else sampled
    spot_premium: float = 0.5       # spot price = unit_cost x (1 + spot_premium)
    limit_penalty: float | None = None  # Limits soft in outcomes at this cost per t
    mip_gap: float = 1e-4           # with Options: optimal when proved within this gap


@dataclass
class Inputs:
    """Validated tables: every schema column present (blank = None), plus ROW.

    `scenario_tables` holds, per scenario, the tables its changes altered (applied once,
    when the workbook is loaded); `scenario_inputs` gives one scenario's Inputs."""

    path: Path
    sha256: str
    tables: dict[str, pd.DataFrame]
    periods: list[str]
    settings: Settings
    warnings: list[Problem] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=lambda: [BASE])  # base first
    changes: list = field(default_factory=list)                   # scenarios.Change
    events: list = field(default_factory=list)                    # risk.Event (Risks sheet)
    read_tables: dict[str, Table] = field(default_factory=dict)   # to point at cells later
    scenario_tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)

    def __getitem__(self, sheet: str) -> pd.DataFrame:
        return self.tables[sheet]
