#!/usr/bin/env python3
"""How long computing the expected targets takes, next to the time `json.load` needs to read the same pods.

For 10,000 and 50,000 generated meshed pods (copies of the real API output of the shared harness mesh:
regular and native-sidecar proxies, control-plane pods, spread over 200 namespaces, each with its own
name, uid, IP and owner), with the reference setup's collector config (three jobs, the proxy job's many
labelmap rules): the time of `json.load` on the pods file, the time to compute every job's targets
(service discovery, relabeling, the reasons for meshed pods that are not scraped) as `targets` does,
and their ratio, which must stay at most 3 (MET / MISSED). Exit status 1 when it does not.

Each size is measured in a child process of its own (this script with --one N) under a memory cap
(address space, --mem-gb, default 5.25 GiB) and a timeout (--timeout, default 120 s + 12 s a 1,000
pods), with bench/safety.py: a child that hits either is named in a `LIMIT:` line and the bench ends
with exit status 3. Its peak RSS and the process tree's (the child's and this process's) are printed.
10,000 pods need about 0.8 GB and half a minute; 50,000 (`--sizes 50000`) about 3.5 GB and two to three
minutes (estimated from 1,000 and 2,000 pods).

    python bench/targets.py [--sizes 10000[,50000]] [--keep-file DIR] [--mem-gb 5.25] [--timeout S]
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
sys.path.insert(0, str(HERE))
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


def measure(n: int, keep_dir: str = "", work_dir: str = "") -> dict:
    """One size, in this process. The pods file goes to `keep_dir` (kept) or `work_dir` (removed)."""
    from kubectl_linkerd_otel.scrape.targets import simulate

    doc = generate(n)
    directory = keep_dir or work_dir or tempfile.mkdtemp(prefix="bench-targets-")
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
        if not work_dir:
            os.rmdir(directory)
    return {"pods": n, "file_mb": size / 1e6, "json_load_s": load, "targets_s": compute,
            "ratio": compute / load, "active": active, "unscraped": unscraped}


def default_timeout(pods: int) -> float:
    return 120.0 + 12.0 * pods / 1000


def main() -> int:
    from safety import GIB, MIB, Tree, run, stop_children_on_signals

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="pods, comma-separated (default 10000)")
    parser.add_argument("--keep-file", default="", metavar="DIR", help="keep the generated pods files in DIR")
    parser.add_argument("--mem-gb", type=float, default=5.25, metavar="GIB",
                        help="address-space cap of each size's process (default 5.25)")
    parser.add_argument("--timeout", type=float, default=0, metavar="S",
                        help="seconds each size may take (default 120 + 12 a 1,000 pods)")
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)      # in the child
    parser.add_argument("--result", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    stop_children_on_signals()
    if args.one:
        with open(args.result, "w", encoding="utf-8") as out:
            json.dump(measure(args.one, args.keep_file, os.path.dirname(args.result)), out)
        return 0
    ok, limits, failures, measured = True, [], [], 0
    tree = Tree()
    print(f"{'pods':>7}  {'file':>8}  {'json.load':>9}  {'targets':>8}  {'ratio':>5}  {'budget':>6}  {'':6}  "
          f"{'active':>7}  {'not scraped':>11}  {'peak RSS':>8}")
    with tempfile.TemporaryDirectory(prefix="bench-targets-") as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            result = Path(tmp) / f"result-{n}.json"
            argv = [sys.executable, str(Path(__file__).resolve()), "--one", str(n), "--result", str(result)]
            if args.keep_file:
                argv += ["--keep-file", args.keep_file]
            outcome = run(f"targets.py at {n} pods", argv, cap=int(args.mem_gb * GIB),
                          timeout=args.timeout or default_timeout(n))
            tree.add_stretch(f"{n} pods", [outcome.peak_rss])
            line = outcome.limit_line("--mem-gb", "--timeout")
            if line:
                limits.append(line)
                print(line, flush=True)
                continue
            if outcome.code != 0 or not result.exists():
                failures.append(f"FAILED: {outcome.label} exited {outcome.code}")
                print(f"  ! {outcome.label} exited {outcome.code}: {outcome.stderr.strip()[-500:]}", file=sys.stderr)
                continue
            r = json.loads(result.read_text())
            measured += 1
            met = r["ratio"] <= MAX_RATIO
            ok &= met
            print(f"{r['pods']:>7}  {r['file_mb']:>6.0f}MB  {r['json_load_s']:>8.2f}s  {r['targets_s']:>7.2f}s  "
                  f"{r['ratio']:>5.2f}  {MAX_RATIO:>6.2f}  {'MET' if met else 'MISSED':6}  {r['active']:>7}  "
                  f"{r['unscraped']:>11}  {outcome.peak_rss / MIB:>6.0f}MB", flush=True)
    print(f"process tree peak: {tree.peak / MIB:.0f} MB ({tree.where}: the measuring process and this one)")
    verdict = ("MISSED" if not ok else "NOT MEASURED" if not measured else
               "MET" if not (limits or failures) else "MET where measured")
    print(f"ratio targets/json.load must be <= {MAX_RATIO}: {verdict}")
    for line in limits + failures:
        print(f"  {line}")
    if limits:
        return 3
    if failures:
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
