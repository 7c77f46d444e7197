"""Endpoints and URLs as written, read one way everywhere (pure): the scheme, the user[:password]@ in
front of the host, the host and the port.

What the collector dials (collector/endpoints.py), what install accepts (render/endpoint.py), the port of
a URL (k8s/ports.netloc_port) and the credentials hidden in one (k8s/credentials.py, k8s/urls.py) all
read them here. The host and the port are split as Go's net.SplitHostPort does: at the last colon, an
IPv6 address in brackets (`[::1]:4317`). An address of more than one colon without brackets (`::1`,
`fe80::1%eth0`) is an IPv6 address naming no port, as grpc-go's resolver reads a target that parses as
an IP address (internal/resolver/dns/dns_resolver.go, parseTarget). Everything else with colons in the
host is split at the last one, so that a `${env:HOST}:4317` of a collector config names port 4317.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional, Tuple

SCHEME_PATTERN = r"[A-Za-z][A-Za-z0-9+.-]*"      # RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
SCHEME = re.compile(rf"^({SCHEME_PATTERN})://")
# user[:password]@ in front of an endpoint's host, with or without a scheme (gRPC endpoints have none)
USERINFO = re.compile(rf"^(?P<scheme>{SCHEME_PATTERN}://)?(?P<userinfo>[^/@?#\s]*)@")
# the text of an IPv6 address, with an optional zone (`fe80::1%eth0`)
IPV6_TEXT = re.compile(r"^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$")


class HostPort(NamedTuple):
    host: str
    port: Optional[str]     # as written after the host's colon ("" for `host:`), None when it names none
    bracketed: bool         # written `[addr]`
    malformed: bool         # a `[` without its `]`, or something else than `:port` after the `]`


class Endpoint(NamedTuple):
    scheme: str             # lower case, "" when it names none
    rest: str               # what follows `scheme://` (all of it when there is no scheme)
    hostport: str           # the authority without any user[:password]@
    host: str
    port: Optional[str]
    bracketed: bool
    malformed: bool


def split_hostport(hostport: str) -> HostPort:
    """Host and port of an authority without user[:password]@ (`host:4317`, `[::1]:4317`, `::1`)."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return HostPort(hostport[1:], None, True, True)
        host, after = hostport[1:end], hostport[end + 1:]
        if after.startswith(":"):
            return HostPort(host, after[1:], True, False)
        return HostPort(host, None, True, bool(after))
    if hostport.count(":") > 1 and IPV6_TEXT.match(hostport):
        return HostPort(hostport, None, False, False)      # a bare IPv6 address
    host, sep, port = hostport.rpartition(":")
    return HostPort(host, port, False, False) if sep else HostPort(hostport, None, False, False)


def parse_endpoint(endpoint: object) -> Endpoint:
    """The parts of `host:4317`, `https://user@host:4318/v1`, `[::1]:4317` or a bare IPv6 address."""
    text = str(endpoint).strip()
    match = SCHEME.match(text)
    scheme = match.group(1).lower() if match else ""
    rest = text[match.end():] if match else text
    hostport = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return Endpoint(scheme, rest, hostport, *split_hostport(hostport))


def split_endpoint(endpoint: object) -> Tuple[str, str, Optional[str]]:
    """(scheme or "", host, the port as written or None); any user[:password]@ is dropped."""
    parts = parse_endpoint(endpoint)
    return parts.scheme, parts.host, parts.port
