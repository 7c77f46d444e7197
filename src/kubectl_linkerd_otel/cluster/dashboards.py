"""`dashboard --apply`: upload the rendered dashboards through the product's HTTP API, all or nothing.

Grafana (its dashboard HTTP API, https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/):
each dashboard's current version is read first (`GET /api/dashboards/uid/<uid>`), then each is saved with
`POST /api/dashboards/db` (overwrite, in the folder it was in). When Grafana refuses one, the ones this run
saved are put back as they were (re-saved from what was read, or deleted when they did not exist).

OpenObserve (`/api/<org>/dashboards`, openobserve/openobserve src/handler/http/request/dashboards):
the folder's dashboards are listed first; every new dashboard is created; when one is refused, the ones
this run created are deleted; when all are in, the older dashboards of the same titles are deleted (an
OpenObserve dashboard has no stable id to overwrite).

The token comes from an environment variable (Grafana: a service account token, sent as Bearer;
OpenObserve: USER:PASSWORD, sent as basic auth) and is never printed.
"""
from __future__ import annotations

import base64
import os
import re
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote, urlsplit

from ..errors import PluginError, UsageError

TIMEOUT = 30.0
MESSAGE = "saved by kubectl linkerd-otel dashboard --apply"
O2_FOLDER = "default"


class Refused(PluginError):
    """The product refused the upload (nothing of this run is left behind, or the message says what is)."""


