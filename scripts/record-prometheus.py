#!/usr/bin/env python3
"""Re-record the answers of the real Prometheus that the differential tests compare with.

    scripts/record-prometheus.py                 # every case set, from scratch
    scripts/record-prometheus.py -k hashmod      # only the cases pytest selects (other entries kept)

Runs pytest with RECORD_PROMETHEUS=1 over the tests that ask Prometheus; each case set is written to
tests/golden/prometheus/<case set>.json with the version of the binary that answered. The binary comes
from PROMETHEUS=/path, `prometheus` on PATH, or ../shared/tools/prometheus.sh (see
tests/prometheus_harness.py); without one this fails. Run it with the virtualenv's Python
(`.venv/bin/python scripts/record-prometheus.py`) or any Python that has the test dependencies.
A test that fails while recording (our engine differs from Prometheus) does not stop the recording:
the answers are Prometheus', whatever our engine says. Review the diff (git diff tests/golden) before
committing it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/scrape/test_prometheus_differential.py",
    "tests/scrape/test_targets_validation.py",
    "tests/scrape/test_faults_properties.py",
    "tests/cluster/test_backend_query.py",
    "tests/render/test_dashboards_prometheus.py",
]


def main(argv) -> int:
    env = dict(os.environ, RECORD_PROMETHEUS="1")
    env.pop("NO_PROMETHEUS", None)
    if not argv:
        env["RECORD_PROMETHEUS_FRESH"] = "1"     # a full run: entries of removed cases go too
    venv_bin = REPO / ".venv" / "bin"
    if venv_bin.is_dir():
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "prometheus", *TESTS, *argv]
    print("+ RECORD_PROMETHEUS=1", " ".join(command[1:]), flush=True)
    code = subprocess.call(command, cwd=REPO, env=env)
    if code == 1:
        print("\nSome tests failed while recording (see above): the recordings are written all the same; "
              "review them with `git diff tests/golden/prometheus`.", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
