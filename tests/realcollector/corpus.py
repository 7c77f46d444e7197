"""The corpus `validate` is judged on against the real collector: every collector config `install`
renders (each mode, distribution, --restrict-metrics choice and a set of exporter/metrics variants),
rendered through the CLI exactly as a user gets them, plus broken mutations of them.

A case is (id, distribution, config dict, env) where env is what the collector container would have
(the names the rendered workload sets, with stand-in values): the real binary runs with that env.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from helpers import run_cli

MODES = ("deployment", "daemonset", "operator")
DISTRIBUTIONS = ("core", "contrib", "k8s")
CA_PEM = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0FzdGFuZGluY2VydGlmaWNhdGUwCgYIKoZIzj0EAwIw\n"
          "-----END CERTIFICATE-----\n")

# (id, install arguments, local environment for --*-from-env)
VARIANTS: Tuple[Tuple[str, Tuple[str, ...], Dict[str, str]], ...] = (
    ("demo", (), {}),
    ("grpc-basic-auth", ("--exporter-endpoint", "otlp.example.com:4317", "--basic-auth-from-env", "CREDS"),
     {"CREDS": "user:secret"}),
    ("http-headers-ca", ("--exporter-protocol", "http", "--exporter-endpoint", "https://otlp.example.com:4318",
                         "--header", "x-scope-orgid=team-a", "--secret-header", "x-token=t0k3n",
                         "--ca-file", "{ca}"), {}),
    ("insecure-debug-golden", ("--exporter-endpoint", "collector.example:4317", "--insecure",
                               "--debug-exporter", "--metrics", "golden", "--scrape-interval", "5s"), {}),
    ("datadog", ("--backend", "datadog", "--api-key-from-env", "DD_KEY"), {"DD_KEY": "0123456789abcdef"}),
    ("newrelic-eu", ("--backend", "newrelic", "--region", "eu", "--api-key-from-env", "NR_KEY"),
     {"NR_KEY": "abc"}),
    ("grafana-cloud", ("--backend", "grafana-cloud", "--region", "eu-west-2",
                       "--basic-auth-from-env", "GC"), {"GC": "123:glc_token"}),
    ("honeycomb-delta", ("--backend", "honeycomb", "--api-key-from-env", "HC", "--temporality", "delta"),
     {"HC": "key"}),
    ("memory-limits", ("--memory-limit", "2Gi", "--cpu-limit", "1", "--scrape-interval", "1m"), {}),
)


@dataclass
class Case:
    id: str
    distribution: str
    config: dict
    env: Dict[str, str] = field(default_factory=dict)
    expect_valid: Optional[bool] = None     # mutations: what they were made to be (None: rendered)


def _stand_in_env(names: List[str]) -> Dict[str, str]:
    values = {"K8S_NODE_NAME": "node-1", "GOMEMLIMIT": "400MiB"}
    return {name: values.get(name, "c3RhbmQtaW4=") for name in names}


def rendered_one(tmp_dir, mode: str, distribution: str) -> Tuple[Case, str]:
    """The demo variant's config for one mode and distribution."""
    result = run_cli("install", "--dry-run", "client", "-o", "json", "--linkerd-namespace", "linkerd",
                     "--mode", mode, "--distribution", distribution)
    assert result.exit_code == 0, result.output
    config, env = _extract(json.loads(result.stdout)["items"])
    return Case(f"{mode}-{distribution}-open-demo", distribution, config, _stand_in_env(env)), ""


def _extract(objects: List[dict]) -> Tuple[dict, List[str]]:
    """(collector config, env var names of its container) from `install -o json` output."""
    import yaml

    config, env = None, []
    for obj in objects:
        if obj["kind"] == "ConfigMap" and "config.yaml" in obj.get("data", {}):
            config = yaml.safe_load(obj["data"]["config.yaml"])
        elif obj["kind"] in ("Deployment", "DaemonSet"):
            env = [e["name"] for e in obj["spec"]["template"]["spec"]["containers"][0].get("env", [])]
        elif obj["kind"] == "OpenTelemetryCollector":
            config = obj["spec"]["config"]
            env = [e["name"] for e in obj["spec"].get("env", [])]
    assert config is not None, [o["kind"] for o in objects]
    return config, env


