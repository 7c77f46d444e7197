"""Pod service discovery (role: pod) on the real pods of the shared harness mesh, and edge cases.
The differential suite compares the same discovery with a real Prometheus; these pin the details."""
import json
from pathlib import Path

import pytest

from kubectl_linkerd_otel.scrape.sd import (SDConfig, discover, field_selector_matches, label_selector_matches,
                                            parse_field_selector, parse_label_selector, sanitize)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
P = "__meta_kubernetes_pod_"


@pytest.fixture(scope="module")
def pods():
    with open(FIXTURES / "harness-mesh-pods.json", encoding="utf-8") as fh:
        return {p["metadata"]["name"]: p for p in json.load(fh)["items"]}


def by_name(pods, prefix):
    return next(p for n, p in pods.items() if n.startswith(prefix))


def test_native_sidecar_proxy_is_an_init_container_target(pods):
    pt = discover(by_name(pods, "web-5b4656675c"))
    assert pt.meshed
    admin = [t for t in pt.targets if t.port_name == "linkerd-admin"]
    assert len(admin) == 1
    labels = admin[0].labels
    assert labels[P + "container_init"] == "true"
    assert labels[P + "container_name"] == "linkerd-proxy"
    assert labels["__address__"] == "10.244.0.24:4191"
    assert labels[P + "container_port_number"] == "4191"
    assert labels[P + "container_port_protocol"] == "TCP"
    assert labels[P + "container_id"].startswith("containerd://")
    # containers first, then init containers
    assert [t.init for t in pt.targets] == sorted(t.init for t in pt.targets)


def test_regular_sidecar_proxy(pods):
    pt = discover(by_name(pods, "emoji-"))
    admin = [t for t in pt.targets if t.port_name == "linkerd-admin"]
    assert admin[0].labels[P + "container_init"] == "false"


def test_succeeded_pod_is_still_discovered(pods):
    pt = discover(by_name(pods, "hello-"))
    assert pt.phase == "Succeeded" and pt.targets
    assert pt.group[P + "phase"] == "Succeeded"
    assert pt.group[P + "ready"] == "false"
    assert pt.group[P + "controller_kind"] == "Job" and pt.group[P + "controller_name"] == "hello"


def test_group_labels(pods):
    pt = discover(by_name(pods, "emoji-"))
    g = pt.group
    assert g["__meta_kubernetes_namespace"] == "emojivoto"
    assert g[P + "name"] == pt.name and g[P + "ip"] == "10.244.0.22"
    assert g[P + "label_linkerd_io_control_plane_ns"] == "linkerd"
    assert g[P + "labelpresent_linkerd_io_control_plane_ns"] == "true"
    assert g[P + "annotation_linkerd_io_proxy_version"]
    assert g[P + "controller_kind"] == "ReplicaSet"
    assert all(v != "" for v in g.values())


def test_portless_container_gets_the_bare_ip(pods):
    pt = discover(by_name(pods, "d1-"))
    assert [t.labels["__address__"] for t in pt.targets] == [pt.ip]
    assert P + "container_port_name" not in pt.targets[0].labels


def edge_pod(**status):
    return {"metadata": {"name": "p", "namespace": "ns", "labels": {"a.b/c-d": "x", "empty": "", "ü": "1"},
                         "annotations": {"blank": ""}},
            "spec": {"containers": [{"name": "c", "image": "i",
                                     "ports": [{"containerPort": 80}, {"containerPort": 80, "name": "web"}]}],
                     "ephemeralContainers": [{"name": "debug"}]},
            "status": status}


def test_no_ip_no_targets():
    pt = discover(edge_pod(phase="Pending"))
    assert pt.targets == [] and pt.group == {}


def test_ipv6_address_in_brackets_and_portless_bare():
    pod = edge_pod(podIP="fd00::1")
    pod["spec"]["containers"].append({"name": "bare"})
    pt = discover(pod)
    assert [t.labels["__address__"] for t in pt.targets] == ["[fd00::1]:80", "[fd00::1]:80", "fd00::1"]


def test_empty_values_are_absent_and_names_sanitized():
    pt = discover(edge_pod(podIP="10.0.0.1"))
    g = pt.group
    assert g[P + "label_a_b_c_d"] == "x"
    assert P + "label_empty" not in g and g[P + "labelpresent_empty"] == "true"
    assert P + "annotation_blank" not in g and g[P + "annotationpresent_blank"] == "true"
    assert g[P + "label__"] == "1"                    # one code point, one underscore
    assert g[P + "ready"] == "unknown"                # no Ready condition
    assert P + "container_port_name" not in pt.targets[0].labels      # unnamed port
    assert len(pt.targets) == 2                        # ephemeral containers never count


def test_sanitize():
    assert sanitize("app.kubernetes.io/name") == "app_kubernetes_io_name"
    assert sanitize("a--b") == "a__b"
    assert sanitize("日本") == "__"


def test_label_selectors():
    reqs = parse_label_selector("app=web, tier!=db,env in (prod, staging),!legacy,team,zone notin (x)")
    assert label_selector_matches(reqs, {"app": "web", "env": "prod", "team": "a"})
    assert not label_selector_matches(reqs, {"app": "web", "env": "prod", "team": "a", "legacy": "1"})
    assert not label_selector_matches(reqs, {"app": "web", "env": "dev", "team": "a"})
    assert not label_selector_matches(reqs, {"app": "web", "env": "prod"})


def test_field_selectors():
    pod = {"metadata": {"name": "p", "namespace": "n"}, "spec": {"nodeName": "node-1"},
           "status": {"phase": "Running"}}
    assert field_selector_matches(parse_field_selector("spec.nodeName=node-1,status.phase!=Failed"), pod)
    assert not field_selector_matches(parse_field_selector("spec.nodeName==node-2"), pod)


def test_sd_config_filters_and_unresolved_env():
    sd = SDConfig(namespaces=["a"], own_namespace=True, field_selector="spec.nodeName=${env:K8S_NODE_NAME}").compile()
    assert sd.notes and "environment" in sd.notes[0]
    pod = {"metadata": {"namespace": "obs"}, "spec": {"nodeName": "x"}}
    assert sd.selects(pod, own="obs") and not sd.selects(pod, own="other")
