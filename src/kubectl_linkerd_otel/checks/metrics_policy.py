"""linkerd-otel-policy: only the collector reads the proxies' /metrics, and it still can (pure).

Linkerd's rules used here: a pod's default inbound policy applies to its admin port until a Server
selects that port (the oldest Server wins); then only what an AuthorizationPolicy allows passes, unless
the Server's `accessPolicy` is an open one. Policies target the Server, the Namespace, or an HTTPRoute
whose parent is the Server; once the Server has any HTTPRoute, a request matching none is refused, the
kubelet's `/live` and `/ready` probes included.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from ..collector import logs as log_classes
from ..naming import COLLECTOR_NAMESPACE_LABEL, INJECT_ANNOTATION
from ..k8s import linkerd_policy as shapes
from ..k8s.meshed import has_proxy_container
from ..k8s.selectors import selector_matches
from .common import annotations, count, labels, listing, live, meshed_pods, read_failure, ref, verb
from .framework import Category, Check, fail, passed, skip, warn
from .linkerd_data_plane import effective_policy
from ..snapshot import COLLECTOR_STEP, LOGS, POLICY_STEPS, READS_STEP
from .policy import DENY, MESHED_POLICIES, OPEN_POLICIES, authorizes_collector, collector_identity, collector_meshed

_STATUS_403 = re.compile(r"\b403\b")

FIX = "run `kubectl linkerd-otel install --restrict-metrics`"


# -- what is in force where ------------------------------------------------------------------------

def used_server(snap, pod: dict) -> Optional[dict]:
    """The Server Linkerd applies to the pod's admin port: the oldest one selecting it, or None."""
    namespace = pod["metadata"].get("namespace")
    for server in shapes.admin_servers(snap.servers, namespace):
        selector = (server.get("spec") or {}).get("podSelector")
        if selector is not None and selector_matches(selector, labels(pod)):
            return server
    return None


def covered_namespaces(snap) -> List[str]:
    """Namespaces where install --restrict-metrics authorized this collector (our scrape policy exists)."""
    name = shapes.scrape_policy_name(snap.collector_namespace)
    return sorted({p["metadata"].get("namespace") for p in snap.authorization_policies
                   if p["metadata"].get("name") == name and shapes.is_ours(p)
                   and labels(p).get(COLLECTOR_NAMESPACE_LABEL) == snap.collector_namespace})


def _open_server(server: dict) -> bool:
    return (server.get("spec") or {}).get("accessPolicy") in OPEN_POLICIES


def _policies_on(snap, namespace: str, server: dict, path: str) -> List[dict]:
    """AuthorizationPolicies that apply to `path` on `server`: on the Server, its Namespace, or a route
    of the Server that routes the path."""
    routes = {r["metadata"]["name"] for r in shapes.routes_on(snap.http_routes, namespace, server["metadata"]["name"])
              if shapes.route_covers(r, path)}
    found = []
    for policy in snap.authorization_policies:
        if policy["metadata"].get("namespace") != namespace:
            continue
        target = (policy.get("spec") or {}).get("targetRef") or {}
        kind, name = target.get("kind"), target.get("name")
        if (kind == "Server" and name == server["metadata"]["name"]) or (kind == "Namespace" and name == namespace) \
                or (kind == "HTTPRoute" and name in routes):
            found.append(policy)
    return found


def _route_gap(snap, namespace: str, server: dict, path: str) -> str:
    """Why `path` on a Server with routes is not routed (""), when it is not."""
    routes = shapes.routes_on(snap.http_routes, namespace, server["metadata"]["name"])
    if routes and not any(shapes.route_covers(r, path) for r in routes):
        return f"no HTTPRoute on Server {server['metadata']['name']} routes {path}"
    return ""


