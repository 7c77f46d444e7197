"""install --restrict-metrics, check's linkerd-otel-policy category and uninstall, through the CLI against
the fake API server."""
from __future__ import annotations

import copy
import json

import scenarios
from helpers import run_cli

from kubectl_linkerd_otel import naming

NS = scenarios.NS
EMOJI = "emoji-547b6957d6-s59rz"
OUR_POD = "linkerd-otel-collector-6b7c9d8f5-x2k7q"
OURS = f"{naming.MANAGED_BY_SELECTOR},linkerd-otel.io/collector-namespace={NS}"
INSTALL = ["install", "-o", "text", "--wait=false", "--restrict-metrics",
           "--exporter-endpoint", "openobserve.openobserve.svc.cluster.local:5081", "--insecure"]
KINDS = ("servers", "httproutes", "authorizationpolicies", "networkauthentications")
POLICY = "linkerd-otel-policy"


def check_doc():
    result = run_cli("check", "-o", "json", "--metrics-interval=0s")
    return result, json.loads(result.stdout)


def policy_checks(doc) -> dict:
    cat = next(c for c in doc["categories"] if c["categoryName"] == POLICY)
    return {k["description"]: k for k in cat["checks"]}


def by_id(doc, prefix: str) -> dict:
    return next(v for d, v in policy_checks(doc).items() if d.startswith(prefix) or prefix in d)


def set_policy(api, namespace, name, policy):
    pod = scenarios.pod(api, namespace, name)
    for container in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
        for env in container.get("env") or []:
            if env["name"] == "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY":
                env["value"] = policy
    api.add(pod)


def our_collector_pod(api, meshed: bool = True, health=None):
    """What the Deployment controller and Linkerd's injector make of our Deployment: one ready pod, with
    a linkerd-proxy when meshed; its logs, self-metrics and receiver targets served through pods/proxy."""
    template = api.get("deployments", naming.COLLECTOR_NAME, NS)["spec"]["template"]
    pod = scenarios.pod(api, NS, scenarios.COLLECTOR_POD)
    pod["metadata"] = {"name": OUR_POD, "namespace": NS, "labels": dict(template["metadata"]["labels"]),
                       "annotations": dict(template["metadata"].get("annotations") or {})}
    pod["spec"]["serviceAccountName"] = naming.COLLECTOR_NAME
    pod["spec"]["containers"][0]["name"] = naming.CONTAINER_NAME
    pod["status"]["containerStatuses"][0]["name"] = naming.CONTAINER_NAME
    if meshed:
        source = scenarios.pod(api, "emojivoto", EMOJI)
        pod["spec"]["containers"].append(copy.deepcopy(
            next(c for c in source["spec"]["containers"] if c["name"] == "linkerd-proxy")))
        pod["status"]["containerStatuses"].append(copy.deepcopy(scenarios.container_status(source, "linkerd-proxy")))
        pod["metadata"]["labels"]["linkerd.io/control-plane-ns"] = "linkerd"
    api.add(pod)
    api.remove("deployments", "otel-collector", NS)
    api.remove("pods", scenarios.COLLECTOR_POD, NS)
    api.set_logs(NS, OUR_POD, naming.CONTAINER_NAME, scenarios.READY_LOG)
    api.set_proxy(NS, OUR_POD, 8888, "metrics", body=scenarios.growing_metrics())
    api.set_proxy(NS, OUR_POD, 9090, "api/v1/targets", body=lambda _q: scenarios.targets_json(api, health))


