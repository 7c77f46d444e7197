"""Reading and writing the files users name on the command line, with one-line errors that say what to do:
plain text, collector configs (`targets --config`) and pod lists (`targets --pods`)."""
from __future__ import annotations

import json
import sys
from typing import List

from .errors import UsageError


def read_text(path: str, *, what: str = "", fix: str = "") -> str:
    """The text of `path` (`-`: stdin). `what` names the file in errors (e.g. "snapshot"), `fix` says
    what to pass instead."""
    label = f"{what} {path}" if what else path
    tail = f"; {fix}" if fix else ""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except IsADirectoryError:
        raise UsageError(f"cannot read {label}: it is a directory{tail}") from None
    except UnicodeDecodeError:
        raise UsageError(f"cannot read {label}: it is not UTF-8 text{tail}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror or exc}{tail}") from None


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


def parse_config_text(text: str, where: str) -> dict:
    """A collector config's text parsed; `where` names its source in errors (a file, configmap/NAME)."""
    from .collector.config import parse_config

    if not text.strip():
        raise UsageError(f"{where} holds no collector config")
    try:
        return parse_config(text)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}") from None


def load_config_file(path: str) -> dict:
    """A collector config file, or a ConfigMap (or a List holding one) whose data holds the config."""
    import yaml

    from .scrape.config import ScrapeConfigError, config_text_from_document

    text = read_text(path)
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path} is not valid YAML{where}") from None
    for doc in docs:
        try:
            inner = config_text_from_document(doc)
        except ScrapeConfigError as exc:
            raise UsageError(f"{path}: {exc}") from None
        if inner is not None:
            return parse_config_text(inner, path)
    if docs and isinstance(docs[0], dict) and "receivers" in docs[0]:
        return docs[0]
    raise UsageError(f"{path} is neither a collector config (receivers:, service:) nor a ConfigMap holding one")


def load_pods_file(path: str) -> List[dict]:
    """Pods from `kubectl get pods -A -o json` (a List), a single Pod, or the YAML equivalents."""
    text = read_text(path)
    try:
        doc = json.loads(text)
    except ValueError:
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            raise UsageError(f"{path} is neither JSON nor YAML; pass the output of "
                             f"`kubectl get pods -A -o json`") from None
    items = None
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        items = doc["items"]
    elif isinstance(doc, dict) and doc.get("kind") == "Pod":
        items = [doc]
    elif isinstance(doc, list):
        items = doc
    # an empty List is a cluster without pods; a List of other objects is the wrong file (a mixed
    # one, as `kubectl get all -o json` prints, is fine: its pods are used)
    if items is not None and all(isinstance(p, dict) for p in items):
        pods = [p for p in items if _looks_like_pod(p)]
        if pods or not items:
            return pods
    raise UsageError(f"{path} holds no pods; pass the output of `kubectl get pods -A -o json`")


def _looks_like_pod(obj) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") in (None, "Pod")
            and isinstance(obj.get("metadata"), dict))
