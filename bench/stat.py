#!/usr/bin/env python3
"""One `stat` pass over 5,000 meshed pods: wall time, proxies a second against the floor, and peak RSS.

The fake API server (tests/fakekube) runs in a child process holding N meshed pods (copies of the shared
harness mesh's real pods, 100 per namespace, 10 per deployment); every proxy answers the recorded-format
metrics text tests/fixtures/proxy-metrics-web-1.txt (253 lines, 97 kB, about 200 of them golden-metric
series); every request waits --latency-ms first (an API server across a network). Another child does
what `stat deploy -A` does for one pass: list the pods, read every proxy's /metrics through pods/proxy
with bounded concurrency, parse the answers, then summarize (the same pass used as both reads). Its peak
RSS is its own; the process tree's (server, pass and this process) is printed after it.

The floor of a pass is what the latency alone costs: proxies x latency / concurrency (5 s for 5,000
proxies at 20 ms and 20 at once). The budget (issue 24) is a pass within twice its floor: the last line
says MET or MISSED (exit status 1 when missed).

Both children run under a memory cap (address space: --server-mem-gb, default 2 GiB; --mem-gb, default
5.25 GiB) and a timeout (--timeout, default 600 s) with bench/safety.py: one that hits either is named
in a `LIMIT:` line, and the bench ends with exit status 3. 5,000 pods need about 1 GB and a minute.

    python bench/stat.py [--pods 5000] [--concurrency 20] [--latency-ms 20] [--server-mem-gb 2] [--mem-gb 5.25]
                         [--timeout S]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))


FLOOR_BUDGET = 2.0     # a pass within twice its floor


def serve(count: int, kubeconfig: str, latency_ms: float) -> int:
    """In the server child: serve `count` meshed pods until stdin closes, each request `latency_ms` late."""
    from fakekube import FakeApiServer
    from stat_scenarios import meshed_pod, metrics

    server = FakeApiServer().start()
    if latency_ms > 0:
        server.delay(latency_ms / 1000.0)
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
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()
    return 0


class _NoRecord(list):
    def append(self, _item) -> None:   # 10,000 requests need not be kept in the server
        pass


def one_pass(kubeconfig: str, concurrency: int, latency_ms: float) -> int:
    """In the measured child: one pass, as `stat deploy -A` makes it; prints its figures."""
    from kubectl_linkerd_otel.cluster.stat import pair, read_pass
    from kubectl_linkerd_otel.apiclient import Kube, KubeOptions
    from kubectl_linkerd_otel.stats.golden import proxies_to_read, summarize

    kube = Kube.connect(KubeOptions(kubeconfig=kubeconfig))
    started = time.monotonic()
    pods = kube.list("pods")
    listed = time.monotonic()
    targets = proxies_to_read(pods, "deployment")
    one = read_pass(kube, targets, concurrency=concurrency, timeout=30.0)
    passed = time.monotonic()
    later = read_pass.__globals__["Pass"](readings={k: (r, t + 10.0) for k, (r, t) in one.readings.items()})
    readings, errors = pair(one, later)
    result = summarize(pods, readings, errors, kind="deployment")
    done = time.monotonic()
    print(f"pods: {len(pods)} meshed, {len(targets)} proxies, {len(one.errors)} not read, "
          f"{len(result.rows)} rows")
    print(f"list pods:       {listed - started:6.2f} s")
    floor = len(targets) * latency_ms / 1000.0 / concurrency
    print(f"one pass:        {passed - listed:6.2f} s  ({len(targets) / (passed - listed):.0f} proxies/s, "
          f"concurrency {concurrency}, {latency_ms:g} ms a request)")
    print(f"floor:           {floor:6.2f} s  ({len(targets)} requests x {latency_ms:g} ms / {concurrency})")
    print(f"summarize:       {done - passed:6.2f} s")
    print(f"wall time:       {done - started:6.2f} s")
    kube.close()
    if floor > 0:
        ratio = (passed - listed) / floor
        verdict = "MET" if ratio <= FLOOR_BUDGET else "MISSED"
        print(f"one pass / floor: {ratio:5.2f} x  (budget {FLOOR_BUDGET:.2f}x) {verdict}")
        return 0 if verdict == "MET" else 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="delay of every request (default 20 ms; 0: none, and no floor)")
    parser.add_argument("--server-mem-gb", type=float, default=2.0, metavar="GIB",
                        help="address-space cap of the fake API server (default 2)")
    parser.add_argument("--mem-gb", type=float, default=5.25, metavar="GIB",
                        help="address-space cap of the measured pass (default 5.25)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S",
                        help="seconds the server may take to start, and the pass to run (default 600)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)     # in the children
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.pods, args.kubeconfig, args.latency_ms)
    if args.measure:
        return one_pass(args.kubeconfig, args.concurrency, args.latency_ms)

    from safety import stop_children_on_signals

    stop_children_on_signals()
    with tempfile.TemporaryDirectory(prefix="bench-stat-") as work:
        return bench(args, work)


def bench(args, work: str) -> int:
    from safety import GIB, MIB, Child, Tree, run

    kubeconfig = os.path.join(work, "kubeconfig")
    me = [sys.executable, str(Path(__file__).resolve()), "--pods", str(args.pods), "--kubeconfig", kubeconfig,
          "--latency-ms", str(args.latency_ms)]
    limits = []
    # a thread a connection in the server: without this each one's malloc arena reserves 64 MiB of
    # address space it never uses
    server = Child("server (bench/stat.py --serve)", me + ["--serve"], cap=int(args.server_mem_gb * GIB),
                   timeout=3 * args.timeout, env=dict(os.environ, MALLOC_ARENA_MAX="2"),
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    measured = None
    try:
        if server.read_line(args.timeout) == "ready":
            with open(os.path.join(work, "pass.txt"), "w+", encoding="utf-8") as out:
                measured = run("stat pass", me + ["--measure", "--concurrency", str(args.concurrency)],
                               cap=int(args.mem_gb * GIB), timeout=args.timeout, stdout=out)
                out.seek(0)
                sys.stdout.write(out.read())
        else:
            server.kill()
    finally:
        served = server.finish(grace=30)
    for outcome, option in ((measured, "--mem-gb"), (served, "--server-mem-gb")):
        if outcome is not None and outcome.limit:
            limits.append(outcome.limit_line(option, "--timeout"))
    if measured is not None:
        print(f"peak RSS:        {measured.peak_rss / MIB:6.0f} MB  (the pass; server {served.peak_rss / MIB:.0f} MB)")
        tree = Tree()
        tree.add_stretch("stat", [measured.peak_rss, served.peak_rss])
        print(f"process tree peak: {tree.peak / MIB:.0f} MB (server, pass and this process)")
    for line in limits:
        print(line)
    if limits:
        return 3
    if measured is not None and measured.code == 1:
        return 1          # the budget missed (the pass printed it)
    if measured is None or measured.code != 0:
        why = measured.stderr.strip()[-500:] if measured is not None else served.stderr.strip()[-500:]
        print(f"bench/stat.py: the pass did not run to its end: {why}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