def rendered(tmp_dir) -> Tuple[List[Case], List[str]]:
    """Every distinct (distribution, config) install renders; and the combinations install refused."""
    import os

    ca = os.path.join(str(tmp_dir), "ca.pem")
    with open(ca, "w", encoding="utf-8") as fh:
        fh.write(CA_PEM)
    cases: Dict[str, Case] = {}
    refused: List[str] = []
    for mode in MODES:
        for distribution in DISTRIBUTIONS:
            for restrict in (False, True):
                for name, args, local_env in VARIANTS:
                    argv = ["install", "--dry-run", "client", "-o", "json", "--linkerd-namespace", "linkerd",
                            "--mode", mode, "--distribution", distribution]
                    if restrict:
                        argv += ["--restrict-metrics", "--policy-namespace", "emojivoto"]
                    argv += [a.replace("{ca}", ca) for a in args]
                    saved = {k: os.environ.get(k) for k in local_env}
                    os.environ.update(local_env)
                    try:
                        result = run_cli(*argv)
                    finally:
                        for k, v in saved.items():
                            if v is None:
                                os.environ.pop(k, None)
                            else:
                                os.environ[k] = v
                    case_id = f"{mode}-{distribution}-{'restricted' if restrict else 'open'}-{name}"
                    if result.exit_code != 0:
                        refused.append(f"{case_id}: {result.stderr.strip().splitlines()[-1]}")
                        continue
                    config, env = _extract(json.loads(result.stdout)["items"])
                    key = json.dumps([distribution, config, sorted(env)], sort_keys=True)
                    cases.setdefault(key, Case(case_id, distribution, config, _stand_in_env(env)))
    return list(cases.values()), refused


def _exporter(config: dict) -> str:
    return next(iter(config["exporters"]))


def _typo_key(c: dict) -> None:
    exporter = c["exporters"][_exporter(c)]
    exporter["endpiont"] = exporter.pop("endpoint")


def _wrong_type(c: dict) -> None:
    c["processors"]["memory_limiter"]["limit_mib"] = "lots"


def _wrong_type_list(c: dict) -> None:
    c["service"]["pipelines"]["metrics"]["receivers"] = "prometheus/linkerd"


def _unknown_component(c: dict) -> None:
    c["processors"]["nosuchprocessor"] = {}
    c["service"]["pipelines"]["metrics"]["processors"].append("nosuchprocessor")


def _missing_exporter(c: dict) -> None:
    c["service"]["pipelines"]["metrics"]["exporters"].append("otlp_grpc/missing")


def _bad_duration(c: dict) -> None:
    c["processors"]["memory_limiter"]["check_interval"] = "5 seconds"


def _unitless_duration(c: dict) -> None:
    c["processors"]["batch"]["timeout"] = "200"


def _unknown_top_level(c: dict) -> None:
    c["recievers"] = c.pop("receivers")


def _typo_in_receiver(c: dict) -> None:
    c["receivers"]["prometheus/linkerd"]["api_server"]["enabeld"] = True


def _unused_extension(c: dict) -> None:
    c["service"]["extensions"].append("pprof")


def _bad_endpoint_type(c: dict) -> None:
    c["extensions"]["health_check"]["endpoint"] = {"host": "0.0.0.0"}


def _delta_in_core(c: dict) -> None:
    c["processors"]["cumulativetodelta"] = {}
    c["service"]["pipelines"]["metrics"]["processors"].insert(1, "cumulativetodelta")


def _valid_debug(c: dict) -> None:        # a valid change: the verdicts must agree on "valid" too
    c["exporters"]["debug"] = {"verbosity": "detailed"}
    c["service"]["pipelines"]["metrics"]["exporters"].append("debug")


def _valid_batch(c: dict) -> None:
    c["processors"]["batch"] = {"timeout": "1m30s", "send_batch_size": 512, "send_batch_max_size": 1024}


MUTATIONS: Tuple[Tuple[str, Callable[[dict], None], bool], ...] = (
    ("typo-key", _typo_key, False),
    ("wrong-type", _wrong_type, False),
    ("wrong-type-list", _wrong_type_list, False),
    ("unknown-component", _unknown_component, False),
    ("pipeline-missing-exporter", _missing_exporter, False),
    ("bad-duration", _bad_duration, False),
    ("unitless-duration", _unitless_duration, False),
    ("unknown-top-level", _unknown_top_level, False),
    ("typo-in-receiver", _typo_in_receiver, False),
    ("undefined-extension", _unused_extension, False),
    ("endpoint-wrong-type", _bad_endpoint_type, False),
    ("valid-debug-exporter", _valid_debug, True),
    ("valid-batch", _valid_batch, True),
)


def _set(*path_and_value):
    *path, key, value = path_and_value

    def mutate(c: dict) -> None:
        node = c
        for step in path:
            node = node[step] if not callable(step) else step(node)
        node[key] = value
    return mutate


def _exporter_of(exporters: dict) -> dict:
    return exporters[next(iter(exporters))]


def _first_job(receivers: dict) -> dict:
    return receivers["prometheus/linkerd"]["config"]["scrape_configs"][0]


def _add_pipeline_exporter(name: str, conf: dict) -> Callable[[dict], None]:
    def mutate(c: dict) -> None:
        c["exporters"][name] = conf
        c["service"]["pipelines"]["metrics"]["exporters"].append(name)
    return mutate


def _dup_job(c: dict) -> None:
    jobs = c["receivers"]["prometheus/linkerd"]["config"]["scrape_configs"]
    jobs.append(copy.deepcopy(jobs[0]))


