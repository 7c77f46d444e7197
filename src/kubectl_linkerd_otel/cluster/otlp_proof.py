"""Prove the exporter's credentials before install applies anything: one empty OTLP/HTTP export.

The request is an `ExportMetricsServiceRequest` with no `resource_metrics`. In protobuf an empty message
encodes to zero bytes, so the body is empty: written by hand rather than with a protobuf library (the
plugin stays pure Python); tests/cluster/test_otlp_proof.py decodes it with the official definitions
(opentelemetry-proto). It authenticates like every export and writes nothing, so it costs no custom
metric. POST <endpoint>/v1/metrics, as the collector's otlp_http exporter sends it, with the headers the
exporter is about to be configured with.

An OTLP/HTTP error answer is a google.rpc.Status (protobuf, or JSON for JSON requests); vendors also
answer in plain text or JSON of their own. The vendor's own words are shown, escaped and bounded (cluster/otlp_answer.py).
"""
from __future__ import annotations

import base64
from typing import List, Optional, Tuple

from ..collector.backends import backend_for_endpoint, key_region
from ..collector.config import component_type
from ..collector.endpoints import plain_text
from ..collector.facts import cluster_service, expand_env
from ..collector.locate import collector_container, mounted_file, template_spec
from ..errors import UsageError
from ..k8s.credentials import ENV_REF, redact_text
from ..k8s.urls import mask_url
from .otlp_answer import (EMPTY_EXPORT_METRICS_REQUEST, MAX_ANSWER, NOT_FOUND, NOT_GRPC, OK, REFUSED, TIMEOUT_SECONDS,
                          TLS, UNCLEAR, UNREACHABLE, Proof, first_line, vendor_words)
from .otlp_grpc import GRPC_PATH, prove_grpc

CONTENT_TYPE = "application/x-protobuf"
METRICS_PATH = "/v1/metrics"


def metrics_url(endpoint: str) -> str:
    """The URL the otlp_http exporter posts metrics to: the endpoint with /v1/metrics appended."""
    return endpoint.rstrip("/") + METRICS_PATH


def prove_http(endpoint: str, headers: List[Tuple[str, str]], *, ca_pem: Optional[str] = None,
               timeout: float = TIMEOUT_SECONDS) -> Proof:
    """Send the empty export with `headers` and say what the endpoint made of it."""
    # lazy: ssl and httpx cost ~100 ms at start-up; only the credentials proof sends the export
    import ssl

    import httpx

    url = metrics_url(endpoint)
    try:
        verify = ssl.create_default_context(cadata=ca_pem) if ca_pem else True
    except (ssl.SSLError, ValueError) as exc:
        return Proof(TLS, url, words=f"the CA certificate cannot be loaded: {first_line(str(exc))}",
                     hint="give a PEM CA certificate with --ca-file")
    sent = [("Content-Type", CONTENT_TYPE)] + list(headers)
    try:
        with httpx.Client(verify=verify, timeout=timeout, follow_redirects=False) as client:
            with client.stream("POST", url, content=EMPTY_EXPORT_METRICS_REQUEST, headers=sent) as response:
                body = _bounded(response.iter_bytes())
    except httpx.TimeoutException:
        return Proof(UNREACHABLE, url, words=f"no answer within {timeout:g}s")
    except httpx.ConnectError as exc:
        text = first_line(str(exc))
        tls = "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text or "TLS" in text
        return Proof(TLS if tls else UNREACHABLE, url, words=text)
    except httpx.HTTPError as exc:
        return Proof(UNREACHABLE, url, words=first_line(str(exc)))
    status = response.status_code
    words = vendor_words(body, response.headers.get("content-type", ""))
    if 200 <= status < 300:
        return Proof(OK, url, status, words)
    if status in (401, 403):
        return Proof(REFUSED, url, status, words)
    if status in (404, 405):
        return Proof(NOT_FOUND, url, status, words)
    return Proof(UNCLEAR, url, status, words)


def _bounded(chunks) -> bytes:
    out = bytearray()
    for chunk in chunks:
        out += chunk[:MAX_ANSWER - len(out)]
        if len(out) >= MAX_ANSWER:
            break
    return bytes(out)


