"""`check`: diagnose the whole path, from the proxies to the backend, in the style of `linkerd check`.

Also the entry point `linkerd check` calls for extensions (`linkerd-otel check --output=json ...`):
every flag Linkerd passes is accepted in the `--flag=value` form, unknown flags are ignored.
"""
from __future__ import annotations

import time
from typing import Optional

import click

from ..naming import DEFAULT_NAMESPACE
from .environment import environment
from .inputs import read_text, write_text
from .options import global_options, kube_flags, output_option, parse_bool, parse_duration
from .progress import Progress

RETRY_EVERY = 5.0


@click.command("check", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@kube_flags
@output_option("table", "json", "short", default="table")
@click.option("--wait", "wait", metavar="DURATION", default="0",
              help="Retry failing checks every 5s for up to this long, e.g. 2m (default: no retry).")
@click.option("--namespace-filter", multiple=True, metavar="NS",
              help="Limit the data-plane checks to this namespace (repeatable).")
@click.option("--metrics-interval", default="3s", show_default=True, metavar="DURATION",
              help="Time between the two reads of the collector's self-metrics.")
@click.option("--since", "log_since", default="1h", show_default=True, metavar="DURATION",
              help="How far back to read the collector's logs (at most 2000 lines per pod).")
@click.option("--probe-exporter", is_flag=True, help="Connect to an external exporter endpoint from here.")
@click.option("--snapshot", "snapshot_file", metavar="FILE", help="Check a saved snapshot instead of the cluster.")
@click.option("--save-snapshot", metavar="FILE", help="Write what was gathered (secrets redacted) to FILE.")
@click.option("--linkerd-namespace", metavar="NS", default=None, help="Linkerd's namespace (set by `linkerd check`).")
@click.option("--proxy", metavar="BOOL", default=None, hidden=True)
@click.option("--api-addr", metavar="ADDR", default=None, hidden=True)
@click.option("--pre", metavar="BOOL", default=None, hidden=True)
def command(output: str, wait: str, namespace_filter, metrics_interval: str, log_since: str, probe_exporter: bool,
            snapshot_file: Optional[str], save_snapshot: Optional[str], linkerd_namespace: Optional[str],
            proxy: Optional[str], api_addr: Optional[str], pre: Optional[str]) -> None:
    """Diagnose whether Linkerd's metrics reach your backend, and why not."""
    from ..checks.framework import CheckOptions, could_not_run, failed, retryable_failures, run_categories
    from ..checks.registry import CATEGORIES

    ctx = click.get_current_context()
    opts = global_options(ctx)
    output = output.lower()
    extension_mode = linkerd_namespace is not None or proxy is not None
    filters = list(namespace_filter)
    if ctx.args and not extension_mode:
        # Unknown flags are ignored only when Linkerd runs us (it always passes --linkerd-namespace and
        # --proxy, and newer releases may pass more); a person's typo is an error.
        from ..errors import UsageError

        raise UsageError(f"unknown arguments: {' '.join(ctx.args)} (see '{ctx.command_path} --help')")
    if extension_mode and opts.namespace_given:
        # Linkerd's --namespace is its data-plane filter, not our collector's namespace.
        filters.append(opts.namespace)
    # --api-addr (Linkerd's own control-plane API, "mostly for testing") means nothing to us: accepted, unused.
    if proxy is not None:
        parse_bool(proxy)
    wait_seconds = parse_duration(wait, flag="--wait") or 0
    deadline = time.monotonic() + wait_seconds
    # --wait bounds the whole run, requests included (a server that never answers must not cost
    # --request-timeout after the wait is over); without it each request has its own timeout
    request_deadline = (deadline, f"--wait {wait}") if wait_seconds else None
    interval = parse_duration(metrics_interval, flag="--metrics-interval") or 0.0
    since = parse_duration(log_since, flag="--since")
    check_options = CheckOptions(namespace_filter=tuple(filters))
    env = environment(opts.no_color)

    def collect():
        if snapshot_file:
            return _load_snapshot(snapshot_file)
        return _gather(opts, extension_mode, linkerd_namespace or "", interval, probe_exporter, since,
                       request_deadline)

    snap = collect()
    results = run_categories(CATEGORIES, snap, check_options)
    def worth_retrying(snap, results) -> bool:
        # a failure that may pass by itself, or any failure while some read timed out or met a 5xx
        return retryable_failures(results) or (
            failed(results) and any((getattr(snap, "transient_errors", None) or {}).values()))

    with Progress(env.stderr_isatty and output != "json", quiet_off_tty=True) as progress:
        while worth_retrying(snap, results) and not snapshot_file and time.monotonic() + RETRY_EVERY < deadline:
            progress.update("waiting for checks to pass")
            time.sleep(RETRY_EVERY)
            snap = collect()
            results = run_categories(CATEGORIES, snap, check_options)

    if output == "json":
        from ..report.check_json import render as render_json
        click.echo(render_json(results), nl=False)
    else:
        from ..report.check_human import render as render_human
        click.echo(render_human(results, short=output == "short", color=env.color), nl=False)
    if save_snapshot:
        # after the report: a bad path must not cost the user the results
        write_text(save_snapshot, snap.dumps(), what="snapshot")
    if could_not_run(results):
        ctx.exit(2)   # no client or no API: the report above says why, but nothing was checked
    if failed(results):
        ctx.exit(1)


def _load_snapshot(path: str):
    from ..snapshot import Snapshot

    return Snapshot.loads(read_text(path, what="snapshot", fix="pass a file written by --save-snapshot"), path)


def _gather(opts, extension_mode: bool, linkerd_namespace: str, interval: float, probe: bool,
            since: Optional[float], request_deadline=None):
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
    return gather(kube, namespace=namespace, namespace_source=source, linkerd_namespace=linkerd_namespace,
                  metrics_interval=interval, probe_exporter=probe,
                  log_since_seconds=int(since) if since else None)
