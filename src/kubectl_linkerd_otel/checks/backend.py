"""linkerd-otel-backend: the proxies' metrics arrive in the backend, for every workload the collector scrapes.

The backend's answers were read into `snap.backend` by cluster/query.py (`--query-url`, or the in-cluster
OpenObserve through the service proxy); collector/arrival.py says which workloads to look for, under which
labels, and what the answers mean.
"""
from __future__ import annotations

from ..collector.backends import arrival_hint
from ..scrape import arrival
from ..snapshot.simulation import simulation
from .common import count, facts, listing, verb
from .framework import Category, Check, fail, passed, skip

NOT_ASKED = ("not asked: pass --query-url with the backend's Prometheus-compatible query API (the base before "
             "/api/v1/query) to check that the metrics arrive")


def _names() -> str:
    return " or ".join(arrival.METRIC_VARIANTS)


def _not_asked(snap) -> str:
    """Why the backend was not asked, with what a backend preset knows of its query API (collector/
    backends.py): the URL for the exporter's region, or that it has none."""
    hints = [h for h in dict.fromkeys(arrival_hint(e.endpoint) for e in facts(snap).exporters if e.endpoint) if h]
    return "; ".join(hints) if hints else NOT_ASKED


def arrive(snap, opts):
    backend = getattr(snap, "backend", None) or {}
    if not backend or backend.get("skipped"):
        skipped = backend.get("skipped") or NOT_ASKED
        return skip(_not_asked(snap) if skipped == NOT_ASKED else skipped)
    where = backend.get("where") or "the backend"
    if backend.get("error"):
        return fail(f"{where}: {backend['error']}", retryable=bool(backend.get("transient")))
    sim = simulation(snap)
    if isinstance(sim, str):
        return skip(sim)
    plan = arrival.plan(sim, opts.namespace_filter)
    if plan.problem:
        return fail(plan.problem)
    if not plan.workloads:
        return skip("the collector scrapes no meshed workload")
    try:
        verdict = arrival.judge(plan.workloads, backend.get("answers") or {}, float(backend.get("now") or 0))
    except arrival.AnswerError as exc:
        return fail(f"{where}: {exc}")
    total = len(plan.workloads)
    labels = ", ".join(plan.group_by)
    window = arrival.age_text(arrival.WINDOW_SECONDS)
    fresh_window = arrival.age_text(arrival.FRESH_SECONDS)
    unanswered = [f"{name}: {error}" for name, error in sorted((backend.get("errors") or {}).items())]
    if not verdict.metric:
        error = (f"none of the {count(total, 'scraped workload')} has samples of {_names()} in {where} in the "
                 f"last {window} (matched on the labels {labels} of job {', '.join(plan.jobs)}): the metrics "
                 "do not arrive, or arrive under other labels or another organization/stream")
        return fail(error, listing([w.ref for w in plan.workloads] + unanswered), retryable=True)
    if verdict.missing or verdict.stale:
        problems = [f"{w.ref}: no sample in the last {window}" for w in verdict.missing]
        problems += [f"{w.ref}: newest sample {arrival.age_text(age)} old" for w, age in verdict.stale]
        bad = len(verdict.missing) + len(verdict.stale)
        return fail(f"{bad} of {count(total, 'scraped workload')} {verb(bad, 'has', 'have')} no {verdict.metric} "
                    f"sample in {where} from the last {fresh_window}", listing(problems), retryable=True)
    return passed(f"{verdict.metric} samples from the last {fresh_window} for "
                  f"{'every' if total > 1 else 'the'} scraped workload ({total}) in {where}")


CATEGORY = Category("linkerd-otel-backend", [
    Check("arrive", "metrics arrive in the backend", arrive, "otel-backend", retryable=True),
], requires=("linkerd-otel-collector",))
