"""linkerd-otel-logs: what the collector's recent logs say (counts are lower bounds: the collector
samples repeated lines)."""
from __future__ import annotations

from ..collector import logs as classes
from ..snapshot import LOGS, READS_STEP, step
from .common import count, listing, read_failure, transient
from .framework import Category, Check, fail, passed, skip, warn

SAMPLED = "counts are lower bounds: the collector drops repeated log lines"


def summary(snap):
    merged = classes.LogSummary()
    for text in snap.logs.values():
        merged = merged.merge(classes.classify(text or ""))
    return merged


def read(snap, _opts):
    failure = read_failure(snap, "pods", READS_STEP)   # which pods run the collector is not known
    if failure:
        return failure
    if not snap.collector_pods():
        return skip("no collector pods")
    unread = snap.step_errors(LOGS)
    if unread:
        return fail("could not read collector logs", listing([f"{pod}: {error}" for pod, error in unread.items()]),
                    retryable=transient(snap, *(step(LOGS, pod) for pod in unread)))
    if not snap.logs:
        return skip("no running collector pods to read")
    total = summary(snap)
    started = "" if total.started else "; no start line within the window (it may have started earlier)"
    return passed(f"read {count(total.lines, 'log line')} from {count(len(snap.logs), 'collector pod')}{started}")


SHOWN = 5


def _problems(cls, prefix: str = ""):
    """Each distinct problem once: what and where, how often, first and last time."""
    problems = list(cls.problems.values())
    lines = [f"{prefix}{p.text} ({p.when()})" for p in problems[:SHOWN]]
    if len(problems) > SHOWN:
        lines.append(f"{prefix}and {count(len(problems) - SHOWN, 'other problem')}")
    return lines


def _class_check(name, singular, plural, severity):
    def run(snap, _opts):
        if not snap.logs:
            return skip("no logs read")
        cls = summary(snap)[name]
        if cls.count == 0:
            return None
        outcome = fail if severity == "error" else warn
        return outcome(f"{count(cls.count, singular, plural)} ({SAMPLED})", _problems(cls))
    return run


PORT_IN_USE = ("another listener holds the port: two components of the config (receivers, extensions, "
               "service.telemetry) on one port, or, with hostNetwork, a process on the node")


def start_failures(snap, _opts):
    if not snap.logs:
        return skip("no logs read")
    cls = summary(snap)[classes.START_FAILED]
    if cls.count == 0:
        return None
    why = f" ({PORT_IN_USE})" if any("address already in use" in d for d in cls.details) else ""
    return fail(f"the collector could not start{why}: {count(cls.count, 'start-up failure')} ({SAMPLED})",
                _problems(cls))


def exports(snap, _opts):
    if not snap.logs:
        return skip("no logs read")
    total = summary(snap)
    dropped, retried = total[classes.EXPORT_DROPPED], total[classes.EXPORT_RETRY]
    if dropped.count:
        return fail(f"{count(dropped.count, 'export')} dropped, {retried.count} retried ({SAMPLED})",
                    _problems(dropped) + _problems(retried, "retried: "))
    if retried.count:
        return warn(f"{count(retried.count, 'export')} retried ({SAMPLED})", _problems(retried))
    return None


CATEGORY = Category("linkerd-otel-logs", [
    Check("read", "collector logs can be read", read, "otel-logs-read", fatal=True),
    Check("config-errors", "no config errors in the logs",
          _class_check(classes.CONFIG_ERROR, "config error", "config errors", "error"), "otel-logs-config"),
    Check("start", "no start-up failures in the logs", start_failures, "otel-logs-start"),
    Check("forbidden", "no RBAC errors ('is forbidden') in the logs",
          _class_check(classes.FORBIDDEN, "RBAC 'is forbidden' error", "RBAC 'is forbidden' errors", "error"),
          "otel-logs-forbidden"),
    Check("scrape", "no scrape failures in the logs",
          _class_check(classes.SCRAPE_FAILED, "scrape failure", "scrape failures", "warning"),
          "otel-logs-scrape"),
    Check("export", "no export retries or drops in the logs", exports, "otel-logs-export"),
    Check("other", "no other errors in the logs",
          _class_check(classes.OTHER_ERROR, "other error line", "other error lines", "warning"), "otel-logs-other"),
], requires=("linkerd-otel-collector",))
