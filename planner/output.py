"""Saving workbooks: complete or not at all.

A workbook is made in memory, written to a temporary file beside its target, flushed to
disk and renamed into place, so that the target is the new file or the old one, never half
of either; a full disk, a full temporary folder or a file-size limit is one OutputError in
plain words. Checks that would fail at the end (Excel's lock file, a folder that cannot be
written) are made before the work (`check_output`).
"""
from __future__ import annotations

import contextlib
import errno
import gc
import io
import os
import stat
import sys
import tempfile
import threading
from pathlib import Path

import pandas as pd

from .errors import OutputError
from .excel import plan_file

# Set when the process is being interrupted: no plan is saved after it, and files being
# written are removed (planner/supervise.py). The command line clears it at each start.
STOP = threading.Event()
_partial: set[str] = set()      # temporary files being written next to their targets
_partial_lock = threading.Lock()


def remove_partial_outputs() -> None:
    """Delete every temporary plan file still being written (an interrupt)."""
    with _partial_lock:
        for tmp in list(_partial):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _partial.clear()


def check_output(path: Path) -> None:
    """Refuse, before any work, an output that cannot be written: open in Excel (its lock
    file exists), not a regular file, or in a folder where no file can be created."""
    path = Path(path)
    lock = path.with_name("~$" + path.name)
    if lock.exists():
        raise OutputError(f"{path} is open in Excel (lock file {lock.name} exists); close it "
                          f"and run again")
    if path.exists() and not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file"
        raise OutputError(f"cannot write {path}: it is {what}; choose a file name ending "
                          f"in .xlsx")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folders on the way are created when the plan is saved
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".~planner-", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except PermissionError as exc:
        raise OutputError(f"cannot write {path}: no permission to create files in the folder "
                          f"{folder}; choose another -o or ask for write access") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path}: cannot create files in the folder {folder} "
                          f"({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    """What went wrong with a write, in words (lxml reports a full disk as 'IO_ENOSPC')."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "ENOSPC" in str(exc):
        return "no space left on the device"
    if code == errno.EFBIG or "EFBIG" in str(exc):
        return "the file is larger than the file-size limit allows"
    if code == errno.EDQUOT:
        return "the disk quota is exhausted"
    if code == errno.EROFS:
        return "the file system is read-only"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.0f} kB"


def _in_memory(wb) -> tuple[bytes, str | None]:
    """An openpyxl workbook's file as bytes, or the reason it could not be made. A save
    that fails half-way leaves a zip file and sheet writers that try (and fail) to finish
    when they are collected; those echoes of the one failure are collected here, silently."""
    buffer = io.BytesIO()
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        try:
            wb.save(buffer)
        except Exception as exc:
            return b"", _reason(exc)
        finally:
            gc.collect()
    finally:
        sys.unraisablehook = hook
    return buffer.getvalue(), None


def save_workbook(wb, path: Path) -> None:
    """Save an openpyxl workbook (the template) atomically: its file made in memory, then
    `_replace`d into place."""
    path = Path(path)
    check_output(path)
    data, failure = _in_memory(wb)
    if failure is not None:  # openpyxl writes each sheet through a file in the temp folder
        raise OutputError(f"cannot build {path.name}: writing to the temporary folder "
                          f"{tempfile.gettempdir()} failed ({failure})")
    _replace(path, data)


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file in the target folder and rename it into place, so
    the target is complete or untouched; a full disk or a file-size limit is one plain
    OutputError and leaves nothing behind."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~planner-", suffix=".xlsx", dir=path.parent)
        with _partial_lock:
            _partial.add(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # a full disk can first show at the flush to disk
        mode = stat.S_IMODE(os.stat(path).st_mode) if path.exists() else 0o644
        os.chmod(tmp, mode)
        with _partial_lock:
            if STOP.is_set() or tmp not in _partial:
                raise OutputError(f"interrupted: {path} was not written")
            os.replace(tmp, path)
            _partial.discard(tmp)
            tmp = None
    except PermissionError as exc:
        raise OutputError(f"cannot write {path}: permission denied. If the file is open in "
                          f"Excel, close it and run again") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({_megabytes(len(data))}): "
                          f"{_reason(exc)}") from exc
    finally:
        if tmp is not None:
            with _partial_lock:
                _partial.discard(tmp)
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_plan(path: Path, sheets: dict[str, tuple[str | None, pd.DataFrame]],
               currency: str | None) -> None:
    """Write the plan workbook (docs/plan-workbook.md) with its headlines, formats and
    charts (planner/excel.py), money labelled in `currency` (the Settings currency),
    atomically."""
    path = Path(path)
    check_output(path)  # before the work of building, and again before saving
    if STOP.is_set():
        raise OutputError(f"interrupted: {path} was not written")
    data = plan_file(sheets, currency)  # made in memory: no temporary folder involved
    check_output(path)
    _replace(path, data)


def write_csv(path: Path, table: pd.DataFrame) -> None:
    """Write `table` as CSV (UTF-8, header row, no index) atomically, as the plan."""
    path = Path(path)
    check_output(path)
    _replace(path, table.to_csv(index=False).encode("utf-8"))
