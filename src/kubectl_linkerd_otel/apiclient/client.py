"""`Kube`: a connection to one API server, and every request the plugin makes to it (the verbs, the
request loop: deadline, retries, the bounded read of each answer, failures mapped to one-line errors)."""
from __future__ import annotations

import json
import random
import ssl
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union
from urllib.parse import quote

from .. import __version__
from ..errors import (AnswerTooLarge, ApiRefused, ApiStatusError, ApiTimeout, ApiUnreachable, Conflict, Forbidden,
                      Gone, KubeError, NotFound, TlsError, Unauthorized)
from ..naming import FIELD_MANAGER
from ..k8s.bounded import Exceeded, bounded_chunks, read_chunks, read_file, too_big
from ..k8s.jsonitems import NotStreamable, stream_document, text_chunks
from ..k8s.limits import API_ANSWER, CERT_FILE, METRICS_ANSWER, Limit
from ..k8s.podshape import pod_problem
from ..k8s.urls import mask_url
from .allocator import tune
from .answers import Answer, Paging, ProxyResponse, check_list, check_object, check_version
from .kubeconfig import Connection, KubeOptions, resolve
from .resources import Resource, resource, resource_for
from .failures import conflict_details, failure_reason, is_status, is_tls_failure, tls_reason
from .transport import transport_for
from .wire import CONNECT, DROPPED, TIMEOUT, WireError

DEFAULT_TIMEOUT = 30.0
_READ_IT = object()     # Kube.apply: the caller did not read the object beforehand
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_ATTEMPTS = 6


class ApplyResult(NamedTuple):
    object: dict
    action: str   # created | configured | unchanged


class AccessReview(NamedTuple):
    allowed: bool
    reason: str


@dataclass
class _What:
    """What a request does, for error messages: `list pods in namespace x`."""

    verb: str
    resource: str
    namespace: Optional[str] = None
    name: Optional[str] = None
    cluster_scoped: bool = False

    def __str__(self) -> str:
        text = f"{self.verb} {self.resource}"
        if self.name:
            text += f" {self.name!r}"
        if self.namespace:
            text += f" in namespace {self.namespace}"
        elif self.verb in ("list", "watch", "delete collection") and not self.cluster_scoped:
            text += " in all namespaces"
        return text


