"""Everything `check` needs from the cluster, as one plain object (pure): its data and views (data.py),
the names of the steps that read it (steps.py), and what its file hides (redaction.py).
`cluster/gather.py` fills it from a live cluster; the checks read it; a saved one is checked offline."""
from .data import FORMAT, Snapshot, choose_collector, review_namespaces
from .redaction import REDACTED, redact
from .steps import (ACCESS, COLLECTOR_STEP, ENDPOINTSLICES, LOGS, METRICS, POLICY_STEPS, PROBE, PROOF, READS_STEP,
                    SERVICE, TARGETS, access_step, split_step, step)

__all__ = ["FORMAT", "Snapshot", "choose_collector", "review_namespaces", "REDACTED", "redact", "ACCESS",
           "COLLECTOR_STEP", "ENDPOINTSLICES", "LOGS", "METRICS", "POLICY_STEPS", "PROBE", "PROOF", "READS_STEP",
           "SERVICE", "TARGETS", "access_step", "split_step", "step"]
