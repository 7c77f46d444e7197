"""Kubernetes LabelSelector semantics (pure): matchLabels and matchExpressions, all ANDed."""
from __future__ import annotations


def selector_matches(selector: dict, labels: dict) -> bool:
    """Whether `selector` selects an object with `labels`. An empty selector selects everything."""
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
