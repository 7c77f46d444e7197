"""JSON for `-o json` at scale: indented like `json.dumps(indent=2)` in its outer levels, each value below
`depth` on one line. `json.dumps` with `indent` runs the pure-Python encoder (most of `targets -o json`'s
time on a large mesh); the values written on one line go through the C encoder, and the text is written
out piece by piece instead of being built whole."""
from __future__ import annotations

import json
from itertools import chain
from types import GeneratorType
from typing import IO, Any, Iterator

_NOTHING = object()


def iter_json(value: Any, *, depth: int = 4, indent: int = 2, ensure_ascii: bool = False) -> Iterator[str]:
    """The pieces of the document (their concatenation is valid JSON equal to `value`). A generator in
    it is written as a list of what it yields, each item made as the writer reaches it."""
    # strict JSON: a NaN or infinity is a bug of ours (non-finite numbers are dealt with where they are
    # computed), never a bare `NaN` that no JSON parser reads
    flat = json.JSONEncoder(ensure_ascii=ensure_ascii, separators=(", ", ": "), check_circular=False,
                            allow_nan=False).encode
    key = json.JSONEncoder(ensure_ascii=ensure_ascii, allow_nan=False).encode

    def one_level(item: Any, level: int) -> str:
        """A dict or list whose values are all written flat (level depth - 1), in one string: no
        generator per value."""
        inner = ",\n" + " " * (indent * (level + 1))
        close = "\n" + " " * (indent * level)
        if isinstance(item, dict):
            return "{" + inner[1:] + inner.join(key(k if isinstance(k, str) else str(k)) + ": " + flat(v)
                                                 for k, v in item.items()) + close + "}"
        return "[" + inner[1:] + inner.join(flat(v) for v in item) + close + "]"

    def walk(item: Any, level: int) -> Iterator[str]:
        if isinstance(item, GeneratorType):
            first_item = next(item, _NOTHING)
            if first_item is _NOTHING:
                yield "[]"
                return
            item = chain((first_item,), item)
        elif level >= depth or not isinstance(item, (dict, list)) or not item:
            yield flat(item)
            return
        elif level == depth - 1:
            yield one_level(item, level)
            return
        inner = "\n" + " " * (indent * (level + 1))
        if isinstance(item, dict):
            yield "{"
            first = True
            for k, v in item.items():
                yield (inner if first else "," + inner) + key(k if isinstance(k, str) else str(k)) + ": "
                first = False
                yield from walk(v, level + 1)
            yield "\n" + " " * (indent * level) + "}"
        else:
            yield "["
            first = True
            for v in item:
                yield inner if first else "," + inner
                first = False
                yield from walk(v, level + 1)
            yield "\n" + " " * (indent * level) + "]"

    return walk(value, 0)


def write_json(value: Any, out: IO[str], *, depth: int = 4, ensure_ascii: bool = False) -> None:
    """Write the document and a newline to `out`, in chunks."""
    buffer = []
    size = 0
    for piece in iter_json(value, depth=depth, ensure_ascii=ensure_ascii):
        buffer.append(piece)
        size += len(piece)
        if size > 1 << 16:
            out.write("".join(buffer))
            buffer, size = [], 0
    buffer.append("\n")
    out.write("".join(buffer))
