"""Expected scrape targets per job, why meshed pods are not among them, and the merge with the
collector's own `/api/v1/targets` answer (pure).

`simulate(jobs, pods)` runs Prometheus' pipeline for every job: service discovery (sd.py, computed once
per pod and shared by all jobs), the job's defaults (`job`, `__scheme__`, ...), its relabel rules
(relabel.py), then the checks of `scrape.PopulateLabels` (no address, `/` in the address, bad
interval or timeout), the removal of `__meta_*` labels, `instance` defaulting to `__address__`, and the
collapse of identical targets. Each job gets its active targets, its dropped ones (with the rule that
dropped them) and, for the proxy job, a sentence per meshed pod that it does not scrape.

`merge_actual(result, answers)` lays the collector's answers (one per collector pod) over the
expectation: health, last error, last scrape and duration for the targets both sides have; the targets
only one side has are kept and flagged, never hidden: that means the simulation and the collector
disagree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, quote_plus

from .config import ScrapeConfigError, ScrapeJob, parse_duration
from .relabel import Rule
from .re2 import RE2Error, compile_anchored
from .sd import POD, PROXY_CONTAINER, PodTargets, TargetInfo, discover

ZERO_TIME = "0001-01-01T00:00:00Z"
ADMIN_PORT = "linkerd-admin"
COMPLETED = ("Succeeded", "Failed")


# -- targets ---------------------------------------------------------------------------------------
class Target:
    """One target of one job. `labels` is the full post-relabel set (`__address__`, `__scheme__`, ...
    included, `__meta_*` removed), None for a dropped or invalid target."""

    __slots__ = ("job", "pod", "info", "static", "labels", "state", "rule", "error", "health",
                 "last_error", "last_scrape", "last_scrape_duration", "source", "collectors",
                 "actual_discovered", "actual_url", "duplicates", "collapsed")

    def __init__(self, job: ScrapeJob, pod: Optional[PodTargets], info: Optional[TargetInfo],
                 static: Optional[Dict[str, str]] = None):
        self.job = job
        self.pod = pod
        self.info = info
        self.static = static                 # discovered labels of a static_configs target
        self.labels: Optional[Dict[str, str]] = None
        self.state = "active"                # active | dropped | invalid
        self.rule: Optional[Rule] = None     # the rule that dropped it
        self.error = ""                      # why an otherwise kept target is invalid
        self.health = "unknown"
        self.last_error = ""
        self.last_scrape = ZERO_TIME
        self.last_scrape_duration = 0.0
        self.source = "simulation"           # simulation | both | collector
        self.collectors: List[str] = []
        self.actual_discovered: Optional[Dict[str, str]] = None
        self.actual_url = ""
        self.duplicates = 0
        self.collapsed: Optional[List["Target"]] = None   # the other targets identical to this one

    # What Prometheus shows as discoveredLabels: the SD labels plus the job's defaults.
    def discovered(self) -> Dict[str, str]:
        if self.actual_discovered is not None:
            return dict(self.actual_discovered)
        if self.static is not None:
            labels = dict(self.static)
        else:
            labels = dict(self.pod.group)
            labels.update(self.info.labels)
        for name, value in self.job.defaults():
            if not labels.get(name):
                labels[name] = value
        return labels

    def visible(self) -> Dict[str, str]:
        return {k: v for k, v in (self.labels or {}).items() if not k.startswith("__")}

    @property
    def address(self) -> str:
        if self.labels is not None:
            return self.labels.get("__address__", "")
        return (self.info.labels.get("__address__", "") if self.info else
                (self.static or {}).get("__address__", ""))

    def scrape_url(self) -> str:
        if self.actual_url:
            return self.actual_url
        return scrape_url(self.labels or {}, self.job.params)

    def key(self) -> Tuple[str, Tuple[Tuple[str, str], ...]]:
        return self.job.pool, tuple(sorted(self.visible().items()))

    @property
    def namespace(self) -> str:
        if self.pod is not None:
            return self.pod.namespace
        return (self.labels or {}).get("namespace", "")

    @property
    def pod_name(self) -> str:
        if self.pod is not None:
            return self.pod.name
        return (self.labels or {}).get("pod", "")

    @property
    def container(self) -> str:
        if self.info is not None:
            return self.info.container + (" (init)" if self.info.init else "")
        return (self.labels or {}).get("container", "")


def scrape_url(labels: Dict[str, str], params: Dict[str, List[str]]) -> str:
    """Target.URL().String(): scheme://address/path?params (params from the config and __param_*)."""
    query: Dict[str, List[str]] = {k: list(v) for k, v in params.items()}
    for name, value in labels.items():
        if name.startswith("__param_"):
            key = name[len("__param_"):]
            if query.get(key):
                query[key][0] = value
            else:
                query[key] = [value]
    path = labels.get("__metrics_path__", "")
    if path and not path.startswith("/"):
        path = "/" + path
    url = f"{labels.get('__scheme__', '')}://{labels.get('__address__', '')}" \
          f"{quote(path, safe='/:@&=+$,;-._~')}"
    if query:
        url += "?" + "&".join(f"{quote_plus(k, safe='-._~')}={quote_plus(v, safe='-._~')}"
                              for k in sorted(query) for v in query[k])
    return url


