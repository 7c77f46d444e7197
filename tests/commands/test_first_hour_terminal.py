"""What a person sees on a terminal (issue 26, points 4 and 5): waits that say what they wait for and
for how long, colours only when wanted, and `stat` that reads at a glance. Each run is a separate process
on a pseudo-terminal (tests/terminal.py)."""
from __future__ import annotations

import re

import demo_mesh
from helpers import run_cli
from terminal import plain, run_on_terminal

ESC = "\x1b["
WAITING = re.compile(r"reading the cluster through the API server at http://127\.0\.0\.1:\d+ \((\d)s of --wait 4s\)")


# -- 4. waits ------------------------------------------------------------------------------------------

def test_check_wait_on_a_silent_server_says_what_it_waits_for_and_how_long(fake_api):
    fake_api.stall()                                  # the API server accepts and never answers
    run = run_on_terminal("check", "--wait", "4s", stdout_tty=False)
    assert run.exit_code == 2
    seconds = {int(s) for s in WAITING.findall(run.terminal)}
    assert seconds and max(seconds) >= 1, run.terminal   # the count goes on while it waits
    assert "\x1b[32m" in run.terminal                 # the spinner's colour
    assert run.terminal.endswith("\r")                # the line erased at the end: nothing left behind
    assert "did not answer (get version) before the end of --wait 4s" in run.piped


def test_no_colour_codes_when_asked_for_none(fake_api):
    fake_api.stall()
    for env, flags in (({"NO_COLOR": "1"}, ()), ({}, ("--no-color",))):
        run = run_on_terminal("check", "--wait", "4s", *flags, env=env)
        assert WAITING.search(run.terminal), run.terminal
        assert ESC not in run.terminal, (env, flags, run.terminal)   # no escape sequence at all
        assert "× can query the Kubernetes API" in run.terminal


def test_nothing_on_a_non_terminal(fake_api):
    fake_api.stall()
    result = run_cli("check", "--wait", "2s")
    assert result.exit_code == 2 and result.stderr == ""


def test_stat_says_what_it_reads_while_it_reads(fake_api):
    demo_mesh.load(fake_api)
    run = run_on_terminal("stat", "-A", "--interval", "1s", stdout_tty=False)
    assert run.exit_code == 0, run.terminal
    assert re.search(r"reading 6 proxies twice, 1s apart \(\ds\)", run.terminal), run.terminal
    assert "emojivoto   voting" in run.piped and ESC not in run.piped      # the table, plain in a pipe


# -- 5. stat at a glance -------------------------------------------------------------------------------

def test_stat_colours_health_on_a_terminal_and_only_there(nowhere):
    run = run_on_terminal("stat", "--demo")
    assert run.exit_code == 0
    assert "\x1b[31m78.50%" in run.terminal            # voting: below Linkerd's 90% success
    assert "\x1b[32m97.78%" in run.terminal            # web: good
    assert "\x1b[33m922ms" in run.terminal and "\x1b[31m1848ms" in run.terminal   # emoji: p95, p99
    # the colours change nothing else: the same table as in a pipe, columns aligned
    assert plain(run.terminal) == run_cli("stat", "--demo").stdout
    assert ESC not in run_on_terminal("stat", "--demo", env={"NO_COLOR": "1"}).terminal
    assert ESC not in run_on_terminal("stat", "--demo", "--no-color").terminal


def test_stat_wide_uses_human_byte_units(nowhere):
    out = run_cli("stat", "--demo", "-o", "wide").stdout
    emoji = next(line for line in out.splitlines() if line.startswith("emojivoto   emoji "))
    assert "5.2KiB/s" in emoji and "38.7KiB/s" in emoji
    assert "180B/s" in out and ".0B/s" not in out


def test_pods_not_read_name_the_workload_that_runs_them(nowhere):
    for args in (("stat", "--demo"), ("stat", "pod", "-A", "--demo"), ("stat", "ns", "--demo")):
        out = run_cli(*args).stdout
        assert "emojivoto   vote-bot-5f6b8c9d4c-m7tzn   deploy/vote-bot   no `linkerd-admin` port" in out, args