def metrics_refusal(snap, pod: dict) -> str:
    """Why the collector may not read this pod's /metrics ("" when it may): only the explicit cases, a
    Server on the admin port or the `deny` default policy (the *-authenticated ones ask only that the
    collector is meshed: the collector-meshed check)."""
    server = used_server(snap, pod)
    if server is None:
        if effective_policy(snap, pod) == DENY:
            return "default policy deny and no Server on the linkerd-admin port"
        return ""
    if _open_server(server):
        return ""
    namespace = pod["metadata"].get("namespace")
    gap = _route_gap(snap, namespace, server, shapes.METRICS_PATH)
    if gap:
        return gap
    if any(authorizes_collector(snap, p) for p in _policies_on(snap, namespace, server, shapes.METRICS_PATH)):
        return ""
    return f"no AuthorizationPolicy on Server {server['metadata']['name']} authorizes {collector_identity(snap)}"


def _live_meshed(snap, opts) -> List[dict]:
    return [p for p in meshed_pods(snap, opts.namespace_filter) if live(p)]


def _by_namespace(pods: List[dict]) -> Dict[str, List[dict]]:
    found: Dict[str, List[dict]] = {}
    for pod in pods:
        found.setdefault(pod["metadata"]["namespace"], []).append(pod)
    return dict(sorted(found.items()))


def restrictive(snap, opts) -> List[str]:
    """Why the collector must be meshed: the reasons in force, in words ([] when none is)."""
    reasons = []
    policies = sorted({effective_policy(snap, p) for p in _live_meshed(snap, opts)} & set(MESHED_POLICIES + (DENY,)))
    if policies:
        reasons.append(f"default inbound policy {', '.join(policies)}")
    if any(used_server(snap, p) is not None and not _open_server(used_server(snap, p))
           for p in _live_meshed(snap, opts)):
        reasons.append("a Server on the proxies' linkerd-admin port")
    return reasons


# -- checks -----------------------------------------------------------------------------------------

def collector_is_meshed(snap, opts):
    failure = read_failure(snap, *POLICY_STEPS)
    if failure:
        return failure
    pods = snap.collector_pods()
    if not pods:
        return skip("no collector pods to look at")
    reasons = restrictive(snap, opts)
    if not reasons:
        return passed(description="no restrictive inbound policy in force: the collector need not be meshed")
    if collector_meshed(snap):
        return passed(description=f"the collector is meshed, as {' and '.join(reasons)} "
                                  f"{verb(len(reasons), 'requires', 'require')}")
    workload = snap.workload() or {}
    template = ((workload.get("spec") or {}).get("template") or {})
    asked = annotations(template).get(INJECT_ANNOTATION) == "enabled" or \
        annotations(snap.namespace(snap.collector_namespace) or {}).get(INJECT_ANNOTATION) == "enabled"
    unmeshed = [ref(p) for p in pods if not has_proxy_container(p)]
    if asked:
        kind = (workload.get("kind") or "deployment").lower()
        return fail(f"the collector's pods run without the Linkerd proxy although injection is asked for "
                    f"({INJECT_ANNOTATION}: enabled): pods created before it, or the proxy injector is not "
                    f"running; restart them with `kubectl -n {snap.collector_namespace} rollout restart "
                    f"{kind}/{workload.get('metadata', {}).get('name', '')}`", listing(unmeshed), retryable=True)
    return fail(f"the collector is not meshed, but {' and '.join(reasons)} {verb(len(reasons), 'is', 'are')} in "
                f"force: the proxies answer its scrapes with HTTP 403; {FIX} to mesh it", listing(unmeshed))


