"""Scrape configs Prometheus 3.5.3 refuses (so the collector does not start): `targets` refuses them
too, naming the job and the field; and every field Prometheus accepts, we accept. Each case runs
through the real Prometheus (`../shared/tools/prometheus.sh`) and through our config reader; its verdicts are
recorded in tests/golden/prometheus/targets-validation.json, which the tests use without a binary
(prometheus_harness)."""
from __future__ import annotations

import copy
import pytest

from kubectl_linkerd_otel.scrape import config as sc
from kubectl_linkerd_otel.scrape.config import ScrapeConfigError, receivers

from prometheus_harness import Recording, recorded_config_error

pytestmark = pytest.mark.prometheus

# SD mechanisms upstream Prometheus registers but Debian's build (the binary of these tests) leaves out
NOT_IN_DEBIAN = {f"{n}_sd_configs" for n in ("azure", "consul", "kuma", "nomad", "openstack", "stackit")}


def job(**fields) -> dict:
    out = {"job_name": "j", "kubernetes_sd_configs": [{"role": "pod"}]}
    out.update(fields)
    return out


def sd(**fields) -> dict:
    out = {"role": "pod"}
    out.update(fields)
    return job(kubernetes_sd_configs=[out])


def ours(prom: dict) -> str:
    """Our verdict on a Prometheus config, as the prometheus receiver's `config`: "" or the error."""
    try:
        receivers({"receivers": {"prometheus": {"config": copy.deepcopy(prom)}}})
    except ScrapeConfigError as exc:
        return str(exc)
    return ""


VERDICTS = Recording("targets-validation")


def prometheus_error(key: str, prom: dict) -> str:
    """Prometheus 3.5.3's verdict on a config: "" when it loads it, else its error (recorded)."""
    return recorded_config_error(VERDICTS, key, prom)


REFUSED = [
    # (id, Prometheus config, words our error must hold)
    ("relabel_config-singular", {"scrape_configs": [job(relabel_config=[])]},
     ["job 'j'", "relabel_config", "did you mean relabel_configs"]),
    ("sd-namespace-singular", {"scrape_configs": [sd(namespace={"names": ["linkerd"]})]},
     ["job 'j'", "kubernetes_sd_configs[0]", "field namespace", "did you mean namespaces"]),
    ("sd-selector-singular", {"scrape_configs": [sd(selector=[{"role": "pod", "label": "a=b"}])]},
     ["job 'j'", "field selector"]),
    ("namespaces-name", {"scrape_configs": [sd(namespaces={"name": ["linkerd"]})]},
     ["job 'j'", "namespaces", "field name"]),
    ("selectors-labels", {"scrape_configs": [sd(selectors=[{"role": "pod", "labels": "a=b"}])]},
     ["job 'j'", "field labels", "did you mean label"]),
    ("attach_metadata-namespace", {"scrape_configs": [sd(attach_metadata={"namespace": True})]},
     ["job 'j'", "attach_metadata", "field namespace"]),
    ("duplicated-selector-role", {"scrape_configs": [sd(selectors=[{"role": "pod", "label": "a=b"},
                                                                   {"role": "pod", "field": "spec.nodeName=n"}])]},
     ["job 'j'", "duplicated selector role: pod"]),
    ("node-selector-for-pod-role", {"scrape_configs": [sd(selectors=[{"role": "node", "label": "a=b"}])]},
     ["job 'j'", "pod role supports only pod selectors"]),
    ("sd-role-missing", {"scrape_configs": [job(kubernetes_sd_configs=[{"namespaces": {"names": ["a"]}}])]},
     ["job 'j'", "role missing"]),
    ("sd-role-unknown", {"scrape_configs": [job(kubernetes_sd_configs=[{"role": "Pod"}])]},
     ["job 'j'", 'unknown Kubernetes SD role "Pod"']),
    ("sd-null-entry", {"scrape_configs": [job(kubernetes_sd_configs=[None])]},
     ["job 'j'", "empty or null section in kubernetes_sd_configs"]),
    ("global-unknown", {"global": {"scrape_native_histograms": True}, "scrape_configs": [job()]},
     ["global", "field scrape_native_histograms"]),
    ("top-level-unknown", {"scrape_config": [job()]},
     ["field scrape_config", "did you mean scrape_configs"]),
    ("unknown-sd-mechanism", {"scrape_configs": [job(bogus_sd_configs=[])]},
     ["job 'j'", "field bogus_sd_configs"]),
    ("http-client-typo", {"scrape_configs": [job(tls_configs={"insecure_skip_verify": True})]},
     ["job 'j'", "field tls_configs", "did you mean tls_config"]),
    ("sd-http-client-without-api-server", {"scrape_configs": [sd(tls_config={"insecure_skip_verify": True})]},
     ["job 'j'", "tls_config", "provide the 'api_server' URL explicitly"]),
    ("sd-empty-headers-without-api-server", {"scrape_configs": [sd(http_headers={})]},
     ["job 'j'", "http_headers", "'api_server'"]),
    ("sd-kubeconfig-and-api-server", {"scrape_configs": [sd(kubeconfig_file="/k", api_server="https://127.0.0.1:1")]},
     ["job 'j'", "cannot use 'kubeconfig_file' and 'api_server' simultaneously"]),
    ("sd-api-server-and-own-namespace", {"scrape_configs": [sd(api_server="https://127.0.0.1:1",
                                                                namespaces={"own_namespace": True})]},
     ["job 'j'", "'namespaces.own_namespace'"]),
    ("selector-role-unknown", {"scrape_configs": [sd(selectors=[{"role": "Pod", "label": "a=b"}])]},
     ["job 'j'", 'unknown Kubernetes SD role "Pod"']),
    ("interval-bogus", {"scrape_configs": [job(scrape_interval="bogus")]},
     ["job 'j' scrape_interval: not a valid duration string: \"bogus\""]),
]

