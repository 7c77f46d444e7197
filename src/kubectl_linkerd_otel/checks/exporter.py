"""linkerd-otel-exporter: the backend is there, and points actually leave the collector."""
from __future__ import annotations

from typing import Dict, Optional

from ..collector import facts as facts_mod
from ..collector import logs as log_classes
from ..collector import telemetry
from ..collector.backends import DELTA, DELTA_PROCESSOR, backend_for_endpoint, key_region, region_mismatch
from ..collector.config import component_type, plaintext_credentials
from ..collector.locate import static_env
from ..k8s.credentials import ENV_REF
from ..scrape.config import parse_duration, scrape_jobs
from ..snapshot import ENDPOINTSLICES, READS_STEP, SERVICE, step
from .common import count, facts, gather_error, listing, transient
from .framework import Category, Check, fail, passed, skip, warn

# the OTLP exporters whose credentials --probe-exporter proves (cluster/otlp_proof.OTLP_EXPORTERS)
OTLP_EXPORTERS = ("otlp_http", "otlphttp", "otlp_grpc", "otlp")
SELF_METRICS_FIX = ("bind them to the pod: service.telemetry.metrics.readers: [{pull: {exporter: {prometheus: "
                    "{host: 0.0.0.0, port: 8888}}}}]")


def _exporters(snap):
    return [e for e in facts(snap).exporters if e.kind != "debug"]


def configured(snap, _opts):
    exporters = _exporters(snap)
    if not exporters:
        return fail("the collector config has no exporter besides debug: metrics go nowhere")
    names = ", ".join(f"{e.name} -> {e.endpoint or '?'}" for e in exporters)
    return passed(f"exporters configured: {names}")


def _service(snap, name, namespace):
    return next((s for s in snap.services if s["metadata"]["name"] == name
                 and s["metadata"].get("namespace") == namespace), None)


def _ready_endpoints(snap, name, namespace, port):
    count = 0
    for slice_ in snap.endpoint_slices:
        meta = slice_.get("metadata") or {}
        if meta.get("namespace") != namespace or \
                (meta.get("labels") or {}).get("kubernetes.io/service-name") != name:
            continue
        for endpoint in slice_.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready", True) is not False:
                count += len(endpoint.get("addresses") or [])
    return count


def in_cluster(snap, _opts):
    problems, good = [], []
    waiting = 0   # Services whose endpoints may still become ready: the only failure --wait waits for
    targets = [(e, facts_mod.cluster_service(e.endpoint, e.protocol)) for e in _exporters(snap)]
    targets = [(e, t) for e, t in targets if t]
    if not targets:
        return skip("no in-cluster exporter endpoint")
    for exporter, (name, namespace, port) in targets:
        namespace = namespace or snap.collector_namespace
        key = step(SERVICE, namespace, name)
        slices = step(ENDPOINTSLICES, namespace, name)
        unread = [k for k in (key, slices) if k in snap.errors]
        if unread:
            what = {key: "Service", slices: "EndpointSlices of Service"}
            problems.append("; ".join(f"{exporter.name}: could not read {what[k]} {namespace}/{name}: "
                                      f"{snap.errors[k]}" for k in unread))
            waiting += int(transient(snap, *unread))   # a timeout may pass; a 403 will not
            continue
        service = _service(snap, name, namespace)
        if service is None:
            problems.append(f"{exporter.name}: Service {namespace}/{name} does not exist")
            continue
        ports = [p.get("port") for p in (service.get("spec") or {}).get("ports") or []]
        if port not in ports:
            problems.append(f"{exporter.name}: Service {namespace}/{name} does not expose port {port} "
                            f"(ports: {', '.join(str(p) for p in ports) or 'none'})")
            continue
        ready = _ready_endpoints(snap, name, namespace, port)
        if not ready:
            problems.append(f"{exporter.name}: Service {namespace}/{name} has no ready endpoints")
            waiting += 1
            continue
        good.append(f"{namespace}/{name}:{port} ({count(ready, 'ready endpoint')})")
    if problems:
        return fail("; ".join(problems), retryable=waiting == len(problems))
    return passed(f"exporter Service {', '.join(good)}")


def external(snap, opts):
    outside = [e for e in _exporters(snap) if e.endpoint and not facts_mod.cluster_service(e.endpoint, e.protocol)]
    if not outside:
        return skip("no external exporter endpoint")
    if not snap.exporter_probes:
        return skip("not probed (pass --probe-exporter to connect from this workstation)")
    bad = [f"{endpoint}: {error}" for endpoint, error in snap.exporter_probes.items() if error]
    if bad:
        return fail("; ".join(bad))
    return None


