"""The real Linkerd CLI (linkerd2 version-2.20, built by scripts/client-tools.sh) runs the extension.

test_check_extension_contract.py checks our side against our reading of Linkerd's source
(cli/cmd/check.go, cli/cmd/check_extensions.go, cli/main.go); here Linkerd itself finds `linkerd-otel`
on PATH, runs it, and judges its output. The API server is the fake one: it holds the mesh but no Linkerd
control plane, so Linkerd's own checks stop at "'linkerd-config' config map exists" and `linkerd check`
exits 1 whatever the extension says. Linkerd prints one JSON document per check run with `-o json`
(pkg/healthcheck runChecksJSON): its own, then one per extension, each with its own `success`; the tests
read the extension's. `--expected-version` keeps Linkerd from asking versioncheck.linkerd.io for the
latest version (it would, were its version checks reached).

The Go module proxy serves no version of github.com/linkerd/linkerd2, so the CLI builds only from a
checkout (LINKERD2_SRC): without one, or without Go, these tests skip (docs/testing.md).
"""
from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import scenarios
from client_tools import client_tool

pytestmark = [pytest.mark.e2e, pytest.mark.clients]

VERSION = "version-2.20"     # what --expected-version tells Linkerd the latest release is
# Linkerd's own checks on a cluster without its control plane: all that fails is this fatal check.
NO_CONTROL_PLANE = ("linkerd-existence", "'linkerd-config' config map exists",
                    'configmaps "linkerd-config" not found')
OUR_CATEGORIES = ["kubernetes-api", "linkerd-control-plane", "linkerd-data-plane", "linkerd-otel-collector",
                  "linkerd-otel-logs", "linkerd-otel-exporter", "linkerd-otel-targets", "linkerd-otel-policy",
                  "linkerd-otel-operator", "linkerd-otel-backend"]

WRAPPER = """#!/bin/sh
# What Linkerd runs as `linkerd-otel`: records the arguments (and what `check` prints), then runs the
# zipapp under the same name.
printf '%s\\n' "$*" >> "$OTEL_RECORD/argv"
if [ "$1" = check ]; then
  "$OTEL_REAL" "$@" > "$OTEL_RECORD/check.stdout"
  code=$?
  cat "$OTEL_RECORD/check.stdout"
  exit $code
fi
exec "$OTEL_REAL" "$@"
"""


@pytest.fixture(scope="session")
def linkerd() -> Path:
    return client_tool("linkerd")


@pytest.fixture(scope="session")
def shiv_root(tmp_path_factory) -> Path:
    """One unpacked zipapp for the session: each test's first run would otherwise unpack it again."""
    return tmp_path_factory.mktemp("shiv")


@pytest.fixture
def user(build, shiv_root, tmp_path) -> Dict[str, object]:
    """A user's PATH with the zipapp linked as `linkerd-otel` (as the README says), and a recording
    wrapper under that name in `recorded` for the tests that look at what Linkerd passes."""
    plain, wrapped, real = tmp_path / "bin", tmp_path / "wrapped-bin", tmp_path / "real"
    for directory in (plain, wrapped, real):
        directory.mkdir()
    (plain / "linkerd-otel").symlink_to(build["zipapp"])
    (real / "linkerd-otel").symlink_to(build["zipapp"])
    (wrapped / "linkerd-otel").write_text(WRAPPER)
    (wrapped / "linkerd-otel").chmod(0o755)
    record = tmp_path / "record"
    record.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    base = {"HOME": str(home), "SHIV_ROOT": str(shiv_root), "LANG": "C.UTF-8"}
    system = ["/usr/local/bin", "/usr/bin", "/bin"]
    return {
        "env": dict(base, PATH=os.pathsep.join([str(plain), *system])),
        "recording_env": dict(base, PATH=os.pathsep.join([str(wrapped), *system]), OTEL_RECORD=str(record),
                              OTEL_REAL=str(real / "linkerd-otel")),
        "record": record,
    }


