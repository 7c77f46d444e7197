"""The real OpenTelemetry Collector and the real OTLP-ingesting Prometheus, built from source with Go by
scripts/otelcol.sh and scripts/prometheus-otlp.sh (cached under ~/.cache/kubectl-linkerd-otel).

Tests that need them carry the `otelcol` marker and take the session fixtures of tests/conftest.py.
Without Go they skip with one line saying how to get it; `REQUIRE_OTELCOL=1` (CI: .ci/run) makes that a
failure. With Go, a failed build always fails (never a skip: it would hide a broken script).
`OTELCOL` / `OTELCOL_CONTRIB` / `PROMETHEUS_OTLP` name prebuilt binaries instead.
"""
from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent
GET_GO = "install Go 1.26 (https://go.dev/dl/) to build it, or set REQUIRE_OTELCOL=1 to make this a failure"
BUILD_TIMEOUT_S = 4 * 3600    # the first build only; the scripts have their own, shorter, timeouts


@lru_cache(maxsize=None)
def _build(script: str, arg: str) -> Tuple[str, str]:
    """(path, "") or ("", why it could not be had). A binary built before is used without Go."""
    command = [str(REPO / "scripts" / script)] + ([arg] if arg else [])
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "", f"!{script} {arg} took over {BUILD_TIMEOUT_S} s"
    path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode == 3:        # the scripts' "Go is not installed"
        return "", f"Go is not installed: {GET_GO}"
    if proc.returncode != 0 or not path or not os.access(path, os.X_OK):
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return "", f"!{script} {arg} failed (exit {proc.returncode}): {tail}"
    return path, ""


def _need(env: str, script: str, arg: str = "") -> str:
    given = os.environ.get(env)
    if given:
        return given
    path, why = _build(script, arg)
    if path:
        return path
    if why.startswith("!"):
        pytest.fail(why[1:], pytrace=False)
    if os.environ.get("REQUIRE_OTELCOL") == "1":
        pytest.fail(f"REQUIRE_OTELCOL=1 but {why}", pytrace=False)
    pytest.skip(f"needs the real collector built with Go ({script}): {why}")
    raise AssertionError("unreachable")


def otelcol(distribution: str = "core") -> str:
    """The collector binary of `distribution` (core | contrib: the contrib-subset build)."""
    if distribution == "core":
        return _need("OTELCOL", "otelcol.sh", "core")
    return _need("OTELCOL_CONTRIB", "otelcol.sh", "contrib")


def prometheus_otlp() -> str:
    return _need("PROMETHEUS_OTLP", "prometheus-otlp.sh")
