"""`targets` output: Prometheus' own `/api/v1/targets` JSON shape, and a table per job (pure).

JSON: `{"status": "success", "data": {"activeTargets": [...], "droppedTargets": [...],
"droppedTargetCounts": {...}}, "linkerdOtel": {...}}` — the `data` part is what Prometheus and the
collector's receiver answer (`discoveredLabels`, `labels`, `scrapePool`, `scrapeUrl`, `health`,
`lastError`, `lastScrape`, `lastScrapeDuration`, ...), so the three can be compared with jq. Our own
additions sit under `linkerdOtel` keys: per target its receiver, per dropped target the rule that
dropped it and why, per active target where it was seen (simulation, collector, both), and at the top
the meshed pods that are not scraped, with the reason in words. Label maps are sorted by name, as
Prometheus prints them. The tables and lines pass every text through `printable` (a pod name, a label or
the collector's last error may hold an escape sequence or a newline); the JSON keeps it as it is.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Optional

import click

from ..scrape.targets import Simulation, Target, Unscraped, dropped_reason
from ..scrape.text import printable

HEALTH_STYLE = {"up": "green", "down": "red", "unknown": "yellow"}


# -- JSON ------------------------------------------------------------------------------------------
def _sorted(labels: dict) -> dict:
    return dict(sorted(labels.items()))


def _active_json(t: Target) -> dict:
    labels = t.labels or {}
    item = {
        "discoveredLabels": _sorted(t.discovered()),
        "labels": _sorted(t.visible()),
        "scrapePool": t.job.pool,
        "scrapeUrl": t.scrape_url(),
        "globalUrl": t.scrape_url(),
        "lastError": t.last_error,
        "lastScrape": t.last_scrape,
        "lastScrapeDuration": t.last_scrape_duration,
        "health": t.health,
        "scrapeInterval": labels.get("__scrape_interval__", t.job.interval),
        "scrapeTimeout": labels.get("__scrape_timeout__", t.job.timeout),
    }
    extra: dict = {"receiver": t.job.receiver, "source": t.source}
    if t.collectors:
        extra["collectors"] = list(t.collectors)
    if t.pod is not None:
        extra.update(namespace=t.pod.namespace, pod=t.pod.name, container=t.info.container if t.info else "",
                     phase=t.pod.phase)
    if t.duplicates:
        extra["collapsedDuplicates"] = t.duplicates
    if t.assigned_to is not None:
        extra["assignedTo"] = list(t.assigned_to)
    item["linkerdOtel"] = extra
    return item


def _dropped_json(t: Target) -> dict:
    extra: dict = {"receiver": t.job.receiver}
    if t.rule is not None:
        extra["droppedBy"] = {"rule": t.rule.index, "action": t.rule.action, "description": t.rule.describe()}
        extra["reason"] = dropped_reason(t)
    if t.pod is not None:
        extra.update(namespace=t.pod.namespace, pod=t.pod.name,
                     container=t.info.container if t.info else "")
    return {"discoveredLabels": _sorted(t.discovered()), "scrapePool": t.job.pool, "linkerdOtel": extra}


def to_json(sim: Simulation, *, jobs: Optional[List[str]] = None, exit_code: int = 0, lazy: bool = False) -> dict:
    """The JSON document. `lazy`: the target arrays are generators, each target's JSON made as the writer
    reaches it (commands/jsonout.py writes a generator as an array), so the whole document never exists."""
    results = [r for r in sim.jobs if not jobs or r.job.name in jobs]
    counts: dict = {}
    for r in results:
        # one count per scrape pool, as Prometheus keys it: jobs of one name in several receivers add up
        counts[r.job.pool] = counts.get(r.job.pool, 0) + r.dropped_count
    active = (_active_json(t) for r in results for t in r.active)
    dropped = (_dropped_json(t) for r in results for t in r.dropped)
    if not lazy:
        active, dropped = list(active), list(dropped)
    unscraped = []
    for u in sim.unscraped_for(jobs or ()):
        unscraped.append({"namespace": u.pod.namespace, "pod": u.pod.name, "reason": u.reason,
                          "rule": u.rule.index if u.rule else None, "completed": u.completed,
                          "job": u.job.name if u.job else None, "receiver": u.job.receiver if u.job else None})
    summary = []
    for r in results:
        c = r.counts()
        summary.append({"scrapePool": r.job.pool, "receiver": r.job.receiver, "proxyJob": r.proxy_job,
                        "interval": r.job.interval, "active": len(r.active), "up": c["up"], "down": c["down"],
                        "unknown": c["unknown"], "dropped": r.dropped_count, "invalid": len(r.invalid),
                        "simulationOnly": r.simulation_only, "collectorOnly": r.actual_only,
                        "invalidTargets": [{"address": t.address, "error": t.error,
                                            "namespace": t.namespace, "pod": t.pod_name} for t in r.invalid],
                        "notes": list(r.notes)})
    return {
        "status": "success",
        "data": {"activeTargets": active, "droppedTargets": dropped, "droppedTargetCounts": counts},
        "linkerdOtel": {"actual": sim.actual, "jobs": summary, "unscrapedMeshedPods": unscraped,
                        "notes": list(sim.notes), "exitCode": exit_code},
    }


# -- human -----------------------------------------------------------------------------------------
def ago(timestamp: str, now: Optional[datetime] = None) -> str:
    if not timestamp or timestamp.startswith("0001-01-01"):
        return "-"
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = int(((now or datetime.now(timezone.utc)) - when).total_seconds())
    if seconds < 0:
        return "just now"
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def job_summary(r) -> str:
    c = r.counts()
    bits = [f"{len(r.active)} target{'s' if len(r.active) != 1 else ''}"]
    if any(t.health != "unknown" for t in r.active):
        bits.append(f"{c['up']} up, {c['down']} down" + (f", {c['unknown']} unknown" if c["unknown"] else ""))
    else:
        bits.append("health unknown")
    if r.proxy_job:
        missing = list(r.unscraped)
        if missing:
            done = sum(1 for u in missing if u.completed)
            text = f"{len(missing)} meshed pod{'s' if len(missing) != 1 else ''} not scraped"
            if done:
                text += f" ({done} completed)"
            bits.append(text)
        else:
            bits.append("every meshed pod scraped")
    bits.append(f"{r.dropped_count} dropped")
    if r.invalid:
        bits.append(f"{len(r.invalid)} invalid")
    if r.simulation_only:
        bits.append(f"{r.simulation_only} expected but missing from the collector")
    if r.actual_only:
        bits.append(f"{r.actual_only} in the collector but not expected")
    return f"{r.job.name}: " + "; ".join(bits)


class _Cell(str):
    """A table cell: plain text (for widths) with an optional click style."""

    style: Optional[str] = None

    @classmethod
    def of(cls, text: str, style: Optional[str] = None) -> "_Cell":
        cell = cls(text)
        cell.style = style
        return cell


def _table(headers: List[str], rows: List[List[str]], color: bool) -> List[str]:
    """kubectl-style columns: two spaces apart, no trailing blanks; styles applied after padding."""
    rows = [[_Cell.of(printable(cell), getattr(cell, "style", None)) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for n, row in enumerate([headers] + rows):
        parts = []
        for i, cell in enumerate(row):
            text = cell if i == len(row) - 1 else cell.ljust(widths[i])
            style = "bold" if n == 0 else getattr(cell, "style", None)
            if color and style:
                text = click.style(text, bold=True) if style == "bold" else \
                    click.style(text, fg=style, dim=style == "bright_black")
            parts.append(text)
        lines.append("  ".join(parts).rstrip())
    return lines


def render_human(sim: Simulation, *, show_all: bool = False, wide: bool = False, color: bool = True,
                 jobs: Optional[List[str]] = None, now: Optional[datetime] = None) -> str:
    """A table per job (namespace, pod, container, address, health, last scrape, error), the meshed
    pods a proxy job does not scrape with the reason, and a one-line summary per job."""
    def styled(text: str, **kw) -> str:
        text = printable(text)
        return click.style(text, **kw) if color else text

    out: List[str] = []
    shown_pods = set()
    results = [r for r in sim.jobs if not jobs or r.job.name in jobs]
    for r in results:
        where = f"receiver {r.job.receiver}, every {r.job.interval}" if r.job.interval else "not in the config"
        out.append(styled(r.job.name, bold=True) + " " + styled(f"({where})", dim=True))
        headers = ["NAMESPACE", "POD", "CONTAINER", "ADDRESS", "HEALTH", "LAST SCRAPE", "ERROR"]
        if wide:
            headers = headers[:-1] + ["SCRAPE URL", "SEEN BY", "ERROR"]
        allocated = any(t.assigned_to is not None for t in r.active)
        if allocated:
            headers = headers[:-1] + ["COLLECTOR", headers[-1]]
        if r.active:
            rows = []
            for target in sorted(r.active, key=lambda x: (x.namespace, x.pod_name, x.address)):
                row = [_Cell.of(target.namespace or "-"), _Cell.of(target.pod_name or "-"),
                       _Cell.of(target.container or "-"),
                       _Cell.of(target.address or (target.labels or {}).get("instance", "-")),
                       _Cell.of(target.health, HEALTH_STYLE.get(target.health)),
                       _Cell.of(ago(target.last_scrape, now))]
                if wide:
                    row += [_Cell.of(target.scrape_url()), _Cell.of(_seen(target, sim.actual))]
                if allocated:
                    row.append(_Cell.of(",".join(target.assigned_to or []) or "none",
                                        None if target.assigned_to else "red"))
                row.append(_Cell.of(_error(target, sim.actual), "red"))
                rows.append(row)
            out += _table(headers, rows, color)
        else:
            out.append(styled("  no targets", fg="yellow"))
        missing = list(r.unscraped) if r.proxy_job else []
        if missing:
            out.append(styled("Meshed pods this job does not scrape:", bold=True))
            rows = []
            for u in sorted(missing, key=lambda u: u.pod.key):
                others = [o for o in sim.scraped_by(u.pod) if o is not r]
                reason = u.reason
                if others:
                    reason += f"; scraped by job {others[0].job.name}" + (
                        f" (receiver {others[0].job.receiver})" if others[0].job.name == r.job.name else "")
                shown_pods.add(u.pod.key)
                rows.append([_Cell.of(u.pod.namespace), _Cell.of(u.pod.name),
                             _Cell.of(reason, "bright_black" if u.completed or others else "red")])
            out += _table(["NAMESPACE", "POD", "REASON"], rows, color)
        if r.invalid:
            out.append(styled("Kept by the rules but rejected by Prometheus:", bold=True))
            rows = [[_Cell.of(t.namespace or "-"), _Cell.of(t.pod_name or "-"), _Cell.of(t.address or "-"),
                     _Cell.of(t.error, "red")] for t in r.invalid]
            out += _table(["NAMESPACE", "POD", "ADDRESS", "ERROR"], rows, color)
        if show_all and r.dropped:
            out.append(styled("Dropped targets:", bold=True))
            rows = []
            for target in sorted(r.dropped, key=lambda x: (x.namespace, x.pod_name, x.address)):
                rule = target.rule
                rows.append([_Cell.of(target.namespace or "-"), _Cell.of(target.pod_name or "-"),
                             _Cell.of(target.container or "-"), _Cell.of(target.address or "-"),
                             _Cell.of(f"rule {rule.index} ({rule.action}): {dropped_reason(target)}"
                                      if rule else "-")])
            out += _table(["NAMESPACE", "POD", "CONTAINER", "ADDRESS", "DROPPED BY"], rows, color)
        for note in r.notes:
            out.append(styled(f"note: {note}", fg="yellow"))
        out.append(styled(job_summary(r), bold=True))
        out.append("")
    rest = [u for u in sim.unscraped_for(jobs or ()) if u.pod.key not in shown_pods]
    if rest:
        out.append(styled("Meshed pods no job scrapes:", bold=True))
        rows = [[_Cell.of(u.pod.namespace), _Cell.of(u.pod.name),
                 _Cell.of(_unscraped_reason(u), "bright_black" if u.completed else "red")]
                for u in sorted(rest, key=lambda u: u.pod.key)]
        out += _table(["NAMESPACE", "POD", "REASON"], rows, color)
        out.append("")
    for note in sim.notes:
        out.append(styled(f"note: {note}", fg="yellow"))
    return "\n".join(out) + ("\n" if out and out[-1] != "" else "")


def _unscraped_reason(u: Unscraped) -> str:
    return f"{u.reason} (job {u.job.name})" if u.job is not None else u.reason


def _error(t: Target, actual: bool) -> str:
    """The ERROR column: the collector's last error, and every disagreement with the simulation."""
    bits = []
    if actual and t.source == "simulation":
        bits.append("expected, but the collector has no such target")
    elif t.source == "collector":
        bits.append("the collector has this target, the simulation does not expect it")
    if t.last_error:
        bits.append(t.last_error)
    if t.pod is not None and t.pod.phase in ("Succeeded", "Failed") and t.health != "up":
        bits.append(f"pod phase {t.pod.phase}: nothing listens any more")
    if t.collectors and len(t.collectors) > 1:
        bits.append(f"scraped by {len(t.collectors)} collectors")
    return "; ".join(bits)


def _seen(t: Target, actual: bool) -> str:
    if not actual:
        return "simulation"
    if t.source == "both":
        return ",".join(t.collectors) or "collector"
    if t.source == "collector":
        return ",".join(t.collectors) + " only"
    return "simulation only"
