"""The rendered stack: golden default, schema validity, daemonset mode, labels, secrets."""
from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from kubectl_linkerd_otel import naming
from kubectl_linkerd_otel.render.common import secret
from kubectl_linkerd_otel.render.manifests import config_map, render, workload
from kubectl_linkerd_otel.render.options import InstallOptions
from kubectl_linkerd_otel.render.yaml_out import dump_all

GOLDEN = Path(__file__).parent.parent / "golden"
# REGENERATE_GOLDEN=1 pytest tests/render/test_render_manifests.py rewrites the golden files.
REGENERATE = os.environ.get("REGENERATE_GOLDEN") == "1"
K8S_VERSION = "1.37.0"   # the newest release kubernetes-validate 1.37 ships schemas for


def _golden(name: str, text: str) -> None:
    from kubectl_linkerd_otel import __version__

    # a version bump alone should not break the golden files
    text = text.replace(f"app.kubernetes.io/version: {__version__}\n", "app.kubernetes.io/version: VERSION\n")
    path = GOLDEN / name
    if REGENERATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path}: run with REGENERATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), \
        f"{name} changed; if intended, regenerate with REGENERATE_GOLDEN=1"


def test_pinned_schema_version_is_shipped():
    from kubernetes_validate.utils import all_versions

    assert K8S_VERSION in all_versions()


def test_default_rendering_matches_golden():
    _golden("install-default.yaml", dump_all(render(InstallOptions().validate())))


def test_daemonset_rendering_matches_golden():
    _golden("install-daemonset.yaml", dump_all(render(InstallOptions(mode="daemonset").validate())))


@pytest.mark.parametrize("opts", [
    InstallOptions(),
    InstallOptions(mode="daemonset", cpu_limit="1", debug_exporter=True),
    InstallOptions(exporter_endpoint="https://otlp.example:4318", exporter_protocol="http",
                   headers=[("X-Api-Key", "k"), ("tenant", "t")],
                   ca_pem="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
])
def test_every_object_validates_against_the_kubernetes_schema(opts):
    import kubernetes_validate

    for obj in render(opts.validate()):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_schema_validation_catches_a_broken_object():
    import kubernetes_validate

    broken = workload(InstallOptions(), config_map(InstallOptions()))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8888"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_every_object_carries_the_common_labels():
    for obj in render(InstallOptions().validate()):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "linkerd-otel"
        assert labels["app.kubernetes.io/managed-by"] == "kubectl-linkerd-otel"
        assert labels["app.kubernetes.io/version"]
        assert labels["app.kubernetes.io/name"]


def test_namespace_is_labelled_as_linkerd_extension_and_follows_n():
    objs = render(InstallOptions(namespace="otel").validate())
    ns = objs[0]
    assert ns["kind"] == "Namespace" and ns["metadata"]["name"] == "otel"
    assert ns["metadata"]["labels"]["linkerd.io/extension"] == "otel"
    assert all(o["metadata"].get("namespace") in (None, "otel") for o in objs)
    binding = [o for o in objs if o["kind"] == "ClusterRoleBinding"][0]
    assert binding["subjects"][0]["namespace"] == "otel"


def test_cluster_rbac_is_named_and_labelled_per_collector_namespace():
    longest = "n" * 63    # the longest namespace name Kubernetes allows
    for ns in ("team-a", longest):
        objs = render(InstallOptions(namespace=ns).validate())
        role = [o for o in objs if o["kind"] == "ClusterRole"][0]
        binding = [o for o in objs if o["kind"] == "ClusterRoleBinding"][0]
        assert role["metadata"]["name"] == binding["metadata"]["name"] == f"linkerd-otel-collector-{ns}"
        assert len(role["metadata"]["name"]) <= 253
        assert binding["roleRef"]["name"] == role["metadata"]["name"]
        for obj in (role, binding):
            assert obj["metadata"]["labels"][naming.COLLECTOR_NAMESPACE_LABEL] == ns


def test_cluster_role_allows_only_reading_pods():
    role = [o for o in render(InstallOptions()) if o["kind"] == "ClusterRole"][0]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]


