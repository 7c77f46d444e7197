"""Run the CLI in a child process under a memory ceiling, the way a user runs it, and report its exit code,
output, wall time and peak memory.

For tests that feed the plugin input that once read without bound (an endless answer, /dev/zero, a gzip
bomb): the child's address space is capped with resource.setrlimit, so a regression fails the test
(MemoryError, a traceback) instead of eating the machine, and a timeout kills it if it never ends.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

SRC = str(Path(__file__).resolve().parent.parent / "src")
CEILING = 1_500_000_000     # bytes of address space: far above a bounded run, far below the machine

# Runs in the child: cap the address space, note the peak resident memory at exit, run the CLI.
_CHILD = r"""
import atexit, resource, sys
ceiling, report = int(sys.argv[1]), sys.argv[2]
_, hard = resource.getrlimit(resource.RLIMIT_AS)
if hard != resource.RLIM_INFINITY:
    ceiling = min(ceiling, hard)     # never above what this test run was started with
resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))

def _report():
    # the high-water mark of this process's own memory (VmHWM, KiB): ru_maxrss would also count the
    # parent's resident set at the fork, as Linux keeps it across exec
    try:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(report, "w") as fh:
        fh.write(str(peak))

atexit.register(_report)
from kubectl_linkerd_otel.cli import main
main(sys.argv[3:])
"""


@dataclass
class ChildResult:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float          # the child's peak resident memory; -1 when it did not say (killed)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli_bounded(*args: str, timeout: float = 60.0, ceiling: int = CEILING, stdin: Optional[bytes] = None,
                    env: Optional[Dict[str, str]] = None) -> ChildResult:
    """`kubectl linkerd-otel ARGS...` in a child process with at most `ceiling` bytes of address space,
    killed after `timeout` seconds (then exit code -9). The environment is this process's (KUBECONFIG of
    the fixtures included) plus `env`."""
    child_env = dict(os.environ, **(env or {}))
    child_env["PYTHONPATH"] = SRC + os.pathsep + child_env.get("PYTHONPATH", "")
    child_env["MALLOC_ARENA_MAX"] = "2"     # threads' malloc arenas reserve address space, not memory
    with tempfile.TemporaryDirectory(prefix="childrun-") as directory:
        report = os.path.join(directory, "peak")
        started = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-c", _CHILD, str(ceiling), report, *args], env=child_env,
                                  input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                                  capture_output=True, timeout=timeout)
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = -9, exc.stdout or b"", (exc.stderr or b"") + b"\n[killed: timeout]"
        seconds = time.monotonic() - started
        try:
            with open(report, encoding="utf-8") as fh:
                peak = int(fh.read()) / 1024
        except (OSError, ValueError):
            peak = -1.0
    return ChildResult(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), seconds, peak)
