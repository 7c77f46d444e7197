"""Putting the rendered stack into the cluster, and taking it out again (cluster I/O).

The decision "print the manifests or apply them" lives in `print_instead_of_apply`, used by both
`install` and `uninstall`: `linkerd-otel install | kubectl apply -f -` must work like other Linkerd
extensions, while `kubectl linkerd-otel install` on a terminal applies.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .durations import format_go_duration
from .errors import Conflict, KubeError, PluginError
from .naming import (COLLECTOR_NAME, COLLECTOR_NAMESPACE_LABEL, CONTROL_PLANE_LABEL, EXTENSION_LABEL,
                     EXTENSION_NAME, MANAGED_BY_SELECTOR, REFERENCE_CONFIGMAP, REFERENCE_WORKLOAD,
                     RESTART_FIELD_MANAGER, RESTARTED_AT_ANNOTATION, SECRET_NAME, common_labels)

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
POLL_SECONDS = 2.0


# --- print or apply ---------------------------------------------------------------------------

def print_instead_of_apply(output: Optional[str], dry_run: Optional[str], stdout_is_tty: bool) -> bool:
    """True when the command should print manifests and change nothing.

    `-o yaml|json` or `--dry-run[=client]` print; `-o text` applies; without `-o` a terminal applies and a
    pipe prints (so `linkerd-otel install | kubectl apply -f -` works)."""
    if dry_run == "client":
        return True
    if output in ("yaml", "json"):
        return dry_run != "server"
    if output == "text" or dry_run == "server":
        return False
    return not stdout_is_tty


def stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _group(obj: dict) -> str:
    api_version = obj.get("apiVersion", "")
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def object_ref(obj: dict) -> str:
    """`deployment.apps/name`, as kubectl prints it."""
    kind, group = obj.get("kind", "").lower(), _group(obj)
    return f"{kind}.{group}/{obj['metadata']['name']}" if group else f"{kind}/{obj['metadata']['name']}"


# --- Linkerd ----------------------------------------------------------------------------------

def detect_linkerd_namespace(kube, override: Optional[str], *, required: bool) -> str:
    """The Linkerd control plane's namespace: `override`, else the namespace labelled
    linkerd.io/is-control-plane=true, else `linkerd` if it exists. Raises when Linkerd is missing and
    `required`."""
    if override:
        if required and kube.get_or_none("namespaces", override) is None:
            raise PluginError(f"namespace {override} (--linkerd-namespace) does not exist",
                              hint="give the namespace Linkerd is installed in, or --skip-linkerd-check")
        return override
    labelled = [ns["metadata"]["name"] for ns in
                kube.list("namespaces", label_selector=f"{CONTROL_PLANE_LABEL}=true")]
    if len(labelled) == 1:
        return labelled[0]
    if len(labelled) > 1:
        if "linkerd" in labelled:
            return "linkerd"
        raise PluginError(f"several Linkerd control planes found ({', '.join(sorted(labelled))})",
                          hint="pick one with --linkerd-namespace")
    if kube.get_or_none("namespaces", "linkerd") is not None:
        return "linkerd"
    if required:
        raise PluginError("Linkerd is not installed in this cluster (no namespace labelled "
                          f"{CONTROL_PLANE_LABEL}=true)",
                          hint="install Linkerd first (linkerd install | kubectl apply -f -), or pass "
                               "--skip-linkerd-check (with --linkerd-namespace if it is not linkerd)")
    return "linkerd"


# --- apply ------------------------------------------------------------------------------------

def conflict_error(obj: dict, exc: Conflict) -> PluginError:
    causes = exc.causes
    parts = []
    for cause in causes:
        field = cause.get("field") or "a field"
        manager = cause.get("manager") or "another field manager"
        parts.append(f"{field} (owned by {manager})")
    what = ", ".join(parts) if parts else "fields another field manager owns"
    return PluginError(f"{object_ref(obj)}: not overwriting {what}",
                       hint="re-run with --force-conflicts to take them over, or undo that change")


def apply_objects(kube, objects: List[dict], *, dry_run: bool, force: bool,
                  echo: Callable[[str], None], skip: Optional[dict] = None,
                  existing: Optional[Dict[str, Optional[dict]]] = None,
                  echo_skipped: Optional[Callable[[str], None]] = None) -> List[Tuple[dict, str]]:
    """Server-side apply in order; one line per object. `skip` maps refs to (action, reason): said, not
    applied (objects left out, action "skipped", through `echo_skipped` when given). `existing` (from existing_objects) spares
    reading each object again. Returns (object, action) pairs."""
    suffix = " (server dry run)" if dry_run else ""
    done: List[Tuple[dict, str]] = []
    for obj in objects:
        ref = object_ref(obj)
        if skip and ref in skip:
            action, reason = skip[ref]
            say = echo_skipped if action == "skipped" and echo_skipped else echo
            say(f"{ref} {action} ({reason})")
            done.append((obj, action))
            continue
        try:
            known = {} if existing is None or ref not in existing else {"before": existing[ref]}
            result = kube.apply(obj, dry_run=dry_run, force=force, **known)
        except Conflict as exc:
            raise with_hint(conflict_error(obj, exc), _partial_hint(done, objects, dry_run)) from None
        except KubeError as exc:
            raise with_hint(exc, _partial_hint(done, objects, dry_run)) from None
        echo(f"{ref} {result.action}{suffix}")
        done.append((result.object, result.action))
    return done


def with_hint(exc: PluginError, hint: str) -> PluginError:
    exc.hint = "; ".join(h for h in (exc.hint, hint) if h)
    return exc


def _partial_hint(done: List[Tuple[dict, str]], objects: List[dict], dry_run: bool = False) -> str:
    """Where an interrupted apply left the cluster, and how to go on from there."""
    if dry_run:
        return "nothing was changed (server dry run)"
    if not done:
        return "nothing was applied"
    return (f"{len(done)} of {len(objects)} objects were applied before it; once fixed, run install "
            f"again to apply the rest, or uninstall to remove them")


def existing_objects(kube, objects: List[dict]) -> Dict[str, Optional[dict]]:
    """What is already in the cluster under each rendered object's name (None: nothing)."""
    from .kube import resource_for

    found: Dict[str, Optional[dict]] = {}
    for obj in objects:
        res = resource_for(obj)
        meta = obj["metadata"]
        found[object_ref(obj)] = kube.get_or_none(res.plural + (f".{res.group}" if res.group else ""),
                                                  meta["name"], meta.get("namespace"))
    return found


