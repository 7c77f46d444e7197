"""`stat --snapshot FILE` and `stat --demo`: the same rows as live `stat`, from the two reads of every
meshed proxy a snapshot holds (snapshot/stat_view.py). No cluster is contacted."""
from __future__ import annotations

from typing import Optional

import click
from click.core import ParameterSource

from ..errors import UsageError

LIVE_ONLY = {"watch": "--watch", "interval": "--interval", "concurrency": "--concurrency"}


def stat_offline(ctx: click.Context, path: Optional[str], demo: bool, kind: str, short: str, name: Optional[str],
                 namespace: Optional[str], outbound: bool, output: str, *, all_namespaces: bool,
                 namespace_given: bool) -> None:
    from ..cluster.stat import Selection
    from ..snapshot.stat_view import pods_in, proxy_reads
    from ..stats.golden import proxies_to_read, summarize_texts
    from .snapshots import DEMO, load, print_header

    for param, flag in LIVE_ONLY.items():
        if ctx.get_parameter_source(param) == ParameterSource.COMMANDLINE:
            raise UsageError(f"{flag} reads the cluster: a snapshot holds the two reads it was taken with "
                             f"(their interval is `snapshot --metrics-interval`)")
    if demo and not namespace_given and kind != "namespace":
        namespace, all_namespaces = None, True     # the demo mesh spans namespaces: show them all
    snap, heading = load(path, demo, "stat")
    where = DEMO if demo else path
    texts, errors = proxy_reads(snap, where)
    pods = pods_in(snap, namespace, where)
    selected = {(ns, pod) for ns, pod, _ in proxies_to_read(pods, kind, name)}
    result = summarize_texts(pods, {key: value for key, value in texts.items() if key in selected}, errors,
                             kind=kind, name=name, outbound=outbound)
    print_header(heading, to_stderr=output == "json")
    from .environment import environment
    from .options import global_options
    from .stat import print_result

    print_result(result, output, all_namespaces=all_namespaces,
                 nothing=Selection(None, kind, name, namespace).describe(short),
                 color=environment(global_options(ctx).no_color).color)
