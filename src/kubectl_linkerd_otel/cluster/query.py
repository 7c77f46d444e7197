"""Ask the backend's Prometheus-compatible query API for the proxies' newest samples.

Either the URL the user gives (`--query-url`, with its credentials from the local environment), or, when the
exporter is the in-cluster OpenObserve of the default install, OpenObserve's per-organization API through the
API server's service proxy with the credentials of the collector's own Secret. The answers land in the
snapshot (`snap.backend`) for checks/backend.py; credentials never do, nor any error text that could hold
them. The whole exchange has its own deadline (`--query-timeout`), so a slow backend costs the report at
most that long and fails only its own check.
"""
from __future__ import annotations

import base64
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ..checks.backend import NOT_ASKED as HOW_TO_ENABLE
from ..checks.common import facts
from ..collector.facts import cluster_service
from ..collector.locate import template_spec
from ..scrape import arrival
from ..errors import ApiTimeout, KubeError, PluginError, UsageError
from ..k8s.bounded import Exceeded, read_chunks, read_file, too_big
from ..k8s.limits import CERT_FILE, METRICS_ANSWER
from ..k8s.ports import netloc_port, parse_port
from ..k8s.urls import mask_url
from ..snapshot.simulation import simulation

DEFAULT_TIMEOUT = 10.0
OPENOBSERVE_HTTP_PORT = 5080
# the Service of OpenObserve's standalone Helm chart (`<release>-openobserve-standalone`), which the default
# install exports to (render/options.py DEMO_ENDPOINT)
OPENOBSERVE_SERVICE_SUFFIX = "openobserve-standalone"
# OpenObserve serves PromQL per organization under /api/<org>/prometheus (openobserve/openobserve
# src/handler/http/router); its auth reads the `auth_tokens` cookie before the Authorization header
# (src/common/utils/auth.rs, AuthExtractor). The API server's authentication filter deletes our
# Authorization header before proxying (kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/filters/
# authentication.go), so through the service proxy the credentials travel in that cookie.
OPENOBSERVE_COOKIE = "auth_tokens"


@dataclass
class QuerySettings:
    url: Optional[str] = None
    basic_auth_env: Optional[str] = None
    headers: List[Tuple[str, str]] = field(default_factory=list, repr=False)
    ca_file: Optional[str] = None
    disabled: bool = False
    timeout: float = DEFAULT_TIMEOUT


def settings_from_flags(url: Optional[str], basic_auth_env: Optional[str], headers, ca_file: Optional[str],
                        no_query: bool, timeout: float) -> QuerySettings:
    """Validated settings; a UsageError (exit 2) for anything that cannot work, before any cluster I/O."""
    if no_query and url:
        raise UsageError("--no-query and --query-url contradict each other: pass one of them")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--query-url {url!r} is not an http(s) URL, e.g. "
                             "http://prometheus.example:9090 or https://o2.example/api/default/prometheus")
        if parts.username or parts.password:
            raise UsageError("--query-url must not hold credentials: use --query-basic-auth-from-env VAR "
                             "(VAR holding USER:PASSWORD) or --query-header")
        port = netloc_port(parts.netloc)
        if port and parse_port(port) is None:
            raise UsageError(f"--query-url {mask_url(url)[:120]!r}: the port must be a number from 1 to 65535")
    parsed: List[Tuple[str, str]] = []
    for item in headers or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or re.search(r"[\r\n\0]", value):
            raise UsageError(f"--query-header expects NAME=VALUE (got {name or item[:20]!r}...)")
        parsed.append((name, value))
    if basic_auth_env is not None:
        value = os.environ.get(basic_auth_env)
        if value is None:
            raise UsageError(f"--query-basic-auth-from-env {basic_auth_env}: the environment variable is not set "
                             f"(export {basic_auth_env}='USER:PASSWORD')")
        if ":" not in value:
            raise UsageError(f"--query-basic-auth-from-env {basic_auth_env}: the variable must hold USER:PASSWORD")
    if ca_file is not None:
        try:
            text = read_file(ca_file, CERT_FILE, text=True, fix="give the PEM file of the backend's CA certificate")
        except UsageError as exc:
            raise UsageError(f"--query-ca-file {ca_file}: {exc.message}") from None
        if "BEGIN CERTIFICATE" not in text:
            raise UsageError(f"--query-ca-file {ca_file}: no PEM certificate in it")
    if (basic_auth_env or parsed or ca_file) and not url:
        raise UsageError("--query-basic-auth-from-env, --query-header and --query-ca-file need --query-url")
    return QuerySettings(url=url.rstrip("/") if url else None, basic_auth_env=basic_auth_env, headers=parsed,
                         ca_file=ca_file, disabled=no_query, timeout=timeout)


