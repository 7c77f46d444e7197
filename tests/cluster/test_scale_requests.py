"""API requests grow with list pages and collector pods, never with meshed pods or namespaces."""
from __future__ import annotations

import copy
import json

import scenarios
from helpers import run_cli

PAGE = 500   # Kube.list's page size


def _add_meshed(api, count: int, per_namespace: int = 20) -> None:
    template = scenarios.pod(api, "emojivoto", "emoji-547b6957d6-s59rz")
    for i in range(count):
        ns = f"app-{i // per_namespace:04d}"
        if i % per_namespace == 0:
            api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        pod = copy.deepcopy(template)
        pod["metadata"].update(name=f"emoji-{i:05d}", namespace=ns, uid=f"uid-{i}")
        pod["metadata"].pop("resourceVersion", None)
        pod["status"].update(podIP=f"10.9.{i // 256}.{i % 256}", podIPs=[{"ip": f"10.9.{i // 256}.{i % 256}"}])
        api.add(pod)
        # its proxy answers like the others (an unanswered sample is retried, which would count here)
        api.set_proxy(ns, pod["metadata"]["name"], 4191, "metrics", body=scenarios.proxy_metrics_text())


def _check_requests(api) -> int:
    api.requests.clear()
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    assert json.loads(result.stdout)["categories"], result.output
    return len(api.requests)


def test_requests_grow_with_pages_not_with_pods(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets",
                       body=lambda _q: scenarios.targets_json(mesh_api))
    small = _check_requests(mesh_api)
    _add_meshed(mesh_api, 2 * PAGE - 100)          # pods: 1 page -> 2 pages; 45 more namespaces, same page
    large = _check_requests(mesh_api)
    assert large == small + 1, (small, large)
    pods_lists = [r for r in mesh_api.requests if r.path == "/api/v1/pods"]
    assert len(pods_lists) == 2 and pods_lists[1].query.get("continue")
