"""The inbound-policy check against the fake API server: may the collector scrape the proxies' linkerd-admin
port under their default inbound policy, given the Servers, HTTPRoutes, AuthorizationPolicies and
MeshTLSAuthentications in the cluster?"""
from __future__ import annotations

import copy
import json

import scenarios
from helpers import run_cli

NS = scenarios.NS
EMOJI = "emoji-547b6957d6-s59rz"
CHECK = "inbound policy lets the collector scrape proxies"
IDENTITY = "otel-collector.observability.serviceaccount.identity.linkerd.cluster.local"


def policy_check():
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    doc = json.loads(result.stdout)
    for category in doc["categories"]:
        for check in category["checks"]:
            if check["description"] == CHECK:
                return check
    raise AssertionError(result.stdout)


def set_policy(api, policy: str, name: str = EMOJI) -> None:
    pod = scenarios.pod(api, "emojivoto", name)
    for container in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
        for env in container.get("env") or []:
            if env["name"] == "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY":
                env["value"] = policy
    api.add(pod)


def mesh_collector(api) -> None:
    """Give the collector pod a linkerd-proxy container (and its ready status), as injection would."""
    source = scenarios.pod(api, "emojivoto", EMOJI)
    collector = scenarios.pod(api, NS, scenarios.COLLECTOR_POD)
    collector["spec"]["containers"].append(
        copy.deepcopy(next(c for c in source["spec"]["containers"] if c["name"] == "linkerd-proxy")))
    collector["status"]["containerStatuses"].append(copy.deepcopy(scenarios.container_status(source, "linkerd-proxy")))
    collector["metadata"]["labels"]["linkerd.io/control-plane-ns"] = "linkerd"
    api.add(collector)


def admin_server(namespace="emojivoto", port="linkerd-admin", name="proxy-admin"):
    return {"apiVersion": "policy.linkerd.io/v1beta3", "kind": "Server",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {"matchExpressions": [{"key": "linkerd.io/control-plane-ns",
                                                           "operator": "Exists"}]},
                     "port": port, "proxyProtocol": "HTTP/1"}}


def authorization(auth_ref, target=None, namespace="emojivoto", name="collector-scrape"):
    return {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "AuthorizationPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"targetRef": target or {"group": "policy.linkerd.io", "kind": "Server", "name": "proxy-admin"},
                     "requiredAuthenticationRefs": [auth_ref]}}


def mesh_tls(identities=None, identity_refs=None, namespace="emojivoto", name="collector"):
    spec = {}
    if identities is not None:
        spec["identities"] = identities
    if identity_refs is not None:
        spec["identityRefs"] = identity_refs
    return {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "MeshTLSAuthentication",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


MESH_TLS_REF = {"group": "policy.linkerd.io", "kind": "MeshTLSAuthentication", "name": "collector"}


def test_meshed_collector_passes_all_authenticated(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "all-authenticated")
    assert policy_check()["result"] == "success"


def test_unmeshed_collector_warns_under_all_authenticated(mesh_api):
    scenarios.healthy(mesh_api)
    set_policy(mesh_api, "cluster-authenticated")
    check = policy_check()
    assert check["result"] == "warning"
    assert check["error"].startswith("1 proxy would answer the collector's scrape with HTTP 403")
    assert "emojivoto/emoji-547b6957d6-s59rz (cluster-authenticated: the collector is not meshed)" in check["error"]


def test_audit_and_cluster_unauthenticated_let_anyone_scrape(mesh_api):
    scenarios.healthy(mesh_api)
    set_policy(mesh_api, "audit")
    set_policy(mesh_api, "cluster-unauthenticated", "web-5b4656675c-826fd")
    assert policy_check()["result"] == "success"


def test_deny_with_server_policy_and_mesh_tls_for_the_collector_passes(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "deny")
    mesh_api.add_many([admin_server(), authorization(MESH_TLS_REF),
                       mesh_tls(identities=["*.observability.serviceaccount.identity.linkerd.cluster.local"])])
    assert policy_check()["result"] == "success"


def test_deny_with_mesh_tls_identity_ref_to_the_service_account_passes(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "deny")
    mesh_api.add_many([admin_server(port=4191), authorization(MESH_TLS_REF),
                       mesh_tls(identity_refs=[{"kind": "ServiceAccount", "name": "otel-collector",
                                                "namespace": NS}])])
    assert policy_check()["result"] == "success"


def test_deny_with_mesh_tls_for_another_identity_warns(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "deny")
    mesh_api.add_many([admin_server(), authorization(MESH_TLS_REF),
                       mesh_tls(identities=["prometheus.linkerd-viz.serviceaccount.identity.linkerd.cluster.local"])])
    check = policy_check()
    assert check["result"] == "warning"
    assert (f"emojivoto/emoji-547b6957d6-s59rz (deny: no AuthorizationPolicy on its linkerd-admin Server "
            f"authorizes {IDENTITY})") in check["error"]


def test_deny_with_an_unreferenced_mesh_tls_authentication_warns(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "deny")
    mesh_api.add(mesh_tls(identities=[IDENTITY]))   # names the collector, but no policy uses it
    assert policy_check()["result"] == "warning"


def test_deny_with_the_viz_allow_scrapes_shape_passes(mesh_api):
    """Server `proxy-admin`, an HTTPRoute on it, a policy on the route naming the ServiceAccount."""
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "deny")
    route = {"apiVersion": "policy.linkerd.io/v1beta3", "kind": "HTTPRoute",
             "metadata": {"name": "proxy-metrics", "namespace": "emojivoto"},
             "spec": {"parentRefs": [{"group": "policy.linkerd.io", "kind": "Server", "name": "proxy-admin"}],
                      "rules": [{"matches": [{"path": {"value": "/metrics"}, "method": "GET"}]}]}}
    mesh_api.add_many([admin_server(), route, authorization(
        {"kind": "ServiceAccount", "name": "otel-collector", "namespace": NS},
        target={"group": "policy.linkerd.io", "kind": "HTTPRoute", "name": "proxy-metrics"})])
    assert policy_check()["result"] == "success"


def test_deny_policy_for_a_server_on_another_port_warns(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "deny")
    mesh_api.add_many([admin_server(port="http"), authorization(
        {"kind": "ServiceAccount", "name": "otel-collector", "namespace": NS})])
    assert policy_check()["result"] == "warning"


def test_deny_with_an_unmeshed_collector_warns_even_if_authorized(mesh_api):
    scenarios.healthy(mesh_api)
    set_policy(mesh_api, "deny")
    mesh_api.add_many([admin_server(), authorization(
        {"kind": "ServiceAccount", "name": "otel-collector", "namespace": NS})])
    check = policy_check()
    assert check["result"] == "warning" and "(deny: the collector is not meshed)" in check["error"]


def test_policy_crds_absent_is_not_an_error(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_api.fail(404, times=None, path=r"/apis/policy\.linkerd\.io/")
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    assert result.exit_code == 0, result.stdout
    assert len(mesh_api.requests_to(r"/meshtlsauthentications$")) == 1
    assert len(mesh_api.requests_to(r"/httproutes$")) == 1
    assert policy_check()["result"] == "success"


def test_unreadable_servers_are_named_under_deny(mesh_api):
    scenarios.healthy(mesh_api)
    mesh_collector(mesh_api)
    set_policy(mesh_api, "deny")
    mesh_api.fail(403, times=None, path=r"/apis/policy\.linkerd\.io/.*/servers$")
    check = policy_check()
    assert check["result"] == "warning" and "could not read servers:" in check["error"]
