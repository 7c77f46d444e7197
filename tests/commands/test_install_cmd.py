"""`install` against the fake API server."""
from __future__ import annotations

import base64
import json
import re

import pytest
import yaml
from helpers import run_cli

from kubectl_linkerd_otel import naming

NS = "observability"
RBAC = naming.cluster_rbac_name(NS)      # linkerd-otel-collector-observability
APPLY = ["install", "-o", "text", "--wait=false"]
# prod.example.com is no endpoint this machine reaches: tests of other things skip the credentials proof
# (tested in test_install_credentials_proof.py)
UNPROVEN = ["--skip-credentials-check"]
EXPECTED_REFS = [
    "namespace/observability",
    "serviceaccount/linkerd-otel-collector",
    "clusterrole.rbac.authorization.k8s.io/linkerd-otel-collector-observability",
    "clusterrolebinding.rbac.authorization.k8s.io/linkerd-otel-collector-observability",
    "secret/linkerd-otel-collector-credentials",
    "configmap/linkerd-otel-collector-config",
    "deployment.apps/linkerd-otel-collector",
]


def _patches(api):
    return [r for r in api.requests if r.method == "PATCH"]


def test_fresh_install_creates_every_object(mesh_api):
    result = run_cli(*APPLY)
    assert result.exit_code == 0, result.stderr
    # the reference setup already has the namespace: we only add our labels to it
    assert result.stdout.splitlines() == ["namespace/observability configured"] + [
        f"{ref} created" for ref in EXPECTED_REFS[1:]]
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is not None
    assert mesh_api.get("clusterroles", RBAC) is not None
    ns = mesh_api.get("namespaces", NS)
    assert ns["metadata"]["labels"]["linkerd.io/extension"] == "otel"
    cm = mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)
    assert "^linkerd-proxy;linkerd-admin;linkerd$$" in cm["data"]["config.yaml"]
    assert "demo" in result.stderr   # the default backend's credentials are called demo ones
    # the reference collector is left alone, with a warning that it duplicates the metrics
    assert mesh_api.get("configmaps", naming.REFERENCE_CONFIGMAP, NS) is not None
    assert "deployment/otel-collector is still running" in result.stderr


def test_second_run_changes_nothing_and_says_so(mesh_api):
    assert run_cli(*APPLY).exit_code == 0
    again = run_cli(*APPLY)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines() == [f"{ref} unchanged" + (
        " (kept as it is: pass --basic-auth/--header to replace its credentials)"
        if ref.startswith("secret/") else "") for ref in EXPECTED_REFS]
    assert "nothing changed" in again.stderr


def test_option_change_configures_only_what_changed(mesh_api):
    assert run_cli(*APPLY).exit_code == 0
    result = run_cli(*APPLY, "--debug-exporter")
    assert result.exit_code == 0, result.stderr
    assert "configmap/linkerd-otel-collector-config configured" in result.stdout
    assert "deployment.apps/linkerd-otel-collector configured" in result.stdout   # config hash rolled
    assert "serviceaccount/linkerd-otel-collector unchanged" in result.stdout


def test_conflict_stops_and_names_object_field_and_manager(mesh_api):
    assert run_cli(*APPLY).exit_code == 0
    mesh_api.update_as("kubectl-edit", "configmaps", naming.CONFIGMAP_NAME, NS,
                       {"data": {"config.yaml": "edited by hand"}})
    result = run_cli(*APPLY, "--debug-exporter")
    assert result.exit_code == 2
    assert "configmap/linkerd-otel-collector-config" in result.stderr
    assert ".data.config.yaml" in result.stderr and "kubectl-edit" in result.stderr
    assert "--force-conflicts" in result.stderr
    assert "Traceback" not in result.stderr
    assert mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"] == "edited by hand"
    forced = run_cli(*APPLY, "--debug-exporter", "--force-conflicts")
    assert forced.exit_code == 0, forced.stderr
    assert "configmap/linkerd-otel-collector-config configured" in forced.stdout
    assert "debug:" in mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"]


def test_refuses_without_linkerd_unless_skipped(fake_api):
    result = run_cli(*APPLY)
    assert result.exit_code == 2
    assert "Linkerd is not installed" in result.stderr and "--skip-linkerd-check" in result.stderr
    assert _patches(fake_api) == []
    skipped = run_cli(*APPLY, "--skip-linkerd-check")
    assert skipped.exit_code == 0, skipped.stderr
    assert fake_api.get("deployments", naming.COLLECTOR_NAME, NS) is not None


def test_control_plane_namespace_is_detected(fake_api):
    fake_api.add({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "mesh-cp", "labels": {"linkerd.io/is-control-plane": "true"}}})
    result = run_cli(*APPLY)
    assert result.exit_code == 0
    assert "still running" not in result.stderr     # no reference collector in this cluster
    text = fake_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"]
    assert "^linkerd-proxy;linkerd-admin;mesh-cp$$" in text
    assert "- mesh-cp" in text


