"""'Is this pod meshed' asked two ways (k8s/meshed.py): by the proxy container (the scrape engine) and by
the injector's label (check's data-plane checks, stat). They agree on injected pods and differ, on
purpose, on pods changed by hand."""
from types import SimpleNamespace

import pytest

from kubectl_linkerd_otel.checks.common import meshed_pods
from kubectl_linkerd_otel.k8s.meshed import has_mesh_label, has_proxy_container, proxy_container
from kubectl_linkerd_otel.scrape.sd import discover


def pod(name, label=None, containers=(), init=()):
    meta = {"name": name, "namespace": "app"}
    if label is not None:
        meta["labels"] = {"linkerd.io/control-plane-ns": label}
    return {"metadata": meta, "status": {"podIP": "10.0.0.1"},
            "spec": {"containers": [{"name": c} for c in containers],
                     "initContainers": [{"name": c, "restartPolicy": "Always"} for c in init]}}


INJECTED = pod("injected", "linkerd", ["app", "linkerd-proxy"])
NATIVE = pod("native", "linkerd", ["app"], ["linkerd-init", "linkerd-proxy"])
CONTAINER_ONLY = pod("container-only", None, ["app", "linkerd-proxy"])      # a proxy added by hand
LABEL_ONLY = pod("label-only", "linkerd", ["app"])                          # the proxy taken out by hand
EMPTY_LABEL = pod("empty-label", "", ["app", "linkerd-proxy"])
PLAIN = pod("plain", None, ["app"])


@pytest.mark.parametrize("p,by_container,by_label", [
    (INJECTED, True, True), (NATIVE, True, True), (PLAIN, False, False),
    (CONTAINER_ONLY, True, False), (LABEL_ONLY, False, True), (EMPTY_LABEL, True, False),
])
def test_the_two_answers_and_where_they_differ(p, by_container, by_label):
    assert has_proxy_container(p) is by_container and has_mesh_label(p) is by_label
    assert discover(p).meshed is by_container                       # the scrape engine: by container
    snap = SimpleNamespace(pods=[p])
    assert (meshed_pods(snap) == [p]) is by_label                   # check's data-plane checks: by label


def test_proxy_container_prefers_the_regular_container():
    assert proxy_container(NATIVE)["restartPolicy"] == "Always"
    assert proxy_container(INJECTED) == {"name": "linkerd-proxy"}
    assert proxy_container(PLAIN) is None and proxy_container({}) is None