def _run(args: List[str], env: Dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


def linkerd_args(kubeconfig: str) -> List[str]:
    """The arguments test_check_extension_contract.py gives `check` as the ones Linkerd passes."""
    import importlib.util

    path = Path(__file__).resolve().parent / "checks" / "test_check_extension_contract.py"
    spec = importlib.util.spec_from_file_location("extension_contract", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.linkerd_args(kubeconfig)


def json_documents(text: str) -> List[dict]:
    """The JSON documents `linkerd check -o json` prints one after another."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return docs
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)


def failures(doc: dict) -> List[Tuple[str, str, str]]:
    return [(c["categoryName"], k["description"], k.get("error", "")) for c in doc["categories"]
            for k in c["checks"] if k["result"] == "error"]


def results(doc: dict) -> List[Tuple[str, str, str, str, str]]:
    """(category, description, result, error, hint) of each check; Linkerd leaves out empty fields and
    the hint of a check that passed."""
    return [(c["categoryName"], k["description"], k["result"], k.get("error", ""),
             k.get("hint", "") if k.get("error") else "")
            for c in doc["categories"] for k in c["checks"]]


def _label_extension_namespace(api) -> None:
    ns = copy.deepcopy(api.get("namespaces", "observability"))
    ns["metadata"]["labels"]["linkerd.io/extension"] = "otel"
    api.add(ns)


@pytest.fixture
def cluster(mesh_api):
    """The shared mesh with a healthy collector whose namespace is labelled as Linkerd's extension."""
    scenarios.healthy(mesh_api)
    _label_extension_namespace(mesh_api)
    return mesh_api


def _linkerd_check(linkerd: Path, env: Dict[str, str], kubeconfig: str, *extra: str):
    """`linkerd check -o json` as a user runs it; returns (process, Linkerd's document, the extension's)."""
    proc = _run([str(linkerd), "check", "--kubeconfig", kubeconfig, "--context", "fake", "-o", "json",
                 f"--expected-version={VERSION}", *extra], env)
    docs = json_documents(proc.stdout)
    assert len(docs) == 2, proc.stdout + proc.stderr       # Linkerd's, then ours (the only extension)
    return proc, docs[0], docs[1]


def test_linkerd_check_runs_the_extension_with_its_flags_and_shows_our_results(linkerd, user, cluster):
    env = user["recording_env"]
    proc, core, ours = _linkerd_check(linkerd, env, cluster.kubeconfig_path)
    assert proc.returncode == 1, proc.stderr                 # Linkerd's own checks: no control plane
    assert failures(core) == [NO_CONTROL_PLANE]
    # Linkerd asked whether we run "always", then ran `check` with exactly the flags our contract test
    # (test_check_extension_contract.py) passes.
    argv = (user["record"] / "argv").read_text().splitlines()
    assert argv[0] == "_extension-metadata"
    assert argv[1].split(" ") == linkerd_args(cluster.kubeconfig_path)
    assert len(argv) == 2
    # What Linkerd shows is what we said: every category and check, with its result, error and hint.
    said = json.loads((user["record"] / "check.stdout").read_text())
    assert [c["categoryName"] for c in ours["categories"]] == OUR_CATEGORIES
    assert results(ours) == results(said)
    assert ours["success"] is True and failures(ours) == []


def test_linkerd_finds_the_extension_by_its_namespace_label_and_as_always(linkerd, user, cluster):
    """`_extension-metadata` says "always", so Linkerd runs us even where no namespace carries the label;
    with the label it runs us once, not twice."""
    proc, _, ours = _linkerd_check(linkerd, user["env"], cluster.kubeconfig_path)
    assert [c["categoryName"] for c in ours["categories"]] == OUR_CATEGORIES
    listed = cluster.requests_to(r"^/api/v1/namespaces$", "GET")
    assert any(r.query.get("labelSelector") == "linkerd.io/extension" for r in listed), \
        [r.query for r in listed]
    ns = copy.deepcopy(cluster.get("namespaces", "observability"))
    del ns["metadata"]["labels"]["linkerd.io/extension"]
    cluster.add(ns)
    proc, _, ours = _linkerd_check(linkerd, user["env"], cluster.kubeconfig_path)
    assert [c["categoryName"] for c in ours["categories"]] == OUR_CATEGORIES


def test_extension_warnings_do_not_fail_linkerds_run(linkerd, user, cluster):
    """A healthy collector on an unpinned image: a warning only. Linkerd shows it as a warning (‼) and
    counts the extension's run a success."""
    scenarios._set_image(cluster, "otel/opentelemetry-collector:latest")
    _, _, ours = _linkerd_check(linkerd, user["env"], cluster.kubeconfig_path, "--wait=0s")
    warnings = {k["description"] for c in ours["categories"] for k in c["checks"] if k["result"] == "warning"}
    assert warnings == {"collector image is pinned"}
    assert failures(ours) == []
    assert ours["success"] is True
    # The table a person reads: our categories under Linkerd's, the warning marked ‼, no ×.
    table = _run([str(linkerd), "check", "--kubeconfig", cluster.kubeconfig_path, "--wait=0s",
                  f"--expected-version={VERSION}"], user["env"])
    ours_part = table.stdout.split("linkerd-otel-collector\n----------------------\n", 1)[1]
    assert "\u203c collector image is pinned\n" in ours_part
    assert [line for line in ours_part.splitlines() if line.startswith("\u00d7")] == []
    assert "\u00d7 'linkerd-config' config map exists" in table.stdout   # Linkerd's own, the only ×
    assert table.stdout.splitlines()[-1] == "Status check results are \u00d7"   # for that one


def test_extension_failures_fail_linkerds_run(linkerd, user, mesh_api):
    scenarios.healthy(mesh_api, rbac=False)
    _label_extension_namespace(mesh_api)
    _, _, ours = _linkerd_check(linkerd, user["env"], mesh_api.kubeconfig_path, "--wait=0s")
    assert ours["success"] is False
    assert [(c, d) for c, d, _ in failures(ours)] == [
        ("linkerd-otel-collector", "collector can get, list and watch pods where it scrapes")]
    hints = [k["hint"] for c in ours["categories"] for k in c["checks"] if k["result"] == "error"]
    assert hints == ["https://github.com/linkerd-otel/kubectl-linkerd-otel#otel-rbac"]


def test_linkerd_otel_check_and_version_run_through_linkerd(linkerd, user, cluster):
    env = dict(user["env"], KUBECONFIG=cluster.kubeconfig_path)
    version = _run([str(linkerd), "otel", "version"], env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("Client Version: v")
    assert "Server Version: v1." in version.stdout
    usage = _run([str(linkerd), "otel", "--help"], env)
    assert usage.returncode == 0 and usage.stdout.startswith("Usage: linkerd otel"), usage.stdout
    check = _run([str(linkerd), "otel", "check", "--metrics-interval=0s"], env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "linkerd-otel-collector" in check.stdout
    as_json = _run([str(linkerd), "otel", "check", "-o", "json", "--metrics-interval=0s"], env)
    (doc,) = json_documents(as_json.stdout)
    assert [c["categoryName"] for c in doc["categories"]] == OUR_CATEGORIES


def _refusing_kubeconfig(path: Path) -> str:
    """A kubeconfig whose server is a loopback port nobody listens on: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        "users": [{"name": "fake", "user": {"token": "test-token"}}]}))
    return str(path)


def test_on_a_refusing_api_server_linkerd_check_ends_within_its_deadline(linkerd, user, tmp_path):
    """Linkerd's --wait (5 minutes by default) bounds its retries; a refused connection is no reason to
    wait it out, neither for Linkerd nor for the extension. The 60 s bound is a fifth of it.

    Linkerd cannot list the namespaces that name its extensions, so it runs none (cli/cmd/check.go
    runExtensionChecks) and says so; `linkerd otel check` runs ours, which says in one line what is wrong
    and exits 2, and Linkerd's dispatcher (cli/main.go) adds "exit status 2" and exits 1."""
    kubeconfig = _refusing_kubeconfig(tmp_path / "kubeconfig")
    proc = _run([str(linkerd), "check", "--kubeconfig", kubeconfig, "-o", "json",
                 f"--expected-version={VERSION}"], user["recording_env"], timeout=60)
    assert proc.returncode == 1
    (core,) = json_documents(proc.stdout)
    assert failures(core)[0][:2] == ("kubernetes-api", "can query the Kubernetes API")
    assert proc.stderr.startswith("Failed to run extensions checks: ")
    assert "connection refused" in proc.stderr
    assert not (user["record"] / "argv").exists()        # not even asked for its metadata

    ext = _run([str(linkerd), "otel", "check", f"--kubeconfig={kubeconfig}", "--wait=5m0s"],
               user["env"], timeout=60)
    assert ext.returncode == 1, ext.stdout + ext.stderr
    assert ext.stderr.splitlines() == ["exit status 2"]
    assert "cannot reach the API server at http://127.0.0.1:" in ext.stdout
    assert "connection refused" in ext.stdout
