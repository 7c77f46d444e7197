"""Find the collector among the objects of its namespace (pure).

`locate(deployments, daemonsets, configmaps, pods)` answers: which workload runs the collector, which
ConfigMap (and key) holds its config, and which pods are its replicas. In order of preference:

1. ours: a workload labelled `app.kubernetes.io/part-of=linkerd-otel` (`install` renders it; the
   name `naming.COLLECTOR_NAME` first), its ConfigMap `naming.CONFIGMAP_NAME`, key `naming.CONFIG_KEY`;
2. the reference setup ("Beyond linkerd-viz", applied by hand): Deployment `otel-collector`,
   ConfigMap `otel-collector-config`, key `config.yaml`, pods labelled `app=otel-collector`;
3. any Deployment or DaemonSet whose pod template mounts a ConfigMap holding a collector config
   (a key whose text has `receivers:`).

Without a workload, a ConfigMap with one of the known names is still reported (pods empty), so the
config can be read. None when nothing looks like a collector.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Tuple

from .. import naming
from ..k8s.selectors import selector_matches

KINDS = ("Deployment", "DaemonSet", "StatefulSet")


@dataclass
class CollectorLocation:
    workload: Optional[dict]            # the Deployment/DaemonSet (None: only a ConfigMap was found)
    configmap: Optional[dict]
    config_key: str = ""
    pods: List[dict] = field(default_factory=list)
    how: str = ""                       # ours | reference | mounted-config | configmap-only

    @property
    def kind(self) -> str:
        return (self.workload or {}).get("kind") or ""

    @property
    def name(self) -> str:
        return ((self.workload or {}).get("metadata") or {}).get("name") or ""

    @property
    def namespace(self) -> str:
        obj = self.workload or self.configmap or {}
        return (obj.get("metadata") or {}).get("namespace") or ""

    @property
    def configmap_name(self) -> str:
        return ((self.configmap or {}).get("metadata") or {}).get("name") or ""

    @property
    def config_text(self) -> Optional[str]:
        data = (self.configmap or {}).get("data") or {}
        text = data.get(self.config_key)
        return text if isinstance(text, str) else None

    def describe(self) -> str:
        what = f"{self.kind.lower()}/{self.name}" if self.workload else "no workload"
        cm = f"configmap/{self.configmap_name} key {self.config_key}" if self.configmap else "no config"
        return f"{what} in namespace {self.namespace} ({cm})"


def looks_like_config(text: object) -> bool:
    return isinstance(text, str) and "receivers" in text and ("service" in text or "exporters" in text)


def _labels(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def _name(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name") or ""


def template_spec(workload: dict) -> dict:
    """The pod spec of a workload's template ({} when absent)."""
    return ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}


def collector_container(pod_spec: dict) -> Optional[dict]:
    """The collector's container in a pod (or template) spec: the first one that is not Linkerd's proxy."""
    return next((c for c in pod_spec.get("containers") or [] if c.get("name") != naming.LINKERD_PROXY_CONTAINER),
                None)


def mounted_configmaps(workload: dict) -> List[Tuple[str, List[str]]]:
    """(ConfigMap name, keys it projects — empty: all keys) for every configMap volume of the template."""
    out = []
    for volume in template_spec(workload).get("volumes") or []:
        cm = volume.get("configMap")
        if isinstance(cm, dict) and cm.get("name"):
            out.append((cm["name"], [i.get("key") for i in cm.get("items") or [] if i.get("key")]))
        for source in ((volume.get("projected") or {}).get("sources") or []):
            cm = source.get("configMap")
            if isinstance(cm, dict) and cm.get("name"):
                out.append((cm["name"], [i.get("key") for i in cm.get("items") or [] if i.get("key")]))
    return out


def mounted_file(workload: dict, configmaps: List[dict], path: str) -> Optional[str]:
    """The text of the file at `path` in the collector's container when a configMap volume of the
    workload's template puts it there (a volumeMount, with subPath or not, and the volume's items or
    its keys as file names), from `configmaps`; None when it comes from anywhere else."""
    spec = template_spec(workload)
    container = collector_container(spec) or {}
    volumes = {v.get("name"): v for v in spec.get("volumes") or [] if isinstance(v, dict)}
    by_name = {_name(cm): cm for cm in configmaps}
    path = posixpath.normpath(str(path))
    for mount in container.get("volumeMounts") or []:
        if not isinstance(mount, dict) or not isinstance(mount.get("mountPath"), str):
            continue
        root = posixpath.normpath(mount["mountPath"])
        if mount.get("subPath"):
            relative = str(mount["subPath"]) if path == root else None
        elif path.startswith(root.rstrip("/") + "/"):
            relative = path[len(root.rstrip("/")) + 1:]
        else:
            relative = None
        cm = ((volumes.get(mount.get("name")) or {}).get("configMap") or {}) if relative else {}
        if not isinstance(cm, dict) or not cm.get("name") or cm["name"] not in by_name:
            continue
        items = [i for i in cm.get("items") or [] if isinstance(i, dict)]
        key = next((i.get("key") for i in items if i.get("path") == relative), None) if items else relative
        value = (by_name[cm["name"]].get("data") or {}).get(key) if key else None
        if isinstance(value, str):
            return value
    return None


