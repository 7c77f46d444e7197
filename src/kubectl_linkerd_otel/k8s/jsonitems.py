"""A JSON document read from text chunks with the elements of chosen arrays handed out one at a time
(pure): a 1.5 GB pod list, or a receiver's targets answer, never exists whole in memory, parsed or as text.

Each element is decoded by the C decoder (`json.JSONDecoder.raw_decode`) from a window over the chunks,
so the speed is json.loads's. What is not in a chosen array is decoded as json.loads would (duplicate
keys: the last wins). A document this reader cannot follow (not an object at the top, invalid JSON,
nesting too deep, a chosen key given twice) raises NotStreamable: the caller reads it the old way, which
gives that input's usual answer or error.

    skeleton = stream_document(chunks, {("items",): handle_pod})
    # handle_pod(pod) was called for every element of .items; skeleton["items"] == []
"""
from __future__ import annotations

import codecs
import json
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Tuple

_DECODE = json.JSONDecoder().raw_decode
_BLANK = " \t\n\r"

Path = Tuple[str, ...]


class NotStreamable(Exception):
    """The document is not one this reader follows (the caller falls back to reading it whole)."""


class _Window:
    """The text not consumed yet of a stream of chunks: `text[pos:]`."""

    def __init__(self, chunks: Iterable[str]):
        self._chunks: Iterator[str] = iter(chunks)
        self.text = ""
        self.pos = 0
        self.done = False

    def more(self) -> bool:
        """At least double what is buffered (so that a value decoded again after each refill costs
        linear time overall); False at the end of the stream."""
        if self.done:
            return False
        rest = self.text[self.pos:]
        parts = [rest]
        want = max(len(rest), 1)
        got = 0
        for chunk in self._chunks:
            parts.append(chunk)
            got += len(chunk)
            if got >= want:
                break
        else:
            self.done = True
        self.text = "".join(parts)
        self.pos = 0
        return got > 0

    def peek(self) -> str:
        """The next character that is not blank ("" at the end); the position moves onto it."""
        while True:
            text, pos, end = self.text, self.pos, len(self.text)
            while pos < end and text[pos] in _BLANK:
                pos += 1
            self.pos = pos
            if pos < end:
                return text[pos]
            if not self.more():
                return ""

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODE(self.text, self.pos)
            except json.JSONDecodeError:
                if self.more():
                    continue
                raise NotStreamable("not valid JSON") from None
            except RecursionError:
                raise NotStreamable("nested too deeply") from None
            if not self.done and _may_go_on(self.text, end, value) and self.more():
                continue      # a number cut by the chunk's end ("3." of "3.25"): decode it again, whole
            self.pos = end
            return value


_NUMBER = frozenset("0123456789.eE+-")


def _may_go_on(text: str, end: int, value: Any) -> bool:
    """Whether the text after a decoded value may still be part of it once more text comes: only a number
    that nothing but number characters follow up to the end of the window."""
    if end == len(text):
        return True
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return all(char in _NUMBER for char in text[end:end + 32]) and end + 32 >= len(text)


def stream_document(chunks: Iterable[str], arrays: Dict[Path, Callable[[Any], None]],
                    into: Optional[dict] = None) -> dict:
    """The top-level object of the text `chunks`, where each array at a path of `arrays` (keys from the
    top) is handed to its callback element by element and left empty in what is returned. `into`: the
    dict the top-level keys go into as they are decoded (a callback may read what came before it)."""
    window = _Window(chunks)
    if window.peek() != "{":
        raise NotStreamable("not an object")
    prefixes = {path[:n] for path in arrays for n in range(1, len(path))}
    doc = _object(window, (), arrays, prefixes, {} if into is None else into)
    if window.peek() != "":
        raise NotStreamable("more after the document")
    return doc


def _object(window: _Window, path: Path, arrays: Dict[Path, Callable[[Any], None]], prefixes: set,
            out: Optional[dict] = None) -> dict:
    window.pos += 1          # the "{"
    out = {} if out is None else out
    char = window.peek()
    if char == "}":
        window.pos += 1
        return out
    while True:
        if char != '"':
            raise NotStreamable("not valid JSON")
        key = window.value()
        if window.peek() != ":":
            raise NotStreamable("not valid JSON")
        window.pos += 1
        sub = path + (key,)
        char = window.peek()
        if (sub in arrays or sub in prefixes) and key in out:
            raise NotStreamable(f"{key!r} given twice")
        if sub in arrays and char == "[":
            _array(window, arrays[sub])
            out[key] = []
        elif sub in prefixes and char == "{":
            out[key] = _object(window, sub, arrays, prefixes)
        else:
            out[key] = window.value()
        char = window.peek()
        if char == ",":
            window.pos += 1
            char = window.peek()
            continue
        if char == "}":
            window.pos += 1
            return out
        raise NotStreamable("not valid JSON")


def _array(window: _Window, each: Callable[[Any], None]) -> None:
    window.pos += 1          # the "["
    if window.peek() == "]":
        window.pos += 1
        return
    while True:
        each(window.value())
        char = window.peek()
        if char == ",":
            window.pos += 1
            continue
        if char == "]":
            window.pos += 1
            return
        raise NotStreamable("not valid JSON")


def text_chunks(data: bytes, size: int = 1 << 20) -> Iterator[str]:
    """`data` (UTF-8) as text, `size` bytes at a time: never a second copy of the whole (UnicodeDecodeError
    as bytes.decode raises it)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(view), size):
            yield decoder.decode(view[start:start + size])
        yield decoder.decode(b"", final=True)
    finally:
        view.release()


def decoded(chunks: Iterable[bytes]) -> Iterator[str]:
    """Byte chunks as they come (an answer streamed off the network), as UTF-8 text (UnicodeDecodeError as
    bytes.decode raises it)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for chunk in chunks:
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)
