"""The cluster door against the fake API server, through the real client stack over HTTP."""
from __future__ import annotations

import os
import stat
import sys

import pytest
import yaml

from kubectl_linkerd_otel import errors
from kubectl_linkerd_otel.apiclient import Kube, KubeOptions

COLLECTOR_POD = "otel-collector-857df6bd6f-b84jg"


def connect(**kwargs) -> Kube:
    return Kube.connect(KubeOptions(**kwargs))


def test_list_pages_through_every_item(mesh_api):
    pods = connect().list("pods", limit=5)
    assert len(pods) == 12
    pages = mesh_api.requests_to(r"^/api/v1/pods$")
    assert len(pages) == 3
    assert [r.query.get("continue") is not None for r in pages] == [False, True, True]
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in pods)


def test_list_restarts_once_when_the_continue_token_expired(mesh_api):
    mesh_api.expire_continue_tokens = 1
    pods = connect().list("pods", limit=5)
    assert sorted(p["metadata"]["name"] for p in pods) == sorted(
        p["metadata"]["name"] for p in mesh_api.objects("pods"))


def test_label_and_field_selectors(mesh_api):
    kube = connect()
    meshed = kube.list("pods", label_selector="linkerd.io/control-plane-ns")
    assert {p["metadata"]["namespace"] for p in meshed} == {"emojivoto", "linkerd", "other-mesh"}
    other = kube.list("pods", label_selector="linkerd.io/control-plane-ns notin (linkerd)")
    assert [p["metadata"]["namespace"] for p in other if "linkerd.io/control-plane-ns"
            in p["metadata"].get("labels", {})] == ["other-mesh"]
    done = kube.list("pods", "emojivoto", field_selector="status.phase=Succeeded")
    assert [p["metadata"]["name"] for p in done] == ["hello-px6k6"]


def test_get_and_not_found(mesh_api):
    kube = connect()
    assert kube.get("configmaps", "otel-collector-config", "observability")["data"]["config.yaml"]
    with pytest.raises(errors.NotFound, match='ConfigMap "nope" not found in namespace observability'):
        kube.get("configmaps", "nope", "observability")
    assert kube.get_or_none("deployments", "nope", "observability") is None


def _cm(value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "observability"}, "data": {"k": value}}


def test_apply_reports_created_unchanged_configured(fake_api):
    kube = connect()
    assert kube.apply(_cm("1")).action == "created"
    assert kube.apply(_cm("1")).action == "unchanged"
    assert kube.apply(_cm("2")).action == "configured"
    assert fake_api.get("configmaps", "settings", "observability")["data"] == {"k": "2"}
    patch = fake_api.requests_to("/configmaps/settings", "PATCH")[-1]
    assert patch.headers["Content-Type"] == "application/apply-patch+yaml"
    assert patch.query == {"fieldManager": "kubectl-linkerd-otel", "force": "false"}


def test_apply_conflict_names_field_and_manager_and_force_overrides(fake_api):
    kube = connect()
    kube.apply(_cm("1"))
    fake_api.update_as("kubectl-edit", "configmaps", "settings", "observability", {"data": {"k": "x"}})
    with pytest.raises(errors.Conflict) as caught:
        kube.apply(_cm("2"))
    assert caught.value.causes == [{"field": ".data.k", "manager": "kubectl-edit",
                                    "message": 'conflict with "kubectl-edit"'}]
    assert fake_api.get("configmaps", "settings", "observability")["data"] == {"k": "x"}
    assert kube.apply(_cm("2"), force=True).action == "configured"
    assert fake_api.get("configmaps", "settings", "observability")["data"] == {"k": "2"}


def test_server_side_dry_run_changes_nothing(fake_api):
    kube = connect()
    result = kube.apply(_cm("1"), dry_run=True)
    assert result.action == "created" and result.object["data"] == {"k": "1"}
    assert fake_api.get("configmaps", "settings", "observability") is None
    assert fake_api.requests_to("/configmaps/settings", "PATCH")[-1].query["dryRun"] == "All"


def test_delete(fake_api):
    kube = connect()
    kube.apply(_cm("1"))
    assert kube.delete("configmaps", "settings", "observability") is True
    assert kube.delete("configmaps", "settings", "observability") is False
    assert fake_api.get("configmaps", "settings", "observability") is None


def test_pod_logs_with_container_and_tail(mesh_api):
    mesh_api.set_logs("observability", COLLECTOR_POD, "otel-collector", "one\ntwo\nthree\n")
    kube = connect()
    assert kube.pod_logs("observability", COLLECTOR_POD, container="otel-collector",
                         tail_lines=2, since_seconds=600) == "two\nthree\n"
    request = mesh_api.requests_to("/log$")[-1]
    assert request.query == {"container": "otel-collector", "tailLines": "2", "sinceSeconds": "600"}


def test_pod_proxy_get_returns_the_pods_answer(mesh_api):
    mesh_api.set_proxy("observability", COLLECTOR_POD, 9090, "api/v1/targets",
                       body=lambda q: '{"status":"success","state":"%s"}' % q.get("state"))
    kube = connect()
    answer = kube.proxy_get("observability", COLLECTOR_POD, 9090, "/api/v1/targets?state=any")
    assert answer.status == 200 and answer.text == '{"status":"success","state":"any"}'
    refused = kube.proxy_get("observability", COLLECTOR_POD, 8888, "/metrics")
    assert refused.status == 503 and "connection refused" in refused.text


