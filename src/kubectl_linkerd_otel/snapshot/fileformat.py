"""The snapshot file (pure; the commands read and write the bytes through source/files.py).

One gzip-compressed JSON document:

    {"format": "kubectl-linkerd-otel/snapshot", "version": 2,
     "manifest": {plugin_version, taken_at, taken_at_text, gather_seconds, cluster_version, context,
                  readers, unreadable, redacted, source},
     "snapshot": {every Snapshot field}}

`readers` lists the commands the file holds data for (`check`, `targets`; a file that also holds the
proxies' own metrics adds `stat`). The format is open: readers ignore fields they do not know, so a new
field (a new gather step) needs no new version; the version changes only when a field changes meaning.
Version 1 (the first `--save-snapshot` files: plain JSON, the fields at the top) is still read. An
uncompressed version 2 file (`gunzip`ped to look inside) is read too. A file is decompressed piece by piece
within the input limit (k8s/limits.py INPUT_FILE), and refused as soon as it expands like a gzip bomb.
"""
from __future__ import annotations

import gzip
import json
import time
import zlib
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Tuple

from ..errors import UsageError
from ..k8s.bounded import Exceeded, gunzip, too_big
from ..k8s.limits import GZIP_MAX_RATIO, INPUT_FILE, show
from ..k8s.safeload import json_loads
from .data import FORMAT as FORMAT_V1, Snapshot, damaged
from .redaction import redact

FORMAT = "kubectl-linkerd-otel/snapshot"
VERSION = 2
READABLE_VERSIONS = (1, 2)
READERS = ("check", "targets")
FIX = "pass a file written by `kubectl linkerd-otel snapshot -f FILE` (or check --save-snapshot)"


@dataclass
class Manifest:
    format_version: int = VERSION
    plugin_version: str = ""
    taken_at: float = 0.0              # epoch seconds
    taken_at_text: str = ""            # the same, in UTC, for people reading the file
    gather_seconds: float = 0.0        # how long reading the cluster took
    cluster_version: str = ""          # the API server's gitVersion
    context: str = ""                  # the kubeconfig context's name (never its server URL or user)
    readers: List[str] = field(default_factory=lambda: list(READERS))
    unreadable: Dict[str, str] = field(default_factory=dict)   # what could not be read -> why
    redacted: bool = True
    source: str = "cluster"            # cluster | demo


def utc_text(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch)) if epoch else "an unknown time"


def unreadable(snap: Snapshot) -> Dict[str, str]:
    """Everything the gather could not read, and why (step keys as in snapshot/steps.py). A proxy `stat`
    could not read is not counted here: `stat` lists it with its reason (a 403 under a restrictive policy
    is the mesh working as configured, not a failed read of the snapshot)."""
    out: Dict[str, str] = {}
    if snap.client_error:
        out["client"] = snap.client_error
    out.update(snap.errors)
    out.update({f"metrics/{pod}": why for pod, why in snap.self_metrics_errors.items()})
    out.update({f"targets/{pod}": why for pod, why in snap.receiver_targets_errors.items()})
    out.update({f"probe/{endpoint}": why for endpoint, why in snap.exporter_probes.items() if why})
    return out


def manifest_for(snap: Snapshot, *, plugin_version: str, context: str = "", gather_seconds: float = 0.0,
                 redacted: bool = True, source: str = "cluster") -> Manifest:
    version = snap.version if isinstance(snap.version, dict) else {}
    return Manifest(plugin_version=plugin_version, taken_at=snap.taken_at, taken_at_text=utc_text(snap.taken_at),
                    gather_seconds=round(gather_seconds, 3), cluster_version=str(version.get("gitVersion") or ""),
                    context=context, readers=readers(snap), unreadable=unreadable(snap), redacted=redacted,
                    source=source)


def readers(snap: Snapshot) -> List[str]:
    """The commands `snap` holds data for: `stat` only when the proxies were read."""
    return list(READERS) + (["stat"] if snap.proxy_metrics is not None else [])


def encode(snap: Snapshot, manifest: Manifest) -> bytes:
    """The file's bytes: everything through the credential detector unless the manifest says it was
    not redacted (`--no-redact`). Same snapshot, same bytes (no time stamp in the gzip header)."""
    doc = {"format": FORMAT, "version": VERSION, "manifest": asdict(manifest), "snapshot": asdict(snap)}
    if manifest.redacted:
        doc = redact(doc)
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)
    return gzip.compress(text.encode("utf-8", "surrogatepass"), compresslevel=9, mtime=0)


