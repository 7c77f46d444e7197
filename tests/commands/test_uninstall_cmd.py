"""`uninstall` against the fake API server."""
from __future__ import annotations

import pytest
import yaml
from helpers import run_cli

from kubectl_linkerd_otel import naming

NS = "observability"
RBAC = naming.cluster_rbac_name(NS)      # linkerd-otel-collector-observability
INSTALL = ["install", "-o", "text", "--wait=false"]


def _deletes(api):
    return [r for r in api.requests if r.method == "DELETE"]


def _writes_since(api, count):
    return [r for r in api.requests[count:] if r.method in ("PATCH", "DELETE", "PUT", "POST")]


def test_removes_ours_and_leaves_an_unrelated_configmap(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.stderr
    for resource, name in (("deployments", naming.COLLECTOR_NAME), ("configmaps", naming.CONFIGMAP_NAME),
                           ("secrets", naming.SECRET_NAME), ("serviceaccounts", naming.COLLECTOR_NAME)):
        assert mesh_api.get(resource, name, NS) is None, resource
    assert mesh_api.get("clusterroles", RBAC) is None
    assert mesh_api.get("clusterrolebindings", RBAC) is None
    # the reference setup's ConfigMap is not ours: it stays, and so does the namespace
    assert mesh_api.get("configmaps", naming.REFERENCE_CONFIGMAP, NS) is not None
    assert mesh_api.get("namespaces", NS) is not None
    assert "deployment.apps/linkerd-otel-collector deleted" in result.stdout
    assert "namespace/observability deleted" not in result.stdout
    assert result.stdout.splitlines()[-1] == \
        "namespace/observability unlabeled (kept: it existed before install)"


def test_kept_namespace_loses_our_labels_and_keeps_the_others(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    mesh_api.update_as("kubectl-label", "namespaces", NS, None, {"metadata": {"labels": {"team": "obs"}}})
    assert mesh_api.get("namespaces", NS)["metadata"]["labels"][naming.EXTENSION_LABEL] == "otel"
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.stderr
    labels = mesh_api.get("namespaces", NS)["metadata"]["labels"]
    # linkerd check no longer runs `linkerd-otel check` for it; labels we did not set stay
    assert labels == {"kubernetes.io/metadata.name": NS, "team": "obs"}
    assert "Warning" not in result.stderr
    # a second uninstall finds nothing left to do
    again = run_cli("uninstall", "-o", "text")
    assert again.exit_code == 0 and "nothing to uninstall" in again.stderr
    assert again.stdout == ""


def test_an_extension_label_someone_else_owns_is_named_not_removed(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    mesh_api.update_as("kubectl-label", "namespaces", NS, None,
                       {"metadata": {"labels": {naming.EXTENSION_LABEL: "otel"}}})
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.stderr
    labels = mesh_api.get("namespaces", NS)["metadata"]["labels"]
    assert labels[naming.EXTENSION_LABEL] == "otel"
    assert "app.kubernetes.io/managed-by" not in labels
    assert "Warning: namespace observability keeps the labels linkerd.io/extension" in result.stderr
    assert "kubectl label namespace observability linkerd.io/extension-" in result.stderr


def test_dry_run_names_the_namespace_it_would_unlabel(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    installed = len(mesh_api.requests)
    result = run_cli("uninstall", "--dry-run", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert "namespace/observability unlabeled (dry run; kept: it existed before install)" in result.stdout
    assert mesh_api.get("namespaces", NS)["metadata"]["labels"][naming.EXTENSION_LABEL] == "otel"
    assert _writes_since(mesh_api, installed) == []


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
    assert f"clusterrole.rbac.authorization.k8s.io/{RBAC} deleted (dry run)" in result.stdout
    assert _deletes(mesh_api) == []
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is not None


def test_piped_stdout_prints_references_for_kubectl_delete(mesh_api):
    assert run_cli(*INSTALL, "--exporter-endpoint", "o:4317", "--basic-auth", "u:Pa55word",
                   "--skip-credentials-check").exit_code == 0
    installed = len(mesh_api.requests)
    result = run_cli("uninstall")     # not a terminal: `linkerd-otel uninstall | kubectl delete -f -`
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    refs = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Secret", naming.SECRET_NAME) in refs and ("ClusterRole", RBAC) in refs
    assert all(set(d) == {"apiVersion", "kind", "metadata"} for d in docs)
    assert "Pa55word" not in result.stdout and "\ndata:" not in result.stdout
    assert _writes_since(mesh_api, installed) == []
    # like install, it says on stderr why it printed instead of deleting
    assert "Note: stdout is not a terminal: printing the objects to delete instead of deleting them" \
        in result.stderr and "-o text" in result.stderr
    # the kept namespace's labels cannot go through `kubectl delete -f -`: the note says how
    assert "kubectl label namespace observability linkerd.io/extension-" in result.stderr


def test_explicit_output_prints_without_the_terminal_note(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    result = run_cli("uninstall", "-o", "yaml")
    assert result.exit_code == 0, result.stderr
    assert "kind: Deployment" in result.stdout
    assert "not a terminal" not in result.stderr


@pytest.mark.parametrize("flag,deletes", [
    ("--dry-run", False), ("--dry-run=true", False), ("--dry-run=client", False),
    ("--dry-run=false", True), ("--dry-run=none", True),
])
def test_dry_run_takes_an_optional_value(mesh_api, flag, deletes):
    assert run_cli(*INSTALL).exit_code == 0
    result = run_cli("uninstall", "-o", "text", flag)
    assert result.exit_code == 0, result.stderr
    assert (mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is None) is deletes
    assert ("(dry run)" in result.stdout) is not deletes


def test_nothing_to_uninstall(mesh_api):
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0
    assert "nothing to uninstall" in result.stderr
    assert _deletes(mesh_api) == []


def test_uninstall_of_one_namespace_keeps_the_other_namespaces_cluster_rbac(mesh_api):
    for ns in ("team-a", "team-b"):
        assert run_cli(*INSTALL, "-n", ns).exit_code == 0
    result = run_cli("uninstall", "-n", "team-b", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert mesh_api.get("clusterrolebindings", "linkerd-otel-collector-team-b") is None
    assert mesh_api.get("clusterroles", "linkerd-otel-collector-team-b") is None
    binding = mesh_api.get("clusterrolebindings", "linkerd-otel-collector-team-a")
    assert binding["subjects"][0]["namespace"] == "team-a"
    assert mesh_api.get("clusterroles", binding["roleRef"]["name"]) is not None
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, "team-a") is not None
    assert "team-a" not in result.stdout


def test_cluster_rbac_is_selected_by_label_not_by_name(mesh_api):
    """A ClusterRole of ours whose name looks like this namespace's but whose label says another
    namespace stays."""
    assert run_cli(*INSTALL).exit_code == 0
    role = mesh_api.get("clusterroles", RBAC)
    role["metadata"] = {"name": "linkerd-otel-collector-observability-old",
                        "labels": dict(role["metadata"]["labels"],
                                       **{naming.COLLECTOR_NAMESPACE_LABEL: "elsewhere"})}
    mesh_api.add(role)
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert mesh_api.get("clusterroles", RBAC) is None
    assert mesh_api.get("clusterroles", "linkerd-otel-collector-observability-old") is not None


def _control_plane(api):
    api.add({"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "linkerd", "labels": {"linkerd.io/is-control-plane": "true"}}})


@pytest.fixture
def installed_in_new_namespace(fake_api):
    """A control plane, and the stack installed into `otel`, a namespace install created."""
    _control_plane(fake_api)
    assert run_cli(*INSTALL, "-n", "otel").exit_code == 0
    return fake_api


@pytest.mark.parametrize("occupant,described", [
    ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "nightly-backup", "namespace": "otel"}},
     "job.batch/nightly-backup"),
    ({"apiVersion": "policy.linkerd.io/v1beta3", "kind": "Server",
      "metadata": {"name": "prom", "namespace": "otel"}}, "server.policy.linkerd.io/prom"),
    ({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "otel"}},
     "persistentvolumeclaim/data"),
])
def test_a_namespace_install_created_stays_while_any_kind_of_object_lives_in_it(
        installed_in_new_namespace, occupant, described):
    fake_api = installed_in_new_namespace
    fake_api.add(occupant)
    result = run_cli("uninstall", "-n", "otel", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert fake_api.get("namespaces", "otel") is not None
    assert "namespace/otel deleted" not in result.stdout
    assert result.stdout.splitlines()[-1] == \
        f"namespace/otel unlabeled (kept: other objects live in it ({described}))"


def test_events_and_what_our_workload_made_do_not_keep_the_namespace(installed_in_new_namespace):
    fake_api = installed_in_new_namespace
    deployment = fake_api.get("deployments", naming.COLLECTOR_NAME, "otel")
    rs_name = f"{naming.COLLECTOR_NAME}-5d8f7c9b4"
    fake_api.add({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": rs_name, "namespace": "otel", "ownerReferences": [
                      {"apiVersion": "apps/v1", "kind": "Deployment", "name": naming.COLLECTOR_NAME,
                       "uid": deployment["metadata"].get("uid", "u")}]}})
    fake_api.add({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": f"{rs_name}-x7k2p", "namespace": "otel", "ownerReferences": [
                      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": "r"}]}})
    fake_api.add({"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": f"{rs_name}-x7k2p.1", "namespace": "otel"}})
    result = run_cli("uninstall", "-n", "otel", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "namespace/otel deleted"


def test_a_namespace_is_kept_when_discovery_cannot_be_completed(installed_in_new_namespace):
    fake_api = installed_in_new_namespace
    fake_api.fail(503, times=None, path="^/apis/policy.linkerd.io/v1alpha1$")
    result = run_cli("uninstall", "-n", "otel", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert fake_api.get("namespaces", "otel") is not None
    assert result.stdout.splitlines()[-1] == (
        "namespace/otel unlabeled (kept: could not make sure nothing else lives in it "
        "(policy.linkerd.io/v1alpha1 did not answer))")


def test_a_namespace_that_existed_before_install_is_never_deleted(fake_api):
    _control_plane(fake_api)
    fake_api.add({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "obs", "labels": {"app.kubernetes.io/managed-by": "Helm",
                                                         "app.kubernetes.io/name": "obs"}}})
    result = run_cli(*INSTALL, "-n", "obs")
    assert result.exit_code == 0, result.stderr
    labels = fake_api.get("namespaces", "obs")["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "Helm" and labels["app.kubernetes.io/name"] == "obs"
    assert labels[naming.EXTENSION_LABEL] == "otel"
    result = run_cli("uninstall", "-n", "obs", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "namespace/obs unlabeled (kept: it existed before install)"
    labels = fake_api.get("namespaces", "obs")["metadata"]["labels"]
    assert naming.EXTENSION_LABEL not in labels and labels["app.kubernetes.io/managed-by"] == "Helm"


def test_a_failed_delete_says_what_was_deleted_and_what_to_do(mesh_api):
    assert run_cli(*INSTALL).exit_code == 0
    mesh_api.fail(500, times=None, path=f"/configmaps/{naming.CONFIGMAP_NAME}$", method="DELETE")
    result = run_cli("uninstall", "-o", "text", "--request-timeout", "2s")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "run uninstall again" in lines[0], result.stderr
    assert "objects were deleted before it" in lines[0]


def test_metrics_server_being_down_does_not_keep_the_namespace(installed_in_new_namespace):
    fake_api = installed_in_new_namespace
    fake_api.fail(503, times=None, path="^/apis/metrics.k8s.io/")
    result = run_cli("uninstall", "-n", "otel", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "namespace/otel deleted"
