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
from .options import global_options, kube_flags, output_option

# find_problems codes that stop the collector from starting (it refuses the config): nothing is scraped
REFUSED = ("no-pipelines", "undefined-component", "incomplete-pipeline", "not-in-image", "name-too-new")


@click.command("targets")
@click.option("--config", "config_file", metavar="FILE", type=click.Path(allow_dash=True),
              help="A collector config file, or a ConfigMap YAML holding one (default: read it from the cluster; "
                   f"{in_help(CONFIG_FILE)}).")
@click.option("--pods", "pods_file", metavar="FILE", type=click.Path(allow_dash=True),
              help="Pods as `kubectl get pods -A -o json` prints them (default: list them in the cluster; "
                   f"{in_help(INPUT_FILE)}).")
@click.option("--all", "show_all", is_flag=True, help="Also list the dropped targets and why.")
@click.option("--job", "jobs", multiple=True, metavar="NAME", help="Only this scrape job (repeatable).")
@click.option("--snapshot", "snapshot_file", metavar="FILE",
              help="Read a saved snapshot (`kubectl linkerd-otel snapshot -f FILE`) instead of the cluster "
                   f"({in_help(INPUT_FILE)}).")
@click.option("--demo", is_flag=True, help="Read the demo snapshot shipped with the plugin (no cluster needed).")
@output_option("table", "wide", "json", default="table")
@kube_flags
def command(config_file: Optional[str], pods_file: Optional[str], show_all: bool, jobs: Tuple[str, ...],
            snapshot_file: Optional[str], demo: bool, output: str) -> None:
    """Which pods the collector scrapes, and why the others are not."""
    from ..cluster.collector import actual_targets, locate_collector
    from .inputs import load_config_file, load_pods_file, parse_config_text
    from ..report import targets as report
    from .environment import environment
    from ..scrape.config import ScrapeConfigError, receivers, unused_receivers
    from ..scrape.targets import merge_actual, simulate

    ctx = click.get_current_context()
    opts = global_options(ctx)
    output = output.lower()
    location = None
    operator_state: dict = {}
    kube = None
    if config_file == "-" and pods_file == "-":
        raise UsageError("--config and --pods cannot both read stdin (-): save one of them to a file")
    snap = None
    own_namespace = opts.namespace
    if snapshot_file or demo:
        if config_file or pods_file:
            raise UsageError("--config and --pods cannot be used with --snapshot or --demo: the snapshot "
                             "holds both")
        from ..snapshot.targets_view import collector_location
        from .snapshots import load, print_header

        snap, heading = load(snapshot_file, demo, "targets", opts.namespace if opts.namespace_given else None)
        print_header(heading, to_stderr=output == "json")
        location = collector_location(snap)
        own_namespace = snap.collector_namespace
    elif not (config_file and pods_file):
        kube = opts.kube()

    if config_file:
        config = load_config_file(config_file)
    elif snap is not None:
        config = parse_config_text(location.config_text or "", f"configmap/{location.configmap_name}")
    else:
        from ..cluster.operator import locate as locate_operator

        location, operator_state = locate_operator(kube, opts.namespace)
        if location is None:
            location = locate_collector(kube, opts.namespace)
        config = parse_config_text(location.config_text or "", f"configmap/{location.configmap_name}")

    env = None
    image = None
    if location is not None and location.workload is not None:
        from ..collector.locate import collector_container, static_env, template_spec
        env = static_env(location.workload)
        image = (collector_container(template_spec(location.workload)) or {}).get("image")
    try:
        used = receivers(config, env)
    except (ScrapeConfigError, ValueError) as exc:
        raise UsageError(f"the collector config cannot be simulated: {exc}") from None
    refuse_collector_config(config, image)
    job_list = [job for rec in used for job in rec.jobs]
    unused = unused_receivers(config)
    if not job_list:
        if unused:
            raise UsageError(f"no pipeline uses the prometheus receiver{'s' if len(unused) > 1 else ''} "
                             f"{', '.join(unused)}: the collector does not start "
                             f"{'them' if len(unused) > 1 else 'it'}, so nothing is scraped",
                             hint="add it to service.pipelines.metrics.receivers")
        raise UsageError("the collector config has no prometheus receiver with scrape_configs")
    unknown = [j for j in jobs if j not in {job.name for job in job_list}]
    if unknown:
        raise UsageError(f"no scrape job named {unknown[0]!r} (jobs: {', '.join(j.name for j in job_list)})")

    from ..cluster.pods import pod_trimmer
    from .slowread import list_with_progress

    pods = load_pods_file(pods_file, keep_whole=own_namespace) if pods_file else snap.pods if snap is not None else \
        list_with_progress(kube, "pods", transform=pod_trimmer(keep_whole=own_namespace))
    sim = simulate(job_list, pods, own_namespace=own_namespace,
                   keep_dropped=show_all or output == "json")
    for name in unused:
        sim.notes.append(f"receiver {name} is in no pipeline: the collector does not start it, so its jobs "
                         f"are left out")
    for rec in used:
        sim.notes.extend(rec.notes)

    if (kube is not None or snap is not None) and location is not None:
        if snap is not None:
            from ..snapshot.targets_view import receiver_answers

            answers, problems = receiver_answers(snap, location, config, env)
        else:
            answers, problems = actual_targets(kube, location, config, env)
        sim.notes.extend(problems)
        if answers:
            merge_actual(sim, answers)
        if operator_state:
            from ..scrape.allocation import merge_assignment

            merge_assignment(sim, operator_state.get("assignment") or {}, operator_state.get("errors") or {})

    code = exit_code(sim, jobs)
    if output == "json":
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


def refuse_collector_config(config: dict, image: Optional[str] = None) -> None:
    """A UsageError (exit 2) when the collector itself would refuse the config and not start."""
    from ..collector.config import find_problems
    from ..scrape.text import shown

    refused = [p for p in find_problems(config, image=image) if p.severity == "error" and p.code in REFUSED]
    if not refused:
        return
    first = refused[0]
    more = "".join(f"; {p.message}" for p in refused[1:3])
    if len(refused) > 3:
        more += f" (and {len(refused) - 3} more)"
    raise UsageError(shown(f"the collector would refuse this config and not start, so nothing is scraped: "
                           f"{first.message}{more}", 1000), hint=shown(first.hint, 300) or None)


def exit_code(sim, jobs=()) -> int:
    """1 when a chosen job has a target down or a meshed pod is not scraped (see
    Simulation.unscraped_for), else 0."""
    results = [r for r in sim.jobs if not jobs or r.job.name in jobs]
    if any(t.health == "down" for r in results for t in r.active):
        return 1
    if any(not u.completed for u in sim.unscraped_for(jobs)):
        return 1
    return 0

