#!/usr/bin/env python3
"""The raw pod listing: every page of `GET /api/v1/pods?limit=500` (with its continue token), as kubectl
asks for it, streamed through httpx without being parsed.

Default: the bytes go to /dev/null. This is the yardstick above --kubectl-max-pods in bench/check.py: the
time any client needs to receive the list from that server, whatever it does with it next (kubectl
decodes and prints it too: its time is above this one). Its memory is one network buffer, whatever the
number of pods.

With --out FILE: the file `kubectl get pods -A -o json` would write (a List of the pods, each with its
apiVersion and kind, sorted keys, four-space indent), written page by page: a page is parsed, never the
whole list. bench/check.py uses it for the `--pods FILE` runs when kubectl is not run.

Prints one JSON line at the end: pages, bytes received, seconds.

    python bench/rawlist.py URL [--token TOKEN] [--out FILE] [--limit 500]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Optional

import httpx

_METADATA = re.compile(rb'"metadata"\s*:\s*(\{[^{}]*\})')
HEAD = 64 * 1024


def continue_token(head: bytes) -> str:
    """The list's continue token, from the start of a page (its metadata precedes its items)."""
    found = _METADATA.search(head)
    if not found:
        raise SystemExit("rawlist: no list metadata at the start of a page")
    return json.loads(found.group(1)).get("continue") or ""


def stream(client: httpx.Client, limit: int, sink) -> dict:
    pages = received = 0
    token = ""
    while True:
        params = {"limit": str(limit)}
        if token:
            params["continue"] = token
        with client.stream("GET", "/api/v1/pods", params=params) as answer:
            if answer.status_code != 200:
                raise SystemExit(f"rawlist: HTTP {answer.status_code} on /api/v1/pods")
            head = b""
            for piece in answer.iter_raw():
                received += len(piece)
                if len(head) < HEAD:
                    head += piece[:HEAD - len(head)]
                sink.write(piece)
        pages += 1
        token = continue_token(head)
        if not token:
            return {"pages": pages, "bytes": received}


def write_kubectl_file(client: httpx.Client, limit: int, out) -> dict:
    """As `kubectl get pods -A -o json > out`, a page in memory at a time."""
    pages = received = items = 0
    token = ""
    out.write('{\n    "apiVersion": "v1",\n    "items": [')
    while True:
        params = {"limit": str(limit)}
        if token:
            params["continue"] = token
        answer = client.get("/api/v1/pods", params=params)
        if answer.status_code != 200:
            raise SystemExit(f"rawlist: HTTP {answer.status_code} on /api/v1/pods")
        received += len(answer.content)
        page = answer.json()
        pages += 1
        for pod in page.get("items") or []:
            pod = dict(pod, apiVersion="v1", kind="Pod")
            text = json.dumps(pod, indent=4, sort_keys=True, ensure_ascii=False)
            out.write(("," if items else "") + "\n        " + text.replace("\n", "\n        "))
            items += 1
        token = (page.get("metadata") or {}).get("continue") or ""
        del page, answer
        if not token:
            break
    out.write(('\n    ' if items else '') + '],\n    "kind": "List",\n    "metadata": {\n'
              '        "resourceVersion": ""\n    }\n}\n')
    return {"pages": pages, "bytes": received, "items": items}


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--token", default="", help="bearer token (sent over https only, as kubectl does)")
    parser.add_argument("--out", default="", metavar="FILE", help="write kubectl's -o json file instead")
    parser.add_argument("--limit", type=int, default=500, help="objects a page (kubectl's --chunk-size)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    args = parser.parse_args(argv)
    headers = {"Accept": "application/json"}
    if args.token and args.url.startswith("https:"):
        headers["Authorization"] = f"Bearer {args.token}"
    started = time.monotonic()
    with httpx.Client(base_url=args.url, headers=headers, timeout=args.timeout, verify=False) as client:
        if args.out:
            with open(args.out, "w", encoding="utf-8") as out:
                result = write_kubectl_file(client, args.limit, out)
        else:
            with open("/dev/null", "wb") as sink:
                result = stream(client, args.limit, sink)
    result["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
