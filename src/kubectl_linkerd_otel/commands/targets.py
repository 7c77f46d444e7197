"""`targets`: which pods each scrape job of the collector scrapes, and for every meshed pod it does not,
the reason in words (the rule that dropped it and on what value).

Offline with `--config FILE --pods FILE` (no kubeconfig needed); otherwise the collector's ConfigMap
and the pods are read from the cluster, and when the collector runs its receiver's API server, its own
`/api/v1/targets` (every collector pod, through pods/proxy) adds health, last error and last scrape.

Exit codes: 0 every meshed pod is scraped and no target is down; 1 a meshed pod is not scraped (pods
that completed do not count) or a target is down; 2 the command could not run.
"""
from __future__ import annotations

import json
import sys
from typing import Dict, List, Optional, Tuple

import click

from ..errors import UsageError
from ..options import global_options, kube_flags, output_option


@click.command("targets")
@click.option("--config", "config_file", metavar="FILE",
              help="A collector config file, or a ConfigMap YAML holding one (default: read it from the cluster).")
@click.option("--pods", "pods_file", metavar="FILE",
              help="Pods as `kubectl get pods -A -o json` prints them (default: list them in the cluster).")
@click.option("--all", "show_all", is_flag=True, help="Also list the dropped targets and why.")
@click.option("--job", "jobs", multiple=True, metavar="NAME", help="Only this scrape job (repeatable).")
@output_option("table", "wide", "json", default="table")
@kube_flags
def command(config_file: Optional[str], pods_file: Optional[str], show_all: bool, jobs: Tuple[str, ...],
            output: str) -> None:
    """Which pods the collector scrapes, and why the others are not."""
    from ..report import targets as report
    from ..scrape.config import ScrapeConfigError, scrape_jobs
    from ..scrape.targets import merge_actual, simulate

    ctx = click.get_current_context()
    opts = global_options(ctx)
    output = output.lower()
    notes: List[str] = []
    location = None
    kube = None
    if config_file == "-" and pods_file == "-":
        raise UsageError("--config and --pods cannot both read stdin (-): save one of them to a file")
    if not (config_file and pods_file):
        kube = opts.kube()

    if config_file:
        config = load_config_file(config_file)
    else:
        location = _locate(kube, opts.namespace)
        config = _parse_config_text(location.config_text or "", f"configmap/{location.configmap_name}")

    env = None
    if location is not None and location.workload is not None:
        from ..collector.locate import static_env
        env = static_env(location.workload)
    try:
        job_list = scrape_jobs(config, env)
    except (ScrapeConfigError, ValueError) as exc:
        raise UsageError(f"the collector config cannot be simulated: {exc}") from None
    if not job_list:
        raise UsageError("the collector config has no prometheus receiver with scrape_configs")
    unknown = [j for j in jobs if j not in {job.name for job in job_list}]
    if unknown:
        raise UsageError(f"no scrape job named {unknown[0]!r} (jobs: {', '.join(j.name for j in job_list)})")

    pods = load_pods_file(pods_file) if pods_file else kube.list("pods")
    sim = simulate(job_list, pods, own_namespace=opts.namespace,
                   keep_dropped=show_all or output == "json")
    sim.notes.extend(notes)

    if kube is not None and location is not None:
        answers, problems = _actual_targets(kube, location, config, env)
        sim.notes.extend(problems)
        if answers:
            merge_actual(sim, answers)

    code = exit_code(sim, jobs)
    if output == "json":
        click.echo(json.dumps(report.to_json(sim, jobs=list(jobs), exit_code=code), indent=2,
                              ensure_ascii=False))
    else:
        click.echo(report.render_human(sim, show_all=show_all, wide=output == "wide", jobs=list(jobs),
                                       color=opts.color and sys.stdout.isatty()), nl=False)
    if code:
        # not ctx.exit(1): cli.main runs click with standalone_mode=False
        sys.exit(code)


def exit_code(sim, jobs=()) -> int:
    results = [r for r in sim.jobs if not jobs or r.job.name in jobs]
    if any(t.health == "down" for r in results for t in r.active):
        return 1
    if any(r.proxy_job for r in results) or not jobs:
        if any(not u.completed for u in sim.meshed_unscraped):
            return 1
    return 0


# -- inputs ----------------------------------------------------------------------------------------
def _read(path: str) -> str:
    from ..inputs import read_text

    return read_text(path)


def _parse_config_text(text: str, where: str) -> dict:
    from ..collector.config import parse_config

    if not text.strip():
        raise UsageError(f"{where} holds no collector config")
    try:
        return parse_config(text)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}") from None


