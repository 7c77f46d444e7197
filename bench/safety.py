"""Running a bench's children safely: each under a memory cap and a wall-clock timeout, with its peak RSS.

A bench that eats the machine's memory kills everything on it, the work of others included; one whose
child hangs never ends. So every child a bench starts goes through `Child` (or `run`, for one that runs
to its end):

- its address space is capped (`RLIMIT_AS`, set in the child before it execs): an allocation past the cap
  fails in the child (Python raises MemoryError, Go dies with "out of memory"), never on the machine.
  The address space holds at least the resident set, so the caps of the children running at once bound
  the memory of the whole process tree. A cap above the limit this process inherited (`prlimit --as`,
  `ulimit -v`) is lowered to it;
- it runs in its own process group, killed whole (SIGKILL) when its timeout passes: a timer thread does
  it, the bench never blocks on a child forever;
- its peak RSS is the one the kernel reports when it is reaped (`os.wait4`'s ru_maxrss);
- its stderr goes to a file (a full pipe would stall it); its start and end are kept for the report;
- a line of its stdout (a server's "ready" line) is read with a deadline (`Child.read_line`);
- a bench that is interrupted (Ctrl-C, SIGTERM, SIGHUP, or an exception) kills the children it still
  has (`stop_children_on_signals`): they run in sessions of their own, so no terminal signal reaches them.

When a child hits a limit, `Outcome.limit` says which ("memory" or "timeout") and `Outcome.limit_line()`
is the one line a bench prints: which child, which limit, how to raise it.

    from safety import run, GIB
    outcome = run("json.load", [sys.executable, "-c", "..."], cap=2 * GIB, timeout=60)
    print(outcome.wall, outcome.peak_rss, outcome.code, outcome.limit_line("--child-mem-gb"))
"""
from __future__ import annotations

import atexit
import os
import re
import resource
import select
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO, List, Optional, Sequence, Set

MIB = 1024 * 1024
GIB = 1024 * MIB
# what a child says when an allocation fails: Python, Go (kubectl), glibc, C++
_OUT_OF_MEMORY = re.compile(rb"MemoryError|out of memory|cannot allocate memory|std::bad_alloc|"
                            rb"failed to allocate|Cannot allocate memory|can't start new thread|"
                            rb"cannot reserve|failed to reserve|cannot map pages|pthread_create failed")
# lines that name a failed allocation the child survives: kubectl's Starlark interpreter tries to reserve
# 4 GiB of address space at start and runs on without it under a smaller cap
_SURVIVED = re.compile(rb"^.*Starlark failed to allocate.*$\n?", re.M)
SAMPLE_EVERY = 0.25
STDERR_KEPT = 2000      # characters kept of the start of a child's stderr, and as many of its end
NEAR_CAP = 0.95         # a child that failed with its address space this close to its cap hit it


_LIVE: Set["Child"] = set()      # children started and not reaped yet


def kill_all() -> None:
    """Kill every child still running (and its own children)."""
    for child in list(_LIVE):
        child.kill()


def stop_children_on_signals() -> None:
    """On SIGINT, SIGTERM or SIGHUP, and at exit, kill the children still running; a signal then ends the
    bench with status 128 + its number."""
    def stop(signum, _frame) -> None:
        kill_all()
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    atexit.register(kill_all)


def inherited_cap() -> Optional[int]:
    """The address-space limit this process runs under (None: unlimited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limits = [v for v in (soft, hard) if v != resource.RLIM_INFINITY]
    return min(limits) if limits else None


def effective_cap(cap: int) -> int:
    """`cap`, lowered to the limit this process inherited: a child cannot be given more."""
    inherited = inherited_cap()
    return cap if inherited is None else min(cap, inherited)


def self_peak_rss() -> int:
    """This process's peak RSS in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def human_bytes(n: float) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB else f"{n / MIB:.0f} MiB"


