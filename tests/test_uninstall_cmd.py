"""`uninstall` against the fake API server."""
from __future__ import annotations

import yaml
from helpers import run_cli

from kubectl_linkerd_otel import naming

NS = "observability"
INSTALL = ["install", "-o", "text", "--wait=false"]


def _deletes(api):
    return [r for r in api.requests if r.method == "DELETE"]


def test_removes_ours_and_leaves_an_unrelated_configmap(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.stderr
    for resource, name in (("deployments", naming.COLLECTOR_NAME), ("configmaps", naming.CONFIGMAP_NAME),
                           ("secrets", naming.SECRET_NAME), ("serviceaccounts", naming.COLLECTOR_NAME)):
        assert mesh_api.get(resource, name, NS) is None, resource
    assert mesh_api.get("clusterroles", naming.COLLECTOR_NAME) is None
    assert mesh_api.get("clusterrolebindings", naming.COLLECTOR_NAME) is None
    # the reference setup's ConfigMap is not ours: it stays, and so does the namespace
    assert mesh_api.get("configmaps", naming.REFERENCE_CONFIGMAP, NS) is not None
    assert mesh_api.get("namespaces", NS) is not None
    assert "deployment.apps/linkerd-otel-collector deleted" in result.stdout
    assert "namespace/" not in result.stdout


def test_deletes_the_namespace_when_nothing_else_lives_in_it(fake_api):
    fake_api.add({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "linkerd", "labels": {"linkerd.io/is-control-plane": "true"}}})
    assert run_cli(*INSTALL, "-n", "otel").exit_code == 0
    fake_api.add({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kube-root-ca.crt", "namespace": "otel"}, "data": {}})
    fake_api.add({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": "default", "namespace": "otel"}})
    result = run_cli("uninstall", "-n", "otel", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "namespace/otel deleted"
    assert fake_api.get("namespaces", "otel") is None
    assert fake_api.get("namespaces", "linkerd") is not None


def test_dry_run_lists_and_deletes_nothing(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    result = run_cli("uninstall", "--dry-run", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert "deployment.apps/linkerd-otel-collector deleted (dry run)" in result.stdout
    assert "clusterrole.rbac.authorization.k8s.io/linkerd-otel-collector deleted (dry run)" in result.stdout
    assert _deletes(mesh_api) == []
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is not None


def test_piped_stdout_prints_references_for_kubectl_delete(mesh_api):
    assert run_cli(*INSTALL, "--exporter-endpoint", "o:4317", "--basic-auth", "u:Pa55word").exit_code == 0
    result = run_cli("uninstall")     # not a terminal: `linkerd-otel uninstall | kubectl delete -f -`
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    refs = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Secret", naming.SECRET_NAME) in refs and ("ClusterRole", naming.COLLECTOR_NAME) in refs
    assert all(set(d) == {"apiVersion", "kind", "metadata"} for d in docs)
    assert "Pa55word" not in result.stdout and "\ndata:" not in result.stdout
    assert _deletes(mesh_api) == []


def test_nothing_to_uninstall(mesh_api):
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0
    assert "nothing to uninstall" in result.stderr
    assert _deletes(mesh_api) == []


def test_cluster_rbac_of_another_install_is_kept(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    other = mesh_api.get("clusterrolebindings", naming.COLLECTOR_NAME)
    other["metadata"] = {"name": "linkerd-otel-collector-elsewhere",
                         "labels": other["metadata"]["labels"]}
    other["subjects"][0]["namespace"] = "elsewhere"
    mesh_api.add(other)
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert mesh_api.get("clusterrolebindings", naming.COLLECTOR_NAME) is None
    assert mesh_api.get("clusterrolebindings", "linkerd-otel-collector-elsewhere") is not None
    # the ClusterRole is still bound for the other namespace's collector
    assert mesh_api.get("clusterroles", naming.COLLECTOR_NAME) is not None
