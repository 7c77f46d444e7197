"""Classify the collector's log lines into what a user needs to know (pure).

The collector samples its logs (after 10 identical messages per 10 s it drops most repeats), so counts
are lower bounds: a class seen once may have happened hundreds of times.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List

from ..k8s.credentials import redact_text
from . import logline

STARTED = "started"
CONFIG_ERROR = "config-error"
START_FAILED = "start-failed"     # the config loaded, but a component could not start (a port in use, ...)
FORBIDDEN = "forbidden"
SCRAPE_FAILED = "scrape-failed"
EXPORT_RETRY = "export-retry"
EXPORT_DROPPED = "export-dropped"
OTHER_ERROR = "other-error"

CLASSES = (STARTED, CONFIG_ERROR, START_FAILED, FORBIDDEN, SCRAPE_FAILED, EXPORT_RETRY, EXPORT_DROPPED, OTHER_ERROR)
MAX_PROBLEMS = 20       # distinct problems kept per class (the count goes on)
PROBLEM_CHARS = 300

_CONFIG_ERROR = re.compile(
    r"(Error: (failed to get config|invalid configuration|cannot unmarshal|failed to resolve config)"
    r"|failed to get config|'[^']*' has invalid keys|references (exporter|receiver|processor|extension) \"?[^ ]+\"? which is not configured"
    r"|cannot unmarshal the configuration|collector server run finished with error)", re.I)
# The collector exits printing its error twice: cobra's `Error: <cause>`, then
# `<date> collector server run finished with error: <cause>` (otelcol/command.go; service.Start in
# open-telemetry/opentelemetry-collector service/service.go wraps start failures as below). Only the cause
# says whether the config was refused or a component could not start with a valid config.
_EXIT_CAUSE = re.compile(r"(?:^Error: |collector server run finished with error: )(.*)")
_START_CAUSE = re.compile(r"failed to start extensions|cannot start (?:pipelines|exporters|processors|receivers)"
                          r"|bind: address already in use|listen tcp", re.I)
_LEVEL = re.compile(r"\b(error|ERROR|fatal|FATAL|panic|PANIC)\b")
_JSON_LEVEL = re.compile(r'"level"\s*:\s*"(error|fatal|panic|dpanic)"', re.I)
_RPC_CAUSE = re.compile(r"(rpc error: code = \w+ desc = [^\"\t]*|code = \w+|"
                        r"(?:Permanent error: )?error exporting items, request to \S+ responded with HTTP Status Code \d+"
                        r"|HTTP Status Code \d+|dial tcp [^\"\t]*|connection refused|no such host|context deadline exceeded)")
_TARGET = re.compile(r'"(?:target_labels|instance)"\s*:\s*"?([^,"}]*)|instance="([^"]+)"|instance=([^\s,}]+)')


# Credentials in log lines: the one detector's free-text rules (k8s/credentials.py).
redact = redact_text


@dataclass
class Problem:
    """One distinct problem: what went wrong and where (the fields that matter), how often, when."""
    text: str
    count: int = 0
    first: str = ""     # times as logline.py writes them: they sort as they happened
    last: str = ""

    def seen(self, at: str, times: int = 1, last: str = "") -> None:
        self.count += times
        last = last or at
        if at and (not self.first or at < self.first):
            self.first = at
        if last and last > self.last:
            self.last = last

    def when(self) -> str:
        """'once, 2026-11-25 09:24:31 UTC' / '3 times, 2026-11-25 09:21:03 to 09:40:10 UTC'."""
        often = "once" if self.count == 1 else f"{self.count} times"
        if not self.first:
            return often
        if self.last == self.first:
            return f"{often}, {self.first}"
        last = self.last[11:] if self.last[:10] == self.first[:10] else self.last
        return f"{often}, {self.first[:-4]} to {last}"


@dataclass
class LogClass:
    name: str
    count: int = 0
    problems: Dict[str, Problem] = field(default_factory=dict)   # by text, in the order first seen
    details: List[str] = field(default_factory=list)   # causes (export) or targets (scrape)

    def add(self, line: str, detail: str = "") -> None:
        self.count += 1
        parsed = logline.parse(line)
        text = problem_text(self.name, parsed, detail)
        if text in self.problems or len(self.problems) < MAX_PROBLEMS:
            self.problems.setdefault(text, Problem(text)).seen(parsed.time)
        detail = redact(detail)
        if detail and detail not in self.details:
            self.details.append(detail)

    def merge(self, other: "LogClass") -> "LogClass":
        out = LogClass(self.name, self.count + other.count,
                       details=list(dict.fromkeys(self.details + other.details)))
        for problem in list(self.problems.values()) + list(other.problems.values()):
            if problem.text in out.problems or len(out.problems) < MAX_PROBLEMS:
                out.problems.setdefault(problem.text, Problem(problem.text)).seen(
                    problem.first, problem.count, problem.last)
        return out


@dataclass
class LogSummary:
    lines: int = 0
    classes: Dict[str, LogClass] = field(default_factory=lambda: {n: LogClass(n) for n in CLASSES})

    def __getitem__(self, name: str) -> LogClass:
        return self.classes[name]

    @property
    def started(self) -> bool:
        return self.classes[STARTED].count > 0

    def merge(self, other: "LogSummary") -> "LogSummary":
        out = LogSummary(lines=self.lines + other.lines)
        out.classes = {name: self.classes[name].merge(other.classes[name]) for name in CLASSES}
        return out


def classify_line(line: str) -> str:
    """The class of one line, or "" for ordinary lines."""
    if "Everything is ready" in line:
        return STARTED
    if "is forbidden" in line:
        return FORBIDDEN
    if "Failed to scrape Prometheus endpoint" in line:
        return SCRAPE_FAILED
    if "Exporting failed" in line:
        if "Dropping data" in line or "Rejecting data" in line or "No more retries" in line:
            return EXPORT_DROPPED
        return EXPORT_RETRY
    if _START_CAUSE.search(exit_cause(line)):
        return START_FAILED
    if _CONFIG_ERROR.search(line):
        return CONFIG_ERROR
    if _is_error_level(line):
        return OTHER_ERROR
    return ""


def exit_cause(line: str) -> str:
    """The error the collector exited with, from either of its two exit lines; "" for other lines."""
    match = _EXIT_CAUSE.search(line)
    return match.group(1).strip() if match else ""


def _is_error_level(line: str) -> bool:
    if _JSON_LEVEL.search(line):
        return True
    # console encoding: "2026-01-01T00:00:00.000Z\terror\t..." ; the level is the second field
    parts = line.split("\t")
    if len(parts) > 1 and parts[1].strip().lower() in ("error", "fatal", "panic", "dpanic"):
        return True
    return line.startswith("Error:") or bool(re.match(r"^\S+\s+(error|fatal|panic)\s", line, re.I))


def _json_field(line: str, name: str) -> str:
    match = re.search(r'"%s"\s*:\s*"((?:[^"\\]|\\.)*)"' % re.escape(name), line)
    if not match:
        return ""
    return match.group(1).replace('\\"', '"').replace("\\\\", "\\")


def _export_cause(line: str) -> str:
    error = _json_field(line, "error")
    if error:
        rpc = re.search(r"rpc error: code = \w+ desc = .*", error)
        return (rpc.group(0) if rpc else error)[:200]
    match = _RPC_CAUSE.search(line)
    return match.group(1).strip().rstrip('",') if match else ""


def _scrape_target(line: str) -> str:
    labels = _json_field(line, "target_labels") or line
    inst = re.search(r'instance="([^"]+)"', labels) or re.search(r'"instance"\s*:\s*"([^"]+)"', line)
    if inst:
        return inst.group(1)
    return _json_field(line, "scrape_pool")


def classify(text: str) -> LogSummary:
    summary = LogSummary()
    previous_exit = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        summary.lines += 1
        name = classify_line(line)
        if not name:
            continue
        cause = exit_cause(line)
        if cause and cause == previous_exit and not line.startswith("Error: "):
            previous_exit = ""
            continue   # cobra's `Error:` line said it already: one failure, not two
        previous_exit = cause if line.startswith("Error: ") else ""
        detail = ""
        if name == START_FAILED:
            detail = cause[:300]
        elif name in (EXPORT_RETRY, EXPORT_DROPPED):
            detail = _export_cause(line)
        elif name == SCRAPE_FAILED:
            detail = _scrape_target(line)
        summary.classes[name].add(line, detail)
    return summary


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PROBLEM_CHARS else text[:PROBLEM_CHARS - 1] + "\u2026"


def _scrape_where(fields: dict, target: str) -> str:
    """'10.244.0.26:4191 (emojivoto/voting-..., job linkerd-proxy)' from the target's labels."""
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', fields.get("target_labels", "")))
    instance = labels.get("instance") or target or fields.get("scrape_pool", "") or "a target"
    where = [f"{labels['namespace']}/{labels['pod']}"] if labels.get("namespace") and labels.get("pod") else []
    where += [f"job {labels['job']}"] if labels.get("job") else []
    return f"{instance} ({', '.join(where)})" if where else instance