def metrics_authorized(snap, opts):
    failure = read_failure(snap, *POLICY_STEPS)
    if failure:
        return failure
    namespaces = _by_namespace(_live_meshed(snap, opts))
    covered = covered_namespaces(snap)
    refused: List[str] = []
    for namespace, pods in namespaces.items():
        reasons = {}
        for pod in pods:
            why = metrics_refusal(snap, pod)
            if why:
                reasons.setdefault(why, []).append(pod)
        for why, bad in reasons.items():
            after = " (meshed after install --restrict-metrics)" if covered and namespace not in covered else ""
            refused.append(f"{namespace}{after}: {count(len(bad), 'pod')}: {why}")
    if refused:
        names = sorted({line.split(":", 1)[0].split(" ", 1)[0] for line in refused})
        return fail(f"the collector may not read /metrics in {count(len(names), 'namespace')} "
                    f"({', '.join(names)}): {FIX}"
                    + (" again: it covers the namespaces meshed since" if covered else ""), listing(refused))
    uncovered = [ns for ns in namespaces if covered and ns not in covered]
    if uncovered:
        return warn(f"{count(len(uncovered), 'namespace')} meshed after install --restrict-metrics "
                    f"{verb(len(uncovered), 'is', 'are')} not restricted: any client may read "
                    f"{verb(len(uncovered), 'its', 'their')} proxies' /metrics ({', '.join(uncovered)}); {FIX} again")
    if not namespaces:
        return passed(description="no meshed pods: no /metrics to authorize")
    if not covered and not any(used_server(snap, p) for pods in namespaces.values() for p in pods):
        return passed(description="the proxies' /metrics are not restricted: any pod may read them "
                                  "(install --restrict-metrics lets only the collector)")
    return passed(description=f"the collector may read /metrics in every meshed namespace "
                              f"({', '.join(namespaces)})")


def _describe_ref(snap, auth: dict, policy_ns: str) -> str:
    kind, name = auth.get("kind", ""), auth.get("name", "")
    namespace = auth.get("namespace") or policy_ns
    if kind == "MeshTLSAuthentication":
        for mtls in snap.meshtls_authentications:
            meta = mtls["metadata"]
            if meta.get("name") == name and meta.get("namespace") == namespace:
                spec = mtls.get("spec") or {}
                who = [str(i) for i in spec.get("identities") or []] + \
                      [f"{r.get('kind')} {r.get('namespace') or namespace}/{r.get('name')}"
                       for r in spec.get("identityRefs") or []]
                return f"MeshTLSAuthentication {namespace}/{name} ({', '.join(who) or 'no identities'})"
    if kind == "NetworkAuthentication":
        for netauth in snap.network_authentications:
            meta = netauth["metadata"]
            if meta.get("name") == name and meta.get("namespace") == namespace:
                cidrs = [n.get("cidr", "") for n in (netauth.get("spec") or {}).get("networks") or []]
                return f"NetworkAuthentication {namespace}/{name} (networks {', '.join(cidrs)})"
    return f"{kind} {namespace}/{name}"


def other_clients(snap, opts):
    failure = read_failure(snap, *POLICY_STEPS)
    if failure:
        return failure
    found: Dict[Tuple[str, str], List[str]] = {}
    any_server = False
    for namespace, pods in _by_namespace(_live_meshed(snap, opts)).items():
        servers = {id(s): s for s in (used_server(snap, p) for p in pods) if s is not None}
        any_server = any_server or bool(servers)
        for server in servers.values():
            where = (namespace, f"Server {server['metadata']['name']}")
            if _open_server(server):
                found.setdefault(where, []).append(f"any client (accessPolicy "
                                                   f"{server['spec']['accessPolicy']})")
            for policy in _policies_on(snap, namespace, server, shapes.METRICS_PATH):
                if authorizes_collector(snap, policy) and _only_collector(snap, policy):
                    continue
                refs = (policy.get("spec") or {}).get("requiredAuthenticationRefs") or []
                who = " and ".join(_describe_ref(snap, r, namespace) for r in refs) or "no authentication"
                found.setdefault(where, []).append(f"{who} (AuthorizationPolicy {policy['metadata']['name']})")
    if found:
        lines = [f"{ns} ({server}): {client}" for (ns, server), clients in sorted(found.items()) for client in clients]
        return warn(f"other clients than the collector may read the proxies' /metrics in "
                    f"{count(len({ns for ns, _s in found}), 'namespace')}: remove their AuthorizationPolicies "
                    f"if only the collector should", listing(lines))
    if not any_server:
        return passed(description="no Server on the proxies' admin port: their default inbound policy decides "
                                  "who may read /metrics")
    return None


