"""Putting the rendered stack into the cluster (cluster I/O): finding Linkerd, refusing to take over
what is not ours, server-side apply with a dry run first, keeping the user's credentials Secret, and
restarting the collectors when only their credentials changed. `install()` runs it all; the command
prints and waits.
"""
from __future__ import annotations

import datetime
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from . import operator as operator_mode
from . import policy as policy_io
from ..errors import Conflict, Forbidden, KubeError, PluginError, UsageError
from ..k8s.refs import is_ours, object_ref
from ..apiclient import resource_for
from ..naming import (COLLECTOR_NAME, IS_CONTROL_PLANE_LABEL, EXTENSION_LABEL, EXTENSION_NAME, MANAGED_BY_SELECTOR,
                      REFERENCE_CONFIGMAP, REFERENCE_WORKLOAD, RESTART_FIELD_MANAGER, RESTARTED_AT_ANNOTATION,
                      SECRET_NAME)
from ..render.common import credentials_in_secret, secret
from ..render.manifests import render


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
                kube.list("namespaces", label_selector=f"{IS_CONTROL_PLANE_LABEL}=true")]
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
                          f"{IS_CONTROL_PLANE_LABEL}=true)",
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
        if current is None or is_ours(current):
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
    if existing is None or is_ours(existing):
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
    if old is None or not is_ours(old):
        return
    kube.delete(other, COLLECTOR_NAME, namespace, dry_run=dry_run)
    echo(f"{object_ref(old)} deleted (replaced by the {mode}){' (server dry run)' if dry_run else ''}")


def reference_setup_warning(kube, namespace: str) -> Optional[str]:
    """The hand-applied reference collector next to ours would send every metric twice."""
    workload = kube.get_or_none("deployments", REFERENCE_WORKLOAD, namespace)
    if workload is None or is_ours(workload):
        return None
    return (f"the hand-applied collector deployment/{REFERENCE_WORKLOAD} is still running in {namespace}: "
            f"both collectors scrape and export the same metrics; once ours works, remove it with "
            f"`kubectl -n {namespace} delete deployment/{REFERENCE_WORKLOAD} "
            f"configmap/{REFERENCE_CONFIGMAP}`")


# --- the whole install ------------------------------------------------------------------------

class Applied(NamedTuple):
    stack: List[Tuple[dict, str]]     # (object, action) of the collector stack, the workload last
    policy: List[Tuple[dict, str]]    # those of the Linkerd policy objects (--restrict-metrics)

    @property
    def workload(self) -> dict:
        return self.stack[-1][0]


