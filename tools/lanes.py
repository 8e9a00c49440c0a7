#!/usr/bin/env python3
"""Run the steps of `make test` as a queue of jobs on a few workers ("lanes"), fail if any failed.

    tools/lanes.py [--workers N] [--log-dir DIR] NAME[:AFTER,...]=COMMAND ...

Why: on these 2-core machines the VM suite runs QEMU under TCG and keeps most of one core busy
for half an hour, while lint, sanity, unit, integration and the molecule scenarios each want
a core for minutes. Run one after the other, a core sits idle; split into two fixed lanes, one
lane ends long before the other. A queue keeps both workers busy until the end: each free
worker takes the first job, in the order given, whose AFTER jobs have all passed.

Every line a job prints is shown as it comes (a partial line too, so pytest's progress dots
are not held back), prefixed with the job's name, and kept whole in DIR/NAME.log. After the
first failure no new job starts (running ones finish: their result is worth having). At the
end a table gives each job's result, start and duration, then the tail of each failed log.
Ctrl-C or SIGTERM stops every job's whole process group.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

JOB_RE = re.compile(r"(?P<name>[A-Za-z0-9_.-]+)(?::(?P<after>[A-Za-z0-9_.,-]+))?=(?P<cmd>.+)", re.S)
TAIL_LINES = 40


@dataclasses.dataclass
class Job:
    name: str
    cmd: str
    after: tuple[str, ...]
    state: str = "queued"  # queued, running, passed, failed, not run
    rc: int | None = None
    start: float | None = None
    end: float | None = None
    proc: subprocess.Popen[bytes] | None = None


def parse_jobs(specs: list[str]) -> list[Job]:
    """Jobs from NAME[:AFTER,...]=COMMAND; an AFTER must name an earlier job (no cycles)."""
    jobs: list[Job] = []
    for spec in specs:
        m = JOB_RE.fullmatch(spec)
        if not m:
            raise SystemExit(f"lanes: bad job {spec!r}: expected NAME[:AFTER,...]=COMMAND")
        after = tuple(a for a in (m["after"] or "").split(",") if a)
        known = {j.name for j in jobs}
        if m["name"] in known:
            raise SystemExit(f"lanes: job {m['name']!r} given twice")
        for a in after:
            if a not in known:
                raise SystemExit(f"lanes: job {m['name']!r} waits for {a!r}, which is not an earlier job")
        jobs.append(Job(m["name"], m["cmd"], after))
    return jobs


class Lanes:
    """The queue, its workers' processes and the shared terminal."""

    def __init__(self, jobs: list[Job], workers: int, log_dir: Path) -> None:
        self.jobs = jobs
        self.workers = workers
        self.log_dir = log_dir
        self.t0 = time.monotonic()
        # Re-entrant: the signal handler prints while the main thread may be printing.
        self.out_lock = threading.RLock()
        self.partial_line_of: str | None = None  # the job whose unended line the terminal shows
        self.done = threading.Condition()
        self.stopping = False

    # ------------------------------------------------------------------ scheduling
    def run(self) -> int:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        readers: list[threading.Thread] = []
        with self.done:
            while True:
                failed = any(j.state == "failed" for j in self.jobs)
                running = [j for j in self.jobs if j.state == "running"]
                ready = [] if failed or self.stopping else self.ready()
                while ready and len(running) < self.workers:
                    job = ready.pop(0)
                    readers.append(self.start(job))
                    running.append(job)
                if not running:
                    break
                self.done.wait()
        for t in readers:
            t.join()
        for j in self.jobs:
            if j.state == "queued":
                j.state = "not run"
        return self.report()

    def ready(self) -> list[Job]:
        passed = {j.name for j in self.jobs if j.state == "passed"}
        return [j for j in self.jobs if j.state == "queued" and set(j.after) <= passed]

    def start(self, job: Job) -> threading.Thread:
        # Own session = own process group: an interrupt can stop the job's whole tree.
        job.proc = subprocess.Popen(
            ["bash", "-c", job.cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        job.state, job.start = "running", time.monotonic()
        self.say(f"==> {self.clock()} job {job.name} started: {job.cmd}")
        if self.stopping:  # the interrupt came while the job was being started
            self.kill(job, signal.SIGTERM)
        t = threading.Thread(target=self.follow, args=(job,), daemon=True)
        t.start()
        return t

    def follow(self, job: Job) -> None:
        """Copy the job's output to its log and, prefixed, to the terminal; then record its end."""
        assert job.proc is not None and job.proc.stdout is not None
        with open(self.log_dir / f"{job.name}.log", "wb") as log:
            while chunk := os.read(job.proc.stdout.fileno(), 65536):
                log.write(chunk)
                log.flush()
                self.show(job.name, chunk)
        rc = job.proc.wait()
        with self.done:
            job.rc, job.end = rc, time.monotonic()
            job.state = "passed" if rc == 0 else "failed"
            self.say(f"==> {self.clock()} job {job.name} {job.state} (exit {rc}) after {job.end - job.start:.0f} s")
            self.done.notify_all()

    def stop(self, signum: int, _frame: object) -> None:
        """Ctrl-C / SIGTERM: no new jobs; every running job's process group gets SIGTERM (SIGKILL
        on a second signal)."""
        sig = signal.SIGKILL if self.stopping else signal.SIGTERM
        self.stopping = True
        for j in self.jobs:
            if j.state == "running":
                self.kill(j, sig)
        self.say(f"==> lanes: stopped by signal {signum}")

    @staticmethod
    def kill(job: Job, sig: int) -> None:
        assert job.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.proc.pid, sig)

    # ------------------------------------------------------------------ output
    def clock(self) -> str:
        return f"[+{fmt_secs(time.monotonic() - self.t0)}]"

    def show(self, name: str, chunk: bytes) -> None:
        """A job's output on the terminal. A partial line (pytest's dots) is shown at once; when
        another job prints meanwhile, that line is ended and later continued under its prefix."""
        with self.out_lock:
            if self.partial_line_of not in (None, name):
                sys.stdout.buffer.write(b"\n")
            text, ends_line = prefixed(chunk, f"[{name}] ".encode(), self.partial_line_of != name)
            sys.stdout.buffer.write(text)
            sys.stdout.buffer.flush()
            self.partial_line_of = None if ends_line else name

    def say(self, line: str) -> None:
        with self.out_lock:
            if self.partial_line_of is not None:
                line = "\n" + line
                self.partial_line_of = None
            sys.stdout.buffer.write(line.encode() + b"\n")
            sys.stdout.buffer.flush()

    def report(self) -> int:
        for j in self.jobs:
            if j.state == "failed":
                self.say(f"\n--- last {TAIL_LINES} lines of job {j.name} ({self.log_dir / (j.name + '.log')})")
                lines = (self.log_dir / f"{j.name}.log").read_bytes().decode(errors="replace").splitlines()
                self.say("\n".join(lines[-TAIL_LINES:]))
        self.say("\njob                      result    start     took")
        for j in self.jobs:
            start = fmt_secs(j.start - self.t0) if j.start is not None else "-"
            took = f"{j.end - j.start:.0f} s" if j.start is not None and j.end is not None else "-"
            self.say(f"{j.name:<24} {j.state:<9} {start:>8}  {took:>8}")
        self.say(f"all jobs: {fmt_secs(time.monotonic() - self.t0)} on {self.workers} workers")
        if self.stopping:
            return 130
        return 0 if all(j.state == "passed" for j in self.jobs) else 1


def prefixed(chunk: bytes, prefix: bytes, at_line_start: bool) -> tuple[bytes, bool]:
    """`chunk` with `prefix` at the start of every line it begins; and whether it ends a line."""
    ends_line = chunk.endswith(b"\n")
    body = chunk[:-1] if ends_line else chunk
    out = (prefix if at_line_start else b"") + body.replace(b"\n", b"\n" + prefix)
    return (out + b"\n" if ends_line else out), ends_line


def fmt_secs(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--log-dir", type=Path, default=Path(".cache/lanes"))
    ap.add_argument("jobs", nargs="+", metavar="NAME[:AFTER,...]=COMMAND")
    args = ap.parse_args(argv)
    if args.workers < 1:
        ap.error("--workers must be at least 1")
    lanes = Lanes(parse_jobs(args.jobs), args.workers, args.log_dir)
    signal.signal(signal.SIGINT, lanes.stop)
    signal.signal(signal.SIGTERM, lanes.stop)
    return lanes.run()


if __name__ == "__main__":
    sys.exit(main())
