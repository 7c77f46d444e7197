#!/usr/bin/env python3
"""How long computing the expected targets takes, next to the time `json.load` needs to read the same pods.

For 10,000 and 50,000 generated meshed pods (copies of the real API output of the shared harness mesh:
regular and native-sidecar proxies, control-plane pods, spread over 200 namespaces, each with its own
name, uid, IP and owner), with the reference setup's collector config (three jobs, the proxy job's many
labelmap rules): the time of `json.load` on the pods file, the time to compute every job's targets
(service discovery, relabeling, the reasons for meshed pods that are not scraped) as `targets` does,
and their ratio, which must stay at most 3. Exit status 1 when it does not.

    python bench/targets.py [--sizes 10000,50000] [--keep-file DIR]
"""
from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
FIXTURES = REPO / "tests" / "fixtures"
MAX_RATIO = 3.0


def templates() -> list:
    with open(FIXTURES / "harness-mesh-pods.json", encoding="utf-8") as fh:
        pods = json.load(fh)["items"]
    names = [c["name"] for p in pods for c in p["spec"].get("containers", []) + p["spec"].get("initContainers", [])]
    assert "linkerd-proxy" in names
    return [p for p in pods if any(c["name"] == "linkerd-proxy" for c in
                                   p["spec"].get("containers", []) + p["spec"].get("initContainers", []))]


def generate(n: int) -> dict:
    base = templates()
    items = []
    for i in range(n):
        pod = copy.deepcopy(base[i % len(base)])
        meta, status = pod["metadata"], pod["status"]
        ns = f"app-{i % 200:03d}"
        suffix = f"{i:06d}"
        meta["name"] = f"{meta.get('generateName') or meta['name'][:20]}{suffix}"
        meta["namespace"] = ns
        meta["uid"] = f"00000000-0000-4000-8000-{i:012d}"
        labels = meta.setdefault("labels", {})
        labels["pod-template-hash"] = f"h{i % 997:05d}"
        if "linkerd.io/workload-ns" in labels:
            labels["linkerd.io/workload-ns"] = ns
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
        status["phase"] = "Running" if i % 50 else status.get("phase", "Running")
        items.append(pod)
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def reference_jobs():
    import yaml

    from kubectl_linkerd_otel.scrape.config import scrape_jobs

    with open(FIXTURES / "harness-mesh-collector-configmap.json", encoding="utf-8") as fh:
        text = json.load(fh)["data"]["config.yaml"]
    return scrape_jobs(yaml.safe_load(text))


def measure(n: int, keep_dir: str = "") -> dict:
    from kubectl_linkerd_otel.scrape.targets import simulate

    doc = generate(n)
    directory = keep_dir or tempfile.mkdtemp(prefix="bench-targets-")
    path = os.path.join(directory, f"pods-{n}.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    size = os.path.getsize(path)
    del doc
    gc.collect()

    start = time.perf_counter()
    with open(path, encoding="utf-8") as fh:
        pods = json.load(fh)["items"]
    load = time.perf_counter() - start

    jobs = reference_jobs()          # compiling the rules is part of what `targets` does
    gc.collect()
    start = time.perf_counter()
    jobs = reference_jobs()
    sim = simulate(jobs, pods)
    compute = time.perf_counter() - start
    active = sum(len(j.active) for j in sim.jobs)
    unscraped = len(sim.meshed_unscraped)
    if not keep_dir:
        os.remove(path)
        os.rmdir(directory)
    return {"pods": n, "file_mb": size / 1e6, "json_load_s": load, "targets_s": compute,
            "ratio": compute / load, "active": active, "unscraped": unscraped}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--keep-file", default="", metavar="DIR", help="keep the generated pods files in DIR")
    args = parser.parse_args()
    ok = True
    print(f"{'pods':>7}  {'file':>8}  {'json.load':>9}  {'targets':>8}  {'ratio':>5}  {'active':>7}  {'not scraped':>11}")
    for n in (int(x) for x in args.sizes.split(",")):
        r = measure(n, args.keep_file)
        ok &= r["ratio"] <= MAX_RATIO
        print(f"{r['pods']:>7}  {r['file_mb']:>6.0f}MB  {r['json_load_s']:>8.2f}s  {r['targets_s']:>7.2f}s  "
              f"{r['ratio']:>5.2f}  {r['active']:>7}  {r['unscraped']:>11}", flush=True)
    print(f"ratio targets/json.load must be <= {MAX_RATIO}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
