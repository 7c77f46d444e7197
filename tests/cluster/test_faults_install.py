"""An `install` cut off halfway (the API server stops answering) leaves a state that a second `install`
completes, and that `uninstall` removes."""
from __future__ import annotations

import pytest
from helpers import run_cli

from kubectl_linkerd_otel import naming

NS = "observability"
APPLY = ["install", "-o", "text", "--wait=false", "--request-timeout=3s"]
OURS = [("serviceaccounts", naming.COLLECTOR_NAME, NS),
        ("clusterroles", naming.cluster_rbac_name(NS), None),
        ("clusterrolebindings", naming.cluster_rbac_name(NS), None),
        ("secrets", naming.SECRET_NAME, NS),
        ("configmaps", naming.CONFIGMAP_NAME, NS),
        ("deployments", naming.COLLECTOR_NAME, NS)]


def _cut_after(api, kind: str, how: str) -> None:
    """Once an object of `kind` is applied, the server stops answering (every request after it)."""
    def stop(server, _obj):
        if how == "drop":
            server.drop(times=None)
        else:
            server.stall()
    api.on_apply(kind, stop)


def _present(api):
    return [(resource, name) for resource, name, ns in OURS if api.get(resource, name, ns) is not None]


def _one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("how", ["drop", "stall"])
def test_second_install_completes_a_cut_install(mesh_api, how):
    _cut_after(mesh_api, "ClusterRole", how)
    first = run_cli(*APPLY)
    _one_line_error(first)
    made = _present(mesh_api)
    assert ("clusterroles", naming.cluster_rbac_name(NS)) in made
    assert ("deployments", naming.COLLECTOR_NAME) not in made           # cut before the end indeed
    mesh_api.faults.clear()
    mesh_api.apply_hooks.clear()
    again = run_cli(*APPLY)
    assert again.exit_code == 0, again.output
    assert _present(mesh_api) == [(r, n) for r, n, _ in OURS]
    lines = again.stdout.splitlines()
    assert "deployment.apps/linkerd-otel-collector created" in lines
    assert f"clusterrole.rbac.authorization.k8s.io/{naming.cluster_rbac_name(NS)} unchanged" in lines
    # and it is the same cluster state a clean install gives: a third run changes nothing
    third = run_cli(*APPLY)
    assert third.exit_code == 0 and all(line.split(" ", 1)[1].startswith("unchanged")
                                        for line in third.stdout.splitlines()), third.stdout


def test_uninstall_after_a_cut_install_removes_what_was_made(mesh_api):
    _cut_after(mesh_api, "Secret", "drop")
    _one_line_error(run_cli(*APPLY))
    made = _present(mesh_api)
    assert ("secrets", naming.SECRET_NAME) in made and ("deployments", naming.COLLECTOR_NAME) not in made
    mesh_api.faults.clear()
    mesh_api.apply_hooks.clear()
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.output
    assert _present(mesh_api) == []
    for resource, name in made:
        assert any(name in line and "deleted" in line for line in result.stdout.splitlines()), (name, result.stdout)
    # what was not ours stays: the reference collector and the namespace that existed before
    assert mesh_api.get("configmaps", naming.REFERENCE_CONFIGMAP, NS) is not None
    assert mesh_api.get("namespaces", NS) is not None


def test_install_cut_before_anything_is_applied_changes_nothing(mesh_api):
    mesh_api.drop(times=None, path="^/apis?/")
    result = run_cli(*APPLY)
    _one_line_error(result)
    assert _present(mesh_api) == []
