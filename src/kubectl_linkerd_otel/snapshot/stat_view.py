"""What `stat --snapshot` reads from a snapshot (pure): the pods of a namespace (or all) and the two
proxy reads kept per pod, in the shape stats/golden.summarize_texts takes. A file whose proxy reads are
damaged is refused with one line, never half-read."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

from ..errors import UsageError
from .data import Snapshot

PodKey = Tuple[str, str]
Texts = Dict[PodKey, Tuple[str, float, str, float]]
FIX = "take a new one with `kubectl linkerd-otel snapshot -f FILE`"


def _number(value) -> bool:
    """A finite number (JSON as Python reads it also gives NaN and Infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _key(text: str, where: str) -> PodKey:
    namespace, slash, pod = text.partition("/")
    if not slash or not namespace or not pod or "/" in pod:
        raise UsageError(f"snapshot {where} is damaged (proxy reads key {text[:80]!r} is not namespace/pod); {FIX}")
    return namespace, pod


def proxy_reads(snap: Snapshot, where: str) -> Tuple[Texts, Dict[PodKey, str]]:
    """(texts, errors) by (namespace, pod): the two reads with their times, and why the others were not
    read."""
    if snap.proxy_metrics is None:
        raise UsageError(f"snapshot {where} holds no proxy reads for `stat`; {FIX}")
    texts: Texts = {}
    for key, entry in snap.proxy_metrics.items():
        ok = isinstance(entry, dict) and isinstance(entry.get("first"), str) and \
            isinstance(entry.get("second"), str) and _number(entry.get("first_at")) and _number(entry.get("second_at"))
        if not ok:
            raise UsageError(f"snapshot {where} is damaged (the proxy reads of {key[:80]!r} are not two texts "
                             f"with their times); {FIX}")
        texts[_key(key, where)] = (entry["first"], float(entry["first_at"]), entry["second"],
                                   float(entry["second_at"]))
    errors: Dict[PodKey, str] = {}
    for key, why in snap.proxy_metrics_errors.items():
        if not isinstance(why, str):
            raise UsageError(f"snapshot {where} is damaged (the read error of {key[:80]!r} is not text); {FIX}")
        errors[_key(key, where)] = why
    return texts, errors


def pods_in(snap: Snapshot, namespace: Optional[str], where: str) -> List[dict]:
    """The snapshot's pods of `namespace` (None: every namespace), as `stat` lists them live."""
    if "pods" in snap.errors:
        raise UsageError(f"snapshot {where} holds no pods: listing them failed when it was taken "
                         f"({snap.errors['pods']}); {FIX}")
    return [p for p in snap.pods
            if namespace is None or ((p.get("metadata") or {}).get("namespace") == namespace)]
