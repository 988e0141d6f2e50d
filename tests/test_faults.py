"""Clean ends under faults: signals, full disks, file-size limits, outputs that cannot be
written, a reader that closes the pipe. Each ends with the exit status of the command
line's contract, one plain line, nothing left behind and any previous plan untouched."""
from __future__ import annotations

import errno
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from planner import output
from planner.cli import main
from planner.supervise import alive, descendants
from wb import make_workbook, read_plan_sheet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from generate import world, write_workbook  # noqa: E402

from test_cli import EXAMPLE, SHEETS  # noqa: E402  (a one-mine case, the shipped example)

PLANNER = str(Path(sys.executable).with_name("planner"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".~planner")]


def _old_plan(folder: Path) -> Path:
    """A previous plan at the output path, with content no run would write."""
    old = folder / "plan.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "the previous plan"
    wb.save(old)
    return old


@pytest.fixture(scope="module")
def slow_workbook(tmp_path_factory) -> Path:
    """A generated workbook whose base and two scenarios take seconds each to solve."""
    sheets = world(150_000, seed=1)
    sheets["Scenarios"] = [
        {"scenario": "dear", "sheet": "Suppliers", "column": "unit_cost", "action": "multiply",
         "value": 1.1},
        {"scenario": "short", "sheet": "Demand", "column": "quantity_t", "action": "multiply",
         "value": 1.2}]
    return write_workbook(tmp_path_factory.mktemp("slow") / "slow.xlsx", sheets)


