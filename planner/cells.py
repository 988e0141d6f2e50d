"""What a cell of each kind of input column means: the typed value of a cell (schema
kinds), or the sentence saying why it has none. Used by the reader for every cell and by
the scenarios for the values and conditions they are given."""
from __future__ import annotations

import datetime as dt
import math
import numbers
import re

from . import schema


EXCEPT = "except:"  # a rule's scenario cell "except: a; b" = every scenario but a and b


def scenario_scope(cell: object) -> tuple[list[str], bool]:
    """A rule's `scenario` cell as (names, excluding): blank = every scenario; "a; b" = only
    those; "except: a; b" = every scenario but those (base included unless named)."""
    text = "" if cell is None else str(cell).strip()
    excluding = text.lower().startswith(EXCEPT)
    if excluding:
        text = text[len(EXCEPT):]
    return [n.strip() for n in text.split(";") if n.strip()], excluding


def _number_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def as_label(value: object) -> str | None:
    """Text of an id/period cell: numbers without a trailing .0, dates as ISO dates."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else _number_label(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# C0 and C1 control characters other than tab and newline. Excel keeps them in text (ESC is
# stored as _x001B_) though they are invisible there; raw, they break the chart writer and
# drive the terminal. The reader replaces each by the four visible characters \xNN (ESC
# becomes \x1b), one form for C0 and C1 alike, so the same label reaches the plan, its
# charts and the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C0_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 "
             "NAK SYN ETB CAN EM SUB ESC FS GS RS US").split()


def visible(text: str) -> tuple[str, list[str]]:
    """`text` with each control character as \\xNN, and the names of those replaced
    ("ESC (U+001B)"); `text` itself and [] when it has none."""
    if text.isprintable() or not _CONTROL.search(text):  # isprintable: fast common case
        return text, []
    found = dict.fromkeys(_CONTROL.findall(text))
    names = [(_C0_NAMES[ord(c)] + " " if ord(c) < 32 else "DEL " if ord(c) == 127 else "")
             + f"(U+{ord(c):04X})" for c in found]
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text), names


def coerce(value: object, column: schema.Column) -> tuple[object, str | None]:
    """(typed value, error sentence or None). Blank cells give (None, None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    kind = column.kind
    if kind in (schema.ID, schema.TEXT, schema.PERIOD):
        return as_label(value), None
    if kind == schema.FLAG:
        text = as_label(value).lower()
        if text in ("yes", "y", "true", "1"):
            return True, None
        if text in ("no", "n", "false", "0"):
            return False, None
        return None, "write yes or no"
    if kind == schema.CHOICE:  # matched like headers: "Unmet penalty" = unmet_penalty
        found = {schema.normalise(c): c for c in column.choices}.get(schema.normalise(value))
        if found is not None:
            return found, None
        return None, "write one of: " + ", ".join(column.choices)
    # numeric kinds
    percent = False
    if isinstance(value, bool):
        return None, "write a number, not TRUE/FALSE"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return None, "write a number, not a date (check the cell's format)"
    if isinstance(value, dt.timedelta):  # a cell formatted as a duration, e.g. [h]:mm
        return None, "write a number, not a duration (check the cell's format)"
    if isinstance(value, str):
        text = value.strip()
        if kind == schema.SHARE and text.endswith("%"):
            text, percent = text[:-1].strip(), True
        if not _NUMBER_TEXT.match(text):
            return None, ("write a plain number (no thousands separators, units or words"
                          + (", e.g. 0.65 or 65%" if kind == schema.SHARE else "")
                          + "); leave the cell blank where blank is allowed")
        number = float(text) / (100 if percent else 1)
    elif isinstance(value, numbers.Real):  # numpy's too, from DataFrames given to the API
        number = float(value)
    else:  # whatever else a reader may hand back: said at its cell, not as a crash
        return None, f"write a number (the cell holds {type(value).__name__} data)"
    if not math.isfinite(number):
        return None, "write a finite number; leave the cell blank for unlimited"
    if kind in (schema.NUMBER, schema.SHARE) and number < 0:
        return None, "must not be negative"
    if kind == schema.SHARE and number > 1:
        return None, "a share is a fraction between 0 and 1 (write 0.65 or 65%)"
    if abs(number) > schema.MAX_MAGNITUDE:
        return None, (f"{number:g} is beyond what the solver can handle exactly (at most "
                      f"{schema.MAX_MAGNITUDE:g}); check the units")
    if 0 < abs(number) < column.least:
        return None, (f"{number:g} is below {column.least:g}: the solver would silently lose "
                      f"a coefficient this small (HiGHS drops matrix entries below 1e-9); "
                      f"check the units")
    return number + 0.0, None


def column_letter(index: int) -> str:
    """Excel's letters for the 1-based column `index`: 1 -> A, 26 -> Z, 27 -> AA. (Written
    here so that reading a workbook does not import openpyxl: 0.25 s per run.)"""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