# -- results ---------------------------------------------------------------------------------------
@dataclass
class Unscraped:
    pod: PodTargets
    reason: str
    rule: Optional[Rule] = None
    completed: bool = False       # phase Succeeded/Failed: expected not to be scraped


@dataclass
class JobResult:
    job: ScrapeJob
    active: List[Target] = field(default_factory=list)
    dropped: List[Target] = field(default_factory=list)
    invalid: List[Target] = field(default_factory=list)
    proxy_job: bool = False
    unscraped: List[Unscraped] = field(default_factory=list)     # meshed pods (proxy jobs only)
    notes: List[str] = field(default_factory=list)
    dropped_count: int = 0
    actual_only: int = 0          # targets the collector has that the simulation does not
    simulation_only: int = 0      # the reverse

    def counts(self) -> Dict[str, int]:
        health = {"up": 0, "down": 0, "unknown": 0}
        for t in self.active:
            health[t.health if t.health in health else "unknown"] += 1
        return health


@dataclass
class Simulation:
    jobs: List[JobResult] = field(default_factory=list)
    pods: List[PodTargets] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    actual: bool = False          # merged with the collector's own answer

    def job(self, name: str) -> Optional[JobResult]:
        return next((j for j in self.jobs if j.job.name == name), None)

    @property
    def meshed_unscraped(self) -> List[Unscraped]:
        seen: Dict[Tuple[str, str], Unscraped] = {}
        proxy = [j for j in self.jobs if j.proxy_job]
        for result in proxy:
            for u in result.unscraped:
                seen.setdefault(u.pod.key, u)
        # A pod scraped by any proxy job is scraped.
        scraped = {t.pod.key for j in proxy for t in j.active if t.pod is not None}
        return [u for k, u in seen.items() if k not in scraped]


def is_proxy_job(job: ScrapeJob) -> bool:
    """The job meant to scrape Linkerd proxies: named linkerd-proxy, or keeping the proxy's container
    or admin port by name."""
    if job.name == "linkerd-proxy":
        return True
    return any(r.action == "keep" and (PROXY_CONTAINER in r.regex_text or ADMIN_PORT in r.regex_text)
               and any(s.endswith(("container_name", "container_port_name")) for s in r.source_labels)
               and "controller" not in job.name
               for r in job.rules)


def discover_all(pods: Iterable[dict]) -> List[PodTargets]:
    return [discover(p) for p in pods]


def _finish(target: Target, labels: Dict[str, str]) -> None:
    """scrape.PopulateLabels after relabeling: validity checks, __meta_* removal, instance."""
    address = labels.get("__address__", "")
    if not address:
        target.state, target.error = "invalid", "no address"
        return
    if "/" in address:
        target.state, target.error = "invalid", f"{address!r} is not a valid hostname"
        return
    try:
        interval = parse_duration(labels.get("__scrape_interval__", ""), "scrape interval")
        timeout = parse_duration(labels.get("__scrape_timeout__", ""), "scrape timeout")
    except ScrapeConfigError as exc:
        target.state, target.error = "invalid", f"error parsing {exc}"
        return
    if interval == 0:
        target.state, target.error = "invalid", "scrape interval cannot be 0"
        return
    if timeout == 0:
        target.state, target.error = "invalid", "scrape timeout cannot be 0"
        return
    if timeout > interval:
        target.state, target.error = "invalid", (
            f"scrape timeout cannot be greater than scrape interval "
            f"({labels['__scrape_timeout__']!r} > {labels['__scrape_interval__']!r})")
        return
    for name in [n for n in labels if n.startswith("__meta_")]:
        del labels[name]
    if not labels.get("instance"):
        labels["instance"] = address
    target.labels = labels


