"""`install --backend NAME`: every preset renders a config the validator accepts for the distribution it
chose, with the facts of docs/backends.md; explicit flags win; mistakes are one line, exit 2."""
from __future__ import annotations

import base64
import pathlib
import re

import pytest
import yaml
from helpers import run_cli

from kubectl_linkerd_otel.scrape.validation import errors, validate
from kubectl_linkerd_otel.render.backends import BACKENDS

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "backends.md"
KEY = "k3y-value-123"

# preset -> (extra flags, image, endpoint, headers in the config, Secret value of the API key or None)
CASES = {
    "openobserve": ([], "otel/opentelemetry-collector:0.159.0",
                    "openobserve-openobserve-standalone.openobserve.svc.cluster.local:5081",
                    {"organization": "default", "stream-name": "default",
                     "Authorization": "Basic ${env:OTLP_AUTH}"}, None),
    "otlp": (["--exporter-endpoint", "otel.example.com:4317"], "otel/opentelemetry-collector:0.159.0",
             "otel.example.com:4317", {}, None),
    "datadog": (["--site", "datadoghq.eu", "--api-key-from-env", "API_KEY"],
                "otel/opentelemetry-collector-contrib:0.159.0", "https://otlp.datadoghq.eu",
                {"dd-api-key": "${env:OTLP_HEADER_0}"}, KEY),
    "newrelic": (["--region", "eu", "--api-key-from-env", "API_KEY"],
                 "otel/opentelemetry-collector-contrib:0.159.0", "https://otlp.eu01.nr-data.net:4318",
                 {"api-key": "${env:OTLP_HEADER_0}"}, KEY),
    "coralogix": (["--region", "eu2", "--api-key-from-env", "API_KEY"], "otel/opentelemetry-collector:0.159.0",
                  "https://ingress.eu2.coralogix.com:443",
                  {"Authorization": "${env:OTLP_HEADER_0}", "CX-Application-Name": "linkerd",
                   "CX-Subsystem-Name": "linkerd-proxy"}, "Bearer " + KEY),
    "grafana-cloud": (["--region", "eu-west-2", "--basic-auth-from-env", "GRAFANA"],
                      "otel/opentelemetry-collector:0.159.0",
                      "https://otlp-gateway-prod-eu-west-2.grafana.net/otlp",
                      {"Authorization": "Basic ${env:OTLP_AUTH}"}, None),
    "honeycomb": (["--region", "eu", "--api-key-from-env", "API_KEY"], "otel/opentelemetry-collector:0.159.0",
                  "https://api.eu1.honeycomb.io:443",
                  {"x-honeycomb-team": "${env:OTLP_HEADER_0}", "x-honeycomb-dataset": "linkerd"}, KEY),
    "dynatrace": (["--site", "abc12345", "--api-key-from-env", "API_KEY"],
                  "otel/opentelemetry-collector-contrib:0.159.0",
                  "https://abc12345.live.dynatrace.com/api/v2/otlp",
                  {"Authorization": "${env:OTLP_HEADER_0}"}, "Api-Token " + KEY),
    "elastic": (["--exporter-endpoint", "https://p.ingest.us-east-1.aws.elastic.cloud:443",
                 "--api-key-from-env", "API_KEY"], "otel/opentelemetry-collector:0.159.0",
                "https://p.ingest.us-east-1.aws.elastic.cloud:443",
                {"Authorization": "${env:OTLP_HEADER_0}"}, "ApiKey " + KEY),
    "signoz": (["--region", "in", "--api-key-from-env", "API_KEY"], "otel/opentelemetry-collector:0.159.0",
               "https://ingest.in.signoz.cloud:443", {"signoz-ingestion-key": "${env:OTLP_HEADER_0}"}, KEY),
}


@pytest.fixture
def env(monkeypatch, nowhere):
    monkeypatch.setenv("API_KEY", KEY)
    monkeypatch.setenv("GRAFANA", "123456:glc_token")


def _render(*args):
    result = run_cli("install", "--dry-run", "-o", "yaml", "--show-secrets", "--linkerd-namespace", "linkerd",
                     *args)
    assert result.exit_code == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    by_kind = {d["kind"]: d for d in docs}
    config = yaml.safe_load(by_kind["ConfigMap"]["data"]["config.yaml"])
    image = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    return config, image, by_kind.get("Secret"), result


