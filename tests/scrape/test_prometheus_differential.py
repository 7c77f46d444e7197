"""Differential tests: our scrape simulation against a real Prometheus 3.5.3 on the same inputs.

One Prometheus process holds every case as its own scrape pool. Each case gives label sets (from our
pod service discovery, or written by hand) and a scrape config; both sides must agree on which
targets are kept, which are dropped, and the exact final and discovered label sets and scrape URLs.
A second Prometheus runs `kubernetes_sd_configs` against a small fake API server serving the shared
fixture pods, so the pod discovery itself is compared too.

Prometheus' answers are recorded in tests/golden/prometheus/differential-targets.json and
differential-rule-validation.json: without a binary the engine is compared with the recording, with one
also with the live answer, and a live answer unlike the recording fails as stale (prometheus_harness).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml

from kubectl_linkerd_otel.scrape.config import scrape_job, unescape
from kubectl_linkerd_otel.scrape.sd import discover
from kubectl_linkerd_otel.scrape.targets import simulate_job

from prometheus_harness import FakePodsApi, Prometheus, Recording, canonical, live, prometheus_binary, \
    recorded_config_error, summarize_pool

pytestmark = pytest.mark.prometheus

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GLOBAL = {"scrape_interval": "1h", "scrape_timeout": "10s"}
INTERVAL_MS, TIMEOUT_MS = 3600_000, 10_000
TARGETS = Recording("differential-targets")
RULE_VALIDATION = Recording("differential-rule-validation")
API_SERVER = "http://127.0.0.1:6443"     # the fake API server's URL in the recorded inputs and our engine


# -- inputs ----------------------------------------------------------------------------------------
def fixture_pods() -> List[dict]:
    """The shared harness mesh, every IP moved to the loopback range (nothing leaves the machine)."""
    with open(FIXTURES / "harness-mesh-pods.json", encoding="utf-8") as fh:
        pods = json.load(fh)["items"]
    ips: Dict[str, str] = {}
    for pod in pods:
        status = pod.get("status") or {}
        for key in ("podIP", "hostIP"):
            if status.get(key):
                status[key] = ips.setdefault(status[key], f"127.0.1.{len(ips) + 1}")
        for entry in status.get("podIPs") or []:
            entry["ip"] = ips.setdefault(entry["ip"], f"127.0.1.{len(ips) + 1}")
        for entry in status.get("hostIPs") or []:
            entry["ip"] = ips.setdefault(entry["ip"], f"127.0.1.{len(ips) + 1}")
    return pods


def make_pod(name: str, *, namespace: str = "app", ip: Optional[str] = "127.0.2.1", phase: str = "Running",
             labels: Optional[dict] = None, annotations: Optional[dict] = None,
             containers: Optional[list] = None, init: Optional[list] = None, ready: Optional[str] = "True",
             owner: Optional[dict] = None, node: str = "node-1") -> dict:
    status: dict = {"phase": phase, "hostIP": "127.0.3.1"}
    if ip:
        status["podIP"] = ip
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    meta = {"name": name, "namespace": namespace, "uid": f"uid-{name}",
            "labels": labels or {}, "annotations": annotations or {}}
    if owner:
        meta["ownerReferences"] = [owner]
    return {"metadata": meta, "spec": {"nodeName": node, "containers": containers or [],
                                        "initContainers": init or []}, "status": status}


def proxy(native: bool = False) -> dict:
    c = {"name": "linkerd-proxy", "image": "cr.l5d.io/linkerd/proxy:edge-26.6.3",
         "ports": [{"name": "linkerd-proxy", "containerPort": 4143, "protocol": "TCP"},
                   {"name": "linkerd-admin", "containerPort": 4191, "protocol": "TCP"}]}
    if native:
        c["restartPolicy"] = "Always"
    return c


def app(name: str = "app", ports=((8080, "http"),)) -> dict:
    return {"name": name, "image": f"example/{name}:1",
            "ports": [dict({"containerPort": n, "protocol": "TCP"}, **({"name": pn} if pn else {}))
                      for n, pn in ports]}


MESHED = {"linkerd.io/control-plane-ns": "linkerd", "linkerd.io/proxy-deployment": "web",
          "linkerd.io/workload-ns": "app", "app": "web", "pod-template-hash": "abc123"}


def groups_from_pods(pods: List[dict]) -> List[dict]:
    """static_configs groups carrying exactly what our pod discovery emits."""
    out = []
    for pod in pods:
        pt = discover(pod)
        for info in pt.targets:
            labels = dict(pt.group)
            labels.update(info.labels)
            address = labels.pop("__address__")
            out.append({"targets": [address], "labels": labels})
    return out


@dataclass
class Case:
    id: str
    rules: List[dict] = field(default_factory=list)
    groups: List[dict] = field(default_factory=list)
    pods: Optional[List[dict]] = None
    extra: dict = field(default_factory=dict)        # scrape_interval, params, scheme, metrics_path ...

    def static_groups(self) -> List[dict]:
        return self.groups + (groups_from_pods(self.pods) if self.pods else [])

    def prometheus_job(self) -> dict:
        job = {"job_name": self.id, **copy.deepcopy(self.extra),
               "static_configs": self.static_groups()}
        if self.rules:
            job["relabel_configs"] = copy.deepcopy(self.rules)
        return job


def reference_jobs() -> Dict[str, dict]:
    with open(FIXTURES / "harness-mesh-collector-configmap.json", encoding="utf-8") as fh:
        text = json.load(fh)["data"]["config.yaml"]
    config = yaml.safe_load(text)
    prom = unescape(config["receivers"]["prometheus/linkerd"])["config"]
    return {j["job_name"]: j for j in prom["scrape_configs"]}


def viz_jobs(cp: str = "linkerd") -> Dict[str, dict]:
    """The linkerd-viz chart's scrape jobs (templates/prometheus.yaml, 2.19+ port names): the proxy job
    keeps phase Pending|Running first; the reference setup's proxy rules follow."""
    proxy_tail = reference_jobs()["linkerd-proxy"]["relabel_configs"][1:]
    return {
        "linkerd-controller": {"job_name": "linkerd-controller", "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "action": "keep",
             "regex": ".*admin$"},
            {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "action": "drop",
             "regex": "linkerd-admin"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "action": "replace",
             "target_label": "component"}]},
        "linkerd-multicluster-controller": {"job_name": "linkerd-multicluster-controller", "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_label_component",
                               "__meta_kubernetes_pod_container_port_name"],
             "action": "keep", "regex": "(linkerd-service-mirror|controller);.*admin$"},
            {"source_labels": ["__meta_kubernetes_pod_container_name"], "action": "replace",
             "target_label": "component"}]},
        "linkerd-proxy": {"job_name": "linkerd-proxy", "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_phase"], "action": "keep", "regex": "(Pending|Running)"},
            {"source_labels": ["__meta_kubernetes_pod_container_name",
                               "__meta_kubernetes_pod_container_port_name",
                               "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"],
             "action": "keep", "regex": f"^linkerd-proxy;linkerd-admin;{cp}$"},
            *proxy_tail]},
    }


