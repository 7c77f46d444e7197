"""`check` output in `linkerd check`'s style: categories, √ ‼ ×, indented error and hint, a status line.

`short` prints only what is not √ (and the status line). A category where no check applies is one line at
the end (`-o json` keeps every check). Every text a check carries (names, errors, log lines from the
cluster or a snapshot) goes through `printable`: an escape sequence or a newline in it cannot drive the
terminal or forge a line."""
from __future__ import annotations

import dataclasses
from typing import Callable, List, Sequence

import click

from ..checks.framework import ERROR, OK, SKIPPED, WARNING, Result
from ..scrape.text import printable

OK_MARK = "\u221a"
WARN_MARK = "\u203c"
ERROR_MARK = "\u00d7"
SKIP_MARK = "-"


def _styler(color: bool) -> Callable[[str, str], str]:
    if not color:
        return lambda text, _fg: text
    return lambda text, fg: click.style(text, fg=fg)


def _safe(result: Result) -> Result:
    return dataclasses.replace(result, category=printable(result.category),
                               description=printable(result.description), error=printable(result.error),
                               hint=printable(result.hint), details=[printable(d) for d in result.details])


def _wholly_skipped(results: Sequence[Result]) -> dict:
    reasons: dict = {}
    for result in results:
        if result.status != SKIPPED or not result.error.startswith("skipped: "):
            reasons[result.category] = None
        elif result.category not in reasons:
            reasons[result.category] = result.error
        elif reasons[result.category] != result.error:
            reasons[result.category] = None
    return {k: v for k, v in reasons.items() if v}


def _not_applicable(results: Sequence[Result]) -> dict:
    """Categories none of whose checks applies (an extension not installed, say) -> the first one's reason.
    `linkerd check` hides extensions that are not installed; these are hidden too, and named at the end."""
    reasons: dict = {}
    for result in results:
        applies = result.status != SKIPPED or result.error.startswith("skipped: ")
        if applies:
            reasons[result.category] = None
        elif result.category not in reasons:
            reasons[result.category] = result.error
    return {k: v for k, v in reasons.items() if v}


def render(results: Sequence[Result], *, short: bool = False, color: bool = False) -> str:
    style = _styler(color)
    marks = {OK: (OK_MARK, "green"), WARNING: (WARN_MARK, "yellow"), ERROR: (ERROR_MARK, "red"),
             SKIPPED: (SKIP_MARK, "bright_black")}
    lines: List[str] = []
    category = None
    results = [_safe(r) for r in results]
    whole_skips = _wholly_skipped(results)
    hidden = _not_applicable(results)
    for result in results:
        if short and result.status in (OK, SKIPPED) or result.category in hidden:
            continue
        if result.category in whole_skips:
            if result.category != category:
                if category is not None:
                    lines.append("")
                category = result.category
                lines += [category, "-" * len(category),
                          style(f"{SKIP_MARK} all checks {whole_skips[category]}", "bright_black")]
            continue
        if result.category != category:
            if category is not None:
                lines.append("")
            category = result.category
            lines.append(category)
            lines.append("-" * len(category))
        mark, fg = marks[result.status]
        if result.status == SKIPPED:
            lines.append(style(f"{mark} {result.description} ({result.error})", fg))
            continue
        lines.append(f"{style(mark, fg)} {result.description}")
        if result.status in (WARNING, ERROR):
            if result.error:
                lines.append(f"    {result.error}")
            lines.extend(f"        {detail}" for detail in result.details)
            if result.hint:
                lines.append(f"    see {result.hint} for hints")
        elif result.details:
            lines.extend(f"        {detail}" for detail in result.details)
    if lines:
        lines.append("")
    if hidden and not short:
        lines += [style(f"{SKIP_MARK} {name} does not apply: {reason}", "bright_black")
                  for name, reason in hidden.items()] + [""]
    success = not any(r.status == ERROR for r in results)
    mark = style(OK_MARK, "green") if success else style(ERROR_MARK, "red")
    lines.append(f"Status check results are {mark}")
    return "\n".join(lines) + "\n"
