"""The names of gather steps: the keys of `Snapshot.errors`. `cluster/gather.py` builds them, the checks
read them, both through these helpers (never a string format repeated on each side)."""
from __future__ import annotations

# Steps that work things out rather than read them (a failure there is named by a check).
COLLECTOR_STEP = "the collector workload and config"
READS_STEP = "the collector's logs, self-metrics, targets and permissions"
# The steps reading Linkerd's policy CRDs (absent CRDs: an empty list, not an error), by the plural
# each lists.
POLICY_STEPS = {"servers": "servers.policy.linkerd.io",
                "authorizationpolicies": "authorizationpolicies.policy.linkerd.io",
                "httproutes": "httproutes.policy.linkerd.io",
                "meshtlsauthentications": "meshtlsauthentications.policy.linkerd.io",
                "networkauthentications": "networkauthentications.policy.linkerd.io"}
# Per-object steps: `kind/rest`, e.g. `logs/<pod>`, `service/<ns>/<name>`.
LOGS, METRICS, TARGETS, ACCESS, SERVICE, ENDPOINTSLICES, PROBE, PROOF = (
    "logs", "metrics", "targets", "access", "service", "endpointslices", "probe", "proof")


def step(kind: str, *parts: str) -> str:
    """The key of a per-object gather step: step(LOGS, pod), step(SERVICE, ns, name)."""
    return "/".join((kind,) + tuple(parts))


def split_step(key: str):
    """(kind, rest) of a step key: split_step("service/ns/name") == ("service", "ns/name")."""
    kind, _, rest = key.partition("/")
    return kind, rest


def access_step(resource: str, verb: str, namespace: str = "") -> str:
    """The SubjectAccessReview step: pods are asked per namespace ("" is the cluster scope)."""
    return step(ACCESS, resource, verb, namespace) if resource == "pods" else step(ACCESS, resource, verb)