ACCEPTED = [
    ("http-client-in-scrape-config", {"scrape_configs": [job(honor_labels=True, tls_config={"insecure_skip_verify": True},
                                                             follow_redirects=False, enable_http2=False)]}),
    ("http-client-in-sd", {"scrape_configs": [sd(api_server="https://127.0.0.1:1", tls_config={"insecure_skip_verify": True},
                                                 follow_redirects=False)]}),
    ("sd-default-http-client", {"scrape_configs": [sd(tls_config={"insecure_skip_verify": False}, follow_redirects=True,
                                                      enable_http2=True, bearer_token="", proxy_from_environment=False)]}),
    ("selectors-label-and-field", {"scrape_configs": [sd(selectors=[{"role": "pod", "label": "a=b",
                                                                     "field": "spec.nodeName=n"}])]}),
    ("attach-node-metadata", {"scrape_configs": [sd(attach_metadata={"node": True},
                                                    namespaces={"own_namespace": False, "names": ["a"]})]}),
    ("service-role-not-simulated", {"scrape_configs": [job(kubernetes_sd_configs=[{"role": "endpointslice"}])]}),
]


@pytest.mark.parametrize("name,prom,words", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_like_prometheus(name, prom, words):
    theirs = prometheus_error(f"refused-{name}", prom)
    assert theirs, "Prometheus accepts this config"
    mine = ours(prom)
    assert mine, f"we accept what Prometheus refuses: {theirs}"
    for word in words:
        assert word in mine, f"{word!r} not in our error {mine!r} (Prometheus: {theirs})"
    assert "\n" not in mine


@pytest.mark.parametrize("name,prom", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_like_prometheus(name, prom):
    assert prometheus_error(f"accepted-{name}", prom) == ""
    assert ours(prom) == ""


def _unknown_fields(error: str):
    return [line for line in error.splitlines() if "not found in type" in line]


def _all_null(keys, **fixed) -> dict:
    out = {k: None for k in sorted(keys)}
    out.update(fixed)
    return out


@pytest.mark.parametrize("what", ["scrape", "kubernetes_sd", "namespaces", "selectors", "attach_metadata",
                                  "global", "top"])
def test_every_field_we_accept_prometheus_knows(what):
    """Each of our field lists, all fields set (to null), loads in Prometheus 3.5.3 without an
    unknown-field error, and in our reader without any error."""
    fields = {
        "scrape": lambda: {"scrape_configs": [_all_null(sc.SCRAPE_CONFIG_KEYS - NOT_IN_DEBIAN, job_name="j")]},
        "kubernetes_sd": lambda: {"scrape_configs": [job(kubernetes_sd_configs=[
            _all_null(sc.KUBERNETES_SD_KEYS, role="pod")])]},
        "namespaces": lambda: {"scrape_configs": [sd(namespaces=_all_null(sc.NAMESPACES_KEYS))]},
        "selectors": lambda: {"scrape_configs": [sd(selectors=[_all_null(sc.SELECTOR_KEYS, role="pod")])]},
        "attach_metadata": lambda: {"scrape_configs": [sd(attach_metadata=_all_null(sc.ATTACH_METADATA_KEYS))]},
        "global": lambda: {"global": _all_null(sc.GLOBAL_KEYS), "scrape_configs": [job()]},
        "top": lambda: _all_null(sc.PROMETHEUS_CONFIG_KEYS - {"global", "scrape_configs"},
                                 scrape_configs=[job()]),
    }
    prom = fields[what]()
    assert _unknown_fields(prometheus_error(f"fields-{what}", prom)) == []
    assert ours(prom) == ""


def test_refused_fields_are_unknown_to_prometheus():
    """The misspellings above are unknown fields for Prometheus too (not refused for another reason)."""
    prom = {"scrape_configs": [job(relabel_config=[], kubernetes_sd_configs=[{"role": "pod", "namespace": {}}])]}
    error = prometheus_error("unknown-relabel_config", prom)
    assert "field relabel_config not found in type config.ScrapeConfig" in error
    prom = {"scrape_configs": [sd(namespace={})]}
    assert "field namespace not found in type kubernetes.plain" in prometheus_error("unknown-namespace", prom)

