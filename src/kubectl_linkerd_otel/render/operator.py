"""`install --mode operator`: the collector as an OpenTelemetry Operator `OpenTelemetryCollector`
(opentelemetry.io/v1beta1, mode statefulset) with its Target Allocator, which spreads the scrape targets
over the collectors by consistent hashing (pure).

The collector config, Secret, ServiceAccount and hardening are those of the other modes (render/common.py,
render/collector_config.py); only the workload differs. The operator makes, from the CR:
  StatefulSet <cr>-collector (pods <cr>-collector-0..N-1, env POD_NAME = the collector_id),
  Deployment and Service <cr>-targetallocator (HTTP 8080 in the pod, 80 on the Service),
  ConfigMap <cr>-collector (its own rewrite of the config: the prometheus receiver gets its jobs from
  the allocator) and mounts every `spec.configmaps` entry at /var/conf/<mountpath>/configmap-<name>.
Names from open-telemetry/opentelemetry-operator internal/naming/main.go and
internal/manifests/collector/container.go (v0.1xx line, 2025-2026).
"""
from __future__ import annotations

import copy
from typing import List

from ..naming import COLLECTOR_NAME
from . import collector_config as collector_config_mod
from .common import (CA_KEY, cluster_role, cluster_role_binding, collector_env, collector_resources, metadata,
                     namespace, secret, service_account)
from .options import InstallOptions

API_VERSION = "opentelemetry.io/v1beta1"
KIND = "OpenTelemetryCollector"
CR_NAME = "linkerd-otel"
STATEFULSET_NAME = CR_NAME + "-collector"          # = naming.COLLECTOR_NAME, on purpose
ALLOCATOR_NAME = CR_NAME + "-targetallocator"      # Deployment, Service and our ServiceAccount
ALLOCATOR_PORT = 8080
ALLOCATION_STRATEGY = "consistent-hashing"
CA_CONFIGMAP = COLLECTOR_NAME + "-ca"
CA_MOUNT = "linkerd-otel"
OPERATOR_INSTALL_HINT = (
    "install the OpenTelemetry Operator first (it needs cert-manager): kubectl apply -f "
    "https://github.com/open-telemetry/opentelemetry-operator/releases/latest/download/"
    "opentelemetry-operator.yaml, or use --mode deployment|daemonset")


def ca_path() -> str:
    """Where the operator mounts our CA ConfigMap in the collector pods."""
    return f"/var/conf/{CA_MOUNT}/configmap-{CA_CONFIGMAP}/{CA_KEY}"


def operator_config(opts: InstallOptions) -> dict:
    config = collector_config_mod.collector_config(opts)
    if opts.ca_pem:
        for exporter in config["exporters"].values():
            tls = exporter.get("tls") or {}
            if "ca_file" in tls:
                tls["ca_file"] = ca_path()
    return config


def allocator_service_account(opts: InstallOptions) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": metadata(ALLOCATOR_NAME, "target-allocator", opts.namespace)}


def allocator_cluster_role_binding(opts: InstallOptions) -> dict:
    """The allocator discovers the pods (role: pod) and watches the collectors; the collectors only ask
    the allocator, so only its ServiceAccount is bound to the pod-reading ClusterRole."""
    binding = cluster_role_binding(opts)
    binding["subjects"] = [{"kind": "ServiceAccount", "name": ALLOCATOR_NAME, "namespace": opts.namespace}]
    return binding


def ca_config_map(opts: InstallOptions) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": metadata(CA_CONFIGMAP, "otel-collector", opts.namespace),
            "data": {CA_KEY: opts.ca_pem}}


def _container_security() -> dict:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "runAsUser": 10001, "runAsGroup": 10001, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def collector_resource(opts: InstallOptions) -> dict:
    spec: dict = {
        "mode": "statefulset",
        "replicas": opts.replicas,
        "managementState": "managed",
        "upgradeStrategy": "none",        # the image is pinned: the operator must not move it
        "image": opts.image,
        "serviceAccount": COLLECTOR_NAME,
        "env": collector_env(opts),
        "resources": collector_resources(opts),
        "securityContext": _container_security(),
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "config": operator_config(opts),
        "targetAllocator": {
            "enabled": True,
            "allocationStrategy": ALLOCATION_STRATEGY,
            "serviceAccount": ALLOCATOR_NAME,
            "securityContext": _container_security(),
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        },
    }
    if opts.ca_pem:
        spec["configmaps"] = [{"name": CA_CONFIGMAP, "mountpath": CA_MOUNT}]
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": metadata(CR_NAME, "otel-collector", opts.namespace), "spec": spec}


def render(opts: InstallOptions, *, include_secret: bool = True) -> List[dict]:
    """Every object of the operator-mode stack, in apply order; the CR last (it refers to the others)."""
    objects = [namespace(opts), service_account(opts), allocator_service_account(opts), cluster_role(opts),
               allocator_cluster_role_binding(opts)]
    sec = secret(opts) if include_secret else None
    if sec is not None:
        objects.append(sec)
    if opts.ca_pem:
        objects.append(ca_config_map(opts))
    objects.append(collector_resource(opts))
    return copy.deepcopy(objects)