def simulate_job(job: ScrapeJob, pods: List[PodTargets], own_namespace: str = "",
                 keep_dropped: bool = True) -> JobResult:
    result = JobResult(job, proxy_job=is_proxy_job(job))
    result.notes.extend(job.notes)
    defaults = job.defaults()
    process = job.rules.process
    active: Dict[Tuple[Tuple[str, str], ...], Target] = {}

    def run(target: Target, labels: Dict[str, str]) -> None:
        for name, value in defaults:
            if not labels.get(name):
                labels[name] = value
        rule = process(labels)
        if rule is not None:
            target.state, target.rule = "dropped", rule
            result.dropped_count += 1
            if keep_dropped or (target.pod is not None and target.pod.meshed):
                result.dropped.append(target)
            return
        _finish(target, labels)
        if target.state == "invalid":
            result.invalid.append(target)
            return
        key = tuple(sorted(labels.items()))
        first = active.get(key)
        if first is None:
            active[key] = target
        else:
            # Prometheus keeps one target and shows the discovered labels of the last duplicate it
            # saw: the last of one pod's targets, but pods (target groups) come in random order.
            if first.collapsed is None:
                first.collapsed = []
            first.collapsed.append(Target(job, first.pod, first.info, first.static))
            first.pod, first.info, first.static = target.pod, target.info, target.static
            first.duplicates += 1

    for group in job.static_groups:
        for address in group.targets:
            discovered = {k: v for k, v in group.labels.items() if v != ""}
            if address:
                discovered["__address__"] = address
            target = Target(job, None, None, static=discovered)
            run(target, dict(discovered))
    for sd in job.sd_configs:
        for pt in pods:
            if not pt.targets or not sd.selects(pt.pod, own_namespace):
                continue
            group = pt.group
            for info in pt.targets:
                labels = dict(group)
                labels.update(info.labels)
                run(Target(job, pt, info), labels)
    result.active = list(active.values())
    for rule in job.rules:
        for name, sources in sorted(rule.ambiguities):
            result.notes.append(f"{rule.describe()} maps both {sources[0]} and {sources[1]} to {name} with "
                                f"different values: Prometheus picks one at random, so {name} is uncertain")
    if result.proxy_job:
        result.unscraped = unscraped_pods(result, pods, own_namespace)
    return result


def simulate(jobs: List[ScrapeJob], pods: Iterable[dict], *, own_namespace: str = "",
             keep_dropped: bool = True) -> Simulation:
    """Expected targets of every job for these pods (dicts as the API returns them)."""
    discovered = discover_all(pods)
    sim = Simulation(pods=discovered)
    for job in jobs:
        sim.jobs.append(simulate_job(job, discovered, own_namespace, keep_dropped))
    if not any(j.proxy_job for j in sim.jobs) and any(p.meshed for p in discovered):
        sim.notes.append("no scrape job keeps the linkerd-proxy container's linkerd-admin port: "
                         "no proxy is scraped")
    return sim


# -- explanations ----------------------------------------------------------------------------------
FRIENDLY = {
    POD + "phase": "phase",
    POD + "label_linkerd_io_control_plane_ns": "control-plane namespace label",
    POD + "container_port_name": "port name",
    POD + "container_name": "container",
    POD + "container_port_number": "port",
    POD + "container_init": "init container flag",
    POD + "ready": "readiness",
    POD + "name": "pod name",
    "__meta_kubernetes_namespace": "namespace",
}


def friendly(label: str) -> str:
    if label in FRIENDLY:
        return FRIENDLY[label]
    for prefix, what in ((POD + "label_", "pod label"), (POD + "annotation_", "pod annotation"),
                         (POD + "labelpresent_", "presence of pod label"),
                         (POD + "annotationpresent_", "presence of pod annotation")):
        if label.startswith(prefix):
            return f"{what} {label[len(prefix):]}"
    return f"label {label}"


_LITERALS = re.compile(r"\(?([A-Za-z0-9_.:/-]+(?:\|[A-Za-z0-9_.:/-]+)*)\)?")