def refuse_foreign(objects: List[dict], existing: Dict[str, Optional[dict]]) -> None:
    """An object of ours by name that install did not create belongs to someone else: taking it over
    would change it now and delete it at uninstall. The namespace and the credentials Secret (which
    the user may have created as install told them to) are the exceptions."""
    key, value = MANAGED_BY_SELECTOR.split("=", 1)
    for obj in objects:
        if obj.get("kind") in ("Namespace", "Secret"):
            continue
        ref = object_ref(obj)
        current = existing.get(ref)
        if current is None or _ours(current):
            continue
        where = f" in namespace {obj['metadata']['namespace']}" if obj["metadata"].get("namespace") else ""
        raise PluginError(
            f"{ref} already exists{where} and was not created by kubectl-linkerd-otel: install will not "
            f"take it over",
            hint=f"delete or rename it, install into another namespace (-n), or hand it over with "
                 f"`kubectl label {ref}{' -n ' + obj['metadata']['namespace'] if where else ''} "
                 f"{key}={value}`; nothing was applied")


def namespace_to_apply(rendered: dict, existing: Optional[dict]) -> dict:
    """A namespace that existed before install keeps its own labels: install adds only the extension
    label (so `linkerd check` runs our checks), never app.kubernetes.io/* labels it would then own, and
    uninstall will not delete it."""
    if existing is None or _ours(existing):
        return rendered
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": rendered["metadata"]["name"],
                         "labels": {EXTENSION_LABEL: EXTENSION_NAME}}}


def preflight(kube, objects: List[dict], existing: Dict[str, Optional[dict]]) -> None:
    """Server-side dry run of every object that exists already, so that a conflict stops install
    before anything is changed (new objects cannot conflict)."""
    for obj in objects:
        if existing.get(object_ref(obj)) is None:
            continue
        try:
            kube.apply(obj, dry_run=True, before=existing[object_ref(obj)])
        except Conflict as exc:
            raise with_hint(conflict_error(obj, exc), "nothing was applied") from None
        except KubeError as exc:
            raise with_hint(exc, "nothing was applied") from None


def pod_template(workload: Optional[dict]) -> Optional[dict]:
    return ((workload or {}).get("spec") or {}).get("template")


def needs_credentials_restart(results: List[Tuple[dict, str]], template_before: Optional[dict]) -> bool:
    """The Secret changed but the pod template did not: the running collectors still hold the old
    credentials (they read them from environment variables at start)."""
    secret_changed = any(obj.get("kind") == "Secret" and action == "configured" for obj, action in results)
    workloads = [(obj, action) for obj, action in results if obj.get("kind") in ("Deployment", "DaemonSet")]
    if not secret_changed or not workloads:
        return False
    workload, action = workloads[-1]
    return action != "created" and pod_template(workload) == template_before


