"""Clean ends for a command: SIGINT (Ctrl-C) and SIGTERM answered within seconds.

The command's work runs on a thread while the main thread waits for it: Python runs
signal handlers on the main thread only, and only between bytecodes, so a main thread
inside a long HiGHS solve would not hear a signal until the solve ends. On a signal the
main thread stops the worker processes (and whatever they started), removes the plan
file being written and every temporary file of the run, leaves any previous plan as it
was, says "interrupted" and exits 130 (SIGINT) or 143 (SIGTERM).
"""
from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from . import output
from .terminal import end_line

T = TypeVar("T")
GRACE_S = 5.0    # for the work to unwind (its pool shut down) once its workers are stopped;
# a join returns as soon as it has, and under load (a test suite beside it) 2 s was short:
# the pool, still held, left its semaphores to the resource tracker, which warned of leaks
CHILDREN_S = 1.0  # for stopped child processes to exit before they are killed
INTERRUPTED = threading.Event()  # set once a signal arrived: later errors are its echoes


class _Signalled(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise(signum, frame):
    raise _Signalled(signum)


def supervised(work: Callable[[], T], echo: Callable[[str], None]) -> T:
    """`work()` on a thread, answering SIGINT and SIGTERM (see the module docstring);
    its result returned, its exception (SystemExit included) raised here. Off the main
    thread (where no signal arrives) it simply calls `work()`."""
    if threading.current_thread() is not threading.main_thread():
        return work()
    _quiet_resource_tracker()
    INTERRUPTED.clear()
    output.STOP.clear()
    outcome: dict[str, object] = {}

    def target():
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the main thread, SystemExit included
            outcome["error"] = exc

    with _private_tempdir() as private:
        handlers = {s: signal.signal(s, _raise) for s in (signal.SIGINT, signal.SIGTERM)}
        # A file-size limit (ulimit -f) kills the process with SIGXFSZ by default; ignored,
        # the write fails with EFBIG and is reported like a full disk.
        xfsz = getattr(signal, "SIGXFSZ", None)
        if xfsz is not None:
            handlers[xfsz] = signal.signal(xfsz, signal.SIG_IGN)
        thread = threading.Thread(target=target, name="planner-work", daemon=True)
        try:
            thread.start()
            while thread.is_alive():
                thread.join(0.2)
        except _Signalled as signalled:
            _abort(signalled.signum, thread, private, echo)
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# Worker pools (a process pool, a local Dask cluster) hold named semaphores, which Python's
# resource tracker, a process of its own, removes if the pool did not. After a signal the
# hard exit leaves them to it, and it would say so on the user's terminal, once per run.
TRACKER_QUIET = "ignore::UserWarning:multiprocessing.resource_tracker"


def _quiet_resource_tracker() -> None:
    """The resource tracker started later in this run removes what it finds without a
    warning: it takes the -W options of sys.warnoptions when started."""
    if TRACKER_QUIET not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_QUIET)


@contextlib.contextmanager
def _private_tempdir():
    """A temporary folder of this run, for every library and child process that makes
    temporary files (openpyxl, worker processes), removed at the end whatever happens."""
    try:
        private = tempfile.mkdtemp(prefix="planner-")
    except OSError:  # a full or read-only temp folder: the write will report it
        yield None
        return
    saved_dir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = private, private
    try:
        yield private
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(private, ignore_errors=True)


def _abort(signum: int, thread: threading.Thread, private: str | None,
           echo: Callable[[str], None]) -> None:
    """Stop everything and leave; never returns."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    INTERRUPTED.set()
    output.STOP.set()
    output.remove_partial_outputs()
    _stop_descendants()
    thread.join(GRACE_S)
    # The process pool, unwound, releases its semaphores when collected; left to the hard
    # exit, Python's resource tracker would clean them up with a warning about leaks.
    gc.collect()
    output.remove_partial_outputs()
    if private:
        shutil.rmtree(private, ignore_errors=True)
    with contextlib.suppress(Exception):
        end_line()  # a progress line shown: the word goes on a line of its own
        echo("interrupted")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    # The work thread may still be inside the solver: only a hard exit ends it at once.
    os._exit(128 + signum)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children first), from /proc; [] where there is none."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _stop_descendants() -> None:
    """SIGTERM to every descendant (worker processes, a CBC run), SIGKILL to those still
    running a second later. Python's resource tracker ignores SIGTERM and leaves by
    itself, after cleaning up, once this process has exited."""
    pids = descendants(os.getpid())
    if not pids:  # no /proc: at least the worker processes multiprocessing knows
        import multiprocessing

        for child in multiprocessing.active_children():
            child.terminate()
        return
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + CHILDREN_S
    while time.monotonic() < deadline and any(alive(p) and not _tracker(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid) and not _tracker(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _tracker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"resource_tracker" in fh.read()
    except OSError:
        return False
