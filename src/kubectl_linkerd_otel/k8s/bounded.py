"""The one bounded reader under every way bytes come in (pure: no network; the kube and cluster layers
hand it their answers' chunks). Limits are in limits.py.

- `read_chunks`: an answer's body, chunk by chunk, refused past a size limit or a deadline (a body that
  never ends, or trickles in a byte at a time, is cut when the whole request's time is up). The limit
  holds for all the answers of its kind read at the same time (`check` reads 16 at once): what is held
  of them together never passes it. `bounded_chunks`: the same bounds for a body parsed as it streams.
- `read_file`: a file named on the command line. Special files are refused by type before a byte is read
  (`/dev/zero`, `/dev/urandom`, sockets, directories); a regular file over the limit is refused by its
  size; stdin and pipes are read up to the limit. `/dev/null` reads as empty.
- `gunzip`: decompressed piece by piece, refused past the limit or when it expands like a gzip bomb.
"""
from __future__ import annotations

import io
import codecs
import os
import stat
import sys
import threading
import time
from typing import Callable, Dict, Iterable, Iterator, Optional, Type, Union

from ..errors import PluginError, UsageError
from .limits import GZIP_CHECK_FROM, GZIP_MAX_RATIO, Limit, show

CHUNK = 1024 * 1024
SNIFF = 64 * 1024    # a stream's first bytes handed to `sniff` before the rest is read


class Exceeded(Exception):
    """A read passed a bound: `why` is "size", "time" or "ratio" (gzip); `seen` bytes had come by then;
    `blank`: all of them were whitespace; `shared`: other reads of the same kind held part of the limit."""

    def __init__(self, why: str, seen: int, blank: bool = False, shared: bool = False):
        super().__init__(why)
        self.why, self.seen, self.blank, self.shared = why, seen, blank, shared


class _InFlight:
    """Bytes held by the reads of one kind of answer going on at the same time."""

    def __init__(self) -> None:
        self.total = 0
        self._lock = threading.Lock()

    def take(self, size: int, cap: int) -> bool:
        with self._lock:
            if self.total + size > cap:
                return False
            self.total += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.total -= size


_IN_FLIGHT: Dict[str, _InFlight] = {}
_IN_FLIGHT_LOCK = threading.Lock()


def _in_flight(limit: Limit) -> _InFlight:
    with _IN_FLIGHT_LOCK:
        return _IN_FLIGHT.setdefault(limit.what, _InFlight())


class _Body:
    """An answer's bytes as they come. Past SMALL they go into blocks of memory mapped for them alone and
    unmapped when the read ends: the malloc heap of the thread that read them would keep them (16
    threads reading at once, each heap holding what its last answer left, would hold several times the
    limit)."""

    SMALL = 1024 * 1024
    BLOCK = 4 * 1024 * 1024

    def __init__(self) -> None:
        self.head = bytearray()
        self.blocks: list = []
        self.used = 0          # bytes in the last block

    def add(self, chunk: bytes) -> None:
        if not self.blocks and len(self.head) + len(chunk) <= self.SMALL:
            self.head += chunk
            return
        # lazy: only an answer past SMALL needs mmap; most reads (and most commands) never load it
        import mmap

        view = memoryview(chunk)
        while view:
            if not self.blocks or self.used == self.BLOCK:
                self.blocks.append(mmap.mmap(-1, self.BLOCK))
                self.used = 0
            size = min(len(view), self.BLOCK - self.used)
            self.blocks[-1][self.used:self.used + size] = view[:size]
            self.used += size
            view = view[size:]

    def join(self) -> bytes:
        views = [memoryview(self.head)] + [memoryview(block)[:self.BLOCK if index < len(self.blocks) - 1
                                                              else self.used]
                                           for index, block in enumerate(self.blocks)]
        try:
            return b"".join(views)
        finally:
            for view in views:
                view.release()

    def close(self) -> None:
        self.head = bytearray()
        for block in self.blocks:
            block.close()
        self.blocks = []


def bounded_chunks(chunks: Iterable[bytes], limit: Limit, deadline: Optional[float] = None) -> Iterator[bytes]:
    """The chunks as they come, under the bounds of `read_chunks`, for a reader that keeps only what it
    decodes of them (a large answer parsed as it streams): only the chunk being read counts as held."""
    held = _in_flight(limit)
    cap = limit.bytes
    seen = 0
    taken = 0
    try:
        for chunk in chunks:
            held.give(taken)
            taken = 0
            if seen + len(chunk) > cap or not held.take(len(chunk), cap):
                raise Exceeded("size", seen + len(chunk), shared=seen + len(chunk) <= cap)
            taken = len(chunk)
            seen += len(chunk)
            if deadline is not None and time.monotonic() > deadline:
                raise Exceeded("time", seen)
            yield chunk
    finally:
        held.give(taken)


