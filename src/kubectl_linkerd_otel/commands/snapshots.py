"""Snapshot files for the commands: load one (`--snapshot FILE`, `--demo`) with the line that heads the
report, and save one (`snapshot -f FILE`, `check --save-snapshot FILE`). The format is snapshot/fileformat.py;
the bytes go through inputs.py."""
from __future__ import annotations

import time
from typing import Optional, Tuple

import click

from ..errors import UsageError
from ..naming import DEFAULT_NAMESPACE

DEMO = "(demo)"
NO_REDACT_WARNING = ("Warning: --no-redact: the snapshot keeps credentials (Secret data, headers, "
                     "passwords, tokens) in clear; do not share it")


def load(path: Optional[str], demo: bool, reader: str, namespace: Optional[str] = None):
    """(Snapshot, header line) from `--snapshot FILE` or the shipped demo. `namespace`: the collector's
    namespace the user named (-n), which a snapshot fixed when it was taken: another one is an error."""
    from ..snapshot.fileformat import FIX, decode, header
    from .inputs import demo_snapshot_bytes, read_bytes

    if demo and path:
        raise UsageError("--demo and --snapshot cannot be used together: pick one")
    data = demo_snapshot_bytes() if demo else read_bytes(path, what="snapshot", fix=FIX)
    where = DEMO if demo else path
    snap, manifest = decode(data, where, reader)
    if namespace is not None and namespace != snap.collector_namespace:
        flag = "--demo" if demo else f"--snapshot {path}"
        raise UsageError(f"-n {namespace} does not apply to {flag}: it holds the collector of namespace "
                         f"'{snap.collector_namespace}' (for another one, take a snapshot: "
                         f"`kubectl linkerd-otel snapshot -n {namespace} -f FILE`)")
    return snap, header(manifest, where)


def print_header(line: str, to_stderr: bool) -> None:
    """The snapshot line before the report (a blank line between); on stderr when stdout is JSON (others
    parse it). The manifest's strings (context, versions) come from the file: `printable` keeps an escape
    sequence or a newline in them from driving the terminal or forging a line."""
    from ..scrape.text import printable

    line = printable(line)
    click.echo(line if to_stderr else line + "\n", err=to_stderr)


def save(path: str, snap, opts, *, gather_seconds: float = 0.0, redact: bool = True,
         source: str = "cluster") -> Tuple[int, int]:
    """Write `snap` to `path`; (bytes written, reads that failed)."""
    from .. import __version__
    from ..snapshot.fileformat import encode, manifest_for
    from .inputs import write_bytes

    kube = getattr(opts, "_kube", None)     # built by the gather; never built here just for its name
    context = getattr(kube, "context", "") if kube is not None else ""
    manifest = manifest_for(snap, plugin_version=__version__, context=context, gather_seconds=gather_seconds,
                            redacted=redact, source=source)
    if not redact:
        click.echo(NO_REDACT_WARNING, err=True)
    data = encode(snap, manifest)
    write_bytes(path, data, what="snapshot")
    return len(data), len(manifest.unreadable)


def gather_live(opts, extension_mode: bool, linkerd_namespace: str, interval: float, probe: bool,
                since: Optional[float], query=None, proxy_reads=None, request_deadline=None):
    """The live snapshot; `query` (cluster/query.py settings): also ask the backend whether metrics arrive;
    `proxy_reads` (cluster/proxy_metrics.ProxyReads): also read every meshed proxy twice, for `stat`;
    `request_deadline` (monotonic time, why): every request of the run ends by then (`check --wait`)."""
    from ..cluster.gather import gather
    from ..errors import KubeconfigError
    from ..snapshot import Snapshot

    if extension_mode or not opts.namespace_given:
        source = "default"
        namespace = opts.namespace if not extension_mode else DEFAULT_NAMESPACE
    else:
        source, namespace = "flag", opts.namespace
    try:
        kube = opts.kube()
    except KubeconfigError as exc:
        return Snapshot(collector_namespace=namespace, client_error=str(exc),
                        linkerd_namespace_hint=linkerd_namespace, taken_at=time.time())
    if request_deadline is not None:
        kube.deadline, kube.deadline_reason = request_deadline
    snap = gather(kube, namespace=namespace, namespace_source=source, linkerd_namespace=linkerd_namespace,
                  metrics_interval=interval, probe_exporter=probe,
                  log_since_seconds=int(since) if since else None, proxy_reads=proxy_reads)
    if query is not None and snap.version is not None:
        from ..cluster.query import query_backend

        snap.backend = query_backend(kube, snap, query)
    return snap
