"""linkerd-otel-targets: every meshed pod that should be scraped is a target, and the collector reports it up.

The collector's own view comes from its prometheus receiver's API (/api/v1/targets)."""
from __future__ import annotations

import re

from .. import naming
from .common import control_plane_namespace, facts, labels, listing, live, meshed_pods, proxy_container, ref
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


def _active(snap):
    targets = []
    for answer in snap.receiver_targets.values():
        data = (answer or {}).get("data") or {}
        targets.extend(data.get("activeTargets") or [])
    return targets


def _address(target):
    url = target.get("scrapeUrl") or ""
    match = re.match(r"^[a-z]+://([^/]+)", url)
    if match:
        return match.group(1)
    return (target.get("discoveredLabels") or {}).get("__address__") or \
        (target.get("labels") or {}).get("instance") or ""


def _simulation(snap):
    """The targets engine's expectation from the collector's own config, merged with its answer.

    None when the engine is absent or the config cannot be simulated (the simple comparison is used)."""
    try:
        from ..scrape.config import scrape_jobs
        from ..scrape.targets import merge_actual, simulate
    except ImportError:
        return None
    config = facts(snap).config
    if config is None:
        return None
    try:
        sim = simulate(scrape_jobs(config), snap.pods, own_namespace=snap.collector_namespace)
    except ValueError:   # ScrapeConfigError, RE2Error, RelabelConfigError are ValueErrors
        return None
    if snap.receiver_targets:
        merge_actual(sim, snap.receiver_targets)
    return sim


def scraped(snap, opts):
    if snap.receiver_targets_errors:
        return fail("could not read the collector's targets",
                    listing([f"{k}: {v}" for k, v in snap.receiver_targets_errors.items()]))
    sim = _simulation(snap)
    if sim is None:
        return _scraped_simple(snap, opts)
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


def _scraped_simple(snap, opts):
    if snap.receiver_targets_errors:
        return fail("could not read the collector's targets",
                    listing([f"{k}: {v}" for k, v in snap.receiver_targets_errors.items()]))
    if not snap.receiver_targets:
        return warn(f"cannot see the collector's targets: {API_FIX}; run `kubectl linkerd-otel targets` for "
                    "the expected ones")
    active = _active(snap)
    by_address = {}
    for target in active:
        by_address.setdefault(_address(target), []).append(target)
    expected = expected_pods(snap, opts)
    missing, down = [], []
    for pod in expected:
        address = f"{pod['status']['podIP']}:{naming.LINKERD_ADMIN_PORT}"
        found = by_address.get(address) or by_address.get(f"[{pod['status']['podIP']}]:{naming.LINKERD_ADMIN_PORT}")
        if not found:
            missing.append(f"{ref(pod)} ({address}) is not a target")
        elif not any(t.get("health") == "up" for t in found):
            error = next((t.get("lastError") for t in found if t.get("lastError")), "") or found[0].get("health")
            down.append(f"{ref(pod)} ({address}) is down: {error}")
    jobs = sorted({t.get("scrapePool") or (t.get("labels") or {}).get("job", "?") for t in active})
    up = sum(1 for t in active if t.get("health") == "up")
    meshed = len(meshed_pods(snap, opts.namespace_filter))
    description = (f"{up} targets scraped (jobs: {', '.join(jobs) or 'none'}), {meshed} meshed pods, "
                   f"{len(missing) + len(down)} not scraped")
    if missing or down:
        return fail(f"{len(missing)} meshed pods are not targets, {len(down)} targets are down",
                    listing(down + missing), description=description)
    return passed(description)


CATEGORY = Category("linkerd-otel-targets", [
    Check("scraped", "every meshed pod is scraped", scraped, "otel-targets"),
], requires=("linkerd-otel-collector", "linkerd-data-plane"))
