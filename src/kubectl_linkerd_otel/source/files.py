"""Reading and writing the files users name on the command line, with one-line errors that say what to do:
plain text, collector configs (`targets --config`) and pod lists (`targets --pods`). Every file is read
through the bounded reader (k8s/bounded.py): special files refused by type, sizes within k8s/limits.py."""
from __future__ import annotations

import sys
from typing import Callable, List, Optional

from ..errors import UsageError
from ..k8s.limits import CONFIG_FILE, INPUT_FILE, Limit
from ..k8s.podshape import ShapeError, describe, object_at, objects_at, pod_problem, scalar_at
from .collector import Collector, parse_config_text
from .reading import Display, pod_documents, refuse_unless_pods_could_follow, yaml_error


def read_text(path: str, *, what: str = "", fix: str = "", limit: Limit = CONFIG_FILE,
              sniff: Optional[Callable] = None) -> str:
    """The text of `path` (`-`: stdin), within `limit`. `what` names the file in errors (e.g.
    "--ca-file"), `fix` says what to pass instead; `sniff(first text)` may refuse a stream early."""
    # lazy: loaded only when this input is read (start-up time)
    from ..k8s.bounded import read_file

    return read_file(path, limit, label=f"{what} {path}" if what else path, fix=fix, text=True, sniff=sniff)


def write_text(path: str, text: str, *, what: str = "") -> None:
    label = f"{what} {path}" if what else path
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except IsADirectoryError:
        raise UsageError(f"cannot write {label}: it is a directory; name a file") from None
    except OSError as exc:
        raise UsageError(f"cannot write {label}: {exc.strerror or exc}; name a file in an existing, "
                         f"writable directory") from None


def read_bytes(path: str, *, what: str = "", fix: str = "", limit: Limit = INPUT_FILE) -> bytes:
    """The bytes of `path` (`-`: stdin), with the one-line errors of read_text."""
    # lazy: loaded only when this input is read (start-up time)
    from ..k8s.bounded import read_file

    return read_file(path, limit, label=f"{what} {path}" if what else path, fix=fix)


def write_bytes(path: str, data: bytes, *, what: str = "") -> None:
    """Write `data` to `path` whole: into a temporary file beside it, then renamed over it, so a full
    disk or an interrupt never leaves half a file under the name the user gave."""
    # lazy: only writing a file needs them (start-up time)
    import os
    import tempfile

    label = f"{what} {path}" if what else path
    if path == "-":            # `snapshot -f - | ...`: the bytes on stdout, nothing else there
        out = getattr(sys.stdout, "buffer", None)
        if out is None:
            raise UsageError(f"cannot write {label}: stdout takes no bytes here; name a file")
        out.write(data)
        out.flush()
        return
    if os.path.isdir(path):
        raise UsageError(f"cannot write {label}: it is a directory; name a file")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(prefix=".linkerd-otel-", dir=directory)   # mode 0600: for its owner
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise UsageError(f"cannot write {label}: {exc.strerror or exc}; name a file in an existing, "
                         f"writable directory") from None


def demo_snapshot_bytes() -> bytes:
    """The demo snapshot shipped inside the package (scripts/demo-snapshot.py builds it)."""
    # lazy: loaded only when this input is read (start-up time)
    from importlib.resources import files

    try:
        return files("kubectl_linkerd_otel").joinpath("data/demo-snapshot.json.gz").read_bytes()
    except OSError as exc:
        raise UsageError(f"the demo snapshot is missing from this installation ({exc.strerror or exc}); "
                         f"reinstall kubectl-linkerd-otel") from None