def accepted(snap, _opts):
    """The backend accepts the configured credentials: the empty OTLP export `install` sends (OTLP/HTTP or
    OTLP/gRPC, as the exporter speaks), sent again from this workstation with the collector's headers
    (`--probe-exporter`), so a rotated key is caught before the collector's retries pile up."""
    outside = [e for e in _exporters(snap) if e.kind in OTLP_EXPORTERS and e.endpoint
               and not facts_mod.cluster_service(e.endpoint, e.protocol)]
    if not outside:
        return skip("no OTLP exporter outside the cluster")
    if not snap.exporter_proofs:
        return skip("not proven (pass --probe-exporter to send an empty OTLP export with the collector's "
                    "credentials from this workstation)")
    bad, unsure = [], []
    for name, proof in sorted(snap.exporter_proofs.items()):
        outcome = proof.get("outcome")
        words = f': "{proof["words"]}"' if proof.get("words") else ""
        where = proof.get("url") or name
        answer = proof.get("answer") or f"HTTP {proof.get('status')}"   # snapshots from before gRPC: HTTP
        hint = f"; {proof['hint']}" if proof.get("hint") else ""
        if outcome == "refused":
            bad.append(f"{name}: {where} refused the credentials ({answer}{words}); check the Secret the "
                       f"collector reads them from (a rotated or revoked key?)")
        elif outcome == "not-found":
            bad.append(f"{name}: {where} has no OTLP metrics " +
                       (f"service ({answer}{words})" if proof.get("protocol") == "grpc"
                        else f"endpoint ({answer}{words})"))
        elif outcome == "not-grpc":
            bad.append(f"{name}: {where} does not answer OTLP/gRPC ({proof.get('words')}){hint}")
        elif outcome in ("tls", "unreachable"):
            bad.append(f"{name}: {'TLS with' if outcome == 'tls' else 'cannot reach'} {where}"
                       f" ({proof.get('words')}){hint if outcome == 'tls' else ''}")
        elif outcome != "ok":
            unsure.append(f"{name}: not proven" + (f" ({answer}{words})" if proof.get("status") else
                                                  f" ({proof.get('words')})"))
    if bad:
        return fail("the backend does not accept the export", bad + unsure)
    if unsure:
        return warn("the exporter credentials could not be proven", unsure)
    return passed("the backend accepts the exporter credentials (an empty OTLP export from here: "
                  f"{', '.join(sorted(snap.exporter_proofs))})")


def backend_needs(snap, _opts):
    """An exporter to a backend `install --backend` knows (by its endpoint's host) lacks what that
    backend wants: delta temporality (the cumulativetodelta processor in every pipeline feeding it) or
    an extra header (Honeycomb's dataset, Coralogix's application and subsystem)."""
    def mapping(value) -> dict:
        return value if isinstance(value, dict) else {}

    config = mapping(facts(snap).config)
    exporters = mapping(config.get("exporters"))
    pipelines = [p for p in mapping(mapping(config.get("service")).get("pipelines")).values()
                 if isinstance(p, dict) and isinstance(p.get("exporters") or [], list)
                 and isinstance(p.get("processors") or [], list)]
    found, problems = [], []
    for exporter in _exporters(snap):
        backend = backend_for_endpoint(exporter.endpoint)
        if backend is None:
            continue
        found.append(f"{exporter.name} -> {backend.title}")
        feeding = [p for p in pipelines if exporter.name in (p.get("exporters") or [])]
        if backend.temporality == DELTA and any(
                not any(component_type(str(proc)) == DELTA_PROCESSOR for proc in p.get("processors") or [])
                for p in feeding):
            problems.append(f"{exporter.name} sends cumulative metrics to {backend.title}, which wants delta: add "
                            f"the {DELTA_PROCESSOR} processor to its pipeline (install --backend {backend.name} "
                            f"does; contrib or k8s distribution)")
        headers = mapping(mapping(exporters.get(exporter.name)).get("headers"))
        sent = {str(name).lower() for name in headers}
        for header, value in backend.headers:
            if header.lower() not in sent:
                problems.append(f"{exporter.name} sends {backend.title} no {header} header (install --backend "
                                f"{backend.name} sets {header}: {value})")
        # the region the key names: from check --probe-exporter (the key resolved from the Secret), or a
        # key written in clear
        keys = (snap.exporter_proofs.get(exporter.name) or {}).get("key_region")
        written = next((str(v) for k, v in headers.items() if backend.key_header
                        and str(k).lower() == backend.key_header.lower()), None)
        if keys is None and written is not None and not ENV_REF.search(written):
            keys = key_region(backend, written[len(backend.key_prefix):])
        if keys is not None:
            mismatch = region_mismatch(backend, exporter.endpoint, keys, key_is_region=True, reinstall=True)
            if mismatch:
                problems.append(f"{exporter.name}: {mismatch}")
    if not found:
        return skip("no exporter to a backend install has a preset for")
    if problems:
        return warn("an exporter lacks what its backend wants", problems)
    return passed(f"exporters send what their backends want ({', '.join(found)})")


