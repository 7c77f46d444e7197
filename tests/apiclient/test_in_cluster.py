"""In-cluster configuration, as when the plugin runs in a pod: no kubeconfig, the service account's token
and CA at their fixed paths, and KUBERNETES_SERVICE_HOST/PORT.

The fixed paths are made real in a private mount namespace (`unshare -m` with a tmpfs over /run), so the
plugin runs unmodified in a subprocess and talks TLS to a server that checks the token.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest
from tls_server import serve_tls

TOKEN = "in-cluster-token-7f3a"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture
def tls_api(tmp_path):
    seen = []

    def answer(request):
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        seen.append((request.path, token))
        # The API server's bearer authenticator compares the scheme case-insensitively; the client
        # library's in-cluster loader sends "bearer".
        if scheme.lower() != "bearer" or token != TOKEN:
            return 401, b'{"kind":"Status","code":401,"message":"Unauthorized"}'
        return 200, b'{"major":"1","minor":"33","gitVersion":"v1.33.4"}'

    with serve_tls(tmp_path, answer, common_name="kubernetes") as (port, cert):
        yield port, cert, seen


def run_in_pod(tmp_path, port, ca, token, *args):
    """Run the plugin with the service-account files mounted where a pod has them."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed to give the plugin a pod's file layout"
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(token)
    shutil.copy(ca, sa / "ca.crt")
    (sa / "namespace").write_text("observability")
    plugin = [sys.executable, "-m", "kubectl_linkerd_otel", *args]
    script = (f"mount -t tmpfs tmpfs /run && mkdir -p {SA_DIR} && cp {shlex.quote(str(sa))}/* {SA_DIR}/"
              f" && exec {' '.join(shlex.quote(a) for a in plugin)}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUBE")}
    env.update(HOME=str(tmp_path / "home"), KUBECONFIG=str(tmp_path / "no-kubeconfig"),
               KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT=str(port), NO_COLOR="1")
    return subprocess.run([unshare, "-m", "sh", "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)


def test_in_cluster_config_uses_the_service_account(tls_api, tmp_path):
    port, ca, seen = tls_api
    proc = run_in_pod(tmp_path, port, ca, TOKEN, "version")
    assert proc.returncode == 0, (proc.stderr, seen)
    assert "Server Version: v1.33.4" in proc.stdout
    assert ("/version", TOKEN) in seen
    assert TOKEN not in proc.stdout + proc.stderr


def test_in_cluster_with_a_rejected_token_is_one_line(tls_api, tmp_path):
    port, ca, seen = tls_api
    proc = run_in_pod(tmp_path, port, ca, "stale-token", "version")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert "401" in lines[0] or "credentials" in lines[0], lines[0]
    assert "stale-token" not in proc.stderr
    assert seen, "the plugin never reached the API server"
