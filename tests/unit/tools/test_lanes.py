"""tools/lanes.py, the job queue `make test` runs on: order, waits, failures, output, interrupts.

Every test runs the real script on real shell jobs; the jobs leave marks in files to say
when they ran.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LANES = ROOT / "tools" / "lanes.py"
sys.path.insert(0, str(ROOT / "tools"))
from lanes import parse_jobs, prefixed  # noqa: E402


def lanes(tmp_path: Path, *jobs: str, workers: int = 2) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(LANES), "--workers", str(workers), "--log-dir", str(tmp_path / "logs"), *jobs],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def stamp(file: str) -> str:
    """Shell that writes the time to `file` whole (renamed into place: a job waiting for the file
    never sees it before the time is in it)."""
    return f"date +%s.%N > {file}.tmp && mv {file}.tmp {file}"


def mark(name: str) -> str:
    """Shell that records the job's start and end."""
    return f"{stamp(name + '.start')}; sleep 0.3; {stamp(name + '.end')}"


def span(tmp_path: Path, name: str) -> tuple[float, float]:
    return float((tmp_path / f"{name}.start").read_text()), float((tmp_path / f"{name}.end").read_text())


@pytest.mark.parametrize(
    ("chunk", "at_start", "expected"),
    [
        (b"abc", True, (b"[x] abc", False)),
        (b"abc\n", True, (b"[x] abc\n", True)),
        (b"a\nb", True, (b"[x] a\n[x] b", False)),
        (b"..", False, (b"..", False)),
        (b".\nnext\n", False, (b".\n[x] next\n", True)),
        (b"\n\n", True, (b"[x] \n[x] \n", True)),
    ],
)
def test_prefix_at_each_line_start_only(chunk: bytes, at_start: bool, expected: tuple[bytes, bool]) -> None:
    assert prefixed(chunk, b"[x] ", at_start) == expected


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("no-command", "bad job"),
        ("a:b=true", "not an earlier job"),
        ("a=true a=true", "given twice"),
        ("a;rm=true", "bad job"),
    ],
)
def test_bad_job_specs_are_refused_by_name(spec: str, error: str) -> None:
    with pytest.raises(SystemExit, match=error):
        parse_jobs(spec.split(" "))


def test_one_worker_runs_jobs_one_after_the_other_in_order(tmp_path: Path) -> None:
    r = lanes(tmp_path, f"a={mark('a')}", f"b={mark('b')}", f"c={mark('c')}", workers=1)
    assert r.returncode == 0, r.stdout
    a, b, c = span(tmp_path, "a"), span(tmp_path, "b"), span(tmp_path, "c")
    assert a[1] <= b[0] and b[1] <= c[0]


def wait_for_file(name: str) -> str:
    """Shell that waits (up to 20 s) for another job's mark: no timing assumption on a busy machine."""
    return f"for i in $(seq 400); do [ -e {name} ] && break; sleep 0.05; done"


def test_two_workers_overlap_and_a_waiting_job_starts_after_its_job_passed(tmp_path: Path) -> None:
    a = f"{stamp('a.start')}; {wait_for_file('b.start')}; {stamp('a.end')}"
    r = lanes(tmp_path, f"a={a}", f"b={mark('b')}", f"c:a={mark('c')}")
    assert r.returncode == 0, r.stdout
    a, b, c = span(tmp_path, "a"), span(tmp_path, "b"), span(tmp_path, "c")
    assert b[0] < a[1]  # side by side
    assert c[0] >= a[1]


def test_a_free_worker_takes_the_next_ready_job_not_the_next_in_line(tmp_path: Path) -> None:
    # w1: slow; w2: quick, then c must wait for slow, so w2 takes d meanwhile.
    slow = f"{stamp('slow.start')}; {wait_for_file('d.start')}; {stamp('slow.end')}"
    r = lanes(tmp_path, f"slow={slow}", f"quick={mark('quick')}", f"c:slow={mark('c')}", f"d={mark('d')}")
    assert r.returncode == 0, r.stdout
    assert span(tmp_path, "d")[0] < span(tmp_path, "slow")[1] <= span(tmp_path, "c")[0]


def test_after_a_failure_no_new_job_starts_and_the_running_one_finishes(tmp_path: Path) -> None:
    r = lanes(tmp_path, "bad=echo broken; exit 3", f"running={mark('running')}", f"later={mark('later')}")
    assert r.returncode == 1
    assert (tmp_path / "running.end").exists()
    assert not (tmp_path / "later.start").exists()
    table = r.stdout[r.stdout.index("job   ") :]
    assert [line.split()[:2] for line in table.splitlines()[1:4]] == [
        ["bad", "failed"],
        ["running", "passed"],
        ["later", "not"],
    ]
    # the failed job's log tail is shown, and its whole log kept
    assert "--- last 40 lines of job bad" in r.stdout and "broken" in r.stdout
    assert (tmp_path / "logs" / "bad.log").read_text() == "broken\n"


def test_a_job_waiting_for_a_failed_job_never_runs(tmp_path: Path) -> None:
    r = lanes(tmp_path, "a=exit 1", f"b:a={mark('b')}", workers=1)
    assert r.returncode == 1
    assert not (tmp_path / "b.start").exists()


def test_a_partial_line_is_shown_at_once_and_continued_under_its_prefix(tmp_path: Path) -> None:
    # a prints a dot without a newline, then waits until b has printed a whole line.
    a = "printf .; while [ ! -e flag ]; do sleep 0.05; done; printf '.\\n'; echo end"
    b = "while [ ! -s ../logs/a.log ]; do sleep 0.05; done; sleep 0.3; echo hello; touch ../flag"
    (tmp_path / "b").mkdir()
    r = lanes(tmp_path, f"a={a}", f"b=cd b && {b}")
    assert r.returncode == 0, r.stdout
    # (the scheduler's own "==>" lines may come in between)
    assert re.search(r"\[a\] \.\n(==>.*\n)*\[b\] hello\n(==>.*\n)*\[a\] \.\n\[a\] end\n", r.stdout), r.stdout
    assert (tmp_path / "logs" / "a.log").read_text() == "..\nend\n"


def test_interrupt_stops_every_job_tree_and_exits_130(tmp_path: Path) -> None:
    # The job's child writes its pid, then sleeps: it must be gone after the interrupt.
    job = "sleep 60 & echo $! > child.pid; wait"
    proc = subprocess.Popen(
        [sys.executable, str(LANES), "--log-dir", str(tmp_path / "logs"), f"a={job}", "b=sleep 60"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pidfile = tmp_path / "child.pid"
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pidfile.read_text())
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "stopped by signal" in out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the job's child {child} outlived the interrupt")
