"""snapshot/: the Snapshot's views and the step keys gather and checks share (pure)."""
from __future__ import annotations

from kubectl_linkerd_otel.snapshot import (ACCESS, LOGS, SERVICE, Snapshot, access_step, split_step, step)


def test_step_keys_round_trip():
    assert step(SERVICE, "ns", "name") == "service/ns/name"
    assert split_step(step(SERVICE, "ns", "name")) == ("service", "ns/name")
    assert access_step("pods", "list", "") == "access/pods/list/"
    assert access_step("pods", "list", "emojivoto") == "access/pods/list/emojivoto"
    assert access_step("secrets", "get") == "access/secrets/get"


def test_step_errors_are_grouped_by_kind():
    snap = Snapshot(errors={step(LOGS, "a"): "boom", step(LOGS, "b"): "bang", access_step("pods", "get", ""): "no",
                            "pods": "timeout"})
    assert snap.step_errors(LOGS) == {"a": "boom", "b": "bang"}
    assert snap.step_errors(ACCESS) == {"pods/get/": "no"}


def test_config_text_prefers_the_chosen_key_then_the_collector_config():
    cm = {"metadata": {"name": "cfg"}, "data": {"notes": "hello",
                                                "relay": "receivers: {}\nexporters: {}\nservice: {}\n"}}
    snap = Snapshot(configmaps=[cm], collector_configmap="cfg")
    assert snap.config_text().startswith("receivers")
    snap.collector_config_key = "notes"
    assert snap.config_text() == "hello"


def test_collector_facts_are_worked_out_once_and_never_raise():
    snap = Snapshot(configmaps=[{"metadata": {"name": "cfg"}, "data": {"config.yaml": "a: [unclosed"}}],
                    collector_configmap="cfg")
    facts = snap.collector_facts()
    assert facts.parse_error
    assert snap.collector_facts() is facts