def rendered_jobs() -> Dict[str, dict]:
    """The jobs our own `install` renders (their `$$` undone), when the renderer offers them."""
    try:
        from kubectl_linkerd_otel.render.collector_config import scrape_jobs
        from kubectl_linkerd_otel.render.options import InstallOptions

        return {j["job_name"]: unescape(j) for j in scrape_jobs(InstallOptions())}
    except (ImportError, TypeError, AttributeError):  # the renderer changed shape: covered elsewhere
        return {}


def g(address: str, **labels) -> dict:
    return {"targets": [address], "labels": labels}


def one(value: str, name: str = "src", **more) -> List[dict]:
    return [g("127.0.0.1:9100", **{name: value}, **more)]


A = "127.0.0.1:9100"


def build_cases() -> List[Case]:
    pods = fixture_pods()
    cases: List[Case] = []
    ref = reference_jobs()
    for name, job in ref.items():
        cases.append(Case(f"reference-{name}", job.get("relabel_configs") or [], pods=pods))
    for name, job in viz_jobs().items():
        cases.append(Case(f"viz-{name}", job.get("relabel_configs") or [], pods=pods))
    other = viz_jobs("linkerd-other")["linkerd-proxy"]
    cases.append(Case("viz-proxy-other-control-plane", other["relabel_configs"], pods=pods))
    for name, job in rendered_jobs().items():
        cases.append(Case(f"install-{name}", job.get("relabel_configs") or [], pods=pods))

    synthetic = [
        make_pod("web-1", labels=MESHED, containers=[proxy(), app()], init=[{"name": "linkerd-init",
                                                                            "image": "proxy-init"}],
                 owner={"kind": "ReplicaSet", "name": "web-abc123", "controller": True}),
        make_pod("native-1", ip="127.0.2.2", labels=MESHED, containers=[app("svc", ())],
                 init=[{"name": "linkerd-init", "image": "proxy-init"}, proxy(native=True)]),
        make_pod("done-1", ip="127.0.2.3", phase="Succeeded", ready="False",
                 labels=dict(MESHED, **{"linkerd.io/proxy-job": "hello", "job-name": "hello"}),
                 containers=[app("hello", ())], init=[proxy(native=True)]),
        make_pod("v6-1", ip="::1", labels=MESHED, containers=[proxy(), app()]),
        make_pod("odd-labels", ip="127.0.2.4", ready=None,
                 labels={"a.b/c-d": "x", "empty": "", "ünï": "u", "linkerd.io/control-plane-ns": "linkerd"},
                 annotations={"config.linkerd.io/x": "1", "blank": ""},
                 containers=[{"name": "linkerd-proxy", "image": "p",
                              "ports": [{"containerPort": 4191}, {"containerPort": 4191, "name": "linkerd-admin"},
                                        {"containerPort": 4191, "name": "linkerd-admin"}]}]),
    ]
    proxy_rules = ref["linkerd-proxy"]["relabel_configs"]
    viz_proxy = viz_jobs()["linkerd-proxy"]["relabel_configs"]
    cases += [
        Case("sd-synthetic-reference-proxy", proxy_rules, pods=synthetic),
        Case("sd-synthetic-viz-proxy", viz_proxy, pods=synthetic),
        Case("sd-synthetic-no-rules", [], pods=synthetic),
        Case("sd-duplicate-ports-collapse", [{"action": "labeldrop", "regex": "__meta_kubernetes_pod_container_port_name"}],
             pods=[synthetic[4]]),
        # -- replace ---------------------------------------------------------------------------
        Case("replace-defaults", [{"source_labels": ["src"], "target_label": "dst"}], one("v")),
        Case("replace-empty-source-deletes", [{"source_labels": ["missing"], "target_label": "src"}], one("v")),
        Case("replace-groups", [{"source_labels": ["src"], "regex": "(\\w+)-(\\d+)", "target_label": "dst",
                                 "replacement": "${2}_$1"}], one("web-42")),
        Case("replace-dollar-1-underscore", [{"source_labels": ["src"], "regex": "(.*)", "target_label": "dst",
                                              "replacement": "$1_suffix"}], one("v")),
        Case("replace-named-groups", [{"source_labels": ["src"], "regex": "(?P<ns>[^/]+)/(?<pod>.+)",
                                       "target_label": "dst", "replacement": "$pod.$ns|${ns}x|$0|$9|$$|$-|${"}],
             one("default/web-1")),
        Case("replace-target-template", [{"source_labels": ["src"], "regex": "(.*)=(.*)",
                                          "target_label": "${1}", "replacement": "$2"}],
             one("the.key=value") + one("=novalue", n="2")),
        Case("replace-no-match", [{"source_labels": ["src"], "regex": "nope", "target_label": "dst",
                                   "replacement": "x"}], one("v")),
        Case("replace-empty-result-deletes", [{"source_labels": ["src"], "regex": "(a*)b", "target_label": "src",
                                               "replacement": "$1"}], one("b")),
        Case("replace-literal-no-source", [{"target_label": "env", "replacement": "prod"},
                                           {"target_label": "gone", "replacement": ""}], one("v", gone="x")),
        Case("replace-separator", [{"source_labels": ["a", "b", "missing", "c"], "separator": "",
                                    "target_label": "j1"},
                                   {"source_labels": ["a", "b", "c"], "separator": "::", "target_label": "j2"}],
             [g(A, a="1", b="2", c="3")]),
        Case("replace-address-and-path", [{"source_labels": ["__address__"], "regex": "([^:]+):\\d+",
                                           "target_label": "__address__", "replacement": "$1:4191"},
                                          {"target_label": "__metrics_path__", "replacement": "/stats/prom etheus!"},
                                          {"target_label": "__param_format", "replacement": "a b&c"},
                                          {"target_label": "__scheme__", "replacement": "https"}],
             [g(A)], extra={"params": {"module": ["m1", "m2"], "format": ["x"]}}),
        Case("replace-utf8-target", [{"source_labels": ["src"], "target_label": "ünïcode.name"}], one("v")),
        Case("replace-duplicate-group-names", [{"source_labels": ["src"], "regex": "(?P<n>x)?(?P<n>y)?z",
                                                "target_label": "dst", "replacement": "[$n]"}],
             one("yz") + one("xz", i="2")),
        Case("replace-template-target-utf8", [{"source_labels": ["src"], "regex": "(.*)",
                                               "target_label": "$1 x", "replacement": "v"}], one("a.b")),
        Case("labelmap-utf8-replacement", [{"action": "labelmap", "regex": "__meta_(.+)",
                                            "replacement": "meta.$1"}], [g(A, __meta_x="1", __meta_y_z="2")]),
        Case("replace-action-case-insensitive", [{"source_labels": ["src"], "action": "RePlAcE",
                                                  "target_label": "dst"}], one("v")),
        # -- keep / drop -------------------------------------------------------------------------
        Case("keep-anchored", [{"source_labels": ["src"], "regex": "web", "action": "keep"}],
             one("web") + one("webapp", i="2") + one("my-web", i="3")),
        Case("drop-alternation", [{"source_labels": ["src"], "regex": "a|b.*", "action": "drop"}],
             one("a") + one("ab", i="2") + one("ca", i="3")),
        Case("keep-missing-label-empty", [{"source_labels": ["missing"], "regex": "", "action": "keep"}],
             one("x") + one("y", missing="set")),
        Case("keep-multi-source", [{"source_labels": ["a", "b"], "regex": "1;(2|3)", "action": "keep"}],
             [g(A, a="1", b="2"), g(A, a="1", b="4"), g(A, a="1")]),
        Case("drop-first-wins", [{"source_labels": ["a"], "regex": "1", "action": "drop"},
                                 {"source_labels": ["a"], "regex": ".*", "action": "replace", "target_label": "never"}],
             [g(A, a="1"), g(A, a="2")]),
        # -- keepequal / dropequal / hashmod -------------------------------------------------------
        Case("keepequal", [{"source_labels": ["a"], "target_label": "b", "action": "keepequal"}],
             [g(A, a="1", b="1"), g(A, a="1", b="2"), g(A, c="1")]),
        Case("dropequal", [{"source_labels": ["a", "b"], "target_label": "c", "action": "dropequal"}],
             [g(A, a="1", b="2", c="1;2"), g(A, a="1", b="2", c="x")]),
        Case("hashmod", [{"source_labels": ["__address__"], "modulus": 8, "target_label": "shard",
                          "action": "hashmod"},
                         {"source_labels": ["src"], "modulus": 1000003, "target_label": "big",
                          "action": "hashmod"}],
             [g(f"127.0.0.{i}:9100", src=f"value-{i}") for i in range(1, 9)]),
        # -- labelmap / labeldrop / labelkeep -----------------------------------------------------
        Case("labelmap-default", [{"action": "labelmap", "regex": "__meta_(.+)"}],
             [g(A, __meta_x_y="1", __meta_z="2", keep="3")]),
        Case("labelmap-replacement", [{"action": "labelmap", "regex": "__meta_k_(.+)_(\\d)",
                                       "replacement": "k_${2}_$1"}],
             [g(A, __meta_k_a_1="1", __meta_k_b_2="2", __meta_k_c="no")]),
        Case("labelmap-snapshot", [{"action": "labelmap", "regex": "(a+)", "replacement": "${1}a"}],
             [g(A, a="1", aa="2", aaa="3")]),
        Case("labeldrop", [{"action": "labeldrop", "regex": "tmp_.*|x"}],
             [g(A, tmp_a="1", tmp_b="2", x="3", xy="4")]),
        Case("labelkeep-internal", [{"action": "labelkeep", "regex": "__.*|keep"}],
             [g(A, keep="1", other="2")]),
        Case("labelkeep-drops-address", [{"action": "labelkeep", "regex": "keep"}], [g(A, keep="1")]),
        # -- lowercase / uppercase -----------------------------------------------------------------
        Case("lowercase", [{"source_labels": ["src"], "target_label": "low", "action": "lowercase"}],
             one("MiXeD-İSTANBUL-ΑΣ-ÄÖÜ")),
        Case("uppercase", [{"source_labels": ["src"], "target_label": "up", "action": "uppercase"}],
             one("straße-ﬀ-ᾳ-ǅ-ŉ-ı")),
        Case("lowercase-empty-deletes", [{"source_labels": ["missing"], "target_label": "src",
                                          "action": "lowercase"}], one("x")),
        # -- regex pitfalls (docs/architecture.md) --------------------------------------------------
        Case("regex-dot-matches-newline", [{"source_labels": ["src"], "regex": "a.b", "action": "keep"}],
             one("a\nb") + one("a\n\nb", i="2")),
        Case("regex-dollar-before-trailing-newline", [{"source_labels": ["src"], "regex": "abc$", "action": "keep"}],
             one("abc\n") + one("abc", i="2")),
        Case("regex-no-dotall-inline", [{"source_labels": ["src"], "regex": "(?-s:a.b)", "action": "keep"}],
             one("a\nb") + one("axb", i="2")),
        Case("regex-brace-literal", [{"source_labels": ["src"], "regex": "a{,3}", "action": "keep"},
                                     {"source_labels": ["src"], "regex": "(a)\\{(,)3}", "target_label": "m",
                                      "replacement": "$1$2"}],
             one("a{,3}") + one("aaa", i="2")),
        Case("regex-leading-zero-brace", [{"source_labels": ["src"], "regex": "a{01}", "action": "keep"}],
             one("a{01}") + one("a", i="2")),
        Case("regex-unicode-class", [{"source_labels": ["src"], "regex": "\\pL+-\\p{Nd}+-\\PL", "action": "keep"}],
             one("Ünïcödé-١٢-3") + one("abc-12-x", i="2")),
        Case("regex-posix-class", [{"source_labels": ["src"], "regex": "[[:alpha:]]+[[:digit:]][[:^space:]]",
                                    "action": "keep"}], one("abc1x") + one("abc1 ", i="2")),
        Case("regex-quote", [{"source_labels": ["src"], "regex": "\\Qa.b*c\\E+", "action": "keep"}],
             one("a.b*cc") + one("axbbc", i="2")),
        Case("regex-perl-classes-ascii", [{"source_labels": ["src"], "regex": "\\d+\\s\\w+", "action": "keep"}],
             one("12 ab") + one("١٢ ab", i="2") + one("12\vab", i="3") + one("12 äb", i="4")),
        Case("regex-case-insensitive", [{"source_labels": ["src"], "regex": "(?i)linkerd-(PROXY|admin)",
                                         "action": "keep"}],
             one("LINKERD-proxy") + one("Linkerd-Admin", i="2") + one("linkerd-init", i="3")),
        Case("regex-ungreedy-flag", [{"source_labels": ["src"], "regex": "(?U)(a+)(a*)", "target_label": "m",
                                      "replacement": "$1|$2"}], one("aaaa")),
        Case("regex-non-greedy", [{"source_labels": ["src"], "regex": "(.+?)(\\d*)", "target_label": "m",
                                   "replacement": "$1|$2"}], one("abc123")),
        Case("regex-leftmost-first", [{"source_labels": ["src"], "regex": "(a|ab)(c|bcd)(d*)", "target_label": "m",
                                       "replacement": "$1|$2|$3"}], one("abcd")),
        Case("regex-multiline-flag", [{"source_labels": ["src"], "regex": "(?m)(?:^b$|.)*", "action": "keep"},
                                      {"source_labels": ["src"], "regex": "(?m)a$\\n^b", "action": "keep"}],
             one("a\nb") + one("ab", i="2")),
        Case("regex-escapes", [{"source_labels": ["src"], "regex": "\\x41\\x{1F600}\\101\\t\\.\\_", "action": "keep"}],
             [g(A, src="A\U0001F600A\t._")]),
        Case("regex-empty", [{"source_labels": ["missing"], "regex": "", "target_label": "hit",
                              "replacement": "yes"}], one("x")),
        Case("regex-negated-class-newline", [{"source_labels": ["src"], "regex": "[^a]b", "action": "keep"}],
             one("\nb") + one("ab", i="2")),
        Case("regex-word-boundary", [{"source_labels": ["src"], "regex": ".*\\bx\\b.*", "action": "keep"}],
             one("a x b") + one("éxé", i="2") + one("axb", i="3")),
        Case("regex-case-fold-unicode", [{"source_labels": ["src"], "regex": "(?i)straße|k", "action": "keep"}],
             one("STRAßE") + one("\u212a", i="2") + one("STRASSE", i="3")),
        # -- targets: defaults, validity, instance, dedup ------------------------------------------
        Case("defaults-not-overridden", [], [g(A, job="preset", __scheme__="https",
                                                 __metrics_path__="/m", instance="custom")]),
        Case("interval-and-timeout", [], [g(A)], extra={"scrape_interval": "90s", "scrape_timeout": "45s"}),
        Case("interval-relabeled-invalid", [{"source_labels": ["src"], "target_label": "__scrape_interval__"}],
             one("0s") + one("abc", i="2") + one("2h", i="3") + one("5s", i="4")),
        Case("address-with-slash-invalid", [{"target_label": "__address__", "replacement": "127.0.0.1:9/x"}],
             [g(A)]),
        Case("instance-from-relabel", [{"source_labels": ["src"], "target_label": "instance"}],
             one("my-instance") + one("", i="2")),
        Case("duplicates-collapse", [{"action": "labeldrop", "regex": "i"}],
             [g(A, i="1"), g(A, i="2"), g(A, i="3")]),
        Case("tmp-labels-hidden", [{"source_labels": ["src"], "target_label": "__tmp_x"}], one("v")),
        Case("empty-static-label-absent", [{"source_labels": ["e"], "regex": "", "action": "keep"}],
             [g(A, e=""), g(A, e="x")]),
        Case("ipv6-address", [], [g("[::1]:4191", src="v")]),
        Case("portless-address", [{"source_labels": ["__address__"], "regex": "(.*)", "target_label": "__address__",
                                   "replacement": "${1}:4191"}], [g("127.0.0.5")]),
    ]
    return cases


