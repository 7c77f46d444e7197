"""The `stat` scenario: namespace `shop` with three meshed deployments whose proxies answer recorded-format
metrics texts (tests/fixtures/proxy-metrics-*.txt), built from the shared harness mesh's real pods."""
from __future__ import annotations

import copy
from pathlib import Path

from conftest import load_fixture

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NS = "shop"


def metrics(name: str) -> str:
    return (FIXTURES / f"proxy-metrics-{name}.txt").read_text()


def _template(native_sidecar: bool) -> dict:
    pods = load_fixture("harness-mesh-pods.json")["items"]
    name = "web-5b4656675c-826fd" if native_sidecar else "emoji-547b6957d6-s59rz"
    return next(p for p in pods if p["metadata"]["name"] == name)


def meshed_pod(deployment: str, template_hash: str, suffix: str, ip: str, *, native_sidecar: bool = False,
               admin_port: bool = True, namespace: str = NS, meshed: bool = True) -> dict:
    pod = copy.deepcopy(_template(native_sidecar))
    name = f"{deployment}-{template_hash}-{suffix}"
    meta = pod["metadata"]
    meta.update(name=name, namespace=namespace, uid=f"uid-{name}", resourceVersion="1")
    labels = {"app": deployment, "pod-template-hash": template_hash}
    if meshed:
        labels.update({"linkerd.io/control-plane-ns": "linkerd", "linkerd.io/proxy-deployment": deployment,
                       "linkerd.io/workload-ns": namespace})
    meta["labels"] = labels
    meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "controller": True,
                                "blockOwnerDeletion": True, "name": f"{deployment}-{template_hash}",
                                "uid": f"uid-rs-{deployment}"}]
    meta.pop("generateName", None)
    pod["status"]["podIP"] = ip
    pod["status"]["podIPs"] = [{"ip": ip}]
    spec = pod["spec"]
    if not meshed:
        spec["containers"] = [c for c in spec["containers"] if c["name"] != "linkerd-proxy"]
        spec["initContainers"] = [c for c in spec.get("initContainers", []) if c["name"] != "linkerd-proxy"]
    for container in spec["containers"] + spec.get("initContainers", []):
        if container["name"] == "linkerd-proxy" and not admin_port:
            container["ports"] = [p for p in container.get("ports", []) if p.get("name") != "linkerd-admin"]
    return pod


def reads(*texts: str):
    """A pods/proxy body answering texts[i] at the i-th read (the last one ever after)."""
    state = {"reads": 0}

    def body(_query):
        state["reads"] += 1
        return texts[min(state["reads"], len(texts)) - 1]
    return body


POD_WEB = "web-6d4cf56db6-t8k2m"
POD_WEB_403 = "web-6d4cf56db6-x9p4q"
POD_API = "api-7c9d8b6f5-k2x9p"
POD_API_NO_ADMIN = "api-7c9d8b6f5-n4v7z"
POD_DB = "db-5f6b8c7d9-q7w3e"
POD_DB_SLOW = "db-5f6b8c7d9-h2j6w"


def shop(api, *, slow_seconds: float = 600.0) -> None:
    """web: one pod read, one answering 403; api: one read (high latency), one without a linkerd-admin
    port; db: one read (errors, and its proxy restarted between the reads), one that never answers in
    time. Plus an unmeshed deployment (no row, as viz) and a completed pod (not counted)."""
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    api.add(meshed_pod("web", "6d4cf56db6", "t8k2m", "10.244.1.12"))
    api.add(meshed_pod("web", "6d4cf56db6", "x9p4q", "10.244.1.13", native_sidecar=True))
    api.add(meshed_pod("api", "7c9d8b6f5", "k2x9p", "10.244.1.20", native_sidecar=True))
    api.add(meshed_pod("api", "7c9d8b6f5", "n4v7z", "10.244.1.21", admin_port=False))
    api.add(meshed_pod("db", "5f6b8c7d9", "q7w3e", "10.244.1.30"))
    api.add(meshed_pod("db", "5f6b8c7d9", "h2j6w", "10.244.1.31"))
    api.add(meshed_pod("legacy", "55d8f9c7b4", "r5t6y", "10.244.1.40", meshed=False))
    done = meshed_pod("db", "5f6b8c7d9", "c0mp1", "10.244.1.41")
    done["status"]["phase"] = "Succeeded"
    api.add(done)
    api.set_proxy(NS, POD_WEB, 4191, "metrics", body=reads(metrics("web-1"), metrics("web-2")))
    api.set_proxy(NS, POD_WEB_403, 4191, "metrics", status=403, body="")
    api.set_proxy(NS, POD_API, 4191, "metrics", body=reads(metrics("api-1"), metrics("api-2")))
    api.set_proxy(NS, POD_DB, 4191, "metrics", body=reads(metrics("db-1"), metrics("db-2")))
    api.set_proxy(NS, POD_DB_SLOW, 4191, "metrics", body=reads(metrics("db-1")))
    api.delay(slow_seconds, path=POD_DB_SLOW)
