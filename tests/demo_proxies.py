"""What the demo mesh's proxies answer on `/metrics`, read twice (10 s of traffic apart): the label sets
and families of a Linkerd 2.x proxy (as in tests/fixtures/proxy-metrics-*.txt), with emojivoto's traffic:

- vote-bot -> web -> emoji and voting; every proxy talks to the destination controller;
- voting fails about one vote in five (gRPC Unknown): the workload with errors;
- emoji answers in hundreds of milliseconds (p50 133 ms, p99 1.8 s): the workload with high latency;
- web passes some of voting's failures on (97.8% success); identity and the injector see no requests.

The families `stat` does not read come from tests/fixtures/proxy-metrics-series.txt (the balancer and
build-info series `check` counts), so a demo proxy answers about as many series as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from stat_scenarios import reads

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BOUNDS = ("1", "2", "3", "4", "5", "10", "20", "30", "40", "50", "100", "200", "300", "400", "500", "1000",
          "2000", "3000", "4000", "5000", "10000", "20000", "30000", "40000", "50000")
WINDOWS_BEFORE = 103      # the first read holds ~17 minutes of the same traffic (the pods started at 09:14)
GENERATED = ("request_total", "response_total", "response_latency_ms", "tcp_open_total", "tcp_open_connections",
             "tcp_read_bytes_total", "tcp_write_bytes_total", "process_start_time_seconds")


@dataclass(frozen=True)
class Peer:
    namespace: str
    deployment: str
    pod: str
    ip: str
    service: str
    port: int
    account: str

    @property
    def template_hash(self) -> str:
        return self.pod.rsplit("-", 2)[1]


EMOJI = Peer("emojivoto", "emoji", "emoji-547b6957d6-s59rz", "10.244.0.22", "emoji-svc", 8080, "emoji")
WEB = Peer("emojivoto", "web", "web-5b4656675c-826fd", "10.244.0.24", "web-svc", 8080, "web")
VOTING = Peer("emojivoto", "voting", "voting-6d9f7c8b5d-x2kqp", "10.244.0.26", "voting-svc", 8080, "voting")
DESTINATION = Peer("linkerd", "linkerd-destination", "linkerd-destination-7bc66fc896-wzm6d", "10.244.0.19",
                   "linkerd-dst", 8086, "linkerd-destination")
IDENTITY = Peer("linkerd", "linkerd-identity", "linkerd-identity-699b5bb85d-gwl55", "10.244.0.20",
                "linkerd-identity", 8080, "linkerd-identity")
INJECTOR = Peer("linkerd", "linkerd-proxy-injector", "linkerd-proxy-injector-56bcf878c5-sm7gp", "10.244.0.21",
                "linkerd-proxy-injector", 8443, "linkerd-proxy-injector")


def _identity(account: str, namespace: str) -> str:
    return f"{account}.{namespace}.serviceaccount.identity.linkerd.cluster.local"


def inbound_labels(me: Peer, client: Tuple[str, str]) -> str:
    return (f'direction="inbound",target_addr="{me.ip}:{me.port}",target_ip="{me.ip}",target_port="{me.port}",'
            f'tls="true",client_id="{_identity(*client)}",srv_group="",srv_kind="default",'
            f'srv_name="all-unauthenticated",srv_port="{me.port}"')


ADMIN_LABELS = ('direction="inbound",target_addr="0.0.0.0:4191",target_ip="0.0.0.0",target_port="4191",'
                'tls="no_identity",no_tls_reason="no_tls_from_remote",srv_group="",srv_kind="default",'
                'srv_name="all-unauthenticated",srv_port="4191"')


def outbound_labels(dst: Peer) -> str:
    return (f'direction="outbound",authority="{dst.service}.{dst.namespace}.svc.cluster.local:{dst.port}",'
            f'target_addr="{dst.ip}:{dst.port}",target_ip="{dst.ip}",target_port="{dst.port}",tls="true",'
            f'server_id="{_identity(dst.account, dst.namespace)}",dst_control_plane_ns="linkerd",'
            f'dst_deployment="{dst.deployment}",dst_namespace="{dst.namespace}",dst_pod="{dst.pod}",'
            f'dst_pod_template_hash="{dst.template_hash}",dst_service="{dst.service}",'
            f'dst_serviceaccount="{dst.account}",dst_zone="",dst_zone_locality="unknown"')


ROUTE = ('route_group="",route_kind="default",route_name="default",authz_group="",authz_kind="default",'
         'authz_name="all-unauthenticated"')


@dataclass
class Responses:
    """One status of one series in 10 s: the cumulative latency counts at some bucket bounds (ms); the
    last is the number of responses."""

    labels: str
    latency: List[Tuple[int, int]]
    status_code: str = "200"
    grpc_status: str = ""
    failure: bool = False
    sum_ms: Optional[float] = None

    @property
    def count(self) -> int:
        return self.latency[-1][1]


@dataclass
class Tcp:
    labels: str
    peer: str                 # src (inbound) | dst (outbound)
    open_now: int
    opened: int               # per 10 s
    read: int
    written: int


@dataclass
class Proxy:
    me: Peer
    started: float
    responses: List[Responses] = field(default_factory=list)
    tcp: List[Tcp] = field(default_factory=list)

    def text(self, read: int) -> str:
        """The proxy's answer at its `read`-th read (1 or 2)."""
        k = WINDOWS_BEFORE + read - 1
        out: List[str] = []
        requests: Dict[str, int] = {}
        for r in self.responses:
            requests[r.labels] = requests.get(r.labels, 0) + r.count
        out += ["# HELP request_total Total count of HTTP requests.", "# TYPE request_total counter"]
        out += [f"request_total{{{labels}}} {count * k}" for labels, count in requests.items()]
        out += ["# HELP response_latency_ms Elapsed times between a request's headers being received and its "
                "response stream completing", "# TYPE response_latency_ms histogram"]
        # one histogram per label set and HTTP status: a gRPC call's success and failure share one
        histograms: Dict[str, List[Responses]] = {}
        for r in self.responses:
            histograms.setdefault(f'{r.labels},status_code="{r.status_code}"', []).append(r)
        for head, group in histograms.items():
            for bound in BOUNDS + ("+Inf",):
                value = sum(_cumulative(r, bound) for r in group)
                out.append(f'response_latency_ms_bucket{{{head},le="{bound}"}} {value * k}')
            total = sum((r.sum_ms if r.sum_ms is not None else _mean(r.latency)) * r.count for r in group)
            out.append(f"response_latency_ms_sum{{{head}}} {round(total * k)}")
            out.append(f"response_latency_ms_count{{{head}}} {sum(r.count for r in group) * k}")
        out += ["# HELP response_total Total count of HTTP responses.", "# TYPE response_total counter"]
        for r in self.responses:
            out.append(f'response_total{{{r.labels},{ROUTE},status_code="{r.status_code}",classification='
                       f'"{"failure" if r.failure else "success"}",grpc_status="{r.grpc_status}",error=""}} '
                       f'{r.count * k}')
        families = (("tcp_open_total", "Total count of opened connections", "counter", lambda t: t.opened * k),
                    ("tcp_open_connections", "Number of currently-open connections", "gauge", lambda t: t.open_now),
                    ("tcp_read_bytes_total", "Total count of bytes read from peers", "counter",
                     lambda t: t.read * k),
                    ("tcp_write_bytes_total", "Total count of bytes written to peers", "counter",
                     lambda t: t.written * k))
        for name, help_text, kind, value in families:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            out += [f"{name}{{{_with_peer(t)}}} {value(t)}" for t in self.tcp]
        out += ["# HELP process_start_time_seconds Time that the process started (in seconds since the UNIX epoch)",
                "# TYPE process_start_time_seconds gauge", f"process_start_time_seconds {self.started:g}"]
        return "\n".join(out) + "\n" + _other_families()


