"""One reading of host:port (k8s/hostport.py) for what the collector dials (collector/endpoints.py,
collector/facts.py) and what install accepts (render/endpoint.py)."""
import pytest

from kubectl_linkerd_otel.collector.endpoints import endpoint_hostport
from kubectl_linkerd_otel.collector.facts import parse_hostport
from kubectl_linkerd_otel.errors import UsageError
from kubectl_linkerd_otel.k8s.hostport import HostPort, parse_endpoint, split_endpoint, split_hostport
from kubectl_linkerd_otel.k8s.ports import netloc_port
from kubectl_linkerd_otel.render.endpoint import check_endpoint


@pytest.mark.parametrize("text,expected", [
    ("host:4317", HostPort("host", "4317", False, False)),
    ("host", HostPort("host", None, False, False)),
    ("host:", HostPort("host", "", False, False)),
    ("[::1]:4317", HostPort("::1", "4317", True, False)),
    ("[::1]", HostPort("::1", None, True, False)),
    ("[::1]:", HostPort("::1", "", True, False)),
    ("[::1", HostPort("::1", None, True, True)),                 # no closing bracket
    ("[::1]4317", HostPort("::1", None, True, True)),            # no colon after it
    ("::1", HostPort("::1", None, False, False)),                # a bare IPv6 address names no port
    ("fe80::1%eth0", HostPort("fe80::1%eth0", None, False, False)),
    ("${env:HOST}:4317", HostPort("${env:HOST}", "4317", False, False)),   # the last colon, as Go's
    ("host:1:2", HostPort("host:1", "2", False, False)),
])
def test_split_hostport(text, expected):
    assert split_hostport(text) == expected


def test_parse_endpoint_drops_scheme_userinfo_and_path():
    parts = parse_endpoint(" HTTPS://user:pw@[2001:db8::1]:4318/v1/metrics ")
    assert (parts.scheme, parts.host, parts.port, parts.bracketed) == ("https", "2001:db8::1", "4318", True)
    assert parts.rest == "user:pw@[2001:db8::1]:4318/v1/metrics" and parts.hostport == "[2001:db8::1]:4318"
    assert split_endpoint("otel.example.com:4317") == ("", "otel.example.com", "4317")
    assert netloc_port("user@[::1]:6443") == "6443" and netloc_port("host") is None


@pytest.mark.parametrize("endpoint,protocol,dialled", [
    ("[::1]:4317", "grpc", ("::1", 4317)),
    ("::1", "grpc", ("::1", 443)),                    # grpc-go: a bare IP address, the default port
    ("otel.example.com", "grpc", ("otel.example.com", 443)),
    ("http://otel.example.com/v1", "http", ("otel.example.com", 80)),
    ("https://[::1]/v1", "http", ("::1", 443)),
    ("${env:BACKEND}:4317", "grpc", ("${env:BACKEND}", 4317)),
])
def test_the_collector_side_reads_ipv6_and_bare_hosts(endpoint, protocol, dialled):
    assert endpoint_hostport(endpoint, protocol) == dialled


def test_the_collector_side_reads_addresses_with_an_unresolved_host():
    assert parse_hostport("${env:MY_POD_IP}:8888", 8888) == ("${env:MY_POD_IP}", 8888)
    assert parse_hostport("[::]:9090", 9090) == ("::", 9090)
    assert parse_hostport("0.0.0.0", 9090) == ("0.0.0.0", 9090)
    assert parse_hostport("localhost:http", 9090) == ("localhost", None)


@pytest.mark.parametrize("endpoint,protocol", [
    ("[::1]:4317", "grpc"), ("[fe80::1%eth0]:4317", "grpc"), ("otel.example.com", "grpc"),
    ("https://[::1]:4318/v1", "http"), ("${env:HOST}:4317", "grpc"),
])
def test_install_accepts_bracketed_ipv6_and_bare_hosts(endpoint, protocol):
    check_endpoint(endpoint, protocol)


@pytest.mark.parametrize("endpoint,message", [
    ("::1", "is not a host name or IP address"),        # a bare IPv6 address: install wants [addr]:port
    ("[::1", "a bad IPv6 address"),
    ("[::1]4317", "a bad IPv6 address"),
    ("[otel]:4317", "a bad IPv6 address"),
    ("[::1]:", "the port must be a number from 1 to 65535"),
    ("otel.example.com:99999", "the port must be a number from 1 to 65535"),
    (":4317", "names no host"),
])
def test_install_refuses(endpoint, message):
    with pytest.raises(UsageError) as info:
        check_endpoint(endpoint, "grpc")
    assert message in str(info.value)


def test_install_reads_the_port_the_way_it_checks_the_endpoint():
    """InstallOptions checks the endpoint (render/endpoint.py) and its port (render/options.py) with the
    one parser: a `${env:HOST}:4317` accepted by the first is not refused by the second any more (with
    two parsers it was, as 'the port must be a number from 1 to 65535')."""
    from kubectl_linkerd_otel.render.options import InstallOptions

    for endpoint in ("${env:HOST}:4317", "${HOST}:4317", "[::1]:4317"):
        InstallOptions(exporter_endpoint=endpoint).validate()
    with pytest.raises(UsageError):
        InstallOptions(exporter_endpoint="::1").validate()
