"""Label and field selectors as the API server evaluates them."""
from __future__ import annotations

import re
from typing import Callable, List

Predicate = Callable[[dict], bool]


def _split_terms(text: str) -> List[str]:
    terms, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current.strip())
    return terms


def label_selector(text: str) -> Callable[[dict], bool]:
    """Returns a predicate over a labels dict. Raises ValueError on bad syntax."""
    checks = []
    for term in _split_terms(text or ""):
        m = re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", term)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                checks.append(lambda l, k=key, vs=values: k in l and l[k] in vs)
            else:
                checks.append(lambda l, k=key, vs=values: k not in l or l[k] not in vs)
            continue
        m = re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)", term)
        if m:
            key, op, value = m.groups()
            if op == "!=":
                checks.append(lambda l, k=key, v=value: l.get(k) != v)
            else:
                checks.append(lambda l, k=key, v=value: k in l and l[k] == v)
            continue
        m = re.fullmatch(r"(!?)([\w./-]+)", term)
        if m:
            neg, key = m.groups()
            checks.append((lambda l, k=key: k not in l) if neg else (lambda l, k=key: k in l))
            continue
        raise ValueError(f"unable to parse requirement: {term!r}")
    return lambda labels: all(check(labels or {}) for check in checks)


def _field(obj: dict, path: str) -> str:
    value = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_selector(text: str) -> Predicate:
    checks = []
    for term in _split_terms(text or ""):
        m = re.fullmatch(r"([\w.]+)\s*(==|=|!=)\s*(.*)", term)
        if not m:
            raise ValueError(f"invalid field selector: {term!r}")
        path, op, value = m.groups()
        if op == "!=":
            checks.append(lambda o, p=path, v=value: _field(o, p) != v)
        else:
            checks.append(lambda o, p=path, v=value: _field(o, p) == v)
    return lambda obj: all(check(obj) for check in checks)