def config_key(configmap: dict, keys: Iterable[str] = ()) -> str:
    """The key holding the collector config: CONFIG_KEY when it does, else the first one that does."""
    data = configmap.get("data") or {}
    candidates = [k for k in keys if k in data] or list(data)
    if naming.CONFIG_KEY in candidates and looks_like_config(data.get(naming.CONFIG_KEY)):
        return naming.CONFIG_KEY
    for key in candidates:
        if looks_like_config(data.get(key)):
            return key
    return ""


def selects(workload: dict, pod: dict) -> bool:
    """The workload's spec.selector (matchLabels and matchExpressions) selects the pod."""
    if (pod.get("metadata") or {}).get("namespace") != (workload.get("metadata") or {}).get("namespace"):
        return False
    selector = (workload.get("spec") or {}).get("selector") or {}
    match = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    if not match and not exprs:
        return False
    return selector_matches(selector, _labels(pod))


def _found(workload: dict, configmaps: List[dict], pods: List[dict], how: str,
           preferred_cm: str = "") -> CollectorLocation:
    by_name = {_name(cm): cm for cm in configmaps}
    configmap, key = None, ""
    mounted = mounted_configmaps(workload)
    order = sorted(mounted, key=lambda m: m[0] != preferred_cm)
    for name, keys in order:
        cm = by_name.get(name)
        if cm is not None:
            key = config_key(cm, keys)
            if key:
                configmap = cm
                break
    if configmap is None and preferred_cm in by_name:
        configmap = by_name[preferred_cm]
        key = config_key(configmap)
    return CollectorLocation(workload, configmap, key, [p for p in pods if selects(workload, p)], how)


def locate(deployments: Iterable[dict] = (), daemonsets: Iterable[dict] = (),
           configmaps: Iterable[dict] = (), pods: Iterable[dict] = ()) -> Optional[CollectorLocation]:
    """The collector of one namespace, or None. Objects may lack `kind` (taken from the argument)."""
    workloads = [dict(w, kind=w.get("kind") or "Deployment") for w in deployments]
    workloads += [dict(w, kind=w.get("kind") or "DaemonSet") for w in daemonsets]
    configmaps, pods = list(configmaps), list(pods)

    ours = [w for w in workloads if _labels(w).get("app.kubernetes.io/part-of") == naming.PART_OF
            and w["kind"] in KINDS]
    if ours:
        ours.sort(key=lambda w: _name(w) != naming.COLLECTOR_NAME)
        return _found(ours[0], configmaps, pods, "ours", naming.CONFIGMAP_NAME)

    reference = [w for w in workloads if _name(w) == naming.REFERENCE_WORKLOAD]
    if reference:
        loc = _found(reference[0], configmaps, pods, "reference", naming.REFERENCE_CONFIGMAP)
        if not loc.pods:
            loc.pods = [p for p in pods if _labels(p).get("app") == naming.REFERENCE_WORKLOAD
                        and (p.get("metadata") or {}).get("namespace") == loc.namespace]
        return loc

    by_name = {_name(cm): cm for cm in configmaps}
    for workload in workloads:
        for name, keys in mounted_configmaps(workload):
            cm = by_name.get(name)
            if cm is not None and config_key(cm, keys):
                return _found(workload, configmaps, pods, "mounted-config", name)

    for name in (naming.CONFIGMAP_NAME, naming.REFERENCE_CONFIGMAP):
        cm = by_name.get(name)
        if cm is not None and config_key(cm):
            return CollectorLocation(None, cm, config_key(cm), [], "configmap-only")
    return None


def static_env(workload: Optional[dict]) -> dict:
    """Environment variables with literal values in the collector container of the pod template:
    what `${env:VAR}` in the config expands to on every replica. Per-pod values (downward API) are
    left out, so the references to them stay unresolved."""
    env = {}
    for container in template_spec(workload or {}).get("containers") or []:
        for item in container.get("env") or []:
            if "value" in item and item.get("name"):
                env.setdefault(item["name"], str(item.get("value") or ""))
    return env
