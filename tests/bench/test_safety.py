"""bench/safety.py: a bench child that allocates too much is stopped by its memory cap, one that never
ends is stopped by its timeout, and both are reported; a child that behaves is measured."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import safety  # noqa: E402

CAP = 512 * safety.MIB


def test_a_child_that_allocates_too_much_is_stopped_by_its_cap_and_reported():
    hog = "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 * 1024))\n"
    outcome = safety.run("hog", [sys.executable, "-c", hog], cap=CAP, timeout=60)
    assert outcome.limit == "memory"
    assert outcome.code not in (0, None)
    assert "MemoryError" in outcome.stderr
    assert outcome.peak_rss <= CAP
    line = outcome.limit_line("--child-mem-gb")
    assert line.startswith("LIMIT: hog hit its memory cap of 512 MiB")
    assert "--child-mem-gb" in line


def test_a_child_that_sleeps_forever_is_stopped_by_its_timeout_and_reported():
    outcome = safety.run("sleeper", [sys.executable, "-c", "import time\nwhile True: time.sleep(1)"],
                         cap=CAP, timeout=1.0)
    assert outcome.limit == "timeout"
    assert outcome.code == -9
    line = outcome.limit_line(timeout_option="--timeout")
    assert line.startswith("LIMIT: sleeper was stopped by its timeout of 1 s")
    assert "--timeout" in line


def test_the_timeout_kills_the_childs_own_children_too(tmp_path):
    marker = tmp_path / "grandchild-pid"
    script = ("import subprocess, sys, time\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
              f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
              "time.sleep(3600)\n")
    outcome = safety.run("parent", [sys.executable, "-c", script], cap=CAP, timeout=2.0)
    assert outcome.limit == "timeout"
    pid = int(marker.read_text())
    for _ in range(100):   # the grandchild is reparented and reaped by init once killed
        if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"


def test_a_child_that_behaves_is_measured():
    outcome = safety.run("small", [sys.executable, "-c", "b = bytearray(50 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"],
                         cap=CAP, timeout=60)
    assert outcome.limit == "" and outcome.code == 0 and outcome.limit_line() == ""
    assert outcome.peak_rss >= 50 * safety.MIB
    assert outcome.wall > 0


def test_a_ready_line_is_read_with_a_deadline_instead_of_blocking():
    silent = safety.Child("silent server", [sys.executable, "-c", "import sys; sys.stdin.read()"], cap=CAP,
                          timeout=30, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert silent.read_line(timeout=1.0) is None            # nothing came: gives up, does not block
    outcome = silent.finish(grace=5)                         # closing stdin stops it
    assert outcome.code == 0 and outcome.limit == ""
    talker = safety.Child("server", [sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
                          cap=CAP, timeout=30, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert talker.read_line(timeout=30) == "ready"
    assert talker.finish(grace=5).code == 0


def test_a_child_that_ignores_the_stop_request_is_killed_after_the_grace():
    stubborn = safety.Child("stubborn", [sys.executable, "-c", "import time\nwhile True: time.sleep(1)"],
                            cap=CAP, timeout=60, stdin=subprocess.PIPE)
    outcome = stubborn.finish(grace=1)
    assert outcome.code == -9 and outcome.limit == ""
    assert any("killed" in note for note in outcome.notes)


def test_a_cap_above_the_inherited_limit_is_lowered_to_it():
    """Asked in a child started under a limit of its own (as under `prlimit --as=...`)."""
    import resource

    limit = 3 * 1024 * safety.MIB
    probe = (f"import sys; sys.path.insert(0, {str(Path(safety.__file__).parent)!r}); import safety; "
             f"print(safety.inherited_cap(), safety.effective_cap({2 * limit}))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(limit), str(limit)]


def test_the_tree_peak_adds_the_children_that_ran_together_and_the_bench_itself():
    tree = safety.Tree()
    first = tree.add_stretch("a", [100 * safety.MIB, 200 * safety.MIB])
    tree.add_stretch("b", [10 * safety.MIB])
    assert tree.where == "a" and tree.peak == first
    assert first >= 300 * safety.MIB + 1    # the bench's own peak is added


def test_a_bench_that_is_stopped_kills_the_children_it_still_has(tmp_path):
    marker = tmp_path / "child-pid"
    bench = ("import sys, time\n"
             f"sys.path.insert(0, {str(Path(safety.__file__).parent)!r})\n"
             "import safety\n"
             "safety.stop_children_on_signals()\n"
             "child = safety.Child('sleeper', [sys.executable, '-c', 'import time; time.sleep(3600)'], "
             "cap=512 * safety.MIB, timeout=3600)\n"
             f"open({str(marker)!r}, 'w').write(str(child.proc.pid))\n"
             "child.wait()\n")
    proc = subprocess.Popen([sys.executable, "-c", bench])
    for _ in range(200):
        if marker.exists() and marker.read_text():
            break
        time.sleep(0.05)
    pid = int(marker.read_text())
    proc.terminate()
    assert proc.wait(timeout=30) == 128 + 15
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in _state(pid)


def test_a_child_past_its_resident_memory_cap_is_stopped_and_named():
    """For programs whose address space says little (Go reserves what it never touches): the sampler
    stops the child once its resident memory passes `rss_cap`; the address-space cap is a backstop."""
    grower = ("import time\nblocks = []\nwhile True:\n"
              "    blocks.append(bytearray(16 * 1024 * 1024))\n    time.sleep(0.01)\n")
    outcome = safety.run("grower", [sys.executable, "-c", grower], cap=4096 * safety.MIB, timeout=120,
                         rss_cap=200 * safety.MIB)
    assert outcome.limit == "resident" and outcome.code == -9
    line = outcome.limit_line("--kubectl-mem-gb")
    assert line.startswith("LIMIT: grower passed its resident-memory cap of 200") and "--kubectl-mem-gb" in line
