"""Fixtures: a fake API server on 127.0.0.1 that the real client stack talks to over HTTP."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fakekube import FakeApiServer  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Hypothesis profiles. `ci` (the default, and what .ci/run loads): derandomized, so every run of the
# suite tries the same examples and a red run is a real regression, never an unlucky seed; no example
# database, so a clean clone and a used checkout try the same. `dev`: random, remembers failures in
# .hypothesis/ (explore while working). `fuzz` (`make fuzz`): random seeds, many more examples
# (helpers.examples scales each test's count by HYPOTHESIS_EXAMPLES_SCALE), failures printed as a
# ready-to-paste @example by scripts/fuzz.py. Counterexamples found so far are @example's on their tests.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=False,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("fuzz", deadline=None, database=None, print_blob=False,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"   # real API server output of a small Linkerd mesh


def load_fixture(name: str):
    """A shared fixture file (harness-mesh-*.json) as parsed JSON."""
    with open(FIXTURES / name, encoding="utf-8") as fh:
        return json.load(fh)


def mesh_objects():
    """Every object of the shared harness mesh: namespaces, pods, deployments, collector ConfigMap."""
    objects = []
    for name in ("harness-mesh-namespaces.json", "harness-mesh-pods.json",
                 "harness-mesh-deployments.json"):
        doc = load_fixture(name)
        for item in doc["items"]:
            item.setdefault("apiVersion", "v1")
            objects.append(item)
    objects.append(load_fixture("harness-mesh-collector-configmap.json"))
    return objects


@pytest.fixture
def fake_api(tmp_path, monkeypatch):
    """An empty fake API server; KUBECONFIG points at it (token auth, context `fake`)."""
    server = FakeApiServer().start()
    path = server.kubeconfig(str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("KUBECONFIG", path)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    server.kubeconfig_path = path
    yield server
    server.stop()


@pytest.fixture
def fake_api_tls(tmp_path, monkeypatch):
    """As fake_api, over HTTPS (a self-signed CA in the kubeconfig): it requires the bearer token."""
    server = FakeApiServer(tls=True).start()
    path = server.kubeconfig(str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("KUBECONFIG", path)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    server.kubeconfig_path = path
    yield server
    server.stop()


@pytest.fixture
def mesh_api(fake_api):
    """The fake API server loaded with the shared harness mesh (reference collector included)."""
    fake_api.add_many(mesh_objects())
    return fake_api


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No kubeconfig, an empty HOME, no in-cluster service account: a machine that knows no cluster."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return home


# -- the zipapp and its krew archive, built once per session (tests/dist_build.py) ------------------
@pytest.fixture(scope="session")
def tree(tmp_path_factory) -> Path:
    """A snapshot of the tree the build reads."""
    from dist_build import _snapshot_tree

    return _snapshot_tree(tmp_path_factory.mktemp("dist") / "tree")


@pytest.fixture(scope="session")
def build(tree):
    """{"zipapp", "archive", "manifest", "out"}: what `make dist` builds, from `tree`."""
    from dist_build import _build

    return _build(tree, tree.parent / "out1")


# -- the Prometheus recordings (tests/prometheus_harness.py) ------------------------------------------
@pytest.fixture(scope="session")
def otelcol_core():
    """The real core collector (scripts/otelcol.sh core); skips without Go (tests/real_binaries.py)."""
    import real_binaries

    return real_binaries.otelcol("core")


@pytest.fixture(scope="session")
def otelcol_contrib():
    """The real contrib-subset collector (scripts/otelcol.sh contrib); skips without Go."""
    import real_binaries

    return real_binaries.otelcol("contrib")


@pytest.fixture(scope="session")
def prometheus_otlp():
    """A real Prometheus 3 with the OTLP receiver (scripts/prometheus-otlp.sh); skips without Go."""
    import real_binaries

    return real_binaries.prometheus_otlp()


def pytest_sessionfinish(session, exitstatus):
    """RECORD_PROMETHEUS=1 (scripts/record-prometheus.py): write the answers recorded in this session."""
    harness = sys.modules.get("prometheus_harness")
    if harness is not None:
        for path in harness.save_recordings():
            print(f"\nrecorded {path.relative_to(REPO)}")


def pytest_terminal_summary(terminalreporter):
    """One line saying whether the Prometheus tests ran a real Prometheus or replayed its recordings."""
    harness = sys.modules.get("prometheus_harness")
    line = harness.session_summary() if harness is not None else ""
    if line:
        terminalreporter.write_line(line)
