"""The Linkerd policy objects install --restrict-metrics renders validate against Linkerd's own CRD schemas
(tests/fixtures/linkerd-crds, from the newest release), checked by a JSON-schema library with unknown
fields refused (as `kubectl apply --validate=strict` does)."""
from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from kubectl_linkerd_otel.render import policy

CRDS = Path(__file__).resolve().parent.parent / "fixtures" / "linkerd-crds"


def _json_schema(node):
    """A CRD structural schema as JSON Schema: int-or-string as anyOf, objects closed unless they
    preserve unknown fields."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def _load():
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd:
                continue
            kind, group = crd["spec"]["names"]["kind"], crd["spec"]["group"]
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue
                root = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                root.setdefault("properties", {})
                # every object may carry these; CRDs leave them out of their schemas
                for field in ("apiVersion", "kind"):
                    root["properties"].setdefault(field, {"type": "string"})
                root["properties"].setdefault("metadata", {"type": "object"})
                schemas[(f"{group}/{version['name']}", kind)] = _json_schema(root)
    return schemas


SCHEMAS = _load()


def validate(obj: dict) -> None:
    schema = SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    assert schema is not None, f"{obj['apiVersion']} {obj['kind']} is not served by the CRDs"
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(obj, schema, cls=jsonschema.Draft7Validator)


def test_the_fixtures_hold_the_newest_versions_we_render():
    for kind, version in policy.NEWEST.items():
        assert (f"policy.linkerd.io/{version}", kind) in SCHEMAS
    assert ("policy.linkerd.io/v1beta1", "Server") in SCHEMAS


def _plans():
    attached = policy.plan_namespace(
        "emojivoto",
        [{"metadata": {"name": "proxy-admin", "namespace": "emojivoto", "creationTimestamp": "2026-01-01T00:00:00Z"},
          "spec": {"port": "linkerd-admin", "podSelector": {}}}],
        [{"metadata": {"name": "proxy-metrics", "namespace": "emojivoto"},
          "spec": {"parentRefs": [{"kind": "Server", "name": "proxy-admin"}],
                   "rules": [{"matches": [{"path": {"value": "/metrics"}}]}]}}])
    return [policy.NamespacePlan("linkerd"), attached]


def test_every_rendered_object_validates_at_the_newest_versions():
    objects = policy.render(_plans(), "observability", "linkerd-otel-collector")
    assert sorted({o["kind"] for o in objects}) == ["AuthorizationPolicy", "HTTPRoute", "NetworkAuthentication",
                                                     "Server"]
    for obj in objects:
        validate(obj)


def test_the_servers_older_versions_validate_too():
    objects = policy.render(_plans(), "observability", "linkerd-otel-collector",
                            dict(policy.NEWEST, Server="v1beta1"))
    server = next(o for o in objects if o["kind"] == "Server")
    assert server["apiVersion"] == "policy.linkerd.io/v1beta1"
    for obj in objects:
        if obj["kind"] != "HTTPRoute":      # the fixture keeps only HTTPRoute's storage version
            validate(obj)


@pytest.mark.parametrize("damage", [
    lambda o: o["spec"].update(proxyProtocol=["HTTP/1"]),                 # wrong type
    lambda o: o["spec"].update(port={"name": "linkerd-admin"}),           # not int-or-string
    lambda o: o["spec"].update(podSelectr={}),                            # unknown field
    lambda o: o["spec"]["podSelector"]["matchExpressions"][0].update(operator="Present"),   # not in enum
])
def test_the_validation_catches_a_broken_server(damage):
    server = policy.server(policy.NamespacePlan("emojivoto"), "observability", policy.NEWEST)
    validate(server)
    damage(server)
    with pytest.raises(jsonschema.ValidationError):
        validate(server)


def test_the_validation_catches_a_broken_route_and_policy():
    objects = policy.render([policy.NamespacePlan("emojivoto")], "observability", "linkerd-otel-collector")
    route = next(o for o in objects if o["kind"] == "HTTPRoute")
    route["spec"]["rules"][0]["matches"][0]["method"] = "FETCH"
    with pytest.raises(jsonschema.ValidationError):
        validate(route)
    authz = next(o for o in objects if o["kind"] == "AuthorizationPolicy")
    del authz["spec"]["requiredAuthenticationRefs"]
    with pytest.raises(jsonschema.ValidationError):
        validate(authz)


def test_attaching_renders_no_second_server_and_targets_the_existing_route():
    objects = policy.render(_plans()[1:], "observability", "linkerd-otel-collector")
    assert [o["kind"] for o in objects] == ["NetworkAuthentication", "AuthorizationPolicy", "AuthorizationPolicy",
                                            "HTTPRoute"]
    scrape = next(o for o in objects if o["metadata"]["name"] == "linkerd-otel-scrape-observability")
    assert scrape["spec"]["targetRef"] == {"group": "policy.linkerd.io", "kind": "HTTPRoute", "name": "proxy-metrics"}
    assert scrape["spec"]["requiredAuthenticationRefs"] == [
        {"kind": "ServiceAccount", "name": "linkerd-otel-collector", "namespace": "observability"}]
    probes = next(o for o in objects if o["kind"] == "HTTPRoute")
    assert probes["spec"]["parentRefs"] == [{"group": "policy.linkerd.io", "kind": "Server", "name": "proxy-admin"}]


def test_choose_versions_takes_the_newest_served_and_names_what_is_missing():
    chosen, missing = policy.choose_versions({"Server": ["v1beta1", "v1beta3"], "HTTPRoute": ["v1alpha1"],
                                              "AuthorizationPolicy": ["v1alpha1"]})
    assert chosen == {"Server": "v1beta3", "HTTPRoute": "v1alpha1", "AuthorizationPolicy": "v1alpha1"}
    assert missing == ["NetworkAuthentication"]