class Kube:
    """A connection to one API server. Thread-safe: gather steps share it."""

    def __init__(self, connection: Connection, *, timeout: Optional[float] = None,
                 as_user: Optional[str] = None, as_groups: Optional[List[str]] = None):
        self.connection = connection
        self.timeout = timeout or DEFAULT_TIMEOUT
        # A deadline (time.monotonic()) for every request, retries included: `check --wait` bounds the
        # whole run with it. `deadline_reason` names it in the error ("--wait 5s").
        self.deadline: Optional[float] = None
        self.deadline_reason = ""
        headers = {"User-Agent": f"kubectl-linkerd-otel/{__version__}", "Accept": "application/json"}
        self._impersonation: List[tuple] = []
        if as_user:
            self._impersonation.append(("Impersonate-User", as_user))
        for group in as_groups or []:
            self._impersonation.append(("Impersonate-Group", group))
        self._transport = transport_for(connection.server, tls=self._tls_context(),
                                        sni=connection.tls_server_name, proxy=connection.proxy,
                                        timeout=self.timeout, headers=headers)

    @classmethod
    def connect(cls, opts: KubeOptions) -> "Kube":
        tune()     # before the reads' threads start
        return cls(resolve(opts), timeout=opts.request_timeout, as_user=opts.as_user,
                   as_groups=opts.as_groups)

    @property
    def server_url(self) -> str:
        return self.connection.server

    @property
    def shown_server(self) -> str:
        """The server URL as it may be printed or saved (user:password@ and query values masked)."""
        return mask_url(self.connection.server)

    @property
    def context(self) -> str:
        return self.connection.context

    def close(self) -> None:
        self._transport.close()

    def _tls_context(self):
        conn = self.connection
        if not conn.server.startswith("https"):
            return True
        if not conn.verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            _check_file(conn.ca_file, "the certificate authority")
            try:
                ctx = ssl.create_default_context(cafile=conn.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise TlsError(f"cannot load the certificate authority {conn.ca_file}: {exc}") from None
        if conn.cert_file:
            _check_file(conn.cert_file, "the client certificate")
            _check_file(conn.key_file, "the client key")
            try:
                ctx.load_cert_chain(conn.cert_file, conn.key_file)
            except (OSError, ssl.SSLError) as exc:
                raise TlsError(f"cannot load the client certificate {conn.cert_file}: {exc}") from None
        return ctx

    # --- the request loop -------------------------------------------------------------------

    def _request(self, method: str, path: str, what: _What, *, params: Optional[dict] = None,
                 body: Optional[bytes] = None, content_type: Optional[str] = None,
                 accept: Optional[str] = None, raise_for_status: bool = True,
                 timeout: Optional[float] = None, extra_headers: Optional[List[tuple]] = None,
                 proxied: bool = False, limit: Limit = API_ANSWER,
                 consume: Optional[Callable[[Iterator[bytes], str], Any]] = None) -> Answer:
        """`proxied`: the answer may be the pod's or service's own; only the API server's own 429/5xx
        (a Status) is retried, never a pod answering 503 while it is not ready. The whole request (connect,
        headers and body, retries included) ends by `timeout` (default --request-timeout); the body is
        refused past `limit`. `consume(chunks, charset)`: a 200 answer's body is handed to it as it streams,
        under the same bounds, and not kept: the Answer carries what it returned (a retry after a broken
        connection calls it again, from the start)."""
        budget = timeout or self.timeout
        deadline = time.monotonic() + budget
        server = mask_url(self.connection.server)   # printed: credentials in the URL masked
        late = (f"the API server at {server} did not answer within {budget:g}s ({what}); retry, or raise "
                "--request-timeout")
        slow = (f"the API server at {server} did not finish answering within {budget:g}s ({what}: the whole "
                "request, body included); retry, or raise --request-timeout")
        if self.deadline is not None and self.deadline < deadline:
            deadline = self.deadline
            late = (f"the API server at {server} did not answer ({what}) before the end of "
                    f"{self.deadline_reason or 'the deadline'}")
            slow = late
        attempt = 0
        retried: Optional[Answer] = None    # the last answer retried: what the server said, if time runs out

        def out_of_time(message: str):
            # a retry that runs out of time ends with the server's own last answer (503, 429...), not
            # with a timeout that would depend on where in the retry the deadline fell
            if retried is None:
                raise ApiTimeout(message) from None
            if raise_for_status:
                raise self._status_error(retried, what) from None
            return retried

        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out_of_time(late)
            headers = self._headers(content_type, accept) + list(extra_headers or [])
            try:
                reply = self._transport.send(method, path, params=params, headers=headers, body=body,
                                             timeout=remaining)
                consumed = None
                try:
                    if consume is not None and reply.status == 200:
                        chunks = bounded_chunks(reply.chunks(), limit, deadline)
                        try:
                            consumed = consume(chunks, reply.charset or "utf-8")
                        finally:
                            chunks.close()
                        content = b""
                    else:
                        content = read_chunks(reply.chunks(), limit, deadline)
                finally:
                    reply.close()
            except Exceeded as exc:
                if exc.why == "time":
                    return out_of_time(slow)
                raise AnswerTooLarge(too_big(f"the answer to {what}", limit, shared=exc.shared)) from None
            except WireError as exc:
                if exc.kind == TIMEOUT:
                    return out_of_time(late)
                if exc.kind == CONNECT:
                    if is_tls_failure(exc.cause):
                        raise TlsError(f"TLS handshake with {server} failed: "
                                       f"{tls_reason(exc.cause)}; check the cluster's certificate-authority "
                                       "in the kubeconfig") from None
                    raise ApiRefused(f"cannot reach the API server at {server}: "
                                     f"{failure_reason(exc.cause)}; is the cluster running and is the context "
                                     f"{self.connection.context!r} the right one?") from None
                if exc.kind == DROPPED:
                    if attempt < MAX_ATTEMPTS and self._backoff(attempt, deadline):
                        continue
                    raise ApiUnreachable(f"the API server at {server} dropped the "
                                         f"connection ({what}): {failure_reason(exc.cause)}; retry in a moment") from None
                raise ApiUnreachable(f"request to {server}{path} failed: {failure_reason(exc.cause)}") from None
            response = Answer(reply.status, reply.headers, content, reply.charset, consumed)
            if response.status_code in RETRY_STATUSES and attempt < MAX_ATTEMPTS and \
                    (not proxied or is_status(response)):
                if self._backoff(attempt, deadline, response.headers.get("Retry-After")):
                    retried = response
                    continue
            if raise_for_status and response.status_code >= 400:
                raise self._status_error(response, what)
            return response

    def _headers(self, content_type: Optional[str], accept: Optional[str]) -> List[tuple]:
        headers: List[tuple] = list(self._impersonation)
        # kubectl (client-go clientcmd) reads a kubeconfig's credentials only for a TLS transport:
        # a token or password never goes out over plain http.
        auth = self.connection.authorization() if self.connection.server.lower().startswith("https") else None
        if auth:
            headers.append(("Authorization", auth))
        if content_type:
            headers.append(("Content-Type", content_type))
        if accept:
            headers.append(("Accept", accept))
        return headers

    @staticmethod
    def _backoff(attempt: int, deadline: float, retry_after: Optional[str] = None) -> bool:
        """Sleep before the next attempt; False when that would pass the deadline."""
        delay = min(0.1 * 2 ** (attempt - 1), 5.0) * (0.5 + random.random() / 2)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        if time.monotonic() + delay >= deadline:
            return False
        time.sleep(delay)
        return True

    def _status_error(self, response, what: _What) -> KubeError:
        status = response.status_code
        reason, message, details = "", "", {}
        try:
            doc = response.json()
            if isinstance(doc, dict) and doc.get("kind") == "Status":
                reason = doc.get("reason", "")
                message = doc.get("message", "")
                details = doc.get("details") or {}
        except ValueError:
            message = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        server = mask_url(self.connection.server)
        if status == 401:
            return Unauthorized(f"the API server at {server} rejected our credentials (401 "
                                f"Unauthorized) to {what}; the token may have expired: log in again "
                                f"or check the user of context {self.connection.context!r}",
                                status=status, reason=reason, details=details)
        if status == 403:
            detail = f": {message}" if message else ""
            return Forbidden(f"forbidden to {what}{detail}; ask a cluster admin for that permission "
                             "or use --context/--as with an account that has it",
                             status=status, reason=reason, details=details)
        if status == 404:
            return NotFound(f"{what}: not found", status=status, reason=reason, details=details)
        if status == 409:
            return Conflict(f"{what}: {message or 'conflict'}", status=status, reason=reason,
                            hint="someone changed it at the same time: run the command again",
                            details=conflict_details(details))
        if status == 410:
            return Gone(f"{what}: the list expired while we paged through it; retry",
                        status=status, reason=reason, details=details)
        if status == 429:
            return ApiStatusError(f"the API server at {server} is throttling us (429) to {what}; "
                                  "retry in a moment", status=status, reason=reason)
        detail = f": {message}" if message else ""
        hint = ("the API server kept failing: retry in a moment, or check its health with "
                "`kubectl get --raw /readyz`") if status >= 500 else None
        return ApiStatusError(f"the API server answered {status} to {what}{detail}", hint=hint,
                              status=status, reason=reason, details=details)

    def _json(self, method: str, path: str, what: _What, **kwargs) -> Any:
        response = self._request(method, path, what, **kwargs)
        try:
            doc = response.json()
        except (ValueError, RecursionError):
            raise ApiStatusError(f"the API server at {self.shown_server} sent a non-JSON answer to "
                                 f"{what}; is it a Kubernetes API server?") from None
        return check_object(doc, what, self.shown_server)

    # --- verbs ----------------------------------------------------------------------------

    def version(self) -> dict:
        what = _What("get", "version")
        try:
            answer = self._json("GET", "/version", what)
        except NotFound:
            # every API server serves /version: a 404 there is another server, or a URL with a path
            raise NotFound(f"{what}: not found: the server at {self.shown_server} is not a Kubernetes "
                           f"API server, or that is not its base URL", status=404,
                           hint="check the cluster's server: in the kubeconfig (`kubectl config view --minify`) "
                                "or --server") from None
        return check_version(answer, what, self.shown_server)

    def list(self, resource_name: Union[str, Resource], namespace: Optional[str] = None, *,
             label_selector: Optional[str] = None, field_selector: Optional[str] = None,
             limit: int = 500) -> List[dict]:
        return list(self.iter(resource_name, namespace, label_selector=label_selector,
                              field_selector=field_selector, limit=limit))

    def iter(self, resource_name: Union[str, Resource], namespace: Optional[str] = None, *,
             label_selector: Optional[str] = None, field_selector: Optional[str] = None,
             limit: int = 500, transform: Optional[Callable[[dict], Any]] = None,
             _may_restart: bool = True) -> Iterator[Any]:
        """Every object of the list, page by page. `transform(item)`: what is yielded of each; it is applied
        as each item of a page is decoded (k8s/jsonitems.py), so that no page exists whole parsed."""
        res = resource_name if isinstance(resource_name, Resource) else resource(resource_name)
        what = _What("list", res.plural, namespace, cluster_scoped=not res.namespaced)
        path = res.path(namespace)
        token = None
        yielded = 0
        paging = Paging(what, self.shown_server, limit)
        while True:
            params: Dict[str, Any] = {"limit": limit}
            if label_selector:
                params["labelSelector"] = label_selector
            if field_selector:
                params["fieldSelector"] = field_selector
            if token:
                params["continue"] = token
            try:
                if transform is not None:
                    doc, items = self._page(path, what, params, res, transform)
                else:
                    doc = self._json("GET", path, what, params=params)
                    items = None
            except Gone:
                # The continue token expired: start over once, skipping what we already gave out.
                if not _may_restart or not token:
                    raise
                skip = yielded
                for item in self.iter(resource_name, namespace, label_selector=label_selector,
                                      field_selector=field_selector, limit=limit, transform=transform,
                                      _may_restart=False):
                    if skip:
                        skip -= 1
                        continue
                    yield item
                return
            if items is None:
                check_list(doc, what, self.shown_server, pods=res.plural == "pods" and not res.group)
                kind = (doc.get("kind") or f"{res.kind}List")
                kind = kind[:-4] if kind.endswith("List") else kind
                items = []
                for item in doc.get("items") or []:
                    item.setdefault("apiVersion", doc.get("apiVersion", res.api_version))
                    item.setdefault("kind", kind)
                    items.append(transform(item) if transform is not None else item)
                doc = {"metadata": doc.get("metadata")}
            count = len(items)
            for item in items:
                yielded += 1
                yield item
            del items
            token = (doc.get("metadata") or {}).get("continue")
            if not token:
                return
            paging.next(token, count)

    def _page(self, path: str, what: _What, params: dict, res: Resource,
              transform: Callable[[dict], Any]) -> Tuple[dict, Optional[list]]:
        """One page with `transform` applied to each item as it is decoded: (the page without its items,
        the transformed items). When the page cannot be read that way (not what an API server sends:
        the list's kind or apiVersion after its items, an item of the wrong shape), (the page parsed whole,
        None): the caller checks it as any page, with its usual error."""
        response = self._request("GET", path, what, params=params)
        pods = res.plural == "pods" and not res.group
        top: dict = {}
        out: list = []

        def each(item: Any) -> None:
            if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict) or \
                    (pods and pod_problem(item)):
                raise NotStreamable("an item of the wrong shape")     # its error comes from check_list
            for key in ("apiVersion", "kind"):
                if key in item:
                    continue
                if key not in top:     # it may come after the items (json.loads would use it)
                    raise NotStreamable(f"the list's {key} after its items")
                if key == "apiVersion":
                    item[key] = top["apiVersion"]
                else:
                    kind = top.get("kind") or f"{res.kind}List"
                    item[key] = kind[:-4] if kind.endswith("List") else kind
            out.append(transform(item))

        try:
            doc = stream_document(text_chunks(response.content), {("items",): each}, into=top)
        except (NotStreamable, UnicodeDecodeError):
            doc = None
        if doc is not None:
            try:
                check_list(check_object(doc, what, self.shown_server), what, self.shown_server)
            except KubeError:
                doc = None          # the page parsed whole gives the error
        if doc is None:
            try:
                whole = response.json()
            except (ValueError, RecursionError):
                raise ApiStatusError(f"the API server at {self.shown_server} sent a non-JSON answer to "
                                     f"{what}; is it a Kubernetes API server?") from None
            return check_object(whole, what, self.shown_server), None
        return doc, out

    def namespaced_resources(self, skip_groups: Tuple[str, ...] = ()) -> Tuple[List[Resource], List[str]]:
        """Every namespaced resource that can be listed, as `kubectl api-resources --namespaced
        --verbs=list` finds them (each group's preferred version first, one entry per resource), and
        the group versions whose discovery failed (an aggregated API that is down, say). Every version
        is read: some resources are served only in a version that is not the preferred one (Linkerd's
        AuthorizationPolicy). Groups in `skip_groups` are not asked at all."""
        group_versions = ["v1"]
        groups = self._json("GET", "/apis", _What("get", "API groups", cluster_scoped=True))
        for group in groups.get("groups") or []:
            if group.get("name") in skip_groups:
                continue
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            others = [v.get("groupVersion") for v in group.get("versions") or []]
            group_versions.extend(gv for gv in dict.fromkeys([preferred] + others) if gv)
        found: List[Resource] = []
        seen, failed = set(), []
        for gv in group_versions:
            path = "/api/v1" if gv == "v1" else f"/apis/{gv}"
            try:
                doc = self._json("GET", path, _What("get", f"API resources of {gv}", cluster_scoped=True))
            except KubeError:
                failed.append(gv)
                continue
            group = gv.split("/", 1)[0] if "/" in gv else ""
            for item in doc.get("resources") or []:
                plural = item.get("name") or ""
                if "/" in plural or not item.get("namespaced") or "list" not in (item.get("verbs") or []):
                    continue
                if (group, plural) not in seen:
                    seen.add((group, plural))
                    found.append(Resource(gv, plural, item.get("kind") or "", True))
        return found, failed

    def group_resources(self, group: str) -> Dict[str, List[dict]]:
        """Discovery of one API group: version -> the resources it serves, versions in the server's order
        (preferred first); {} when the group is not served at all."""
        groups = self._json("GET", "/apis", _What("get", "API groups", cluster_scoped=True))
        found: Dict[str, List[dict]] = {}
        for entry in groups.get("groups") or []:
            if entry.get("name") != group:
                continue
            for version in entry.get("versions") or []:
                gv = version.get("groupVersion") or ""
                try:
                    doc = self._json("GET", f"/apis/{gv}", _What("get", f"API resources of {gv}",
                                                                 cluster_scoped=True))
                except NotFound:
                    continue
                found[gv.split("/", 1)[-1]] = list(doc.get("resources") or [])
        return found

    def get(self, resource_name: Union[str, Resource], name: str, namespace: Optional[str] = None) -> dict:
        res = resource_name if isinstance(resource_name, Resource) else resource(resource_name)
        what = _What("get", res.plural, namespace, name)
        try:
            return self._json("GET", res.path(namespace, name), what)
        except NotFound:
            where = f" in namespace {namespace}" if namespace and res.namespaced else ""
            raise NotFound(f'{res.kind} "{name}" not found{where}') from None

    def get_or_none(self, resource_name: Union[str, Resource], name: str, namespace: Optional[str] = None
                    ) -> Optional[dict]:
        try:
            return self.get(resource_name, name, namespace)
        except NotFound:
            return None

    def apply(self, obj: dict, *, dry_run: bool = False, force: bool = False,
              field_manager: str = FIELD_MANAGER, before: Any = _READ_IT) -> ApplyResult:
        """Server-side apply, as field manager kubectl-linkerd-otel unless told otherwise. `before` is
        the object as the caller just read it (None: absent), to spare reading it again."""
        res = resource_for(obj)
        meta = obj.get("metadata") or {}
        name, namespace = meta.get("name"), meta.get("namespace") if res.namespaced else None
        if before is _READ_IT:
            before = self.get_or_none(res, name, namespace)
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            params["dryRun"] = "All"
        what = _What("apply", res.plural, namespace, name)
        after = self._json("PATCH", res.path(namespace, name), what, params=params,
                           body=json.dumps(obj).encode(),
                           content_type="application/apply-patch+yaml")
        if before is None:
            action = "created"
        elif dry_run:
            action = "unchanged" if _comparable(before) == _comparable(after) else "configured"
        else:
            same = (before.get("metadata", {}).get("resourceVersion")
                    == after.get("metadata", {}).get("resourceVersion"))
            action = "unchanged" if same else "configured"
        return ApplyResult(after, action)

    def delete(self, resource_name: Union[str, Resource], name: str, namespace: Optional[str] = None, *,
               dry_run: bool = False) -> bool:
        res = resource_name if isinstance(resource_name, Resource) else resource(resource_name)
        params = {"propagationPolicy": "Background"}
        if dry_run:
            params["dryRun"] = "All"
        try:
            self._request("DELETE", res.path(namespace, name),
                          _What("delete", res.plural, namespace, name), params=params)
        except NotFound:
            return False
        return True

    def pod_logs(self, namespace: str, pod: str, *, container: Optional[str] = None,
                 tail_lines: Optional[int] = None, since_seconds: Optional[int] = None,
                 previous: bool = False) -> str:
        params: Dict[str, Any] = {}
        if container:
            params["container"] = container
        if tail_lines is not None:
            params["tailLines"] = int(tail_lines)
        if since_seconds is not None:
            params["sinceSeconds"] = max(1, int(since_seconds))
        if previous:
            params["previous"] = "true"
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        response = self._request("GET", path, _What("get", "pods/log", namespace, pod),
                                 params=params, accept="text/plain")
        return response.text

    def proxy_get(self, namespace: str, pod: str, port: Any, path: str, *,
                  timeout: Optional[float] = None, limit: Limit = METRICS_ANSWER,
                  consume: Optional[Callable[[Iterator[bytes], str], Any]] = None) -> ProxyResponse:
        """GET through the pods/proxy subresource. The pod's answer is returned whatever its status;
        the API server's own refusals (401/403) raise. `limit`: what kind of answer it is (its size limit).
        `consume`: a 200 answer is read as it streams (see _request); its result is `.consumed`."""
        target, _, query = path.lstrip("/").partition("?")
        url = f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy/{quote(target)}"
        params = dict(p.split("=", 1) if "=" in p else (p, "") for p in query.split("&") if p)
        what = _What("get", "pods/proxy", namespace, f"{pod}:{port}")
        response = self._request("GET", url, what, params=params or None, raise_for_status=False,
                                 accept="*/*", timeout=timeout, proxied=True, limit=limit, consume=consume)
        if response.status_code in (401, 403) and is_status(response):
            raise self._status_error(response, what)
        return ProxyResponse(response.status_code, response)

    def service_proxy_get(self, namespace: str, service: str, port: Any, path: str, *,
                          params: Optional[dict] = None, headers: Optional[List[tuple]] = None,
                          timeout: Optional[float] = None, limit: Limit = METRICS_ANSWER) -> ProxyResponse:
        """GET through the services/proxy subresource (the API server consumes our Authorization header,
        so credentials for the service travel in other headers). The service's answer is returned
        whatever its status; the API server's own refusals (401/403) raise."""
        url = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{quote(path.lstrip('/'))}"
        what = _What("get", "services/proxy", namespace, f"{service}:{port}")
        response = self._request("GET", url, what, params=params, raise_for_status=False, accept="*/*",
                                 timeout=timeout, extra_headers=headers, proxied=True, limit=limit)
        if response.status_code in (401, 403) and is_status(response):
            raise self._status_error(response, what)
        return ProxyResponse(response.status_code, response)

    def access_review(self, *, user: str, groups: Optional[List[str]] = None, verb: str,
                      resource: str, group: str = "", namespace: Optional[str] = None,
                      subresource: str = "") -> AccessReview:
        attributes: Dict[str, Any] = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        spec: Dict[str, Any] = {"user": user, "resourceAttributes": attributes}
        if groups:
            spec["groups"] = list(groups)
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": spec}
        doc = self._json("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                         _What("create", "subjectaccessreviews"), body=json.dumps(review).encode(),
                         content_type="application/json")
        status = doc.get("status") or {}
        return AccessReview(bool(status.get("allowed")),
                            status.get("reason") or status.get("evaluationError") or "")




def _check_file(path: Optional[str], what: str) -> None:
    """A kubeconfig's certificate or key file: a regular file within its limit, else one line (OpenSSL would
    read /dev/zero forever)."""
    if not path:
        return
    read_file(path, CERT_FILE, label=f"{what} {path}", error=TlsError,
              fix="point the kubeconfig at the PEM file")


def _comparable(obj: dict) -> dict:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()
            if k not in ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid")}
    rest = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    return {"metadata": meta, **rest}
