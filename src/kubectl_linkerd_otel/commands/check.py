"""`check`: diagnose the whole path, from the proxies to the backend, in the style of `linkerd check`.

Also the entry point `linkerd check` calls for extensions (`linkerd-otel check --output=json ...`):
every flag Linkerd passes is accepted in the `--flag=value` form, unknown flags are ignored.
"""
from __future__ import annotations

import time
from typing import Optional

import click

from ..errors import PluginError, UsageError
from .environment import environment
from .options import duration_seconds, global_options, kube_flags, output_option, parse_bool, snapshot_options
from .progress import Progress
from .snapshots import gather_live, save

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
@click.option("--probe-exporter", is_flag=True, help="Connect to an external exporter endpoint from here, and send an OTLP one (HTTP or "
                   "gRPC) an empty export with the collector's credentials (read from its Secret).")
@snapshot_options("Check")
@click.option("--save-snapshot", metavar="FILE", help="Also write what was gathered (credentials redacted) to FILE.")
@click.option("--no-redact", is_flag=True, help="Keep credentials in the saved snapshot (warns; do not share it).")
@click.option("--query-url", metavar="URL", default=None,
              help="The backend's Prometheus-compatible query API (the base before /api/v1/query): check that "
                   "every scraped workload's metrics arrive there. Default: the in-cluster OpenObserve of the "
                   "default install, when the collector exports to it; for another backend preset check "
                   "names its query URL, or says it has none (docs/backends.md).")
@click.option("--query-basic-auth-from-env", metavar="VAR", default=None,
              help="Basic auth for --query-url from the local environment variable VAR (USER:PASSWORD).")
@click.option("--query-header", multiple=True, metavar="NAME=VALUE",
              help="A header to send to --query-url (repeatable), e.g. X-Scope-OrgID=tenant.")
@click.option("--query-ca-file", metavar="PEM", default=None, help="CA certificate(s) to verify --query-url with.")
@click.option("--query-timeout", default="10s", show_default=True, metavar="DURATION",
              help="How long the backend may take to answer, in all.")
@click.option("--no-query", is_flag=True, help="Do not ask the backend whether the metrics arrive.")
@click.option("--linkerd-namespace", metavar="NS", default=None, help="Linkerd's namespace (set by `linkerd check`).")
@click.option("--proxy", metavar="BOOL", default=None, hidden=True)
@click.option("--api-addr", metavar="ADDR", default=None, hidden=True)
@click.option("--pre", metavar="BOOL", default=None, hidden=True)
def command(output: str, wait: str, namespace_filter, metrics_interval: str, log_since: str, probe_exporter: bool,
            snapshot_file: Optional[str], demo: bool, save_snapshot: Optional[str], no_redact: bool,
            query_url: Optional[str], query_basic_auth_from_env: Optional[str], query_header,
            query_ca_file: Optional[str], query_timeout: str, no_query: bool, linkerd_namespace: Optional[str],
            proxy: Optional[str], api_addr: Optional[str], pre: Optional[str]) -> None:
    """Diagnose whether Linkerd's metrics reach your backend, and why not."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..checks.framework import ERROR, CheckOptions, could_not_run, failed, retryable_failures, run_categories
    from ..checks.registry import CATEGORIES

    ctx = click.get_current_context()
    opts = global_options(ctx)
    output = output.lower()
    extension_mode = linkerd_namespace is not None or proxy is not None
    filters = list(namespace_filter)
    if ctx.args and not extension_mode:
        # Unknown flags are ignored only when Linkerd runs us (it always passes --linkerd-namespace and
        # --proxy, and newer releases may pass more); a person's typo is an error.
        raise UsageError(f"unknown arguments: {' '.join(ctx.args)} (see '{ctx.command_path} --help')")
    if extension_mode and opts.namespace_given:
        # Linkerd's --namespace is its data-plane filter, not our collector's namespace.
        filters.append(opts.namespace)
    # --api-addr (Linkerd's own control-plane API, "mostly for testing") means nothing to us: accepted, unused.
    if proxy is not None:
        parse_bool(proxy)
    wait_seconds = duration_seconds(wait, flag="--wait") or 0
    deadline = time.monotonic() + wait_seconds
    # --wait bounds the whole run, requests included (a server that never answers must not cost
    # --request-timeout after the wait is over); without it each request has its own timeout
    request_deadline = (deadline, f"--wait {wait}") if wait_seconds else None
    interval = duration_seconds(metrics_interval, flag="--metrics-interval") or 0.0
    since = duration_seconds(log_since, flag="--since")
    check_options = CheckOptions(namespace_filter=tuple(filters))
    env = environment(opts.no_color)
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..source.live import query_settings

    query = query_settings(query_url, query_basic_auth_from_env, query_header, query_ca_file, no_query,
                           duration_seconds(query_timeout, flag="--query-timeout") or 10.0)

    offline = bool(snapshot_file) or demo
    took = 0.0   # how long the last gather took (the saved snapshot's manifest says)

    def collect():
        nonlocal took
        begin = time.monotonic()
        gathered = gather_live(opts, extension_mode, linkerd_namespace or "", interval, probe_exporter, since,
                               query, request_deadline=request_deadline)
        took = time.monotonic() - begin
        return gathered

    def worth_retrying(snap, results) -> bool:
        # a failure that may pass by itself, or any failure while some read timed out or met a 5xx
        return retryable_failures(results) or (
            failed(results) and any((getattr(snap, "transient_errors", None) or {}).values()))

    if offline:
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..source.saved import Saved
        from .snapshots import print_header

        saved = Saved(snapshot_file, demo, "check",
                      opts.namespace if opts.namespace_given and not extension_mode else None)
        snap = saved.snapshot
        print_header(saved.heading, to_stderr=output == "json")
        results = run_categories(CATEGORIES, snap, check_options)
    else:
        live = opts.cluster()     # made here, not in the display's thread: one per run
        with Progress(env.stderr_isatty and output != "json", quiet_off_tty=True,
                      color=not env.no_color) as progress:
            bound = f" of --wait {wait}" if wait_seconds else ""

            def reading() -> str:
                # the server is named once the first read has built the client: a long wait is about it
                server = live.shown_server
                where = f" at {server}" if server is not None else ""
                return f"reading the cluster through the API server{where} ({{elapsed}}{bound})"

            progress.update(reading)
            snap = collect()
            results = run_categories(CATEGORIES, snap, check_options)
            while worth_retrying(snap, results) and time.monotonic() + RETRY_EVERY < deadline:
                failing = sum(1 for r in results if r.status == ERROR)
                progress.update(f"waiting for {failing} failing check{'s' if failing != 1 else ''} to pass "
                                f"({{elapsed}}{bound})")
                time.sleep(RETRY_EVERY)
                snap = collect()
                results = run_categories(CATEGORIES, snap, check_options)

    if output == "json":
        # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
        from ..report.check_json import render as render_json
        click.echo(render_json(results), nl=False)
    else:
        # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
        from ..report.check_human import render as render_human
        click.echo(render_human(results, short=output == "short", color=env.color), nl=False)
    if save_snapshot:
        # after the report: a bad path must not cost the user the results
        try:
            save(save_snapshot, snap, opts, gather_seconds=took,
                 redact=not no_redact, source="demo" if demo else "cluster")
        except PluginError as exc:
            exc.report_printed = True    # type: ignore[attr-defined]  # stdout holds the report: no 2nd document
            raise
    if could_not_run(results):
        ctx.exit(2)   # no client or no API: the report above says why, but nothing was checked
    if failed(results):
        ctx.exit(1)