def _only_collector(snap, policy: dict) -> bool:
    """Every identity the policy admits is the collector's: it requires the collector's ServiceAccount
    (all refs must hold), or a MeshTLSAuthentication naming nothing but it."""
    sa, sa_ns = snap.service_account_name(), snap.collector_namespace
    identity = collector_identity(snap)
    policy_ns = policy["metadata"].get("namespace")
    for auth in (policy.get("spec") or {}).get("requiredAuthenticationRefs") or []:
        namespace = auth.get("namespace") or policy_ns
        if auth.get("kind") == "ServiceAccount" and auth.get("name") == sa and namespace == sa_ns:
            return True
        if auth.get("kind") != "MeshTLSAuthentication":
            continue
        for mtls in snap.meshtls_authentications:
            meta = mtls["metadata"]
            if meta.get("name") != auth.get("name") or meta.get("namespace") != namespace:
                continue
            spec = mtls.get("spec") or {}
            refs = spec.get("identityRefs") or []
            ids = spec.get("identities") or []
            if (ids or refs) and all(i == identity for i in ids) and all(
                    r.get("kind") == "ServiceAccount" and r.get("name") == sa
                    and (r.get("namespace") or namespace) == sa_ns for r in refs):
                return True
    return False


def probes_authorized(snap, opts):
    failure = read_failure(snap, *POLICY_STEPS)
    if failure:
        return failure
    problems, with_routes = [], 0
    for namespace, pods in _by_namespace(_live_meshed(snap, opts)).items():
        servers = {id(s): s for s in (used_server(snap, p) for p in pods) if s is not None}
        for server in servers.values():
            name = server["metadata"]["name"]
            if not shapes.routes_on(snap.http_routes, namespace, name) or _open_server(server):
                continue
            with_routes += 1
            for path in shapes.PROBE_PATHS:
                gap = _route_gap(snap, namespace, server, path)
                if gap:
                    problems.append(f"{namespace}: {gap}")
                    continue
                if not any(_network_authenticated(snap, p) for p in _policies_on(snap, namespace, server, path)):
                    problems.append(f"{namespace}: no AuthorizationPolicy with a NetworkAuthentication lets the "
                                    f"kubelet reach {path} on Server {name}")
    if problems:
        return fail(f"the kubelet's probes are refused on the proxies' admin port: the pods will fail their "
                    f"liveness and readiness probes; {FIX} (it adds the probe route and policy)", listing(problems))
    if not with_routes:
        return passed(description="no HTTPRoute on the proxies' admin port: Linkerd authorizes the probes itself")
    return None


def _network_authenticated(snap, policy: dict) -> bool:
    policy_ns = policy["metadata"].get("namespace")
    for auth in (policy.get("spec") or {}).get("requiredAuthenticationRefs") or []:
        if auth.get("kind") != "NetworkAuthentication":
            continue
        namespace = auth.get("namespace") or policy_ns
        if any(n["metadata"].get("name") == auth.get("name") and n["metadata"].get("namespace") == namespace
               for n in snap.network_authentications):
            return True
    return False


def refused_now(snap) -> Dict[str, str]:
    """Targets the collector's receiver reports refused with HTTP 403 at its last scrape: address -> error."""
    found = {}
    for _pod, doc in sorted(snap.receiver_targets.items()):
        for target in ((doc or {}).get("data") or {}).get("activeTargets") or []:
            if _STATUS_403.search(str(target.get("lastError") or "")):
                where = (target.get("labels") or {}).get("instance") or target.get("scrapeUrl") or "?"
                found[where] = str(target.get("lastError"))
    return found


