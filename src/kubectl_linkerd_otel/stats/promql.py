"""Prometheus's arithmetic on two samples (pure): counter increase across resets, and histogram_quantile.

`bucket_quantile` follows `bucketQuantile` in prometheus/prometheus `promql/quantile.go` (v3.x): buckets
sorted by upper bound, merged when equal, made monotonic; NaN without a `+Inf` bucket, with fewer than two
buckets or no observations; linear interpolation inside the bucket holding the rank, from 0 in the
lowest bucket; the rank in the `+Inf` bucket gives the highest finite bound.
"""
from __future__ import annotations

import math
from typing import Iterable, List, Optional, Tuple


def increase(first: Optional[float], second: float, *, restarted: bool = False) -> float:
    """How much a counter grew between two reads. A counter that went down restarted from zero (what
    `rate()`/`irate()` assume), so the increase is its new value; so is a series the first read did
    not have (it starts at zero when first observed), or any series of a process that restarted."""
    if first is None or restarted or second < first:
        return second
    return second - first


def bucket_quantile(q: float, buckets: Iterable[Tuple[float, float]]) -> float:
    """histogram_quantile(q, ...) over (upper bound, cumulative count) pairs. NaN when undefined."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b[0])
    if not ordered or not math.isinf(ordered[-1][0]):
        return math.nan
    merged: List[List[float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    _correct_precision(merged, 1e-12)
    highest = merged[0][1]
    for bucket in merged[1:]:
        if bucket[1] > highest:
            highest = bucket[1]
        elif bucket[1] < highest:
            bucket[1] = highest
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    index = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if index == len(merged) - 1:
        return merged[-2][0]
    if index == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[index][0], merged[index][1]
    if index > 0:
        start = merged[index - 1][0]
        count -= merged[index - 1][1]
        rank -= merged[index - 1][1]
    return start + (end - start) * (rank / count)


def _correct_precision(buckets: List[List[float]], tolerance: float) -> None:
    previous = buckets[0][1]
    for bucket in buckets[1:]:
        current = bucket[1]
        delta = abs(current - previous)
        if delta == 0:
            continue
        if current != 0 and delta / current <= tolerance:
            bucket[1] = previous
        else:
            previous = current