def restart_rollout(kube, workload: dict, *, dry_run: bool, now: Optional[str] = None) -> dict:
    """What `kubectl rollout restart` does: a new restartedAt annotation on the pod template. Applied as
    a separate field manager that owns only that annotation (forced: an earlier `kubectl rollout
    restart` may own it), so the regular apply keeps it."""
    import datetime

    stamp = now or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = workload["metadata"]
    partial = {"apiVersion": workload["apiVersion"], "kind": workload["kind"],
               "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
               "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}
    return kube.apply(partial, dry_run=dry_run, force=True, field_manager=RESTART_FIELD_MANAGER).object


def keep_user_secret(kube, namespace: str, credentials_given: bool) -> Tuple[Optional[str], Optional[dict]]:
    """Why an existing Secret must not be replaced (or None), and that Secret. Only credentials passed
    on the command line replace a Secret that is already there (a hand-made one, or one from an
    earlier install)."""
    if credentials_given:
        return None, None
    existing = kube.get_or_none("secrets", SECRET_NAME, namespace)
    if existing is None:
        return None, None
    return "kept as it is: pass --basic-auth/--header to replace its credentials", existing


def remove_other_mode(kube, namespace: str, mode: str, *, dry_run: bool,
                      echo: Callable[[str], None]) -> None:
    """After switching between deployment and daemonset mode, the old workload has to go."""
    other = "daemonsets" if mode == "deployment" else "deployments"
    old = kube.get_or_none(other, COLLECTOR_NAME, namespace)
    if old is None or not _ours(old):
        return
    kube.delete(other, COLLECTOR_NAME, namespace, dry_run=dry_run)
    echo(f"{object_ref(old)} deleted (replaced by the {mode}){' (server dry run)' if dry_run else ''}")


def reference_setup_warning(kube, namespace: str) -> Optional[str]:
    """The hand-applied reference collector next to ours would send every metric twice."""
    workload = kube.get_or_none("deployments", REFERENCE_WORKLOAD, namespace)
    if workload is None or _ours(workload):
        return None
    return (f"the hand-applied collector deployment/{REFERENCE_WORKLOAD} is still running in {namespace}: "
            f"both collectors scrape and export the same metrics; once ours works, remove it with "
            f"`kubectl -n {namespace} delete deployment/{REFERENCE_WORKLOAD} "
            f"configmap/{REFERENCE_CONFIGMAP}`")


def _labels(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def _ours(obj: dict) -> bool:
    key, value = MANAGED_BY_SELECTOR.split("=", 1)
    return _labels(obj).get(key) == value


# --- rollout ----------------------------------------------------------------------------------

def rollout_state(workload: dict) -> Tuple[bool, str]:
    """(done, progress text) as `kubectl rollout status` judges a Deployment or DaemonSet."""
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    generation = (workload.get("metadata") or {}).get("generation") or 0
    observed = status.get("observedGeneration") or 0
    if workload.get("kind") == "DaemonSet":
        desired = status.get("desiredNumberScheduled") or 0
        updated = status.get("updatedNumberScheduled") or 0
        ready = status.get("numberAvailable") or 0
        done = observed >= generation and desired > 0 and updated == desired and ready == desired
        return done, f"{ready}/{desired} ready, {updated} updated"
    wanted = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas") or 0
    total = status.get("replicas") or 0
    done = observed >= generation and updated == wanted and available >= wanted and total == updated
    return done, f"{available}/{wanted} ready, {updated} updated"


def _pod_selector(workload: dict) -> str:
    labels = ((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _last_event(kube, namespace: str, pod: str) -> str:
    try:
        events = kube.list("events", namespace, field_selector=f"involvedObject.name={pod}")
    except KubeError:
        return ""
    if not events:
        return ""

    def when(ev: dict) -> str:
        return ev.get("lastTimestamp") or ev.get("eventTime") or \
            (ev.get("metadata") or {}).get("creationTimestamp") or ""

    last = max(events, key=when)
    return f"{last.get('reason', '')}: {last.get('message', '')}".strip(": ")


def not_ready_pods(kube, workload: dict) -> List[str]:
    """One line per collector pod that is not ready: name, READY, why, last event."""
    from .podstatus import is_fully_ready, not_ready_reason, ready_column, waiting_reasons

    namespace = workload["metadata"]["namespace"]
    lines = []
    for pod in kube.list("pods", namespace, label_selector=_pod_selector(workload)):
        if is_fully_ready(pod):
            continue
        name = pod["metadata"]["name"]
        waiting = waiting_reasons(pod)
        why = ", ".join(f"{c}: {r}" for c, r in waiting) if waiting else not_ready_reason(pod)
        line = f"pod/{name} {ready_column(pod)} ready: {why}"
        event = _last_event(kube, namespace, name)
        if event:
            line += f"; last event: {event}"
        lines.append(line)
    return lines


def wait_for_rollout(kube, workload: dict, *, timeout: float, interactive: bool,
                     echo_err: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait until the workload's pods are updated and ready; on timeout, say which pods are not and why."""
    plural = "daemonsets" if workload["kind"] == "DaemonSet" else "deployments"
    name, namespace = workload["metadata"]["name"], workload["metadata"]["namespace"]
    ref = object_ref(workload)
    deadline = time.monotonic() + timeout
    progress = _Progress(ref, interactive, echo_err)
    try:
        while True:
            current = kube.get(plural, name, namespace)
            done, text = rollout_state(current)
            progress.update(text)
            if done:
                progress.finish(f"{ref} rolled out: {text}")
                return
            if time.monotonic() >= deadline:
                break
            sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.05)))
    finally:
        progress.close()
    for line in not_ready_pods(kube, current) or ["no collector pod exists yet (see "
                                                  f"`kubectl -n {namespace} describe {ref}`)"]:
        echo_err("  " + line)
    raise PluginError(f"timed out after {format_go_duration(timeout)} waiting for {ref} ({text})",
                      hint="see the pods above, run `kubectl linkerd-otel check`, or raise --timeout")


class _Progress:
    """A rich spinner on a terminal; otherwise a plain line whenever the state changes."""

    def __init__(self, ref: str, interactive: bool, echo_err: Callable[[str], None]):
        self.ref, self.echo_err, self.last = ref, echo_err, None
        self.live = None
        if interactive:
            from rich.console import Console
            from rich.status import Status

            self.live = Status(f"waiting for {ref}", console=Console(stderr=True))
            self.live.start()

    def update(self, text: str) -> None:
        if text == self.last:
            return
        self.last = text
        if self.live is not None:
            self.live.update(f"waiting for {self.ref}: {text}")
        else:
            self.echo_err(f"waiting for {self.ref}: {text}")

    def finish(self, text: str) -> None:
        self.close()
        self.echo_err(text)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


# --- uninstall --------------------------------------------------------------------------------

NAMESPACED_KINDS = ("deployments", "daemonsets", "services", "configmaps", "secrets", "serviceaccounts",
                    "rolebindings", "roles")
# What may live in a namespace without counting as "something else": Kubernetes puts these there.
_DEFAULT_OBJECTS = {("configmaps", "kube-root-ca.crt"), ("serviceaccounts", "default")}
# Records about other objects, not objects of their own: they go with the namespace harmlessly.
_DERIVED = {("", "events"), ("events.k8s.io", "events")}
_DERIVED_GROUPS = ("metrics.k8s.io",)     # pod metrics: an aggregated API, often the one that is down


def objects_to_delete(kube, namespace: str, also_ours: Sequence[Tuple[object, dict]] = ()
                      ) -> Tuple[List[Tuple[str, dict]], str]:
    """(resource, object) pairs we installed in `namespace`, plus the cluster RBAC of that namespace's
    collector (selected by its collector-namespace label: another namespace's install keeps its own), in
    delete order; the namespace itself last, only when install created it and nothing else lives in it.
    Also why the namespace is kept ("" when it goes, or when it is not ours to delete). `also_ours`: more
    objects uninstall deletes (the policy objects), which do not keep the namespace alive."""
    found: List[Tuple[str, dict]] = []
    for plural in NAMESPACED_KINDS:
        for obj in kube.list(plural, namespace, label_selector=MANAGED_BY_SELECTOR):
            found.append((plural, obj))
    cluster_selector = f"{MANAGED_BY_SELECTOR},{COLLECTOR_NAMESPACE_LABEL}={namespace}"
    for plural in ("clusterrolebindings", "clusterroles"):
        for obj in kube.list(plural, label_selector=cluster_selector):
            found.append((plural, obj))
    ns = kube.get_or_none("namespaces", namespace)
    if ns is None:
        return found, ""
    if namespace in PROTECTED_NAMESPACES:
        return found, "kept: a Kubernetes system namespace"
    if not _ours(ns):
        return found, "kept: it existed before install"
    occupant = namespace_occupant(kube, namespace, found + list(also_ours))
    if occupant:
        return found, f"kept: {occupant}"
    found.append(("namespaces", ns))
    return found, ""


def namespace_occupant(kube, namespace: str, ours: List[Tuple[str, dict]]) -> Optional[str]:
    """Why the namespace must stay: the first object in it that is neither ours, nor made by ours
    (ReplicaSets, pods, ...), nor put there by Kubernetes; or that not every kind could be listed.
    Every listable namespaced kind counts, custom resources included (`kubectl api-resources`)."""
    resources, failed = kube.namespaced_resources(
        skip_groups=_DERIVED_GROUPS + tuple(group for group, _plural in _DERIVED if group))
    if failed:
        return f"could not make sure nothing else lives in it ({', '.join(failed)} did not answer)"
    mine = {(_group(obj), obj["metadata"]["name"], obj.get("kind")) for _plural, obj in ours}
    names = {obj["metadata"]["name"] for _plural, obj in ours}
    workloads = {obj["metadata"]["name"] for plural, obj in ours if plural in ("deployments", "daemonsets")}
    for res in resources:
        if res.group in _DERIVED_GROUPS or (res.group, res.plural) in _DERIVED:
            continue
        try:
            items = kube.list(res, namespace)
        except KubeError as exc:
            return f"could not make sure nothing else lives in it ({exc.message})"
        for obj in items:
            name = obj["metadata"]["name"]
            if (res.group, name, res.kind) in mine or (res.plural, name) in _DEFAULT_OBJECTS:
                continue
            if _owned_by(obj, names, workloads):
                continue
            if res.plural == "secrets" and obj.get("type") == "kubernetes.io/service-account-token":
                continue
            kind = res.kind.lower() + (f".{res.group}" if res.group else "")
            return f"other objects live in it ({kind}/{name})"
    return None


def namespace_to_release(kube, namespace: str, found: List[Tuple[str, dict]]) -> Optional[dict]:
    """Our namespace when uninstall keeps it (something else lives in it): it must lose our labels, or
    `linkerd check` keeps running `linkerd-otel check` for it."""
    if any(plural == "namespaces" for plural, _obj in found):
        return None
    ns = kube.get_or_none("namespaces", namespace)
    if ns is None or not (_ours(ns) or _labels(ns).get(EXTENSION_LABEL) == EXTENSION_NAME):
        return None
    return ns


def our_namespace_labels(ns: dict) -> List[str]:
    """The labels `install` puts on a namespace that it still carries."""
    ours = [EXTENSION_LABEL] + sorted(common_labels(""))
    return [key for key in ours if key in _labels(ns)]


def release_namespace(kube, ns: dict, *, dry_run: bool) -> dict:
    """Drop the labels we own from a namespace we keep: applying it with our field manager and no
    labels makes server-side apply remove the fields only we own; labels others set stay. Returns the
    namespace as it is (or would be, in a dry run) afterwards."""
    empty = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns["metadata"]["name"]}}
    return kube.apply(empty, dry_run=dry_run).object


