"""`targets`: which pods each scrape job of the collector scrapes, and for every meshed pod it does not,
the reason in words (the rule that dropped it and on what value).

Offline with `--config FILE --pods FILE`, `--snapshot FILE` or `--demo` (no kubeconfig needed); otherwise the collector's ConfigMap
and the pods are read from the cluster, and when the collector runs its receiver's API server, its own
`/api/v1/targets` (every collector pod, through pods/proxy) adds health, last error and last scrape.

Exit codes: 0 every meshed pod is scraped and no target is down; 1 a meshed pod is not scraped (pods
that completed do not count) or a target is down; 2 the command could not run, or the config is one
the collector would refuse (then it scrapes nothing at all).
"""
from __future__ import annotations

import sys
from typing import Optional, Tuple

import click

from ..errors import UsageError
from ..k8s.limits import CONFIG_FILE, INPUT_FILE, in_help
from .environment import environment
from .options import global_options, kube_flags, output_option, snapshot_options


@click.command("targets")
@click.option("--config", "config_file", metavar="FILE", type=click.Path(allow_dash=True),
              help="A collector config file, or a ConfigMap YAML holding one (default: read it from the cluster; "
                   f"{in_help(CONFIG_FILE)}).")
@click.option("--pods", "pods_file", metavar="FILE", type=click.Path(allow_dash=True),
              help="Pods as `kubectl get pods -A -o json` prints them (default: list them in the cluster; "
                   f"{in_help(INPUT_FILE)}).")
@click.option("--all", "show_all", is_flag=True, help="Also list the dropped targets and why.")
@click.option("--job", "jobs", multiple=True, metavar="NAME", help="Only this scrape job (repeatable).")
@snapshot_options()
@output_option("table", "wide", "json", default="table")
@kube_flags
def command(config_file: Optional[str], pods_file: Optional[str], show_all: bool, jobs: Tuple[str, ...],
            snapshot_file: Optional[str], demo: bool, output: str) -> None:
    """Which pods the collector scrapes, and why the others are not."""
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..report import targets as report
    from ..scrape.plan import exit_code, plan_jobs, targets_result

    ctx = click.get_current_context()
    opts = global_options(ctx)
    output = output.lower()
    if config_file == "-" and pods_file == "-":
        raise UsageError("--config and --pods cannot both read stdin (-): save one of them to a file")
    if snapshot_file or demo:
        if config_file or pods_file:
            raise UsageError("--config and --pods cannot be used with --snapshot or --demo: the snapshot "
                             "holds both")
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..source.saved import Saved
        from .snapshots import print_header

        source = Saved(snapshot_file, demo, "targets", opts.namespace if opts.namespace_given else None)
        print_header(source.heading, to_stderr=output == "json")
    elif config_file or pods_file:
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..source.files import Files
        from .progress import terminal_display

        source = Files(config_file, pods_file, rest=None if config_file and pods_file else opts.cluster(),
                       display=terminal_display)
    else:
        source = opts.cluster()

    collector = source.collector(opts.namespace)
    plan = plan_jobs(collector.config, collector.env, collector.image, jobs)
    pods = source.pods(keep_whole=collector.own_namespace)
    sim = targets_result(plan, pods, source.scraped(collector), own_namespace=collector.own_namespace,
                         keep_dropped=show_all or output == "json", operator_state=collector.operator_state)

    code = exit_code(sim, jobs)
    if output == "json":
        # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
        from .jsonout import write_json

        # written as it is encoded, each target on a few lines (the C encoder; see jsonout.py)
        write_json(report.to_json(sim, jobs=list(jobs), exit_code=code, lazy=True), _Echo())
    else:
        text = report.render_human(sim, show_all=show_all, wide=output == "wide", jobs=list(jobs),
                                   color=environment(opts.no_color).color)
        click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"), nl=False)
    if code:
        # not ctx.exit(1): cli.main runs click with standalone_mode=False
        sys.exit(code)


class _Echo:
    """A text stream over click.echo. A lone surrogate (a `\\ud800` escape in the input) cannot be
    written as UTF-8: it is written escaped, `\\ud800`, which inside a JSON string is the same text."""

    @staticmethod
    def write(text: str) -> None:
        click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"), nl=False)
