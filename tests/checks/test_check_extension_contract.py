"""`linkerd check` runs `linkerd-otel check` with its own flags and parses one JSON document from stdout.

The flags are what linkerd2's cli/cmd/check.go getExtensionCheckFlags passes (api-addr, context, as,
as-group, kubeconfig, linkerd-namespace, verbose, namespace, proxy, wait — each only when non-empty — then
--output=json), and the parsing mirrors its parseJSONCheckOutput: a check fails only when `error` is
non-empty and `result` is not "warning". test_linkerd_cli_real.py checks these arguments, in this order,
against what the real Linkerd CLI passes.
"""
from __future__ import annotations

import copy
import json

import scenarios
from helpers import run_cli


def linkerd_args(kubeconfig, *extra):
    return ["check", "--context=fake", "--as-group=[]", f"--kubeconfig={kubeconfig}",
            "--linkerd-namespace=linkerd", "--verbose=false", *extra, "--proxy=false", "--wait=5m0s",
            "--output=json"]


def parse_like_linkerd(stdout: str):
    """(success, failed checks, warnings) as linkerd's runExtensionsChecks sees them."""
    doc = json.loads(stdout)   # exactly one JSON document, nothing else on stdout
    assert set(doc) == {"success", "categories"}
    assert isinstance(doc["success"], bool)
    failed, warnings = [], []
    for category in doc["categories"]:
        assert set(category) == {"categoryName", "checks"}
        for check in category["checks"]:
            assert set(check) == {"description", "hint", "error", "result"}
            assert check["result"] in ("success", "warning", "error")
            if check["error"]:
                if check["result"] == "warning":
                    warnings.append(check)
                else:
                    failed.append(check)
    return doc["success"], failed, warnings


def _label_extension_namespace(api):
    ns = copy.deepcopy(api.get("namespaces", "observability"))
    ns["metadata"]["labels"]["linkerd.io/extension"] = "otel"
    api.add(ns)


def test_linkerd_extension_invocation_healthy(mesh_api):
    scenarios.healthy(mesh_api)
    _label_extension_namespace(mesh_api)
    result = run_cli(*linkerd_args(mesh_api.kubeconfig_path, "--metrics-interval=0s"))
    assert result.exit_code == 0, result.output
    success, failed, _ = parse_like_linkerd(result.stdout)
    assert success is True and failed == []


def test_linkerd_namespace_flag_is_the_data_plane_filter(mesh_api):
    """--namespace from Linkerd limits its proxy checks; our collector is found by the extension label."""
    scenarios.healthy(mesh_api)
    _label_extension_namespace(mesh_api)
    result = run_cli(*linkerd_args(mesh_api.kubeconfig_path, "--namespace=emojivoto", "--metrics-interval=0s"))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    checks = {(c["categoryName"], k["description"]) for c in doc["categories"] for k in c["checks"]}
    assert ("linkerd-otel-collector",
            "collector namespace 'observability' exists (labelled linkerd.io/extension=otel)") in checks
    assert ("linkerd-data-plane", "3 meshed pods found in 1 namespace (emojivoto)") in checks


def test_unknown_flags_are_ignored_and_failures_parse(mesh_api):
    scenarios.healthy(mesh_api, rbac=False)
    _label_extension_namespace(mesh_api)
    args = linkerd_args(mesh_api.kubeconfig_path, "--some-future-flag=1", "--metrics-interval=0s")
    args[args.index("--wait=5m0s")] = "--wait=0s"
    result = run_cli(*args)
    assert result.exit_code == 1
    success, failed, _ = parse_like_linkerd(result.stdout)
    assert success is False
    assert [c["description"] for c in failed] == ["collector can get, list and watch pods where it scrapes"]
    assert failed[0]["hint"] == "https://github.com/linkerd-otel/kubectl-linkerd-otel#otel-rbac"


def test_warnings_do_not_fail_linkerd(mesh_api):
    scenarios.reference(mesh_api)
    _label_extension_namespace(mesh_api)
    args = linkerd_args(mesh_api.kubeconfig_path, "--metrics-interval=0s")
    args[args.index("--wait=5m0s")] = "--wait=0s"
    result = run_cli(*args)
    success, failed, warnings = parse_like_linkerd(result.stdout)
    assert {c["description"] for c in warnings} >= {"collector image is pinned",
                                                    "no credentials written into the config"}
    assert success is (not failed)
    assert result.exit_code == (0 if success else 1)


def test_unknown_flags_outside_linkerd_are_a_usage_error(mesh_api):
    scenarios.healthy(mesh_api)
    result = run_cli("check", "-o", "json", "--metrics-interval=0s", "--namespce-filter=x")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: unknown arguments: --namespce-filter=x "
                                     "(see 'kubectl linkerd-otel check --help')")
    # -o json: stdout still holds a document, one failed check with the same line (see
    # test_check_json_on_exit2_cli.py)
    success, failed, _ = parse_like_linkerd(result.stdout)
    assert success is False and [c["error"] for c in failed] == [result.stderr.strip()[len("Error: "):]]
    assert mesh_api.requests == []      # refused before reading anything


def test_unknown_flags_from_linkerd_are_ignored(mesh_api):
    scenarios.healthy(mesh_api)
    result = run_cli("check", "--output=json", "--proxy=false", "--linkerd-namespace=linkerd",
                     "--metrics-interval=0s", "--some-future-linkerd-flag=1")
    assert result.exit_code in (0, 1), result.stderr
    json.loads(result.stdout)