def read_chunks(chunks: Iterable[bytes], limit: Limit, deadline: Optional[float] = None) -> bytes:
    """The chunks joined. Exceeded("size") once this read and the others of its kind going on at the same
    time hold more than `limit` together; Exceeded("time") once time.monotonic() passes `deadline`
    (checked as each chunk arrives; the transport's own timeout covers a silent peer)."""
    cap = limit.bytes
    held = _in_flight(limit)
    body = _Body()
    seen = 0
    try:
        for chunk in chunks:
            if not held.take(len(chunk), cap):
                raise Exceeded("size", seen + len(chunk), shared=seen + len(chunk) <= cap)
            seen += len(chunk)
            body.add(chunk)
            if deadline is not None and time.monotonic() > deadline:
                raise Exceeded("time", seen)
        return body.join()
    finally:
        held.give(seen)
        body.close()    # now: an error's traceback keeps this frame, not the memory with it


def too_big(label: str, limit: Limit, fix: str = "", shared: bool = False) -> str:
    """The one-line message for an input over its limit (`shared`: with the reads of its kind going on at
    the same time)."""
    hint = limit.hint() or fix
    label = f"{label}, with the answers read at the same time," if shared else label
    return f"{label} is larger than {show(limit.bytes)}, the limit for {limit.what}" + (f"; {hint}" if hint else "")


# --- files --------------------------------------------------------------------------------------------
_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _is_dev_null(st: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == null.st_rdev


def read_file(path: str, limit: Limit, *, label: str = "", fix: str = "", text: bool = False,
              error: Type[PluginError] = UsageError,
              sniff: Optional[Callable[[Union[str, bytes]], None]] = None) -> Union[str, bytes]:
    """The content of `path` (`-`: stdin), bytes or (text=True) UTF-8 text with universal newlines, within
    `limit`. Every failure is `error` with one line naming `label` (default: the path) and ending in `fix`.
    `sniff(first bytes or text)`: called on a stream's beginning before the rest is read, to refuse early
    what cannot be the expected input (it raises)."""
    label = label or path
    tail = f"; {fix}" if fix else ""
    cap = limit.bytes
    if path == "-":
        return _read_stdin(label, limit, cap, tail, text, error, sniff)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(f"cannot read {label}: {exc.strerror or exc}{tail}") from None
    if _is_dev_null(st):
        return "" if text else b""
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise error(f"cannot read {label}: it is {_kind(st.st_mode)}, not a file{tail}")
    if stat.S_ISREG(st.st_mode) and st.st_size > cap:
        raise error(too_big(label, limit, fix))
    try:
        if stat.S_ISREG(st.st_mode):
            with open(path, encoding="utf-8") if text else open(path, "rb") as handle:
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):   # swapped since the stat
                    raise error(f"cannot read {label}: it is not a file any more{tail}")
                data = handle.read(st.st_size)   # all of it, in one piece (not cap bytes allocated at once)
                more = []
                seen = len(data)
                while True:                        # it grew since the stat, or says 0 as /proc files do
                    chunk = handle.read(CHUNK)
                    if not chunk:
                        break
                    seen += len(chunk)
                    if seen > cap:
                        raise error(too_big(label, limit, fix))
                    more.append(chunk)
            return data + ("" if text else b"").join(more) if more else data
        with open(path, "rb") as handle:   # a pipe: as much as comes, up to the limit
            return _read_stream(handle, label, limit, cap, tail, text, error, sniff)
    except UnicodeDecodeError:
        raise error(f"cannot read {label}: it is not UTF-8 text{tail}") from None
    except IsADirectoryError:
        raise error(f"cannot read {label}: it is a directory{tail}") from None
    except OSError as exc:
        raise error(f"cannot read {label}: {exc.strerror or exc}{tail}") from None


def file_text_chunks(path: str, limit: Limit, *, label: str = "", fix: str = "",
                     error: Type[PluginError] = UsageError) -> Optional[Iterable[str]]:
    """A regular file's UTF-8 text, CHUNK bytes at a time, within `limit` and with read_file's one-line
    errors (raised as the chunks are read); None for anything else (stdin, a pipe, a special file,
    /dev/null), which read_file reads. For a reader that decodes as it goes (jsonitems): the whole text
    never exists at once."""
    if path == "-":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    label = label or path
    if st.st_size > limit.bytes:
        raise error(too_big(label, limit, fix))
    return _file_chunks(path, limit, label, f"; {fix}" if fix else "", fix, error)


