"""A credential plugin that hangs is stopped after --request-timeout (issue 17, item 5): one line naming
the plugin, exit 2, bounded time, and neither the plugin nor what it started is left running."""
from __future__ import annotations

import json
import os
import re
import stat
import sys
import time

import pytest
import yaml

from helpers import run_cli

EXCEPTION_NAMES = re.compile(r"Traceback|Error:.*Error\b|TimeoutExpired|KeyError|TypeError|internal error")


def _kubeconfig(tmp_path, monkeypatch, api, plugin, **exec_extra):
    # over TLS: kubectl (and the plugin) run no credential plugin for a plain-http server
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
           "clusters": [{"name": "c", "cluster": {"server": api.url, "certificate-authority": api.ca_file}}],
           "users": [{"name": "u", "user": {"exec": dict({
               "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
               "interactiveMode": "Never"}, **exec_extra)}}],
           "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}
    (tmp_path / "kc").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kc"))


def _script(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:   # a zombie child of ours counts as gone once reaped by its parent's death
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split()[2] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("args", [("version",), ("targets",), ("check", "-o", "json")])
def test_a_hanging_plugin_is_stopped_after_the_request_timeout(fake_api_tls, tmp_path, monkeypatch, args):
    pids = tmp_path / "pids"
    # a shell that starts a helper and waits on it, as SSO wrappers do: both must go
    plugin = _script(tmp_path / "hanging-sso-helper",
                     f"#!/bin/sh\nsleep 600 &\necho $$ $! > {pids}\nwait\n")
    _kubeconfig(tmp_path, monkeypatch, fake_api_tls, plugin)
    started = time.monotonic()
    result = run_cli(*args, "--request-timeout", "2s")
    elapsed = time.monotonic() - started
    message = (f"the credential plugin '{plugin}' of context 'x' gave no credentials within 2s "
               "(--request-timeout); it was stopped. Run it by hand to see what it waits for")
    assert result.exit_code == 2, result.output
    if args[0] == "check":   # check fails its first check with the message, as `linkerd check` shows it
        client = next(c for cat in json.loads(result.stdout)["categories"] for c in cat["checks"]
                      if c["description"] == "can initialize the client")
        assert client["result"] == "error" and client["error"] == message
    else:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines == [f"Error: {message}"], result.stderr
    assert not EXCEPTION_NAMES.search(result.output)
    assert elapsed < 60, elapsed     # far below the helper's 600 s sleep: it was stopped
    shell, helper = (int(p) for p in pids.read_text().split())
    assert _gone(shell) and _gone(helper)
    assert not fake_api_tls.requests   # nothing was sent without credentials


def test_without_request_timeout_the_bound_is_30s_and_named(fake_api_tls, tmp_path, monkeypatch):
    from kubectl_linkerd_otel.apiclient import exec_credential

    monkeypatch.setattr(exec_credential, "TIMEOUT", 1.0)   # the fixed bound, shortened for the test
    plugin = _script(tmp_path / "stuck", f"#!{sys.executable}\nimport time\ntime.sleep(600)\n")
    _kubeconfig(tmp_path, monkeypatch, fake_api_tls, plugin)
    started = time.monotonic()
    result = run_cli("version")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"Error: the credential plugin '{plugin}' of context 'x' gave no credentials "
                                     "within 1s (raise it with --request-timeout); it was stopped. Run it by "
                                     "hand to see what it waits for")
    assert time.monotonic() - started < 60     # far below the plugin's 600 s sleep


def test_a_working_plugin_still_logs_in_and_runs_once(fake_api_tls, tmp_path, monkeypatch):
    fake_api_tls.token = "from-exec-plugin"
    runs = tmp_path / "runs"
    plugin = _script(tmp_path / "cred", (
        f"#!{sys.executable}\nimport json, os\nopen({str(runs)!r}, 'a').write('x')\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['kind'] == 'ExecCredential' and info['spec']['interactive'] is False\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
        "'status': {'token': 'from-exec-plugin', 'expirationTimestamp': '2999-01-01T00:00:00.123456789Z'}}))\n"))
    _kubeconfig(tmp_path, monkeypatch, fake_api_tls, plugin)
    result = run_cli("check", "-o", "json")
    assert "can query the Kubernetes API" in result.stdout
    assert result.exit_code in (0, 1), result.output   # the empty cluster fails checks, not the login
    assert fake_api_tls.requests and all(r.headers.get("Authorization") == "Bearer from-exec-plugin"
                                         for r in fake_api_tls.requests)
    assert runs.read_text() == "x"


@pytest.mark.parametrize("body, fragment", [
    ("import sys\nsys.stderr.write('no SSO session\\n')\nsys.exit(3)\n", "failed: it exited with code 3: no SSO session"),
    ("print('not json')\n", "failed: its output is not an ExecCredential (not JSON)"),
    ("print('{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", \"status\": {}}')\n",
     "failed: its ExecCredential holds neither a token nor clientCertificateData and clientKeyData"),
])
def test_a_failing_plugin_is_one_line(fake_api_tls, tmp_path, monkeypatch, body, fragment):
    plugin = _script(tmp_path / "cred", f"#!{sys.executable}\n{body}")
    _kubeconfig(tmp_path, monkeypatch, fake_api_tls, plugin)
    result = run_cli("version")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: the credential plugin '{plugin}' of context 'x' {fragment}"