def viz_allow_scrapes(api, namespace="emojivoto"):
    """What `linkerd viz allow-scrapes` applies (viz chart templates/allow-scrapes-policy.yaml)."""
    meta = lambda name: {"name": name, "namespace": namespace, "labels": {"linkerd.io/extension": "viz"},
                         "creationTimestamp": "2026-01-01T00:00:00Z"}
    parent = [{"name": "proxy-admin", "kind": "Server", "group": "policy.linkerd.io"}]
    api.add_many([
        {"apiVersion": "policy.linkerd.io/v1beta1", "kind": "Server", "metadata": meta("proxy-admin"),
         "spec": {"podSelector": {"matchExpressions": [{"key": "linkerd.io/control-plane-ns", "operator": "Exists"}]},
                  "port": "linkerd-admin", "proxyProtocol": "HTTP/1"}},
        {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "HTTPRoute", "metadata": meta("proxy-metrics"),
         "spec": {"parentRefs": parent, "rules": [{"matches": [{"path": {"value": "/metrics"}}]}]}},
        {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "HTTPRoute", "metadata": meta("proxy-probes"),
         "spec": {"parentRefs": parent, "rules": [{"matches": [{"path": {"value": "/live"}},
                                                                {"path": {"value": "/ready"}}]}]}},
        {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "AuthorizationPolicy", "metadata": meta("prometheus-scrape"),
         "spec": {"targetRef": {"group": "policy.linkerd.io", "kind": "HTTPRoute", "name": "proxy-metrics"},
                  "requiredAuthenticationRefs": [{"kind": "ServiceAccount", "name": "prometheus",
                                                  "namespace": "linkerd-viz"}]}},
        {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "NetworkAuthentication", "metadata": meta("kubelet"),
         "spec": {"networks": [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]}},
        {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "AuthorizationPolicy", "metadata": meta("proxy-probes"),
         "spec": {"targetRef": {"group": "policy.linkerd.io", "kind": "HTTPRoute", "name": "proxy-probes"},
                  "requiredAuthenticationRefs": [{"kind": "NetworkAuthentication", "group": "policy.linkerd.io",
                                                  "name": "kubelet"}]}},
    ])


def names(api, plural, namespace=None):
    return sorted(f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in api.objects(plural)
                  if namespace in (None, o["metadata"]["namespace"]))


def ours(api):
    return sorted(f"{o['kind']} {o['metadata']['namespace']}/{o['metadata']['name']}"
                  for plural in KINDS for o in api.objects(plural)
                  if (o["metadata"].get("labels") or {}).get("linkerd-otel.io/collector-namespace") == NS)


def healthy_with_rbac(api):
    scenarios.healthy(api)
    for verb in ("get", "list", "watch"):
        api.allow(f"system:serviceaccount:{NS}:{naming.COLLECTOR_NAME}", verb, "pods")


# -- deny: fails without the restriction, passes with it --------------------------------------------

def test_deny_fails_without_the_restriction_and_passes_once_installed(mesh_api):
    healthy_with_rbac(mesh_api)
    set_policy(mesh_api, "emojivoto", EMOJI, "deny")
    mesh_api.set_proxy(NS, scenarios.COLLECTOR_POD, 9090, "api/v1/targets", body=lambda _q: scenarios.targets_json(
        mesh_api, {f"emojivoto/{EMOJI}": ("down", "server returned HTTP status 403 Forbidden")}))
    result, doc = check_doc()
    assert result.exit_code == 1
    checks = policy_checks(doc)
    meshed = checks["collector is meshed where a restrictive policy is in force"]
    assert meshed["result"] == "error"
    assert "the collector is not meshed, but default inbound policy deny is in force" in meshed["error"]
    assert "kubectl linkerd-otel install --restrict-metrics" in meshed["error"]
    authorized = checks["every meshed namespace lets the collector read /metrics"]
    assert authorized["result"] == "error"
    assert authorized["error"].startswith("the collector may not read /metrics in 1 namespace (emojivoto): run "
                                          "`kubectl linkerd-otel install --restrict-metrics`")
    refused = checks["no scrape answered HTTP 403"]
    assert refused["result"] == "error"
    assert "10.244.0.22:4191: server returned HTTP status 403 Forbidden" in refused["error"]
    assert "install --restrict-metrics" in refused["error"]
    assert refused["hint"].endswith("#policy-no-403")

    install = run_cli(*INSTALL)
    assert install.exit_code == 0, install.stderr
    assert "only linkerd-otel-collector (namespace observability) may read the proxies' /metrics in " \
           "emojivoto, linkerd, observability" in install.stderr
    deployment = mesh_api.get("deployments", naming.COLLECTOR_NAME, NS)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["linkerd.io/inject"] == "enabled"
    assert annotations["config.linkerd.io/skip-outbound-ports"] == "443"
    assert annotations["config.linkerd.io/skip-inbound-ports"] == "9090,8888"
    assert ours(mesh_api) == sorted(
        f"{kind} {ns}/{name}" for ns in ("emojivoto", "linkerd", "observability") for kind, name in (
            ("AuthorizationPolicy", "linkerd-otel-proxy-probes"), ("AuthorizationPolicy", "linkerd-otel-scrape-observability"),
            ("HTTPRoute", "linkerd-otel-proxy-metrics"), ("HTTPRoute", "linkerd-otel-proxy-probes"),
            ("NetworkAuthentication", "linkerd-otel-kubelet"), ("Server", "linkerd-otel-proxy-admin")))
    server = mesh_api.get("servers.policy.linkerd.io", "linkerd-otel-proxy-admin", "emojivoto")
    assert server["apiVersion"] == "policy.linkerd.io/v1beta3"

    our_collector_pod(mesh_api, meshed=True)
    result, doc = check_doc()
    checks = policy_checks(doc)
    assert {d: c["result"] for d, c in checks.items()} == {
        "the collector is meshed, as default inbound policy deny and a Server on the proxies' linkerd-admin "
        "port require": "success",
        "the collector may read /metrics in every meshed namespace (emojivoto, linkerd, observability)": "success",
        "no other client may read the proxies' /metrics": "success",
        "kubelet probes are still authorized": "success",
        "no scrape answered HTTP 403": "success"}
    default = next(k for c in doc["categories"] for k in c["checks"]
                   if k["description"] == "inbound policy lets the collector scrape proxies")
    assert default["result"] == "success"


