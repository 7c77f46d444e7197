"""What `targets` computes (pure), whatever the source of its inputs: the scrape jobs a collector config
runs, refused with one line when the collector would not start; then, given the pods and the collector's
own answers, the expected targets with the actual ones laid over them (targets.py), and the exit code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..collector.config import find_problems
from ..errors import UsageError
from .allocation import merge_assignment
from .config import Receiver, ScrapeConfigError, ScrapeJob, receivers, unused_receivers
from .targets import Simulation, merge_actual, simulate
from .text import shown

# find_problems codes that stop the collector from starting (it refuses the config): nothing is scraped
REFUSED = ("no-pipelines", "undefined-component", "incomplete-pipeline", "not-in-image", "name-too-new")


@dataclass
class Plan:
    """The receivers a config starts, their jobs (all of them), and the receivers it leaves out."""

    used: List[Receiver]
    jobs: List[ScrapeJob]
    unused: List[str]


def plan_jobs(config: dict, env: Optional[dict] = None, image: Optional[str] = None,
              chosen: Sequence[str] = ()) -> Plan:
    """The jobs of `config`; a UsageError (exit 2) when it cannot be simulated, the collector would
    refuse it, it scrapes nothing, or a `chosen` job (--job) is not in it."""
    try:
        used = receivers(config, env)
    except (ScrapeConfigError, ValueError) as exc:
        raise UsageError(f"the collector config cannot be simulated: {exc}") from None
    refuse_collector_config(config, image)
    job_list = [job for rec in used for job in rec.jobs]
    unused = unused_receivers(config)
    if not job_list:
        if unused:
            raise UsageError(f"no pipeline uses the prometheus receiver{'s' if len(unused) > 1 else ''} "
                             f"{', '.join(unused)}: the collector does not start "
                             f"{'them' if len(unused) > 1 else 'it'}, so nothing is scraped",
                             hint="add it to service.pipelines.metrics.receivers")
        raise UsageError("the collector config has no prometheus receiver with scrape_configs")
    unknown = [j for j in chosen if j not in {job.name for job in job_list}]
    if unknown:
        raise UsageError(f"no scrape job named {unknown[0]!r} (jobs: {', '.join(j.name for j in job_list)})")
    return Plan(used, job_list, unused)


def refuse_collector_config(config: dict, image: Optional[str] = None) -> None:
    """A UsageError (exit 2) when the collector itself would refuse the config and not start."""
    refused = [p for p in find_problems(config, image=image) if p.severity == "error" and p.code in REFUSED]
    if not refused:
        return
    first = refused[0]
    more = "".join(f"; {p.message}" for p in refused[1:3])
    if len(refused) > 3:
        more += f" (and {len(refused) - 3} more)"
    raise UsageError(shown(f"the collector would refuse this config and not start, so nothing is scraped: "
                           f"{first.message}{more}", 1000), hint=shown(first.hint, 300) or None)


def targets_result(plan: Plan, pods: List[dict], scraped: Optional[Tuple[Dict[str, dict], List[str]]], *,
                   own_namespace: str, keep_dropped: bool, operator_state: Optional[dict] = None) -> Simulation:
    """The expected targets of every job over `pods`, with the collector's own answers (`scraped`:
    answers by collector pod, and notes on what could not be read; None when there is no collector to
    ask) and the operator's assignment laid over them."""
    sim = simulate(plan.jobs, pods, own_namespace=own_namespace, keep_dropped=keep_dropped)
    for name in plan.unused:
        sim.notes.append(f"receiver {name} is in no pipeline: the collector does not start it, so its jobs "
                         f"are left out")
    for rec in plan.used:
        sim.notes.extend(rec.notes)
    if scraped is not None:
        answers, problems = scraped
        sim.notes.extend(problems)
        if answers:
            merge_actual(sim, answers)
        if operator_state:
            merge_assignment(sim, operator_state.get("assignment") or {}, operator_state.get("errors") or {})
    return sim


def exit_code(sim: Simulation, jobs: Sequence[str] = ()) -> int:
    """1 when a chosen job has a target down or a meshed pod is not scraped (see
    Simulation.unscraped_for), else 0."""
    results = [r for r in sim.jobs if not jobs or r.job.name in jobs]
    if any(t.health == "down" for r in results for t in r.active):
        return 1
    if any(not u.completed for u in sim.unscraped_for(jobs)):
        return 1
    return 0
