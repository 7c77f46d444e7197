"""Kube.iter(transform=...): each item of a page transformed as the page is decoded (k8s/jsonitems.py),
with the same items, in the same order, and the same errors as the page parsed whole."""
from __future__ import annotations

import json

import pytest

from kubectl_linkerd_otel import errors
from kubectl_linkerd_otel.apiclient import Answer, Kube, KubeOptions


def connect() -> Kube:
    return Kube.connect(KubeOptions())


def test_transformed_items_are_the_listed_items_transformed(mesh_api):
    kube = connect()
    whole = kube.list("pods", limit=5)
    seen = []
    streamed = list(kube.iter("pods", limit=5, transform=lambda p: seen.append(p) or p["metadata"]["name"]))
    assert streamed == [p["metadata"]["name"] for p in whole]
    assert seen == whole          # apiVersion and kind filled in as the whole page does


def test_transformed_items_after_an_expired_continue_token(mesh_api):
    mesh_api.expire_continue_tokens = 1
    names = list(connect().iter("pods", limit=5, transform=lambda p: p["metadata"]["name"]))
    assert sorted(names) == sorted(p["metadata"]["name"] for p in mesh_api.objects("pods"))


def _serving(monkeypatch, body: dict) -> Kube:
    kube = connect()
    monkeypatch.setattr(kube, "_request", lambda *a, **k: Answer(200, {}, json.dumps(body).encode(), "utf-8"))
    return kube


POD = {"metadata": {"name": "a", "namespace": "n"}, "spec": {"containers": [{"name": "c"}]}, "status": {}}


@pytest.mark.parametrize("body", [
    {"items": [POD], "kind": "PodList", "apiVersion": "v1", "metadata": {}},      # kind after the items
    {"items": [POD], "metadata": {}},                                           # no kind at all
    {"kind": "PodList", "apiVersion": "v2", "metadata": {}, "items": [POD, dict(POD, kind="Thing")]},
])
def test_what_the_whole_page_would_give(mesh_api, monkeypatch, body):
    whole = list(_serving(monkeypatch, body).iter("pods"))
    streamed = list(_serving(monkeypatch, body).iter("pods", transform=lambda p: p))
    assert streamed == whole


@pytest.mark.parametrize("body", [
    {"kind": "PodList", "items": [POD, "not an object"]},
    {"kind": "PodList", "items": [POD], "metadata": "not an object"},
    {"kind": "PodList", "items": [dict(POD, spec={"containers": "not a list"})]},
])
def test_the_same_error_as_the_whole_page(mesh_api, monkeypatch, body):
    with pytest.raises(errors.PluginError) as whole:
        list(_serving(monkeypatch, body).iter("pods"))
    with pytest.raises(errors.PluginError) as streamed:
        list(_serving(monkeypatch, body).iter("pods", transform=lambda p: p))
    assert str(streamed.value) == str(whole.value)