def _reads(snap):
    pairs = {}
    for pod, texts in snap.self_metrics.items():
        parsed = [telemetry.safe_parse(t) for t in texts]
        parsed = [p for p in parsed if p is not None and p.has_exporter_metrics]
        if parsed:
            pairs[pod] = parsed
    return pairs


def self_metrics(snap, _opts):
    found = facts(snap)
    if found.self_metrics_unknown:
        return warn(f"cannot tell where the collector's self-metrics listen: {found.self_metrics_unknown}, so "
                    "they were not read. Falling back to what the logs show")
    if not facts_mod.binds_pod_ip(found.self_metrics):
        where = "not configured (default localhost:8888)" if found.self_metrics is None else \
            f"bound to {found.self_metrics[0]}:{found.self_metrics[1]}"
        return warn(f"the collector's self-metrics are {where}, out of reach of the API server's pod proxy; "
                    f"{SELF_METRICS_FIX}. Falling back to what the logs show")
    if snap.self_metrics_errors:
        return warn("could not read the collector's self-metrics",
                    listing([f"{k}: {v}" for k, v in snap.self_metrics_errors.items()]))
    unread = gather_error(snap, "pods", READS_STEP)
    if unread:
        return warn(f"could not read the collector's self-metrics: {unread}")
    if not snap.self_metrics:
        return skip("no running collector pod to read them from")
    bad = sorted({f"{pod}: {sample}" for pod, texts in snap.self_metrics.items()
                  for read in map(telemetry.safe_parse, texts) if read is not None for sample in read.bad})
    if bad:
        return warn("the self-metrics hold samples that are not finite numbers: left out of the exporter checks",
                    listing(bad))
    if not _reads(snap):
        return warn("the self-metrics hold no otelcol_exporter_* series (is the exporter in a pipeline?)")
    return None


# exporters that send nowhere: their points never reach a backend
LOCAL_EXPORTERS = ("debug", "logging", "nop", "file")


def _backend(exporter: str) -> bool:
    return component_type(exporter) not in LOCAL_EXPORTERS


def _backend_sent(read) -> Dict[str, float]:
    return {name: value for name, value in read.sent.items() if _backend(name)}


def _shortest_scrape_interval(snap) -> Optional[float]:
    """The shortest scrape interval of the config's jobs, in seconds (None when unknown)."""
    config = facts(snap).config
    if config is None:
        return None
    try:
        intervals = [parse_duration(job.interval) / 1000.0 for job in scrape_jobs(config, static_env(snap.workload()))]
    except ValueError:
        return None
    return min(intervals) if intervals else None


def sent(snap, _opts):
    reads = _reads(snap)
    if not reads:
        if not snap.logs:
            return skip("neither self-metrics nor logs were read")
        dropped = sum(log_classes.classify(t)[log_classes.EXPORT_DROPPED].count for t in snap.logs.values())
        if dropped:
            return fail(f"no self-metrics; the logs show {count(dropped, 'dropped export')}")
        return skip("no self-metrics to read; the logs show no dropped exports")
    total = sum(sum(_backend_sent(r[-1]).values()) for r in reads.values())
    local = sum(v for r in reads.values() for k, v in r[-1].sent.items() if not _backend(k))
    if total <= 0:
        names = sorted({k for r in reads.values() for k in _backend_sent(r[-1])}) or ["any backend exporter"]
        queued = sum(v for r in reads.values() for k, v in r[-1].queue_size.items() if _backend(k))
        return fail(f"otelcol_exporter_sent_metric_points is 0 for {', '.join(names)}: nothing has been exported "
                    "to a backend yet"
                    + (f" ({count(int(local), 'point')} went to the debug exporter, which sends nowhere)"
                       if local else "")
                    + (f"; {count(int(queued), 'point')} wait in the sending queue" if queued else ""))
    # between the two reads, the backend exporters' counters must grow
    interval = snap.metrics_interval
    scrape_every = _shortest_scrape_interval(snap)
    stalled, inconclusive = [], False
    for pod, pod_reads in sorted(reads.items()):
        if len(pod_reads) < 2:
            continue
        first, last = _backend_sent(pod_reads[0]), _backend_sent(pod_reads[-1])
        for exporter in sorted(last):
            if last[exporter] > first.get(exporter, 0.0):
                continue
            queued = pod_reads[-1].queue_size.get(exporter, 0.0)
            if queued > 0 or (scrape_every is not None and interval >= scrape_every):
                stalled.append(f"{pod}: {exporter} stayed at {last[exporter]:g} points sent over {interval:g}s"
                               + (f"; {count(int(queued), 'point')} wait in its queue" if queued else ""))
            else:
                inconclusive = True
    if stalled:
        return warn(f"{count(len(stalled), 'backend exporter')} sent nothing between the two reads: the backend "
                    "may be unreachable and the retry queue holding the data (see the export logs check)",
                    listing(stalled))
    description = f"{count(int(total), 'metric point')} sent"
    if inconclusive:
        description += (f" (none in the {interval:g}s between the two reads, shorter than the scrape interval: "
                        "raise --metrics-interval to tell whether points still leave)")
    return passed(description)


