"""The zipapp and its krew archive, built by scripts/dist.py from a snapshot of the tree (so concurrent
edits cannot make two builds differ). The session fixtures `tree` and `build` (conftest.py) build once per
session for test_zipapp_e2e.py and test_krew_real.py."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parent.parent
ZIPAPP = "kubectl-linkerd_otel"


def _snapshot_tree(dest: Path) -> Path:
    dest.mkdir()
    for name in ("pyproject.toml", "LICENSE", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    for name in ("src", "scripts", "requirements"):
        shutil.copytree(ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return dest


def _build(tree: Path, out: Path, python: str = sys.executable) -> Dict[str, Path]:
    proc = subprocess.run([python, str(tree / "scripts" / "dist.py"), "--out", str(out),
                           "--manifest", str(out / "krew-manifest.yaml")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout
    steps = [line.split("]", 1)[0] for line in proc.stdout.splitlines() if line.startswith("build-dist: [")]
    assert steps == [f"build-dist: [{n}/5" for n in range(1, 6)], proc.stdout   # it says what it is doing
    (archive,) = out.glob("linkerd-otel-*.tar.gz")
    return {"zipapp": out / ZIPAPP, "archive": archive, "manifest": out / "krew-manifest.yaml",
            "out": out}
