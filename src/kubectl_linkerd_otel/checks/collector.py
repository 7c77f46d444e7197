"""linkerd-otel-collector: namespace, service account, RBAC, config, rollout, pods."""
from __future__ import annotations

from datetime import datetime
from typing import List

from .. import naming
from ..collector.config import PLAINTEXT_CREDENTIAL
from ..scrape.validation import validate
from ..k8s import podstatus
from ..collector.logs import redact
from ..collector.locate import collector_container, template_spec
from ..snapshot import ACCESS, COLLECTOR_STEP, READS_STEP, review_namespaces, step
from .common import count, facts, listing, read_failure, verb
from .framework import Category, Check, fail, passed, skip, warn

RESTART_WINDOW = 3600


def namespace(snap, _opts):
    failure = read_failure(snap, "namespaces")
    if failure:
        return failure
    ns = snap.collector_namespace
    if snap.namespace(ns) is None:
        return fail(f"namespace '{ns}' does not exist: run `kubectl linkerd-otel install`, or pass the "
                    "collector's namespace with -n")
    how = {"extension-label": f" (labelled {naming.EXTENSION_LABEL}={naming.EXTENSION_NAME})"}.get(
        snap.collector_namespace_source, "")
    return passed(f"collector namespace '{ns}' exists{how}")


def workload(snap, _opts):
    failure = read_failure(snap, "deployments", "daemonsets", COLLECTOR_STEP)
    if failure:
        return failure
    if snap.workload() is None:
        return fail(f"no collector Deployment or DaemonSet in '{snap.collector_namespace}' (looked for "
                    f"{naming.COLLECTOR_NAME} and {naming.REFERENCE_WORKLOAD})")
    return passed(f"collector workload {snap.collector_workload} found")


def service_account(snap, _opts):
    failure = read_failure(snap, "serviceaccounts")
    if failure:
        return failure
    name = snap.service_account_name()
    if not any(sa["metadata"]["name"] == name for sa in snap.service_accounts):
        return fail(f"service account '{name}' used by the collector does not exist")
    return passed(f"collector service account '{name}' exists")


def _reviews(snap):
    return [r for r in snap.access_reviews if r.get("resource") == "pods"
            and r.get("verb") in ("get", "list", "watch") and r.get("namespace") != "__all__"]


def _review_errors(snap) -> List[str]:
    return list(dict.fromkeys(snap.step_errors(ACCESS).values()))


def rbac(snap, _opts):
    failure = read_failure(snap, READS_STEP)
    if failure:
        return failure
    errors = _review_errors(snap)
    if errors:
        # every review fails alike (typically: we may not create subjectaccessreviews): say it once
        outcome = fail("could not ask the API server (SubjectAccessReview) what the collector may do",
                       listing(errors))
        outcome.retryable = all(snap.transient_errors.get(step(ACCESS, rest)) for rest in snap.step_errors(ACCESS))
        return outcome
    reviews = _reviews(snap)
    if not reviews:
        if snap.workload() is not None and not review_namespaces(snap):
            return skip("no scrape job discovers pods")
        return skip("no access reviews were made")
    denied = sorted({f"{r['verb']} pods in {r['namespace'] or 'all namespaces'}"
                     for r in reviews if not r["allowed"]})
    if denied:
        who = f"system:serviceaccount:{snap.collector_namespace}:{snap.service_account_name()}"
        return fail(f"{who} may not: {'; '.join(denied[:6])}" + (" ..." if len(denied) > 6 else ""))
    scope = sorted({r["namespace"] for r in reviews})
    where = "all namespaces" if scope == [""] else ", ".join(scope)
    return passed(f"collector can get, list and watch pods where it scrapes ({where})")


def rbac_extra(snap, _opts):
    if _review_errors(snap) or READS_STEP in snap.errors:
        return skip("the API server could not be asked what the collector may do (see the check above)")
    if not snap.access_reviews:
        return skip("no access reviews were made")
    extra = sorted({f"{r['verb']} {r['resource']}" for r in snap.access_reviews
                    if r.get("allowed") and (r.get("resource") != "pods" or r.get("verb") in ("create", "delete"))})
    if extra:
        return warn(f"the collector may also {', '.join(extra)}: it only needs to get, list and watch pods")
    return None


def config_present(snap, _opts):
    failure = read_failure(snap, "configmaps")
    if failure:
        return failure
    if not snap.collector_configmap:
        return fail(f"no collector ConfigMap in '{snap.collector_namespace}' (looked for the one the workload "
                    f"mounts, {naming.CONFIGMAP_NAME} and {naming.REFERENCE_CONFIGMAP})")
    if not snap.config_text():
        return fail(f"ConfigMap {snap.collector_configmap} holds no config")
    return passed(f"collector config {snap.collector_configmap} found")


def config_parses(snap, _opts):
    if facts(snap).parse_error:
        return fail(f"collector config {snap.collector_configmap}: {facts(snap).parse_error}")
    return None


def _containers(snap):
    return template_spec(snap.workload() or {}).get("containers") or []


def _collector_image(snap):
    return (collector_container(template_spec(snap.workload() or {})) or {}).get("image")


def _env_names(snap):
    """The collector container's environment variable names (literal or from a Secret/downward API)."""
    container = collector_container(template_spec(snap.workload() or {})) or {}
    if container.get("envFrom"):
        return None     # names from a whole ConfigMap or Secret: not known here
    return {item.get("name") for item in container.get("env") or [] if isinstance(item, dict)}