def check_settings(target: str, url: Optional[str], auth_env: Optional[str]) -> Tuple[str, str]:
    """(base URL, Authorization header value) for --apply; a UsageError for anything that cannot work."""
    if not url:
        raise UsageError("--apply needs --url: Grafana's base URL (https://grafana.example) or OpenObserve's "
                         "organization API (https://o2.example/api/ORG)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url[:120]!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise UsageError("--url must not hold credentials: use --auth-from-env VAR")
    if target == "openobserve" and not re.search(r"/api/[^/]+/?$", parts.path):
        raise UsageError("--url for OpenObserve is its organization's API: https://HOST:5080/api/ORG "
                         "(e.g. /api/default)")
    if not auth_env:
        raise UsageError("--apply needs --auth-from-env VAR: " + _auth_words(target))
    value = os.environ.get(auth_env)
    if not value:
        raise UsageError(f"--auth-from-env {auth_env}: the environment variable is not set or empty ("
                         f"{_auth_words(target)})")
    if target == "openobserve":
        if ":" not in value:
            raise UsageError(f"--auth-from-env {auth_env}: the variable must hold USER:PASSWORD for OpenObserve")
        header = "Basic " + base64.b64encode(value.encode()).decode()
    else:
        if re.search(r"[\r\n\0]", value):
            raise UsageError(f"--auth-from-env {auth_env}: the token holds a line break or NUL")
        header = f"Bearer {value.strip()}"
    return url.rstrip("/"), header


def _auth_words(target: str) -> str:
    return ("VAR holds a Grafana service account token with the dashboards writer permission"
            if target == "grafana" else "VAR holds USER:PASSWORD of an OpenObserve user allowed to edit dashboards")


class _Api:
    def __init__(self, base: str, authorization: str, product: str, timeout: float = TIMEOUT):
        # lazy: httpx costs ~90 ms at start-up; only a dashboard upload needs it
        import httpx

        self.httpx = httpx
        self.base, self.product = base, product
        self.client = httpx.Client(timeout=timeout, follow_redirects=False,
                                   headers={"Authorization": authorization, "Accept": "application/json"})

    def call(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        url = self.base + path
        try:
            response = self.client.request(method, url, json=body)
        except self.httpx.TimeoutException:
            raise Refused(f"{self.product} at {self.base} did not answer {method} {path.split('?')[0]} in "
                          "time") from None
        except self.httpx.HTTPError as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:160]
            raise Refused(f"cannot reach {self.product} at {self.base}: {first}") from None
        try:
            doc = response.json()
        except ValueError:
            doc = None
        return response.status_code, doc

    def close(self) -> None:
        self.client.close()


def _why(status: int, doc: Any, product: str) -> str:
    message = ""
    if isinstance(doc, dict):
        message = str(doc.get("message") or doc.get("error") or "")[:200]
        if doc.get("status") and isinstance(doc.get("status"), str):
            message = f"{message} ({doc['status']})" if message else doc["status"]
    if status == 401:
        return f"HTTP 401: {product} refused the credentials{': ' + message if message else ''}"
    if status == 403:
        return f"HTTP 403: the credentials may not write dashboards{': ' + message if message else ''}"
    if 300 <= status < 400:
        return f"HTTP {status}: a redirect (a login page?); --url must be the API's base URL"
    return f"HTTP {status}{': ' + message if message else ''}"


# -- Grafana ------------------------------------------------------------------------------------------
def upload_grafana(base: str, authorization: str, docs: List[Tuple[str, dict]]) -> List[str]:
    api = _Api(base, authorization, "Grafana")
    try:
        before: Dict[str, Optional[Tuple[dict, str]]] = {}
        for _, doc in docs:
            uid = doc["uid"]
            status, answer = api.call("GET", f"/api/dashboards/uid/{quote(uid)}")
            if status == 404:
                before[uid] = None
            elif status == 200 and isinstance(answer, dict) and isinstance(answer.get("dashboard"), dict):
                meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
                before[uid] = (answer["dashboard"], str(meta.get("folderUid") or ""))
            else:
                raise Refused(f"Grafana refused reading dashboard {uid}: {_why(status, answer, 'Grafana')}; "
                              "nothing was written")
        saved: List[str] = []
        lines: List[str] = []
        for _, doc in docs:
            uid = doc["uid"]
            status, answer = api.call("POST", "/api/dashboards/db", _grafana_body(doc, before[uid]))
            if status != 200:
                undone = _grafana_undo(api, saved, before)
                raise Refused(f"Grafana refused dashboard {uid}: {_why(status, answer, 'Grafana')}; {undone}")
            saved.append(uid)
            where = answer.get("url") if isinstance(answer, dict) else ""
            lines.append(f"dashboard {uid} {'configured' if before[uid] else 'created'} ({base}{where or ''})")
        return lines
    finally:
        api.close()


def _grafana_body(doc: dict, before: Optional[Tuple[dict, str]]) -> dict:
    body: dict = {"dashboard": dict(doc, id=None), "overwrite": True, "message": MESSAGE}
    if before and before[1]:
        body["folderUid"] = before[1]     # without it Grafana moves an existing dashboard to the root
    return body


def _grafana_undo(api: _Api, saved: List[str], before: Dict[str, Optional[Tuple[dict, str]]]) -> str:
    if not saved:
        return "nothing was written"
    left = []
    for uid in reversed(saved):
        if before[uid] is None:
            status, _ = api.call("DELETE", f"/api/dashboards/uid/{quote(uid)}")
        else:
            dashboard, folder = before[uid]
            body: dict = {"dashboard": dict(dashboard, id=None), "overwrite": True,
                          "message": "restored by kubectl linkerd-otel dashboard --apply"}
            if folder:
                body["folderUid"] = folder
            status, _ = api.call("POST", "/api/dashboards/db", body)
        if status != 200:
            left.append(uid)
    if left:
        return (f"putting back the ones already saved failed for {', '.join(left)} (HTTP answers other than 200): "
                "check them in Grafana")
    return f"the {len(saved)} saved before it were put back as they were"


# -- OpenObserve ---------------------------------------------------------------------------------------
def _o2_entry(item: Any) -> Optional[Tuple[str, str]]:
    """(title, dashboardId) of a dashboard as OpenObserve answers it (bare, or under its `vN` key)."""
    if not isinstance(item, dict):
        return None
    candidates = [item] + [v for k, v in item.items() if re.fullmatch(r"v\d+", str(k)) and isinstance(v, dict)]
    for c in candidates:
        if c.get("title") and (c.get("dashboardId") or c.get("dashboard_id")):
            return str(c["title"]), str(c.get("dashboardId") or c.get("dashboard_id"))
    return None


def upload_openobserve(base: str, authorization: str, docs: List[Tuple[str, dict]]) -> List[str]:
    api = _Api(base, authorization, "OpenObserve")
    folder = f"?folder={O2_FOLDER}"
    try:
        status, answer = api.call("GET", f"/dashboards{folder}")
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("dashboards"), list):
            raise Refused(f"OpenObserve refused listing the dashboards: {_why(status, answer, 'OpenObserve')}; "
                          "nothing was written")
        titles = {doc["title"] for _, doc in docs}
        older = [e for e in (_o2_entry(i) for i in answer["dashboards"]) if e and e[0] in titles]
        created: List[str] = []
        lines: List[str] = []
        for _, doc in docs:
            status, answer = api.call("POST", f"/dashboards{folder}", doc)
            entry = _o2_entry(answer)
            if status not in (200, 201) or entry is None:
                undone = _o2_undo(api, created, folder)
                raise Refused(f"OpenObserve refused dashboard {doc['title']!r}: "
                              f"{_why(status, answer, 'OpenObserve')}; {undone}")
            created.append(entry[1])
            lines.append(f"dashboard {doc['title']!r} created (id {entry[1]})")
        left = []
        for title, dashboard_id in older:
            status, _ = api.call("DELETE", f"/dashboards/{quote(dashboard_id)}{folder}")
            if status != 200:
                left.append(f"{title!r} (id {dashboard_id})")
            else:
                lines.append(f"dashboard {title!r} id {dashboard_id} deleted (replaced)")
        if left:
            lines.append(f"the older dashboards {', '.join(left)} could not be deleted: delete them in OpenObserve")
        return lines
    finally:
        api.close()


def _o2_undo(api: _Api, created: List[str], folder: str) -> str:
    if not created:
        return "nothing was written"
    left = [d for d in created if api.call("DELETE", f"/dashboards/{quote(d)}{folder}")[0] != 200]
    if left:
        return f"deleting the ones already created failed for ids {', '.join(left)}: delete them in OpenObserve"
    return f"the {len(created)} created before it were deleted"


def upload(target: str, base: str, authorization: str, docs: List[Tuple[str, dict]]) -> List[str]:
    """The lines to print for a successful upload; Refused (one line) otherwise."""
    if target == "grafana":
        return upload_grafana(base, authorization, docs)
    return upload_openobserve(base, authorization, docs)
