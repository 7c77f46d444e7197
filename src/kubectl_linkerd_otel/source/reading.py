"""Reading big input files: progress once a read takes over a second, and input that cannot hold pods
refused before it is parsed to the end.

PyYAML in pure Python reads about 1 MB/s: 48 MB of YAML pods take about a minute, and 50 MB of junk took
seconds to fail. So the first line must look like JSON or a Kubernetes object, a scalar document is
refused as soon as it is read, and a big file that starts as JSON is judged as JSON (reading it again as
YAML flow style would crawl to the same refusal).

The display is the command's (a terminal spinner, or none): a reader is handed a `display` function that
gives one, or None off a terminal.
"""
from __future__ import annotations

import re
import threading
from typing import Any, Callable, List, Optional

from ..errors import UsageError

# What a command hands a reader to show progress with: called once a read has taken SHOW_AFTER, it gives
# an object with update(text) and close() (commands/progress.py Progress), or None to show nothing
Display = Callable[[], Optional[Any]]

SHOW_AFTER = 1.0              # seconds: shorter reads show nothing
TICK = 0.25
JSON_ONLY_PAST = 1024 * 1024  # a file past this that starts like JSON is read as JSON only
OBJECT_FIELDS = ("apiVersion", "kind", "metadata", "items", "spec", "status")

_KEY = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^\s#:][^#:]*?))[ \t]*:(?:[ \t]|$)""")


class ReadProgress:
    """A context manager: while it is open and once SHOW_AFTER has passed, the display (`display()`)
    says on a terminal what is read and how far (`position()`: characters done, None when
    unknown). The spinner is erased when the read ends, so an error after it is still one line."""

    def __init__(self, label: str, total: int, position: Callable[[], Optional[int]],
                 describe: Optional[Callable[[], str]] = None, display: Optional[Display] = None):
        self.label = label
        self.display = display
        self.total = max(total, 1)
        self.position = position
        self.describe = describe
        self.shown = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="read-progress", daemon=True)

    def __enter__(self) -> "ReadProgress":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _text(self) -> str:
        if self.describe is not None:
            return self.describe()
        done = self.position()
        if done is None:
            return f"reading {self.label}"
        return f"reading {self.label}: {min(99, done * 100 // self.total)}%"

    def _run(self) -> None:
        if self._stop.wait(SHOW_AFTER):
            return
        progress = self.display() if self.display is not None else None
        if progress is None:
            return   # as kubectl: off a terminal, stderr carries errors only
        self.shown = True
        try:
            while True:
                progress.update(self._text())
                if self._stop.wait(TICK):
                    break
        finally:
            progress.close()


def size_text(chars: int) -> str:
    if chars >= 1024 * 1024:
        return f"{chars / (1024 * 1024):.0f} MB"
    return f"{max(chars // 1024, 1)} KB"


def first_content(text: str):
    """(line number, the first line of content) skipping blank lines, comments, directives and `---`;
    (0, "") when there is none."""
    number = 0
    start = 0
    length = len(text)
    while start < length:
        end = text.find("\n", start)
        end = length if end < 0 else end
        number += 1
        line = text[start:min(end, start + 4096)].strip()   # a field name is short; junk may be one long line
        start = end + 1
        if line.startswith("---"):
            line = line[3:].strip()
        if not line or line.startswith(("#", "%")):
            continue
        return number, line
    return 0, ""


def refuse_unless_pods_could_follow(text: str, path: str, fix: str) -> None:
    """A UsageError unless the text starts as JSON or as YAML that could hold Kubernetes objects. The
    file's content is never shown: it may be anything, a token file included."""
    number, line = first_content(text)
    if not line or line[0] in "{[&!?|>" or line == "-" or line.startswith("- "):
        return
    key = _KEY.match(line)
    if key is None:
        raise UsageError(f"{path} is not a pod list: line {number} starts neither a JSON object or list nor a "
                         f"YAML field; {fix}")
    name = next(group for group in key.groups() if group is not None)
    if name not in OBJECT_FIELDS:
        raise UsageError(f"{path} is not a pod list: its first field (line {number}) is none of "
                         f"{', '.join(OBJECT_FIELDS)}, which start a Kubernetes object; {fix}")


def pod_documents(text: str, path: str, fix: str, display: Optional[Display] = None) -> List:
    """The documents of a pods file (JSON, or a YAML stream), as files._documents reads them, refusing
    early what cannot hold pods, with progress on a long read."""
    # lazy: loaded only when this input is read (start-up time)
    from ..k8s.safeload import json_loads, yaml_loader

    text = text[1:] if text.startswith("\ufeff") else text
    refuse_unless_pods_could_follow(text, path, fix)
    loader = None
    label = f"{path} ({size_text(len(text))})"
    with ReadProgress(label, len(text), lambda: None if loader is None else loader.index, display=display):
        try:
            return [json_loads(text)]
        except ValueError as exc:
            if len(text) > JSON_ONLY_PAST and first_content(text)[1][:1] in ("{", "["):
                where = f" at line {exc.lineno}" if hasattr(exc, "lineno") else ""
                raise UsageError(f"{path} is not valid JSON{where}; {fix}") from None
        # lazy: PyYAML costs start-up time and only a YAML input needs it
        import yaml

        docs = []
        try:
            loader = yaml_loader(text)     # its reader refuses control characters at once
            while loader.check_data():
                doc = loader.get_data()
                if doc is None:
                    continue
                if not isinstance(doc, (dict, list)):
                    raise UsageError(f"{path}: document {len(docs) + 1} is a single value, not a Kubernetes "
                                     f"object; {fix}")
                docs.append(doc)
        except yaml.YAMLError as exc:
            raise yaml_error(exc, path, fix) from None
        finally:
            if loader is not None:
                loader.dispose()
        return docs


def yaml_error(exc, path: str, fix: str) -> UsageError:
    """One line for a file that is neither JSON nor YAML: where, and why when the bounds refused it."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", "") or ""
    why = f" ({problem.splitlines()[0]})" if problem.startswith(("too many aliases", "nested deeper")) else ""
    return UsageError(f"{path} is neither JSON nor valid YAML{where}{why}; {fix}")