@dataclass
class Outcome:
    """How one child ended."""
    label: str
    argv: List[str]
    cap: int                       # bytes of address space
    timeout: float                 # seconds
    wall: float = 0.0              # seconds from start to exit
    peak_rss: int = 0              # bytes
    code: Optional[int] = None     # exit code; -N: killed by signal N
    peak_vm: int = 0               # bytes of address space at its largest, as last sampled (VmPeak)
    limit: str = ""                # "" | "memory" | "resident" | "timeout"
    rss_cap: int = 0               # bytes of resident memory it was stopped past (0: none)
    stderr: str = ""               # the start and the end of it (STDERR_KEPT characters each)
    notes: List[str] = field(default_factory=list)

    @property
    def hit_limit(self) -> bool:
        return bool(self.limit)

    def limit_line(self, memory_option: str = "", timeout_option: str = "") -> str:
        """One line saying which child hit which limit and how to raise it ("" when none was hit)."""
        if self.limit == "memory":
            how = f"raise it with {memory_option}" if memory_option else "raise its cap"
            return (f"LIMIT: {self.label} hit its memory cap of {human_bytes(self.cap)} (address space) after "
                    f"{self.wall:.1f} s, peak RSS {human_bytes(self.peak_rss)}: {how}, keeping the sum of "
                    f"the caps under the memory the machine can spare")
        if self.limit == "resident":
            how = f"raise it with {memory_option}" if memory_option else "raise its cap"
            return (f"LIMIT: {self.label} passed its resident-memory cap of {human_bytes(self.rss_cap)} after "
                    f"{self.wall:.1f} s and was stopped: {how}, keeping the sum of the caps under the memory "
                    f"the machine can spare")
        if self.limit == "timeout":
            how = f"raise it with {timeout_option}" if timeout_option else "raise its timeout"
            return (f"LIMIT: {self.label} was stopped by its timeout of {self.timeout:g} s "
                    f"(peak RSS {human_bytes(self.peak_rss)}): {how}")
        return ""


