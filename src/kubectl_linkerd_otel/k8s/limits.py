"""How much the plugin reads of anything that comes in, one home for every bound (docs/commands.md, Limits).

Each kind of input has a size limit far above what a real cluster or file needs; those a user could
legitimately need more of can be raised with an environment variable (bytes, or a quantity such as
`4Gi`). Past a limit the read stops and the error names the limit and the variable. Time is bounded by
`--request-timeout` for each whole request (connect, headers and body) and lists by a page count.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

from ..errors import UsageError

KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3


@dataclass(frozen=True)
class Limit:
    what: str                  # what it bounds, as errors name it
    default: int               # bytes
    env: Optional[str] = None  # the variable that raises it; None: fixed

    @property
    def bytes(self) -> int:
        """The limit in force: the environment variable's value, else the default."""
        if not self.env:
            return self.default
        raw = os.environ.get(self.env, "").strip()
        return parse_size(raw, self.env) if raw else self.default

    def hint(self) -> str:
        """What to do when a real input passes it."""
        if not self.env:
            return ""
        return f"if it is real, raise the limit with {self.env}=<size> (e.g. {show(self.bytes * 4)})"


# Answers: the limit holds for all the answers of a kind read at the same time (k8s/bounded.py).
API_ANSWER = Limit("the API server's answers read at once (objects, pages of lists, discovery, logs)", 64 * MiB,
                   "LINKERD_OTEL_MAX_API_ANSWER")
METRICS_ANSWER = Limit("/metrics pages and query API answers read at once (the proxies', the collector's, "
                       "the backend's)", 256 * MiB, "LINKERD_OTEL_MAX_METRICS_ANSWER")
TARGETS_ANSWER = Limit("the target lists of the collector or the Target Allocator read at once", 1 * GiB,
                       "LINKERD_OTEL_MAX_TARGETS_ANSWER")
INPUT_FILE = Limit("a pods file or a snapshot (also once decompressed)", 2 * GiB, "LINKERD_OTEL_MAX_INPUT_FILE")
CONFIG_FILE = Limit("a collector config or a --metrics list", 64 * MiB)
KUBECONFIG = Limit("a kubeconfig", 16 * MiB)     # past this, not a kubeconfig (the YAML reader would crawl)
CERT_FILE = Limit("a certificate or key file", 1 * MiB)

# A list is followed page by page (`continue`); an API server that never stops sending tokens is refused
# past this many objects' worth of pages (a cluster has at most 150,000 pods), on a token it already
# sent, or after this many pages in a row with no object in them.
MAX_LIST_OBJECTS = 2_000_000
MAX_EMPTY_PAGES = 20

# gzip: a snapshot expands about 25-60 times; past GZIP_CHECK_FROM decompressed bytes, an expansion
# beyond GZIP_MAX_RATIO is a gzip bomb (deflate reaches about 1,000 on one repeated byte).
GZIP_MAX_RATIO = 250
GZIP_CHECK_FROM = 32 * MiB

_SIZE = re.compile(r"(\d+)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?B?")
_UNITS = {None: 1, "Ki": KiB, "Mi": MiB, "Gi": GiB, "Ti": 1024 ** 4,
          "k": 1000, "K": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4}


def in_help(limit: Limit) -> str:
    """The limit as --help states it: `at most 2GiB, LINKERD_OTEL_MAX_INPUT_FILE raises it`."""
    return f"at most {show(limit.default)}" + (f", {limit.env} raises it" if limit.env else "")


def parse_size(text: str, name: str) -> int:
    match = _SIZE.fullmatch(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise UsageError(f"{name}={text!r} is not a size: give bytes or a quantity such as 512Mi or 4Gi")
    return int(match.group(1)) * _UNITS[match.group(2)]


def show(size: int) -> str:
    """A size as people write it: 128MiB, 2GiB, 512KiB."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
        if size >= unit:
            value = size / unit
            return f"{value:.0f}{name}" if value == int(value) or value >= 10 else f"{value:.1f}{name}"
    return f"{size} bytes"
