"""Issue 23, items 10 and 11: ports (and the durations and integers next to them) are ASCII digits only,
read by one parser (k8s/ports.py), and `validate` knows the ranges of the collector's numeric types."""
from __future__ import annotations

import re

import pytest

from helpers import run_cli

EXCEPTION_NAMES = re.compile(r"Traceback|Error: internal error|[A-Z][a-z]+Error:")
FULLWIDTH, ARABIC_INDIC = "\uff14\uff13\uff11\uff17", "\u0664\u0663\u0661\u0667"   # "4317" in both


def one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert not EXCEPTION_NAMES.search(result.output.replace("Error: ", "", 1)), result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- 10: ports ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("digits", [FULLWIDTH, ARABIC_INDIC, "\u00b2"])
@pytest.mark.parametrize("protocol, endpoint", [("grpc", "otel.example.com:{}"),
                                                ("http", "https://otel.example.com:{}/v1"),
                                                ("grpc", "[2001:db8::1]:{}")])
def test_exporter_endpoint_port_in_other_digits_is_refused(protocol, endpoint, digits):
    result = run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd",
                     "--exporter-protocol", protocol, "--exporter-endpoint", endpoint.format(digits))
    one_line_error(result, "the port must be a number from 1 to 65535")
    assert result.stdout == ""        # nothing rendered, nothing written into a config


def test_ascii_port_is_still_fine():
    result = run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd",
                     "--exporter-endpoint", "otel.example.com:4317")
    assert result.exit_code == 0, result.output
    assert "endpoint: otel.example.com:4317" in result.stdout


def test_server_url_port_in_other_digits_is_refused(nowhere):
    one_line_error(run_cli("version", "-s", f"https://127.0.0.1:{FULLWIDTH}"), "invalid server URL",
                   "the port must be a number from 1 to 65535")


def test_query_url_port_in_other_digits_is_refused(nowhere):
    one_line_error(run_cli("check", "--query-url", f"http://prometheus.example:{ARABIC_INDIC}"),
                   "--query-url", "the port must be a number from 1 to 65535")


@pytest.mark.parametrize("args", [("--scrape-interval", "\uff13\uff10s"), ("--timeout", "\u0665m")])
def test_durations_in_other_digits_are_refused(args):
    one_line_error(run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd",
                           "--exporter-endpoint", "otel.example.com:4317", *args), args[0])


# -- 11: numeric ranges of the collector's types ------------------------------------------------------
CONFIG = """\
receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: x
          static_configs: [{{targets: ["a:1"]}}]
          relabel_configs:
            - source_labels: [__address__]
              action: hashmod
              modulus: {modulus}
              target_label: shard
exporters:
  otlp_grpc:
    endpoint: otel.example.com:4317
processors:
  batch:
    send_batch_size: {batch}
service:
  pipelines:
    metrics: {{receivers: [prometheus], processors: [batch], exporters: [otlp_grpc]}}
"""


def _validate(tmp_path, **values):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(**{"modulus": 8, "batch": 1000, **values}), encoding="utf-8")
    return run_cli("validate", "-f", str(path))


def test_hashmod_modulus_above_uint64_is_refused(tmp_path):
    result = _validate(tmp_path, modulus=2 ** 64)
    assert result.exit_code == 1, result.output
    assert (f"modulus {2 ** 64} is out of range: Prometheus reads it as an unsigned 64-bit integer "
            f"(at most {2 ** 64 - 1})") in result.stdout
    assert not EXCEPTION_NAMES.search(result.output.replace("Error: ", ""))


def test_hashmod_modulus_of_uint64_max_is_fine(tmp_path):
    result = _validate(tmp_path, modulus=2 ** 64 - 1)
    assert result.exit_code == 0, result.output
    assert "out of range" not in result.output


def test_targets_refuses_the_same_modulus(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(modulus=2 ** 64, batch=1000), encoding="utf-8")
    (tmp_path / "pods.json").write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    one_line_error(run_cli("targets", "--config", str(path), "--pods", str(tmp_path / "pods.json")),
                   "out of range")


@pytest.mark.parametrize("batch, message", [
    (2 ** 63, f"processors.batch.send_batch_size: must be at most {2 ** 63 - 1}, not {2 ** 63}"),
    (f"'{FULLWIDTH}'", "processors.batch.send_batch_size: must be an integer"),
])
def test_integers_outside_go_int_or_in_other_digits_are_refused(tmp_path, batch, message):
    result = _validate(tmp_path, batch=batch)
    assert result.exit_code == 1, result.output
    assert message in result.stdout
