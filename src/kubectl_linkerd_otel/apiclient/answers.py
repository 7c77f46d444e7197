"""What the API server answers, checked once at the door: the rest of the plugin sees only the shapes
Kubernetes documents (an object, a list of objects with metadata, pods with typed fields).

A proxy, a web server or a broken API server at the kubeconfig's address answers something else; that
is one line saying so (exit 2), never an AttributeError deep inside a check.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from ..errors import ApiStatusError
from ..k8s.limits import MAX_EMPTY_PAGES, MAX_LIST_OBJECTS
from ..k8s.podshape import describe, pod_problem


def _unexpected(what: Any, server: str, detail: str) -> ApiStatusError:
    return ApiStatusError(f"the API server at {server} sent an unexpected answer to {what}: {detail}; "
                          "is the kubeconfig's server a Kubernetes API server?")


def check_object(doc: Any, what: Any, server: str) -> dict:
    if not isinstance(doc, dict):
        raise _unexpected(what, server, f"{describe(doc)}, not a JSON object")
    return doc


def check_version(doc: dict, what: Any, server: str) -> dict:
    """kubectl: `could not parse "" as version` when gitVersion is missing."""
    git = doc.get("gitVersion")
    if not isinstance(git, str) or not git.strip():
        shown = git if isinstance(git, str) else ""
        raise _unexpected(what, server, f'could not parse "{shown}" as version (no gitVersion)')
    for key in ("major", "minor", "platform"):
        if doc.get(key) is not None and not isinstance(doc.get(key), str):
            raise _unexpected(what, server, f"{key} is {describe(doc.get(key))}, not a string")
    return doc


def check_list(doc: dict, what: Any, server: str, *, pods: bool = False) -> None:
    items = doc.get("items")
    if items is not None and not isinstance(items, list):
        raise _unexpected(what, server, f"items is {describe(items)}, not a list")
    meta = doc.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise _unexpected(what, server, f"metadata is {describe(meta)}, not an object")
    token = (meta or {}).get("continue")
    if token is not None and not isinstance(token, str):
        raise _unexpected(what, server, f"metadata.continue is {describe(token)}, not a string")
    for key in ("kind", "apiVersion"):
        if doc.get(key) is not None and not isinstance(doc.get(key), str):
            raise _unexpected(what, server, f"{key} is {describe(doc.get(key))}, not a string")
    for index, item in enumerate(items or []):
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
            raise _unexpected(what, server, f"item {index} is not an object with metadata")
        if pods:
            problem = pod_problem(item)
            if problem:
                raise _unexpected(what, server, problem)


class Paging:
    """The continue tokens of one list, checked page by page: a list whose tokens never end would be
    followed forever. Refused: a token the server already sent, more than MAX_EMPTY_PAGES pages in a row
    without an object, more pages than MAX_LIST_OBJECTS objects fill (k8s/limits.py)."""

    def __init__(self, what: Any, server: str, limit: int):
        self.what, self.server = what, server
        self.max_pages = MAX_LIST_OBJECTS // max(int(limit or 0), 1) + 1
        self.pages = 0
        self.empty = 0
        self._seen: set = set()     # digests: a token may be long

    def next(self, token: str, items: int) -> None:
        """Page `self.pages + 1` had `items` objects and `token`; raise unless following it is sane."""
        self.pages += 1
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        if digest in self._seen:
            raise _unexpected(self.what, self.server, f"page {self.pages} repeats a continue token it sent "
                              "before (the list would never end)")
        self._seen.add(digest)
        self.empty = 0 if items else self.empty + 1
        if self.empty >= MAX_EMPTY_PAGES:
            raise _unexpected(self.what, self.server, f"{self.empty} pages in a row without an object, each "
                              "with a continue token (the list would never end)")
        if self.pages >= self.max_pages:
            raise _unexpected(self.what, self.server, f"still a continue token after {self.pages:,} pages, "
                              f"more than {MAX_LIST_OBJECTS:,} objects fill (the list would never end)")


class ProxyResponse:
    """A pod's or service's answer through the API server's proxy: its `status`, and its body as `text`
    (decoded when first read), or what `consume` made of it as it streamed."""

    __slots__ = ("status", "_answer", "_text")

    def __init__(self, status: int, answer: "Answer"):
        self.status, self._answer, self._text = status, answer, None

    @property
    def consumed(self) -> Any:
        """What `consume` made of a 200 answer as it streamed (its body is then not kept); None otherwise."""
        return self._answer.consumed

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._answer.text
        return self._text


class Answer:
    """An answer read whole (within its limits)."""

    def __init__(self, status_code: int, headers: Any, content: bytes, charset: Optional[str],
                 consumed: Any = None):
        self.status_code, self.headers, self.content = status_code, headers, content
        self._charset = charset or "utf-8"
        self.consumed = consumed

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self._charset, errors="replace")
        except LookupError:     # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)
