"""cluster/uninstall.py against the fake API server: what is ours to delete, and when the namespace stays."""
from __future__ import annotations

from kubectl_linkerd_otel import naming
from kubectl_linkerd_otel.cluster import install as applier
from kubectl_linkerd_otel.cluster import uninstall as remover
from kubectl_linkerd_otel.k8s.kubeflags import KubeOptions
from kubectl_linkerd_otel.apiclient import Kube

from test_cluster_install import NS, options, run


def test_objects_to_delete_lists_ours_then_the_namespace_install_created(mesh_api):
    kube = Kube.connect(KubeOptions())
    try:
        run(kube, options())
        found, kept_because = remover.objects_to_delete(kube, NS)
        kinds = [plural for plural, _obj in found]
        assert kept_because == ""
        assert kinds[-1] == "namespaces"
        assert "deployments" in kinds and "clusterroles" in kinds
        assert remover.delete_objects(kube, found, dry_run=False, echo=lambda line: None) == len(found)
        assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is None
    finally:
        kube.close()


def test_a_namespace_with_something_else_in_it_is_kept_and_released(mesh_api):
    kube = Kube.connect(KubeOptions())
    try:
        run(kube, options())
        mesh_api.add({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "someone-elses", "namespace": NS}, "data": {}})
        found, kept_because = remover.objects_to_delete(kube, NS)
        assert "namespaces" not in [plural for plural, _obj in found]
        assert "configmap/someone-elses" in kept_because
        ns = remover.namespace_to_release(kube, NS, found)
        assert ns is not None and remover.our_namespace_labels(ns)
        after = remover.release_namespace(kube, ns, dry_run=False)
        assert remover.our_namespace_labels(after) == []
        assert mesh_api.get("configmaps", "someone-elses", NS) is not None
    finally:
        kube.close()


def test_a_namespace_that_existed_before_install_is_never_deleted(mesh_api):
    mesh_api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube = Kube.connect(KubeOptions())
    try:
        applier.install(kube, options(), linkerd_namespace=None, require_linkerd=True, server_dry_run=False,
                        force_conflicts=False, echo=lambda l: None, note=lambda l: None, inform=lambda l: None,
                        warn=lambda l: None)
        found, kept_because = remover.objects_to_delete(kube, NS)
        assert kept_because == "kept: it existed before install"
        assert "namespaces" not in [plural for plural, _obj in found]
    finally:
        kube.close()