def test_subject_access_review(fake_api):
    sa = "system:serviceaccount:observability:otel-collector"
    fake_api.allow(sa, "list", "pods")
    kube = connect()
    assert kube.access_review(user=sa, verb="list", resource="pods").allowed is True
    assert kube.access_review(user=sa, verb="list", resource="secrets",
                              namespace="default").allowed is False
    body = yaml.safe_load(fake_api.requests_to("subjectaccessreviews")[-1].body)
    assert body["spec"]["resourceAttributes"] == {"verb": "list", "resource": "secrets",
                                                  "group": "", "namespace": "default"}


@pytest.mark.parametrize("status", [429, 503, 500, 504])
def test_retries_throttling_and_server_errors(fake_api, status):
    fake_api.fail(status, times=2, path="^/version$", retry_after="0" if status == 429 else None)
    assert connect().version()["gitVersion"] == "v1.31.2"
    assert len(fake_api.requests_to("^/version$")) == 3


def test_retry_after_is_honoured(fake_api):
    import time

    fake_api.fail(429, times=1, path="^/version$", retry_after="1")
    start = time.monotonic()
    connect().version()
    assert time.monotonic() - start >= 1.0


def test_retries_a_dropped_connection(fake_api):
    fake_api.drop(times=1, path="^/version$")
    assert connect().version()["gitVersion"] == "v1.31.2"
    assert len(fake_api.requests_to("^/version$")) == 2


def test_retries_stop_at_the_request_timeout(fake_api):
    fake_api.fail(503, times=None, path="^/version$")
    with pytest.raises(errors.ApiStatusError, match="answered 503"):
        connect(request_timeout=1.0).version()


def test_impersonation_headers(fake_api):
    connect(as_user="jane", as_groups=["devs", "ops"]).version()
    sent = fake_api.requests_to("^/version$")[-1].headers
    assert sent["Impersonate-User"] == "jane"
    assert sent["Impersonate-Group"] in ("devs", "ops")


def _kubeconfig(path, *, current, contexts, server, cluster="c"):
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": current,
           "clusters": [{"name": cluster, "cluster": {"server": server}}],
           "users": [{"name": "u", "user": {"token": "test-token"}}],
           "contexts": [{"name": n, "context": {"cluster": cluster, "user": "u"}} for n in contexts]}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_first_kubeconfig_file_sets_the_current_context(fake_api, tmp_path, monkeypatch):
    first = _kubeconfig(tmp_path / "a", current="first", contexts=["first"], server=fake_api.url)
    second = _kubeconfig(tmp_path / "b", current="second", contexts=["second"],
                         server="http://127.0.0.1:9", cluster="other")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, second]))
    kube = connect()
    assert kube.context == "first"
    assert kube.version()["gitVersion"] == "v1.31.2"
    # the second file's context is still usable by name, as with kubectl
    assert connect(context="second").server_url == "http://127.0.0.1:9"


def test_first_file_wins_for_clusters_of_the_same_name(fake_api, tmp_path, monkeypatch):
    first = _kubeconfig(tmp_path / "a", current="", contexts=[], server=fake_api.url)
    second = _kubeconfig(tmp_path / "b", current="x", contexts=["x"], server="http://127.0.0.1:9")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, second]))
    assert connect().server_url == fake_api.url


def test_exec_credential_plugin(fake_api_tls, tmp_path, monkeypatch):
    fake_api = fake_api_tls   # kubectl runs credential plugins only for an https:// server
    fake_api.token = "from-exec-plugin"
    plugin = tmp_path / "cred-plugin"
    plugin.write_text("#!%s\nimport json\nprint(json.dumps({'apiVersion': "
                      "'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
                      "'status': {'token': 'from-exec-plugin'}}))\n" % sys.executable)
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
           "clusters": [{"name": "c", "cluster": {"server": fake_api.url,
                                                  "certificate-authority": fake_api.ca_file}}],
           "users": [{"name": "u", "user": {"exec": {
               "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
               "interactiveMode": "Never"}}}],
           "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}
    (tmp_path / "kc").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kc"))
    assert connect().version()["gitVersion"] == "v1.31.2"


def test_failing_exec_plugin_is_a_kubeconfig_error(fake_api_tls, tmp_path, monkeypatch):
    # over TLS: kubectl (and the plugin) run no credential plugin for a plain-http server
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
           "clusters": [{"name": "c", "cluster": {"server": fake_api_tls.url,
                                                  "certificate-authority": fake_api_tls.ca_file}}],
           "users": [{"name": "u", "user": {"exec": {
               "apiVersion": "client.authentication.k8s.io/v1",
               "command": str(tmp_path / "no-such-plugin"), "interactiveMode": "Never"}}}],
           "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}
    (tmp_path / "kc").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kc"))
    with pytest.raises(errors.KubeconfigError, match="credential plugin .*no-such-plugin.* failed"):
        connect()
