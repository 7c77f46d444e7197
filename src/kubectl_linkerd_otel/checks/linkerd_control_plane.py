"""linkerd-control-plane: Linkerd is installed, its pods are ready, the scrape config points at it."""
from __future__ import annotations

from .. import podstatus
from ..collector.config import component_type, walk_strings
from .common import control_plane_namespace, count, facts, gather_error, labels, listing, verb
from .framework import Category, Check, fail, passed, skip


def installed(snap, _opts):
    error = gather_error(snap, "namespaces", "pods")
    if error:
        return fail(error)
    ns = control_plane_namespace(snap)
    if ns is None:
        return fail("no Linkerd control plane found (no namespace labelled linkerd.io/is-control-plane=true"
                    f" and no control-plane pods in '{snap.linkerd_namespace_hint or 'linkerd'}')")
    return passed(f"control plane namespace '{ns}' exists")


def pods_ready(snap, _opts):
    ns = control_plane_namespace(snap)
    pods = [p for p in snap.pods if p["metadata"].get("namespace") == ns
            and labels(p).get("linkerd.io/control-plane-component")]
    if not pods:
        return fail(f"no control-plane pods in namespace '{ns}'")
    bad = [f"{p['metadata']['name']}  {podstatus.ready_column(p)}  {podstatus.not_ready_reason(p)}"
           for p in pods if not podstatus.is_fully_ready(p)]
    if bad:
        return fail(f"{len(bad)} of {count(len(pods), 'control-plane pod')} {verb(len(bad), 'is', 'are')} not ready",
                    listing(bad))
    return None


def scrape_namespace(snap, _opts):
    config = facts(snap).config
    if config is None:
        return skip("no collector config to compare")
    ns = control_plane_namespace(snap)
    receivers = config.get("receivers") or {}
    scrape = [body for name, body in receivers.items() if component_type(name) == "prometheus"]
    text = [value for _, value in walk_strings(scrape)]
    if not text:
        return skip("the collector config has no prometheus receiver")
    if not any(ns in s for s in text):
        return fail(f"the scrape config never mentions the control-plane namespace '{ns}': the proxy job "
                    "keeps only pods whose linkerd.io/control-plane-ns label matches it")
    return None


CATEGORY = Category("linkerd-control-plane", [
    Check("installed", "Linkerd control plane is installed", installed, "l5d-installed", fatal=True),
    Check("pods", "control plane pods are running and ready", pods_ready, "l5d-control-plane-pods",
          retryable=True),
    Check("scrape-ns", "scrape config uses the control-plane namespace", scrape_namespace,
          "l5d-scrape-namespace"),
], requires=("kubernetes-api",))
