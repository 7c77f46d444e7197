"""`check -o json`: Linkerd's extension schema, which `linkerd check` parses.

{"success": bool, "categories": [{"categoryName", "checks": [{"description", "hint", "error", "result"}]}]}
Linkerd counts a check as failed only when `error` is non-empty and `result` is not "warning"; a check
skipped because an earlier one failed is reported as a warning whose error says so, and a check that does
not apply (no external exporter, say) as a success that says why in its description.
"""
from __future__ import annotations

import json
from typing import List, Sequence

from ..checks.framework import ERROR, OK, SKIPPED, WARNING, Result

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
