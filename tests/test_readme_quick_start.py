"""The README's quick start (issue 26, points 8 and 9): a real backend's command before a bare `install`,
the two things a newcomer must know where they meet them, and a sample of `check` that is real output."""
from __future__ import annotations

import re
from pathlib import Path

from helpers import run_cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
QUICK_START = README.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]


def test_the_two_quick_start_commands_stay():
    assert "make run     # creates .venv, installs the plugin, ends in `check --demo`" in QUICK_START
    assert "make test    # runs the whole test suite" in QUICK_START


def test_check_sample_is_real_demo_output(nowhere):
    block = README.split("<!-- check-demo-sample", 1)[1].split("```\n", 1)[1].split("\n```", 1)[0]
    command, *sample = block.splitlines()
    assert command == "$ kubectl linkerd-otel check --demo"
    assert 20 <= len(sample) <= 40                       # short: an excerpt
    result = run_cli("check", "--demo")
    assert result.exit_code == 1
    real = result.stdout.splitlines()
    at = 0
    for line in sample:
        if line == "...":
            continue
        assert line in real[at:], f"README sample line not in `check --demo` (in this order): {line!r}"
        at = real.index(line, at) + 1
    assert sample[-1] == real[-1]


def test_a_real_backend_comes_first_and_both_warnings_are_where_install_is(nowhere):
    installs = re.findall(r"^kubectl linkerd-otel install.*$", QUICK_START, re.M)
    assert installs and "--exporter-endpoint" in installs[0] and "--basic-auth-from-env" in installs[0]
    assert "**demo credentials**" in QUICK_START
    assert "prints every object except the Secret with the\n  credentials" in QUICK_START
    # and the plugin says both where a user meets them
    result = run_cli("install", "--dry-run", "-o", "yaml")
    assert result.exit_code == 0, result.stderr
    assert "the Secret with the exporter credentials is left out of this output" in result.stderr
    assert "metrics go to the demo OpenObserve of the reference setup with its demo credentials" in result.stderr
