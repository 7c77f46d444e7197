"""The exporter probe: a TCP (and TLS unless `tls.insecure`) connection from the workstation to an
exporter endpoint outside the cluster (`check --probe-exporter`)."""
from __future__ import annotations

from typing import Any

from ..collector.endpoints import endpoint_hostport


def dial(exporter: Any, timeout: float = 5.0) -> str:
    """"" when the connection (and TLS handshake) worked, else why not."""
    # lazy: socket and ssl cost ~12 ms at start-up; only check --probe-exporter dials the exporter
    import socket
    import ssl

    host, port = endpoint_hostport(exporter.endpoint, exporter.protocol)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if not exporter.insecure:
                context = ssl.create_default_context()
                with context.wrap_socket(sock, server_hostname=host):
                    pass
    except (OSError, ssl.SSLError) as exc:
        return f"cannot connect to {host}:{port}: {exc}"
    return ""