CASES = build_cases()


# -- kubernetes_sd_configs against a fake API server: the pod discovery itself ----------------------
def sd_pods() -> List[dict]:
    """What the fake API server serves: the shared fixture pods plus synthetic edge cases."""
    pods = fixture_pods()
    pods += [
        make_pod("no-ip-yet", namespace="edge", ip=None, phase="Pending", labels=MESHED,
                 containers=[proxy(), app()]),
        make_pod("v6", namespace="edge", ip="::1", labels=MESHED, containers=[proxy(), app()],
                 owner={"kind": "ReplicaSet", "name": "v6-1", "controller": True}),
        make_pod("odd", namespace="edge", ip="127.0.2.9", ready=None,
                 labels={"a.b/c-d": "x", "empty": "", "ünï-x": "u", "linkerd.io/control-plane-ns": "linkerd"},
                 annotations={"config.linkerd.io/x": "1", "blank": ""},
                 owner={"kind": "Job", "name": "", "controller": True},
                 containers=[{"name": "linkerd-proxy", "image": "p",
                              "ports": [{"containerPort": 4191},
                                        {"containerPort": 4191, "name": "linkerd-admin"},
                                        {"containerPort": 4191, "name": "linkerd-admin", "protocol": "UDP"}]}]),
        make_pod("done", namespace="edge", ip="127.0.2.10", phase="Succeeded", ready="False",
                 labels=dict(MESHED, **{"linkerd.io/proxy-job": "hello"}),
                 containers=[app("hello", ())], init=[proxy(native=True)]),
    ]
    for i, pod in enumerate(pods):
        pod.setdefault("metadata", {})["resourceVersion"] = str(100 + i)
    return pods