def test_linkerd_namespace_flag_overrides_and_must_exist(mesh_api):
    result = run_cli(*APPLY, "--linkerd-namespace", "nope")
    assert result.exit_code == 2 and "nope" in result.stderr
    ok = run_cli(*APPLY, "--linkerd-namespace", "other-mesh")
    assert ok.exit_code == 0, ok.stderr
    text = mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"]
    assert "linkerd-admin;other-mesh$$" in text


def test_installs_in_two_namespaces_keep_their_own_cluster_rbac(mesh_api):
    for ns in ("team-a", "team-b"):
        result = run_cli(*APPLY, "-n", ns)
        assert result.exit_code == 0, result.stderr
        assert f"clusterrolebinding.rbac.authorization.k8s.io/linkerd-otel-collector-{ns} created" \
            in result.stdout
    for ns in ("team-a", "team-b"):
        binding = mesh_api.get("clusterrolebindings", f"linkerd-otel-collector-{ns}")
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": naming.COLLECTOR_NAME,
                                        "namespace": ns}]
        assert binding["roleRef"]["name"] == f"linkerd-otel-collector-{ns}"
        assert binding["metadata"]["labels"][naming.COLLECTOR_NAMESPACE_LABEL] == ns
        role = mesh_api.get("clusterroles", f"linkerd-otel-collector-{ns}")
        assert role["metadata"]["labels"][naming.COLLECTOR_NAMESPACE_LABEL] == ns
    assert mesh_api.get("clusterrolebindings", naming.COLLECTOR_NAME) is None


def test_namespace_flag_moves_the_stack(mesh_api):
    assert run_cli(*APPLY, "-n", "otel").exit_code == 0
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, "otel") is not None
    binding = mesh_api.get("clusterrolebindings", "linkerd-otel-collector-otel")
    assert binding["subjects"][0]["namespace"] == "otel"


SECRET_PASS = "Sup3r-S3cret-Pa55"
SECRET_KEY = "api-key-Zq9Xw7"


def _all_text(api, result) -> str:
    stored = json.dumps([api.objects(r) for r in ("configmaps", "deployments", "namespaces")])
    return result.stdout + result.stderr + stored


def test_no_credential_text_in_outputs_or_configmap(mesh_api, monkeypatch):
    monkeypatch.setenv("MY_OTLP_CREDS", "robot:" + SECRET_PASS)
    encoded = base64.b64encode(("robot:" + SECRET_PASS).encode()).decode()
    args = ["--exporter-endpoint", "otlp.example:4317", "--basic-auth-from-env", "MY_OTLP_CREDS",
            "--header", "X-Api-Key=" + SECRET_KEY, "--header", "tenant=acme"]
    result = run_cli(*APPLY, *args)
    assert result.exit_code == 0, result.stderr
    for needle in (SECRET_PASS, SECRET_KEY, encoded):
        assert needle not in _all_text(mesh_api, result)
    sec = mesh_api.get("secrets", naming.SECRET_NAME, NS)
    assert base64.b64decode(sec["data"]["OTLP_AUTH"]).decode() == encoded
    assert base64.b64decode(sec["data"]["OTLP_HEADER_0"]).decode() == SECRET_KEY
    # a conflict error does not carry it either
    mesh_api.update_as("kubectl-edit", "secrets", naming.SECRET_NAME, NS,
                       {"data": {"OTLP_AUTH": base64.b64encode(b"other").decode()}})
    conflict = run_cli(*APPLY, *args)
    assert conflict.exit_code == 2
    for needle in (SECRET_PASS, SECRET_KEY, encoded):
        assert needle not in conflict.stdout + conflict.stderr


def test_printed_yaml_leaves_the_secret_out_unless_asked(mesh_api):
    args = ["--exporter-endpoint", "otlp.example:4317", "--basic-auth", "robot:" + SECRET_PASS]
    encoded = base64.b64encode(("robot:" + SECRET_PASS).encode()).decode()
    result = run_cli("install", "--dry-run", "-o", "yaml", *args)
    assert result.exit_code == 0, result.stderr
    assert "kind: Secret" not in result.stdout
    assert SECRET_PASS not in result.output and encoded not in result.output
    assert "create secret generic linkerd-otel-collector-credentials" in result.stderr
    assert "--show-secrets" in result.stderr
    shown = run_cli("install", "--dry-run", "-o", "yaml", "--show-secrets", *args)
    assert "kind: Secret" in shown.stdout
    assert base64.b64encode(encoded.encode()).decode() in shown.stdout
    assert _patches(mesh_api) == []


