"""Expected scrape targets per job, why meshed pods are not among them, and the merge with the
collector's own `/api/v1/targets` answer (pure).

`simulate(jobs, pods)` runs Prometheus' pipeline for every job: service discovery (sd.py, computed once
per pod and shared by all jobs), the job's defaults (`job`, `__scheme__`, ...), its relabel rules
(relabel.py), then the checks of `scrape.PopulateLabels` (no address, `/` in the address, bad
interval or timeout), the removal of `__meta_*` labels, `instance` defaulting to `__address__`, and the
collapse of identical targets. Each job gets its active targets, its dropped ones (with the rule that
dropped them) and, for a proxy job, a sentence per meshed pod that it does not scrape.

A meshed pod is scraped when some job has an active target for its proxy's admin port (container
`linkerd-proxy`, port `linkerd-admin`): keeping other targets of the pod does not count. Every meshed pod
no job scrapes is in `Simulation.unscraped`, with the reason a proxy job gives: one meant for proxies by
its name or rules (`is_proxy_job`), else one that does scrape some proxy; without any, that no job keeps
the proxy's admin port.

`merge_actual(result, answers)` lays the collector's answers (one per collector pod) over the
expectation: health, last error, last scrape and duration for the targets both sides have; the targets
only one side has are kept and flagged, never hidden: that means the simulation and the collector
disagree.
"""
from __future__ import annotations

import math

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, quote_plus

from ..naming import (CONTROL_PLANE_NS_META_LABEL, LINKERD_ADMIN_PORT_NAME, LINKERD_PROXY_CONTAINER,
                      PROXY_JOB_NAME)
from .config import ScrapeConfigError, ScrapeJob, duration_ms
from .relabel import Rule
from .re2 import RE2Error, compile_anchored
from .sd import POD, PodTargets, TargetInfo, discover
from .text import code, go_quote, shown

ZERO_TIME = "0001-01-01T00:00:00Z"
COMPLETED = ("Succeeded", "Failed")


# -- targets ---------------------------------------------------------------------------------------
class Target:
    """One target of one job. `labels` is the full post-relabel set (`__address__`, `__scheme__`, ...
    included, `__meta_*` removed), None for a dropped or invalid target."""

    __slots__ = ("job", "pod", "info", "static", "labels", "state", "rule", "error", "health",
                 "last_error", "last_scrape", "last_scrape_duration", "source", "collectors",
                 "actual_discovered", "actual_url", "duplicates", "collapsed", "assigned_to", "seen")

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
        self.assigned_to: Optional[List[str]] = None     # --mode operator: the allocator's collectors
        # the labels the dropping rule read, as it saw them (its source labels and target label): the
        # reason is worded from them without running the rules again
        self.seen: Optional[Dict[str, str]] = None

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
    job: Optional[ScrapeJob] = None   # the proxy job whose rules explain it (None: no proxy job)


@dataclass
class JobResult:
    job: ScrapeJob
    active: List[Target] = field(default_factory=list)
    dropped: List[Target] = field(default_factory=list)
    invalid: List[Target] = field(default_factory=list)
    proxy_job: bool = False       # meant to scrape proxies (is_proxy_job); without one, any that does
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
    unscraped: List[Unscraped] = field(default_factory=list)
    _scraped_by: Optional[Dict[Tuple[str, str], List[JobResult]]] = field(default=None, repr=False)

    def job(self, name: str) -> Optional[JobResult]:
        return next((j for j in self.jobs if j.job.name == name), None)

    @property
    def meshed_unscraped(self) -> List[Unscraped]:
        """Every meshed pod whose proxy no job scrapes: no job has an active target for the linkerd-proxy
        container's linkerd-admin port of the pod. The reason comes from a proxy job when there is one."""
        return list(self.unscraped)

    def scraped_by(self, pod: PodTargets) -> List[JobResult]:
        """The jobs with an active target for this pod's proxy admin port."""
        if self._scraped_by is None:
            index: Dict[Tuple[str, str], List[JobResult]] = {}
            for r in self.jobs:
                for t in r.active:
                    if t.pod is not None and is_proxy_admin(t.info):
                        jobs = index.setdefault(t.pod.key, [])
                        if not jobs or jobs[-1] is not r:
                            jobs.append(r)
            self._scraped_by = index
        return list(self._scraped_by.get(pod.key, ()))

    def unscraped_for(self, jobs: Iterable[str] = ()) -> List[Unscraped]:
        """`meshed_unscraped` as `targets --job ...` reports it: only when one of the chosen jobs is a
        proxy job, or no job of the config is one (then no choice of jobs scrapes the proxies)."""
        jobs = list(jobs)
        if not jobs:
            return self.meshed_unscraped
        chosen = [r for r in self.jobs if r.job.name in jobs]
        if any(r.proxy_job for r in chosen) or not any(r.proxy_job for r in self.jobs):
            return self.meshed_unscraped
        return []


