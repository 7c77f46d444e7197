#!/usr/bin/env python3
"""`check` and `targets` on a large mesh, next to `kubectl get pods -A -o json` against the same server.

Starts the tests' fake API server in its own process (bench/fakeserver.py) with N meshed pods over N/20
namespaces, the harness control plane and a collector whose receiver answers /api/v1/targets as
Prometheus does (the active targets, and with state=any every dropped one), every request delayed by
--latency-ms. For each size it runs, each in its own process:
  kubectl get pods -A -o json     the yardstick up to --kubectl-max-pods (real kubectl, same server)
  raw listing > /dev/null         the same pages streamed unparsed (bench/rawlist.py): the yardstick above
  check -o json                   the whole diagnosis
  targets -o json / table         live (pods and the receiver's answer from the server)
  targets -o json / table --pods  from the file kubectl wrote (above --kubectl-max-pods: the same file,
                                  written page by page by bench/rawlist.py --out)
  python json.load(file)          the yardstick of the file runs
and prints wall time, API requests made and peak RSS for each, the process tree's peak; then every
figure against its budget (MET / MISSED).

Safe on a shared machine: every child runs under a memory cap (address space) and a timeout
(bench/safety.py); the caps of the children that run together (the server and one command) add up to
less than 8 GB. A child that hits its cap or timeout is named in a `LIMIT:` line saying how to raise it;
the bench goes on with the other runs and ends with exit status 3.

Exit status: 0 every budget met, 1 a budget missed, 2 the bench or one of its runs failed, 3 a child hit
a limit.

    python bench/check.py [--pods N[,N...]] [--latency-ms 20] [--kubectl-max-pods 10000] [--plugin CMD]
                          [--server-mem-gb 2] [--child-mem-gb 5.25] [--kubectl-mem-gb 4.5] [--timeout S]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "src"))

from safety import (GIB, MIB, Child, Outcome, Tree, effective_cap, human_bytes, run, self_peak_rss,  # noqa: E402
                    stop_children_on_signals)

SIZES = (1000, 10000, 50000)
MB = MIB
KUBECTL = "kubectl get pods -A -o json"
RAW = "raw listing > /dev/null"
WRITE = "pods FILE, page by page"
CHECK = "check -o json"
LIVE_JSON = "targets -o json (live)"
FILE_JSON = "targets -o json --pods FILE"
LOAD = "python json.load(FILE)"
KUBECTL_ADDRESS_SPACE_GB = 12
# issue 24's budgets: check within kubectl's time (above --kubectl-max-pods: kubectl's time as the raw
# listing projects it); targets from a file within 1.5x json.load of it; at 50,000 pods, peak RSS of
# check < 300 MB, targets live < 500 MB, targets from the file < 1 GB
CHECK_VS_KUBECTL = 1.0
FILE_VS_LOAD = 1.5
CHECK_MB, LIVE_MB, FILE_MB = 300, 500, 1024
MEM_OPTION = {"server": "--server-mem-gb", KUBECTL: "--kubectl-mem-gb"}


def default_timeout(pods: int) -> float:
    """Seconds a child may run: 2 minutes, plus 12 s per 1,000 pods (10 minutes at 40,000)."""
    return 120.0 + 12.0 * pods / 1000


def requests(url: str, reset: bool = True) -> int:
    """The requests the server served since the last reset (-1: it did not answer)."""
    try:
        with urllib.request.urlopen(f"{url}/_fake/requests{'?reset=1' if reset else ''}", timeout=30) as answer:
            return json.load(answer)["count"]
    except (OSError, ValueError, KeyError):
        return -1


class Size:
    """One size's runs: their outcomes (in order), requests, and what hit a limit."""

    def __init__(self, n: int):
        self.n = n
        self.rows: List[tuple] = []          # (label, Outcome, requests)
        self.server: Optional[Outcome] = None
        self.info: dict = {}
        self.file_mb = 0.0
        self.limits: List[str] = []          # LIMIT lines: runs stopped by their cap or timeout
        self.failures: List[str] = []        # runs that failed otherwise
        self.tree = 0                        # bytes: the process tree's peak while this size ran
        self.ready = 0.0                     # seconds the server took to start

    def get(self, label: str) -> Optional[Outcome]:
        for row_label, outcome, _count in self.rows:
            if row_label == label:
                return outcome
        return None

    def ok(self, label: str) -> Optional[Outcome]:
        """The outcome of a run that went to its end (exit 0 or 1), else None."""
        outcome = self.get(label)
        return outcome if outcome is not None and outcome.code in (0, 1) and not outcome.limit else None