def load_config_file(path: str) -> dict:
    """A collector config file, or a ConfigMap (or a List holding one) whose data holds the config."""
    import yaml

    from ..scrape.config import ScrapeConfigError, config_text_from_document

    text = _read(path)
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path} is not valid YAML{where}") from None
    for doc in docs:
        try:
            inner = config_text_from_document(doc)
        except ScrapeConfigError as exc:
            raise UsageError(f"{path}: {exc}") from None
        if inner is not None:
            return _parse_config_text(inner, path)
    if docs and isinstance(docs[0], dict) and "receivers" in docs[0]:
        return docs[0]
    raise UsageError(f"{path} is neither a collector config (receivers:, service:) nor a ConfigMap holding one")


def load_pods_file(path: str) -> List[dict]:
    """Pods from `kubectl get pods -A -o json` (a List), a single Pod, or the YAML equivalents."""
    text = _read(path)
    try:
        doc = json.loads(text)
    except ValueError:
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            raise UsageError(f"{path} is neither JSON nor YAML; pass the output of "
                             f"`kubectl get pods -A -o json`") from None
    items = None
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        items = doc["items"]
    elif isinstance(doc, dict) and doc.get("kind") == "Pod":
        items = [doc]
    elif isinstance(doc, list):
        items = doc
    # an empty List is a cluster without pods; a List of other objects is the wrong file (a mixed
    # one, as `kubectl get all -o json` prints, is fine: its pods are used)
    if items is not None and all(isinstance(p, dict) for p in items):
        pods = [p for p in items if _looks_like_pod(p)]
        if pods or not items:
            return pods
    raise UsageError(f"{path} holds no pods; pass the output of `kubectl get pods -A -o json`")


def _looks_like_pod(obj) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") in (None, "Pod")
            and isinstance(obj.get("metadata"), dict))


# -- the cluster -----------------------------------------------------------------------------------
def _locate(kube, namespace: str):
    from ..collector.locate import locate

    found = locate(kube.list("deployments", namespace), kube.list("daemonsets", namespace),
                   kube.list("configmaps", namespace), kube.list("pods", namespace))
    if found is None or found.configmap is None:
        raise UsageError(f"no OpenTelemetry collector config found in namespace {namespace}",
                         hint="pass -n NAMESPACE, or --config FILE")
    return found


def _actual_targets(kube, location, config: dict, env=None) -> Tuple[Dict[str, dict], List[str]]:
    """Each running collector pod's /api/v1/targets?state=any, through the API server's pods/proxy."""
    from ..collector.facts import _split_hostport, binds_pod_ip
    from ..scrape.config import receivers
    from ..scrape.targets import active_targets

    notes: List[str] = []
    endpoints = [r.api_server for r in receivers(config, env) if r.api_server]
    if not endpoints:
        notes.append("the collector's prometheus receiver runs no API server, so health, last error and "
                     "last scrape are unknown (enable receivers.prometheus.api_server with endpoint "
                     "0.0.0.0:9090)")
        return {}, notes
    hostport = _split_hostport(endpoints[0], 9090)
    if not binds_pod_ip(hostport):
        notes.append(f"the receiver's API server listens on {hostport[0]} only: pods/proxy cannot "
                     f"reach it (use endpoint 0.0.0.0:{hostport[1]})")
        return {}, notes
    port = hostport[1]
    running = [p for p in location.pods if (p.get("status") or {}).get("phase") == "Running"]
    if not running:
        notes.append(f"no running collector pod of {location.describe()}: only the expectation is shown")
        return {}, notes
    answers: Dict[str, dict] = {}
    for pod in running:
        name = pod["metadata"]["name"]
        try:
            response = kube.proxy_get(location.namespace, name, port, "/api/v1/targets?state=any")
        except Exception as exc:  # a refusal names itself; one pod failing does not stop the others
            notes.append(f"cannot read the targets of collector pod {name}: {getattr(exc, 'message', exc)}")
            continue
        if response.status != 200:
            notes.append(f"collector pod {name} answered HTTP {response.status} on /api/v1/targets")
            continue
        try:
            doc = json.loads(response.text)
        except ValueError:
            notes.append(f"collector pod {name} did not answer JSON on /api/v1/targets")
            continue
        if active_targets(doc) is None:
            notes.append(f"collector pod {name} answered /api/v1/targets without a list of active "
                         f"targets: only the expectation is shown for it")
            continue
        answers[name] = doc
    return answers, notes