def _file_chunks(path, limit, label, tail, fix, error):
    seen = 0
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):   # swapped since the stat
                raise error(f"cannot read {label}: it is not a file any more{tail}")
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    return
                seen += len(chunk)       # characters: at most the bytes
                if seen > limit.bytes:
                    raise error(too_big(label, limit, fix))
                yield chunk
    except UnicodeDecodeError:
        raise error(f"cannot read {label}: it is not UTF-8 text{tail}") from None
    except OSError as exc:
        raise error(f"cannot read {label}: {exc.strerror or exc}{tail}") from None


def _read_stdin(label, limit, cap, tail, text, error, sniff):
    stdin = sys.stdin
    try:
        st = os.fstat(stdin.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        st = None       # not a real file descriptor (tests, an embedding program)
    if st is not None:
        if _is_dev_null(st):
            return "" if text else b""
        if stat.S_ISCHR(st.st_mode) and not stdin.isatty():
            raise error(f"cannot read {label} (stdin): it is {_kind(st.st_mode)}, not a file or a pipe{tail}")
        if stat.S_ISREG(st.st_mode) and st.st_size > cap:
            raise error(too_big(label, limit, ""))
    handle = getattr(stdin, "buffer", None)
    try:
        if handle is not None:
            return _read_stream(handle, label, limit, cap, tail, text, error, sniff)
        return _read_text_stream(stdin, label, limit, cap, tail, text, error, sniff)
    except UnicodeDecodeError:
        raise error(f"cannot read {label}: it is not UTF-8 text{tail}") from None
    except OSError as exc:
        raise error(f"cannot read {label}: {exc.strerror or exc}{tail}") from None


def _read_stream(handle, label, limit, cap, tail, text, error, sniff):
    """A binary stream read up to `cap` bytes; decoded as it comes when `text` (so that bytes that are not
    UTF-8 are refused at once)."""
    decoder = codecs.getincrementaldecoder("utf-8")() if text else None
    parts: list = []
    seen = 0
    sniffed = sniff is None
    while True:
        chunk = handle.read(SNIFF if not sniffed else CHUNK)
        if not chunk:
            break
        seen += len(chunk)
        if seen > cap:
            raise error(too_big(label, limit, ""))
        parts.append(decoder.decode(chunk) if decoder else chunk)
        if not sniffed and seen >= SNIFF:
            sniffed = True
            sniff("".join(parts) if decoder else b"".join(parts))
    if decoder:
        parts.append(decoder.decode(b"", final=True))
        data = "".join(parts)
        if not sniffed and data:
            sniff(data)
        return _universal_newlines(data)
    data = b"".join(parts)
    if not sniffed and data:
        sniff(data)
    return data


def _read_text_stream(handle, label, limit, cap, tail, text, error, sniff):
    """A text stream (no bytes under it): characters counted against the limit."""
    parts = []
    seen = 0
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        seen += len(chunk)
        if seen > cap:
            raise error(too_big(label, limit, ""))
        parts.append(chunk)
    data = "".join(parts)
    if sniff is not None and data:
        sniff(data[:SNIFF])
    return data if text else data.encode("utf-8", "surrogateescape")


def _universal_newlines(text: str) -> str:
    """What open(..., encoding="utf-8") gives: \\r\\n and \\r read as \\n."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


# --- gzip ---------------------------------------------------------------------------------------------
class _Trickle(io.BytesIO):
    """Compressed bytes handed out at most 16 KiB at a time, so that how much was consumed is known
    closely enough to measure the expansion."""

    def read(self, size=-1):
        return super().read(16384 if size is None or size < 0 or size > 16384 else size)


def gunzip(data: bytes, cap: int) -> bytes:
    """`data` decompressed (every gzip member), piece by piece: Exceeded("size") past `cap` bytes,
    Exceeded("ratio") when past limits.GZIP_CHECK_FROM it has expanded more than GZIP_MAX_RATIO times.
    Damage raises as the gzip module does (EOFError when truncated, OSError / zlib.error when corrupt)."""
    # lazy: gzip costs ~1.5 ms at start-up; only a gzipped snapshot is decompressed
    import gzip

    source = _Trickle(data)
    parts = []
    seen = 0
    blank = True
    with gzip.GzipFile(fileobj=source) as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            seen += len(chunk)
            if blank and chunk.strip():
                blank = False
            if seen > cap:
                raise Exceeded("size", seen, blank)
            if seen > GZIP_CHECK_FROM and seen > GZIP_MAX_RATIO * max(source.tell(), 1):
                raise Exceeded("ratio", seen, blank)
            parts.append(chunk)
    return b"".join(parts)
