"""--mode operator: lay the Target Allocator's assignment ({job: {collector: [target groups]}}, as
`/jobs/<job>/targets?collector_id=<collector>` answers) over a simulation (pure). A target group is
`{"targets": ["host:port", ...], "labels": {...}}` (open-telemetry/opentelemetry-operator
cmd/otel-allocator/internal/server/server.go, TargetsHandler)."""
from __future__ import annotations

from typing import Dict, List, Tuple

from .targets import Simulation


def assignment_index(assignment: Dict[str, Dict[str, list]]) -> Dict[Tuple[str, str], List[str]]:
    """(job, address) -> the collectors the allocator gave it to."""
    index: Dict[Tuple[str, str], List[str]] = {}
    for job, shares in (assignment or {}).items():
        for collector, groups in sorted((shares or {}).items()):
            for group in groups if isinstance(groups, list) else []:
                for address in (group or {}).get("targets") or [] if isinstance(group, dict) else []:
                    index.setdefault((job, str(address)), []).append(collector)
    return index


def merge_assignment(sim: Simulation, assignment: Dict[str, Dict[str, list]],
                     errors: Dict[str, str] = None) -> None:
    """Set `assigned_to` on every active target (an empty list: assigned to no collector), and say in the
    notes what could not be read."""
    index = assignment_index(assignment)
    unassigned = 0
    for result in sim.jobs:
        for target in result.active:
            target.assigned_to = sorted(index.get((result.job.name, target.address), []))
            if not target.assigned_to and target.source != "collector":
                unassigned += 1
    for key, message in sorted((errors or {}).items()):
        sim.notes.append(f"the Target Allocator's {key} could not be read: {message}")
    if unassigned:
        sim.notes.append(f"{unassigned} expected target{'s are' if unassigned != 1 else ' is'} assigned to no "
                         f"collector by the Target Allocator")