SKIP_HINT = "--skip-credentials-check installs without this proof"


def prove_before_install(opts, *, fix: str, note, warn) -> None:
    """Before install applies `opts` (render.options.InstallOptions): send the empty export with the
    credentials given on the command line, over the protocol the exporter will use (OTLP/HTTP, or
    OTLP/gRPC: cluster/otlp_grpc.py). UsageError (nothing applied) when the endpoint refuses them, has no
    OTLP metrics service, does not speak the protocol, or cannot be reached; `fix` says what to check (the
    variable the key came from). What is not proven is said with `note`; an unclear answer is a `warn`ing,
    and install goes on."""
    if opts.uses_demo_backend or not opts.credentials_given:
        return
    grpc = opts.exporter_protocol == "grpc"
    if cluster_service(opts.endpoint, opts.exporter_protocol) is not None:
        how = ("gRPC does not pass the API server's service proxy" if grpc
               else "which this machine does not reach")
        note(f"the exporter credentials are not proven before install: {mask_url(opts.endpoint)[:120]} is a "
             f"Service inside the cluster, {how}")
        return
    headers = list(opts.plain_headers()) + [(name, cred.prefix + cred.value) for name, cred in opts.credentials()]
    if grpc:
        proof = prove_grpc(opts.endpoint, headers, ca_pem=opts.ca_pem,
                           plain=plain_text(opts.endpoint, "grpc", opts.insecure, has_ca=bool(opts.ca_pem)))
        export = "an empty OTLP/gRPC export"
        missing = f"no OTLP metrics service ({proof.answer} to {GRPC_PATH}"
    else:
        proof = prove_http(opts.endpoint, headers, ca_pem=opts.ca_pem)
        export = "an empty OTLP export"
        missing = f"no OTLP metrics endpoint ({proof.answer} to POST"
    where = mask_url(proof.url)[:160]
    said = f': "{proof.words}"' if proof.words else ""
    if proof.outcome == OK:
        note(f"exporter credentials accepted by {where} ({export} answered {proof.answer})")
    elif proof.outcome == REFUSED:
        raise UsageError(f"{where} refused the exporter credentials ({proof.answer}{said}); nothing was "
                         f"applied: check {fix}, and that the region or site matches the key's; {SKIP_HINT}")
    elif proof.outcome == NOT_FOUND:
        raise UsageError(f"{where} has {missing}{said}); nothing was applied: check --exporter-endpoint"
                         + ("" if grpc else f" (the exporter appends {METRICS_PATH})") + f"; {SKIP_HINT}")
    elif proof.outcome == NOT_GRPC:
        raise UsageError(f"{where} does not answer OTLP/gRPC ({proof.words}); nothing was applied: {proof.hint}; "
                         f"{SKIP_HINT}")
    elif proof.outcome == TLS:
        raise UsageError(f"TLS with {where} failed ({proof.words}); nothing was applied: "
                         f"{proof.hint or 'pass the CA that signed its certificate with --ca-file'}; {SKIP_HINT}")
    elif proof.outcome == UNREACHABLE:
        raise UsageError(f"cannot reach {where} ({proof.words}); nothing was applied: check "
                         f"--exporter-endpoint or --region/--site; {SKIP_HINT} (for an endpoint only the "
                         f"cluster reaches)")
    else:
        got = f"{proof.answer}{said}" if proof.status or proof.grpc_status is not None else proof.words
        warn(f"the exporter credentials are not proven ({export} to {where}: {got}); installing anyway")


UNPROVEN = "unproven"


OTLP_EXPORTERS = {"otlp_http": "http", "otlphttp": "http", "otlp_grpc": "grpc", "otlp": "grpc"}


def provable(exporter) -> bool:
    """An OTLP exporter (collector/facts.Exporter) `check --probe-exporter` can prove: OTLP/HTTP or
    OTLP/gRPC, with an endpoint outside the cluster."""
    return exporter.kind in OTLP_EXPORTERS and bool(exporter.endpoint) and \
        cluster_service(exporter.endpoint, exporter.protocol) is None