def expected_text(regex: str) -> str:
    body = regex
    if body.startswith("^"):
        body = body[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    m = _LITERALS.fullmatch(body)
    if m and body.count("(") == body.count(")"):
        words = [f"`{w}`" for w in m.group(1).split("|")]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return f"`{regex}`"


def _single_literal(regex: str) -> Optional[str]:
    text = expected_text(regex)
    if text.count("`") == 2 and text.startswith("`") and text[1:-1] == regex.strip("^$"):
        return text[1:-1]
    return None


def _components(rule: Rule) -> Optional[List[Tuple[str, str]]]:
    """Split a keep regex over several source labels into one sub-regex per label, when the
    separator cuts it cleanly (`^linkerd-proxy;linkerd-admin;linkerd$` -> three parts)."""
    n = len(rule.source_labels)
    if n < 2 or not rule.separator or rule.separator in "\\^$.|?*+()[]{}":
        return None
    parts = rule.regex_text.split(rule.separator)
    if len(parts) != n:
        return None
    out = []
    for label, part in zip(rule.source_labels, parts):
        try:
            compile_anchored(part)
        except RE2Error:
            return None
        out.append((label, part))
    return out


def _strip_anchors(part: str) -> str:
    if part.startswith("^"):
        part = part[1:]
    if part.endswith("$") and not part.endswith("\\$"):
        part = part[:-1]
    return part


def _phrase(label: str, value: str, part: str, pt: PodTargets, info: Optional[TargetInfo]) -> str:
    what = friendly(label)
    expected = expected_text(_strip_anchors(part))
    literal = _single_literal(_strip_anchors(part))
    if label == POD + "container_port_name" and literal and info is not None:
        names = [t.port_name for t in pt.targets if t.container == info.container and t.port_name]
        if literal not in names:
            listed = ", ".join(names) if names else "none"
            return f"no `{literal}` port on the {info.container} container (its named ports: {listed})"
    if label == POD + "container_name" and literal and not any(t.container == literal for t in pt.targets):
        return f"no `{literal}` container"
    if not value:
        return f"no {what} (the job expects {expected})"
    if label == POD + "phase":
        return f"phase {value} (the job keeps only {expected})"
    return f"{what} `{value}` where the job expects {expected}"


def describe_drop(rule: Rule, labels: Dict[str, str], pt: Optional[PodTargets] = None,
                  info: Optional[TargetInfo] = None) -> str:
    """In words: why `rule` dropped a target whose labels were `labels` when the rule ran."""
    value = rule.joined(labels)
    if rule.action == "keep":
        comps = _components(rule)
        if comps is not None and pt is not None:
            failing = []
            for label, part in comps:
                sub = labels.get(label, "")
                if compile_anchored(part).fullmatch(sub) is None:
                    failing.append(_phrase(label, sub, part, pt, info))
            if failing:
                return "; ".join(failing)
        if len(rule.source_labels) == 1 and pt is not None:
            return _phrase(rule.source_labels[0], value, rule.regex_text, pt, info)
        what = ", ".join(friendly(s) for s in rule.source_labels) or "(no source labels)"
        return f"{what} `{value}` does not match `{rule.regex_text}`"
    if rule.action == "drop":
        what = ", ".join(friendly(s) for s in rule.source_labels) or "(no source labels)"
        return f"{what} `{value}` matches the drop regex `{rule.regex_text}`"
    other = labels.get(rule.target_label, "")
    what = ", ".join(friendly(s) for s in rule.source_labels)
    if rule.action == "keepequal":
        return f"{what} `{value}` differs from {friendly(rule.target_label)} `{other}`"
    return f"{what} `{value}` equals {friendly(rule.target_label)} `{other}`"


def _candidate_rank(target: Target) -> Tuple[int, int, int]:
    info = target.info
    reach = target.rule.index if target.rule is not None else 10_000
    return (reach, int(info is not None and info.container == PROXY_CONTAINER),
            int(info is not None and info.port_name == ADMIN_PORT))


def explain_pod(result: JobResult, pt: PodTargets, own_namespace: str = "",
                by_pod: Optional[Dict[Tuple[str, str], List[Target]]] = None) -> Unscraped:
    """Why the job has no target for this pod, in words."""
    job = result.job
    completed = pt.phase in COMPLETED
    if not pt.ip:
        phase = pt.phase or "unknown"
        return Unscraped(pt, f"no pod IP yet (phase {phase})", completed=completed)
    if not job.sd_configs:
        return Unscraped(pt, "the job has no kubernetes_sd_configs of role pod", completed=completed)
    if not any(sd.namespace_ok(pt.namespace, own_namespace) for sd in job.sd_configs):
        names = sorted({n for sd in job.sd_configs for n in (sd.namespace_list(own_namespace) or [])})
        return Unscraped(pt, f"namespace `{pt.namespace}` is not among the job's SD namespaces "
                             f"({', '.join(names)})", completed=completed)
    if not any(sd.selects(pt.pod, own_namespace) for sd in job.sd_configs):
        filters = "; ".join(sd.describe_filters(own_namespace) for sd in job.sd_configs)
        return Unscraped(pt, f"the pod does not match the job's SD selectors ({filters})",
                         completed=completed)
    if by_pod is not None:
        candidates = by_pod.get(pt.key) or []
    else:
        candidates = [t for t in result.dropped + result.invalid if t.pod is pt]
    if not candidates:
        return Unscraped(pt, "no target discovered for this pod", completed=completed)
    invalid = [t for t in candidates if t.state == "invalid"]
    if invalid:
        best = max(invalid, key=_candidate_rank)
        return Unscraped(pt, f"kept by the rules, but Prometheus rejects the target: {best.error}",
                         completed=completed)
    best = max(candidates, key=_candidate_rank)
    labels = best.discovered()
    steps = job.rules.trace(dict(labels))
    rule, before, _keep = steps[-1]
    reason = describe_drop(rule, before, pt, best.info)
    return Unscraped(pt, f"{reason} (rule {rule.index}, {rule.action})", rule=rule, completed=completed)


def unscraped_pods(result: JobResult, pods: List[PodTargets], own_namespace: str = "") -> List[Unscraped]:
    scraped = {t.pod.key for t in result.active if t.pod is not None}
    by_pod: Dict[Tuple[str, str], List[Target]] = {}
    for t in result.dropped:
        if t.pod is not None and t.pod.meshed:
            by_pod.setdefault(t.pod.key, []).append(t)
    for t in result.invalid:
        if t.pod is not None and t.pod.meshed:
            by_pod.setdefault(t.pod.key, []).append(t)
    out = []
    for pt in pods:
        if pt.meshed and pt.key not in scraped:
            out.append(explain_pod(result, pt, own_namespace, by_pod))
    return out


def dropped_reason(target: Target) -> str:
    """A short sentence for one dropped target (JSON output and --all)."""
    if target.rule is None:
        return target.error
    steps = target.job.rules.trace(target.discovered())
    rule, before, _ = steps[-1]
    return describe_drop(rule, before, target.pod, target.info)


# -- the collector's own view ----------------------------------------------------------------------
def _actual_key(item: dict) -> Tuple[str, Tuple[Tuple[str, str], ...]]:
    labels = item.get("labels") or {}
    return str(item.get("scrapePool") or labels.get("job") or ""), tuple(sorted(labels.items()))


def active_targets(doc) -> Optional[List[dict]]:
    """The activeTargets of a Prometheus /api/v1/targets answer; None when it has another shape. Targets
    whose labels are not a string map are left out (nothing could match them)."""
    data = doc.get("data") if isinstance(doc, dict) else None
    items = data.get("activeTargets") if isinstance(data, dict) else None
    if items is None and isinstance(data, dict):
        return []
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict) and _string_map(item.get("labels") or {})
            and _string_map(item.get("discoveredLabels") or {})]