def is_proxy_admin(info: Optional[TargetInfo]) -> bool:
    """The target of the proxy's admin port: container linkerd-proxy, port named linkerd-admin."""
    return (info is not None and info.container == LINKERD_PROXY_CONTAINER
            and info.port_name == LINKERD_ADMIN_PORT_NAME)


def is_proxy_job(job: ScrapeJob) -> bool:
    """The job meant to scrape Linkerd proxies: named linkerd-proxy, or keeping the proxy's container
    or admin port by name."""
    if job.name == PROXY_JOB_NAME:
        return True
    return any(r.action == "keep"
               and (LINKERD_PROXY_CONTAINER in r.regex_text or LINKERD_ADMIN_PORT_NAME in r.regex_text)
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
        target.state, target.error = "invalid", f"{go_quote(address)} is not a valid hostname"
        return
    try:
        interval = duration_ms(labels.get("__scrape_interval__", ""), "scrape interval")
        timeout = duration_ms(labels.get("__scrape_timeout__", ""), "scrape timeout")
    except ScrapeConfigError as exc:
        # Prometheus: `error parsing scrape interval: not a valid duration string: "bogus"`
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
            f"({go_quote(labels['__scrape_timeout__'])} > {go_quote(labels['__scrape_interval__'])})")
        return
    # a new dict, not `del`: a dict keeps the room it had for the discovered labels, 50 and more a pod
    labels = {name: value for name, value in labels.items() if not name.startswith("__meta_")}
    if not labels.get("instance"):
        labels["instance"] = address
    target.labels = labels


_DROPPING = ("keep", "drop", "keepequal", "dropequal")