def test_a_meshed_collector_pod_missing_after_install_says_to_restart(mesh_api):
    healthy_with_rbac(mesh_api)
    set_policy(mesh_api, "emojivoto", EMOJI, "all-authenticated")
    assert run_cli(*INSTALL).exit_code == 0
    our_collector_pod(mesh_api, meshed=False)     # created before injection took effect
    _result, doc = check_doc()
    check = policy_checks(doc)["collector is meshed where a restrictive policy is in force"]
    assert check["result"] == "error"
    assert "asked for (linkerd.io/inject: enabled)" in check["error"]
    assert "kubectl -n observability rollout restart deployment/linkerd-otel-collector" in check["error"]


# -- an existing Server on linkerd-admin ----------------------------------------------------------------

def test_an_existing_proxy_admin_server_is_reused_and_its_other_client_named(mesh_api):
    healthy_with_rbac(mesh_api)
    viz_allow_scrapes(mesh_api)
    result = run_cli(*INSTALL)
    assert result.exit_code == 0, result.stderr
    assert ("Note: namespace emojivoto: Server proxy-admin already serves the linkerd-admin port; attaching to it "
            "instead of creating linkerd-otel-proxy-admin") in result.stderr
    assert "HTTPRoute proxy-metrics already routes /metrics on it" in result.stderr
    assert names(mesh_api, "servers", "emojivoto") == ["emojivoto/proxy-admin"]
    assert names(mesh_api, "httproutes", "emojivoto") == ["emojivoto/proxy-metrics", "emojivoto/proxy-probes"]
    scrape = mesh_api.get("authorizationpolicies.policy.linkerd.io", "linkerd-otel-scrape-observability", "emojivoto")
    assert scrape["spec"]["targetRef"]["name"] == "proxy-metrics"
    probes = mesh_api.get("authorizationpolicies.policy.linkerd.io", "linkerd-otel-proxy-probes", "emojivoto")
    assert probes["spec"]["targetRef"]["name"] == "proxy-probes"
    # viz's objects are as they were: no field of theirs taken over
    assert mesh_api.get("servers.policy.linkerd.io", "proxy-admin", "emojivoto")["metadata"]["labels"] == \
        {"linkerd.io/extension": "viz"}
    # elsewhere our own Server
    assert names(mesh_api, "servers", "linkerd") == ["linkerd/linkerd-otel-proxy-admin"]

    our_collector_pod(mesh_api)
    _result, doc = check_doc()
    checks = policy_checks(doc)
    assert checks["the collector may read /metrics in every meshed namespace (emojivoto, linkerd, observability)"][
        "result"] == "success"
    other = checks["no other client may read the proxies' /metrics"]
    assert other["result"] == "warning"
    assert ("emojivoto (Server proxy-admin): ServiceAccount linkerd-viz/prometheus (AuthorizationPolicy "
            "prometheus-scrape)") in other["error"]
    assert checks["kubelet probes are still authorized"]["result"] == "success"


