"""`snapshot`: read everything `check`, `targets` and `stat` need from the cluster into one compressed file
(credentials redacted), to check offline or hand to someone: `check --snapshot FILE`,
`targets --snapshot FILE`, `stat --snapshot FILE`."""
from __future__ import annotations

import time

import click

from ..errors import KubeError
from .options import duration_seconds, global_options, kube_flags


@click.command("snapshot")
@kube_flags
@click.option("-f", "--filename", "path", required=True, metavar="FILE",
              help="Where to write the snapshot (gzip-compressed JSON).")
@click.option("--no-redact", is_flag=True, help="Keep credentials in the file (warns; do not share it).")
@click.option("--metrics-interval", default="3s", show_default=True, metavar="DURATION",
              help="Time between the two reads of the collector's self-metrics and of every meshed proxy's "
                   "/metrics (the window `stat --snapshot` shows).")
@click.option("--since", "log_since", default="1h", show_default=True, metavar="DURATION",
              help="How far back to read the collector's logs (at most 2000 lines per pod).")
@click.option("--probe-exporter", is_flag=True, help="Connect to an external exporter endpoint from here.")
@click.option("--no-stat", is_flag=True,
              help="Do not read the meshed proxies' /metrics (the file then holds no data for `stat`).")
def command(path: str, no_redact: bool, metrics_interval: str, log_since: str, probe_exporter: bool,
            no_stat: bool) -> None:
    """Save what check, targets and stat read from the cluster to FILE, credentials redacted.

    \b
    Then, anywhere, with no cluster:
      kubectl linkerd-otel check --snapshot FILE
      kubectl linkerd-otel targets --snapshot FILE
      kubectl linkerd-otel stat deploy -A --snapshot FILE

    \b
    For stat, every meshed running pod's proxy /metrics is read twice, --metrics-interval apart
    (20 at a time; --request-timeout bounds each read, default 5s); only the golden metrics' lines
    are kept.
    """
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..source.live import query_settings
    from .snapshots import gather_live, save

    opts = global_options(click.get_current_context())
    interval = duration_seconds(metrics_interval, flag="--metrics-interval") or 0.0
    since = duration_seconds(log_since, flag="--since")
    begin = time.monotonic()
    # the backend's answers too, where check finds the backend by itself (the in-cluster OpenObserve)
    snap = gather_live(opts, False, "", interval, probe_exporter, since,
                       query_settings(None, None, (), None, False, 10.0),
                       proxy_reads_interval=None if no_stat else interval)
    took = time.monotonic() - begin
    if snap.client_error:
        raise KubeError(snap.client_error)
    if "version" in snap.errors:    # nothing else answered either: a file of errors helps no one
        raise KubeError(f"cannot reach the cluster: {snap.errors['version']}")
    size, failed = save(path, snap, opts, gather_seconds=took, redact=not no_redact)
    failures = f"; {failed} read{'s' if failed != 1 else ''} failed (listed in its manifest)" if failed else ""
    click.echo(f"Wrote snapshot {path} ({size:,} bytes, {len(snap.pods)} pods, collector "
               f"{snap.collector_workload or 'not found'}{_proxies(snap)}){failures}"
               f"{'' if no_redact else '; credentials redacted'}", err=True)


def _proxies(snap) -> str:
    if snap.proxy_metrics is None:
        return ""
    read, unread = len(snap.proxy_metrics), len(snap.proxy_metrics_errors)
    return f", {read} prox{'y' if read == 1 else 'ies'} read twice" + (f" ({unread} not read)" if unread else "")
