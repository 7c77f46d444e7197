"""linkerd-data-plane: meshed pods are found, ready (READY as kubectl shows it), scrapeable."""
from __future__ import annotations

from .. import naming
from ..k8s import podstatus
from .common import (annotations, control_plane_namespace, count, gather_error, labels, listing, live, meshed_pods,
                     proxy_container, ref, verb)
from .framework import Category, Check, fail, passed, warn
from ..snapshot import POLICY_STEPS
from .policy import DENY, scrape_refused

POLICY_ANNOTATION = "config.linkerd.io/default-inbound-policy"
POLICY_ENV = "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY"


def found(snap, opts):
    pods = meshed_pods(snap, opts.namespace_filter)
    if not pods:
        where = f" in {', '.join(opts.namespace_filter)}" if opts.namespace_filter else ""
        return warn(f"no meshed pods found{where}: nothing for the collector to scrape")
    namespaces = sorted({p["metadata"]["namespace"] for p in pods})
    return passed(f"{count(len(pods), 'meshed pod')} found in {count(len(namespaces), 'namespace')} "
                  f"({', '.join(namespaces)})")


def ready(snap, opts):
    pods = [p for p in meshed_pods(snap, opts.namespace_filter) if live(p)]
    bad = []
    for pod in pods:
        if podstatus.is_fully_ready(pod):
            continue
        phase = (pod.get("status") or {}).get("phase", "")
        waiting = ", ".join(f"{c}: {r}" for c, r in podstatus.waiting_reasons(pod))
        bad.append(f"{ref(pod)}  {podstatus.ready_column(pod)}  {phase}  {waiting or podstatus.not_ready_reason(pod)}")
    if bad:
        return fail(f"{count(len(bad), 'meshed pod')} {verb(len(bad), 'is', 'are')} not ready", listing(bad))
    return None


def admin_port(snap, opts):
    bad = []
    for pod in meshed_pods(snap, opts.namespace_filter):
        container = proxy_container(pod)
        ports = (container or {}).get("ports") or []
        if not any(p.get("name") == naming.LINKERD_ADMIN_PORT_NAME for p in ports):
            bad.append(ref(pod) if container else f"{ref(pod)} (no linkerd-proxy container)")
    if bad:
        return fail(f"{count(len(bad), 'proxy', 'proxies')} {verb(len(bad), 'does', 'do')} not expose a port "
                    f"named {naming.LINKERD_ADMIN_PORT_NAME}: the scrape rule matches on that name", listing(bad))
    return None


def same_control_plane(snap, opts):
    ns = control_plane_namespace(snap)
    other = [f"{ref(p)} ({naming.CONTROL_PLANE_NS_LABEL}={labels(p)[naming.CONTROL_PLANE_NS_LABEL]})"
             for p in meshed_pods(snap, opts.namespace_filter)
             if labels(p).get(naming.CONTROL_PLANE_NS_LABEL) != ns]
    if other:
        return warn(f"{count(len(other), 'meshed pod')} {verb(len(other), 'belongs', 'belong')} to another "
                    f"control plane than '{ns}': the scrape rule skips them", listing(other))
    return None


def effective_policy(snap, pod: dict) -> str:
    container = proxy_container(pod) or {}
    for env in container.get("env") or []:
        if env.get("name") == POLICY_ENV and env.get("value"):
            return env["value"]
    if annotations(pod).get(POLICY_ANNOTATION):
        return annotations(pod)[POLICY_ANNOTATION]
    ns = snap.namespace(pod["metadata"].get("namespace"))
    if ns is not None and annotations(ns).get(POLICY_ANNOTATION):
        return annotations(ns)[POLICY_ANNOTATION]
    return "all-unauthenticated"


def default_policy(snap, opts):
    affected, denies = [], False
    for pod in meshed_pods(snap, opts.namespace_filter):
        if not live(pod):
            continue
        policy = effective_policy(snap, pod)
        why = scrape_refused(snap, pod, policy)
        if why:
            affected.append(f"{ref(pod)} ({policy}: {why})")
            denies = denies or policy == DENY
    if affected:
        unread = gather_error(snap, *POLICY_STEPS) if denies else ""
        return warn(f"{count(len(affected), 'proxy', 'proxies')} would answer the collector's scrape with "
                    "HTTP 403: their default inbound policy requires a meshed or an explicitly authorized client"
                    + (f" ({unread})" if unread else ""), listing(affected))
    return None


CATEGORY = Category("linkerd-data-plane", [
    Check("meshed", "meshed pods found", found, "l5d-meshed-pods"),
    Check("ready", "meshed pods are ready", ready, "l5d-pods-ready", retryable=True),
    Check("admin-port", "every proxy exposes the linkerd-admin port", admin_port, "l5d-admin-port"),
    Check("control-plane", "meshed pods belong to this control plane", same_control_plane,
          "l5d-other-control-plane"),
    Check("default-policy", "inbound policy lets the collector scrape proxies", default_policy,
          "l5d-default-policy"),
], requires=("linkerd-control-plane",))
