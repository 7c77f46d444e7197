"""Checks as data: a Category is a name and a list of Checks; a Check is a pure function of the Snapshot.

A check function returns None (passed), or an Outcome: `warn(...)`, `fail(...)`, `skip(...)`, or
`passed(description=...)` to word a success differently. When a `fatal` check fails, the rest of its
category, and every category that `requires` it, is skipped and says why.

`--wait` retries only failures that can go away by themselves (a pod starting, a rollout, the first
export): a Check is `retryable` only then, and an Outcome may say `retryable=` for one failure of a check
that fails for both kinds of reasons. Anything else (a missing object, denied RBAC, a config problem)
returns at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

OK = "ok"
WARNING = "warning"
ERROR = "error"
SKIPPED = "skipped"

HINT_BASE = "https://github.com/linkerd-otel/kubectl-linkerd-otel#"
NOT_APPLICABLE = "\0n/a:"   # marks a blocking reason that is "does not apply", not "failed"


def hint_url(anchor: str) -> str:
    return HINT_BASE + anchor if anchor else ""


@dataclass
class Outcome:
    status: str
    error: str = ""
    details: List[str] = field(default_factory=list)
    description: str = ""
    retryable: Optional[bool] = None    # None: as the Check says


def passed(description: str = "", details: Sequence[str] = ()) -> Outcome:
    return Outcome(OK, "", list(details), description)


def warn(error: str, details: Sequence[str] = (), description: str = "") -> Outcome:
    return Outcome(WARNING, error, list(details), description)


def fail(error: str, details: Sequence[str] = (), description: str = "",
         retryable: Optional[bool] = None) -> Outcome:
    return Outcome(ERROR, error, list(details), description, retryable)


def skip(reason: str) -> Outcome:
    return Outcome(SKIPPED, reason)


@dataclass
class Result:
    category: str
    check_id: str
    status: str
    description: str
    error: str = ""
    hint: str = ""
    details: List[str] = field(default_factory=list)
    retryable: bool = False


@dataclass
class Check:
    id: str
    description: str
    run: Callable[[Any, "CheckOptions"], Optional[Outcome]]
    anchor: str = ""
    fatal: bool = False
    retryable: bool = False     # can this fail now and pass later with nobody changing anything?


@dataclass
class Category:
    name: str
    checks: List[Check]
    requires: Sequence[str] = ()


@dataclass
class CheckOptions:
    namespace_filter: Sequence[str] = ()


def run_categories(categories: Sequence[Category], snapshot: Any,
                   options: Optional[CheckOptions] = None) -> List[Result]:
    options = options or CheckOptions()
    results: List[Result] = []
    blocked: Dict[str, str] = {}   # category -> why its dependents are skipped
    for category in categories:
        reason = next((blocked[r] for r in category.requires if r in blocked), "")
        if reason:
            blocked[category.name] = reason
        for check in category.checks:
            if reason:
                error = reason[len(NOT_APPLICABLE):] if reason.startswith(NOT_APPLICABLE) else f"skipped: {reason}"
                results.append(Result(category.name, check.id, SKIPPED, check.description,
                                      error=error, hint="", retryable=check.retryable))
                continue
            try:
                outcome = check.run(snapshot, options) or passed()
            except Exception as exc:   # a bug in one check must not hide the others
                outcome = fail(f"internal error in this check: {type(exc).__name__}: {exc}")
            result = Result(category.name, check.id, outcome.status,
                            outcome.description or check.description, outcome.error,
                            hint_url(check.anchor) if outcome.status in (WARNING, ERROR) else "",
                            outcome.details,
                            check.retryable if outcome.retryable is None else outcome.retryable)
            results.append(result)
            if check.fatal and outcome.status == ERROR:
                reason = f"'{check.description}' did not pass"
                blocked[category.name] = reason
            elif check.fatal and outcome.status == SKIPPED:
                # not applicable (no collector pods, say): neither are its dependents, and they say so
                # without claiming that it failed
                reason = f"{NOT_APPLICABLE}'{check.description}' does not apply: {outcome.error}"
                blocked[category.name] = reason
    return results


def failed(results: Sequence[Result]) -> bool:
    return any(r.status == ERROR for r in results)


def retryable_failures(results: Sequence[Result]) -> bool:
    return any(r.status == ERROR and r.retryable for r in results)


# The checks whose failure means the command could not run at all (exit 2, not 1).
CANNOT_RUN = (("kubernetes-api", "client"), ("kubernetes-api", "api"))


def could_not_run(results: Sequence[Result]) -> bool:
    return any(r.status == ERROR and (r.category, r.check_id) in CANNOT_RUN for r in results)
