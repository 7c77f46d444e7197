"""k8s/jsonitems.py: a document read from chunks, the elements of chosen arrays handed out one by one,
gives what json.loads gives, wherever the chunks are cut; what it cannot follow raises NotStreamable."""
import json
import random

import pytest

from kubectl_linkerd_otel.k8s.jsonitems import NotStreamable, stream_document, text_chunks


def cut(text, sizes):
    """`text` in chunks of the given sizes, cycling."""
    out, at, i = [], 0, 0
    while at < len(text):
        out.append(text[at:at + sizes[i % len(sizes)]])
        at += sizes[i % len(sizes)]
        i += 1
    return out


def streamed(text, paths, sizes=(1,)):
    got = {path: [] for path in paths}
    doc = stream_document(cut(text, list(sizes)), {path: got[path].append for path in paths})
    return doc, got


DOCS = [
    {"apiVersion": "v1", "kind": "List", "items": [{"a": 1, "b": [1.5, -2e3, None, True]}, "x", 12345678901234567890,
                                                   {"é": "ü\u2028\ud83d\ude00", "q": "\"\\"}], "metadata": {}},
    {"items": []},
    {"metadata": {"continue": ""}, "items": [1, 2, 3], "kind": "PodList"},
    {"status": "success", "data": {"activeTargets": [{"labels": {"job": "j"}}], "droppedTargets": [{}, {}],
                                   "droppedTargetCounts": {"j": 2}}},
    {"data": {"activeTargets": None}},
    {"data": []},
    {},
    {"items": {"not": "a list"}},
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("indent", [None, 1])
def test_same_as_json_loads_wherever_cut(doc, indent):
    text = json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"
    paths = [("items",), ("data", "activeTargets"), ("data", "droppedTargets")]
    for sizes in ((1,), (2, 3), (7,), (len(text),), (1 << 20,)):
        skeleton, got = streamed(text, paths, sizes)
        whole = json.loads(text)
        for path, items in got.items():
            holder = whole
            for key in path[:-1]:
                holder = holder.get(key) if isinstance(holder, dict) else None
            if isinstance(holder, dict) and isinstance(holder.get(path[-1]), list):
                assert items == holder[path[-1]]
                holder[path[-1]] = []
            else:
                assert items == []
        assert skeleton == whole


def test_random_documents_same_as_json_loads():
    rng = random.Random(24)

    def value(depth):
        kind = rng.randrange(7 if depth < 4 else 4)
        if kind == 0:
            return rng.choice([None, True, False])
        if kind == 1:
            return rng.choice([0, -1, 10 ** 20, 3.25, -1e-7])
        if kind in (2, 3):
            return "".join(rng.choice("ab\"\\é\n\u00ff\U0001f600 ") for _ in range(rng.randrange(6)))
        if kind in (4, 5):
            return {rng.choice(["items", "k", "data", "é"]): value(depth + 1) for _ in range(rng.randrange(4))}
        return [value(depth + 1) for _ in range(rng.randrange(4))]

    for _ in range(300):
        doc = {"items": [value(1) for _ in range(rng.randrange(5))], "x": value(1)}
        if rng.random() < 0.3:
            doc = {"x": value(1)}
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))
        items = []
        skeleton = stream_document(cut(text, [rng.randrange(1, 9)]), {("items",): items.append})
        whole = json.loads(text)
        if isinstance(whole.get("items"), list):
            assert items == whole["items"]
            whole["items"] = []
        assert skeleton == whole


@pytest.mark.parametrize("text", [
    "[1, 2]", '"items"', "", "   ", '{"items": [1, 2', '{"items": [1, 2]', '{"items": [1,]}', '{"a": 1,}',
    '{"items": [1]} x', '{"items": [1], "items": [2]}', '{"data": {}, "data": {}}', '{"a" 1}', "{'a': 1}",
    '{"items": [' + "[" * 5000 + "]" * 5000 + "]}",
])
def test_what_it_cannot_follow(text):
    with pytest.raises(NotStreamable):
        stream_document(cut(text, [3]), {("items",): lambda item: None, ("data", "x"): lambda item: None})


def test_duplicate_keys_elsewhere_last_wins():
    text = '{"kind": "A", "items": [1], "kind": "B"}'
    assert stream_document([text], {("items",): lambda item: None}) == json.loads(text) | {"items": []}


def test_an_element_never_waits_for_the_whole_document():
    """Each element is handed out once its own text has come: the chunks after it are not read yet."""
    read = []

    def chunks():
        for piece in ['{"items": [', '{"n": 1}', ", ", '{"n": 2}', "]}"]:
            read.append(piece)
            yield piece

    seen = []
    stream_document(chunks(), {("items",): lambda item: seen.append((item, len(read)))})
    assert seen[0][1] < 5


def test_text_chunks_decode_utf8_cut_anywhere():
    data = "é€😀abc".encode() * 100
    assert "".join(text_chunks(data, size=3)) == data.decode()
    with pytest.raises(UnicodeDecodeError):
        "".join(text_chunks(b"\xff\xfe", size=1))


def test_the_json_writer_writes_a_generator_as_the_list_it_yields():
    """commands/jsonout.py: `targets -o json` hands the writer its targets as generators (made as they
    are written); the text is the one of the same lists, json.dumps(indent=2) above `depth`."""
    from kubectl_linkerd_otel.commands.jsonout import iter_json

    doc = {"status": "success", "data": {"activeTargets": [{"labels": {"a": "1"}, "health": "up", "x": []},
                                                           {"labels": {}, "n": 1.5}],
                                         "droppedTargets": [], "counts": {"j": 2}}, "top": [1, [2]]}
    lazy = {"status": "success", "data": {"activeTargets": (t for t in doc["data"]["activeTargets"]),
                                          "droppedTargets": (t for t in []), "counts": {"j": 2}},
            "top": [1, [2]]}
    text = "".join(iter_json(doc))
    assert "".join(iter_json(lazy)) == text
    assert json.loads(text) == doc
    for depth in (1, 2, 3, 4, 5, 9):
        assert json.loads("".join(iter_json(doc, depth=depth))) == doc
    assert "".join(iter_json(doc, depth=9)) == json.dumps(doc, indent=2, ensure_ascii=False)
