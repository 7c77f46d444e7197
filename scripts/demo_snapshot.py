#!/usr/bin/env python3
"""Build the demo snapshot shipped in the package (src/kubectl_linkerd_otel/data/demo-snapshot.json.gz):
start the tests' fake API server loaded with the demo mesh (tests/demo_mesh.py), gather it with the real
cluster/gather.py, and write it in the snapshot format, credentials redacted.

    python scripts/demo_snapshot.py            write it
    python scripts/demo_snapshot.py --check    exit 1 when the shipped file is not what gather writes now

tests/snapshot/test_snapshot_demo.py runs the --check comparison, so the demo cannot drift from gather.
"""
from __future__ import annotations

import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "src"), os.path.join(REPO, "tests")]
SHIPPED = os.path.join(REPO, "src", "kubectl_linkerd_otel", "data", "demo-snapshot.json.gz")


def build() -> bytes:
    import demo_mesh
    from fakekube import FakeApiServer

    from kubectl_linkerd_otel import __version__
    from kubectl_linkerd_otel.cluster.gather import gather
    from kubectl_linkerd_otel.cluster.proxy_metrics import ProxyReads
    from kubectl_linkerd_otel.k8s.kubeflags import KubeOptions
    from kubectl_linkerd_otel.apiclient import Kube
    from kubectl_linkerd_otel.snapshot.fileformat import encode, manifest_for

    server = FakeApiServer().start()
    try:
        demo_mesh.load(server)
        with tempfile.TemporaryDirectory() as tmp:
            path = server.kubeconfig(os.path.join(tmp, "kubeconfig"), context="demo")
            kube = Kube.connect(KubeOptions(kubeconfig=path))
            try:
                snap = gather(kube, namespace=demo_mesh.NS, namespace_source="default", metrics_interval=0.0,
                              proxy_reads=ProxyReads(interval=0.0))
            finally:
                kube.close()
    finally:
        server.stop()
    if snap.errors or snap.client_error or snap.proxy_metrics_errors:
        raise SystemExit(f"the demo mesh could not be gathered: "
                         f"{snap.client_error or snap.errors or snap.proxy_metrics_errors}")
    snap.taken_at = demo_mesh.TAKEN_AT       # a fixed "now": the same mesh gives the same file
    for reads in snap.proxy_metrics.values():
        reads["first_at"], reads["second_at"] = demo_mesh.PROXY_READS_AT
    return encode(snap, manifest_for(snap, plugin_version=__version__, context="demo", source="demo"))


def main(argv) -> int:
    data = build()
    if "--check" in argv:
        with open(SHIPPED, "rb") as handle:
            same = handle.read() == data
        print("the demo snapshot is up to date" if same else
              "the demo snapshot differs from what gather writes: run python scripts/demo_snapshot.py")
        return 0 if same else 1
    with open(SHIPPED, "wb") as handle:
        handle.write(data)
    print(f"wrote {os.path.relpath(SHIPPED, REPO)} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
