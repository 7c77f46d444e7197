"""Large inputs (issue 17, item 10): a big pods file shows progress once its read takes over a second,
and a big file that cannot hold pods is refused at once, in one line, without showing its content."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import random
import re
import string
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest
import yaml

from conftest import FIXTURES, load_fixture
from helpers import run_cli

CONFIG = str(FIXTURES / "harness-mesh-collector-configmap.json")
FIX = "pass the output of `kubectl get pods -A -o json`"
MB = 1024 * 1024


def _junk_lines(size: int) -> str:
    rng = random.Random(17)
    line = "".join(rng.choices(string.ascii_letters + " ", k=1023))
    return (line + "\n") * (size // 1024)


JUNK = {
    "letters": lambda: _junk_lines(50 * MB),
    "after a document start": lambda: "---\n" + _junk_lines(50 * MB),
    "a mapping of another kind": lambda: "password: hunter2\n" + "x: y\n" * (10 * MB),
    "truncated JSON": lambda: '{"apiVersion": "v1", "items": [' + '{"kind": "Pod"},' * (3 * MB),
}


@pytest.mark.parametrize("kind", list(JUNK))
def test_a_big_file_that_holds_no_pods_is_refused_at_once(tmp_path, kind):
    path = tmp_path / "pods.txt"
    path.write_text(JUNK[kind]())
    started = time.monotonic()
    result = run_cli("targets", "--config", CONFIG, "--pods", str(path))
    elapsed = time.monotonic() - started
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path} is not ") and lines[0].endswith(FIX), lines
    assert "hunter2" not in result.output and "Traceback" not in result.output
    assert not result.stdout
    assert elapsed < 20, elapsed    # not the minutes of parsing it as YAML


def test_a_scalar_document_is_refused_when_it_is_read(tmp_path):
    pods = load_fixture("harness-mesh-pods.json")["items"]
    path = tmp_path / "pods.yaml"
    path.write_text(yaml.safe_dump_all(pods[:2]) + "---\njust a sentence\n---\n" + yaml.safe_dump(pods[2]))
    result = run_cli("targets", "--config", CONFIG, "--pods", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {path}: document 3 is a single value, not a Kubernetes object; {FIX}"


def _big_pods_yaml(path, size: int) -> int:
    pods = load_fixture("harness-mesh-pods.json")["items"]
    written = count = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < size:
            for pod in pods:
                pod = json.loads(json.dumps(pod))
                pod["metadata"]["name"] += f"-{count}"
                text = "---\n" + yaml.safe_dump(pod)
                fh.write(text)
                written += len(text)
                count += 1
    return count


def _run_on_a_terminal(*args):
    """The CLI as a user runs it: stderr on a terminal (a pty, 200 columns), stdout a pipe. Returns the
    exit code, stdout, and what the terminal received."""
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="200", LINES="50")
    env.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    screen = bytearray()

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the child closed the terminal
                return
            if not chunk:
                return
            screen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "kubectl_linkerd_otel", *args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=slave, env=env, timeout=300)
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    return proc.returncode, proc.stdout.decode(), screen.decode("utf-8", "replace")


def test_a_big_yaml_pods_file_shows_progress_on_a_terminal(tmp_path):
    path = tmp_path / "pods.yaml"
    count = _big_pods_yaml(path, 6 * MB)   # pure-Python YAML: several seconds
    started = time.monotonic()
    code, stdout, screen = _run_on_a_terminal("targets", "--config", CONFIG, "--pods", str(path), "-o", "json")
    elapsed = time.monotonic() - started
    assert code == 1, screen   # the fixture's other-mesh pods are not scraped
    doc = json.loads(stdout)
    assert len(doc["data"]["activeTargets"]) > 100 and count > 500
    shown = [int(p) for p in re.findall(rf"reading {re.escape(str(path))} \(6 MB\): (\d+)%", screen)]
    assert len(set(shown)) >= 2 and shown == sorted(shown) and max(shown) < 100, screen[-2000:]
    assert "Error" not in screen and elapsed > 1


def test_an_error_after_progress_is_still_one_line_off_a_terminal(tmp_path):
    path = tmp_path / "pods.yaml"
    _big_pods_yaml(path, 3 * MB)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("---\nkind: Pod\nmetadata: [unclosed\n")
    result = run_cli("targets", "--config", CONFIG, "--pods", str(path))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: {path} is neither JSON nor valid "
                                                                       "YAML at line ")


def test_a_small_file_shows_no_progress(tmp_path):
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(load_fixture("harness-mesh-pods.json")))
    result = run_cli("targets", "--config", CONFIG, "--pods", str(path), "-o", "json")
    assert result.exit_code == 1 and result.stderr == ""


def test_a_slow_pod_list_shows_progress_on_a_terminal(mesh_api):
    import scenarios

    scenarios.healthy(mesh_api)
    mesh_api.delay(2.5, path=r"^/api/v1/pods$")
    code, stdout, screen = _run_on_a_terminal("targets", "-o", "json")
    assert code == 0, screen
    assert json.loads(stdout)["linkerdOtel"]["exitCode"] == 0
    assert "listing pods in all namespaces: 0 so far" in screen, screen
    assert "Error" not in screen