def config_consistent(snap, _opts):
    config = facts(snap).config
    if config is None:
        return skip("the config did not parse")
    problems, warnings = [], []
    for problem in validate(config, image=_collector_image(snap), env_names=_env_names(snap)):
        if problem.code == PLAINTEXT_CREDENTIAL:   # reported by linkerd-otel-exporter's credentials check
            continue
        (problems if problem.severity == "error" else warnings).append(problem.message)
    if problems:
        also = f" and {count(len(warnings), 'warning')}" if warnings else ""
        return fail(f"{count(len(problems), 'problem')}{also} in {snap.collector_configmap}",
                    listing(problems + [f"warning: {w}" for w in warnings]))
    if warnings:
        return warn(f"{count(len(warnings), 'warning')} in {snap.collector_configmap}", listing(warnings))
    return None


def image_pinned(snap, _opts):
    loose = []
    for container in _containers(snap):
        image = container.get("image") or ""
        if "@sha256:" in image:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if not tag or tag == "latest":
            loose.append(f"{container.get('name')}: {image}")
    if loose:
        return warn("the collector image is not pinned to a version", loose)
    return None


def rolled_out(snap, _opts):
    obj = snap.workload()
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    name = snap.collector_workload
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return fail(f"{name}: generation {generation} not observed yet (observed: {observed if observed is not None else 'none'}): "
                    "the controller has not started this rollout", retryable=True)
    if obj.get("kind") == "DaemonSet":
        desired, available = status.get("desiredNumberScheduled", 0), status.get("numberAvailable", 0)
        updated = status.get("updatedNumberScheduled", 0)
        if desired == 0:
            return fail(f"{name}: no pod scheduled (0 nodes match its nodeSelector, affinity and tolerations): "
                        "nothing scrapes", retryable=False)
        if updated < desired:
            return fail(f"{name}: {updated}/{desired} scheduled pods updated: the rollout is not done")
        if available < desired:
            return fail(f"{name}: {available}/{desired} scheduled pods available")
        return None
    desired, available = spec.get("replicas", 1), status.get("availableReplicas", 0)
    if desired == 0:
        kind, _, short = name.partition("/")
        return fail(f"{name} is scaled to 0 replicas: nothing scrapes; `kubectl -n {snap.collector_namespace} "
                    f"scale {kind.lower()}/{short} --replicas=1`", retryable=False)
    updated = status.get("updatedReplicas", 0)
    if updated < desired:
        return fail(f"{name}: {updated}/{desired} replicas updated: the rollout is not done")
    if available < desired:
        return fail(f"{name}: {available}/{desired} replicas available")
    return None


def _epoch(text: str) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def pods(snap, _opts):
    failure = read_failure(snap, "pods")
    if failure:
        return failure
    collector_pods = snap.collector_pods()
    if not collector_pods:
        return fail(f"no pods of {snap.collector_workload} found")
    crashing, not_ready, restarted = [], [], []
    for pod in collector_pods:
        last = podstatus.last_termination(pod)
        waiting = dict(podstatus.waiting_reasons(pod))
        if "CrashLoopBackOff" in waiting.values():
            why = f", last exit: {last['reason']} (exit code {last['exitCode']})" if last else ""
            crashing.append(f"{pod['metadata']['name']} is crash-looping ({podstatus.restarts(pod)} restarts{why})"
                            + (f": {redact(last['message'].strip())[:200]}" if last and last["message"] else ""))
        elif not podstatus.is_fully_ready(pod):
            not_ready.append(f"{pod['metadata']['name']}  {podstatus.ready_column(pod)}  "
                             f"{podstatus.not_ready_reason(pod)}")
        elif last and snap.taken_at and snap.taken_at - _epoch(last["finishedAt"]) < RESTART_WINDOW:
            restarted.append(f"{pod['metadata']['name']} restarted in the last hour ({last['reason']})")
    if crashing or not_ready:
        bad = len(crashing) + len(not_ready)
        return fail(f"{bad} of {count(len(collector_pods), 'collector pod')} {verb(bad, 'is', 'are')} not healthy",
                    listing(crashing + not_ready))
    if restarted:
        return warn("collector pods restarted recently", listing(restarted))
    return passed(f"{count(len(collector_pods), 'collector pod')} running and ready")


CATEGORY = Category("linkerd-otel-collector", [
    Check("namespace", "collector namespace exists", namespace, "otel-namespace", fatal=True),
    Check("workload", "collector workload exists", workload, "otel-workload", fatal=True),
    Check("service-account", "collector service account exists", service_account, "otel-service-account"),
    Check("rbac", "collector can get, list and watch pods where it scrapes", rbac, "otel-rbac"),
    Check("rbac-extra", "collector has no permissions beyond what it needs", rbac_extra, "otel-rbac-extra"),
    Check("image", "collector image is pinned", image_pinned, "otel-image-pinned"),
    Check("rollout", "collector workload is rolled out", rolled_out, "otel-rollout", retryable=True),
    Check("pods", "collector pods are running and ready", pods, "otel-pods", retryable=True),
    Check("config", "collector config exists", config_present, "otel-config", fatal=True),
    Check("config-parses", "collector config parses", config_parses, "otel-config-parses", fatal=True),
    Check("config-consistent", "collector config is consistent", config_consistent, "otel-config-consistent"),
], requires=("kubernetes-api",))