def _owned_by(obj: dict, names: set, workloads: set) -> bool:
    # ReplicaSets and ControllerRevisions belong to our workloads, pods to a ReplicaSet named after the
    # Deployment (or to the DaemonSet), EndpointSlices to a Service of ours
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        name = ref.get("name", "")
        if name in names or any(name.startswith(w + "-") for w in workloads):
            return True
    return False


def delete_objects(kube, found: List[Tuple[str, dict]], *, dry_run: bool,
                   echo: Callable[[str], None]) -> int:
    suffix = " (server dry run)" if dry_run else ""
    count = 0
    for plural, obj in found:
        meta = obj["metadata"]
        try:
            gone = kube.delete(plural, meta["name"], meta.get("namespace"), dry_run=dry_run)
        except KubeError as exc:
            hint = ("nothing was changed (server dry run)" if dry_run else
                    f"{count} of {len(found)} objects were deleted before it; once fixed, run uninstall "
                    f"again to delete the rest")
            raise with_hint(exc, hint) from None
        if gone:
            count += 1
            echo(f"{object_ref(obj)} deleted{suffix}")
        else:
            echo(f"{object_ref(obj)} already gone")
    return count


def reference(obj: dict) -> dict:
    """Just enough of an object for `kubectl delete -f -`: never its data."""
    meta = {"name": obj["metadata"]["name"]}
    if obj["metadata"].get("namespace"):
        meta["namespace"] = obj["metadata"]["namespace"]
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": meta}
