#!/usr/bin/env python3
"""The tests' fake API server (tests/fakekube), in its own process, loaded with a large mesh for the
benchmarks: N meshed pods over N/20 namespaces (copies of the harness mesh's meshed pods: regular and
native-sidecar proxies, each with its own name, uid, IP and container ids), the harness control plane,
and a collector (our config) whose receiver's /api/v1/targets answers as Prometheus does: every
expected target active and up, and with `state=any` every dropped one too, with its discovered labels
(one per container port of every pod, for each job that discovers all pods), and the dropped counts.

That answer is hundreds of MB on a large mesh, so it is written once, target by target, to files in
--workdir and sent from them in chunks: the server never holds it whole.

Every request waits --latency-ms first (an API server across a network). Prints one JSON line on
stdout once ready (url, token, targets); runs until stdin closes. `GET /_fake/requests[?reset=1]` counts
the requests served.

    python bench/fakeserver.py --pods 10000 --latency-ms 20 [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Optional

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


CHUNK = 1 << 20
LAST_SCRAPE = "2026-11-25T09:20:00.123456789Z"


def _compact(obj) -> bytes:
    # Go's encoding/json: no spaces, map keys sorted
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _sorted(labels: dict) -> dict:
    return dict(sorted(labels.items()))


def write_targets(sim, directory: Path) -> dict:
    """The receiver's answer, in pieces on disk: `active` and `dropped` hold the comma-separated
    target objects (Prometheus's fields, in its order); returns the paths and counts."""
    active_path, dropped_path = directory / "targets-active.jsonl", directory / "targets-dropped.jsonl"
    counts: dict = {}
    active = dropped = 0
    with open(active_path, "wb") as out:
        for job in sim.jobs:
            interval, timeout = job.job.interval, job.job.timeout
            for t in job.active:
                url = t.scrape_url()
                out.write((b"," if active else b"") + _compact({
                    "discoveredLabels": _sorted(t.discovered()), "labels": _sorted(t.visible()),
                    "scrapePool": job.job.pool, "scrapeUrl": url, "globalUrl": url, "lastError": "",
                    "lastScrape": LAST_SCRAPE, "lastScrapeDuration": 0.002113, "health": "up",
                    "scrapeInterval": interval, "scrapeTimeout": timeout}))
                active += 1
    with open(dropped_path, "wb") as out:
        for job in sorted(sim.jobs, key=lambda j: j.job.pool):
            counts[job.job.pool] = counts.get(job.job.pool, 0) + job.dropped_count
            for t in job.dropped:
                out.write((b"," if dropped else b"") + _compact({
                    "discoveredLabels": _sorted(t.discovered()), "scrapePool": job.job.pool}))
                dropped += 1
    return {"active_path": active_path, "dropped_path": dropped_path, "active": active, "dropped": dropped,
            "counts": counts}


def _file_pieces(path: Path):
    with open(path, "rb") as fh:
        while True:
            piece = fh.read(CHUNK)
            if not piece:
                return
            yield piece


def targets_answer(answer: dict):
    """The proxy handler of the receiver's /api/v1/targets: as Prometheus, `state=active` answers the
    active targets (droppedTargets empty, droppedTargetCounts null), `state=dropped` the dropped ones,
    anything else both."""
    from fakekube import Streamed

    def handler(query: dict):
        state = (query.get("state") or "any").lower()
        show_active, show_dropped = state in ("any", "active"), state in ("any", "dropped")

        def pieces():
            yield b'{"status":"success","data":{"activeTargets":['
            if show_active:
                yield from _file_pieces(answer["active_path"])
            yield b'],"droppedTargets":['
            if show_dropped:
                yield from _file_pieces(answer["dropped_path"])
            yield b'],"droppedTargetCounts":' + (_compact(answer["counts"]) if show_dropped else b"null") + b"}}"

        return 200, Streamed(pieces)

    return handler


def build(api, n: int, workdir: Optional[Path] = None) -> None:
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
    # the receiver reports what the simulation expects, computed once and kept on disk
    sim = simulate(scrape_jobs(yaml.safe_load(scenarios.HEALTHY_CONFIG)),
                   store.list("", "pods", None, copy_items=False), own_namespace=scenarios.NS)
    answer = write_targets(sim, Path(workdir or tempfile.mkdtemp(prefix="bench-fakeserver-")))
    del sim
    api.set_proxy(scenarios.NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=targets_answer(answer))
    api.active_targets, api.dropped_targets = answer["active"], answer["dropped"]


def main() -> int:
    from fakekube import FakeApiServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workdir", default="", help="where the receiver's answer is kept (default: a new "
                                                      "temporary directory, removed at the end)")
    args = parser.parse_args()
    api = FakeApiServer()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-fakeserver-"))
    build(api, args.pods, workdir)
    if args.latency_ms > 0:
        api.delay(args.latency_ms / 1000.0, times=None)
    api.start()
    print(json.dumps({"url": api.url, "token": api.token, "active_targets": api.active_targets,
                      "dropped_targets": api.dropped_targets}), flush=True)
    try:
        sys.stdin.read()    # until the bench closes it
    finally:
        api.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