def test_objects_are_in_apply_order():
    kinds = [o["kind"] for o in render(InstallOptions())]
    assert kinds == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret",
                     "ConfigMap", "Deployment"]


def test_workload_is_hardened_and_exposes_named_ports():
    dep = workload(InstallOptions(), config_map(InstallOptions()))
    assert dep["spec"]["replicas"] == 1
    pod = dep["spec"]["template"]["spec"]
    container = pod["containers"][0]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        naming.SELF_METRICS_PORT_NAME: 8888, naming.RECEIVER_API_PORT_NAME: 9090,
        naming.HEALTH_PORT_NAME: 13133}
    assert container["livenessProbe"]["httpGet"]["port"] == naming.HEALTH_PORT_NAME
    assert container["readinessProbe"]["httpGet"]["port"] == naming.HEALTH_PORT_NAME
    assert container["resources"]["limits"]["memory"] == "512Mi"
    assert ":" in container["image"] and not container["image"].endswith(":latest")
    assert pod["serviceAccountName"] == naming.COLLECTOR_NAME


def test_config_change_changes_the_pod_template_hash():
    def hash_of(opts):
        return workload(opts, config_map(opts))["spec"]["template"]["metadata"]["annotations"][
            naming.CONFIG_HASH_ANNOTATION]

    assert hash_of(InstallOptions()) == hash_of(InstallOptions())
    assert hash_of(InstallOptions()) != hash_of(InstallOptions(debug_exporter=True))


def test_daemonset_mode_scrapes_own_node_only():
    objs = render(InstallOptions(mode="daemonset").validate())
    ds = objs[-1]
    assert ds["kind"] == "DaemonSet" and "replicas" not in ds["spec"]
    env = ds["spec"]["template"]["spec"]["containers"][0]["env"]
    node = [e for e in env if e["name"] == "K8S_NODE_NAME"][0]
    assert node["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    text = config_map(InstallOptions(mode="daemonset"))["data"]["config.yaml"]
    assert text.count("field: spec.nodeName=${env:K8S_NODE_NAME}") == 3


def test_secret_holds_basic_auth_and_sensitive_headers_only():
    opts = InstallOptions(exporter_endpoint="otlp:4317", basic_auth="me:pw-1",
                          headers=[("X-Api-Key", "key-2"), ("tenant", "acme")]).validate()
    sec = secret(opts)
    data = {k: base64.b64decode(v).decode() for k, v in sec["data"].items()}
    assert data == {"OTLP_AUTH": base64.b64encode(b"me:pw-1").decode(), "OTLP_HEADER_0": "key-2"}
    text = config_map(opts)["data"]["config.yaml"]
    assert "pw-1" not in text and "key-2" not in text and data["OTLP_AUTH"] not in text
    assert "Authorization: Basic ${env:OTLP_AUTH}" in text
    assert "X-Api-Key: ${env:OTLP_HEADER_0}" in text
    assert "tenant: acme" in text


def test_no_secret_without_credentials_and_render_can_leave_it_out():
    opts = InstallOptions(exporter_endpoint="otlp:4317", insecure=True).validate()
    assert secret(opts) is None
    assert "Secret" not in [o["kind"] for o in render(opts)]
    assert "Secret" not in [o["kind"] for o in render(InstallOptions(), include_secret=False)]


def test_ca_file_is_shipped_in_the_configmap_and_mounted():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    opts = InstallOptions(exporter_endpoint="otlp:4317", ca_pem=pem).validate()
    cm = config_map(opts)
    assert cm["data"]["ca.crt"] == pem
    assert "ca_file: /etc/linkerd-otel/ca.crt" in cm["data"]["config.yaml"]
    items = workload(opts, cm)["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"]
    assert {"key": "ca.crt", "path": "ca.crt"} in items


def test_config_is_a_literal_block_in_yaml():
    text = dump_all([config_map(InstallOptions())])
    assert "config.yaml: |" in text
