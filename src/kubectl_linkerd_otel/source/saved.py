"""A snapshot file (`--snapshot FILE`) or the demo shipped with the plugin (`--demo`) as a command's
Source, and writing one (`snapshot -f FILE`, `check --save-snapshot FILE`). The format is
snapshot/fileformat.py; the bytes go through files.py. No network: nothing here reaches the cluster."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..errors import UsageError
from .collector import Collector, configured

DEMO = "(demo)"


def load(path: Optional[str], demo: bool, reader: str, namespace: Optional[str] = None):
    """(Snapshot, header line) from `--snapshot FILE` or the shipped demo. `namespace`: the collector's
    namespace the user named (-n), which a snapshot fixed when it was taken: another one is an error."""
    # lazy: loaded only when this input is read (start-up time)
    from ..snapshot.fileformat import FIX, decode, header
    from .files import demo_snapshot_bytes, read_bytes

    if demo and path:
        raise UsageError("--demo and --snapshot cannot be used together: pick one")
    data = demo_snapshot_bytes() if demo else read_bytes(path, what="snapshot", fix=FIX)
    where = DEMO if demo else path
    snap, manifest = decode(data, where, reader)
    if namespace is not None and namespace != snap.collector_namespace:
        flag = "--demo" if demo else f"--snapshot {path}"
        raise UsageError(f"-n {namespace} does not apply to {flag}: it holds the collector of namespace "
                         f"'{snap.collector_namespace}' (for another one, take a snapshot: "
                         f"`kubectl linkerd-otel snapshot -n {namespace} -f FILE`)")
    return snap, header(manifest, where)


def save(path: str, snap, *, context: str = "", gather_seconds: float = 0.0, redact: bool = True,
         source: str = "cluster") -> Tuple[int, int]:
    """Write `snap` to `path` (`context`: the kubeconfig context it was read through); (bytes written,
    reads that failed)."""
    # lazy: loaded only when this input is read (start-up time)
    from .. import __version__
    from ..snapshot.fileformat import encode, manifest_for
    from .files import write_bytes

    manifest = manifest_for(snap, plugin_version=__version__, context=context, gather_seconds=gather_seconds,
                            redacted=redact, source=source)
    data = encode(snap, manifest)
    write_bytes(path, data, what="snapshot")
    return len(data), len(manifest.unreadable)


class Saved:
    """A snapshot file, or the demo, read whole when the source is made (`reader`: the command, which
    the file must be able to serve). `heading` is the line that says what the report is about."""

    def __init__(self, path: Optional[str], demo: bool, reader: str, namespace: Optional[str] = None):
        self.snapshot, self.heading = load(path, demo, reader, namespace)
        self.where = DEMO if demo else path

    # targets

    def collector(self, namespace: Optional[str] = None) -> Collector:
        """The collector as `targets` finds it in the snapshot's namespace (fixed when it was taken: a
        `namespace` named now was checked against it when the file was read)."""
        # lazy: loaded only when this input is read (start-up time)
        from ..snapshot.targets_view import collector_location

        snap = self.snapshot
        return configured(collector_location(snap), snap.collector_namespace)

    def pods(self, keep_whole: Optional[str] = None) -> List[dict]:
        return self.snapshot.pods     # trimmed (and kept whole in keep_whole) when the snapshot was taken

    def scraped(self, collector: Collector) -> Tuple[Dict[str, dict], List[str]]:
        """The collector pods' saved `/api/v1/targets` answers, and notes on those it does not hold."""
        # lazy: loaded only when this input is read (start-up time)
        from ..snapshot.targets_view import receiver_answers

        return receiver_answers(self.snapshot, collector.location, collector.config, collector.env)

    # stat

    def proxy_reads(self, namespace: Optional[str], kind: str, name: Optional[str]):
        """(pods, readings, errors) for `stat`, as the live source reads them: the pods of `namespace`
        (None: all), and the two reads the snapshot holds of the selected ones' proxies, parsed."""
        # lazy: loaded only when this input is read (start-up time)
        from ..snapshot.stat_view import pods_in, proxy_reads
        from ..stats.golden import proxies_to_read, readings_of_texts

        texts, errors = proxy_reads(self.snapshot, self.where)
        pods = pods_in(self.snapshot, namespace, self.where)
        selected = {(ns, pod) for ns, pod, _ in proxies_to_read(pods, kind, name)}
        return (pods,) + readings_of_texts({key: value for key, value in texts.items() if key in selected}, errors)
