"""`scripts/build-dist.sh` says what it does, step by step, and builds only PyYAML from source (issue 26,
point 7). The build itself is in test_zipapp_e2e.py; this runs the script's --dry-run, which builds nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_dry_run_says_each_step_and_the_commands_of_the_first(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([str(ROOT / "scripts" / "build-dist.sh"), "--dry-run", "--out", str(out),
                           "--manifest", str(tmp_path / "krew.yaml")], env={"PATH": "/usr/bin:/bin",
                                                                           "PYTHON": sys.executable},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""                       # progress goes to stderr
    lines = proc.stderr.splitlines()
    assert [line.split("]")[0] for line in lines if line.startswith("build-dist: [")] == \
        [f"build-dist: [{n}/5" for n in range(1, 6)]
    assert lines[0].startswith("build-dist: [1/5] wheels: ours, every pin of requirements/zipapp.txt")
    pyyaml = [line for line in lines if "pyyaml==" in line and " wheel " in line]
    assert len(pyyaml) == 1, proc.stderr
    # only PyYAML from source: its build tools come as wheels (`:all:` compiled Cython for minutes)
    assert "--no-binary=pyyaml pyyaml==" in pyyaml[0] and "PYYAML_FORCE_LIBYAML=0" in pyyaml[0]
    assert ":all:" not in pyyaml[0].split("--no-binary", 1)[1]
    assert not out.exists() and not (tmp_path / "krew.yaml").exists()
