"""`stat`: Linkerd's golden metrics per workload (success rate, RPS, latency percentiles, TCP
connections) read from the proxies themselves: no linkerd-viz, no Prometheus.

Each selected meshed pod's proxy `/metrics` is read twice through the API server's pods/proxy,
`--interval` apart; the rates are the difference (stats/golden.py). `--watch` keeps reading, one pass
per interval, and redraws the table.
"""
from __future__ import annotations

import json
import time
from typing import Optional, Tuple

import click
from click.core import ParameterSource

from ..errors import UsageError
from .environment import environment
from .options import duration_seconds, global_options, kube_flags, output_option, snapshot_options

DEFAULT_NAMESPACE = "default"
LIVE_ONLY = {"watch": "--watch", "interval": "--interval", "concurrency": "--concurrency"}


def parse_resource(resource: Optional[str], name: Optional[str]) -> Tuple[str, str, Optional[str]]:
    """(kind, short, name) from `deploy web`, `deploy/web` or `deploy` (viz's resource forms)."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..stats.golden import KINDS

    resource = resource or "deploy"
    if "/" in resource:
        if name:
            raise UsageError(f"give either {resource} or a name, not both")
        resource, name = resource.split("/", 1)
    found = KINDS.get(resource.lower())
    if found is None:
        raise UsageError(f"unknown resource type {resource!r}: use deploy, sts, ds, ns or pod")
    return found[0], found[1], name or None


def complete_resource(_ctx, _param, incomplete: str):
    """The resource types: the short names viz prints, or the long ones when only they match."""
    # lazy: completion machinery, loaded only when completing (start-up time)
    from click.shell_completion import CompletionItem

    from ..stats.golden import KINDS

    short = {"deploy": "Deployments", "sts": "StatefulSets", "ds": "DaemonSets", "ns": "Namespaces", "pod": "Pods"}
    found = [CompletionItem(n, help=h) for n, h in short.items() if n.startswith(incomplete)]
    return found or [CompletionItem(n) for n in KINDS if n.startswith(incomplete)]


@click.command("stat")
@click.argument("resource", required=False, metavar="[deploy|sts|ds|ns|pod]", shell_complete=complete_resource)
@click.argument("name", required=False, metavar="[NAME]")
@click.option("-A", "--all-namespaces", is_flag=True, help="Workloads of every namespace.")
@click.option("--outbound", is_flag=True,
              help="The client side: what the selected workloads send, one row per destination.")
@click.option("--interval", default="10s", show_default=True, metavar="DURATION",
              help="Time between the two reads of each proxy (the window of the rates).")
@click.option("-w", "--watch", is_flag=True, help="Keep reading and redraw the table every interval, until Ctrl-C.")
@click.option("--concurrency", default=20, show_default=True, type=click.IntRange(1, 500),
              help="Proxies read at the same time.")
@snapshot_options(what="the proxies' metrics saved in a snapshot")
@output_option("table", "wide", "json", default="table")
@kube_flags
def command(resource: Optional[str], name: Optional[str], all_namespaces: bool, outbound: bool,
            interval: str, watch: bool, concurrency: int, snapshot_file: Optional[str], demo: bool,
            output: str) -> None:
    """Success rate, RPS, latency and TCP connections per workload, read from the Linkerd proxies.

    \b
    Like `linkerd viz stat`, without linkerd-viz or Prometheus: each meshed pod's proxy /metrics is
    read twice through the API server (pods/proxy), --interval apart. Here -n is the namespace of the
    workloads (default: default). Inbound traffic by default (the proxy's own admin port left out);
    --outbound shows what the workloads send, per destination. A pod that cannot be read (HTTP 403
    under a restrictive policy, no answer, no linkerd-admin port) is listed with the reason; its
    traffic is not in the numbers. --request-timeout bounds each read (default 5s).

    \b
    Offline: --snapshot FILE shows the two reads a snapshot took of every meshed proxy
    (`snapshot --metrics-interval` apart); --demo shows the demo mesh (every namespace unless -n).

    \b
    Examples:
      kubectl linkerd-otel stat deploy -n emojivoto
      kubectl linkerd-otel stat deploy/web -n emojivoto --outbound
      kubectl linkerd-otel stat ns -o json
      kubectl linkerd-otel stat pod -A --watch
      kubectl linkerd-otel stat deploy -A --snapshot cluster.snapshot.gz
    """
    ctx = click.get_current_context()
    opts = global_options(ctx)
    output = output.lower()
    kind, short, name = parse_resource(resource, name)
    window = duration_seconds(interval, flag="--interval")
    if not window:
        raise UsageError("--interval must be longer than 0s: the rates are the change between two reads")
    if watch and output == "json":
        raise UsageError("--watch draws a table: use -o table or -o wide")
    if all_namespaces and opts.namespace_given:
        raise UsageError("-A and -n cannot be used together")
    namespace: Optional[str] = None if all_namespaces or kind == "namespace" else (
        opts.namespace if opts.namespace_given else DEFAULT_NAMESPACE)
    if kind == "namespace" and not name and opts.namespace_given:
        name = opts.namespace
    if kind == "namespace" and name:
        namespace = name
    if snapshot_file or demo:
        _offline(ctx, snapshot_file, demo, kind, short, name, namespace, outbound, output,
                 all_namespaces=all_namespaces, namespace_given=opts.namespace_given)
        return
    cluster = opts.cluster()
    selection = cluster.selection(kind, name, namespace)
    show_namespace = all_namespaces
    if watch:
        _watch(cluster, selection, kind, short, window, concurrency, outbound,
               all_namespaces=show_namespace, wide=output == "wide", color=environment(opts.no_color).color)
        return
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..stats.golden import summarize
    from .progress import Progress

    env = environment(opts.no_color)
    where = f"in namespace {namespace}" if namespace else "in every namespace"
    with Progress(env.stderr_isatty, quiet_off_tty=True, color=not env.no_color) as progress:
        progress.update(f"finding the meshed pods {where} ({{elapsed}})")

        def announce(count: int) -> None:
            progress.update(f"reading {count} prox{'y' if count == 1 else 'ies'} twice, {window:g}s apart "
                            f"({{elapsed}})")

        pods, readings, errors = cluster.read_twice(selection, window, concurrency, announce=announce)
    result = summarize(pods, readings, errors, kind=kind, name=name, outbound=outbound)
    print_result(result, output, all_namespaces=show_namespace, nothing=selection.describe(short), color=env.color)


def _offline(ctx: click.Context, path: Optional[str], demo: bool, kind: str, short: str, name: Optional[str],
             namespace: Optional[str], outbound: bool, output: str, *, all_namespaces: bool,
             namespace_given: bool) -> None:
    """`stat --snapshot FILE` and `stat --demo`: the same rows as live, from the two reads of every meshed
    proxy a snapshot holds (source/saved.py). No cluster is contacted."""
    # lazy: the Source and the layers below load when the command runs (start-up time of --help)
    from ..report.stat import nothing_found
    from ..source.saved import Saved
    from ..stats.golden import summarize
    from .snapshots import print_header

    for param, flag in LIVE_ONLY.items():
        if ctx.get_parameter_source(param) == ParameterSource.COMMANDLINE:
            raise UsageError(f"{flag} reads the cluster: a snapshot holds the two reads it was taken with "
                             f"(their interval is `snapshot --metrics-interval`)")
    if demo and not namespace_given and kind != "namespace":
        namespace, all_namespaces = None, True     # the demo mesh spans namespaces: show them all
    saved = Saved(path, demo, "stat")
    pods, readings, errors = saved.proxy_reads(namespace, kind, name)
    result = summarize(pods, readings, errors, kind=kind, name=name, outbound=outbound)
    print_header(saved.heading, to_stderr=output == "json")
    print_result(result, output, all_namespaces=all_namespaces, nothing=nothing_found(short, name, namespace),
                 color=environment(global_options(ctx).no_color).color)


def print_result(result, output: str, *, all_namespaces: bool, nothing: str, color: bool = False) -> None:
    """The rows as JSON or as the table; `nothing` says what was looked at when no meshed pod was found;
    `color`: the table's health colours (on a terminal, unless turned off)."""
    if output == "json":
        # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
        from ..report.stat import to_json

        click.echo(json.dumps(to_json(result), indent=2, ensure_ascii=False, allow_nan=False))
        return
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..report.stat import render_human

    text = render_human(result, all_namespaces=all_namespaces, wide=output == "wide", color=color)
    if not text:
        click.echo(f"No meshed pods: {nothing}.", err=True)
        return
    click.echo(text, nl=False)


def _watch(cluster, selection, kind: str, short: str, window: float, concurrency: int, outbound: bool, *,
           all_namespaces: bool, wide: bool, color: bool) -> None:
    # lazy: rich costs start-up time and only the live table (--watch) draws with it
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from ..report.stat import render_human
    from ..stats.golden import summarize

    console = Console(no_color=not color)
    try:
        with Live(Text("Reading the proxies ..."), console=console, auto_refresh=False,
                  transient=False) as live:
            for read, parts in cluster.watch(selection, window, concurrency):
                if parts is None:
                    live.update(Text(f"Read {read} prox"
                                     f"{'y' if read == 1 else 'ies'}; "
                                     f"the first numbers in {window:g}s ... (Ctrl-C to stop)"), refresh=True)
                else:
                    result = summarize(*parts, kind=kind, name=selection.name, outbound=outbound)
                    text = render_human(result, all_namespaces=all_namespaces, wide=wide, color=color) or \
                        f"No meshed pods: {selection.describe(short)}.\n"
                    stamp = time.strftime("%H:%M:%S")
                    live.update(Text.from_ansi(f"{text}\nEvery {window:g}s, last at {stamp} (Ctrl-C to stop)"),
                                refresh=True)
    except KeyboardInterrupt:
        return