def sd_cases() -> List[Case]:
    ref = reference_jobs()
    viz = viz_jobs()
    return [
        Case("k8s-sd-all-pods", []),
        Case("k8s-sd-namespaces", [], extra={"namespaces": ["linkerd", "edge"]}),
        Case("k8s-sd-reference-proxy", ref["linkerd-proxy"]["relabel_configs"]),
        Case("k8s-sd-reference-controller", ref["linkerd-controller"]["relabel_configs"],
             extra={"namespaces": ["linkerd", "linkerd-viz"]}),
        Case("k8s-sd-viz-proxy", viz["linkerd-proxy"]["relabel_configs"]),
        Case("k8s-sd-viz-controller", viz["linkerd-controller"]["relabel_configs"], extra={"namespaces": ["linkerd"]}),
        Case("k8s-sd-keep-everything-visible", [{"action": "labelmap", "regex": "__meta_kubernetes_(.+)"}]),
    ]


SD_PODS = sd_pods()
SD_CASES = sd_cases()


def sd_job(case: Case, api_url: str) -> dict:
    sd = {"role": "pod", "api_server": api_url}
    if case.extra.get("namespaces"):
        sd["namespaces"] = {"names": list(case.extra["namespaces"])}
    job = {"job_name": case.id, "kubernetes_sd_configs": [sd]}
    if case.rules:
        job["relabel_configs"] = copy.deepcopy(case.rules)
    return job


