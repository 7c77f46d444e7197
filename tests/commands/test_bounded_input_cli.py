"""Bounded against every input (issue 23, items 1-4 and 12): an answer that never ends, a list whose
continue token never ends, an answer at one byte per second, special files and oversized files, a gzip
bomb. Each ends in one line (exit 2, or `check`'s own report), in bounded time and memory.

Every run that could read without bound runs in a child process under a memory ceiling (childrun.py):
a regression fails here instead of eating the machine.
"""
from __future__ import annotations

import gzip
import json
import os
import re

import pytest
import yaml

import scenarios
from childrun import run_cli_bounded
from conftest import FIXTURES

PEAK_MB = 300          # the bound for every case
ENDS_WITHIN = 20.0     # seconds; each case needs 1-4 s (a 2 s --request-timeout, the child's start)
CONFIG = str(FIXTURES / "harness-mesh-collector-configmap.json")
EXCEPTION = re.compile(r"Traceback|Error:.*Error\b|MemoryError|internal error")


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert not EXCEPTION.search(result.output), result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    bounded(result)
    return lines[0]


def bounded(result) -> None:
    assert result.seconds < ENDS_WITHIN, (result.seconds, result.output)
    assert 0 < result.peak_mb < PEAK_MB, (result.peak_mb, result.output)


def api_check(result) -> dict:
    doc = json.loads(result.stdout)
    return next(c for cat in doc["categories"] for c in cat["checks"]
                if c["description"] == "can query the Kubernetes API")


# -- 1: an answer that never ends ---------------------------------------------------------------------
@pytest.mark.parametrize("args", [("version",), ("targets",), ("uninstall", "--dry-run")])
def test_an_endless_answer_is_cut_at_its_size_limit(fake_api, args):
    fake_api.endless(path=".*")
    one_line_error(run_cli_bounded(*args, "--request-timeout", "5s"),
                   "is larger than 64MiB, the limit for the API server's answers read at once",
                   "LINKERD_OTEL_MAX_API_ANSWER=")


def test_check_fails_its_api_check_on_an_endless_answer(fake_api):
    fake_api.endless(path=".*")
    result = run_cli_bounded("check", "-o", "json", "--request-timeout", "5s")
    bounded(result)
    assert "Traceback" not in result.output
    check = api_check(result)
    assert check["result"] == "error" and "is larger than 64MiB" in check["error"], check


def test_the_api_answer_limit_is_raised_or_lowered_by_its_variable(fake_api):
    fake_api.endless(path=".*")
    one_line_error(run_cli_bounded("version", env={"LINKERD_OTEL_MAX_API_ANSWER": "16Mi"}),
                   "is larger than 16MiB", "LINKERD_OTEL_MAX_API_ANSWER=<size> (e.g. 64MiB)")
    one_line_error(run_cli_bounded("version", env={"LINKERD_OTEL_MAX_API_ANSWER": "lots"}),
                   "LINKERD_OTEL_MAX_API_ANSWER='lots' is not a size")


def test_endless_answers_of_pods_are_cut_too(mesh_api):
    """Through the API server's pods/proxy: the collector's targets and self-metrics, the proxies' /metrics,
    each kind under its own limit; the reads fail, the report goes on."""
    scenarios.healthy(mesh_api)
    mesh_api.endless(path="/proxy/")
    limits = {"LINKERD_OTEL_MAX_TARGETS_ANSWER": "8Mi", "LINKERD_OTEL_MAX_METRICS_ANSWER": "16Mi"}
    result = run_cli_bounded("targets", "-o", "json", "--request-timeout", "5s", env=limits)
    bounded(result)
    assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
    assert "is larger than 8MiB, the limit for the target lists of the collector" in result.stdout, result.stdout
    result = run_cli_bounded("check", "-o", "json", "--request-timeout", "5s", env=limits)
    bounded(result)
    assert "is larger than 16MiB, the limit for /metrics pages" in result.stdout, result.stdout
    assert "is larger than 8MiB" in result.stdout and "Traceback" not in result.output


# -- 2: a continue token that never ends --------------------------------------------------------------
@pytest.mark.parametrize("fresh,fragment", [
    (False, "repeats a continue token it sent before"),
    (True, "20 pages in a row without an object"),
])
def test_a_list_that_never_ends_is_refused(mesh_api, fresh, fragment):
    mesh_api.endless_list(fresh=fresh)
    one_line_error(run_cli_bounded("targets", "--request-timeout", "5s"), "sent an unexpected answer to list",
                   fragment, "the list would never end")
    assert len(mesh_api.requests) <= 30


def test_check_stops_following_a_list_that_never_ends(mesh_api):
    mesh_api.endless_list(fresh=True)
    result = run_cli_bounded("check", "-o", "json", "--request-timeout", "5s")
    bounded(result)
    assert "the list would never end" in result.stdout and "Traceback" not in result.output, result.output
    assert len(mesh_api.requests) < 600        # about 20 lists, each given up after 21 pages


# -- 3: an answer at one byte per second ----------------------------------------------------------------
@pytest.mark.parametrize("args", [("version",), ("targets",)])
def test_an_answer_at_one_byte_a_second_ends_with_the_request_timeout(fake_api, args):
    fake_api.trickle(json.dumps(fake_api.version).encode(), path=".*", seconds=0.5)
    one_line_error(run_cli_bounded(*args, "--request-timeout", "2s"), "did not finish answering within 2s",
                   "--request-timeout")


