#!/usr/bin/env python3
"""The tests' fake API server (tests/fakekube), in its own process, loaded with a large mesh for the
benchmarks: N meshed pods over N/20 namespaces (copies of the harness mesh's meshed pods: regular and
native-sidecar proxies, each with its own name, uid, IP and container ids), the harness control plane,
and a collector (our config) whose receiver's /api/v1/targets reports every expected target as up.

Every request waits --latency-ms first (an API server across a network). Prints the server URL on
stdout once ready; runs until stdin closes. `GET /_fake/requests[?reset=1]` counts the requests served.

    python bench/fakeserver.py --pods 10000 --latency-ms 20
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

PODS_PER_NAMESPACE = 20


def meshed_templates(pods):
    def has_proxy(p):
        spec = p["spec"]
        return any(c["name"] == "linkerd-proxy" for c in spec.get("containers", []) + spec.get("initContainers", []))
    return [p for p in pods if has_proxy(p) and p["metadata"]["namespace"] == "emojivoto"
            and p["status"].get("phase") == "Running"]


def generated_pod(template: dict, index: int) -> dict:
    """A copy of `template` with its own identity. The spec is shared between copies (the store never
    changes a stored object in place and list pages are built afresh), so 50,000 pods fit the server."""
    ns = f"app-{index // PODS_PER_NAMESPACE:05d}"
    base = template["metadata"]["name"].rsplit("-", 2)[0]
    meta = dict(template["metadata"])
    meta.update(name=f"{base}-{index:06d}", namespace=ns, uid=str(uuid.UUID(int=index + 1)),
                labels=dict(template["metadata"].get("labels") or {}, **{"linkerd.io/workload-ns": ns}))
    meta.pop("managedFields", None)
    status = dict(template["status"])
    ip = f"10.{128 + index // 65536}.{index // 256 % 256}.{index % 256}"
    status.update(podIP=ip, podIPs=[{"ip": ip}])
    for field in ("containerStatuses", "initContainerStatuses"):
        if status.get(field):
            status[field] = [dict(cs, containerID=f"containerd://{uuid.UUID(int=index * 8 + n).hex}" * 2)
                             for n, cs in enumerate(status[field])]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"], "status": status}


def build(api, n: int) -> None:
    import conftest
    import scenarios
    from kubectl_linkerd_otel.scrape.config import scrape_jobs
    from kubectl_linkerd_otel.scrape.targets import simulate
    import yaml

    api.add_many(conftest.mesh_objects())
    scenarios.healthy(api)
    templates = meshed_templates(api.objects("pods"))
    for i in range(n // PODS_PER_NAMESPACE + (1 if n % PODS_PER_NAMESPACE else 0)):
        api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": f"app-{i:05d}", "annotations": {"linkerd.io/inject": "enabled"}}})
    store = api.store
    with store.lock:
        for i in range(n):
            pod = generated_pod(templates[i % len(templates)], i)
            pod["metadata"]["resourceVersion"] = store.next_rv()
            store.objects[store.key_of(pod)] = pod
        store._writes += 1
    # the receiver reports what the simulation expects, computed once
    sim = simulate(scrape_jobs(yaml.safe_load(scenarios.HEALTHY_CONFIG)),
                   store.list("", "pods", None, copy_items=False), own_namespace=scenarios.NS)
    active = [{"scrapePool": job.job.pool, "scrapeUrl": t.scrape_url(), "labels": t.visible(),
               "discoveredLabels": t.discovered(), "health": "up", "lastError": "",
               "lastScrape": "2026-11-25T09:20:00Z"} for job in sim.jobs for t in job.active]
    body = json.dumps({"status": "success", "data": {"activeTargets": active, "droppedTargets": []}})
    api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=body)
    api.active_targets = len(active)


def main() -> int:
    from fakekube import FakeApiServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    api = FakeApiServer()
    build(api, args.pods)
    if args.latency_ms > 0:
        api.delay(args.latency_ms / 1000.0, times=None)
    api.start()
    print(json.dumps({"url": api.url, "token": api.token, "active_targets": api.active_targets}), flush=True)
    sys.stdin.read()    # until the bench closes it
    api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