def engine_sd_summary(case: Case, job_raw: dict) -> Dict[str, List[str]]:
    job = scrape_job(job_raw, "differential", INTERVAL_MS, TIMEOUT_MS)
    result = simulate_job(job, [discover(p) for p in SD_PODS])
    return _summary(result)


def engine_summary(case: Case) -> Dict[str, List[str]]:
    """Our active and dropped targets, in the shape `summarize_pool` gives Prometheus' answer."""
    job = scrape_job(case.prometheus_job(), "differential", INTERVAL_MS, TIMEOUT_MS)
    return _summary(simulate_job(job, []))


def _summary(result) -> Dict[str, List[str]]:
    """Identical targets collapse into one; Prometheus then shows the discovered labels of the last one
    it processed, and target groups reach it in random order. So for a collapsed target the
    discovered labels are compared as "one of the candidates" (see `same_active`)."""
    active = []
    for t in result.active:
        candidates = [t.discovered()] + [c.discovered() for c in (t.collapsed or [])]
        active.append((canonical({"labels": t.visible(), "scrapeUrl": t.scrape_url()}),
                       sorted(canonical(d) for d in candidates)))
    dropped = sorted(canonical(t.discovered()) for t in result.dropped)
    return {"active": sorted(active), "dropped": dropped}


