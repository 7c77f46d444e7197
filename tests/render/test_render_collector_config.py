"""The rendered collector config: Linkerd jobs as the current viz chart has them, and a clean bill
from find_problems."""
from __future__ import annotations

from kubectl_linkerd_otel.collector.config import find_problems, parse_config
from kubectl_linkerd_otel.render.collector_config import collector_config, collector_config_text
from kubectl_linkerd_otel.render.options import DEFAULT_IMAGE, InstallOptions


def _jobs(opts):
    return {j["job_name"]: j for j in
            collector_config(opts)["receivers"]["prometheus/linkerd"]["config"]["scrape_configs"]}


def test_rendered_configs_have_no_problems():
    for opts in (InstallOptions(), InstallOptions(mode="daemonset", debug_exporter=True),
                 InstallOptions(exporter_endpoint="https://o:4318", exporter_protocol="http",
                                basic_auth="u:p", headers=[("X-Key", "k")])):
        config = parse_config(collector_config_text(opts.validate()))
        assert find_problems(config, image=DEFAULT_IMAGE) == []


def test_text_round_trips_to_the_dict():
    opts = InstallOptions()
    assert parse_config(collector_config_text(opts)) == collector_config(opts)


def test_proxy_job_keeps_running_pods_of_the_detected_control_plane():
    rules = _jobs(InstallOptions(linkerd_namespace="linkerd-prod"))["linkerd-proxy"]["relabel_configs"]
    assert rules[0] == {"source_labels": ["__meta_kubernetes_pod_phase"], "action": "keep",
                        "regex": "(Pending|Running)"}
    assert rules[1]["regex"] == "^linkerd-proxy;linkerd-admin;linkerd-prod$$"
    assert rules[1]["source_labels"][-1] == "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"
    # init containers (native sidecars) are never filtered out
    text = collector_config_text(InstallOptions())
    assert "container_init" not in text


def test_controller_job_matches_admin_ports_of_the_control_plane_namespace():
    job = _jobs(InstallOptions(linkerd_namespace="lk"))["linkerd-controller"]
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["lk"]
    assert job["relabel_configs"][0]["regex"] == ".*admin$$"
    assert job["relabel_configs"][1] == {"source_labels": ["__meta_kubernetes_pod_container_port_name"],
                                         "action": "drop", "regex": "linkerd-admin"}


def test_every_dollar_in_relabel_rules_is_doubled():
    text = collector_config_text(InstallOptions())
    receiver = text.split("api_server:")[0]
    stripped = receiver.replace("$$", "")
    assert "$" not in stripped


def test_servers_bind_to_the_pod():
    cfg = collector_config(InstallOptions())
    assert cfg["receivers"]["prometheus/linkerd"]["api_server"] == {
        "enabled": True, "server_config": {"endpoint": "0.0.0.0:9090"}}
    assert cfg["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
    assert cfg["service"]["telemetry"]["metrics"]["readers"] == [
        {"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": 8888}}}}]
    assert cfg["service"]["pipelines"]["metrics"]["processors"] == ["memory_limiter", "batch"]


def test_debug_exporter_is_optional():
    assert "debug" not in collector_config(InstallOptions())["exporters"]
    cfg = collector_config(InstallOptions(debug_exporter=True))
    assert "debug" in cfg["exporters"] and "debug" in cfg["service"]["pipelines"]["metrics"]["exporters"]
