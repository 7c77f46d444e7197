"""linkerd-otel-targets: every meshed pod that should be scraped is a target, and the collector reports it up.

The expectation is the targets engine's simulation of the collector's own config; the collector's view
comes from its prometheus receiver's API (/api/v1/targets)."""
from __future__ import annotations

from .. import naming
from ..scrape.config import scrape_jobs
from ..scrape.targets import merge_actual, simulate
from .common import control_plane_namespace, facts, labels, listing, live, meshed_pods, proxy_container
from .framework import Category, Check, fail, passed, skip, warn

API_FIX = ("enable the prometheus receiver's API: api_server: {enabled: true, server_config: "
           "{endpoint: 0.0.0.0:9090}}")


def expected_pods(snap, opts):
    ns = control_plane_namespace(snap)
    out = []
    for pod in meshed_pods(snap, opts.namespace_filter):
        ports = (proxy_container(pod) or {}).get("ports") or []
        if live(pod) and (pod.get("status") or {}).get("podIP") and \
                labels(pod).get("linkerd.io/control-plane-ns") == ns and \
                any(p.get("name") == naming.LINKERD_ADMIN_PORT_NAME for p in ports):
            out.append(pod)
    return out


def scraped(snap, opts):
    if snap.receiver_targets_errors:
        return fail("could not read the collector's targets",
                    listing([f"{k}: {v}" for k, v in snap.receiver_targets_errors.items()]))
    config = facts(snap).config
    if config is None:
        return skip("the config did not parse")
    try:
        sim = simulate(scrape_jobs(config), snap.pods, own_namespace=snap.collector_namespace)
    except ValueError as exc:   # ScrapeConfigError, RE2Error, RelabelConfigError are ValueErrors
        return warn(f"the collector config cannot be simulated: {exc}")
    if snap.receiver_targets:
        merge_actual(sim, snap.receiver_targets)
    cp = control_plane_namespace(snap)
    wanted = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in expected_pods(snap, opts)}
    proxy_jobs = [j for j in sim.jobs if j.proxy_job]
    missing = [f"{u.pod.namespace}/{u.pod.name}: {u.reason}" for u in sim.meshed_unscraped
               if u.pod.key in wanted]
    active = [t for j in sim.jobs for t in j.active]
    in_scope = [t for j in proxy_jobs for t in j.active if t.pod is not None and t.pod.key in wanted]
    meshed = len(meshed_pods(snap, opts.namespace_filter))
    jobs = ", ".join(j.job.name for j in sim.jobs) or "none"
    if not proxy_jobs and wanted:
        missing = [f"no scrape job keeps the linkerd-proxy container's linkerd-admin port of control plane '{cp}'"]
    if not snap.receiver_targets:
        description = (f"{len(active)} targets expected (jobs: {jobs}), {meshed} meshed pods, "
                       f"{len(missing)} not scraped")
        if missing:
            return fail(f"{len(missing)} meshed pods are not targets of the collector's config",
                        listing(missing), description=description)
        return warn(f"cannot see the collector's own targets: {API_FIX}; the expectation above comes from "
                    "its config", description=description)
    down = [f"{t.namespace}/{t.pod_name} ({t.address}) is down: {t.last_error or t.health}"
            for t in in_scope if t.health == "down"]
    absent = [f"{t.namespace}/{t.pod_name} ({t.address}) is expected but the collector does not report it"
              for t in in_scope if t.source == "simulation"]
    up = sum(1 for t in active if t.health == "up")
    not_scraped = len(missing) + len(down) + len(absent)
    description = f"{up} targets scraped (jobs: {jobs}), {meshed} meshed pods, {not_scraped} not scraped"
    if not_scraped:
        return fail(f"{len(missing) + len(absent)} meshed pods are not targets, {len(down)} targets are down",
                    listing(down + absent + missing), description=description)
    return passed(description)


CATEGORY = Category("linkerd-otel-targets", [
    Check("scraped", "every meshed pod is scraped", scraped, "otel-targets"),
], requires=("linkerd-otel-collector", "linkerd-data-plane"))