def _string_map(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def merge_actual(sim: Simulation, answers: Dict[str, dict]) -> None:
    """Lay the collector's /api/v1/targets answers (collector pod name -> parsed JSON) over `sim`."""
    index: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], List[Tuple[str, dict]]] = {}
    for collector, doc in sorted(answers.items()):
        for item in active_targets(doc) or []:
            index.setdefault(_actual_key(item), []).append((collector, item))
    sim.actual = True
    matched = set()
    for result in sim.jobs:
        for target in result.active:
            key = target.key()
            found = index.get(key)
            if not found:
                target.source = "simulation"
                result.simulation_only += 1
                continue
            matched.add(key)
            target.source = "both"
            _apply_actual(target, found)
    pools = {r.job.pool: r for r in sim.jobs}
    for key, found in sorted(index.items()):
        if key in matched:
            continue
        pool = key[0]
        result = pools.get(pool)
        if result is None:
            job = ScrapeJob(receiver="?", name=pool, interval="", timeout="")
            result = JobResult(job)
            result.notes.append("this scrape pool is not in the config that was read")
            sim.jobs.append(result)
            pools[pool] = result
        target = Target(result.job, None, None)
        target.labels = dict(found[0][1].get("labels") or {})
        target.actual_discovered = dict(found[0][1].get("discoveredLabels") or {})
        target.source = "collector"
        target.actual_url = str(found[0][1].get("scrapeUrl") or "")
        _apply_actual(target, found)
        result.active.append(target)
        result.actual_only += 1


def _apply_actual(target: Target, found: List[Tuple[str, dict]]) -> None:
    target.collectors = [c for c, _ in found]
    order = {"down": 0, "unknown": 1, "up": 2}
    collector, item = min(found, key=lambda f: order.get(str(f[1].get("health")), 1))
    target.health = str(item.get("health") or "unknown")
    target.last_error = str(item.get("lastError") or "")
    target.last_scrape = str(item.get("lastScrape") or ZERO_TIME)
    try:
        target.last_scrape_duration = float(item.get("lastScrapeDuration") or 0.0)
    except (TypeError, ValueError):
        target.last_scrape_duration = 0.0
