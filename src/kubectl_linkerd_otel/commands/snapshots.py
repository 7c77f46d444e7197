"""Snapshots in the commands: the live one `check` and `snapshot` take (source/live.py gathers it), the
line that heads a report read from a file, and saving one (`snapshot -f FILE`, `check --save-snapshot
FILE`; source/saved.py writes it)."""
from __future__ import annotations

from typing import Optional, Tuple

import click

from ..naming import DEFAULT_NAMESPACE

NO_REDACT_WARNING = ("Warning: --no-redact: the snapshot keeps credentials (Secret data, headers, "
                     "passwords, tokens) in clear; do not share it")


def print_header(line: str, to_stderr: bool) -> None:
    """The snapshot line before the report (a blank line between); on stderr when stdout is JSON (others
    parse it). The manifest's strings (context, versions) come from the file: `printable` keeps an escape
    sequence or a newline in them from driving the terminal or forging a line."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..scrape.text import printable

    line = printable(line)
    click.echo(line if to_stderr else line + "\n", err=to_stderr)


def save(path: str, snap, opts, *, gather_seconds: float = 0.0, redact: bool = True,
         source: str = "cluster") -> Tuple[int, int]:
    """Write `snap` to `path`; (bytes written, reads that failed). The context named in its manifest is
    the one this run read through (none when it read no cluster)."""
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..source.saved import save as write

    context = opts.cluster().context      # "" when no connection was built: never built just for its name
    if not redact:
        click.echo(NO_REDACT_WARNING, err=True)
    return write(path, snap, context=context, gather_seconds=gather_seconds, redact=redact, source=source)


def gather_live(opts, extension_mode: bool, linkerd_namespace: str, interval: float, probe: bool,
                since: Optional[float], query=None, proxy_reads_interval=None, request_deadline=None):
    """The live snapshot of the collector's namespace as the flags name it (Linkerd's `check` passes its
    own -n: then ours is the default); see source/live.py Cluster.snapshot for the rest."""
    if extension_mode or not opts.namespace_given:
        source = "default"
        namespace = opts.namespace if not extension_mode else DEFAULT_NAMESPACE
    else:
        source, namespace = "flag", opts.namespace
    return opts.cluster().snapshot(namespace=namespace, namespace_source=source,
                                   linkerd_namespace=linkerd_namespace, interval=interval, probe=probe,
                                   since=since, query=query, proxy_reads_interval=proxy_reads_interval,
                                   request_deadline=request_deadline)
