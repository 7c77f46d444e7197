"""How a request reaches the API server and its answer comes back, under the request loop of `Kube`.

Two transports answer the same way (a `Reply`, or a `WireError` of one of four kinds), so `Kube` maps
failures to one-line errors in one place:

- `Direct` (http.client, in direct.py): a connection straight to the API server. Its CPU cost is what
  `stat` lives on: a pass reads thousands of proxies' /metrics through pods/proxy, 20 at a time under
  one interpreter lock. httpx, with httpcore and h11 under it, spends 0.5-1 ms of one core on a request;
  http.client 0.25-0.4 ms (`bench/stat.py`, the pass's HTTP alone: 5.0 s of CPU through httpx, 1.9 s
  through http.client; docs/benchmarks.md).
- `ThroughHttpx`: a connection through a proxy, the kubeconfig's `proxy-url` or the `HTTPS_PROXY`/
  `HTTP_PROXY`/`ALL_PROXY` environment (with `NO_PROXY`), which httpx follows as kubectl does.
"""
from __future__ import annotations

import ssl
import urllib.request
from typing import Iterator, List, Optional, Union
from urllib.parse import urlsplit

from .direct import Direct
from .wire import CONNECT, DROPPED, FAILED, TIMEOUT, Reply, WireError


def through_a_proxy(server: str, proxy: Optional[str]) -> bool:
    """Whether requests to `server` go through a proxy, as httpx (and kubectl) decide it: a `proxy-url`, or
    a *_PROXY variable for the server's scheme that NO_PROXY does not exempt it from."""
    if proxy:
        return True
    proxies = urllib.request.getproxies()
    parts = urlsplit(server)
    if not (proxies.get(parts.scheme.lower()) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def transport_for(server: str, *, tls: Union[ssl.SSLContext, bool], sni: Optional[str], proxy: Optional[str],
                  timeout: float, headers: dict):
    if through_a_proxy(server, proxy):
        return ThroughHttpx(server, tls=tls, sni=sni, proxy=proxy, timeout=timeout, headers=headers)
    return Direct(server, tls=tls if isinstance(tls, ssl.SSLContext) else None, sni=sni, headers=headers)


class ThroughHttpx:
    """Requests through a proxy, on httpx."""

    def __init__(self, server: str, *, tls, sni: Optional[str], proxy: Optional[str], timeout: float,
                 headers: dict):
        # lazy: httpx (60 ms) only for a connection through a proxy
        import httpx

        self._httpx = httpx
        self._extensions = {"sni_hostname": sni} if sni else None
        self._client = httpx.Client(base_url=server, headers=headers, verify=tls, proxy=proxy, timeout=timeout)

    def send(self, method: str, path: str, *, params: Optional[dict], headers: List[tuple],
             body: Optional[bytes], timeout: float) -> Reply:
        httpx = self._httpx
        try:
            request = self._client.build_request(method, path, params=params, content=body, headers=headers,
                                                 timeout=timeout, extensions=self._extensions)
            return _HttpxReply(self._client.send(request, stream=True), httpx)
        except httpx.HTTPError as exc:
            raise _wire_error(exc, httpx) from None

    def close(self) -> None:
        self._client.close()


class _HttpxReply(Reply):
    def __init__(self, response, httpx):
        self._response, self._httpx = response, httpx
        self.status, self.headers, self.charset = response.status_code, response.headers, response.charset_encoding

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self._response.iter_bytes()
        except self._httpx.HTTPError as exc:
            raise _wire_error(exc, self._httpx) from None

    def close(self) -> None:
        self._response.close()


def _wire_error(exc: BaseException, httpx) -> WireError:
    if isinstance(exc, httpx.TimeoutException):
        return WireError(TIMEOUT, exc)
    if isinstance(exc, httpx.ConnectError):
        return WireError(CONNECT, exc)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return WireError(DROPPED, exc)
    return WireError(FAILED, exc)
