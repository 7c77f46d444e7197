"""`dashboard`: what linkerd-viz showed, as ready-to-import dashboards of the user's own backend
(render/dashboards.py). No cluster is contacted."""
from __future__ import annotations

import json
import os
from typing import List, Optional

import click

from ..errors import UsageError
from .options import output_option

TARGET_HELP = "grafana (dashboard JSON for a Prometheus data source) or openobserve (its dashboard import JSON)."


@click.command("dashboard")
@click.option("--for", "target", required=True, type=click.Choice(["grafana", "openobserve"], case_sensitive=False),
              help=f"The backend the dashboards are for: {TARGET_HELP}")
@click.option("--dashboard", "which", default="all", show_default=True,
              type=click.Choice(["all", "overview", "workload", "pipeline"], case_sensitive=False),
              help="overview (per namespace: rate, success, latency), workload (one workload's inbound, outbound "
                   "and TCP) or pipeline (scraping and exporting); all renders the three.")
@click.option("--counter-names", type=click.Choice(["total", "trimmed"], case_sensitive=False), default="total",
              show_default=True,
              help="How the backend names the proxies' counters: total (response_total: Prometheus, Mimir, "
                   "Grafana Cloud) or trimmed (response: a backend keeping OTLP names where the collector "
                   "trims _total). `check --query-url` says which one your backend holds.")
@output_option("text", "json", default="text")
@click.option("--file", "path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the JSON to FILE (several dashboards: FILE's name with -overview, -workload, "
                   "-pipeline before its extension, one importable file each).")
@click.option("--apply", "apply_", is_flag=True,
              help="Upload the dashboards through the product's HTTP API instead of printing them (all or "
                   "nothing: a refusal puts back what this run saved).")
@click.option("--url", metavar="URL",
              help="With --apply: Grafana's base URL (https://grafana.example) or OpenObserve's organization "
                   "API (https://o2.example:5080/api/ORG).")
@click.option("--auth-from-env", "auth_env", metavar="VAR",
              help="With --apply: the environment variable holding the credentials (Grafana: a service "
                   "account token; OpenObserve: USER:PASSWORD). Never printed.")
def command(target: str, which: str, counter_names: str, output: str, path: Optional[str], apply_: bool,
            url: Optional[str], auth_env: Optional[str]) -> None:
    """Render ready-to-import dashboards of the mesh's golden metrics for Grafana or OpenObserve.

    \b
    The queries name metrics and labels as they arrive through the collector `install` renders (the
    labels namespace, pod, deployment/statefulset/...; direction, classification, status_code from the
    proxy) and compute what `stat` shows: request rate, success rate, p50/p95/p99 latency, TCP.
    Examples:
      kubectl linkerd-otel dashboard --for grafana                 # what each dashboard shows
      kubectl linkerd-otel dashboard --for grafana --file linkerd.json
      kubectl linkerd-otel dashboard --for openobserve --dashboard workload -o json
      GRAFANA_TOKEN=... kubectl linkerd-otel dashboard --for grafana --apply \\
          --url https://grafana.example --auth-from-env GRAFANA_TOKEN
    """
    # lazy: loaded when the command runs, not for --help or the other commands (start-up time)
    from ..render.dashboards import Names, outline, render, select

    target, which = target.lower(), which.lower()
    if not apply_ and (url or auth_env):
        raise UsageError("--url and --auth-from-env are for --apply: add --apply to upload, or leave them out")
    if apply_ and (path or output == "json"):
        raise UsageError("--apply uploads the dashboards: leave out --file and -o json (or drop --apply)")
    chosen = select(which, Names(trimmed_total=counter_names.lower() == "trimmed"))
    docs = [(d.name, render(target, d)) for d in chosen]
    if apply_:
        # lazy: the Source and the layers below load when the command runs (start-up time of --help)
        from ..cluster.dashboards import check_settings, upload

        base, authorization = check_settings(target, url, auth_env)
        for line in upload(target, base, authorization, docs):
            click.echo(line)
        return
    if path:
        _write(path, docs)
        return
    if output == "json":
        value = docs[0][1] if len(docs) == 1 else [doc for _, doc in docs]
        click.echo(json.dumps(value, indent=2, allow_nan=False))
        return
    for i, dashboard in enumerate(chosen):
        if i:
            click.echo("")
        for line in outline(dashboard, target):
            click.echo(line)
    where = "Grafana: Dashboards > New > Import" if target == "grafana" else "OpenObserve: Dashboards > Import"
    click.echo(f"\nTo import: rerun with -o json or --file FILE ({where}), or upload with --apply.")


def _write(path: str, docs: List) -> None:
    """Every file written whole (a temporary file renamed), or none when one cannot be."""
    if len(docs) == 1:
        targets = [(path, docs[0][1])]
    else:
        stem, ext = os.path.splitext(path)
        targets = [(f"{stem}-{name}{ext or '.json'}", doc) for name, doc in docs]
    texts = [(p, json.dumps(doc, indent=2, allow_nan=False) + "\n") for p, doc in targets]
    written: List[str] = []
    try:
        for p, text in texts:
            tmp = f"{p}.tmp-{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            written.append(tmp)
        for (p, _), tmp in zip(texts, written):
            os.replace(tmp, p)
    except OSError as exc:
        for tmp in written:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise UsageError(f"cannot write {exc.filename or path}: {exc.strerror or exc}; choose a writable --file")
    for p, _ in texts:
        click.echo(f"wrote {p}")
