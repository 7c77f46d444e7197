#!/usr/bin/env python3
"""`check` and `targets` on a large mesh, next to `kubectl get pods -A -o json` against the same server.

Starts the tests' fake API server in its own process (bench/fakeserver.py) with N meshed pods over N/20
namespaces, the harness control plane and a collector whose receiver reports the targets, every request
delayed by --latency-ms. For each size it runs, each in its own process:
  kubectl get pods -A -o json     the yardstick (real kubectl, same server, same latency)
  check -o json                   the whole diagnosis
  targets -o json / table         live (pods and the receiver's answer from the server)
  targets -o json / table --pods  from the file kubectl wrote
  python json.load(file)          the yardstick of the file runs
and prints wall time, API requests made and peak RSS for each; then every ratio against its budget.
Exit status 1 when a budget is missed.

    python bench/check.py [--pods N] [--latency-ms 20] [--kubectl-max-pods N] [--plugin CMD]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
SIZES = (1000, 10000, 50000)
MB = 1024 * 1024


def run(argv, env, stdout=subprocess.DEVNULL):
    """(wall seconds, peak RSS bytes, exit code) of one process."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        print(f"  ! {' '.join(map(str, argv[:4]))}... exited {proc.returncode}: {err.strip()[-300:]}", file=sys.stderr)
    return took, usage.ru_maxrss * 1024, proc.returncode


def requests(url: str, reset: bool = True) -> int:
    with urllib.request.urlopen(f"{url}/_fake/requests{'?reset=1' if reset else ''}") as answer:
        return json.load(answer)["count"]


def bench_size(n: int, latency_ms: float, plugin, python: str, work: Path, with_kubectl: bool = True) -> list:
    server = subprocess.Popen([python, str(REPO / "bench" / "fakeserver.py"), "--pods", str(n),
                               "--latency-ms", str(latency_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        info = json.loads(server.stdout.readline())
        url = info["url"]
        kubeconfig = work / f"kubeconfig-{n}"
        kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "bench", "cluster": {"server": url}}],
            "users": [{"name": "bench", "user": {"token": info["token"]}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench",
                                                        "namespace": "observability"}}]}))
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(work / "home"),
                   PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("KUBERNETES_SERVICE_HOST", None)
        pods_file = work / f"pods-{n}.json"
        sys.path.insert(0, str(REPO / "tests"))
        import scenarios
        config_file = work / "config.yaml"
        config_file.write_text(scenarios.HEALTHY_CONFIG)

        rows = []
        requests(url)
        if with_kubectl:
            with open(pods_file, "wb") as out:
                rows.append(("kubectl get pods -A -o json",) + run(["kubectl", "get", "pods", "-A", "-o", "json"],
                                                                   env, stdout=out) + (requests(url),))
        else:   # the same list, written by the plugin's own client (kubectl's memory grows ~300 KB a pod),
            # in a process of its own: a child forked from a big parent counts the parent's pages in its
            # peak RSS
            subprocess.run([python, "-c", "import json, sys\n"
                            "from kubectl_linkerd_otel.kube import Kube, KubeOptions\n"
                            "json.dump({'apiVersion': 'v1', 'kind': 'List', 'items': "
                            "Kube.connect(KubeOptions()).list('pods')}, open(sys.argv[1], 'w'), indent=4)",
                            str(pods_file)], env=env, check=True)
            requests(url)
        cases = [
            ("check -o json", ["check", "-o", "json", "--metrics-interval=0s"]),
            ("targets -o json (live)", ["targets", "-o", "json"]),
            ("targets (live, table)", ["targets"]),
            ("targets -o json --pods FILE", ["targets", "-o", "json", "--pods", str(pods_file),
                                             "--config", str(config_file)]),
            ("targets --pods FILE (table)", ["targets", "--pods", str(pods_file), "--config", str(config_file)]),
        ]
        for label, args in cases:
            rows.append((label,) + run(plugin + args, env) + (requests(url),))
        rows.append(("python json.load(FILE)",) + run(
            [python, "-c", f"import json; json.load(open({str(pods_file)!r}, 'rb'))"], env) + (0,))
        size_mb = pods_file.stat().st_size / MB
        pods_file.unlink()
        print(f"\n{n} meshed pods in {n // 20} namespaces, {latency_ms:g} ms per request, "
              f"{info['active_targets']} active targets, pods file {size_mb:.0f} MB")
        print(f"  {'run':32} {'wall s':>8} {'peak RSS MB':>12} {'requests':>9} {'exit':>5}")
        for label, took, rss, code, count in rows:
            print(f"  {label:32} {took:8.2f} {rss / MB:12.0f} {count:9d} {code:5d}")
        return rows
    finally:
        server.stdin.close()
        server.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, help=f"one size (default: {', '.join(map(str, SIZES))})")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay of every request (default 20)")
    parser.add_argument("--kubectl-max-pods", type=int, default=None, metavar="N",
                        help="skip the kubectl yardstick above N pods (kubectl needs ~300 KB of memory a pod)")
    parser.add_argument("--plugin", default=None,
                        help="the plugin command (default: this checkout's source with the current python)")
    args = parser.parse_args()
    if not shutil.which("kubectl"):
        print("bench/check.py: kubectl is not on PATH (it is the yardstick)", file=sys.stderr)
        return 2
    python = sys.executable
    plugin = args.plugin.split() if args.plugin else [python, "-m", "kubectl_linkerd_otel"]
    sizes = (args.pods,) if args.pods else SIZES
    budgets = []
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        for n in sizes:
            with_kubectl = args.kubectl_max_pods is None or n <= args.kubectl_max_pods
            rows = {label: (took, rss, count) for label, took, rss, _code, count in
                    bench_size(n, args.latency_ms, plugin, python, work, with_kubectl)}
            kubectl = rows.get("kubectl get pods -A -o json", (0,))[0]
            load = rows["python json.load(FILE)"][0]
            if n >= 10000 and with_kubectl:
                budgets.append((f"{n}: check / kubectl get pods", rows["check -o json"][0] / kubectl, 2.0, "x"))
            if n >= 10000:
                budgets.append((f"{n}: targets -o json --pods FILE / json.load",
                                rows["targets -o json --pods FILE"][0] / load, 3.0, "x"))
            if n >= 50000:
                budgets.append((f"{n}: check peak RSS", rows["check -o json"][1] / MB, 300, "MB"))
                budgets.append((f"{n}: targets -o json (live) peak RSS", rows["targets -o json (live)"][1] / MB,
                                1024, "MB"))
                budgets.append((f"{n}: targets -o json --pods FILE peak RSS",
                                rows["targets -o json --pods FILE"][1] / MB, 1024, "MB"))
    print("\nbudgets")
    missed = 0
    for label, value, limit, unit in budgets:
        ok = value <= limit
        missed += not ok
        print(f"  {label:48} {value:8.2f} {unit:2} (budget {limit:g}{unit}) {'ok' if ok else 'MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
