"""Property tests (hypothesis): random JSON through the API-answer reader, random pod documents
through `targets`: never an exception other than the plugin's own one-line errors."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import examples, run_cli
from kubectl_linkerd_otel.errors import PluginError
from kubectl_linkerd_otel.apiclient.answers import check_list, check_object, check_version

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=30)
POD_KEYS = ["metadata", "spec", "status", "name", "namespace", "labels", "annotations", "containers",
            "initContainers", "ports", "containerPort", "podIP", "phase", "conditions", "containerStatuses",
            "ownerReferences", "controller", "kind", "items", "restartCount", "ready", "state"]
POD_JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 70000) | st.sampled_from(["", "a", "10.0.0.1", "Running"]),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(POD_KEYS), inner, max_size=5),
                        max_leaves=40)


@settings(max_examples=examples(300), deadline=None)
@given(doc=JSON)
def test_api_answer_reader_never_raises_anything_else(doc):
    for read in (lambda: check_list(check_object(doc, "list pods", "s"), "list pods", "s", pods=True),
                 lambda: check_version(check_object(doc, "get version", "s"), "get version", "s")):
        try:
            read()
        except PluginError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pods=st.lists(POD_JSON, max_size=4))
def test_targets_on_random_pod_documents(tmp_path, pods):
    (tmp_path / "pods.json").write_text(json.dumps({"kind": "List", "items": pods}))
    config = ('receivers: {prometheus: {config: {scrape_configs: [{job_name: j, kubernetes_sd_configs: '
              '[{role: pod}]}]}}}\nexporters: {debug: {}}\nservice: {pipelines: {metrics: '
              '{receivers: [prometheus], exporters: [debug]}}}\n')
    (tmp_path / "config.yaml").write_text(config)
    result = run_cli("targets", "--pods", str(tmp_path / "pods.json"), "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
