"""The bounded reader (k8s/bounded.py) and the limits (k8s/limits.py) on their own: what the CLI tests of
tests/commands/test_bounded_input_cli.py rest on."""
from __future__ import annotations

import gzip
import os
import random
import threading
import time

import pytest

from kubectl_linkerd_otel.errors import UsageError
from kubectl_linkerd_otel.k8s.bounded import Exceeded, gunzip, read_chunks, read_file
from kubectl_linkerd_otel.k8s.limits import Limit, parse_size, show

MIB = 1024 * 1024


def test_chunks_are_joined_whole_across_the_memory_blocks():
    rng = random.Random(7)
    data = bytes(rng.getrandbits(8) for _ in range(4096)) * 2600        # about 10 MiB: past SMALL, 3 blocks
    cuts = sorted(rng.sample(range(1, len(data)), 300))
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    assert read_chunks(iter(chunks), Limit("test answers", 64 * MIB)) == data
    assert read_chunks(iter([]), Limit("test answers", 64 * MIB)) == b""


def test_the_size_limit_holds_for_the_reads_going_on_at_once():
    limit = Limit("shared test answers", 10 * MIB)
    with pytest.raises(Exceeded) as alone:
        read_chunks(iter([b"x" * MIB] * 11), limit)
    assert alone.value.why == "size" and not alone.value.shared
    started, release = threading.Event(), threading.Event()

    def holding():
        yield b"x" * (8 * MIB)
        started.set()
        release.wait(10)

    other = threading.Thread(target=lambda: read_chunks(holding(), limit))
    other.start()
    try:
        assert started.wait(10)
        with pytest.raises(Exceeded) as shared:
            read_chunks(iter([b"y" * MIB] * 3), limit)     # 3 MiB alone, 11 MiB with the other read
        assert shared.value.shared
    finally:
        release.set()
        other.join()
    assert read_chunks(iter([b"z" * MIB] * 9), limit) == b"z" * (9 * MIB)   # given back when it ended


def test_the_deadline_is_checked_as_each_chunk_comes():
    def trickle():
        while True:
            time.sleep(0.05)
            yield b"."

    with pytest.raises(Exceeded) as late:
        read_chunks(trickle(), Limit("test answers", MIB), deadline=time.monotonic() + 0.2)
    assert late.value.why == "time"


def test_gunzip_reads_every_member_and_refuses_a_bomb():
    assert gunzip(gzip.compress(b"a" * 1000) + gzip.compress(b"b"), MIB) == b"a" * 1000 + b"b"
    with pytest.raises(Exceeded) as big:
        gunzip(gzip.compress(os.urandom(64) * 40000), MIB)
    assert big.value.why == "size"
    with pytest.raises(Exceeded) as bomb:
        gunzip(gzip.compress(b" " * (40 * MIB)), 2 ** 31)
    assert bomb.value.why == "ratio" and bomb.value.blank
    with pytest.raises(EOFError):
        gunzip(gzip.compress(b"{}" * 1000)[:-20], MIB)


def test_files_by_type(tmp_path):
    small = Limit("test files", 1000)
    (tmp_path / "ok").write_bytes(b"a\r\nb\rc")
    assert read_file(str(tmp_path / "ok"), small) == b"a\r\nb\rc"
    assert read_file(str(tmp_path / "ok"), small, text=True) == "a\nb\nc"
    assert read_file("/dev/null", small, text=True) == ""
    (tmp_path / "big").write_bytes(b"x" * 1001)
    for path, fragment in ((tmp_path / "big", "is larger than 1000 bytes, the limit for test files"),
                           ("/dev/zero", "it is a character device, not a file"),
                           (tmp_path, "it is a directory"),
                           (tmp_path / "missing", "No such file")):
        with pytest.raises(UsageError) as refused:
            read_file(str(path), small, fix="pass another")
        assert fragment in str(refused.value) and str(refused.value).endswith("pass another"), refused.value


def test_a_pipe_is_read_up_to_the_limit(tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)

    def write(data):
        with open(fifo, "wb") as handle:
            try:
                handle.write(data)
            except BrokenPipeError:
                pass

    for data, expected in ((b"\xc3\xa9t\xc3\xa9\r\n", "\u00e9t\u00e9\n"), (b"x" * 5000, None)):
        writer = threading.Thread(target=write, args=(data,))
        writer.start()
        try:
            if expected is None:
                with pytest.raises(UsageError, match="is larger than 1000 bytes"):
                    read_file(fifo, Limit("test files", 1000), text=True)
            else:
                assert read_file(fifo, Limit("test files", 1000), text=True) == expected
        finally:
            writer.join(10)


def test_sizes_and_their_variables(monkeypatch):
    assert [parse_size(text, "X") for text in ("123", "4Ki", "2Mi", "1Gi", "1G", "5M", "64MiB")] == \
        [123, 4096, 2 * MIB, 1024 * MIB, 10 ** 9, 5 * 10 ** 6, 64 * MIB]
    for bad in ("", "lots", "-1", "0", "1.5Gi"):
        with pytest.raises(UsageError, match="is not a size"):
            parse_size(bad, "X")
    limit = Limit("test answers", 64 * MIB, "LINKERD_OTEL_TEST_LIMIT")
    monkeypatch.setenv("LINKERD_OTEL_TEST_LIMIT", "16Mi")
    assert limit.bytes == 16 * MIB and "LINKERD_OTEL_TEST_LIMIT=<size> (e.g. 64MiB)" in limit.hint()
    assert [show(n) for n in (512, 2048, 1536 * 1024, 2 * 1024 * MIB)] == ["512 bytes", "2KiB", "1.5MiB", "2GiB"]


def test_a_streamed_body_holds_only_the_chunk_being_read():
    from kubectl_linkerd_otel.k8s.bounded import _in_flight, bounded_chunks

    limit = Limit("streamed test answers", 10 * MIB)
    held = []
    for chunk in bounded_chunks(iter([b"x" * MIB] * 9), limit):
        held.append(_in_flight(limit).total)
    assert held == [MIB] * 9                          # 9 MiB came; never more than one held
    assert _in_flight(limit).total == 0
    with pytest.raises(Exceeded) as big:             # the limit still bounds the whole answer
        for _ in bounded_chunks(iter([b"x" * MIB] * 11), limit):
            pass
    assert big.value.why == "size" and not big.value.shared and _in_flight(limit).total == 0
    stream = bounded_chunks(iter([b"x" * MIB] * 3), limit)
    next(stream)
    stream.close()                                    # a reader that stops early gives its chunk back
    assert _in_flight(limit).total == 0


def test_a_streamed_body_is_cut_at_its_deadline():
    from kubectl_linkerd_otel.k8s.bounded import bounded_chunks

    def trickle():
        while True:
            time.sleep(0.05)
            yield b"."

    with pytest.raises(Exceeded) as late:
        for _ in bounded_chunks(trickle(), Limit("test answers", MIB), deadline=time.monotonic() + 0.2):
            pass
    assert late.value.why == "time"