def install(kube, options, *, linkerd_namespace: Optional[str], require_linkerd: bool, server_dry_run: bool,
            force_conflicts: bool, echo: Callable[[str], None], note: Callable[[str], None],
            inform: Callable[[str], None], warn: Callable[[str], None],
            policy_namespaces: Sequence[str] = ()) -> Applied:
    """Render `options` (render.options.InstallOptions) for this cluster and apply it: one `echo` line per
    object, `note` for objects left out, `inform` for what install decided, `warn` for what the user
    should act on."""
    options.linkerd_namespace = detect_linkerd_namespace(kube, linkerd_namespace, required=require_linkerd)
    if options.mode == "operator":
        operator_mode.require_operator(kube, options.namespace)
    reason, kept_secret = keep_user_secret(kube, options.namespace, options.credentials_given)
    if kept_secret is not None:
        reuse_kept_secret(options, kept_secret, warn)
    policy_plan = None
    if options.restrict_metrics:
        policy_plan = policy_io.plan(kube, collector_namespace=options.namespace, service_account=COLLECTOR_NAME,
                                     linkerd_namespace=options.linkerd_namespace, namespaces=policy_namespaces)
        for line in policy_plan.notes:
            inform(line)
    objects = render(options)
    existing = existing_objects(kube, objects)
    refuse_foreign(objects, existing)
    objects = [namespace_to_apply(obj, existing[object_ref(obj)]) if obj["kind"] == "Namespace" else obj
               for obj in objects]
    skip = {}
    sec = secret(options)
    if reason and sec is not None:
        skip[object_ref(sec)] = ("unchanged", reason)
    template_before = None
    if sec is not None and not skip:
        template_before = pod_template(existing[object_ref(objects[-1])])
    if server_dry_run and existing.get(f"namespace/{options.namespace}") is None:
        # the API server validates objects only in a namespace that exists
        for obj in objects:
            if obj["metadata"].get("namespace") == options.namespace:
                skip[object_ref(obj)] = ("skipped", f"server dry run: namespace {options.namespace} does "
                                                    f"not exist yet")
        if policy_plan is not None:
            policy_plan.objects = [o for o in policy_plan.objects
                                   if o["metadata"]["namespace"] != options.namespace]
    elif not force_conflicts and not server_dry_run:
        preflight(kube, [o for o in objects if object_ref(o) not in skip], existing)
    results = apply_objects(kube, objects, dry_run=server_dry_run, force=force_conflicts, echo=echo, skip=skip,
                            existing=existing, echo_skipped=note)
    if needs_credentials_restart(results, template_before):
        restarted = restart_rollout(kube, results[-1][0], dry_run=server_dry_run)
        results.append((restarted, "restarted"))
        echo(f"{object_ref(restarted)} restarted to pick up the new credentials"
             f"{' (server dry run)' if server_dry_run else ''}")
    if options.mode != "operator":
        remove_other_mode(kube, options.namespace, options.mode, dry_run=server_dry_run, echo=echo)
    operator_mode.remove_other_mode(kube, options.namespace, options.mode, dry_run=server_dry_run, echo=echo)
    policy_results: List[Tuple[dict, str]] = []
    if policy_plan is not None:
        policy_results = policy_io.apply(kube, policy_plan, dry_run=server_dry_run, force=force_conflicts,
                                         echo=echo)
    duplicate = reference_setup_warning(kube, options.namespace)
    if duplicate:
        warn(duplicate)
    return Applied(results, policy_results)


def prepare_print(kube, options, warn: Callable[[str], None], note: Callable[[str], None]) -> None:
    """Printing renders what applying would: Linkerd's namespace as detected, and with a Secret that
    applying would keep, its credentials."""
    options.linkerd_namespace = detect_linkerd_namespace(kube, None, required=False)
    try:
        _reason, kept = keep_user_secret(kube, options.namespace, options.credentials_given)
    except Forbidden:
        note("may not read Secrets here: the printed config assumes no kept credentials Secret")
        return
    if kept is not None:
        reuse_kept_secret(options, kept, warn)


def reuse_kept_secret(options, kept: dict, warn: Callable[[str], None]) -> None:
    """A Secret from an earlier install is kept when no credential flag is given: the config then uses
    its credentials, but only for the endpoint they were given for (never, say, production
    credentials sent to the demo backend)."""
    endpoint, credentials = credentials_in_secret(kept)
    delete = f"kubectl -n {options.namespace} delete secret {SECRET_NAME}"
    if endpoint is not None and endpoint != options.endpoint:
        if not options.credentials():
            # the new backend takes no credentials: the config does not refer to the Secret at all
            warn(f"secret/{SECRET_NAME} holds the credentials for {endpoint}, which this install no longer "
                 f"uses; remove it with `{delete}`")
            return
        raise UsageError(
            f"secret/{SECRET_NAME} in namespace {options.namespace} holds the credentials for {endpoint}, "
            f"not for {options.endpoint}: pass the credentials for it (--basic-auth-from-env, --header, "
            f"--secret-header), give --exporter-endpoint {endpoint} to keep using them, or remove the "
            f"Secret first (`{delete}`)")
    if credentials:
        options.kept_credentials = credentials
    elif not options.credentials():
        warn(f"secret/{SECRET_NAME} exists in namespace {options.namespace} but this install sends no "
             f"credentials; pass them (--basic-auth-from-env, --header) to use it")