def _cumulative(responses: Responses, bound: str) -> int:
    if bound == "+Inf":
        return responses.count
    below = [n for b, n in responses.latency if b <= float(bound)]
    return below[-1] if below else 0


def _with_peer(tcp: Tcp) -> str:
    direction, rest = tcp.labels.split(",", 1)
    return f'{direction},peer="{tcp.peer}",{rest}'


def _mean(latency: List[Tuple[int, int]]) -> float:
    total, before, low = 0.0, 0, 0
    for bound, cumulative in latency:
        total += (cumulative - before) * (low + bound) / 2
        before, low = cumulative, bound
    return total / latency[-1][1] if latency[-1][1] else 0.0


def _other_families() -> str:
    """The series fixture's families that are not generated here (balancer endpoints, build info, ...)."""
    kept, skip = [], False
    for line in (FIXTURES / "proxy-metrics-series.txt").read_text().splitlines():
        if line.startswith("# "):
            skip = line.split()[2].startswith(GENERATED)
        if not skip and not line.startswith(GENERATED):
            kept.append(line)
    return "\n".join(kept) + "\n"


def _admin(scrapes: int = 4) -> Responses:
    # kubelet probes and the collector's scrapes: left out of stat's inbound numbers
    return Responses(ADMIN_LABELS, [(1, scrapes - 1), (2, scrapes)])


