"""The backends `install --backend NAME` knows, as data (pure): one home for these facts, read by `install`
(render/backends.py fills the options from them) and by `check` (checks/exporter.py: what a configured
exporter to one of them lacks). docs/backends.md lists them with the vendor page each comes from.

Every preset uses the collector's own OTLP exporters (core), never a vendor exporter (datadog and
coralogix have one in contrib): one exporter for all backends, the same credentials proof before
install, and the core image whenever the backend takes cumulative metrics.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from ..errors import UsageError
from .endpoints import split_endpoint

CUMULATIVE, DELTA = "cumulative", "delta"
TEMPORALITIES = (CUMULATIVE, DELTA)
DELTA_PROCESSOR = "cumulativetodelta"


@dataclass(frozen=True)
class Backend:
    name: str
    title: str
    protocol: str = "http"                 # the protocol the preset configures (grpc | http)
    endpoint: Optional[str] = None         # "{region}" filled from `regions` (or the --region value)
    regions: Dict[str, str] = field(default_factory=dict)   # --region/--site value -> what fills {region}
    default_region: Optional[str] = None   # None with a {region} endpoint: --region is required
    region_pattern: Optional[str] = None   # a free-form --region (tenant/environment ids): its shape
    region_help: str = ""                  # what --region/--site is for this backend
    key_header: Optional[str] = None       # the header --api-key-from-env fills ...
    key_prefix: str = ""                   # ... as prefix + key
    basic_auth: bool = False               # the key is USER:TOKEN for --basic-auth-from-env instead
    headers: Tuple[Tuple[str, str], ...] = ()   # extra headers it needs (defaults; --header overrides)
    temporality: str = CUMULATIVE          # what its metrics intake wants
    needs_credentials: bool = True
    # Where the vendor's keys name their region: group 1 of this pattern on the key is the region of the
    # account it belongs to; a key without it belongs to `key_default_region`. `data_centers` maps a
    # --region value to the region its keys name (default: the value itself).
    key_region_pattern: Optional[str] = None
    key_default_region: Optional[str] = None
    key_shape: str = r".+"                 # what a key looks like (nothing is told of one that does not)
    data_centers: Dict[str, str] = field(default_factory=dict)
    lenient_regions: Tuple[str, ...] = ()  # regions a key without a region prefix is not judged against
    key_region_names: Dict[str, str] = field(default_factory=dict)   # a key's region as users say it
    key_region_words: str = ""             # the vendor's rule, for messages
    # Arrival (check's backend category): the vendor's Prometheus-compatible query API for the region of
    # the exporter's endpoint ("{region}" filled as in `endpoint`) and how it authenticates, or why check
    # cannot ask this backend
    query_url: Optional[str] = None
    query_auth: str = ""
    no_query: str = ""

    def endpoint_for(self, region: Optional[str]) -> Optional[str]:
        if self.endpoint is None:
            if region is not None:
                raise UsageError(f"--backend {self.name} takes no --region/--site: give --exporter-endpoint")
            return None
        if "{region}" not in self.endpoint:
            if region is not None:
                raise UsageError(f"--backend {self.name} takes no --region/--site: its endpoint is "
                                 f"{self.endpoint}")
            return self.endpoint
        chosen = region if region is not None else self.default_region
        if chosen is None:
            raise UsageError(f"--backend {self.name} needs --region: {self.region_help}")
        if self.regions:
            if chosen not in self.regions:
                raise UsageError(f"--backend {self.name}: unknown --region/--site {chosen[:60]!r}; use one "
                                 f"of {', '.join(self.regions)}")
            return self.endpoint.format(region=self.regions[chosen])
        if not re.fullmatch(self.region_pattern or r"[a-z0-9-]+", chosen):
            raise UsageError(f"--backend {self.name}: invalid --region {chosen[:60]!r}: {self.region_help}")
        return self.endpoint.format(region=chosen)


BACKENDS: Dict[str, Backend] = {b.name: b for b in (
    # today's default: the reference setup's in-cluster OpenObserve with its demo login
    Backend("openobserve", "OpenObserve", protocol="grpc", needs_credentials=False),
    # today's generic flags: everything from --exporter-endpoint, --header, --basic-auth-from-env
    Backend("otlp", "any OTLP endpoint", protocol="grpc", needs_credentials=False),
    Backend("datadog", "Datadog", endpoint="https://otlp.{region}",
            regions={site: site for site in ("datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com",
                                             "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com")},
            default_region="datadoghq.com", region_help="your Datadog site, e.g. datadoghq.eu",
            key_header="dd-api-key", temporality=DELTA,
            no_query="Datadog offers no Prometheus-compatible query API"),
    Backend("newrelic", "New Relic", endpoint="https://{region}:4318",
            regions={"us": "otlp.nr-data.net", "eu": "otlp.eu01.nr-data.net",
                     "fedramp": "gov-otlp.nr-data.net"},
            default_region="us", region_help="us, eu or fedramp, as your account's data center",
            key_header="api-key", temporality=DELTA,
            # New Relic's own agents read the region from the license key's prefix: eu, jp, gov (FedRAMP)
            # (infrastructure-agent pkg/license/license.go); keys without one are US keys
            # (newrelic-diagnostics-cli tasks/base/config/regionDetect.go)
            key_region_pattern=r"([a-wyz]{2,3})(?:[0-9]{2})?x{1,2}", key_default_region="us",
            key_shape=r"[A-Za-z0-9]{40}",    # "a 40-character" key (New Relic API keys page)
            data_centers={"fedramp": "gov"}, lenient_regions=("fedramp",),
            key_region_names={"gov": "FedRAMP", "eu": "EU", "jp": "JP", "us": "US"},
            no_query="New Relic offers no Prometheus-compatible query API (it queries with NRQL)",
            key_region_words="New Relic license keys name their region in a prefix: eu01xx for EU, none for US"),
    Backend("coralogix", "Coralogix", endpoint="https://ingress.{region}:443",
            regions={r: f"{r}.coralogix.com" for r in ("eu1", "eu2", "us1", "us2", "us3", "ap1", "ap2", "ap3")},
            region_help="your Coralogix region (eu1, eu2, us1, us2, us3, ap1, ap2, ap3), as your team's "
                        "domain says",
            key_header="Authorization", key_prefix="Bearer ",
            headers=(("CX-Application-Name", "linkerd"), ("CX-Subsystem-Name", "linkerd-proxy")),
            # Coralogix Metrics API: PromQL-compatible, https://api.<domain>/metrics, Bearer <API key>
            query_url="https://api.{region}/metrics",
            query_auth="--query-header 'Authorization=Bearer <API key with the DataQuerying role>'"),
    Backend("grafana-cloud", "Grafana Cloud", endpoint="https://otlp-gateway-prod-{region}.grafana.net/otlp",
            region_pattern=r"[a-z]+-[a-z]+-[0-9]+",
            region_help="your stack's region as in its OTLP endpoint, e.g. us-east-0 or eu-west-2",
            basic_auth=True,
            no_query="pass --query-url with your stack's Prometheus query endpoint (its Details page in the "
                     "Grafana Cloud portal) and --query-basic-auth-from-env VAR (its instance id:a token "
                     "allowed to read metrics)"),
    Backend("honeycomb", "Honeycomb", endpoint="https://{region}:443",
            regions={"us": "api.honeycomb.io", "eu": "api.eu1.honeycomb.io"}, default_region="us",
            region_help="us or eu", key_header="x-honeycomb-team",
            headers=(("x-honeycomb-dataset", "linkerd"),),
            no_query="Honeycomb offers no Prometheus-compatible query API"),
    Backend("dynatrace", "Dynatrace", endpoint="https://{region}.live.dynatrace.com/api/v2/otlp",
            region_pattern=r"[a-z0-9]{3,32}",
            region_help="your environment id (the abc12345 of abc12345.live.dynatrace.com); for an "
                        "ActiveGate give --exporter-endpoint",
            key_header="Authorization", key_prefix="Api-Token ", temporality=DELTA,
            no_query="Dynatrace offers no Prometheus-compatible query API"),
    Backend("elastic", "Elastic Cloud (managed OTLP endpoint)",
            key_header="Authorization", key_prefix="ApiKey "),
    Backend("signoz", "SigNoz Cloud", endpoint="https://ingest.{region}.signoz.cloud:443",
            regions={"us": "us", "eu": "eu", "in": "in"}, region_help="us, eu or in",
            key_header="signoz-ingestion-key"),
)}
NAMES = tuple(BACKENDS)


def _hosts(backend: Backend) -> Tuple[Optional[str], ...]:
    if backend.endpoint is None:
        return ()
    if backend.regions:
        return tuple(split_endpoint(backend.endpoint.format(region=r))[1] for r in backend.regions.values())
    return (None,)


def backend_for_endpoint(endpoint: str) -> Optional[Backend]:
    """The backend a configured exporter endpoint belongs to (its host is one of the preset's), or None."""
    host = (split_endpoint(str(endpoint or "").strip())[1] or "").lower().rstrip(".")
    if not host:
        return None
    for backend in BACKENDS.values():
        for known in _hosts(backend):
            if known is not None and host == known:
                return backend
            if known is None and backend.endpoint and backend.region_pattern:
                template = split_endpoint(backend.endpoint.replace("{region}", "REGION"))[1]
                pattern = re.escape(template).replace("REGION", backend.region_pattern)
                if re.fullmatch(pattern, host):
                    return backend
    return None


def key_region(backend: Backend, key: str) -> Optional[str]:
    """The region of the account a key belongs to, where the vendor's keys say it (None: they do not)."""
    if backend.key_region_pattern is None or not re.fullmatch(backend.key_shape, key.strip()):
        return None
    match = re.match(backend.key_region_pattern, key.strip())
    return match.group(1).lower() if match else backend.key_default_region


def endpoint_region(backend: Backend, endpoint: str) -> Optional[str]:
    """The --region value whose endpoint host `endpoint` has (None: not one of the preset's)."""
    host = (split_endpoint(str(endpoint or "").strip())[1] or "").lower().rstrip(".")
    if backend.endpoint is None or "{region}" not in backend.endpoint:
        return None
    for value, filled in backend.regions.items():
        if split_endpoint(backend.endpoint.format(region=filled))[1] == host:
            return value
    return None


def region_mismatch(backend: Backend, endpoint: str, key: str, key_is_region: bool = False,
                    reinstall: bool = False) -> Optional[str]:
    """What is wrong when `key` (or, with `key_is_region`, the region key_region found in it) names
    another region than the preset endpoint `endpoint` is for, by the vendor's documented key format;
    None when they agree or it cannot be told. Never shows the key."""
    keys = key if key_is_region else key_region(backend, key)
    region = endpoint_region(backend, endpoint)
    if keys is None or region is None or backend.data_centers.get(region, region) == keys:
        return None
    if keys == backend.key_default_region and region in backend.lenient_regions:
        return None
    matching = [v for v in backend.regions if backend.data_centers.get(v, v) == keys]
    named = backend.key_region_names.get(keys, keys.upper())
    fix = (f"--region {matching[0]}" if matching else f"--exporter-endpoint with the {named} region's endpoint")
    if reinstall:   # said by check: the fix is an install
        fix = f"install --backend {backend.name} {fix}"
    return (f"the {backend.title} key is a key of the {named} region ({backend.key_region_words}), but "
            f"{split_host(endpoint)} is the endpoint of --region {region}: use {fix}, or a key of an account "
            f"in that region")


def split_host(endpoint: str) -> str:
    return split_endpoint(str(endpoint))[1]


def arrival_hint(endpoint: str) -> Optional[str]:
    """For check's arrival category when no query API was given: the query URL of the backend `endpoint`
    exports to (same region) and its credentials, or why that backend cannot be asked; None for an
    endpoint of no preset (or one whose vendor documents nothing)."""
    backend = backend_for_endpoint(endpoint)
    if backend is None:
        return None
    if backend.query_url:
        region = endpoint_region(backend, endpoint)
        if region is None:
            return None
        url = backend.query_url.format(region=backend.regions[region])
        return (f"not asked: {backend.title}'s query API for this exporter's region: pass --query-url {url} "
                f"with {backend.query_auth}")
    if backend.no_query:
        if backend.no_query.startswith("pass "):
            return f"not asked: {backend.no_query}"
        return f"not asked: {backend.no_query}, so check cannot see the metrics arrive"
    return None