class _JobRun:
    """One job's simulation, fed target group by target group: its static groups, then each pod for each
    of its SD configs, in the order Prometheus would see them."""

    def __init__(self, job: ScrapeJob, own_namespace: str, keep_dropped: bool) -> None:
        self.job, self.own_namespace, self.keep_dropped = job, own_namespace, keep_dropped
        self.result = JobResult(job, proxy_job=is_proxy_job(job))
        self.result.notes.extend(job.notes)
        self._defaults = job.defaults()
        self._process = job.rules.process
        # the active targets in order, found again by the hash of their labels (a tuple of every target's
        # labels as the key would be about 1 KB a target on a large mesh)
        self._active: List[Target] = []
        self._by_hash: Dict[int, List[Target]] = {}
        self._seen_views: Dict[Tuple[int, Tuple[str, ...]], Dict[str, str]] = {}   # shared: many saw the same
        self._admin_kept = 0    # active proxy-admin targets of pods so far

    def _run(self, target: Target, labels: Dict[str, str]) -> None:
        result = self.result
        for name, value in self._defaults:
            if not labels.get(name):
                labels[name] = value
        rule = self._process(labels)
        if rule is not None:
            target.state, target.rule = "dropped", rule
            result.dropped_count += 1
            if self.keep_dropped or (target.pod is not None and target.pod.meshed):
                result.dropped.append(target)
                if rule.action in _DROPPING:   # these never change labels: `labels` is what the rule saw
                    names = tuple(rule.source_labels) + ((rule.target_label,) if rule.target_label else ())
                    values = tuple(labels.get(n, "") for n in names)
                    target.seen = self._seen_views.setdefault((id(rule), values), dict(zip(names, values)))
            return
        _finish(target, labels)
        if target.state == "invalid":
            result.invalid.append(target)
            return
        if target.pod is not None and is_proxy_admin(target.info):
            self._admin_kept += 1
        labels = target.labels
        same = self._by_hash.setdefault(hash(frozenset(labels.items())), [])
        first = next((t for t in same if t.labels == labels), None)
        if first is None:
            same.append(target)
            self._active.append(target)
        else:
            # Prometheus keeps one target and shows the discovered labels of the last duplicate it
            # saw: the last of one pod's targets, but pods (target groups) come in random order.
            if first.collapsed is None:
                first.collapsed = []
            first.collapsed.append(Target(self.job, first.pod, first.info, first.static))
            first.pod, first.info, first.static = target.pod, target.info, target.static
            first.duplicates += 1

    def static_groups(self) -> None:
        for group in self.job.static_groups:
            for address in group.targets:
                discovered = {k: v for k, v in group.labels.items() if v != ""}
                if address:
                    discovered["__address__"] = address
                target = Target(self.job, None, None, static=discovered)
                self._run(target, dict(discovered))

    def pod(self, sd: Any, pt: PodTargets) -> None:
        if not pt.targets or not sd.selects(pt.pod, self.own_namespace):
            return
        group = pt.group
        result = self.result
        dropped_before, admin_before = len(result.dropped), self._admin_kept
        for info in pt.targets:
            labels = dict(group)
            labels.update(info.labels)
            self._run(Target(self.job, pt, info), labels)
        if not self.keep_dropped and self._admin_kept > admin_before:
            # a meshed pod's dropped targets explain why it is not scraped, and this one is (were
            # its target collapsed into another pod's later, that target explains it): not kept
            del result.dropped[dropped_before:]

    def finish(self, pods: List[PodTargets]) -> JobResult:
        result = self.result
        result.active = self._active
        for rule in self.job.rules:
            for name, sources in sorted(rule.ambiguities):
                result.notes.append(f"{rule.describe()} maps both {sources[0]} and {sources[1]} to {name} with "
                                    f"different values: Prometheus picks one at random, so {name} is uncertain")
        if result.proxy_job:
            result.unscraped = unscraped_pods(result, pods, self.own_namespace)
        return result


def simulate_job(job: ScrapeJob, pods: List[PodTargets], own_namespace: str = "",
                 keep_dropped: bool = True) -> JobResult:
    return _simulate_jobs([job], pods, own_namespace, keep_dropped)[0]


def _simulate_jobs(jobs: List[ScrapeJob], pods: List[PodTargets], own_namespace: str,
                   keep_dropped: bool) -> List[JobResult]:
    """Every job's simulate_job, the pods walked once for all the jobs with one SD config: each job sees
    its groups in the same order, and a pod's labels and targets, built when asked, are built once for
    all of them (a job with several SD configs walks the pods once for each, as before)."""
    runs = [_JobRun(job, own_namespace, keep_dropped) for job in jobs]
    for run in runs:
        run.static_groups()
    together = [run for run in runs if len(run.job.sd_configs) == 1]
    if together:
        for pt in pods:
            for run in together:
                run.pod(run.job.sd_configs[0], pt)
    for run in runs:
        if len(run.job.sd_configs) != 1:
            for sd in run.job.sd_configs:
                for pt in pods:
                    run.pod(sd, pt)
    return [run.finish(pods) for run in runs]


NO_PROXY_JOB = "no scrape job keeps the linkerd-proxy container's linkerd-admin port"


def simulate(jobs: List[ScrapeJob], pods: Iterable[dict], *, own_namespace: str = "",
             keep_dropped: bool = True) -> Simulation:
    """Expected targets of every job for these pods (dicts as the API returns them), and the meshed pods
    whose proxy no job scrapes, each with the reason a proxy job gives (see `Simulation.unscraped`)."""
    discovered = discover_all(pods)
    sim = Simulation(pods=discovered)
    sim.jobs.extend(_simulate_jobs(jobs, discovered, own_namespace, keep_dropped))
    if not any(r.proxy_job for r in sim.jobs):
        # no job is meant for proxies by its name or rules: the jobs that do scrape a proxy's admin port
        # are the proxy jobs, whatever they are called (with one meant for proxies, a controller job
        # that also keeps linkerd-admin ports does not get a list of the meshed pods it leaves out)
        for result in sim.jobs:
            if any(is_proxy_admin(t.info) for t in result.active):
                result.proxy_job = True
                result.unscraped = unscraped_pods(result, discovered, own_namespace)
    sim.unscraped = meshed_unscraped(sim)
    return sim


