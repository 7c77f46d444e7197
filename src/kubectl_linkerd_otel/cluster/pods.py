"""Listing every pod in bounded memory: each page is trimmed (k8s/podtrim.py) as it arrives, so the raw
list never exists whole. Pods of the collector's namespace are kept whole: few, and the collector checks
read more of them."""
from __future__ import annotations

from typing import Any, List, Optional

from ..k8s.podtrim import pod_trimmer


def list_pods(kube: Any, *, keep_whole: Optional[str] = None) -> List[dict]:
    transform = pod_trimmer(keep_whole)
    return list(kube.iter("pods", transform=transform))   # trimmed as each page is decoded
