"""Property (issue 23): any byte string, as a snapshot, a pods file, a collector config or the API server's
answer, gives exit 0, 1 or 2 (2: one `Error:` line, never an internal error) within a deadline and under a
memory ceiling.

The examples run in one child process whose address space is capped with resource.setrlimit, so a
regression that reads without bound fails this test instead of eating the machine. Deterministic:
hypothesis with derandomize=True, at most 50 examples (`make fuzz` scales them), plus fixed nasty ones.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import examples

TESTS = Path(__file__).resolve().parent.parent
CEILING = 1_500_000_000      # bytes of address space for the whole child
PER_RUN = 30.0               # seconds for one command on one example (each needs well under one; an
                             # answer cut short waits out the 5 s --request-timeout: six times that)
EXAMPLES = min(50, examples(40))

_CHILD = r"""
import gzip, json, os, resource, sys, tempfile, time
tests, ceiling, per_run, count = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
_, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (min(ceiling, hard) if hard != resource.RLIM_INFINITY else ceiling,) * 2)
sys.path.insert(0, tests)
from hypothesis import HealthCheck, example, given, settings, strategies as st
from fakekube import FakeApiServer
from helpers import run_cli

work = tempfile.mkdtemp(prefix="any-input-")
api = FakeApiServer().start()
os.environ["KUBECONFIG"] = api.kubeconfig(os.path.join(work, "kubeconfig"))
os.environ["HOME"] = work
os.environ.pop("KUBERNETES_SERVICE_HOST", None)
config = os.path.join(tests, "fixtures", "harness-mesh-collector-configmap.json")
pods = os.path.join(tests, "fixtures", "harness-mesh-pods.json")
slowest = [0.0, ""]

def run(kind, *args):
    started = time.monotonic()
    result = run_cli(*args, "--request-timeout", "5s") if kind == "api" else run_cli(*args)
    took = time.monotonic() - started
    if took > slowest[0]:
        slowest[:] = [took, kind]
    where = f"{kind}: {' '.join(args)}"
    assert took < per_run, (where, took)
    assert result.exit_code in (0, 1, 2), (where, result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output and "internal error" not in result.output, (where, result.output[-2000:])
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), (where, result.stderr[-2000:])

JSONISH = st.sampled_from([b"{", b"}", b"[", b"]", b'"', b":", b",", b" ", b"\n", b"null", b"1e999", b"-",
                           b'"items"', b'"kind"', b'"Pod"', b'"metadata"', b'"format"', b"\\u0000", b"\xff",
                           b"---\n", b"a: ", b"&a ", b"*a", b"\x00", b"\xef\xbb\xbf"])
BYTES = st.one_of(st.binary(max_size=300),
                  st.lists(JSONISH, max_size=40).map(b"".join),
                  st.binary(max_size=300).map(lambda b: gzip.compress(b, mtime=0)),
                  st.lists(JSONISH, max_size=40).map(lambda parts: gzip.compress(b"".join(parts), mtime=0)))
NASTY = [b"", b"\x1f", b"\x1f\x8b", gzip.compress(b"\0" * (48 << 20), mtime=0), gzip.compress(b" " * (48 << 20), mtime=0),
         b"[" * 100000, b'{"a":' * 50000, b"\xef\xbb\xbf{}", b"1e9999999", b"\0" * 100000,
         gzip.compress(b'{"format": "kubectl-linkerd-otel/snapshot", "version": 2, "manifest": {}, "snapshot": 1}')]

@settings(max_examples=count, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(data=BYTES)
def prop(data):
    path = os.path.join(work, "input")
    with open(path, "wb") as handle:
        handle.write(data)
    run("snapshot", "targets", "--snapshot", path)
    run("pods", "targets", "--config", config, "--pods", path)
    run("config", "validate", "-f", path)
    api.faults.clear()
    api.answer(data, path=".*")
    run("api", "targets")

for nasty in NASTY:
    prop = example(data=nasty)(prop)
prop()
api.stop()
with open("/proc/self/status") as status:
    peak = next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
print(json.dumps({"peak_mb": peak / 1024, "slowest": slowest}))
"""


def test_any_bytes_as_any_input_end_in_one_line_within_bounds():
    env = dict(os.environ, PYTHONPATH=str(TESTS.parent / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MALLOC_ARENA_MAX="2")
    done = subprocess.run([sys.executable, "-c", _CHILD, str(TESTS), str(CEILING), str(PER_RUN), str(EXAMPLES)],
                          env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-6000:])
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["slowest"][0] < PER_RUN, report
