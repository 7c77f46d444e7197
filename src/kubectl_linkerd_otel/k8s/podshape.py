"""The shape of a pod as the API server gives it, checked once where pods come in (pure).

Service discovery, readiness and the reports read these fields; a file or an answer where they have
another type (`podIP: 12345`, `containerPort: "abc"`) is not what it claims to be, and is refused with
the pod's name and the field, instead of rendering `10.0.0.9:abc` or failing deep inside.
"""
from __future__ import annotations

from typing import Any, List, Optional

from .ports import MAX_PORT, in_port_range


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {dict: "an object", list: "a list", str: "a string"}.get(type(value), type(value).__name__)


class ShapeError(Exception):
    """A field of another type than the API server gives it: `FIELD is X, not Y`."""


def _fail(where: str, value: Any, expected: str) -> ShapeError:
    return ShapeError(f"{where} is {describe(value)}, not {expected}")


def object_at(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, value, "an object")
    return value


def objects_at(value: Any, where: str) -> List[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, value, "a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _fail(f"{where}[{i}]", item, "an object")
    return value


def scalar_at(value: Any, where: str) -> None:
    """A field read as text: a string, or a number or boolean that reads as one (a file's looser form)."""
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise _fail(where, value, "a string")


def _string(value: Any, where: str) -> None:
    if value is not None and not isinstance(value, str):
        raise _fail(where, value, "a string")


def _boolean(value: Any, where: str) -> None:
    if value is not None and not isinstance(value, bool):
        raise _fail(where, value, "a boolean")


def _integer(value: Any, where: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _fail(where, value, "an integer")


def _strings(value: Any, where: str) -> None:
    for key, item in object_at(value, where).items():
        if not isinstance(key, str):
            raise ShapeError(f"{where} has a key that is {describe(key)}, not a string")
        _string(item, f"{where}[{key}]")


def pod_name(pod: Any) -> str:
    meta = pod.get("metadata") if isinstance(pod, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    ns, name = meta.get("namespace"), meta.get("name")
    return f"{ns if isinstance(ns, str) and ns else '-'}/{name if isinstance(name, str) and name else '-'}"


def pod_problem(pod: Any) -> Optional[str]:
    """None for a pod of the documented shape; else `pod NS/NAME: FIELD is X, not Y`."""
    try:
        _check(pod)
    except ShapeError as bad:
        return f"pod {pod_name(pod)}: {bad}"
    return None


def _check(pod: Any) -> None:
    if not isinstance(pod, dict):
        raise _fail("the pod", pod, "an object")
    meta = object_at(pod.get("metadata"), "metadata")
    for key in ("name", "namespace", "uid"):
        _string(meta.get(key), f"metadata.{key}")
    _strings(meta.get("labels"), "metadata.labels")
    _strings(meta.get("annotations"), "metadata.annotations")
    for i, ref in enumerate(objects_at(meta.get("ownerReferences"), "metadata.ownerReferences")):
        for key in ("kind", "name"):
            _string(ref.get(key), f"metadata.ownerReferences[{i}].{key}")
        _boolean(ref.get("controller"), f"metadata.ownerReferences[{i}].controller")
    spec = object_at(pod.get("spec"), "spec")
    _string(spec.get("nodeName"), "spec.nodeName")
    for field in ("containers", "initContainers"):
        for i, container in enumerate(objects_at(spec.get(field), f"spec.{field}")):
            where = f"spec.{field}[{i}]"
            for key in ("name", "image", "restartPolicy"):
                _string(container.get(key), f"{where}.{key}")
            for j, port in enumerate(objects_at(container.get("ports"), f"{where}.ports")):
                number = port.get("containerPort")
                _integer(number, f"{where}.ports[{j}].containerPort")
                if number is not None and not in_port_range(number):
                    raise ShapeError(f"{where}.ports[{j}].containerPort is {number}, not a port (1-{MAX_PORT})")
                for key in ("name", "protocol"):
                    _string(port.get(key), f"{where}.ports[{j}].{key}")
    status = object_at(pod.get("status"), "status")
    for key in ("podIP", "hostIP", "phase", "reason"):
        _string(status.get(key), f"status.{key}")
    for field in ("containerStatuses", "initContainerStatuses"):
        for i, item in enumerate(objects_at(status.get(field), f"status.{field}")):
            for key in ("name", "containerID", "image"):
                _string(item.get(key), f"status.{field}[{i}].{key}")
            for key in ("ready", "started"):
                _boolean(item.get(key), f"status.{field}[{i}].{key}")
            _integer(item.get("restartCount"), f"status.{field}[{i}].restartCount")
            for key in ("state", "lastState"):
                for state, body in object_at(item.get(key), f"status.{field}[{i}].{key}").items():
                    object_at(body, f"status.{field}[{i}].{key}.{state}")
    for i, item in enumerate(objects_at(status.get("conditions"), "status.conditions")):
        for key in ("type", "status"):
            _string(item.get(key), f"status.conditions[{i}].{key}")