def failures(snap, _opts):
    reads = {pod: r for pod, r in _reads(snap).items() if len(r) >= 2}
    if not reads:
        return skip("needs two self-metrics reads")
    growing = []
    for pod, (first, second) in ((p, (r[0], r[-1])) for p, r in reads.items()):
        for exporter, delta in telemetry.failed_growth(first, second).items():
            growing.append(f"{pod}: exporter {exporter} failed {count(int(delta), 'more point')} "
                           f"in {snap.metrics_interval:g}s")
    if growing:
        return fail("otelcol_exporter_send_failed_metric_points is growing", listing(growing))
    return None


def _why_plain(exporter) -> str:
    return "an http:// endpoint" if exporter.protocol == "http" else "tls.insecure"


def encrypted(snap, _opts):
    """Export in clear to outside the cluster; said louder when the exporter sends credentials (a
    credential header, by name or value, in clear or from ${env:VAR}; an `auth` authenticator;
    user:password@). Inside the cluster plain text is left alone: a meshed collector and backend talk
    mTLS through their proxies whatever the exporter's own setting."""
    outside = [e for e in _exporters(snap) if e.plain_text and not facts_mod.cluster_service(e.endpoint, e.protocol)]
    if not outside:
        return None
    lines = [f"{e.name} -> {e.endpoint} ({_why_plain(e)}{'; it sends credentials' if e.credentials else ''})"
             for e in outside]
    if any(e.credentials for e in outside):
        return warn("plain-text export to an endpoint outside the cluster: the credentials it sends can be read "
                    "by anyone on the way; turn on TLS (no tls.insecure, an https:// endpoint)", lines)
    return warn("plain-text export to an endpoint outside the cluster", lines)


def credentials(snap, _opts):
    found = [path for path, _name in plaintext_credentials(facts(snap).config)]
    # a user:password in the endpoint URL is a credential too (never printed: the path says where)
    found += [f"exporters.{e.name}.endpoint (user:password in the URL)" for e in facts(snap).exporters
              if e.userinfo]
    if found:
        return warn("credentials are written into the config: keep them in a Secret and refer to them as "
                    "${env:VAR}", found)
    return None


CATEGORY = Category("linkerd-otel-exporter", [
    Check("configured", "an exporter is configured", configured, "otel-exporter-configured", fatal=True),
    Check("service", "in-cluster exporter Service has ready endpoints", in_cluster, "otel-exporter-service"),
    Check("external", "external exporter endpoint is reachable", external, "otel-exporter-external"),
    Check("self-metrics", "collector self-metrics can be read", self_metrics, "otel-self-metrics",
          retryable=True),
    Check("sent", "exporter has sent metric points", sent, "otel-exporter-sent", retryable=True),
    Check("send-failed", "exporter send failures are not growing", failures, "otel-exporter-failed"),
    Check("tls", "export to outside the cluster is encrypted", encrypted, "otel-exporter-tls"),
    Check("accepted", "the backend accepts the exporter credentials", accepted, "otel-exporter-accepted"),
    Check("backend-needs", "exporters send what their backends want", backend_needs, "otel-exporter-backend-needs"),
    Check("credentials", "no credentials written into the config", credentials, "otel-credentials"),
], requires=("linkerd-otel-collector",))