def test_every_backend_has_a_case():
    assert sorted(CASES) == sorted(BACKENDS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_preset_renders_a_config_the_validator_accepts(env, name):
    flags, image, endpoint, headers, secret_value = CASES[name]
    config, rendered_image, secret, _result = _render("--backend", name, *flags)
    assert rendered_image == image
    assert errors(validate(config, image=rendered_image)) == []
    (exporter_name, exporter), = [(k, v) for k, v in config["exporters"].items() if k.endswith("/backend")]
    assert exporter["endpoint"] == endpoint
    assert exporter.get("headers", {}) == headers
    backend = BACKENDS[name]
    assert exporter_name.startswith("otlp_http" if backend.protocol == "http" else "otlp_grpc")
    processors = config["service"]["pipelines"]["metrics"]["processors"]
    if backend.temporality == "delta":
        assert processors == ["memory_limiter", "cumulativetodelta", "batch"]
    else:
        assert "cumulativetodelta" not in processors
    if secret_value is not None:
        assert base64.b64decode(secret["data"]["OTLP_HEADER_0"]).decode() == secret_value
        assert KEY not in yaml.safe_dump(config)       # the key only in the Secret


def test_the_docs_table_has_each_preset_with_its_endpoint_regions_header_and_temporality():
    text = DOCS.read_text(encoding="utf-8")
    for name, backend in BACKENDS.items():
        assert f"## {name}\n" in text, name
        row, = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
        if backend.endpoint:
            before, after = backend.endpoint.split("{region}") if "{region}" in backend.endpoint \
                else (backend.endpoint, "")
            assert before in row and after in row, name
        for region in backend.regions:
            assert f"`{region}`" in row, (name, region)
        if backend.key_header:
            assert f"`{backend.key_header}" in row, name
        for header, value in backend.headers:
            assert f"`{header}: {value}`" in row, (name, header)
        assert (f"**{backend.temporality}**" if backend.temporality == "delta" else backend.temporality) in row


def test_explicit_flags_win_over_the_preset(env):
    config, image, _secret, _r = _render(
        "--backend", "honeycomb", "--api-key-from-env", "API_KEY", "--header", "x-honeycomb-dataset=mesh",
        "--exporter-protocol", "grpc", "--exporter-endpoint", "api.honeycomb.io:443")
    exporter = config["exporters"]["otlp_grpc/backend"]
    assert exporter["endpoint"] == "api.honeycomb.io:443"
    assert exporter["headers"]["x-honeycomb-dataset"] == "mesh"
    # cumulative asked for: the core image serves, no processor
    config, image, _secret, _r = _render("--backend", "datadog", "--api-key-from-env", "API_KEY",
                                         "--temporality", "cumulative")
    assert image == "otel/opentelemetry-collector:0.159.0"
    assert "cumulativetodelta" not in config["processors"]
    # the k8s distribution has the processor too
    config, image, _secret, _r = _render("--backend", "newrelic", "--api-key-from-env", "API_KEY",
                                         "--distribution", "k8s")
    assert image == "otel/opentelemetry-collector-k8s:0.159.0"
    assert errors(validate(config, image=image)) == []


def test_delta_on_temporality_flag_alone(env):
    config, image, _secret, _r = _render("--exporter-endpoint", "otel.example.com:4317", "--temporality", "delta",
                                         "--distribution", "contrib")
    assert "cumulativetodelta" in config["service"]["pipelines"]["metrics"]["processors"]


@pytest.mark.parametrize("args, fragment", [
    (["--backend", "datadog", "--api-key-from-env", "API_KEY", "--distribution", "core"],
     "--backend datadog wants delta temporality, made by the cumulativetodelta processor, which collector "
     "otel/opentelemetry-collector:0.159.0 (core) lacks: use --distribution contrib or k8s"),
    (["--exporter-endpoint", "otel.example.com:4317", "--temporality", "delta"],
     "--temporality delta needs delta temporality"),
    (["--backend", "datadog"], "--backend datadog needs credentials: give --api-key-from-env VAR"),
    (["--backend", "datadog", "--api-key-from-env", "UNSET_VAR"],
     "the environment variable UNSET_VAR is not set or empty"),
    (["--backend", "datadog", "--site", "datadoghq.xx", "--api-key-from-env", "API_KEY"],
     "unknown --region/--site 'datadoghq.xx'"),
    (["--backend", "grafana-cloud", "--basic-auth-from-env", "GRAFANA"], "--backend grafana-cloud needs --region"),
    (["--backend", "grafana-cloud", "--region", "eu-west-2", "--api-key-from-env", "API_KEY"],
     "give --basic-auth-from-env VAR holding INSTANCE_ID:TOKEN"),
    (["--backend", "elastic", "--api-key-from-env", "API_KEY"], "--backend elastic needs --exporter-endpoint"),
    (["--backend", "otlp"], "--backend otlp needs --exporter-endpoint"),
    (["--backend", "nope"], "unknown --backend 'nope': use one of openobserve, otlp, datadog"),
    (["--region", "eu"], "--region/--site needs --backend NAME"),
    (["--api-key-from-env", "API_KEY"], "--api-key-from-env needs --backend NAME"),
    (["--backend", "signoz", "--region", "us", "--exporter-endpoint", "https://x.example:443",
      "--api-key-from-env", "API_KEY"], "both choose the endpoint: pick one"),
    (["--backend", "openobserve", "--region", "eu"],
     "--backend openobserve takes no --region/--site: give --exporter-endpoint"),
    (["--backend", "newrelic", "--api-key-from-env", "API_KEY", "--exporter-protocol", "grpc"],
     "--exporter-protocol grpc with --backend newrelic: its endpoint https://otlp.nr-data.net:4318 takes "
     "http; give the grpc endpoint with --exporter-endpoint too"),
    (["--backend", "elastic", "--exporter-endpoint", "https://p.ingest.us-east-1.aws.elastic.cloud:443"],
     "--backend elastic needs credentials: give --api-key-from-env VAR"),
    (["--backend", "newrelic", "--api-key-from-env", "API_KEY", "--header", "api-key=other"],
     "--api-key-from-env and --header api-key both set the api-key header"),
])
def test_preset_mistakes_are_one_line_exit_2(env, args, fragment):
    result = run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd", *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert KEY not in result.output


def test_help_names_the_backends():
    result = run_cli("install", "--help")
    text = re.sub(r"-\s+", "-", " ".join(result.stdout.split()))
    for flag in ("--backend NAME", "--region, --site REGION", "--api-key-from-env VAR", "--temporality"):
        assert flag in text
    assert "grafana-cloud" in text


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_preset_passes_checks_backend_needs(env, name):
    """What a preset renders is what `check` (exporters send what their backends want) asks for."""
    from kubectl_linkerd_otel.checks.exporter import backend_needs
    from kubectl_linkerd_otel.checks.framework import OK, SKIPPED
    from kubectl_linkerd_otel.snapshot import Snapshot

    flags = CASES[name][0]
    result = run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd", "--backend", name,
                     *flags)
    configmap, = [d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "ConfigMap"]
    snap = Snapshot(configmaps=[configmap], collector_configmap=configmap["metadata"]["name"],
                    collector_config_key="config.yaml")
    outcome = backend_needs(snap, None)
    expected = SKIPPED if name in ("openobserve", "otlp", "elastic") else OK
    assert outcome.status == expected, outcome