def bench_size(n: int, args, plugin: List[str], python: str, work: Path, with_kubectl: bool,
               tree: Tree) -> Size:
    size = Size(n)
    timeout = args.timeout or default_timeout(n)
    server_cap, child_cap = effective_cap(int(args.server_mem_gb * GIB)), effective_cap(int(args.child_mem_gb * GIB))
    # kubectl (Go) reserves gigabytes of address space it never touches (its Starlark interpreter alone
    # 4 GiB): it is held by its resident memory, sampled, with an address-space cap only as a backstop
    kubectl_cap = effective_cap(int(KUBECTL_ADDRESS_SPACE_GB * GIB))
    kubectl_rss = int(args.kubectl_mem_gb * GIB)
    runs = 9
    # the server answers on a thread a connection: without this, each thread's malloc arena reserves
    # 64 MiB of address space it never uses, and the cap would be hit by reservations, not memory
    server_env = dict(os.environ, MALLOC_ARENA_MAX="2")
    server = Child("server (bench/fakeserver.py)",
                   [python, str(HERE / "fakeserver.py"), "--pods", str(n), "--latency-ms", str(args.latency_ms),
                    "--workdir", str(work)],
                   cap=server_cap, timeout=timeout * (runs + 2), env=server_env, stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE)
    peaks: List[int] = []

    def limit(outcome: Outcome, memory_option: str) -> None:
        line = outcome.limit_line(memory_option, "--timeout")
        if line:
            size.limits.append(line)
            print(line, flush=True)
        elif outcome.code not in (0, 1):
            size.failures.append(f"FAILED: {outcome.label} exited {outcome.code}")
            print(f"  ! {outcome.label} exited {outcome.code}: {outcome.stderr.strip()[-300:]}", file=sys.stderr)

    try:
        line = server.read_line(timeout)
        if line is None:
            server.kill()
        else:
            size.info = json.loads(line)
            size.ready = server.elapsed()
        if not size.info:
            return size
        url = size.info["url"]
        kubeconfig = work / f"kubeconfig-{n}"
        kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "bench", "cluster": {"server": url}}],
            "users": [{"name": "bench", "user": {"token": size.info["token"]}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench",
                                                        "namespace": "observability"}}]}))
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(work / "home"),
                   PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("KUBERNETES_SERVICE_HOST", None)
        pods_file = work / f"pods-{n}.json"
        config_file = work / "config.yaml"
        sys.path.insert(0, str(REPO / "tests"))
        import scenarios
        config_file.write_text(scenarios.HEALTHY_CONFIG)

        def measure(label: str, argv: List[str], cap: int, stdout=subprocess.DEVNULL,
                    count: bool = True, rss_cap: int = 0) -> Optional[Outcome]:
            if not server.running():
                size.failures.append(f"NOT RUN: {label} (the server is gone)")
                print(f"  ! {label}: not run, the server is gone", file=sys.stderr)
                return None
            outcome = run(label, argv, cap=cap, timeout=timeout, env=env, stdout=stdout, rss_cap=rss_cap)
            size.rows.append((label, outcome, requests(url) if count else 0))
            peaks.append(outcome.peak_rss)
            limit(outcome, MEM_OPTION.get(label, "--child-mem-gb"))
            return outcome

        requests(url)
        rawlist = [python, str(HERE / "rawlist.py"), url, "--token", size.info["token"]]
        if with_kubectl:
            with open(pods_file, "wb") as out:
                measure(KUBECTL, ["kubectl", "get", "pods", "-A", "-o", "json"], kubectl_cap, stdout=out,
                        rss_cap=kubectl_rss)
        measure(RAW, rawlist, child_cap)
        wrote = not with_kubectl or size.ok(KUBECTL) is None
        if wrote:   # the file kubectl would write, without kubectl's ~300 KB of memory a pod
            measure(WRITE, rawlist + ["--out", str(pods_file)], child_cap)
        cases = [
            (CHECK, ["check", "-o", "json", "--metrics-interval=0s"]),
            (LIVE_JSON, ["targets", "-o", "json"]),
            ("targets (live, table)", ["targets"]),
        ]
        file_ok = pods_file.exists() and pods_file.stat().st_size > 0 and (
            size.ok(WRITE) if wrote else size.ok(KUBECTL)) is not None
        if file_ok:
            cases += [
                (FILE_JSON, ["targets", "-o", "json", "--pods", str(pods_file), "--config", str(config_file)]),
                ("targets --pods FILE (table)", ["targets", "--pods", str(pods_file), "--config", str(config_file)]),
            ]
        for label, command in cases:
            measure(label, plugin + command, child_cap)
        if file_ok:
            # as the plugin reads it: text, then parsed
            measure(LOAD, [python, "-c", f"import json; json.load(open({str(pods_file)!r}, encoding='utf-8'))"],
                    child_cap, count=False)
            size.file_mb = pods_file.stat().st_size / MB
        if pods_file.exists():
            pods_file.unlink()
    finally:
        size.server = server.finish(grace=60)
        limit(size.server, MEM_OPTION["server"])
        if not size.info:
            size.failures.append(f"NOT RUN: {n} pods, the server did not start")
            print(f"  ! the server for {n} pods did not start: {size.server.stderr.strip()[-500:]}", file=sys.stderr)
    size.tree = tree.add_stretch(f"{n} pods", [size.server.peak_rss, max(peaks, default=0)])
    report(size, args, server_cap, child_cap, kubectl_rss, timeout)
    return size