def _documents(text: str, path: str, fix: str) -> list:
    """The documents of a JSON or YAML file: JSON first (tabs are fine there, not in YAML), then every
    document of a YAML stream (`---` separated); empty documents left out."""
    # lazy: loaded only when this input is read (start-up time)
    from ..k8s.safeload import json_loads, yaml_load_all

    text = text[1:] if text.startswith("\ufeff") else text
    try:
        return [json_loads(text)]
    except ValueError:
        pass
    # lazy: PyYAML costs start-up time and only a YAML input needs it
    import yaml

    try:
        return [d for d in yaml_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise yaml_error(exc, path, fix) from None


def load_config_file(path: str) -> dict:
    """A collector config file; or a ConfigMap holding one, alone, in a List, or among other documents
    of a YAML stream (the documents that hold no collector config are skipped). Two collector configs in
    one file are refused: which one the collector runs is not ours to guess."""
    # lazy: loaded only when this input is read (start-up time)
    from ..scrape.config import collector_configs_in

    text = read_text(path)
    docs = _documents(text, path, "pass a collector config file or its ConfigMap")
    found = []
    skipped = []
    for doc in docs:
        configs, others = collector_configs_in(doc)
        found.extend(configs)
        skipped.extend(others)
    if len(found) > 1:
        names = ", ".join(name for name, _ in found[:4]) + (", ..." if len(found) > 4 else "")
        raise UsageError(f"{path} holds {len(found)} collector configs ({names}); keep the one the collector "
                         f"runs in the file")
    if found:
        name, config = found[0]
        if isinstance(config, str):
            return parse_config_text(config, f"{path}: {name}")
        return config
    if len(skipped) == 1 and skipped[0].startswith("ConfigMap "):
        raise UsageError(f"{path}: {skipped[0]} holds no collector config (no key with receivers:)")
    raise UsageError(f"{path} holds no collector config: neither a collector config (receivers:, service:) "
                     f"nor a ConfigMap holding one")


def load_pods_file(path: str, keep_whole: Optional[str] = None, display: Optional[Display] = None) -> List[dict]:
    """Pods from `kubectl get pods -A -o json` (a List or PodList), a single Pod, several Pods as a YAML
    stream (`---` separated), or the YAML equivalents, each trimmed to what is read of it
    (k8s/podtrim.py; pods in `keep_whole`, the collector's namespace, are kept whole). Pods whose fields
    have the wrong shape are refused with the pod's name: the API server never returns them, so the file
    is not what it seems. A JSON List in a file is decoded a pod at a time (k8s/jsonitems.py): neither
    its text nor its parse is ever held whole; anything else is read whole, then parsed. `display`: the
    progress of a long parse (reading.py)."""
    fix = "pass the output of `kubectl get pods -A -o json`"
    streamed = _streamed_pods(path, fix, keep_whole)
    if streamed is not None:
        return streamed
    text = read_text(path, fix=fix, limit=INPUT_FILE,
                     sniff=lambda start: refuse_unless_pods_could_follow(start.lstrip("\ufeff"), path, fix))
    docs = pod_documents(text, path, fix, display)
    del text
    pods = _Pods(path, fix, keep_whole)
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            pods.add_all(doc["items"])
            pods.lists += 1
        elif isinstance(doc, list):
            pods.add_all(doc)
            pods.lists += 1
        else:
            pods.add(doc)
    return pods.result(bool(docs))


def _streamed_pods(path: str, fix: str, keep_whole: Optional[str]) -> Optional[List[dict]]:
    """The pods of a JSON object in a regular file with its `items` decoded one at a time; None when the
    file is not that (read it the other way)."""
    # lazy: loaded only when this input is read (start-up time)
    from ..k8s.bounded import file_text_chunks
    from ..k8s.jsonitems import NotStreamable, stream_document

    chunks = file_text_chunks(path, INPUT_FILE, label=path, fix=fix)
    if chunks is None:
        return None
    pods = _Pods(path, fix, keep_whole)
    try:
        doc = stream_document(_without_bom(chunks), {("items",): pods.add})
    except NotStreamable:
        return None
    if isinstance(doc.get("items"), list):     # a list there was streamed
        pods.lists += 1
    else:
        pods.add(doc)
    return pods.result(True)


def _without_bom(chunks):
    first = True
    for chunk in chunks:
        if first and chunk:
            first = False
            if chunk.startswith("\ufeff"):
                chunk = chunk[1:]
        yield chunk


class _Pods:
    """The items of a pods file, one at a time: each pod checked at the door and trimmed at once. The
    answer is the one of reading every item first: any item that is not an object makes the file hold
    no pods; else the first pod of the wrong shape is refused."""

    def __init__(self, path: str, fix: str, keep_whole: Optional[str]):
        # lazy: loaded only when this input is read (start-up time)
        from ..k8s.podtrim import pod_trimmer

        self.path, self.fix = path, fix
        # light: a file is read at C speed, and the command's memory is far under its budget (docs/benchmarks.md)
        self.trim = pod_trimmer(keep_whole, light=True)
        self.items = 0
        self.lists = 0
        self.pods: List[dict] = []
        self.found = 0                  # items that look like pods
        self.other = False              # an item that is not an object
        self.error: Optional[UsageError] = None

    def add_all(self, items: list) -> None:
        for item in items:
            self.add(item)

    def add(self, item) -> None:
        self.items += 1
        if not isinstance(item, dict):
            self.other = True
            self.pods = []
            return
        if not _looks_like_pod(item):
            return
        self.found += 1
        if self.other or self.error is not None:
            return
        try:
            # pod_problem is the stricter of the two checks: where it passes, only the few fields it does
            # not read can fail _check_pod; where it fails, _check_pod runs first as always (its message
            # is the one shown when both fail)
            problem = pod_problem(item)
            if problem or _unusual_status_keys(item):
                _check_pod(item, self.path, self.fix)
            if problem:
                raise UsageError(f"{self.path}: {problem}; {self.fix}")
        except UsageError as exc:
            self.error = exc
            self.pods = []
            return
        self.pods.append(self.trim(item))

    def result(self, any_docs: bool) -> List[dict]:
        # an empty List is a cluster without pods; a List of other objects is the wrong file (a mixed
        # one, as `kubectl get all -o json` prints, is fine: its pods are used)
        if any_docs and not self.other and (self.found or (not self.items and self.lists)):
            if self.error is not None:
                raise self.error
            return self.pods
        raise UsageError(f"{self.path} holds no pods; {self.fix}")


def _looks_like_pod(obj) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") in (None, "Pod")
            and isinstance(obj.get("metadata"), dict))


