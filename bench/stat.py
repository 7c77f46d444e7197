#!/usr/bin/env python3
"""One `stat` pass over 5,000 meshed pods: wall time and peak RSS.

The fake API server (tests/fakekube) runs in a child process holding N meshed pods (copies of the shared
harness mesh's real pods, 100 per namespace, 10 per deployment); every proxy answers the recorded-format
metrics text tests/fixtures/proxy-metrics-web-1.txt (253 lines, 97 kB, about 200 of them golden-metric
series). This process does what `stat deploy -A` does for one pass: list the pods, read every proxy's
/metrics through pods/proxy with bounded concurrency, parse the answers, then summarize (the same pass
used as both reads). Peak RSS is this process's alone (the server's is not counted).

    python bench/stat.py [--pods 5000] [--concurrency 20]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))


def serve(count: int, kubeconfig: str, ready) -> None:
    from fakekube import FakeApiServer
    from stat_scenarios import meshed_pod, metrics

    server = FakeApiServer().start()
    server.kubeconfig(kubeconfig)
    text = metrics("web-1")
    for index in range(count):
        namespace = f"bench-{index // 100:03d}"
        deployment = f"app-{(index // 10) % 10}"
        pod = meshed_pod(deployment, "6d4cf56db6", f"p{index:05d}", f"10.{index // 65536}.{index // 256 % 256}.{index % 256}",
                         native_sidecar=index % 2 == 1, namespace=namespace)
        server.add(pod)
        server.set_proxy(namespace, pod["metadata"]["name"], 4191, "metrics", body=text)
    server.requests = _NoRecord()
    ready.send(True)
    while True:
        time.sleep(3600)


class _NoRecord(list):
    def append(self, _item) -> None:   # 10,000 requests need not be kept in the server
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    kubeconfig = os.path.join(tempfile.mkdtemp(prefix="bench-stat-"), "kubeconfig")
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(args.pods, kubeconfig, child), daemon=True)
    server.start()
    try:
        parent.recv()
        from kubectl_linkerd_otel.cluster.stat import pair, read_pass
        from kubectl_linkerd_otel.kube import Kube, KubeOptions
        from kubectl_linkerd_otel.stats.golden import proxies_to_read, summarize

        kube = Kube.connect(KubeOptions(kubeconfig=kubeconfig))
        started = time.monotonic()
        pods = kube.list("pods")
        listed = time.monotonic()
        targets = proxies_to_read(pods, "deployment")
        one = read_pass(kube, targets, concurrency=args.concurrency, timeout=30.0)
        passed = time.monotonic()
        later = read_pass.__globals__["Pass"](readings={k: (r, t + 10.0) for k, (r, t) in one.readings.items()})
        readings, errors = pair(one, later)
        result = summarize(pods, readings, errors, kind="deployment")
        done = time.monotonic()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"pods: {len(pods)} meshed, {len(targets)} proxies, {len(one.errors)} not read, "
              f"{len(result.rows)} rows")
        print(f"list pods:       {listed - started:6.2f} s")
        print(f"one pass:        {passed - listed:6.2f} s  ({len(targets) / (passed - listed):.0f} proxies/s, "
              f"concurrency {args.concurrency})")
        print(f"summarize:       {done - passed:6.2f} s")
        print(f"wall time:       {done - started:6.2f} s")
        print(f"peak RSS:        {peak_mb:6.0f} MB")
        kube.close()
    finally:
        server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