def test_a_route_without_the_probes_fails_the_probe_check(mesh_api):
    healthy_with_rbac(mesh_api)
    viz_allow_scrapes(mesh_api)
    mesh_api.remove("httproutes.policy.linkerd.io", "proxy-probes", "emojivoto")
    _result, doc = check_doc()
    check = policy_checks(doc)["kubelet probes are still authorized"]
    assert check["result"] == "error"
    assert "emojivoto: no HTTPRoute on Server proxy-admin routes /live" in check["error"]


# -- a namespace meshed after install ---------------------------------------------------------------------

def _mesh_new_namespace(api, namespace="books", policy=None):
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    pod = scenarios.pod(api, "emojivoto", EMOJI)
    pod["metadata"] = {**pod["metadata"], "namespace": namespace, "name": "books-7f9d8-abcde"}
    pod["metadata"].pop("uid", None)
    pod["metadata"].pop("resourceVersion", None)
    api.add(pod)
    if policy:
        set_policy(api, namespace, "books-7f9d8-abcde", policy)


def test_a_namespace_meshed_after_install_is_named(mesh_api):
    healthy_with_rbac(mesh_api)
    assert run_cli(*INSTALL).exit_code == 0
    our_collector_pod(mesh_api)
    _mesh_new_namespace(mesh_api)
    _result, doc = check_doc()
    check = policy_checks(doc)["every meshed namespace lets the collector read /metrics"]
    assert check["result"] == "warning"
    assert check["error"] == ("1 namespace meshed after install --restrict-metrics is not restricted: any client may "
                              "read its proxies' /metrics (books); run `kubectl linkerd-otel install "
                              "--restrict-metrics` again")
    # under deny it is an error, naming it the same way
    set_policy(mesh_api, "books", "books-7f9d8-abcde", "deny")
    _result, doc = check_doc()
    check = policy_checks(doc)["every meshed namespace lets the collector read /metrics"]
    assert check["result"] == "error"
    assert "books (meshed after install --restrict-metrics): 1 pod: default policy deny" in check["error"]
    # running install again covers it
    again = run_cli(*INSTALL)
    assert again.exit_code == 0, again.stderr
    assert "server.policy.linkerd.io/linkerd-otel-proxy-admin in namespace books created" in again.stdout
    _result, doc = check_doc()
    assert policy_checks(doc)["the collector may read /metrics in every meshed namespace (books, emojivoto, "
                              "linkerd, observability)"]["result"] == "success"


# -- uninstall --------------------------------------------------------------------------------------------

def test_uninstall_removes_exactly_our_policy_objects(mesh_api):
    healthy_with_rbac(mesh_api)
    viz_allow_scrapes(mesh_api)
    # a user's own objects with our component's look-alike names, and another collector's install
    mesh_api.add({"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "AuthorizationPolicy",
                  "metadata": {"name": "linkerd-otel-scrape-other", "namespace": "linkerd"},
                  "spec": {"targetRef": {"kind": "Namespace", "name": "linkerd"},
                           "requiredAuthenticationRefs": [{"kind": "ServiceAccount", "name": "x"}]}})
    assert run_cli(*INSTALL).exit_code == 0
    assert run_cli(*INSTALL, "-n", "otel2", "--policy-namespace", "linkerd").exit_code == 0
    before_viz = {plural: names(mesh_api, plural, "emojivoto") for plural in KINDS}
    assert ours(mesh_api)
    result = run_cli("uninstall", "-o", "text")
    assert result.exit_code == 0, result.stderr
    assert ours(mesh_api) == []
    assert "server.policy.linkerd.io/linkerd-otel-proxy-admin deleted" in result.stdout
    viz = {plural: [n for n in names(mesh_api, plural, "emojivoto")] for plural in KINDS}
    assert viz == {"servers": ["emojivoto/proxy-admin"],
                   "httproutes": ["emojivoto/proxy-metrics", "emojivoto/proxy-probes"],
                   "authorizationpolicies": ["emojivoto/prometheus-scrape", "emojivoto/proxy-probes"],
                   "networkauthentications": ["emojivoto/kubelet"]}
    assert {p: [n for n in before_viz[p] if "linkerd-otel" not in n] for p in KINDS} == viz
    assert "linkerd/linkerd-otel-scrape-other" in names(mesh_api, "authorizationpolicies")
    # the other collector's policy stays; the Server it shared with ours was ours to delete
    assert "linkerd/linkerd-otel-scrape-otel2" in names(mesh_api, "authorizationpolicies")


