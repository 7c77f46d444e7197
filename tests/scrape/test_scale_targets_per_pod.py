"""Issue 24: what `check` and `targets` (the table) keep while they reduce a mesh grows with its pods, not
with the targets of each pod. 200 meshed pods of 20 containers (a port each) against 4,000 meshed pods of
one container: as many targets (4,000 proxy and app ports), 20 times fewer pods. The peak of the memory
the reduction allocates (tracemalloc: trimming the listed pods, service discovery, relabeling, the verdict
per pod) must follow the pods: were a structure kept per target (every discovered target, every dropped
one, every label set), the two would cost about the same."""
from __future__ import annotations

import copy
import gc
import tracemalloc

import yaml

import scenarios
from conftest import load_fixture
from kubectl_linkerd_otel.cluster.pods import pod_trimmer
from kubectl_linkerd_otel.scrape.config import scrape_jobs
from kubectl_linkerd_otel.scrape.targets import simulate


def _template() -> dict:
    pods = load_fixture("harness-mesh-pods.json")["items"]
    return next(p for p in pods if p["metadata"]["namespace"] == "emojivoto"
                and any(c["name"] == "linkerd-proxy" for c in p["spec"].get("containers", []))
                and p["status"].get("phase") == "Running")


def _pods(count: int, app_containers: int):
    """`count` meshed pods, each with the proxy and `app_containers` app containers of one port."""
    template = _template()
    spec = copy.deepcopy(template["spec"])
    proxy = next(c for c in spec["containers"] if c["name"] == "linkerd-proxy")
    app = next(c for c in spec["containers"] if c["name"] != "linkerd-proxy")
    spec["containers"] = [proxy] + [dict(app, name=f"app-{n}", ports=[{"containerPort": 8000 + n, "name": f"p{n}",
                                                                       "protocol": "TCP"}])
                                    for n in range(app_containers)]
    statuses = [{"name": c["name"], "ready": True, "restartCount": 0, "started": True,
                 "state": {"running": {"startedAt": "2026-11-25T09:00:00Z"}}} for c in spec["containers"]]
    for i in range(count):
        pod = copy.deepcopy(template)
        ns = f"app-{i // 20:05d}"
        pod["metadata"].update(name=f"pod-{i:06d}", namespace=ns, uid=f"uid-{i}")
        pod["spec"] = spec
        ip = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        pod["status"] = dict(pod["status"], podIP=ip, podIPs=[{"ip": ip}],
                             containerStatuses=[dict(s, containerID=f"containerd://{i:08x}{k:04x}")
                                                for k, s in enumerate(statuses)])
        yield pod


def _peak(count: int, app_containers: int, keep_dropped: bool = False) -> int:
    jobs = scrape_jobs(yaml.safe_load(scenarios.HEALTHY_CONFIG))
    pods = _pods(count, app_containers)
    gc.collect()
    tracemalloc.start()
    try:
        trim = pod_trimmer(keep_whole=scenarios.NS)
        kept = [trim(pod) for pod in pods]        # as the pages stream in: one raw pod at a time
        sim = simulate(jobs, kept, own_namespace=scenarios.NS, keep_dropped=keep_dropped)
        assert not sim.unscraped_for(())          # every meshed pod scraped: the verdicts are all there
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def test_check_and_targets_memory_follows_pods_not_targets_per_pod():
    wide = _peak(200, 19)        # 200 pods x 20 containers = 4,000 ports
    narrow = _peak(4000, 0)      # 4,000 pods x 1 container = 4,000 ports
    # a structure per target would make `wide` about `narrow`; per pod, a fraction of it
    assert wide < narrow / 3, (wide, narrow)