def problem_text(name: str, line: "logline.LogLine", detail: str = "") -> str:
    """What a user needs of one classified line: the problem and the fields that matter (the target, the
    status, the exporter), never the line's raw fields or its time."""
    fields = line.fields
    error = fields.get("error", "")
    if name == SCRAPE_FAILED:
        return _cut(f"{_scrape_where(fields, detail)}: {error or line.message}")
    if name in (EXPORT_RETRY, EXPORT_DROPPED):
        return _cut(f"{fields.get('name') or 'exporter'}: {redact(detail) or error or line.message}")
    if name == START_FAILED and detail:
        return _cut(redact(detail))
    component = fields.get("name", "")
    text = ": ".join(part for part in (component, line.message, error) if part)
    return _cut(text or line.message)


_STATUS_403 = re.compile(r"\b403\b")


def refused_scrapes(text: str) -> Dict[str, Problem]:
    """Scrapes answered with HTTP 403, by target address: which target, how often, when."""
    found: Dict[str, Problem] = {}
    for line in text.splitlines():
        if classify_line(line) != SCRAPE_FAILED:
            continue
        parsed = logline.parse(line)
        if not _STATUS_403.search(parsed.fields.get("error") or parsed.message):
            continue
        target = _scrape_target(line) or "?"
        found.setdefault(target, Problem(_cut(_scrape_where(parsed.fields, target)))).seen(parsed.time)
    return found
