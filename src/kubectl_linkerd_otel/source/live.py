"""The live cluster as a command's Source: every read goes through cluster/ (and its one door, apiclient/),
on one connection per run, built from kubectl's flags (KubeOptions) when first needed. The commands hold
a `Cluster` and never the client: only the `connection()` they pass on to cluster/ (install, uninstall)."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..k8s.kubeflags import KubeOptions
from .collector import Collector, configured
from .reading import Display, ReadProgress


class Cluster:
    def __init__(self, options: KubeOptions, display: Optional[Display] = None):
        self.options = options
        self.display = display      # progress of a long list, on a terminal (reading.py)
        self._kube: Any = None

    def connection(self):
        """The cluster client, built on first use (importing the kubernetes package costs ~0.7 s)."""
        if self._kube is None:
            # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
            from ..apiclient import Kube

            self._kube = Kube.connect(self.options)
        return self._kube

    @property
    def shown_server(self) -> Optional[str]:
        """The API server as errors name it, once the connection is built (None before)."""
        return self._kube.shown_server if self._kube is not None else None

    @property
    def context(self) -> str:
        """The kubeconfig context read through; "" when no connection was built."""
        return getattr(self._kube, "context", "") if self._kube is not None else ""

    def close(self) -> None:
        if self._kube is not None:
            self._kube.close()
            self._kube = None

    # check, snapshot

    def snapshot(self, *, namespace: str, namespace_source: str, linkerd_namespace: str, interval: float,
                 probe: bool, since: Optional[float], query=None, proxy_reads_interval: Optional[float] = None,
                 request_deadline=None):
        """The live snapshot; `query` (query_settings): also ask the backend whether metrics arrive;
        `proxy_reads_interval`: also read every meshed proxy twice, that far apart, for `stat`;
        `request_deadline` (monotonic time, why): every request of the run ends by then (`check --wait`).
        A kubeconfig that gives no client is the snapshot's `client_error`."""
        # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
        from ..cluster.gather import gather
        from ..errors import KubeconfigError
        from ..snapshot import Snapshot

        proxy_reads = None
        if proxy_reads_interval is not None:
            # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
            from ..cluster.proxy_metrics import ProxyReads

            proxy_reads = ProxyReads(interval=proxy_reads_interval, timeout=self.read_timeout())
        try:
            kube = self.connection()
        except KubeconfigError as exc:
            return Snapshot(collector_namespace=namespace, client_error=str(exc),
                            linkerd_namespace_hint=linkerd_namespace, taken_at=time.time())
        if request_deadline is not None:
            kube.deadline, kube.deadline_reason = request_deadline
        snap = gather(kube, namespace=namespace, namespace_source=namespace_source,
                      linkerd_namespace=linkerd_namespace, metrics_interval=interval, probe_exporter=probe,
                      log_since_seconds=int(since) if since else None, proxy_reads=proxy_reads)
        if query is not None and snap.version is not None:
            # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
            from ..cluster.query import query_backend

            snap.backend = query_backend(kube, snap, query)
        return snap

    def read_timeout(self) -> float:
        """How long one read of a proxy's /metrics may take: --request-timeout, else 5s."""
        # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
        from ..cluster.stat import DEFAULT_READ_TIMEOUT

        return self.options.request_timeout or DEFAULT_READ_TIMEOUT

    # targets

    def collector(self, namespace: str) -> Collector:
        """The collector of `namespace`: the operator's, else the Deployment or DaemonSet with its
        ConfigMap."""
        # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
        from ..cluster.collector import locate_collector
        from ..cluster.operator import locate as locate_operator

        kube = self.connection()
        location, operator_state = locate_operator(kube, namespace)
        if location is None:
            location = locate_collector(kube, namespace)
        return configured(location, namespace, operator_state)

    def pods(self, keep_whole: Optional[str] = None) -> List[dict]:
        """Every pod, trimmed as its page arrives (kept whole in `keep_whole`), with the count so far on
        the terminal once it takes over a second (thousands of pods from a busy API server)."""
        # lazy: loaded only when this input is read (start-up time)
        from ..k8s.podtrim import pod_trimmer

        return self._list("pods", pod_trimmer(keep_whole=keep_whole))

    def _list(self, resource: str, transform: Optional[Callable[[dict], dict]] = None) -> List[dict]:
        kube = self.connection()
        items: List[dict] = []
        with ReadProgress(resource, 0, lambda: None, display=self.display,
                          describe=lambda: f"listing {resource} in all namespaces: {len(items):,} so far"):
            # each item transformed as its page is decoded: no page exists whole
            for item in kube.iter(resource, transform=transform) if transform else kube.iter(resource):
                items.append(item)
        return items

    def scraped(self, collector: Collector) -> Tuple[Dict[str, dict], List[str]]:
        """Each running collector pod's `/api/v1/targets` (through pods/proxy), and notes saying what
        could not be read."""
        # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
        from ..cluster.collector import actual_targets

        return actual_targets(self.connection(), collector.location, collector.config, collector.env)

    # stat

    def selection(self, kind: str, name: Optional[str], namespace: Optional[str]):
        """The pods `stat` reads (listed again before every pass)."""
        # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
        from ..cluster.stat import Selection

        return Selection(self.connection(), kind, name, namespace)

    def read_twice(self, selection, window: float, concurrency: int, announce: Callable[[int], None]):
        """(pods, readings, errors): two reads of every selected proxy, `window` apart, in the shapes the
        saved source gives too (stats/golden.summarize takes them)."""
        # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
        from ..cluster.stat import read_twice

        return read_twice(self.connection(), selection, window, self.read_timeout(), concurrency, announce=announce)

    def watch(self, selection, window: float, concurrency: int) -> Iterator[Tuple[int, Any]]:
        """Endless reads of every selected proxy, one every `window` (`stat --watch`): after each, how
        many proxies it read, and (pods, readings, errors) of it with the one before (None after the
        first)."""
        # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
        from ..cluster.stat import pair, passes

        previous = None
        for pods, current in passes(self.connection(), selection.targets, interval=window,
                                    concurrency=concurrency, timeout=self.read_timeout()):
            yield len(current.readings), (None if previous is None else (pods,) + pair(previous, current))
            previous = current

    # completion, version

    def namespace_names(self) -> List[str]:
        return [ns["metadata"]["name"] for ns in self.connection().list("namespaces")]

    def server_version(self) -> dict:
        return self.connection().version()


def query_settings(url: Optional[str], basic_auth_env: Optional[str], headers, ca_file: Optional[str],
                   no_query: bool, timeout: float):
    """`check`'s --query-* flags as the backend query's settings (cluster/query.py); a UsageError for any
    that cannot work, before any cluster I/O."""
    # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
    from ..cluster.query import settings_from_flags

    return settings_from_flags(url, basic_auth_env, headers, ca_file, no_query, timeout)


def kubeconfig_files(options: KubeOptions) -> List[str]:
    """The kubeconfig files kubectl would read with these flags (none read, no request made)."""
    # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
    from ..apiclient.kubeconfig import kubeconfig_paths

    return kubeconfig_paths(options)


def kubeconfig_names(options: KubeOptions, section: str) -> List[str]:
    """The names of the contexts, clusters or users in those files (no request made)."""
    # lazy: cluster/ and apiclient/ load only when the cluster is read (kubernetes costs ~0.7 s at start-up)
    from ..apiclient.kubeconfig import merge_kubeconfigs

    return [item["name"] for item in merge_kubeconfigs(kubeconfig_files(options))[section]]