def _to_destination(me: Peer) -> Responses:
    return Responses(outbound_labels(DESTINATION), [(5, 3), (10, 4)], grpc_status="0")


def proxies() -> List[Proxy]:
    web_in = inbound_labels(WEB, ("vote-bot", "emojivoto"))
    emoji_in = inbound_labels(EMOJI, ("web", "emojivoto"))
    voting_in = inbound_labels(VOTING, ("web", "emojivoto"))
    web = Proxy(WEB, 1764062072.0, [
        Responses(web_in, [(5, 300), (10, 600), (20, 760), (50, 830), (100, 850), (500, 875), (1000, 880)]),
        Responses(web_in, [(10, 12), (20, 20)], status_code="500", failure=True),
        _admin(),
        Responses(outbound_labels(EMOJI), [(50, 200), (100, 380), (200, 560), (300, 640), (500, 760),
                                           (1000, 850), (2000, 875), (3000, 880)], grpc_status="0"),
        Responses(outbound_labels(VOTING), [(1, 160), (2, 320), (5, 410), (10, 420)], grpc_status="0"),
        Responses(outbound_labels(VOTING), [(1, 60), (2, 100), (5, 115)], grpc_status="2", failure=True),
        _to_destination(WEB),
    ], [Tcp(web_in, "src", 2, 0, 61_400, 402_900), Tcp(ADMIN_LABELS, "src", 1, 4, 1_900, 88_000),
        Tcp(outbound_labels(EMOJI), "dst", 2, 0, 396_000, 52_800), Tcp(outbound_labels(VOTING), "dst", 1, 0,
                                                                       21_400, 32_100),
        Tcp(outbound_labels(DESTINATION), "dst", 1, 0, 2_200, 600)])
    emoji = Proxy(EMOJI, 1764062065.0, [
        Responses(emoji_in, [(50, 200), (100, 380), (200, 560), (300, 640), (500, 760), (1000, 850),
                             (2000, 875), (3000, 880)], grpc_status="0"),
        _admin(),
        _to_destination(EMOJI),
    ], [Tcp(emoji_in, "src", 2, 0, 52_800, 396_000), Tcp(ADMIN_LABELS, "src", 1, 4, 1_900, 88_000),
        Tcp(outbound_labels(DESTINATION), "dst", 1, 0, 2_100, 600)])
    voting = Proxy(VOTING, 1764062070.0, [
        Responses(voting_in, [(1, 160), (2, 320), (5, 410), (10, 420)], grpc_status="0"),
        Responses(voting_in, [(1, 60), (2, 100), (5, 115)], grpc_status="2", failure=True),
        _admin(),
        _to_destination(VOTING),
    ], [Tcp(voting_in, "src", 1, 0, 32_100, 21_400), Tcp(ADMIN_LABELS, "src", 1, 4, 1_900, 88_000),
        Tcp(outbound_labels(DESTINATION), "dst", 1, 0, 2_000, 600)])
    destination_in = [inbound_labels(DESTINATION, (peer.account, peer.namespace)) for peer in (WEB, EMOJI, VOTING)]
    destination = Proxy(DESTINATION, 1764062041.0, [
        *[Responses(labels, [(5, 3), (10, 4)], grpc_status="0") for labels in destination_in],
        _admin(),
    ], [*[Tcp(labels, "src", 3, 0, 600, 2_100) for labels in destination_in],
        Tcp(ADMIN_LABELS, "src", 1, 4, 1_900, 88_000)])
    quiet = [Proxy(peer, 1764062041.0, [_admin()], [Tcp(ADMIN_LABELS, "src", 1, 4, 1_900, 88_000)])
             for peer in (IDENTITY, INJECTOR)]
    return [web, emoji, voting, destination, *quiet]


def serve(api) -> None:
    """Each demo proxy answers its first text, then its second ever after (the gather reads it twice,
    then `check` samples a few targets)."""
    for proxy in proxies():
        api.set_proxy(proxy.me.namespace, proxy.me.pod, 4191, "metrics", body=reads(proxy.text(1), proxy.text(2)))
