"""docs/terminal-session.md, recorded with tmux by scripts/terminal_session.py (issue 26): what a person
sees of `check --demo`, `stat --demo` and a `--wait` on a hung server, with colours and with NO_COLOR=1."""
from __future__ import annotations

import re
from pathlib import Path

DOC = (Path(__file__).resolve().parent.parent / "docs" / "terminal-session.md").read_text(encoding="utf-8")


def test_the_recorded_session_holds_the_three_screens_both_ways():
    coloured, plain = DOC.split("\n## With colours\n", 1)[1].split("\n## With NO_COLOR=1\n", 1)
    for section in (coloured, plain):
        for command in ("check --demo`", "stat --demo`", "check --wait 8s --kubeconfig"):
            assert f"### `kubectl linkerd-otel {command}" in section
    # with colours: the marks and stat's health; the spinner while it waits, saying what and how long
    assert "red: `×`; yellow: `‼`" in coloured
    assert "red: `1848ms`, `78.50%`; yellow: `922ms`" in coloured
    waiting = re.findall(r"reading the cluster through the API server at http://127\.0\.0\.1:PORT \((\d)s of --wait "
                         r"8s\)", coloured)
    assert len(waiting) == 2 and waiting[0] < waiting[1]
    assert "Status check results are ×" in coloured
    # NO_COLOR: not one escape sequence on any screen
    assert plain.count("Colours: no escape sequence at all.") == 5
    assert "Colours: " not in plain.replace("Colours: no escape sequence at all.", "")