def same_active(ours, theirs: List[str]) -> None:
    mine = sorted(ours)
    got = sorted((canonical({"labels": json.loads(x)["labels"], "scrapeUrl": json.loads(x)["scrapeUrl"]}),
                  canonical(json.loads(x)["discoveredLabels"])) for x in theirs)
    assert [k for k, _ in mine] == [k for k, _ in got], "active targets (labels, scrape URL) differ"
    for (key, candidates), (_, discovered) in zip(mine, got):
        assert discovered in candidates, f"discovered labels of {key} differ"


def collapsed(ours: Dict[str, list]) -> set:
    """The active targets (labels, scrape URL) into which several identical targets collapse."""
    return {key for key, candidates in ours["active"] if len(candidates) > 1}


def stable(theirs: Dict[str, List[str]], collapsing: set) -> Dict[str, List[str]]:
    """A pool's summary without what Prometheus picks at random: the discovered labels of a target into
    which identical targets collapse (one of them, in the order the target groups reached it)."""
    active = []
    for item in theirs["active"]:
        target = json.loads(item)
        key = canonical({"labels": target["labels"], "scrapeUrl": target["scrapeUrl"]})
        active.append(canonical([key, None if key in collapsing else target["discoveredLabels"]]))
    return {"active": sorted(active), "dropped": theirs["dropped"]}


