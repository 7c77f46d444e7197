"""InstallOptions: validation, credentials split, sizing."""
from __future__ import annotations

import base64

import pytest

from kubectl_linkerd_otel.errors import UsageError
from kubectl_linkerd_otel.render.collector_config import collector_config
from kubectl_linkerd_otel.render.options import (DEFAULT_IMAGE, DEMO_ENDPOINT, InstallOptions,
                                                 memory_mib, parse_header)


@pytest.mark.parametrize("quantity,mib", [("512Mi", 512), ("1Gi", 1024), ("1G", 953), ("1048576", 1),
                                          ("1.5Gi", 1536)])
def test_memory_quantities(quantity, mib):
    assert memory_mib(quantity) == mib


@pytest.mark.parametrize("bad", ["lots", "512MB", "100m", ""])
def test_bad_memory_quantity_is_a_usage_error(bad):
    with pytest.raises(UsageError):
        memory_mib(bad)


def test_memory_limiter_is_sized_from_the_limit():
    assert InstallOptions(memory_limit="1Gi").memory_limiter() == {"limit_mib": 819, "spike_limit_mib": 204}


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(namespace="Bad_NS"), "namespace"),
    (dict(mode="statefulset"), "--mode"),
    (dict(exporter_protocol="udp"), "--exporter-protocol"),
    (dict(exporter_endpoint="x:1", insecure=True, ca_pem="pem"), "exclude"),
    (dict(headers=[("a", "b")]), "--exporter-endpoint"),
    (dict(exporter_endpoint="x:1", basic_auth="nocolon"), "USER:PASSWORD"),
    (dict(exporter_endpoint="x:1", headers=[("bad header", "v")]), "header name"),
    (dict(exporter_endpoint="x:1", basic_auth="u:p", headers=[("Authorization", "v")]), "pick one"),
    (dict(memory_limit="32Mi", memory_request="16Mi"), "too small"),
    (dict(memory_request="1Gi"), "larger"),
    (dict(cpu_limit="two"), "--cpu-limit"),
    (dict(image="has space"), "--image"),
    (dict(scrape_interval="soon"), "--scrape-interval"),
    (dict(scrape_interval="30"), "--scrape-interval"),
    (dict(scrape_interval="500ms"), "too short"),
])
def test_invalid_options_are_refused(kwargs, fragment):
    with pytest.raises(UsageError) as info:
        InstallOptions(**kwargs).validate()
    assert fragment in str(info.value)


def test_bad_basic_auth_message_does_not_echo_the_value():
    with pytest.raises(UsageError) as info:
        InstallOptions(exporter_endpoint="x:1", basic_auth="hunter2hunter2").validate()
    assert "hunter2" not in str(info.value)


def test_header_parsing_keeps_equals_in_values_and_hides_bad_input():
    assert parse_header("X-Token=a=b") == ("X-Token", "a=b")
    with pytest.raises(UsageError) as info:
        parse_header("Authorization: Bearer s3cr3t")
    assert "s3cr3t" not in str(info.value)


def test_image_warning_on_latest_or_untagged_only():
    assert InstallOptions(image="otel/opentelemetry-collector:latest").image_warnings()
    assert InstallOptions(image="otel/opentelemetry-collector").image_warnings()
    assert not InstallOptions(image="registry:5000/otel/collector:0.150.0").image_warnings()
    assert not InstallOptions(image="otel/opentelemetry-collector@sha256:abc").image_warnings()
    assert not InstallOptions().image_warnings()
    assert DEFAULT_IMAGE.startswith("otel/opentelemetry-collector:0.")


def test_demo_backend_defaults_match_the_reference_setup():
    opts = InstallOptions()
    assert opts.uses_demo_backend and opts.endpoint == DEMO_ENDPOINT and opts.tls_insecure
    assert dict(opts.plain_headers()) == {"organization": "default", "stream-name": "default"}
    (name, cred), = opts.credentials()
    assert name == "Authorization"
    assert base64.b64decode(cred.value) == b"root@example.com:Complexpass#123"
    assert not opts.credentials_given


def test_http_protocol_uses_otlp_http_exporter():
    cfg = collector_config(InstallOptions(exporter_endpoint="https://x", exporter_protocol="http"))
    assert list(cfg["exporters"]) == ["otlp_http/backend"]
    assert "tls" not in cfg["exporters"]["otlp_http/backend"]


@pytest.mark.parametrize("interval,timeout", [("30s", "10s"), ("1m", "10s"), ("10s", "10s"),
                                              ("5s", "5s"), ("1s500ms", "1s500ms")])
def test_scrape_timeout_never_exceeds_the_interval(interval, timeout):
    opts = InstallOptions(scrape_interval=interval).validate()
    assert opts.scrape_timeout == timeout
    assert collector_config(opts)["receivers"]["prometheus/linkerd"]["config"]["global"] == \
        {"scrape_interval": interval, "scrape_timeout": timeout}


def test_a_short_interval_renders_a_config_the_scrape_engine_accepts():
    from kubectl_linkerd_otel.scrape.config import scrape_jobs

    jobs = scrape_jobs(collector_config(InstallOptions(scrape_interval="5s").validate()))
    assert {(job.interval, job.timeout) for job in jobs} == {("5s", "5s")}


@pytest.mark.parametrize("endpoint,protocol,port", [
    ("otlp.example:4317", "grpc", "4317"), ("otlp.example", "grpc", None),
    ("https://otlp.example:4318/v1", "http", "4318"), ("https://otlp.example/v1", "http", None),
    ("[::1]:4317", "grpc", "4317"), ("[::1]", "grpc", None),
])
def test_endpoint_port(endpoint, protocol, port):
    from kubectl_linkerd_otel.render.options import _endpoint_port

    assert _endpoint_port(endpoint) == port


def test_a_grpc_endpoint_without_a_port_warns_and_a_bad_port_is_refused():
    opts = InstallOptions(exporter_endpoint="otlp.example").validate()
    assert any("gRPC will dial port 443" in w for w in opts.warnings())
    assert InstallOptions(exporter_endpoint="otlp.example:4317").validate().warnings() == []
    assert InstallOptions().validate().warnings() == []
    for bad in ("otlp.example:99999", "otlp.example:http", "otlp.example:0"):
        with pytest.raises(UsageError) as info:
            InstallOptions(exporter_endpoint=bad).validate()
        assert "the port must be a number from 1 to 65535" in str(info.value)


def test_non_ascii_header_values_are_refused():
    with pytest.raises(UsageError) as info:
        InstallOptions(exporter_endpoint="x:1", headers=[("X-Org", "café")]).validate()
    assert "non-ASCII" in str(info.value)
