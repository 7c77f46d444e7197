"""The real krew and Linkerd CLI for the `clients` tests, built by scripts/client-tools.sh.

The script builds each tool once per version into ${XDG_CACHE_HOME:-~/.cache} and prints its path; a
session calls it once per tool (the first build takes seconds to minutes, see docs/testing.md; later
sessions reuse the cache). Where a tool cannot be had the tests that need it skip, with a one-line
reason saying how to get it; `REQUIRE_GO_TOOLS=1` (CI: `.ci/run`) turns a missing Go or a failed build
into a failure. The Linkerd CLI is a case of its own: the Go module proxy serves no version of
github.com/linkerd/linkerd2, so it builds only from a checkout (`LINKERD2_SRC`), and without one its
tests skip even in CI (docs/testing.md shows the error).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "client-tools.sh"
# The environment the session started with: fixtures change HOME per test, and Go's caches and ours
# live under the real one.
_ENV = dict(os.environ)
_RESULTS: Dict[str, Tuple[int, str, str]] = {}

GET_GO = "install Go >= 1.25 (https://go.dev/doc/install, or apt-get install golang-go)"
GET_LINKERD = ("the Go module proxy serves no version of github.com/linkerd/linkerd2: set LINKERD2_SRC to a "
               "linkerd2 checkout at tag version-2.20 to build its CLI (docs/testing.md)")


def _run(tool: str) -> Tuple[int, str, str]:
    if tool not in _RESULTS:
        proc = subprocess.run(["bash", str(SCRIPT), tool], env=_ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=3600)
        _RESULTS[tool] = (proc.returncode, proc.stdout.strip(), proc.stderr)
    return _RESULTS[tool]


def client_tool(tool: str) -> Path:
    """The path scripts/client-tools.sh prints for `tool` ("krew": a directory with kubectl-krew and
    validate-krew-manifest; "linkerd": the CLI binary), building it if needed; else skip or fail."""
    code, out, err = _run(tool)
    if code == 0:
        return Path(out.splitlines()[-1])
    last = (err.strip().splitlines() or ["(no output)"])[-1]
    required = _ENV.get("REQUIRE_GO_TOOLS") == "1"
    if code == 3:
        reason = f"no Go to build the real {tool}: {GET_GO}"
    elif code == 4 and tool == "linkerd":
        pytest.skip(GET_LINKERD)
    else:
        reason = f"scripts/client-tools.sh {tool} could not build it (exit {code}): {last}"
    if required:
        pytest.fail(f"{reason}\n{err}", pytrace=False)
    pytest.skip(reason)