@pytest.fixture(scope="module")
def prometheus_run():
    """Live modes: one Prometheus for every case (static pools, and pools discovering the fake API
    server's pods), each pool's summary by case id. Replay: None (the recording answers)."""
    if not live():
        yield None
        return
    binary = prometheus_binary()
    api = FakePodsApi(SD_PODS).start()
    sd_jobs = {c.id: sd_job(c, api.url) for c in SD_CASES}
    config = {"global": GLOBAL,
              "scrape_configs": [c.prometheus_job() for c in CASES] + list(sd_jobs.values())}
    prom = Prometheus(config, binary=binary).start()
    try:
        answer = prom.wait_for_pools([c.id for c in CASES] + list(sd_jobs),
                                     with_targets=list(sd_jobs))
        yield {pool: summarize_pool(answer, pool) for pool in [c.id for c in CASES] + list(sd_jobs)}
    finally:
        prom.stop()
        api.stop()


def prometheus_pool(case_id: str, what: dict, run: Optional[dict], ours: Dict[str, list],
                    recording: Recording = TARGETS) -> Dict[str, List[str]]:
    """Prometheus' summary of one pool (as `summarize_pool` gives it): recorded, or live (and checked
    against the recording). The recording keeps each target as a JSON object, not as a string."""
    collapsing = collapsed(ours)
    kept = recording.answer(case_id, what, lambda: {part: [json.loads(x) for x in run[case_id][part]]
                                                    for part in ("active", "dropped")},
                            normalise=lambda theirs: stable(as_strings(theirs), collapsing))
    return as_strings(kept)


def as_strings(kept: Dict[str, list]) -> Dict[str, List[str]]:
    return {part: sorted(canonical(x) for x in kept[part]) for part in ("active", "dropped")}