def test_check_ends_with_the_request_timeout_on_a_trickling_answer(fake_api):
    fake_api.trickle(json.dumps(fake_api.version).encode(), path=".*", seconds=0.5)
    result = run_cli_bounded("check", "-o", "json", "--request-timeout", "2s")
    bounded(result)
    check = api_check(result)
    assert check["result"] == "error" and "did not finish answering within 2s" in check["error"], check


# -- 4: special files and oversized files ------------------------------------------------------------------
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("args", [
    ("validate", "-f", "{}"),
    ("targets", "--config", CONFIG, "--pods", "{}"),
    ("targets", "--config", "{}", "--pods", str(FIXTURES / "harness-mesh-pods.json")),
    ("targets", "--snapshot", "{}"),
    ("check", "--snapshot", "{}"),
    ("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd", "--exporter-endpoint",
     "otlp.example:4317", "--ca-file", "{}"),
    ("check", "--query-url", "https://q.example", "--query-ca-file", "{}"),
])
def test_a_device_is_refused_by_its_type(nowhere, device, args):
    args = [a.format(device) if a == "{}" else a for a in args]
    one_line_error(run_cli_bounded(*args), f"{device}: it is a character device, not a file")


def test_the_kubeconfig_and_its_token_file_are_refused_by_their_type(nowhere, tmp_path):
    one_line_error(run_cli_bounded("version", "--kubeconfig", "/dev/zero"), "kubeconfig /dev/zero: it is a "
                                                                            "character device, not a file")
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"tokenFile": "/dev/zero"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}))
    one_line_error(run_cli_bounded("version", "--kubeconfig", str(config)),
                   "the tokenFile /dev/zero of context 'x': it is a character device, not a file")


def test_a_directory_and_dev_null(nowhere, tmp_path):
    one_line_error(run_cli_bounded("validate", "-f", str(tmp_path)), "it is a directory")
    one_line_error(run_cli_bounded("validate", "-f", "/dev/null"), "holds no collector config")


def test_a_file_over_its_limit_is_refused_by_its_size(nowhere, tmp_path):
    big = tmp_path / "pods.json"
    with open(big, "wb") as handle:      # sparse: 3 GiB of nothing on disk
        handle.truncate(3 * 1024 ** 3)
    one_line_error(run_cli_bounded("targets", "--config", CONFIG, "--pods", str(big)),
                   f"{big} is larger than 2GiB, the limit for a pods file or a snapshot",
                   "LINKERD_OTEL_MAX_INPUT_FILE=")
    one_line_error(run_cli_bounded("targets", "--snapshot", str(big)), "is larger than 2GiB")
    one_line_error(run_cli_bounded("validate", "-f", str(big)), "is larger than 64MiB, the limit for a collector "
                                                               "config")
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n" + "A" * (2 * 1024 * 1024))
    one_line_error(run_cli_bounded("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd",
                                   "--exporter-endpoint", "otlp.example:4317", "--ca-file", str(pem)),
                   "is larger than 1MiB, the limit for a certificate or key file")


def test_a_pipe_is_read_up_to_the_limit(nowhere):
    result = run_cli_bounded("targets", "--config", CONFIG, "--pods", "-", stdin=b'{"items": [' + b" " * (8 << 20),
                             env={"LINKERD_OTEL_MAX_INPUT_FILE": "4Mi"})
    one_line_error(result, "- is larger than 4MiB, the limit for a pods file")
    pods = (FIXTURES / "harness-mesh-pods.json").read_bytes()
    result = run_cli_bounded("targets", "--config", CONFIG, "--pods", "-", stdin=pods)
    assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output


def test_a_pipe_that_cannot_hold_pods_is_refused_at_its_start(nowhere):
    result = run_cli_bounded("targets", "--config", CONFIG, "--pods", "-", stdin=b"\0" * (64 * 1024 * 1024))
    one_line_error(result, "is not a pod list")


# -- 12: gzip bombs --------------------------------------------------------------------------------------
def _bomb(tmp_path, byte: bytes) -> str:
    """About 1 MB that unpacks to 1 GiB of `byte`: 1,024 gzip members of 1 MiB each (one file)."""
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(byte * (1024 * 1024), compresslevel=9, mtime=0) * 1024)
    return str(path)


@pytest.mark.parametrize("byte,fragment", [
    (b"\0", "expands more than 250 times when decompressed"),
    (b"a", "expands more than 250 times when decompressed"),
    (b" ", "gzip-compressed whitespace"),
])
def test_a_gzip_bomb_is_refused_early(nowhere, tmp_path, byte, fragment):
    path = _bomb(tmp_path, byte)
    assert os.path.getsize(path) < 2 * 1024 * 1024
    for command in ("check", "targets"):
        one_line_error(run_cli_bounded(command, "--snapshot", path), fragment)


def test_a_small_gzip_of_whitespace_or_text_says_what_it_holds(nowhere, tmp_path):
    spaces, text = tmp_path / "spaces.gz", tmp_path / "text.gz"
    spaces.write_bytes(gzip.compress(b" \n" * 1000))
    text.write_bytes(gzip.compress(b"hello, world\n"))
    one_line_error(run_cli_bounded("check", "--snapshot", str(spaces)), "(gzip-compressed, but it holds only "
                                                                        "whitespace)")
    one_line_error(run_cli_bounded("check", "--snapshot", str(text)), "(gzip-compressed, but what it holds is "
                                                                      "not JSON)")