def decode(data: bytes, where: str, reader: str) -> Tuple[Snapshot, Manifest]:
    """The snapshot and manifest in a file's bytes; a one-line UsageError when the file is not one
    this plugin reads (not a snapshot, truncated, corrupt, damaged, another version, no data for
    `reader`)."""
    plain, compressed = _decompressed(data, where)
    text = _text(plain, where, compressed)
    if compressed and not text.strip():
        raise UsageError(f"{where} is not a linkerd-otel snapshot (gzip-compressed, but it holds "
                         f"{'only whitespace' if text else 'nothing'}); {FIX}")
    try:
        doc = json_loads(text)
    except (ValueError, RecursionError):
        what = "gzip-compressed, but what it holds is not JSON" if compressed else "neither gzip nor JSON"
        raise UsageError(f"{where} is not a linkerd-otel snapshot ({what}); {FIX}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{where} is not a linkerd-otel snapshot (a JSON {type(doc).__name__}, not an object); "
                         f"{FIX}")
    if doc.get("format") == FORMAT_V1:
        body, manifest = doc, Manifest(format_version=1, taken_at=_number(doc.get("taken_at")),
                                       taken_at_text=utc_text(_number(doc.get("taken_at"))))
    elif doc.get("format") == FORMAT:
        _check_version(doc.get("version"), where)
        body, manifest = doc.get("snapshot"), _manifest(doc.get("manifest"), where)
        if not isinstance(body, dict):
            raise UsageError(f"snapshot {where} is damaged (no snapshot object in it); {FIX}")
    else:
        raise UsageError(f"{where} is not a linkerd-otel snapshot (no snapshot format named in it); {FIX}")
    problem = damaged(body)
    if problem:
        raise UsageError(f"snapshot {where} is damaged ({problem}); {FIX}")
    if reader not in manifest.readers:
        raise UsageError(f"snapshot {where} holds no data for `{reader}` (it holds data for: "
                         f"{', '.join(manifest.readers) or 'nothing'}); take a new one with "
                         f"`kubectl linkerd-otel snapshot -f FILE`")
    return Snapshot.from_dict(body), manifest


def header(manifest: Manifest, where: str) -> str:
    """The line heading a report made from a snapshot: that it is one, and from when."""
    if manifest.source == "demo":
        return (f"Demo snapshot (a made-up mesh; no cluster was contacted), taken {manifest.taken_at_text}"
                f"{_cluster(manifest)}")
    failed = len(manifest.unreadable)
    failures = f"; {failed} read{'s' if failed != 1 else ''} failed" if failed else ""
    return (f"Snapshot {where}, taken {manifest.taken_at_text}{_cluster(manifest)}"
            f"{' by plugin ' + manifest.plugin_version if manifest.plugin_version else ''}{failures}"
            f"{'' if manifest.redacted else ' (NOT redacted)'}")


def _cluster(manifest: Manifest) -> str:
    parts = [f"context {manifest.context}" if manifest.context else "",
             f"Kubernetes {manifest.cluster_version}" if manifest.cluster_version else ""]
    shown = ", ".join(p for p in parts if p)
    return f" ({shown})" if shown else ""


def _decompressed(data: bytes, where: str) -> Tuple[bytes, bool]:
    """(the file's JSON bytes, whether they were gzip-compressed)."""
    if not data.startswith(b"\x1f\x8b"):
        if data[:1] == b"\x1f":      # half a gzip magic number: cut at the first byte
            raise UsageError(f"snapshot {where} is truncated (it ends inside the gzip header); take it again")
        return data, False           # plain JSON: version 1, or a gunzipped file
    try:
        return gunzip(data, INPUT_FILE.bytes), True
    except Exceeded as exc:
        if exc.why == "size":
            raise UsageError(too_big(f"snapshot {where} once decompressed", INPUT_FILE, FIX)) from None
        if exc.blank:
            raise UsageError(f"{where} is not a linkerd-otel snapshot (gzip-compressed whitespace: more than "
                             f"{show(exc.seen)} of spaces and newlines from {show(len(data))}); {FIX}") from None
        raise UsageError(f"{where} is not a linkerd-otel snapshot (it expands more than {GZIP_MAX_RATIO} times "
                         f"when decompressed, past {show(exc.seen)} from {show(len(data))}: a gzip bomb, not a "
                         f"file this plugin wrote); {FIX}") from None
    except EOFError:
        raise UsageError(f"snapshot {where} is truncated (the compressed data ends early); copy the whole "
                         f"file again, or take a new one") from None
    except (OSError, zlib.error) as exc:   # gzip.BadGzipFile is an OSError; CRC errors too
        raise UsageError(f"snapshot {where} is corrupt ({exc}); copy the whole file again, or take a new "
                         f"one") from None


def _text(data: bytes, where: str, compressed: bool) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        what = "gzip-compressed, but not UTF-8 JSON inside" if compressed else "neither gzip nor UTF-8 JSON"
        raise UsageError(f"{where} is not a linkerd-otel snapshot ({what}); {FIX}") from None


def _readable() -> str:
    return " and ".join(str(v) for v in READABLE_VERSIONS)


def _check_version(version, where: str) -> None:
    if isinstance(version, int) and not isinstance(version, bool) and version in READABLE_VERSIONS:
        return
    if isinstance(version, int) and not isinstance(version, bool) and version > max(READABLE_VERSIONS):
        raise UsageError(f"snapshot {where} is format version {version}, newer than this plugin reads "
                         f"(versions {_readable()}): upgrade kubectl-linkerd-otel to read it")
    raise UsageError(f"snapshot {where} has an unknown format version {version!r}; this plugin reads "
                     f"versions {_readable()}")


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _manifest(data, where: str) -> Manifest:
    if not isinstance(data, dict):
        raise UsageError(f"snapshot {where} is damaged (no manifest in it); {FIX}")
    known = {f.name: f for f in fields(Manifest)}
    values = {k: v for k, v in data.items() if k in known}
    defaults = Manifest()
    for name, value in values.items():
        default = getattr(defaults, name)
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) if isinstance(default, (int, float)) \
            and not isinstance(default, bool) else isinstance(value, type(default))
        if ok and name == "readers":
            ok = all(isinstance(r, str) for r in value)
        if not ok:
            raise UsageError(f"snapshot {where} is damaged (manifest field {name!r} has the wrong type); {FIX}")
    return Manifest(**values)