class Child:
    """One child process under a memory cap and a timeout. Use as a context manager (or call `finish`):
    leaving it stops the child, reaps it and fills `outcome`."""

    def __init__(self, label: str, argv: Sequence[str], *, cap: int, timeout: float,
                 env: Optional[dict] = None, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 cwd: Optional[str] = None, rss_cap: int = 0):
        """`rss_cap`: also stop the child when its resident memory passes this (sampled every
        SAMPLE_EVERY s), for programs whose address space says little: a Go program such as kubectl
        reserves gigabytes it never touches, so its address-space cap is only a backstop."""
        self.outcome = Outcome(label, [str(a) for a in argv], effective_cap(cap), timeout, rss_cap=rss_cap)
        self._over_rss = False
        self._err: IO[bytes] = tempfile.TemporaryFile(prefix="bench-stderr-")
        self._lock = threading.RLock()     # reentrant: a signal handler may kill while the main thread holds it
        self._reaped = False
        self._timed_out = False
        self._buffer = b""
        cap_bytes = self.outcome.cap

        def limit() -> None:     # in the child, between fork and exec
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

        self._started = time.monotonic()
        self.proc = subprocess.Popen(self.outcome.argv, env=env, stdin=stdin, stdout=stdout, stderr=self._err,
                                     cwd=cwd, preexec_fn=limit, start_new_session=True)
        _LIVE.add(self)
        self._timer = threading.Timer(timeout, self._on_timeout)
        self._timer.daemon = True
        self._timer.start()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        """How close the child comes to its cap: its VmPeak, read every SAMPLE_EVERY seconds."""
        path = f"/proc/{self.proc.pid}/status"
        while True:
            with self._lock:
                if self._reaped:
                    return
                try:
                    with open(path, "rb") as fh:
                        for line in fh:
                            if line.startswith(b"VmPeak:"):
                                self.outcome.peak_vm = max(self.outcome.peak_vm, int(line.split()[1]) * 1024)
                            elif line.startswith(b"VmRSS:"):
                                if self.outcome.rss_cap and int(line.split()[1]) * 1024 > self.outcome.rss_cap:
                                    self._over_rss = True
                                    self._kill_group()
                                break
                except (OSError, ValueError, IndexError):
                    pass
            time.sleep(SAMPLE_EVERY)

    # -- killing ---------------------------------------------------------------------------------
    def _on_timeout(self) -> None:
        with self._lock:
            if not self._reaped:
                self._timed_out = True
                self._kill_group()

    def _kill_group(self) -> None:
        # Only called under the lock while the child is not reaped: its pid (and group) cannot have
        # been reused.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        with self._lock:
            if not self._reaped:
                self._kill_group()

    def elapsed(self) -> float:
        """Seconds since the child started."""
        return time.monotonic() - self._started

    def running(self) -> bool:
        """Whether the child has not exited yet (without reaping it: its rusage is read when it is)."""
        if self._reaped:
            return False
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None
        except ChildProcessError:
            return False

    # -- talking -----------------------------------------------------------------------------------
    def read_line(self, timeout: float) -> Optional[str]:
        """One line of the child's stdout (a pipe), waiting at most `timeout` seconds; None when none came
        in time or the child closed its stdout (exited)."""
        stream = self.proc.stdout
        assert stream is not None, "read_line needs stdout=subprocess.PIPE"
        fd = stream.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace")

    # -- ending ------------------------------------------------------------------------------------
    def wait(self) -> Outcome:
        """Wait for the child to end by itself (or by its timeout); reap it."""
        return self._reap()

    def finish(self, grace: float = 30.0) -> Outcome:
        """Close its stdin (a server's signal to stop), give it `grace` seconds, then kill it; reap it."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if not self._exited(grace):
            self.outcome.notes.append(f"did not stop within {grace:g} s of being asked: killed")
            self.kill()
        return self._reap()

    def _exited(self, within: float) -> bool:
        deadline = time.monotonic() + within
        while True:
            try:
                info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            except ChildProcessError:
                return True
            if info is not None:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _reap(self) -> Outcome:
        if self._reaped:
            return self.outcome
        # wait without reaping, so the timer can still kill the group safely until we take the lock
        while True:
            try:
                os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                break
        with self._lock:
            self._reaped = True
            self._timer.cancel()
            _, status, usage = os.wait4(self.proc.pid, 0)
        _LIVE.discard(self)
        out = self.outcome
        out.wall = time.monotonic() - self._started
        out.peak_rss = usage.ru_maxrss * 1024
        out.code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = out.code
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self._err.seek(0, os.SEEK_END)
        size = self._err.tell()
        self._err.seek(0)
        kept = self._err.read(min(size, STDERR_KEPT))
        if size > 2 * STDERR_KEPT:
            self._err.seek(size - STDERR_KEPT)
            kept += b"\n[...]\n" + self._err.read()
        elif size > STDERR_KEPT:
            kept += self._err.read()
        self._err.close()
        out.stderr = kept.decode(errors="replace")
        if self._over_rss:
            out.limit = "resident"
        elif self._timed_out:
            out.limit = "timeout"
        elif out.code not in (0, None) and (_OUT_OF_MEMORY.search(_SURVIVED.sub(b"", kept))
                                            or out.peak_vm >= NEAR_CAP * out.cap):
            out.limit = "memory"
        return out

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc) -> None:
        self.finish(grace=5.0)


def run(label: str, argv: Sequence[str], *, cap: int, timeout: float, env: Optional[dict] = None,
        stdout=subprocess.DEVNULL, cwd: Optional[str] = None, rss_cap: int = 0) -> Outcome:
    """Run one child to its end (or its limit) and say how it ended."""
    return Child(label, argv, cap=cap, timeout=timeout, env=env, stdout=stdout, cwd=cwd, rss_cap=rss_cap).wait()


class Tree:
    """The peak memory of a bench's process tree: the bench itself plus, for each stretch of time, the
    peaks of the children that ran together in it (a server and the command measured against it)."""

    def __init__(self) -> None:
        self.peak = 0              # the largest sum seen, bytes
        self.where = ""

    def add_stretch(self, label: str, peaks: Sequence[int]) -> int:
        total = sum(peaks) + self_peak_rss()
        if total > self.peak:
            self.peak, self.where = total, label
        return total