def _unusual_status_keys(pod: dict) -> bool:
    """Whether a container status or condition holds a key _check_pod reads and pod_problem does not (a
    status's `type`/`status`, a condition's `name`/`containerID`)."""
    status = pod.get("status")
    if not isinstance(status, dict):
        return False
    for field, keys in (("containerStatuses", ("type", "status")), ("initContainerStatuses", ("type", "status")),
                        ("conditions", ("name", "containerID"))):
        for item in status.get(field) or ():
            if isinstance(item, dict) and any(key in item for key in keys):
                return True
    return False


def _check_pod(pod: dict, path: str, fix: str) -> None:
    """Every field the simulation reads has the type the API server gives it; else a one-line error."""
    meta = pod["metadata"]
    name = f"{meta.get('namespace') or '-'}/{meta.get('name') or '-'}"
    try:
        _check_fields(pod, meta)
    except ShapeError as exc:
        raise UsageError(f"{path}: pod {name}: {exc}; {fix}") from None


def _check_fields(pod: dict, meta: dict) -> None:
    for key in ("name", "namespace", "uid"):
        scalar_at(meta.get(key), f"metadata.{key}")
    for key in ("labels", "annotations"):
        for k, v in object_at(meta.get(key), f"metadata.{key}").items():
            if not isinstance(k, str):
                raise ShapeError(f"metadata.{key} key {k!r} is {describe(k)}, not a string")
            scalar_at(v, f"metadata.{key}[{k}]")
    for i, ref in enumerate(objects_at(meta.get("ownerReferences"), "metadata.ownerReferences")):
        scalar_at(ref.get("kind"), f"metadata.ownerReferences[{i}].kind")
        scalar_at(ref.get("name"), f"metadata.ownerReferences[{i}].name")
    spec = object_at(pod.get("spec"), "spec")
    scalar_at(spec.get("nodeName"), "spec.nodeName")
    for field in ("containers", "initContainers"):
        for i, container in enumerate(objects_at(spec.get(field), f"spec.{field}")):
            for key in ("name", "image"):
                scalar_at(container.get(key), f"spec.{field}[{i}].{key}")
            for j, port in enumerate(objects_at(container.get("ports"), f"spec.{field}[{i}].ports")):
                for key in ("containerPort", "name", "protocol"):
                    scalar_at(port.get(key), f"spec.{field}[{i}].ports[{j}].{key}")
    status = object_at(pod.get("status"), "status")
    for key in ("podIP", "hostIP", "phase"):
        scalar_at(status.get(key), f"status.{key}")
    for field in ("containerStatuses", "initContainerStatuses", "conditions"):
        for i, item in enumerate(objects_at(status.get(field), f"status.{field}")):
            for key, value in item.items():
                if key in ("name", "containerID", "type", "status"):
                    scalar_at(value, f"status.{field}[{i}].{key}")


class Files:
    """`targets --config FILE` and `--pods FILE` as a Source: what neither file gives comes from `rest`
    (the live cluster), which is then connected at once, before any file is read."""

    def __init__(self, config_file: Optional[str], pods_file: Optional[str], rest=None,
                 display: Optional[Display] = None):
        self.config_file, self.pods_file, self.rest, self.display = config_file, pods_file, rest, display
        if rest is not None:
            rest.connection()

    def collector(self, namespace: str):
        if self.config_file:
            return Collector(load_config_file(self.config_file), namespace)
        return self.rest.collector(namespace)

    def pods(self, keep_whole: Optional[str] = None) -> List[dict]:
        if self.pods_file:
            return load_pods_file(self.pods_file, keep_whole=keep_whole, display=self.display)
        return self.rest.pods(keep_whole)

    def scraped(self, collector):
        """The collector's own answers, when it was found in the cluster (None for a config file)."""
        if self.rest is None or collector.location is None:
            return None
        return self.rest.scraped(collector)