def refused_in_logs(snap) -> Dict[str, "log_classes.Problem"]:
    """Targets the collector's logs show refused with HTTP 403: address -> where, how often, when."""
    found: Dict[str, log_classes.Problem] = {}
    for _pod, text in sorted(snap.logs.items()):
        for address, problem in log_classes.refused_scrapes(text or "").items():
            found.setdefault(address, log_classes.Problem(problem.text)).seen(problem.first, problem.count,
                                                                                problem.last)
    return found


def refusal_advice(snap, opts, past: bool) -> str:
    """What can make the proxies answer the collector with 403, from what is in force: only a restriction
    in force is fixed by restricting (the collector meshed and authorized)."""
    reasons = restrictive(snap, opts)
    if reasons and not collector_meshed(snap):
        return (f"{' and '.join(reasons)} {verb(len(reasons), 'is', 'are')} in force and the collector is not "
                f"meshed; {FIX} to mesh it and authorize it")
    if reasons:
        return (f"the collector is meshed, but {' and '.join(reasons)} {verb(len(reasons), 'refuses', 'refuse')} "
                f"it where no policy authorizes it; {FIX} to authorize it")
    cause = ("a Server, AuthorizationPolicy or default-inbound-policy annotation changed since"
             if past else "a policy object this plugin could not read")
    return (f"no inbound policy in force refuses the collector (the checks above), so restricting is not the "
            f"fix: look for {cause}, or a proxy of another version")


def no_403(snap, opts):
    if not snap.receiver_targets and not snap.logs:
        # which pods run the collector is not known
        failure = read_failure(snap, "pods", "deployments", "daemonsets", COLLECTOR_STEP, READS_STEP)
        if failure:
            return failure
        unread = {**snap.step_errors(LOGS), **snap.receiver_targets_errors}
        if unread:   # a read that failed: say which, rather than "does not apply"
            return warn("cannot tell whether a scrape answered HTTP 403: " +
                        "; ".join(f"{pod}: {error}" for pod, error in sorted(unread.items())[:3]))
        return skip("neither the collector's targets nor its logs could be read")
    now = refused_now(snap)
    if now:
        return fail(f"{count(len(now), 'scrape target')} {verb(len(now), 'answers', 'answer')} HTTP 403 (the "
                    f"collector's receiver, last scrape): {refusal_advice(snap, opts, past=False)}",
                    listing([f"{address}: {error}" for address, error in sorted(now.items())]))
    logged = refused_in_logs(snap)
    if not logged:
        return None
    lines = listing([f"{p.text}: HTTP 403 ({p.when()})" for _a, p in sorted(logged.items())])
    if snap.receiver_targets:
        # the receiver's view is the newer one: those targets are not refused at their last scrape
        return warn(f"{count(len(logged), 'scrape target')} answered HTTP 403 earlier (the collector's logs), "
                    f"not at {verb(len(logged), 'its', 'their')} last scrape (its receiver): "
                    f"{refusal_advice(snap, opts, past=True)}", lines)
    return fail(f"{count(len(logged), 'scrape target')} answered HTTP 403 (the collector's logs): "
                f"{refusal_advice(snap, opts, past=False)}", lines)


CATEGORY = Category("linkerd-otel-policy", [
    Check("collector-meshed", "collector is meshed where a restrictive policy is in force", collector_is_meshed,
          "policy-collector-meshed"),
    Check("metrics-authorized", "every meshed namespace lets the collector read /metrics", metrics_authorized,
          "policy-metrics-authorized"),
    Check("other-clients", "no other client may read the proxies' /metrics", other_clients,
          "policy-other-clients"),
    Check("probes", "kubelet probes are still authorized", probes_authorized, "policy-probes"),
    Check("no-403", "no scrape answered HTTP 403", no_403, "policy-no-403"),
], requires=("linkerd-control-plane",))
