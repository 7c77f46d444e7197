"""Finding the collector among the objects of its namespace."""
from conftest import load_fixture

from kubectl_linkerd_otel import naming
from kubectl_linkerd_otel.collector.locate import locate, static_env


def objects():
    deployments = [d for d in load_fixture("harness-mesh-deployments.json")["items"]
                   if d["metadata"]["namespace"] == "observability"]
    pods = [p for p in load_fixture("harness-mesh-pods.json")["items"] if p["metadata"]["namespace"] == "observability"]
    return deployments, [load_fixture("harness-mesh-collector-configmap.json")], pods


def test_reference_setup():
    deployments, cms, pods = objects()
    found = locate(deployments, [], cms, pods)
    assert found.how == "reference" and found.name == "otel-collector" and found.kind == "Deployment"
    assert found.configmap_name == "otel-collector-config" and found.config_key == "config.yaml"
    assert [p["metadata"]["name"] for p in found.pods] == ["otel-collector-857df6bd6f-b84jg"]
    assert "prometheus/linkerd" in found.config_text


def _ours(name=naming.COLLECTOR_NAME, kind="DaemonSet"):
    return {"kind": kind, "metadata": {"name": name, "namespace": "obs",
                                       "labels": {"app.kubernetes.io/part-of": naming.PART_OF}},
            "spec": {"selector": {"matchLabels": {"app": "c"}},
                     "template": {"spec": {"containers": [{"name": "otel-collector", "env": [
                         {"name": "A", "value": "1"}, {"name": "K8S_NODE_NAME", "valueFrom": {}}]}],
                         "volumes": [{"name": "cfg", "configMap": {"name": naming.CONFIGMAP_NAME}}]}}}}


def test_ours_first_and_daemonset_pods():
    cm = {"metadata": {"name": naming.CONFIGMAP_NAME, "namespace": "obs"},
          "data": {naming.CONFIG_KEY: "receivers: {}\nservice: {}\n"}}
    pods = [{"metadata": {"name": f"c-{i}", "namespace": "obs", "labels": {"app": "c"}}} for i in range(3)]
    pods.append({"metadata": {"name": "other", "namespace": "obs", "labels": {"app": "x"}}})
    reference = {"metadata": {"name": "otel-collector", "namespace": "obs"}, "spec": {}}
    found = locate([reference], [_ours()], [cm], pods)
    assert found.how == "ours" and found.kind == "DaemonSet" and len(found.pods) == 3
    assert static_env(found.workload) == {"A": "1"}


def test_any_workload_mounting_a_collector_config():
    workload = {"kind": "Deployment", "metadata": {"name": "my-otel", "namespace": "obs"},
                "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["m"]}]},
                         "template": {"spec": {"volumes": [{"name": "v", "configMap": {
                             "name": "cfg", "items": [{"key": "relay", "path": "relay.yaml"}]}}]}}}}
    cm = {"metadata": {"name": "cfg", "namespace": "obs"},
          "data": {"notes": "x", "relay": "receivers:\n  otlp: {}\nexporters: {}\n"}}
    found = locate([workload], [], [cm], [{"metadata": {"name": "m-1", "namespace": "obs", "labels": {"app": "m"}}}])
    assert found.how == "mounted-config" and found.config_key == "relay" and len(found.pods) == 1


def test_nothing_found():
    assert locate([], [], [{"metadata": {"name": "x"}, "data": {"a": "b"}}], []) is None


def test_mounted_file_follows_mounts_items_and_subpaths():
    from kubectl_linkerd_otel.collector.locate import mounted_file

    cms = [{"metadata": {"name": "cfg"}, "data": {"config.yaml": "x", "ca.crt": "PEM"}},
           {"metadata": {"name": "other"}, "data": {"root.pem": "ROOT"}}]
    workload = {"spec": {"template": {"spec": {
        "containers": [{"name": "otel", "volumeMounts": [
            {"name": "conf", "mountPath": "/etc/otelcol"},
            {"name": "roots", "mountPath": "/etc/ssl/mine.pem", "subPath": "root.pem"},
            {"name": "secret", "mountPath": "/etc/secret"}]}],
        "volumes": [{"name": "conf", "configMap": {"name": "cfg", "items": [{"key": "ca.crt", "path": "tls/ca.pem"}]}},
                    {"name": "roots", "configMap": {"name": "other"}},
                    {"name": "secret", "secret": {"secretName": "s"}}]}}}}
    assert mounted_file(workload, cms, "/etc/otelcol/tls/ca.pem") == "PEM"
    assert mounted_file(workload, cms, "/etc/otelcol/./tls/ca.pem") == "PEM"
    assert mounted_file(workload, cms, "/etc/otelcol/config.yaml") is None     # not among the items
    assert mounted_file(workload, cms, "/etc/ssl/mine.pem") == "ROOT"
    assert mounted_file(workload, cms, "/etc/secret/ca.crt") is None           # a Secret: not read here
    assert mounted_file(workload, cms, "/elsewhere/ca.crt") is None
    assert mounted_file({}, cms, "/etc/otelcol/ca.crt") is None
