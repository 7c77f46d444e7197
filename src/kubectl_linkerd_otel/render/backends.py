"""`install --backend NAME`: the preset's options (collector/backends.py holds the facts), with the explicit
flags laid over them (pure). Every explicit flag (--exporter-endpoint, --exporter-protocol, --header,
--temporality, --image/--distribution) wins over the preset.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..collector.backends import (BACKENDS, CUMULATIVE, DELTA, DELTA_PROCESSOR, NAMES, TEMPORALITIES,  # noqa: F401
                                  Backend)
from ..collector.backends import region_mismatch
from ..errors import UsageError


@dataclass
class Preset:
    """What a backend preset and the flags given together resolve to."""
    backend: Backend
    endpoint: Optional[str]
    protocol: str
    headers: list            # [(name, value)] plain, preset ones first
    secret_headers: list     # [(name, value)] kept in the Secret (the API key)
    temporality: str
    warnings: list = None    # what the preset found wrong but lets install go on with (a key of another region)


def resolve(name: str, *, region: Optional[str], api_key: Optional[str], api_key_env: Optional[str],
            endpoint: Optional[str], protocol: Optional[str], headers: list, secret_headers: list,
            basic_auth: Optional[str], temporality: Optional[str]) -> Preset:
    """The options of `--backend name` with the explicit flags laid over it."""
    backend = BACKENDS.get(name)
    if backend is None:
        raise UsageError(f"unknown --backend {name[:60]!r}: use one of {', '.join(NAMES)}")
    if endpoint is not None and region is not None:
        raise UsageError("--exporter-endpoint and --region/--site both choose the endpoint: pick one")
    chosen_endpoint = endpoint if endpoint is not None else backend.endpoint_for(region)
    if endpoint is None and chosen_endpoint is not None and protocol not in (None, backend.protocol):
        raise UsageError(f"--exporter-protocol {protocol} with --backend {backend.name}: its endpoint "
                         f"{chosen_endpoint} takes {backend.protocol}; give the {protocol} endpoint with "
                         f"--exporter-endpoint too")
    if chosen_endpoint is None and backend.name not in ("openobserve",):
        raise UsageError(f"--backend {backend.name} needs --exporter-endpoint: "
                         + ("the OTLP endpoint of your project or deployment (https://...)"
                            if backend.name == "elastic" else "host:port for grpc, a URL for http"))
    if api_key_env is not None:
        if backend.basic_auth:
            raise UsageError(f"--backend {backend.name} authenticates with basic auth: give "
                             f"--basic-auth-from-env VAR holding INSTANCE_ID:TOKEN instead of --api-key-from-env")
        if backend.key_header is None:
            raise UsageError(f"--backend {backend.name} has no API key header: give --header or "
                             f"--basic-auth-from-env for its credentials")
        if not api_key:
            raise UsageError(f"--api-key-from-env: the environment variable {api_key_env} is not set or "
                             f"empty; export it with the {backend.title} API key")
    given = {n.lower() for n, _v in list(headers) + list(secret_headers)}
    plain = [(n, v) for n, v in backend.headers if n.lower() not in given] + list(headers)
    secret = list(secret_headers)
    if api_key:
        if backend.key_header.lower() in given:
            raise UsageError(f"--api-key-from-env and --header {backend.key_header} both set the "
                             f"{backend.key_header} header: pick one")
        secret.insert(0, (backend.key_header, backend.key_prefix + api_key.strip()))
    elif backend.needs_credentials and basic_auth is None and not (
            given & {(backend.key_header or "authorization").lower(), "authorization"}):
        how = ("--basic-auth-from-env VAR (INSTANCE_ID:TOKEN)" if backend.basic_auth
               else "--api-key-from-env VAR")
        raise UsageError(f"--backend {backend.name} needs credentials: give {how}")
    found = []
    if api_key and chosen_endpoint:
        mismatch = region_mismatch(backend, chosen_endpoint, api_key)
        if mismatch:
            found.append(mismatch)
    return Preset(backend=backend, endpoint=chosen_endpoint, protocol=protocol or backend.protocol,
                  headers=plain, secret_headers=secret, temporality=temporality or backend.temporality,
                  warnings=found)