def _wait_for(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_solve_stops_workers_and_leaves_the_old_plan(tmp_path, slow_workbook,
                                                                   signum, status):
    old = _old_plan(tmp_path)
    before = _sha(old)
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    proc = subprocess.Popen([PLANNER, "run", str(slow_workbook), "-o", str(old), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "TMPDIR": str(private_tmp)})
    try:
        # Mid-solve: both worker processes are up (spawned after reading and checking).
        def workers():
            return [p for p in descendants(proc.pid) if b"spawn_main" in
                    Path(f"/proc/{p}/cmdline").read_bytes()]
        assert _wait_for(lambda: len(workers()) == 2, 60), "no worker processes started"
        time.sleep(1.0)
        children = descendants(proc.pid)
        sent = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, err
    assert took < 10, took  # "within a few seconds", against the minutes it took before
    assert err.decode().strip().endswith("interrupted")
    assert b"Traceback" not in err and b"internal error" not in err
    assert b"plan written" not in out
    assert _wait_for(lambda: not any(alive(p) for p in children), 10), \
        [p for p in children if alive(p)]
    assert _sha(old) == before
    assert _leftovers(tmp_path) == []
    assert list(private_tmp.iterdir()) == []


def test_an_interrupted_stress_test_on_a_local_cluster_ends_in_one_line(tmp_path):
    """Ctrl-C while a local Dask cluster of two workers solves outcomes: exit 130, the one
    word, no warning from Python's resource tracker (it still removes the semaphores the
    stopped workers' pool held, without printing), nothing left running or written."""
    from stress import example_variant  # bench/stress.py: an outage event per supplier

    workbook = example_variant(tmp_path / "outages.xlsx", outages=True)
    out = tmp_path / "stress.xlsx"
    proc = subprocess.Popen([PLANNER, "stress", str(workbook), "-o", str(out), "--samples",
                             "3000", "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        def workers():
            return [p for p in descendants(proc.pid)
                    if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert _wait_for(lambda: len(workers()) >= 2, 60), "no cluster workers started"
        time.sleep(3.0)  # outcomes being solved
        children = descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        out_text, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    last = err.decode().replace("\r", "\n").strip().splitlines()[-1]
    assert last.strip() == "interrupted", err.decode()[-500:]
    # the tracker outlives this process by a moment: its warning would come after
    assert _wait_for(lambda: not any(alive(p) for p in children), 10)
    assert b"Warning" not in err and b"Traceback" not in err, err.decode()[-500:]
    assert not out.exists()


def test_a_progress_line_is_ended_once_before_anything_else_is_said(capsys):
    from planner.terminal import end_line, progress_line

    end_line()  # no line shown: nothing to end
    progress_line("outcomes 1/9")
    progress_line("outcomes 5/9")
    end_line()
    end_line()
    assert capsys.readouterr().err == "\routcomes 1/9\routcomes 5/9\n"


def test_an_interrupt_while_saving_keeps_the_old_plan_and_removes_the_partial_file(tmp_path):
    old = _old_plan(tmp_path)
    before = _sha(old)

    class Interrupted(openpyxl.Workbook):
        def save(self, target):
            super().save(target)
            output.STOP.set()  # the signal arrives while the file is being written

    try:
        with pytest.raises(output.OutputError, match="interrupted"):
            output.save_workbook(Interrupted(), old)
    finally:
        output.STOP.clear()
    assert _sha(old) == before
    assert _leftovers(tmp_path) == []


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_one_plain_line(result, *words):
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and "Exception ignored" not in result.output
    assert "internal error" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]


def test_a_full_disk_at_the_output_folder_is_one_line_and_leaves_nothing(tmp_path,
                                                                          monkeypatch):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    old = _old_plan(tmp_path)
    before = _sha(old)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = _run("run", inp, "-o", old, "--jobs", "1")
    _assert_one_plain_line(result, "no space left", str(old), "kB")
    assert _sha(old) == before
    assert _leftovers(tmp_path) == []


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 256 kB file system, where the test may mount one (root on Linux)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_real_full_disk_at_the_output_folder(tmp_path, tiny_tmpfs):
    # The example's plan is about 300 kB: it cannot fit in 256 kB.
    out = tiny_tmpfs / "plan.xlsx"
    proc = subprocess.run([PLANNER, "run", str(EXAMPLE), "-o", str(out), "--jobs", "1",
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.strip().startswith("error: cannot write")
    assert "no space left" in proc.stderr and "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert list(tiny_tmpfs.iterdir()) == []


def test_a_real_full_temp_folder(tmp_path, tiny_tmpfs):
    # Fill the temp folder. The plan is made in memory: it is written all the same. The
    # template is refused in one line (openpyxl writes each sheet through a file there).
    (tiny_tmpfs / "filler").write_bytes(b"x" * (256 * 1024 - 8192))
    env = {**os.environ, "TMPDIR": str(tiny_tmpfs)}
    out = tmp_path / "plan.xlsx"
    proc = subprocess.run([PLANNER, "run", str(EXAMPLE), "-o", str(out), "--jobs", "1",
                           "--quiet"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert read_plan_sheet(out, "Summary")[0]["scenario"] == "base"
    template = tmp_path / "template.xlsx"
    proc = subprocess.run([PLANNER, "template", str(template)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 4, proc.stderr
    assert "no space left" in proc.stderr and "Traceback" not in proc.stderr
    assert "Exception ignored" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert not template.exists() and _leftovers(tmp_path) == []
    assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["filler"]


def test_a_file_size_limit_is_one_line(tmp_path):
    # ulimit -f: by default the kernel kills a process that writes past it (SIGXFSZ).
    out = tmp_path / "plan.xlsx"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    proc = subprocess.run([PLANNER, "run", str(EXAMPLE), "-o", str(out), "--jobs", "1",
                           "--quiet"], capture_output=True, text=True, timeout=300,
                          preexec_fn=limit)
    assert proc.returncode == 4, proc.stderr
    assert "file-size limit" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not out.exists() and _leftovers(tmp_path) == []


def test_excel_lock_file_is_refused_before_solving(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    (tmp_path / "~$plan.xlsx").write_text("lock")
    result = _run("run", inp, "-o", tmp_path / "plan.xlsx", "--jobs", "1")
    _assert_one_plain_line(result, "open in Excel")
    assert "optimal" not in result.output  # nothing was solved
    assert not (tmp_path / "plan.xlsx").exists()


def test_a_read_only_folder_is_about_permissions_before_solving(tmp_path, monkeypatch):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    folder = tmp_path / "shared"
    folder.mkdir()
    real = output.tempfile.mkstemp

    def refuse(*args, dir=None, **kwargs):
        if dir is not None and Path(dir) == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(output.tempfile, "mkstemp", refuse)
    result = _run("run", inp, "-o", folder / "plan.xlsx", "--jobs", "1")
    _assert_one_plain_line(result, "no permission", str(folder))
    assert "Excel" not in result.output and "optimal" not in result.output


def test_an_output_that_is_a_folder_is_named_so(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    (tmp_path / "plan.xlsx").mkdir()
    result = _run("run", inp, "-o", tmp_path / "plan.xlsx", "--jobs", "1")
    _assert_one_plain_line(result, "is a folder")


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_an_input_that_is_no_regular_file_is_named_so(tmp_path, kind):
    inp = tmp_path / "x.xlsx"
    if kind == "folder":
        inp.mkdir()
    else:
        os.mkfifo(inp)
    result = _run("validate", inp)
    assert result.exit_code == 1, result.output
    assert "no such file" not in result.output
    assert ("a folder" if kind == "folder" else "not a regular file") in result.output


def test_a_reader_that_closes_the_pipe_changes_nothing(tmp_path):
    out = tmp_path / "plan.xlsx"
    planner = subprocess.Popen([PLANNER, "run", str(EXAMPLE), "-o", str(out), "--jobs", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    planner.stdout.readline()
    planner.stdout.close()  # `| head -1`
    err = planner.stderr.read()
    assert planner.wait(timeout=300) == 0, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    assert read_plan_sheet(out, "Summary")[0]["scenario"] == "base"


def test_the_command_ends_with_its_exit_status_and_every_line(tmp_path):
    # The `planner` command skips the interpreter's teardown (cli.entry): its exit status
    # is still the contract's and its output arrives whole, through a pipe too.
    out = tmp_path / "plan.xlsx"
    proc = subprocess.run([PLANNER, "run", str(EXAMPLE), "-o", str(out), "--jobs", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == f"plan written to {out}"
    assert "HiGHS" not in proc.stdout  # no solver banner (the example's co-product check)
    assert proc.stderr == ""  # no worker process or semaphore left for the exit to report
    assert read_plan_sheet(out, "Summary")[0]["scenario"] == "base"
    for args, status, said in (
            (["run", str(tmp_path / "none.xlsx")], 1, "no such file"),
            (["run", str(EXAMPLE), "--scenario", "nope"], 2, "no scenario named 'nope'"),
            (["run"], 2, "Missing argument")):
        proc = subprocess.run([PLANNER, *args], capture_output=True, text=True, timeout=300)
        assert proc.returncode == status and said in proc.stderr, proc.stderr
    assert [p.name for p in tmp_path.glob("*.xlsx")] == ["plan.xlsx"]  # nothing else written