# New Relic keys name their region (EU keys begin with eu01xx; US keys have no region prefix)
EU_KEY = "eu01xx" + "0" * 30 + "NRAL"
US_KEY = "0123456789abcdef0123456789abcdef0123NRAL"


@pytest.mark.parametrize("region, key, warned", [
    ("us", EU_KEY, "the New Relic key is a key of the EU region (New Relic license keys name their "
                   "region in a prefix: eu01xx for EU, none for US), but otlp.nr-data.net is the endpoint of --region us: use "
                   "--region eu, or a key of an account in that region"),
    ("eu", US_KEY, "the New Relic key is a key of the US region (New Relic license keys name their "
                   "region in a prefix: eu01xx for EU, none for US), but otlp.eu01.nr-data.net is the endpoint of --region eu: "
                   "use --region us, or a key of an account in that region"),
    ("eu", EU_KEY, None),
    ("us", US_KEY, None),
    ("fedramp", US_KEY, None),
    ("eu", "NRAK-not-a-license-key", None),     # not a license key's shape: nothing is told
    ("fedramp", "gov" + "x" * 3 + "0" * 30 + "NRAL", None),
    ("us", "gov" + "x" * 3 + "0" * 30 + "NRAL", "the New Relic key is a key of the FedRAMP region (New Relic "
                                                 "license keys name their region in a prefix: eu01xx for EU, none "
                                                 "for US), but otlp.nr-data.net is the endpoint of --region us: use "
                                                 "--region fedramp, or a key of an account in that region"),
])
def test_a_key_of_another_region_is_warned_about(env, monkeypatch, region, key, warned):
    monkeypatch.setenv("NR_KEY", key)
    result = run_cli("install", "--dry-run", "-o", "yaml", "--backend", "newrelic", "--region", region,
                     "--api-key-from-env", "NR_KEY")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "region" in line and line.startswith("Warning:")]
    assert warnings == ([f"Warning: {warned}"] if warned else [])
    assert key not in result.output