def test_piped_stdout_prints_instead_of_applying(mesh_api):
    result = run_cli("install")     # run_cli's stdout is not a terminal, like `| kubectl apply -f -`
    assert result.exit_code == 0, result.stderr
    docs = result.stdout.split("---\n")
    assert "kind: Deployment" in result.stdout and len([d for d in docs if d.strip()]) == 6
    assert "not a terminal" in result.stderr
    assert _patches(mesh_api) == []


def test_dry_run_json_touches_nothing(mesh_api):
    result = run_cli("install", "--dry-run", "-o", "json")
    assert result.exit_code == 0
    kinds = [o["kind"] for o in json.loads(result.stdout)["items"]]
    assert kinds[-1] == "Deployment" and "Secret" not in kinds
    assert _patches(mesh_api) == []


def test_printing_works_without_a_cluster(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_cli("install", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "linkerd-admin;linkerd$$" in result.stdout
    assert "Note: no kubeconfig found: rendering for the Linkerd control plane in namespace linkerd" \
        in result.stderr


def test_printing_falls_back_when_the_cluster_is_unreachable(fake_api):
    fake_api.drop(times=None)
    result = run_cli("install", "--dry-run", "-o", "yaml", "--context", "fake")
    assert result.exit_code == 0, result.stderr
    assert "linkerd-admin;linkerd$$" in result.stdout
    assert "Note: cluster not reachable" in result.stderr


@pytest.mark.parametrize("flags,message", [
    (["--context", "nope"], "context 'nope' not found in the kubeconfig"),
    (["--kubeconfig", "/nonexistent/kubeconfig"], "kubeconfig /nonexistent/kubeconfig does not exist"),
])
def test_printing_with_a_named_context_or_kubeconfig_that_cannot_be_used_fails(fake_api, flags, message):
    result = run_cli("install", "--dry-run", "-o", "yaml", *flags)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert "Note:" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_printing_stops_when_the_api_server_refuses(mesh_api):
    mesh_api.fail(403, times=None, path="/api/v1/namespaces")
    result = run_cli("install", "--dry-run", "-o", "yaml")
    assert result.exit_code == 2
    assert "--linkerd-namespace renders without asking the cluster" in result.stderr
    assert result.stdout == ""
    named = run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd")
    assert named.exit_code == 0, named.stderr


def test_printing_with_a_broken_kubeconfig_fails_even_unnamed(fake_api, tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    broken.write_text("clusters: {not: a list}\n", encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(broken))
    result = run_cli("install", "--dry-run", "-o", "yaml")
    assert result.exit_code == 2
    assert "clusters must be a list" in result.stderr and result.stdout == ""


def test_server_dry_run_validates_without_saving(mesh_api):
    result = run_cli("install", "--dry-run=server", "--wait=false")
    assert result.exit_code == 0, result.stderr
    assert "deployment.apps/linkerd-otel-collector created (server dry run)" in result.stdout
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is None
    patches = _patches(mesh_api)
    assert patches and all("dryRun=All" in str(r.query) or r.query.get("dryRun") == "All"
                           for r in patches)


def test_hand_made_secret_is_kept_unless_credentials_are_passed(mesh_api):
    mine = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": naming.SECRET_NAME, "namespace": NS},
            "data": {"OTLP_AUTH": base64.b64encode(b"bXk6b3du").decode()}}
    mesh_api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    mesh_api.add(mine)
    result = run_cli(*APPLY)
    assert result.exit_code == 0, result.stderr
    assert "secret/linkerd-otel-collector-credentials unchanged (kept" in result.stdout
    assert mesh_api.get("secrets", naming.SECRET_NAME, NS)["data"] == mine["data"]
    replaced = run_cli(*APPLY, "--exporter-endpoint", "o:4317", "--basic-auth", "a:b")
    assert replaced.exit_code == 0, replaced.stderr
    assert mesh_api.get("secrets", naming.SECRET_NAME, NS)["data"]["OTLP_AUTH"] == \
        base64.b64encode(base64.b64encode(b"a:b")).decode()


CREDS = ["--exporter-endpoint", "otlp.example:4317"]


def _restarted_at(api, plural="deployments"):
    template = api.get(plural, naming.COLLECTOR_NAME, NS)["spec"]["template"]
    return (template["metadata"].get("annotations") or {}).get(naming.RESTARTED_AT_ANNOTATION)


@pytest.mark.parametrize("mode,plural", [("deployment", "deployments"), ("daemonset", "daemonsets")])
def test_changed_credentials_restart_the_collector(mesh_api, mode, plural):
    args = [*APPLY, *CREDS, "--mode", mode]
    first = run_cli(*args, "--basic-auth", "a:1")
    assert first.exit_code == 0, first.stderr
    assert _restarted_at(mesh_api, plural) is None and "restarted" not in first.stdout
    template_before = mesh_api.get(plural, naming.COLLECTOR_NAME, NS)["spec"]["template"]

    second = run_cli(*args, "--basic-auth", "b:2")
    assert second.exit_code == 0, second.stderr
    assert "secret/linkerd-otel-collector-credentials configured" in second.stdout
    assert f"{mode}.apps/linkerd-otel-collector unchanged" in second.stdout   # nothing rolled it
    assert second.stdout.splitlines()[-1] == \
        f"{mode}.apps/linkerd-otel-collector restarted to pick up the new credentials"
    stamp = _restarted_at(mesh_api, plural)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp or ""), stamp
    template_after = mesh_api.get(plural, naming.COLLECTOR_NAME, NS)["spec"]["template"]
    template_after["metadata"]["annotations"].pop(naming.RESTARTED_AT_ANNOTATION)
    assert template_after == template_before       # the restart changed nothing but the annotation
    managers = {m["manager"] for m in mesh_api.get(plural, naming.COLLECTOR_NAME, NS)["metadata"]
                ["managedFields"]}
    assert naming.RESTART_FIELD_MANAGER in managers
    for needle in ("b:2", base64.b64encode(b"b:2").decode()):
        assert needle not in second.output

    third = run_cli(*args, "--basic-auth", "b:2")
    assert third.exit_code == 0, third.stderr
    assert "restarted" not in third.stdout
    assert all(line.endswith(" unchanged") for line in third.stdout.splitlines()), third.stdout
    assert "nothing changed" in third.stderr
    assert _restarted_at(mesh_api, plural) == stamp     # the regular apply keeps the annotation


def test_credentials_changed_with_the_config_roll_without_an_extra_restart(mesh_api):
    assert run_cli(*APPLY, *CREDS, "--basic-auth", "a:1").exit_code == 0
    result = run_cli(*APPLY, *CREDS, "--basic-auth", "b:2", "--debug-exporter")
    assert result.exit_code == 0, result.stderr
    assert "deployment.apps/linkerd-otel-collector configured" in result.stdout   # config hash rolls it
    assert "restarted" not in result.stdout
    assert _restarted_at(mesh_api) is None


def test_daemonset_mode_replaces_the_deployment(mesh_api):
    assert run_cli(*APPLY).exit_code == 0
    result = run_cli(*APPLY, "--mode", "daemonset")
    assert result.exit_code == 0, result.stderr
    assert "daemonset.apps/linkerd-otel-collector created" in result.stdout
    assert "deployment.apps/linkerd-otel-collector deleted" in result.stdout
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is None
    ds = mesh_api.get("daemonsets", naming.COLLECTOR_NAME, NS)
    assert ds["spec"]["template"]["spec"]["containers"][0]["env"][1]["name"] == "K8S_NODE_NAME"


def test_latest_image_warns(mesh_api):
    result = run_cli(*APPLY, "--image", "otel/opentelemetry-collector:latest")
    assert result.exit_code == 0
    assert "Warning: image otel/opentelemetry-collector:latest is not pinned" in result.stderr


def _roll_out(api, obj):
    status = obj.get("status") or {}
    generation = obj["metadata"].get("generation", 1)
    if status.get("observedGeneration") == generation:
        return
    obj["status"] = {"observedGeneration": generation, "replicas": 1, "updatedReplicas": 1,
                     "readyReplicas": 1, "availableReplicas": 1}
    api.add(obj)


def test_wait_reports_the_rollout(mesh_api):
    mesh_api.on_apply("Deployment", _roll_out)
    result = run_cli("install", "-o", "text", "--timeout", "20s")
    assert result.exit_code == 0, result.stderr
    assert "deployment.apps/linkerd-otel-collector rolled out: 1/1 ready, 1 updated" in result.stderr


def test_wait_timeout_names_not_ready_pods_with_reason_and_event(mesh_api):
    mesh_api.add({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "linkerd-otel-collector-5d9f-abcde", "namespace": NS,
        "labels": {"app.kubernetes.io/name": "otel-collector", "app.kubernetes.io/part-of": "linkerd-otel"}},
        "spec": {"containers": [{"name": "otel-collector", "image": "x"}]},
        "status": {"phase": "Pending", "containerStatuses": [{
            "name": "otel-collector", "ready": False, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling"}}}]}})
    mesh_api.add({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev1", "namespace": NS},
                  "involvedObject": {"kind": "Pod", "name": "linkerd-otel-collector-5d9f-abcde",
                                     "namespace": NS},
                  "reason": "Failed", "message": 'Failed to pull image "x": not found',
                  "lastTimestamp": "2026-11-25T10:00:00Z"})
    result = run_cli("install", "-o", "text", "--timeout", "1s")
    assert result.exit_code == 2
    assert "timed out after 1s" in result.stderr
    assert "pod/linkerd-otel-collector-5d9f-abcde 0/1 ready: otel-collector: ImagePullBackOff" \
        in result.stderr
    assert 'last event: Failed: Failed to pull image "x": not found' in result.stderr


@pytest.mark.parametrize("args,fragment", [
    (["--basic-auth", "a:b"], "--exporter-endpoint"),
    (["--exporter-endpoint", "x:1", "--basic-auth-from-env", "UNSET_VAR_FOR_TEST"], "UNSET_VAR_FOR_TEST"),
    (["--timeout", "soon"], "--timeout"),
    (["--dry-run=maybe"], "--dry-run"),
])
def test_bad_flags_exit_2_with_a_message(mesh_api, args, fragment):
    result = run_cli(*APPLY, *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert _patches(mesh_api) == []


@pytest.mark.parametrize("output,dry_run,tty,prints", [
    (None, None, True, False),        # kubectl linkerd-otel install on a terminal: apply
    (None, None, False, True),        # linkerd-otel install | kubectl apply -f -
    ("text", None, False, False),     # -o text applies even when piped (CI logs)
    ("yaml", None, True, True),
    ("json", None, True, True),
    (None, "client", True, True),
    ("text", "client", True, True),
    (None, "server", False, False),   # the API server validates: nothing printed instead
    ("yaml", "server", True, False),
])
def test_the_print_or_apply_rule(output, dry_run, tty, prints):
    from kubectl_linkerd_otel.commands.output import print_instead_of_apply

    assert print_instead_of_apply(output, dry_run, tty) is prints


def test_applying_without_a_cluster_points_at_dry_run(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run_cli(*APPLY)
    assert result.exit_code == 2
    assert "--dry-run -o yaml" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("obj,done", [
    ({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 1},
      "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}},
     False),   # the controller has not seen the new spec yet
    ({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 1},
      "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1}},
     False),   # an old pod is still there
    ({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 1},
      "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}},
     True),
    ({"kind": "DaemonSet", "metadata": {"generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
                 "numberAvailable": 2}}, False),
    ({"kind": "DaemonSet", "metadata": {"generation": 1},
      "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
                 "numberAvailable": 3}}, True),
])
def test_rollout_state(obj, done):
    from kubectl_linkerd_otel.cluster.rollout import rollout_state

    assert rollout_state(obj)[0] is done


BOOL_FLAGS = ["--skip-linkerd-check", "--force-conflicts", "--show-secrets", "--debug-exporter",
              "--insecure", "--wait"]


def test_help_shows_that_boolean_flags_take_an_optional_value():
    result = run_cli("install", "--help")
    assert result.exit_code == 0
    for flag in BOOL_FLAGS:
        assert f"{flag} [BOOL]" in result.stdout, flag


@pytest.mark.parametrize("flag,installs", [
    ("--skip-linkerd-check", True),
    ("--skip-linkerd-check=true", True),
    ("--skip-linkerd-check=false", False),
])
def test_skip_linkerd_check_takes_an_optional_bool(fake_api, flag, installs):
    result = run_cli(*APPLY, flag)
    if installs:
        assert result.exit_code == 0, result.stderr
        assert fake_api.get("deployments", naming.COLLECTOR_NAME, NS) is not None
    else:
        assert result.exit_code == 2 and "Linkerd is not installed" in result.stderr
        assert _patches(fake_api) == []


@pytest.mark.parametrize("flag,value", [
    ("--debug-exporter", True), ("--debug-exporter=true", True), ("--debug-exporter=false", False),
])
def test_debug_exporter_takes_an_optional_bool(mesh_api, flag, value):
    result = run_cli("install", "--dry-run", "-o", "yaml", flag, "--wait=false")
    assert result.exit_code == 0, result.stderr
    assert ("- debug\n" in result.stdout) is value


@pytest.mark.parametrize("flag,shown", [
    ("--show-secrets", True), ("--show-secrets=true", True), ("--show-secrets=false", False),
])
def test_show_secrets_takes_an_optional_bool(mesh_api, flag, shown):
    result = run_cli("install", "--dry-run", "-o", "yaml", flag)
    assert result.exit_code == 0, result.stderr
    assert ("kind: Secret" in result.stdout) is shown


@pytest.mark.parametrize("flag,plain", [
    ("--insecure", True), ("--insecure=true", True), ("--insecure=false", False),
])
def test_insecure_takes_an_optional_bool(mesh_api, flag, plain):
    result = run_cli("install", "--dry-run", "-o", "yaml", *CREDS, flag)
    assert result.exit_code == 0, result.stderr
    assert ("insecure: true" in result.stdout) is plain


@pytest.mark.parametrize("flag,forced", [
    ("--force-conflicts", True), ("--force-conflicts=true", True), ("--force-conflicts=false", False),
])
def test_force_conflicts_takes_an_optional_bool(mesh_api, flag, forced):
    assert run_cli(*APPLY).exit_code == 0
    mesh_api.update_as("kubectl-edit", "configmaps", naming.CONFIGMAP_NAME, NS,
                       {"data": {"config.yaml": "edited by hand"}})
    result = run_cli(*APPLY, "--debug-exporter", flag)
    assert (result.exit_code == 0) is forced, result.stderr
    edited = mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"] == "edited by hand"
    assert edited is not forced


def test_a_bool_flag_rejects_a_non_bool_value(mesh_api):
    result = run_cli(*APPLY, "--skip-linkerd-check=maybe")
    assert result.exit_code == 2
    assert "not a boolean" in result.stderr
    assert _patches(mesh_api) == []


def test_an_object_with_our_name_that_install_did_not_create_is_not_taken_over(mesh_api):
    theirs = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": naming.CONFIGMAP_NAME, "namespace": NS}, "data": {"mine": "yes"}}
    mesh_api.add(theirs)
    result = run_cli(*APPLY)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert lines == [lines[0]] and lines[0].startswith(
        f"Error: configmap/{naming.CONFIGMAP_NAME} already exists in namespace {NS} and was not "
        f"created by kubectl-linkerd-otel: install will not take it over")
    assert "nothing was applied" in lines[0]
    assert _patches(mesh_api) == []
    assert mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"] == {"mine": "yes"}


def test_a_conflict_stops_install_before_anything_changes(mesh_api):
    assert run_cli(*APPLY).exit_code == 0
    mesh_api.update_as("kubectl", "deployments", naming.COLLECTOR_NAME, NS, {"spec": {"replicas": 2}})
    config_before = mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]
    writes = len(mesh_api.requests)
    result = run_cli(*APPLY, "--scrape-interval", "15s")
    assert result.exit_code == 2
    assert "deployment.apps/linkerd-otel-collector: not overwriting .spec.replicas (owned by kubectl)" \
        in result.stderr
    assert "nothing was applied" in result.stderr
    assert mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"] == config_before
    assert [r for r in mesh_api.requests[writes:] if r.method == "PATCH"
            and r.query.get("dryRun") != "All"] == []


def test_server_dry_run_into_a_namespace_that_does_not_exist_yet(mesh_api):
    result = run_cli("install", "--dry-run=server", "-n", "fresh")
    assert result.exit_code == 0, result.stderr
    assert "namespace/fresh created (server dry run)" in result.stdout
    assert ("configmap/linkerd-otel-collector-config skipped (server dry run: namespace fresh does not "
            "exist yet)") in result.stdout
    assert "clusterrole.rbac.authorization.k8s.io/linkerd-otel-collector-fresh created (server dry run)" \
        in result.stdout
    assert mesh_api.get("namespaces", "fresh") is None


def test_a_failed_server_dry_run_does_not_claim_anything_was_applied(mesh_api):
    mesh_api.fail(422, times=None, path="/configmaps/", method="PATCH")
    result = run_cli("install", "--dry-run=server")
    assert result.exit_code == 2
    assert "nothing was changed (server dry run)" in result.stderr
    assert "applied before it" not in result.stderr


@pytest.mark.parametrize("args,fragment,secret_text", [
    (["--exporter-endpoint", "https://bob:S3cr3tPW@otlp.example.com", "--exporter-protocol", "http"],
     "--exporter-endpoint holds credentials", "S3cr3tPW"),
    (["--exporter-endpoint", "bob:S3cr3tPW@otlp.example.com:4317"], "--exporter-endpoint holds credentials",
     "S3cr3tPW"),
    (["--exporter-protocol", "http"], "need --exporter-endpoint", None),
    (["--cpu-request", "200m", "--cpu-limit", "100m"], "--cpu-request is larger than --cpu-limit", None),
    (["--exporter-endpoint", "x:1", "--header", "X-A=1", "--header", "x-a=2"], "more than once", None),
])
def test_more_bad_flags(mesh_api, args, fragment, secret_text):
    result = run_cli(*APPLY, *args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    if secret_text:
        assert secret_text not in result.output
    assert _patches(mesh_api) == []


def test_basic_auth_from_env_without_a_colon_names_the_variable(mesh_api, monkeypatch):
    monkeypatch.setenv("OTLP_CREDS_FOR_TEST", "justonetoken")
    result = run_cli(*APPLY, "--exporter-endpoint", "x:1", "--basic-auth-from-env", "OTLP_CREDS_FOR_TEST")
    assert result.exit_code == 2
    assert "OTLP_CREDS_FOR_TEST must hold USER:PASSWORD" in result.stderr
    assert "justonetoken" not in result.output


def test_a_ca_file_with_a_private_key_is_refused(mesh_api, tmp_path):
    bundle = tmp_path / "ca-and-key.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
                      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END PRIVATE KEY-----\n")
    result = run_cli("install", "--dry-run", "-o", "yaml", "--exporter-endpoint", "x:4317",
                     "--ca-file", str(bundle), "--linkerd-namespace", "linkerd")
    assert result.exit_code == 2
    assert "--ca-file holds a private key" in result.stderr
    assert "c2VjcmV0LWtleQ" not in result.output


def test_credential_headers_by_name_or_by_flag_go_to_the_secret(mesh_api):
    result = run_cli("install", "--dry-run", "-o", "yaml", "--exporter-endpoint", "https://api.honeycomb.io",
                     "--exporter-protocol", "http", "--header", "x-honeycomb-team=hc-key-123",
                     "--header", "X-Sumo-Credential=sumo-456", "--secret-header", "X-Tenant=tenant-789",
                     "--header", "X-Org=te$nant", "--linkerd-namespace", "linkerd")
    assert result.exit_code == 0, result.stderr
    for value in ("hc-key-123", "sumo-456", "tenant-789"):
        assert value not in result.output
    config = next(d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "ConfigMap")
    headers = yaml.safe_load(config["data"]["config.yaml"])["exporters"]["otlp_http/backend"]["headers"]
    assert headers["x-honeycomb-team"].startswith("${env:OTLP_HEADER_")
    assert headers["X-Tenant"].startswith("${env:OTLP_HEADER_")
    assert headers["X-Org"] == "te$$nant"     # a literal $ survives the collector's expansion
    shown = run_cli("install", "--dry-run", "-o", "yaml", "--exporter-endpoint", "x:4317",
                    "--secret-header", "X-Tenant=tenant-789", "--show-secrets", "--linkerd-namespace", "linkerd")
    assert shown.exit_code == 0 and "holds the exporter credentials" in shown.stderr


def _exporter_config(api):
    text = api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"]
    return yaml.safe_load(text)["exporters"]


def test_kept_credentials_are_never_sent_to_another_endpoint(mesh_api):
    first = run_cli(*APPLY, *UNPROVEN, "--exporter-endpoint", "prod.example.com:4317", "--basic-auth", "prod:REALPW")
    assert first.exit_code == 0, first.stderr
    config_before = mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]
    demo = run_cli(*APPLY)      # no flags: the demo backend, which must not get the production secret
    assert demo.exit_code == 2
    assert ("holds the credentials for prod.example.com:4317, not for "
            "openobserve-openobserve-standalone.openobserve.svc.cluster.local:5081") in demo.stderr
    assert "REALPW" not in demo.output
    assert mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"] == config_before


def test_a_rerun_with_the_endpoint_only_keeps_authenticating_with_the_kept_secret(mesh_api):
    assert run_cli(*APPLY, *UNPROVEN, "--exporter-endpoint", "prod.example.com:4317",
                   "--basic-auth", "prod:REALPW").exit_code == 0
    again = run_cli(*APPLY, "--exporter-endpoint", "prod.example.com:4317")
    assert again.exit_code == 0, again.stderr
    assert "secret/linkerd-otel-collector-credentials unchanged (kept" in again.stdout
    assert "configmap/linkerd-otel-collector-config unchanged" in again.stdout
    assert _exporter_config(mesh_api)["otlp_grpc/backend"]["headers"] == \
        {"Authorization": "Basic ${env:OTLP_AUTH}"}
    env = mesh_api.get("deployments", naming.COLLECTOR_NAME, NS)["spec"]["template"]["spec"][
        "containers"][0]["env"]
    assert {"name": "OTLP_AUTH", "valueFrom": {"secretKeyRef": {"name": naming.SECRET_NAME,
                                                                "key": "OTLP_AUTH"}}} in env


def test_the_secret_records_endpoint_and_headers_but_no_value(mesh_api):
    assert run_cli(*APPLY, *UNPROVEN, "--exporter-endpoint", "prod.example.com:4317", "--header", "X-Api-Key=k-123",
                   "--basic-auth", "prod:REALPW").exit_code == 0
    annotations = mesh_api.get("secrets", naming.SECRET_NAME, NS)["metadata"]["annotations"]
    assert annotations[naming.SECRET_ENDPOINT_ANNOTATION] == "prod.example.com:4317"
    assert json.loads(annotations[naming.SECRET_HEADERS_ANNOTATION]) == [
        {"header": "Authorization", "env": "OTLP_AUTH", "prefix": "Basic "},
        {"header": "X-Api-Key", "env": "OTLP_HEADER_0", "prefix": ""}]
    assert "k-123" not in json.dumps(annotations) and "REALPW" not in json.dumps(annotations)


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_server_dry_run_prints_the_validated_objects_in_the_asked_format(mesh_api, output):
    result = run_cli("install", "--dry-run=server", "-o", output)
    assert result.exit_code == 0, result.stderr
    if output == "json":
        items = json.loads(result.stdout)["items"]
    else:
        items = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = [item["kind"] for item in items]
    assert kinds == ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
                     "Deployment"]           # the Secret only with --show-secrets
    assert all("managedFields" not in item["metadata"] for item in items)
    assert "(server dry run)" not in result.stdout
    assert mesh_api.get("deployments", naming.COLLECTOR_NAME, NS) is None


@pytest.mark.parametrize("args", [
    ["--exporter-protocol", "http", "--exporter-endpoint", "alice:s3cret@otlp.example:4318"],
    ["--exporter-protocol", "http", "--exporter-endpoint", "https://alice:s3cret@host:4318/x y"],
    ["--exporter-endpoint", "alice:s3cret@otlp.example:4317 "],
])
def test_an_endpoint_with_credentials_is_refused_before_any_message_repeats_it(args):
    result = run_cli("install", "--dry-run", "-o", "yaml", "--linkerd-namespace", "linkerd", *args)
    assert result.exit_code == 2
    assert "--exporter-endpoint holds credentials" in result.stderr
    assert "s3cret" not in result.output


def test_moving_from_the_demo_to_a_backend_without_credentials_leaves_the_secret_unused(mesh_api):
    assert run_cli(*APPLY).exit_code == 0                  # demo backend, demo credentials Secret
    moved = run_cli(*APPLY, "--exporter-endpoint", "otlp.example:4317")
    assert moved.exit_code == 0, moved.stderr
    assert "no longer uses" in moved.stderr and "delete secret linkerd-otel-collector-credentials" \
        in moved.stderr
    exporter = _exporter_config(mesh_api)["otlp_grpc/backend"]
    assert "headers" not in exporter
    env = mesh_api.get("deployments", naming.COLLECTOR_NAME, NS)["spec"]["template"]["spec"][
        "containers"][0]["env"]
    assert not any(e["name"] == "OTLP_AUTH" for e in env)


def test_printing_renders_what_applying_would_with_a_kept_secret(mesh_api):
    assert run_cli(*APPLY, *UNPROVEN, "--exporter-endpoint", "prod.example.com:4317",
                   "--basic-auth", "prod:REALPW").exit_code == 0
    applied = mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"]
    printed = run_cli("install", "--dry-run", "-o", "yaml", "--exporter-endpoint", "prod.example.com:4317",
                      "--show-secrets")
    assert printed.exit_code == 0, printed.stderr
    docs = [d for d in yaml.safe_load_all(printed.stdout) if d]
    assert "Secret" not in [d["kind"] for d in docs]          # never an empty Secret over the real one
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"]
    assert config == applied
    assert "uses the credentials of the existing secret/linkerd-otel-collector-credentials" in printed.stderr
    assert "REALPW" not in printed.output


def test_server_dry_run_as_yaml_says_what_it_skipped_on_stderr(mesh_api):
    result = run_cli("install", "--dry-run=server", "-o", "yaml", "-n", "fresh")
    assert result.exit_code == 0, result.stderr
    assert "Note: configmap/linkerd-otel-collector-config skipped (server dry run: namespace fresh " \
           "does not exist yet)" in result.stderr
    assert [d["kind"] for d in yaml.safe_load_all(result.stdout) if d] == [
        "Namespace", "ClusterRole", "ClusterRoleBinding"]


def test_server_dry_run_as_yaml_prints_each_object_once_when_credentials_change(mesh_api):
    assert run_cli(*APPLY, *CREDS, "--basic-auth", "a:1").exit_code == 0
    result = run_cli("install", "--dry-run=server", "-o", "json", *CREDS, "--basic-auth", "b:2")
    assert result.exit_code == 0, result.stderr
    kinds = [item["kind"] for item in json.loads(result.stdout)["items"]]
    assert kinds.count("Deployment") == 1


def test_timeout_zero_is_refused_only_when_install_would_wait(mesh_api):
    waiting = run_cli("install", "-o", "text", "--timeout", "0")
    assert waiting.exit_code == 2 and "--timeout 0" in waiting.stderr
    assert _patches(mesh_api) == []
    assert run_cli(*APPLY, "--timeout", "0").exit_code == 0          # APPLY has --wait=false
    assert run_cli("install", "--dry-run", "-o", "yaml", "--timeout", "0").exit_code == 0


@pytest.mark.parametrize("annotation", ["null", "5", '[{"header": "Authorization", "env": ["x"]}]',
                                        '[{"header": "Bad Header", "env": "OTLP_AUTH"}]', "{not json"])
def test_a_hand_edited_secret_annotation_never_crashes_or_leaks_into_the_config(mesh_api, annotation):
    assert run_cli(*APPLY, *CREDS, "--basic-auth", "a:1").exit_code == 0
    mesh_api.update_as("kubectl-annotate", "secrets", naming.SECRET_NAME, NS,
                       {"metadata": {"annotations": {naming.SECRET_HEADERS_ANNOTATION: annotation}}})
    result = run_cli(*APPLY, *CREDS)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "Bad Header" not in mesh_api.get("configmaps", naming.CONFIGMAP_NAME, NS)["data"]["config.yaml"]
