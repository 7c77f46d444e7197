"""`check -o json`: Linkerd's extension schema, which `linkerd check` parses.

{"success": bool, "categories": [{"categoryName", "checks": [{"description", "hint", "error", "result"}]}]}
Linkerd counts a check as failed only when `error` is non-empty and `result` is not "warning"; a check
skipped because an earlier one failed is reported as a warning whose error says so, and a check that does
not apply (no external exporter, say) as a success that says why in its description.

When `check -o json` cannot run at all (exit 2: a bad flag value, an unreadable snapshot, an internal
error) stdout still gets a document: `error_document`, one failed check carrying the one-line error. Linkerd
(pkg/healthcheck RunExtensionsChecks) ignores the extension's exit code and parses stdout; with no JSON
there it falls back to stderr as the error of a check "Running: linkerd-otel check ...", so both work for
Linkerd, and a program reading our stdout gets a document either way.
"""
from __future__ import annotations

import json
from typing import List, Sequence

from ..checks.framework import ERROR, OK, SKIPPED, WARNING, Result, hint_url

COULD_NOT_RUN_CATEGORY = "linkerd-otel"
COULD_NOT_RUN_DESCRIPTION = "linkerd-otel check can run"
COULD_NOT_RUN_ANCHOR = "otel-check-could-not-run"

_RESULT = {OK: "success", WARNING: "warning", ERROR: "error", SKIPPED: "warning"}


def _error_text(result: Result) -> str:
    if result.status == OK:
        return ""
    return "\n".join([result.error] + [f"    {d}" for d in result.details]) if result.details else result.error


def document(results: Sequence[Result]) -> dict:
    categories: List[dict] = []
    for result in results:
        if not categories or categories[-1]["categoryName"] != result.category:
            categories.append({"categoryName": result.category, "checks": []})
        if result.status == SKIPPED and not result.error.startswith("skipped: "):
            entry = {"description": f"{result.description} ({result.error})", "hint": "", "error": "",
                     "result": "success"}
        else:
            entry = {"description": result.description, "hint": result.hint, "error": _error_text(result),
                     "result": _RESULT[result.status]}
        categories[-1]["checks"].append(entry)
    return {"success": not any(r.status == ERROR for r in results), "categories": categories}


def render(results: Sequence[Result]) -> str:
    return json.dumps(document(results), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def error_document(message: str) -> str:
    """The document of a `check -o json` that could not run: one failed check whose error is the message
    the command also printed on stderr (without its `Error: `)."""
    check = {"description": COULD_NOT_RUN_DESCRIPTION, "hint": hint_url(COULD_NOT_RUN_ANCHOR),
             "error": message, "result": "error"}
    doc = {"success": False, "categories": [{"categoryName": COULD_NOT_RUN_CATEGORY, "checks": [check]}]}
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