def report(size: Size, args, server_cap: int, child_cap: int, kubectl_rss: int, timeout: float) -> None:
    info = size.info
    print(f"\n{size.n} meshed pods in {size.n // 20} namespaces, {args.latency_ms:g} ms per request, "
          f"{info.get('active_targets', '?')} active and {info.get('dropped_targets', '?')} dropped targets, "
          f"pods file {size.file_mb:.0f} MB")
    print(f"  caps: server {human_bytes(server_cap)}, other commands {human_bytes(child_cap)} (address space), "
          f"kubectl {human_bytes(kubectl_rss)} (resident); timeout {timeout:g} s a run")
    print(f"  {'run':32} {'wall s':>8} {'peak RSS MB':>12} {'peak AS MB':>11} {'requests':>9} {'exit':>5}")
    rows = list(size.rows)
    if size.server is not None:
        rows.append(("server (whole run)", size.server, 0))
    for label, outcome, count in rows:
        code = {"memory": "CAP", "resident": "CAP", "timeout": "TIME"}.get(outcome.limit, str(outcome.code))
        vm = f"{outcome.peak_vm / MB:.0f}" if outcome.peak_vm else "-"
        print(f"  {label:32} {outcome.wall:8.2f} {outcome.peak_rss / MB:12.0f} {vm:>11} "
              f"{count:9d} {code:>5}")
    print(f"  server ready after {size.ready:.1f} s; process tree peak (server + largest command + bench): "
          f"{size.tree / MB:.0f} MB")