def meshed_unscraped(sim: Simulation) -> List[Unscraped]:
    """Every meshed pod no job has an active proxy-admin target for, explained by the first proxy job
    (one named linkerd-proxy first), or as no job keeping the proxy's admin port when there is none."""
    scraped = {t.pod.key for r in sim.jobs for t in r.active if t.pod is not None and is_proxy_admin(t.info)}
    proxy = sorted((r for r in sim.jobs if r.proxy_job), key=lambda r: r.job.name != PROXY_JOB_NAME)
    explained: Dict[Tuple[str, str], Unscraped] = {}
    for result in proxy:
        for u in result.unscraped:
            explained.setdefault(u.pod.key, u)
    out = []
    for pt in sim.pods:
        if not pt.meshed or pt.key in scraped:
            continue
        u = explained.get(pt.key)
        if u is None and not pt.ip:
            u = Unscraped(pt, f"no pod IP yet (phase {pt.phase or 'unknown'})", completed=pt.phase in COMPLETED)
        if u is None:
            jobs = ", ".join(r.job.name for r in sim.jobs)
            u = Unscraped(pt, f"{NO_PROXY_JOB} (jobs: {jobs or 'none'})" if sim.jobs else NO_PROXY_JOB,
                          completed=pt.phase in COMPLETED)
        out.append(u)
    return out