def query_backend(kube: Any, snap: Any, settings: QuerySettings, now: Optional[float] = None) -> Dict[str, Any]:
    """What `snap.backend` holds: {"where", "source", "skipped", "error", "transient", "answers", "errors",
    "now"}. Never raises: every failure is data for the check."""
    now = time.time() if now is None else now
    out: Dict[str, Any] = {"where": "", "source": "", "skipped": "", "error": "", "transient": False,
                           "answers": {}, "errors": {}, "now": now}
    if settings.disabled:
        out["skipped"] = "not asked (--no-query)"
        return out
    try:
        if settings.url:
            out["source"], out["where"] = "flag", settings.url
            ask = _direct(settings)
        else:
            found = openobserve_target(snap)
            if found is None:
                out["skipped"] = HOW_TO_ENABLE
                return out
            out["source"] = "openobserve"
            out["where"] = f"OpenObserve {found.namespace}/{found.service}:{found.port} organization {found.org} " \
                           "(through the API server's service proxy)"
            ask = _through_service_proxy(kube, snap, found, settings)
    except _Unusable as exc:
        out["error"] = str(exc)
        return out
    except _NotApplicable as exc:
        out["skipped"] = str(exc)
        return out
    sim = simulation(snap)
    plan = arrival.plan(sim) if not isinstance(sim, str) else None
    if plan is None or not plan.workloads:
        return out      # the check says why there is nothing to ask for
    deadline = time.monotonic() + settings.timeout
    params = {"start": f"{now - arrival.WINDOW_SECONDS:.3f}", "end": f"{now:.3f}",
              "step": str(arrival.STEP_SECONDS)}
    queries = plan.queries()
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        futures = {name: pool.submit(ask, dict(params, query=q), deadline) for name, q in queries.items()}
        for name, future in futures.items():
            try:
                out["answers"][name] = future.result()
            except _Failed as exc:
                out["errors"][name] = str(exc)
                out["transient"] = out["transient"] or exc.transient
    if not out["answers"]:
        out["error"] = next(iter(out["errors"].values()), "no answer")
    return out


class _Unusable(Exception):
    """The query API cannot be asked at all (no HTTP port, unreadable credentials)."""


class _NotApplicable(Exception):
    """Nothing to ask: another check reports why."""


class _Failed(Exception):
    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