def test_enough_cases():
    assert len(CASES) + len(SD_CASES) >= 50
    ids = [c.id for c in CASES + SD_CASES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_as_prometheus(case: Case, prometheus_run):
    ours = engine_summary(case)
    theirs = prometheus_pool(case.id, {"global": GLOBAL, "job": case.prometheus_job()}, prometheus_run, ours)
    same_active(ours["active"], theirs["active"])
    assert ours["dropped"] == theirs["dropped"], "dropped targets differ"


@pytest.mark.parametrize("case", SD_CASES, ids=[c.id for c in SD_CASES])
def test_pod_discovery_same_as_prometheus(case: Case, prometheus_run):
    job = sd_job(case, API_SERVER)
    ours = engine_sd_summary(case, job)
    theirs = prometheus_pool(case.id, {"global": GLOBAL, "job": job, "pods": SD_PODS}, prometheus_run, ours)
    assert ours["active"] or ours["dropped"]
    same_active(ours["active"], theirs["active"])
    assert ours["dropped"] == theirs["dropped"], "dropped targets differ"


# -- configs Prometheus refuses: we must refuse them too (and accept what it accepts) --------------
VALIDATION = [
    ("unknown-action", {"action": "rewrite", "source_labels": ["a"]}, False),
    ("hashmod-no-modulus", {"action": "hashmod", "source_labels": ["a"], "target_label": "b"}, False),
    ("replace-no-target", {"source_labels": ["a"]}, False),
    ("keepequal-with-regex", {"action": "keepequal", "source_labels": ["a"], "target_label": "b",
                              "regex": "x"}, False),
    ("labeldrop-with-source", {"action": "labeldrop", "source_labels": ["a"], "regex": "x"}, False),
    ("lowercase-with-replacement", {"action": "lowercase", "source_labels": ["a"], "target_label": "b",
                                    "replacement": "x"}, False),
    ("lookahead", {"action": "keep", "source_labels": ["a"], "regex": "a(?=b)"}, False),
    ("backreference", {"action": "keep", "source_labels": ["a"], "regex": "(a)\\1"}, False),
    ("nested-repeat", {"action": "keep", "source_labels": ["a"], "regex": "a**"}, False),
    ("possessive", {"action": "keep", "source_labels": ["a"], "regex": "a++"}, False),
    ("repeat-too-large", {"action": "keep", "source_labels": ["a"], "regex": "a{1001}"}, False),
    ("bad-escape", {"action": "keep", "source_labels": ["a"], "regex": "\\Z"}, False),
    ("labelmap-empty-replacement", {"action": "labelmap", "regex": "(.*)", "replacement": ""}, False),
    ("keepequal-default-regex-written", {"action": "keepequal", "source_labels": ["a"], "target_label": "b",
                                         "regex": "(.*)"}, False),
    ("labeldrop-empty-source-list", {"action": "labeldrop", "source_labels": [], "regex": "x"}, False),
    ("nested-repeat-too-large", {"action": "keep", "source_labels": ["a"], "regex": "(a{500}){3}"}, False),
    ("unknown-posix-class", {"action": "keep", "source_labels": ["a"], "regex": "[[:foo:]]"}, False),
    ("accepted-labelmap-utf8-replacement", {"action": "labelmap", "regex": "(.*)", "replacement": "a-$1"}, True),
    ("accepted-replace-any-template-target", {"source_labels": ["a"], "target_label": "$1 x"}, True),
    ("accepted-duplicate-group-names", {"action": "keep", "source_labels": ["a"],
                                        "regex": "(?P<a>x)(?P<a>y)"}, True),
    ("accepted-drop-with-target", {"action": "drop", "source_labels": ["a"], "target_label": "x"}, True),
    ("unknown-field", {"action": "keep", "source_labels": ["a"], "regexp": "x"}, False),
    ("accepted-brace-literal", {"action": "keep", "source_labels": ["a"], "regex": "a{,3}"}, True),
    ("accepted-numeric-group-name", {"action": "replace", "source_labels": ["a"], "target_label": "b",
                                     "regex": "(?P<1x>.*)", "replacement": "$1x"}, True),
    ("accepted-upper-action", {"action": "LabelMap", "regex": "(.*)"}, True),
    ("accepted-utf8-target", {"source_labels": ["a"], "target_label": "ü.name"}, True),
]


@pytest.mark.parametrize("name,rule,accepted", VALIDATION, ids=[v[0] for v in VALIDATION])
def test_rule_validation_same_as_prometheus(name, rule, accepted):
    from kubectl_linkerd_otel.scrape.relabel import RelabelConfigError, compile_rules

    error = recorded_config_error(RULE_VALIDATION, name, {"global": GLOBAL, "scrape_configs": [
        {"job_name": "v", "static_configs": [{"targets": [A]}], "relabel_configs": [rule]}]})
    assert (error == "") is accepted, f"Prometheus: {error or 'accepted'}"
    try:
        compile_rules([rule], "job 'v'")
        ours = ""
    except RelabelConfigError as exc:
        ours = str(exc)
    assert (ours == "") is accepted, f"we said: {ours or 'accepted'}; Prometheus: {error or 'accepted'}"