def test_uninstall_printing_lists_the_policy_objects(mesh_api):
    healthy_with_rbac(mesh_api)
    assert run_cli(*INSTALL).exit_code == 0
    result = run_cli("uninstall", "-o", "json")
    refs = [(i["kind"], i["metadata"].get("namespace")) for i in json.loads(result.stdout)["items"]]
    assert ("Server", "emojivoto") in refs and ("NetworkAuthentication", "linkerd") in refs
    assert refs.index(("Server", "emojivoto")) < refs.index(("AuthorizationPolicy", "emojivoto"))


# -- versions the cluster serves; offline -------------------------------------------------------------------

def test_the_versions_the_cluster_serves_are_used(mesh_api):
    healthy_with_rbac(mesh_api)
    mesh_api.serve_versions("servers.policy.linkerd.io", ("v1beta1",))
    mesh_api.serve_versions("httproutes.policy.linkerd.io", ("v1beta2", "v1beta1"))
    result = run_cli(*INSTALL, "--policy-namespace", "emojivoto")
    assert result.exit_code == 0, result.stderr
    assert mesh_api.get("servers.policy.linkerd.io", "linkerd-otel-proxy-admin", "emojivoto")["apiVersion"] == \
        "policy.linkerd.io/v1beta1"
    assert mesh_api.get("httproutes.policy.linkerd.io", "linkerd-otel-proxy-metrics", "emojivoto")["apiVersion"] == \
        "policy.linkerd.io/v1beta2"
    assert ours(mesh_api) and all("emojivoto/" in line for line in ours(mesh_api))
    printed = run_cli("install", "--dry-run", "-o", "yaml", "--restrict-metrics", "--policy-namespace", "emojivoto")
    assert "apiVersion: policy.linkerd.io/v1beta1\nkind: Server" in printed.stdout
    assert run_cli("uninstall", "-o", "text").exit_code == 0
    assert ours(mesh_api) == []


def test_missing_policy_crds_stop_install_before_anything_is_applied(mesh_api):
    mesh_api.serve_versions("networkauthentications.policy.linkerd.io", ())
    result = run_cli(*INSTALL)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the cluster serves no usable version of Linkerd's NetworkAuthentication")
    assert len(result.stderr.strip().splitlines()) == 1
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is None


def test_offline_dry_run_uses_the_newest_versions_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_cli("install", "--dry-run", "-o", "yaml", "--restrict-metrics", "--policy-namespace", "emojivoto")
    assert result.exit_code == 0, result.stderr
    assert "apiVersion: policy.linkerd.io/v1beta3\nkind: Server" in result.stdout
    assert "linkerd.io/inject: enabled" in result.stdout
    assert ("Note: no cluster: rendering the Linkerd policy objects at the newest versions known (Server "
            "policy.linkerd.io/v1beta3, HTTPRoute policy.linkerd.io/v1beta3") in result.stderr
    missing = run_cli("install", "--dry-run", "--restrict-metrics")
    assert missing.exit_code == 2
    assert missing.stderr.strip().splitlines()[-1] == ("Error: --restrict-metrics without a cluster: name the namespaces to restrict "
                                      "with --policy-namespace")


def test_policy_namespace_needs_restrict_metrics(mesh_api):
    result = run_cli("install", "--dry-run", "--policy-namespace", "emojivoto")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: --policy-namespace needs --restrict-metrics"
    bad = run_cli("install", "--dry-run", "--restrict-metrics", "--policy-namespace", "Bad_NS")
    assert bad.exit_code == 2 and "invalid --policy-namespace 'Bad_NS'" in bad.stderr
    gone = run_cli(*INSTALL, "--policy-namespace", "nope")
    assert gone.exit_code == 2 and "namespace nope (--policy-namespace) does not exist" in gone.stderr


def test_help_documents_the_flags():
    result = run_cli("install", "--help")
    assert "--restrict-metrics" in result.stdout and "--policy-namespace" in result.stdout