# -- explanations ----------------------------------------------------------------------------------
FRIENDLY = {
    POD + "phase": "phase",
    CONTROL_PLANE_NS_META_LABEL: "control-plane namespace label",
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
            return f"{what} {shown(label[len(prefix):], 60)}"
    return f"label {shown(label, 60)}"


_LITERALS = re.compile(r"\(?([A-Za-z0-9_.:/-]+(?:\|[A-Za-z0-9_.:/-]+)*)\)?")


def expected_text(regex: str) -> str:
    body = regex
    if body.startswith("^"):
        body = body[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    m = _LITERALS.fullmatch(body)
    if m and body.count("(") == body.count(")"):
        words = [code(w) for w in m.group(1).split("|")]
        if len(words) > 6:
            words = words[:5] + [f"{len(words) - 5} more"]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    return code(regex)


def _single_literal(regex: str) -> Optional[str]:
    """The one word a regex stands for (`linkerd-admin`, `^(linkerd-admin)$`), None for anything else."""
    body = _strip_anchors(regex)
    m = _LITERALS.fullmatch(body)
    if m and "|" not in m.group(1) and body.count("(") == body.count(")"):
        return m.group(1)
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
    literal = _literal(part)
    if label == POD + "container_port_name" and literal and info is not None:
        names = [t.port_name for t in pt.targets if t.container == info.container and t.port_name]
        if literal not in names:
            listed = shown(", ".join(names)) if names else "none"
            return f"no {code(literal)} port on the {shown(info.container)} container (its named ports: {listed})"
    if label == POD + "container_name" and literal and not any(t.container == literal for t in pt.targets):
        return f"no {code(literal)} container"
    # the rest depends on the label, its value and the regex only: worded once (30,000 dropped targets at
    # 10,000 pods share a few dozen sentences)
    key = (label, value, part)
    text = _phrases.get(key)
    if text is None:
        what = friendly(label)
        expected = expected_text(_strip_anchors(part))
        if not value:
            text = f"no {what} (the job expects {expected})"
        elif label == POD + "phase":
            text = f"phase {shown(value)} (the job keeps only {expected})"
        else:
            text = f"{what} {code(value)} where the job expects {expected}"
        if len(_phrases) < 10_000:
            _phrases[key] = text
    return text


_phrases: Dict[Tuple[str, str, str], str] = {}
_literals: Dict[str, Optional[str]] = {}


def _literal(part: str) -> Optional[str]:
    if part not in _literals:
        if len(_literals) >= 10_000:
            return _single_literal(_strip_anchors(part))
        _literals[part] = _single_literal(_strip_anchors(part))
    return _literals[part]


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
        return f"{what} {code(value)} does not match {code(rule.regex_text)}"
    if rule.action == "drop":
        what = ", ".join(friendly(s) for s in rule.source_labels) or "(no source labels)"
        return f"{what} {code(value)} matches the drop regex {code(rule.regex_text)}"
    other = labels.get(rule.target_label, "")
    what = ", ".join(friendly(s) for s in rule.source_labels)
    if rule.action == "keepequal":
        return f"{what} {code(value)} differs from {friendly(rule.target_label)} {code(other)}"
    return f"{what} {code(value)} equals {friendly(rule.target_label)} {code(other)}"


def _candidate_rank(target: Target) -> Tuple[int, int, int]:
    info = target.info
    reach = target.rule.index if target.rule is not None else 10_000
    return (reach, int(info is not None and info.container == LINKERD_PROXY_CONTAINER),
            int(info is not None and info.port_name == LINKERD_ADMIN_PORT_NAME))


def explain_pod(result: JobResult, pt: PodTargets, own_namespace: str = "",
                by_pod: Optional[Dict[Tuple[str, str], List[Target]]] = None,
                twins: Optional[Dict[Tuple[str, str], Target]] = None) -> Unscraped:
    """Why the job has no active target for this pod's proxy admin port, in words."""
    job = result.job
    completed = pt.phase in COMPLETED

    def unscraped(reason: str, rule: Optional[Rule] = None) -> Unscraped:
        return Unscraped(pt, reason, rule=rule, completed=completed, job=job)

    if not pt.ip:
        phase = pt.phase or "unknown"
        return unscraped(f"no pod IP yet (phase {phase})")
    if not job.sd_configs:
        return unscraped("the job has no kubernetes_sd_configs of role pod")
    if not any(sd.namespace_ok(pt.namespace, own_namespace) for sd in job.sd_configs):
        names = sorted({n for sd in job.sd_configs for n in (sd.namespace_list(own_namespace) or [])})
        return unscraped(f"namespace {code(pt.namespace)} is not among the job's SD namespaces "
                         f"({shown(', '.join(names))})")
    if not any(sd.selects(pt.pod, own_namespace) for sd in job.sd_configs):
        why = "; ".join(dict.fromkeys(sd.why_not(pt.pod, own_namespace) for sd in job.sd_configs))
        return unscraped(f"the pod does not match the job's SD selectors: {why}")
    kept = (twins or {}).get(pt.key)
    if kept is not None:
        whose = f"pod {kept.pod.namespace}/{kept.pod.name}" if kept.pod is not None else "a static target"
        return unscraped(f"kept, but identical after relabeling to the target of {whose} "
                         f"({code(kept.address)}): Prometheus keeps one of identical targets, so it is "
                         f"scraped once")
    if by_pod is not None:
        candidates = by_pod.get(pt.key) or []
    else:
        candidates = [t for t in result.dropped + result.invalid if t.pod is pt]
    admin = [t for t in candidates if is_proxy_admin(t.info)]
    if admin:
        candidates = admin
    if not candidates:
        has_admin = any(is_proxy_admin(t) for t in pt.targets)
        if not has_admin:
            names = [t.port_name for t in pt.targets if t.container == LINKERD_PROXY_CONTAINER and t.port_name]
            if not any(t.container == LINKERD_PROXY_CONTAINER for t in pt.targets):
                return unscraped(f"no `{LINKERD_PROXY_CONTAINER}` container")
            return unscraped(f"no `{LINKERD_ADMIN_PORT_NAME}` port on the {LINKERD_PROXY_CONTAINER} container "
                             f"(its named ports: {', '.join(names) if names else 'none'})")
        return unscraped("no target discovered for this pod")
    invalid = [t for t in candidates if t.state == "invalid"]
    if invalid:
        best = max(invalid, key=_candidate_rank)
        return unscraped(f"kept by the rules, but Prometheus rejects the target: {best.error}")
    best = max(candidates, key=_candidate_rank)
    labels = best.discovered()
    steps = job.rules.trace(dict(labels))
    rule, before, _keep = steps[-1]
    reason = describe_drop(rule, before, pt, best.info)
    return unscraped(f"{reason} (rule {rule.index}, {rule.action})", rule)


def unscraped_pods(result: JobResult, pods: List[PodTargets], own_namespace: str = "") -> List[Unscraped]:
    """The meshed pods this job has no active proxy-admin target for, each with the reason."""
    scraped = {t.pod.key for t in result.active if t.pod is not None and is_proxy_admin(t.info)}
    by_pod: Dict[Tuple[str, str], List[Target]] = {}
    for t in result.dropped:
        if t.pod is not None and t.pod.meshed:
            by_pod.setdefault(t.pod.key, []).append(t)
    for t in result.invalid:
        if t.pod is not None and t.pod.meshed:
            by_pod.setdefault(t.pod.key, []).append(t)
    # proxy-admin targets kept by the rules but identical to another pod's target (collapsed into it)
    twins: Dict[Tuple[str, str], Target] = {}
    for t in result.active:
        for other in t.collapsed or ():
            if other.pod is not None and is_proxy_admin(other.info) and other.pod is not t.pod \
                    and other.pod.key not in scraped:
                twins.setdefault(other.pod.key, t)
    out = []
    for pt in pods:
        if pt.meshed and pt.key not in scraped:
            out.append(explain_pod(result, pt, own_namespace, by_pod, twins))
    return out


def dropped_reason(target: Target) -> str:
    """A short sentence for one dropped target (JSON output and --all)."""
    if target.rule is None:
        return target.error
    if target.seen is not None:
        return describe_drop(target.rule, target.seen, target.pod, target.info)
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
    # the answers' targets with equal keys (scrape pool, labels), found by the hash of the key: the keys
    # themselves (every target's labels as a tuple) are made again when compared, never kept
    index: Dict[int, List[List[Tuple[str, dict]]]] = {}

    def same_key(key: Tuple[str, Tuple[Tuple[str, str], ...]], create: bool) -> Optional[List[Tuple[str, dict]]]:
        groups = index.get(hash(key))
        for found in groups or ():
            if _actual_key(found[0][1]) == key:
                return found
        if not create:
            return None
        found = []
        index.setdefault(hash(key), []).append(found)
        return found

    for collector, doc in sorted(answers.items()):
        for item in active_targets(doc) or []:
            same_key(_actual_key(item), True).append((collector, item))   # type: ignore[union-attr]
    sim.actual = True
    matched = set()
    for result in sim.jobs:
        for target in result.active:
            found = same_key(target.key(), False)
            if not found:
                target.source = "simulation"
                result.simulation_only += 1
                continue
            matched.add(id(found))
            target.source = "both"
            _apply_actual(target, found)
    unmatched = sorted(((_actual_key(found[0][1]), found) for groups in index.values() for found in groups
                        if id(found) not in matched), key=lambda pair: pair[0])
    pools = {r.job.pool: r for r in sim.jobs}
    for key, found in unmatched:
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


_collector_lists: Dict[Tuple[str, ...], List[str]] = {}


def _apply_actual(target: Target, found: List[Tuple[str, dict]]) -> None:
    # one list for each set of collectors (read-only): not one a target
    names = tuple(c for c, _ in found)
    target.collectors = _collector_lists.setdefault(names, list(names)) if len(_collector_lists) < 1024 \
        else list(names)
    order = {"down": 0, "unknown": 1, "up": 2}
    collector, item = min(found, key=lambda f: order.get(str(f[1].get("health")), 1))
    target.health = str(item.get("health") or "unknown")
    target.last_error = str(item.get("lastError") or "")
    target.last_scrape = str(item.get("lastScrape") or ZERO_TIME)
    try:
        duration = float(item.get("lastScrapeDuration") or 0.0)
    except (TypeError, ValueError, OverflowError):
        duration = 0.0
    target.last_scrape_duration = duration if math.isfinite(duration) else 0.0   # JSON output is strict
