"""Package-wide promises: fast --help, the layering contract, Python >= 3.9, kubectl plugin discovery."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
HEAVY = ("kubernetes", "rich", "httpx")

_PROBE = """
import json, sys
from kubectl_linkerd_otel.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'rich', 'httpx'})
sys.__stderr__.write('HEAVY=' + json.dumps(heavy) + '\\n')
"""


def _commands():
    from kubectl_linkerd_otel.cli import LazyGroup, cli
    import click

    return LazyGroup.list_commands(cli, click.Context(cli))


@pytest.mark.parametrize("args", [["--help"]] + [[name, "--help"] for name in _commands()])
def test_help_imports_no_heavy_module(args):
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 or "--help" not in args, proc.stderr
    marker = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert marker, proc.stderr
    assert json.loads(marker[0][len("HEAVY="):]) == [], f"{args} imported {marker[0]}"
    assert "Usage: kubectl linkerd-otel" in proc.stdout


def test_layering_contract():
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    assert lint, "import-linter is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run([lint, str(REPO / ".importlinter")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 kept, 0 broken" in proc.stdout


def test_runtime_code_runs_on_python_3_9():
    vermin = shutil.which("vermin", path=os.path.dirname(sys.executable))
    assert vermin, "vermin is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run([vermin, "--target=3.9-", "--violations", "--no-tips",
                           "--eval-annotations", "--backport", "dataclasses",
                           str(SRC / "kubectl_linkerd_otel")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_prog_name_follows_how_it_was_called():
    from kubectl_linkerd_otel.cli import prog_name

    assert prog_name("/usr/local/bin/kubectl-linkerd_otel") == "kubectl linkerd-otel"
    assert prog_name("/home/me/.linkerd2/bin/linkerd-otel") == "linkerd otel"


def test_kubectl_discovers_the_installed_plugin(tmp_path):
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed: `make test` installs it when missing"
    plugin = shutil.which("kubectl-linkerd_otel", path=os.path.dirname(sys.executable))
    assert plugin, "the console script kubectl-linkerd_otel is not installed"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl-linkerd_otel").symlink_to(plugin)
    env = {"PATH": f"{bindir}{os.pathsep}{os.path.dirname(kubectl)}", "HOME": str(tmp_path),
           "KUBECONFIG": str(tmp_path / "none")}
    listed = subprocess.run([kubectl, "plugin", "list"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert str(bindir / "kubectl-linkerd_otel") in listed.stdout, listed.stdout + listed.stderr
    assert "warning" not in listed.stderr.lower(), listed.stderr
    version = subprocess.run([kubectl, "linkerd-otel", "version", "--client"], capture_output=True,
                             text=True, env=env, timeout=60)
    from kubectl_linkerd_otel import __version__

    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"Client Version: v{__version__}"
    usage = subprocess.run([kubectl, "linkerd-otel", "--help"], capture_output=True, text=True,
                           env=env, timeout=60)
    assert "Usage: kubectl linkerd-otel" in usage.stdout
