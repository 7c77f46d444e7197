"""--mode operator rendering: the OpenTelemetryCollector validates against the operator's CRD schema
(tests/fixtures/, trimmed v1beta1), and every rendered field is one the schema knows (the API server
would prune unknown ones silently)."""
from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from helpers import run_cli
from kubectl_linkerd_otel.render.operator import collector_resource, render
from kubectl_linkerd_otel.render.options import InstallOptions

CRD = Path(__file__).parent.parent / "fixtures" / "opentelemetry.io_opentelemetrycollectors.v1beta1.yaml"


def _schema() -> dict:
    crd = [d for d in yaml.safe_load_all(CRD.read_text()) if d][-1]
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    return version["schema"]["openAPIV3Schema"]


def _unknown_fields(value, schema, path="") -> list:
    """Fields the structural schema would prune (not in `properties`, no additionalProperties, no
    x-kubernetes-preserve-unknown-fields)."""
    if isinstance(value, dict) and schema.get("type") == "object":
        if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
            return []
        found = []
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                found += _unknown_fields(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found += _unknown_fields(item, extra, f"{path}.{key}")
            elif not schema.get("x-kubernetes-preserve-unknown-fields") and path != ".metadata":
                found.append(f"{path}.{key}")
        return found
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [f for i, item in enumerate(value) for f in _unknown_fields(item, schema["items"], f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("opts", [
    InstallOptions(mode="operator"),
    InstallOptions(mode="operator", replicas=5, exporter_endpoint="https://otlp.example:4318",
                   exporter_protocol="http", basic_auth="u:p", debug_exporter=True, cpu_limit="1"),
    InstallOptions(mode="operator", exporter_endpoint="otlp.example:4317",
                   ca_pem="-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"),
], ids=["demo", "http-basic-auth", "ca-file"])
def test_rendered_resource_validates_against_the_operator_crd(opts):
    cr = collector_resource(opts.validate())
    jsonschema.validate(cr, _schema())
    assert _unknown_fields(cr, _schema()) == []
    assert cr["apiVersion"] == "opentelemetry.io/v1beta1"
    assert cr["spec"]["mode"] == "statefulset"
    assert cr["spec"]["replicas"] == opts.replicas
    assert cr["spec"]["targetAllocator"]["enabled"] is True
    assert cr["spec"]["targetAllocator"]["allocationStrategy"] == "consistent-hashing"


def test_schema_catches_a_wrong_value():
    cr = collector_resource(InstallOptions(mode="operator"))
    cr["spec"]["targetAllocator"]["allocationStrategy"] = "round-robin"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(cr, _schema())
    cr = collector_resource(InstallOptions(mode="operator"))
    cr["spec"]["targetAllocatr"] = {}
    assert _unknown_fields(cr, _schema()) == [".spec.targetAllocatr"]


def test_same_config_secret_and_hardening_as_the_other_modes():
    from kubectl_linkerd_otel.render.collector_config import collector_config

    opts = InstallOptions(mode="operator", exporter_endpoint="otlp.example:4317", basic_auth="u:p").validate()
    cr = collector_resource(opts)
    assert cr["spec"]["config"] == collector_config(opts)
    env = {e["name"]: e for e in cr["spec"]["env"]}
    assert env["OTLP_AUTH"]["valueFrom"]["secretKeyRef"] == {"name": "linkerd-otel-collector-credentials",
                                                              "key": "OTLP_AUTH"}
    assert "K8S_NODE_NAME" not in env
    sc = cr["spec"]["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["capabilities"] == {"drop": ["ALL"]}
    assert cr["spec"]["image"] == "otel/opentelemetry-collector:0.159.0"
    kinds = [(o["kind"], o["metadata"]["name"]) for o in render(opts)]
    assert kinds == [("Namespace", "observability"), ("ServiceAccount", "linkerd-otel-collector"),
                     ("ServiceAccount", "linkerd-otel-targetallocator"),
                     ("ClusterRole", "linkerd-otel-collector-observability"),
                     ("ClusterRoleBinding", "linkerd-otel-collector-observability"),
                     ("Secret", "linkerd-otel-collector-credentials"),
                     ("OpenTelemetryCollector", "linkerd-otel")]
    binding = render(opts)[4]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "linkerd-otel-targetallocator",
                                    "namespace": "observability"}]
    assert render(opts)[3]["rules"] == [{"apiGroups": [""], "resources": ["pods"],
                                         "verbs": ["get", "list", "watch"]}]


def test_ca_file_is_mounted_where_the_operator_puts_configmaps():
    opts = InstallOptions(mode="operator", exporter_endpoint="otlp.example:4317",
                          ca_pem="-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n").validate()
    cr = collector_resource(opts)
    assert cr["spec"]["configmaps"] == [{"name": "linkerd-otel-collector-ca", "mountpath": "linkerd-otel"}]
    tls = cr["spec"]["config"]["exporters"]["otlp_grpc/backend"]["tls"]
    assert tls == {"ca_file": "/var/conf/linkerd-otel/configmap-linkerd-otel-collector-ca/ca.crt"}


def test_dry_run_offline_prints_the_resource(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_cli("install", "--mode", "operator", "--replicas", "3", "--dry-run", "-o", "yaml")
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    cr = next(d for d in docs if d["kind"] == "OpenTelemetryCollector")
    assert cr["spec"]["replicas"] == 3
    jsonschema.validate(cr, _schema())
    assert not any(d["kind"] in ("Deployment", "DaemonSet", "ConfigMap") for d in docs)


def test_replicas_out_of_range_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    result = run_cli("install", "--mode", "operator", "--replicas", "0", "--dry-run")
    assert result.exit_code == 2
    assert "--replicas" in result.stderr and "Traceback" not in result.output