def _traces_pipeline(c: dict) -> None:
    c["service"]["pipelines"]["traces"] = {"receivers": ["prometheus/linkerd"], "exporters": [_exporter(c)]}


def _drop(*path_and_key):
    *path, key = path_and_key

    def mutate(c: dict) -> None:
        node = c
        for step in path:
            node = node[step] if not callable(step) else step(node)
        node.pop(key)
    return mutate


ML = ("processors", "memory_limiter")
GLOBAL = ("receivers", "prometheus/linkerd", "config", "global")
# More mutations, each applied to one rendered config per distribution: the rules of the components'
# Validate(), the Prometheus config the receiver loads, ${...} references, pipelines.
EXTRA_MUTATIONS: Tuple[Tuple[str, Callable[[dict], None], bool], ...] = (
    ("bool-in-quotes", _set("exporters", _exporter_of, "tls", "insecure", "true"), False),
    ("int-in-quotes", _set(*ML, "limit_mib", "100"), False),
    ("negative-uint", _set(*ML, "limit_mib", -1), False),
    ("spike-not-below-limit", _set(*ML, "spike_limit_mib", 500), False),
    ("limit-percentage-over-100", _set(*ML, "limit_percentage", 150), False),
    ("no-check-interval", _drop(*ML, "check_interval"), False),
    ("batch-max-below-size", _set("processors", "batch", {"send_batch_size": 100, "send_batch_max_size": 10}),
     False),
    ("prometheus-unitless-interval", _set(*GLOBAL, "scrape_interval", "30"), False),
    ("prometheus-timeout-over-interval", _set(*GLOBAL, "scrape_timeout", "1m"), False),
    ("prometheus-unknown-key", _set("receivers", _first_job, "scrape_intreval", "5s"), False),
    ("prometheus-bad-regex", _set("receivers", _first_job, "relabel_configs", 0, "regex", "(unclosed"), False),
    ("prometheus-bad-action", _set("receivers", _first_job, "relabel_configs", 0, "action", "kepp"), False),
    ("prometheus-duplicate-job", _dup_job, False),
    ("exporter-without-endpoint", _drop("exporters", _exporter_of, "endpoint"), False),
    ("debug-bad-verbosity", _add_pipeline_exporter("debug", {"verbosity": "loud"}), False),
    ("prometheus-receiver-in-traces", _traces_pipeline, False),
    ("processor-twice", lambda c: c["service"]["pipelines"]["metrics"]["processors"].append("batch"), False),
    ("unused-otlp-receiver", _set("receivers", "otlp", {"protocols": {"grpc": {}}}), True),
    ("unused-otlp-receiver-no-protocol", _set("receivers", "otlp", {"protocols": {}}), False),
    ("unset-env-var", _set("exporters", _exporter_of, "headers", {"x-extra": "${env:NOT_SET_ANYWHERE}"}), True),
    ("unknown-provider", _set("exporters", _exporter_of, "headers", {"x-extra": "${secret:NOPE}"}), False),
    ("log-level-bad", _set("service", "telemetry", "logs", {"level": "loud"}), False),
    ("retry-negative", _set("exporters", _exporter_of, "retry_on_failure",
                            {"enabled": True, "max_elapsed_time": "-5s"}), False),
    ("queue-size-negative", _set("exporters", _exporter_of, "sending_queue", {"queue_size": -1}), False),
    ("compression-unknown", _set("exporters", _exporter_of, "compression", "zipp"), False),
    ("timeout-unitless", _set("exporters", _exporter_of, "timeout", "10"), False),
    ("timeout-nanoseconds-int", _set("exporters", _exporter_of, "timeout", 10), True),
    ("processor-null", _set("processors", "batch", None), True),
    ("no-pipelines", _set("service", "pipelines", {}), False),
    ("health-path-relative", _set("extensions", "health_check", "path", "health"), False),
    ("health-path-absolute", _set("extensions", "health_check", "path", "/healthz"), True),
)


def mutated(bases: List[Case]) -> List[Case]:
    """Each mutation of the first rendered config of each (mode, distribution), the extra ones of the
    first of each distribution; and delta in core."""
    out: List[Case] = []
    seen = set()
    for base in bases:
        mode_dist = base.id.split("-")[0] + "-" + base.distribution
        if mode_dist in seen:
            continue
        extra = not any(s.endswith("-" + base.distribution) for s in seen)
        seen.add(mode_dist)
        for name, mutate, valid in MUTATIONS + (EXTRA_MUTATIONS if extra else ()):
            config = copy.deepcopy(base.config)
            mutate(config)
            out.append(Case(f"{base.id}+{name}", base.distribution, config, dict(base.env), valid))
        if base.distribution == "core":
            config = copy.deepcopy(base.config)
            _delta_in_core(config)
            out.append(Case(f"{base.id}+cumulativetodelta-in-core", "core", config, dict(base.env), False))
    return out
