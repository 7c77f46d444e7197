"""TCP ports written as text, read one way everywhere (pure): ASCII digits only, 1 to 65535.

Python's `int()` and `str.isdigit()` take any Unicode digit (`４３１７`, `٤٣١٧`, superscripts), Go's
strconv and net packages only ASCII ones: a port the plugin would accept but the collector, kubectl or
an HTTP client would not must be refused where it comes in, never written into a config.
"""
from __future__ import annotations

from typing import Any, Optional

from .hostport import split_hostport

MAX_PORT = 65535
PORT_RULE = f"the port must be a number from 1 to {MAX_PORT}"     # what a refused port is told


def in_port_range(number: int) -> bool:
    """1 to 65535: a TCP port number (0 is no port)."""
    return 0 < number <= MAX_PORT


def ascii_digits(text: Any) -> bool:
    """Non-empty and only the ASCII digits 0-9."""
    return isinstance(text, str) and text.isascii() and text.isdigit()


def parse_port(text: Any) -> Optional[int]:
    """A TCP port number from its text (`4317`), None when it is not one (empty, out of range, a sign,
    spaces, non-ASCII digits)."""
    if not ascii_digits(text):
        return None
    number = int(text)
    return number if in_port_range(number) else None


def netloc_port(netloc: str) -> Optional[str]:
    """The port as written in a URL's authority (`user@host:port`, `[::1]:port`), None when it names
    none."""
    return split_hostport(netloc.rsplit("@", 1)[-1]).port