# -- --query-url ---------------------------------------------------------------------------------
def _direct(settings: QuerySettings):
    # lazy: httpx costs ~90 ms at start-up; only --query-url asks the backend directly
    import httpx

    headers = [("Accept", "application/json")] + list(settings.headers)
    if settings.basic_auth_env:
        token = base64.b64encode(os.environ.get(settings.basic_auth_env, "").encode()).decode()
        headers.append(("Authorization", f"Basic {token}"))
    verify: Any = True
    if settings.ca_file:
        # lazy: ssl costs ~10 ms at start-up; only a CA file for the query API needs it
        import ssl

        try:
            verify = ssl.create_default_context(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise _Unusable(f"cannot load --query-ca-file {settings.ca_file}: {exc}") from None
    url = f"{settings.url}/api/v1/query_range"

    def ask(params: dict, deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Failed(f"no answer within {settings.timeout:g}s (--query-timeout)", transient=True)
        try:
            with httpx.Client(verify=verify, timeout=remaining, follow_redirects=False) as client:
                with client.stream("GET", url, params=params, headers=headers) as response:
                    content = read_chunks(response.iter_bytes(), METRICS_ANSWER, deadline)
        except Exceeded as exc:
            if exc.why == "time":
                raise _Failed(f"{settings.url} did not finish answering within {settings.timeout:g}s; raise "
                              "--query-timeout if the backend is just slow", transient=True) from None
            raise _Failed(too_big(f"the answer of {settings.url}", METRICS_ANSWER, shared=exc.shared)) from None
        except httpx.TimeoutException:
            raise _Failed(f"{settings.url} did not answer within {settings.timeout:g}s; raise --query-timeout "
                          "if the backend is just slow", transient=True) from None
        except httpx.ConnectError as exc:
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
                raise _Failed(f"TLS with {settings.url} failed ({_first_line(text)}); pass the backend's CA "
                              "with --query-ca-file") from None
            raise _Failed(f"cannot connect to {settings.url}: {_first_line(text)}", transient=True) from None
        except httpx.HTTPError as exc:
            raise _Failed(f"request to {settings.url} failed: {_first_line(str(exc))}", transient=True) from None
        if 300 <= response.status_code < 400:
            raise _Failed(f"HTTP {response.status_code}: the query API redirects to "
                          f"{_redacted_location(response.headers.get('location', ''))} (a login page?); pass "
                          "the URL of the API itself")
        try:
            text = content.decode(response.charset_encoding or "utf-8", errors="replace")
        except LookupError:     # a charset Python does not know
            text = content.decode("utf-8", errors="replace")
        return _parsed(response.status_code, text, response.headers.get("content-type", ""))
    return ask


def _parsed(status: int, text: str, content_type: str) -> Any:
    try:
        return arrival.parse_answer(status, text, content_type)
    except arrival.AnswerError as exc:
        raise _Failed(str(exc), transient=status >= 500 or status == 429) from None


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


def _redacted_location(location: str) -> str:
    return re.sub(r"(?<=//)[^/@]*@", "", location.split("?", 1)[0])[:200] or "another page"


# -- the in-cluster OpenObserve --------------------------------------------------------------------
@dataclass
class OpenObserve:
    namespace: str
    service: str
    port: int
    org: str
    exporter: str
    authorization: str = field(default="", repr=False)   # the exporter's header value, as written


def openobserve_target(snap: Any) -> Optional[OpenObserve]:
    """The in-cluster OpenObserve the collector exports to (the default install's), with its HTTP port from
    the Service; None when the exporter is not one. Raises _Unusable when it is but cannot be asked."""
    found = facts(snap)
    raw_exporters = (found.config or {}).get("exporters") if isinstance(found.config, dict) else None
    for exporter in found.exporters:
        target = cluster_service(exporter.endpoint) if exporter.endpoint else None
        if not target or not target[0].endswith(OPENOBSERVE_SERVICE_SUFFIX):
            continue
        service, namespace, _otlp_port = target
        namespace = namespace or snap.collector_namespace
        body = (raw_exporters or {}).get(exporter.name) if isinstance(raw_exporters, dict) else None
        headers = (body or {}).get("headers") if isinstance(body, dict) else None
        headers = {str(k).lower(): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}
        svc = next((s for s in snap.services if s["metadata"]["name"] == service
                    and s["metadata"].get("namespace") == namespace), None)
        if svc is None:   # the exporter category fails for it already
            raise _NotApplicable(f"the exporter's OpenObserve Service {namespace}/{service} was not found (see "
                                 "'in-cluster exporter Service has ready endpoints')")
        port = _http_port(svc)
        if port is None:
            raise _Unusable(f"Service {namespace}/{service} exposes no HTTP port for OpenObserve's API "
                            f"({OPENOBSERVE_HTTP_PORT}); pass --query-url")
        return OpenObserve(namespace, service, port, headers.get("organization") or "default", exporter.name,
                           headers.get("authorization", ""))
    return None


def _http_port(service: dict) -> Optional[int]:
    ports = (service.get("spec") or {}).get("ports") or []
    for entry in ports:
        if entry.get("port") == OPENOBSERVE_HTTP_PORT or str(entry.get("name") or "").lower() == "http":
            return entry.get("port")
    return None


_ENV_REF = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}")


def _authorization(kube: Any, snap: Any, found: OpenObserve) -> str:
    """The exporter's Authorization value with `${env:VAR}` resolved from the collector container's env:
    a literal, or the Secret key it refers to (read here, kept in memory only)."""
    value = found.authorization
    if not value:
        raise _Unusable(f"exporter {found.exporter} sends no Authorization header to OpenObserve, so there are "
                        "no credentials to ask its query API with; pass --query-url and "
                        "--query-basic-auth-from-env")
    env: Dict[str, dict] = {}
    for container in template_spec(snap.workload() or {}).get("containers") or []:
        for item in container.get("env") or []:
            if isinstance(item, dict) and item.get("name"):
                env.setdefault(item["name"], item)
    ns = snap.collector_namespace

    def resolve(match) -> str:
        name = match.group(1)
        item = env.get(name)
        if item is None:
            raise _Unusable(f"the exporter's Authorization refers to ${{env:{name}}}, which the collector "
                            "container does not define; pass --query-url and --query-basic-auth-from-env")
        if "value" in item:
            return str(item.get("value") or "")
        ref = ((item.get("valueFrom") or {}).get("secretKeyRef") or {})
        if not ref.get("name") or not ref.get("key"):
            raise _Unusable(f"${{env:{name}}} of the collector is not a literal nor a Secret key; pass "
                            "--query-url and --query-basic-auth-from-env")
        try:
            secret = kube.get("secrets", ref["name"], ns)
        except KubeError as exc:
            raise _Unusable(f"cannot read the credentials in Secret {ns}/{ref['name']} ({_status_of(exc)}); "
                            "grant `get` on it, or pass --query-url and --query-basic-auth-from-env") from None
        data = (secret.get("data") or {}).get(ref["key"])
        if data is None:
            raise _Unusable(f"Secret {ns}/{ref['name']} has no key {ref['key']}; re-run `kubectl linkerd-otel "
                            "install`, or pass --query-url")
        try:
            return base64.b64decode(data).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise _Unusable(f"Secret {ns}/{ref['name']} key {ref['key']} is not valid base64 text") from None
    return _ENV_REF.sub(resolve, value.replace("$$", "\0")).replace("\0", "$")


def _status_of(exc: PluginError) -> str:
    status = getattr(exc, "status", 0)
    return f"HTTP {status}" if status else type(exc).__name__


def _through_service_proxy(kube: Any, snap: Any, found: OpenObserve, settings: QuerySettings):
    authorization = _authorization(kube, snap, found)
    cookie = json.dumps({"access_token": authorization, "refresh_token": ""}, separators=(",", ":"))
    headers = [("Cookie", f"{OPENOBSERVE_COOKIE}={cookie}")]
    path = f"api/{found.org}/prometheus/api/v1/query_range"

    def ask(params: dict, deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Failed(f"no answer within {settings.timeout:g}s (--query-timeout)", transient=True)
        try:
            response = kube.service_proxy_get(found.namespace, found.service, found.port, path, params=params,
                                              headers=headers, timeout=remaining)
        except KubeError as exc:
            if isinstance(exc, ApiTimeout):
                raise _Failed(f"OpenObserve did not answer within {settings.timeout:g}s through the service "
                              "proxy; raise --query-timeout if it is just slow", transient=True) from None
            raise _Failed(f"the service proxy to {found.namespace}/{found.service}:{found.port} failed: "
                          f"{exc.message}", transient=getattr(exc, "status", 0) >= 500) from None
        if response.status == 503 and '"kind":"Status"' in response.text.replace(" ", ""):
            raise _Failed(f"the API server cannot reach {found.namespace}/{found.service}:{found.port} (HTTP 503): "
                          "is OpenObserve running? `kubectl -n "
                          f"{found.namespace} get pods`", transient=True)
        if response.status in (401, 403):
            raise _Failed(f"HTTP {response.status}: OpenObserve refused the credentials of the collector's "
                          "Secret; check them, or pass --query-url and --query-basic-auth-from-env")
        return _parsed(response.status, response.text, "")
    return ask
