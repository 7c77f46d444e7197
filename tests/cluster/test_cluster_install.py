"""cluster/install.py against the fake API server: what install() applies, keeps and refuses."""
from __future__ import annotations

import pytest

from kubectl_linkerd_otel import naming
from kubectl_linkerd_otel.cluster import install as applier
from kubectl_linkerd_otel.errors import PluginError
from kubectl_linkerd_otel.k8s.kubeflags import KubeOptions
from kubectl_linkerd_otel.apiclient import Kube
from kubectl_linkerd_otel.render.options import DEFAULT_IMAGE, InstallOptions

NS = "otel"


def options(**kw) -> InstallOptions:
    base = dict(namespace=NS, mode="deployment", image=DEFAULT_IMAGE,
                exporter_endpoint="otlp.backend.svc.cluster.local:4317", exporter_protocol="grpc",
                headers=[], secret_headers=[], insecure=True)
    base.update(kw)
    opts = InstallOptions(**base)
    opts.validate()
    return opts


def run(kube, opts, **kw):
    lines, notes, warnings = [], [], []
    result = applier.install(kube, opts, linkerd_namespace=kw.pop("linkerd_namespace", None),
                             require_linkerd=kw.pop("require_linkerd", True),
                             server_dry_run=kw.pop("server_dry_run", False), force_conflicts=False,
                             echo=lines.append, note=notes.append, inform=notes.append, warn=warnings.append)
    return result, lines, notes, warnings


@pytest.fixture
def kube(mesh_api):
    client = Kube.connect(KubeOptions())
    yield client
    client.close()


def test_install_applies_the_stack_workload_last_and_finds_linkerd(mesh_api, kube):
    opts = options()
    result, lines, _notes, _warnings = run(kube, opts)
    assert opts.linkerd_namespace == "linkerd"
    assert result.workload["kind"] == "Deployment"
    assert result.workload["metadata"]["name"] == naming.COLLECTOR_NAME
    assert result.policy == []
    assert all(line.endswith("created") for line in lines), lines
    assert mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS) is not None
    # a second run changes nothing
    again, lines, _n, _w = run(kube, options())
    assert {action for _obj, action in again.stack} == {"unchanged"}


def test_install_refuses_an_object_of_ours_by_name_that_it_did_not_create(mesh_api, kube):
    mesh_api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    mesh_api.add({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": naming.CONFIGMAP_NAME, "namespace": NS}, "data": {"mine": "x"}})
    with pytest.raises(PluginError, match="was not created by kubectl-linkerd-otel"):
        run(kube, options())
    assert mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"] == {"mine": "x"}
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is None


def test_a_server_dry_run_into_a_new_namespace_skips_what_cannot_be_validated(mesh_api, kube):
    result, _lines, notes, _w = run(kube, options(), server_dry_run=True)
    assert any("does not exist yet" in n for n in notes)
    assert mesh_api.get("namespaces", NS) is None


def test_linkerd_missing_is_an_error_unless_not_required(fake_api):
    client = Kube.connect(KubeOptions())
    try:
        with pytest.raises(PluginError, match="Linkerd is not installed"):
            applier.detect_linkerd_namespace(client, None, required=True)
        assert applier.detect_linkerd_namespace(client, None, required=False) == "linkerd"
    finally:
        client.close()
