"""`check --demo` from the released zipapp in a fresh virtualenv: no packages, an empty HOME, no
KUBECONFIG, no network (the demo snapshot is package data inside the one file)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from test_zipapp_e2e import PY39, _build, _snapshot_tree

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory):
    tree = _snapshot_tree(tmp_path_factory.mktemp("demo-dist") / "tree")
    return _build(tree, tree.parent / "out")["zipapp"]


@pytest.mark.parametrize("python", [sys.executable] + PY39[:1], ids=lambda p: p.rsplit("/", 1)[-1])
@pytest.mark.parametrize("command", ["check", "targets"])
def test_demo_in_a_fresh_virtualenv(zipapp, tmp_path, python, command):
    venv = tmp_path / "fresh"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(home), "SHIV_ROOT": str(tmp_path / "shiv"),
           "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    proc = subprocess.run([str(venv / "bin" / "python"), str(zipapp), command, "--demo"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert proc.returncode == 1, proc.stderr                 # the demo's problems are found
    assert proc.stdout.startswith("Demo snapshot (a made-up mesh; no cluster was contacted), taken ")
    assert proc.stderr == ""
    if command == "check":
        assert proc.stdout.rstrip().endswith("Status check results are ×")
    assert not list(home.iterdir())
