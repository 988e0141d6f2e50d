"""A spare process: a second Python interpreter started when the `planner` command starts,
loading the planner beside it, so that scenarios can be solved on a second CPU without
waiting for a worker to start.

A worker process started when a run needs it spends about as long importing numpy, pandas
and the planner as the example's thirteen scenarios take to solve (bench/RESULTS.md "Small
models"), so small runs used one CPU. The spare does that import on another CPU while this
process does the same one; by the time the workbook is read and base is solved, it is
ready to take scenarios (`plan.run_tasks`). It is only a helper: if it is not ready, fails
or dies, its task is solved in this process, and the plan is the same whichever process
solved what.

It talks over its standard input and output: pickled (function, arguments) in, one pickled
("ok", value) or ("error", exception) out per call. Its own prints go nowhere (a library
printing to standard output would corrupt the channel), it ignores Ctrl-C (the terminal
sends it to the whole process group; this process decides), and it leaves when its input
closes, so it never outlives the command. Standard library only: it must load before the
heavy imports it is meant to overlap.
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

# The spare of this process, if one was started (`start`); `current` hands it out.
_spare: Spare | None = None


def usable_cpus() -> int:
    """CPUs this process may run on (a container or `taskset` can grant fewer than the
    machine has, which is what os.cpu_count() reports)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


class SpareLost(Exception):
    """The spare process could not start, or ended, before it answered."""


class Spare:
    """A started spare process that loads `preload` and then calls what it is sent."""

    def __init__(self, preload: str):
        self.calls = 0  # calls answered: what the tests look at
        self._lock = threading.Lock()  # one call at a time
        self._ready: bool | None = None  # None until the spare says it has loaded
        self._process = subprocess.Popen(
            [sys.executable, "-c", f"from planner.spare import serve; serve({preload!r})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def _receive(self) -> Any:
        try:
            return pickle.load(self._process.stdout)
        except Exception as exc:  # ended (EOF), or an answer that cannot be read here
            raise SpareLost(f"the spare process ended ({type(exc).__name__}: {exc})") from None

    def wait_ready(self) -> bool:
        """Wait until the spare has loaded (False: it failed or ended)."""
        with self._lock:
            if self._ready is None:
                try:
                    self._ready = self._receive() == "ready"
                except SpareLost:
                    self._ready = False
            return self._ready

    def call(self, function: Callable, *args) -> Any:
        """`function(*args)` in the spare process, its result or its exception here;
        SpareLost when the spare is not there to answer (this process should then do the
        work itself). `function` and `args` must pickle."""
        if not self.wait_ready():
            raise SpareLost("the spare process did not start")
        with self._lock:
            request = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
            try:
                self._process.stdin.write(request)
                self._process.stdin.flush()
            except (OSError, ValueError) as exc:
                raise SpareLost(f"the spare process ended ({exc})") from None
            kind, value = self._receive()
            self.calls += 1
        if kind == "error":
            raise value
        return value

    def stop(self) -> None:
        """End the spare now (its input closed, then killed: nothing of it is needed)."""
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._process.kill()
        self._process.wait()


def start(preload: str) -> Spare | None:
    """Start this process's spare, loading module `preload`, where there is a second CPU
    for it; the spare, or None."""
    global _spare
    if _spare is None and usable_cpus() > 1:
        try:
            _spare = Spare(preload)
        except OSError:  # no process to spare (a limit on processes, no memory)
            _spare = None
    return _spare


def current() -> Spare | None:
    """This process's spare, if one was started and has not been stopped."""
    return _spare


def stop() -> None:
    """Stop this process's spare, if any."""
    global _spare
    if _spare is not None:
        _spare.stop()
        _spare = None


def serve(preload: str) -> None:
    """The spare's side: load `preload`, say "ready", then answer calls until the input
    closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):  # its import slows the command's own less (bench/small.py)
        os.nice(10)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Anything printed from here on (a solver's banner, a library's warning) goes nowhere.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, sys.stdout.fileno())
    requests = sys.stdin.buffer
    try:
        __import__(preload)
        pickle.dump("ready", answers)
        answers.flush()
        while True:
            try:
                function, args = pickle.load(requests)
            except EOFError:
                return
            try:
                answer = pickle.dumps(("ok", function(*args)), pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # the caller's to handle, as if called there
                try:
                    answer = pickle.dumps(("error", exc), pickle.HIGHEST_PROTOCOL)
                except Exception:  # an exception that does not pickle: its words do
                    answer = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: "
                                                                 f"{exc}")))
            answers.write(answer)
            answers.flush()
    except (BrokenPipeError, KeyboardInterrupt):  # the command has ended
        return