def prove_configured(kube, snap, name: str) -> dict:
    """`check --probe-exporter`: the same empty export for the configured OTLP exporter `name`, over its
    protocol (OTLP/HTTP, or OTLP/gRPC with its tls.insecure), trusting its tls.ca_pem or the tls.ca_file a
    ConfigMap the collector mounts holds, with its headers as the
    collector sends them (`${env:VAR}` resolved from the collector container's env and the Secrets it
    names). The answer holds the outcome only, never a credential: {outcome, url, status, answer, words,
    hint}."""
    config = snap.collector_facts().config or {}
    exporter = (config.get("exporters") or {}).get(name) or {}
    protocol = OTLP_EXPORTERS.get(component_type(name), "http")
    endpoint = str(exporter.get("metrics_endpoint") or exporter.get("endpoint") or "")
    if protocol == "http" and exporter.get("metrics_endpoint"):
        endpoint = endpoint[:-len(METRICS_PATH)] if endpoint.endswith(METRICS_PATH) else endpoint
    tls = exporter.get("tls") if isinstance(exporter.get("tls"), dict) else {}
    workload = snap.workload()
    ca_pem = str(tls["ca_pem"]) if tls.get("ca_pem") else None
    if tls.get("ca_file"):      # install --ca-file mounts it from the config's ConfigMap
        ca_pem = mounted_file(workload or {}, snap.configmaps, str(tls["ca_file"]))
        if ca_pem is None:
            return {"outcome": UNPROVEN, "words": f"the exporter trusts its own CA (tls.ca_file "
                                                  f"{str(tls['ca_file'])[:80]}), which no ConfigMap the collector "
                                                  f"mounts holds"}
    if ca_pem is not None and "${" in ca_pem:
        return {"outcome": UNPROVEN, "words": "the exporter trusts its own CA (tls.ca_pem from ${env:...}), which "
                                              "is not known here"}
    container = collector_container(template_spec(workload)) if workload else None
    env: dict = {}
    secrets: dict = {}
    for item in (container or {}).get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
        ref = ((item.get("valueFrom") or {}).get("secretKeyRef") or {})
        if ref.get("name") and ref.get("key"):
            if ref["name"] not in secrets:
                secrets[ref["name"]] = kube.get_or_none("secrets", ref["name"], snap.collector_namespace) or {}
            data = secrets[ref["name"]].get("data") or {}
            if ref["key"] in data:
                env[item["name"]] = base64.b64decode(data[ref["key"]]).decode("utf-8", errors="replace")
    headers = []
    for header, value in (exporter.get("headers") or {}).items():
        text = str(value)
        missing = [m.group(1) for m in ENV_REF.finditer(text) if m.group(1) not in env and m.group(2) is None]
        if missing:
            return {"outcome": UNPROVEN, "words": f"header {header} takes ${{env:{missing[0]}}}, which the "
                                                  f"collector's container does not set"}
        # `$$` is the collector's escaped `$`: kept out of the expansion
        headers.append((str(header), expand_env(text.replace("$$", "\0"), env).replace("\0", "$")))
    if protocol == "grpc":
        insecure = tls.get("insecure") is True or str(tls.get("insecure")).lower() == "true"
        result = prove_grpc(endpoint, headers, ca_pem=ca_pem,
                            plain=plain_text(endpoint, "grpc", insecure, has_ca=ca_pem is not None))
    else:
        result = prove_http(endpoint, headers, ca_pem=ca_pem)
    return {"outcome": result.outcome, "url": result.url, "status": result.status, "answer": result.answer,
            "protocol": protocol, "words": redact_text(result.words), "hint": result.hint,
            "key_region": _key_region(endpoint, headers)}


def _key_region(endpoint: str, headers: List[Tuple[str, str]]) -> Optional[str]:
    """The region the API key names, for a backend whose keys say it (collector/backends.key_region): a
    fact about the key, never the key, for the region-mismatch check."""
    backend = backend_for_endpoint(endpoint)
    if backend is None or backend.key_header is None:
        return None
    for name, value in headers:
        if name.lower() == backend.key_header.lower():
            return key_region(backend, value[len(backend.key_prefix):] if value.startswith(backend.key_prefix)
                              else value)
    return None