def budgets_for(sizes: List[Size]) -> List[tuple]:
    """(label, value, budget, unit, note) of every figure with a budget; value None: not measured."""
    out: List[tuple] = []
    # kubectl's time over the raw listing's, at the largest size both ran: turns the kubectl budget into
    # one against the raw listing where kubectl does not run
    scale, scale_note = None, ""
    for size in sizes:
        kubectl, raw = size.ok(KUBECTL), size.ok(RAW)
        if kubectl and raw and raw.wall > 0:
            scale = kubectl.wall / raw.wall
            scale_note = f"1 x kubectl, which took {scale:.2f}x the raw listing at {size.n} pods"

    def ratio(a: Optional[Outcome], b: Optional[Outcome]) -> Optional[float]:
        return a.wall / b.wall if a and b and b.wall > 0 else None

    for size in sizes:
        n = size.n
        check = size.ok(CHECK)
        if n >= 10000 and size.ok(KUBECTL) is not None:
            out.append((f"{n}: check / kubectl get pods", ratio(check, size.ok(KUBECTL)), CHECK_VS_KUBECTL, "x", ""))
        elif n >= 10000:   # above --kubectl-max-pods, or kubectl did not finish
            budget, note = (CHECK_VS_KUBECTL * scale, scale_note) if scale else (
                CHECK_VS_KUBECTL, "no kubectl run to scale by: the kubectl budget itself, stricter")
            out.append((f"{n}: check / raw listing", ratio(check, size.ok(RAW)), budget, "x", note))
        if n >= 10000:
            out.append((f"{n}: targets -o json --pods FILE / json.load", ratio(size.ok(FILE_JSON), size.ok(LOAD)),
                        FILE_VS_LOAD, "x", ""))
        if n >= 50000:
            def rss(label: str) -> Optional[float]:
                outcome = size.get(label)
                return outcome.peak_rss / MB if outcome is not None else None
            out.append((f"{n}: check peak RSS", rss(CHECK), CHECK_MB, "MB", ""))
            out.append((f"{n}: targets -o json (live) peak RSS", rss(LIVE_JSON), LIVE_MB, "MB", ""))
            out.append((f"{n}: targets -o json --pods FILE peak RSS", rss(FILE_JSON), FILE_MB, "MB", ""))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", help=f"sizes, comma-separated (default: {','.join(map(str, SIZES))})")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay of every request (default 20)")
    parser.add_argument("--kubectl-max-pods", type=int, default=10000, metavar="N",
                        help="run the kubectl yardstick up to N pods (default 10000: kubectl needs ~300 KB of "
                             "memory a pod); above, the yardstick is the raw listing")
    parser.add_argument("--plugin", default=None,
                        help="the plugin command (default: this checkout's source with the current python)")
    parser.add_argument("--server-mem-gb", type=float, default=2.0, metavar="GIB",
                        help="address-space cap of the fake API server (default 2)")
    parser.add_argument("--child-mem-gb", type=float, default=5.25, metavar="GIB",
                        help="address-space cap of each measured command (default 5.25; with the server's, "
                             "under 8 GB)")
    parser.add_argument("--kubectl-mem-gb", type=float, default=4.5, metavar="GIB",
                        help="resident-memory cap of kubectl (default 4.5; it needs about 2.8 GiB at 10,000 pods). "
                             f"Its address space is capped at {KUBECTL_ADDRESS_SPACE_GB} GiB only as a backstop: "
                             "kubectl reserves 4 GiB for its Starlark interpreter that it never touches")
    parser.add_argument("--timeout", type=float, default=0, metavar="S",
                        help="seconds each run may take (default: 120 + 12 a 1,000 pods; the server gets "
                             "11 times that)")
    args = parser.parse_args()
    stop_children_on_signals()
    if not shutil.which("kubectl"):
        print("bench/check.py: kubectl is not on PATH (it is the yardstick)", file=sys.stderr)
        return 2
    python = sys.executable
    plugin = args.plugin.split() if args.plugin else [python, "-m", "kubectl_linkerd_otel"]
    sizes = tuple(int(n) for n in args.pods.split(",")) if args.pods else SIZES
    results: List[Size] = []
    tree = Tree()
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        for n in sizes:
            with_kubectl = n <= args.kubectl_max_pods
            results.append(bench_size(n, args, plugin, python, work, with_kubectl, tree))
    print(f"\nprocess tree peak: {tree.peak / MB:.0f} MB ({tree.where}: the server, the largest command run next "
          f"to it and this process, {self_peak_rss() / MB:.0f} MB)")
    print("\nbudgets")
    missed = 0
    figures = budgets_for(results)
    if not figures:
        print("  none at these sizes (the budgets apply from 10,000 pods)")
    for label, value, budget, unit, note in figures:
        if value is None:
            missed += 1
            print(f"  {label:48} {'n/a':>8}    (budget {budget:.2f}{unit}) NOT MEASURED (a run did not finish)")
            continue
        ok = value <= budget
        missed += not ok
        suffix = f"  [{note}]" if note else ""
        print(f"  {label:48} {value:8.2f} {unit:2} (budget {budget:.2f}{unit}) {'MET' if ok else 'MISSED'}{suffix}")
    limits = [line for size in results for line in size.limits]
    failures = [line for size in results for line in size.failures]
    if limits:
        print(f"\nbench ended with {len(limits)} run(s) stopped by a limit:")
        for line in limits:
            print(f"  {line}")
    if failures:
        print(f"\nbench ended with {len(failures)} run(s) that failed or could not run:")
        for line in failures:
            print(f"  {line}")
    if limits:
        return 3
    if failures:
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
