"""JSON and YAML read from outside (files, kubeconfigs, API and pod answers) with bounds, pure.

PyYAML and `json` have no limits of their own: a 1.8 KB YAML file of nested anchors expands into
billions of nodes in whatever walks it afterwards, and a deeply nested document ends in RecursionError.
Here an alias expansion past MAX_ALIAS_NODES nodes or nesting past MAX_DEPTH levels is a YAMLError
(or ValueError for JSON) with a message, which callers turn into their usual one-line error.
"""
from __future__ import annotations

import json
from typing import Any, List

MAX_DEPTH = 100             # Kubernetes objects nest about 15 levels
MAX_ALIAS_NODES = 100_000   # nodes reached again through aliases, in one document

_loader_class = None


def _loader():
    global _loader_class
    if _loader_class is not None:
        return _loader_class
    # lazy: yaml costs ~12 ms at start-up; JSON input never needs it
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0
            self._sizes: dict = {}
            self._via_aliases = 0

        def compose_document(self):
            self._via_aliases = 0
            return super().compose_document()

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                node = super().compose_node(parent, index)
                self._via_aliases += self._sizes.get(id(node), 1)
                if self._via_aliases > MAX_ALIAS_NODES:
                    raise yaml.composer.ComposerError(
                        None, None, f"too many aliases (more than {MAX_ALIAS_NODES:,} nodes reached "
                        "through anchors: a YAML alias bomb?)", mark)
                return node
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            self._sizes[id(node)] = 1 + _children_size(node, self._sizes)
            return node

    _loader_class = BoundedLoader
    return BoundedLoader


def _children_size(node, sizes: dict) -> int:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        if isinstance(item, tuple):
            total += sizes.get(id(item[0]), 1) + sizes.get(id(item[1]), 1)
        else:
            total += sizes.get(id(item), 1)
    return total


def yaml_load(text: str) -> Any:
    """yaml.safe_load with the bounds above (raises yaml.YAMLError)."""
    loader = _loader()(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def yaml_load_all(text: str) -> List[Any]:
    """Every document of a YAML stream, with the bounds above (raises yaml.YAMLError)."""
    loader = _loader()(text)
    try:
        out = []
        while loader.check_data():
            out.append(loader.get_data())
        return out
    finally:
        loader.dispose()


def yaml_loader(text: str):
    """The bounded loader over `text`, for reading a stream one document at a time (check_data, get_data;
    `index` says how far it has read). The caller disposes of it."""
    return _loader()(text)


def json_loads(text: str) -> Any:
    """json.loads; nesting too deep for Python is a ValueError like any other bad JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
