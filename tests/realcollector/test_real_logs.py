"""The log classifier (collector/logs.py) on the real collector's own log lines: live with the binary
(`otelcol` marker), and on the recorded ones (tests/fixtures/otelcol-logs, with the version that wrote
them) without it."""
from __future__ import annotations

import os

import pytest

from kubectl_linkerd_otel.collector import logs
from realcollector import real_logs


@pytest.mark.otelcol
@pytest.mark.parametrize("name", sorted(real_logs.SCENARIOS))
def test_live_lines_are_classified(name, otelcol_core, tmp_path):
    text = real_logs.scenario(name, otelcol_core, tmp_path)
    if os.environ.get("RECORD_OTELCOL_LOGS") == "1":
        real_logs.save(name, text, real_logs.version(otelcol_core))
    expected, marker = real_logs.SCENARIOS[name]
    assert marker in text, text[-3000:]
    summary = logs.classify(text)
    assert summary[expected].count > 0, (expected, {n: c.count for n, c in summary.classes.items()}, text[-3000:])


# what the problem a scenario's class holds must say (its cause, or where)
DETAILS = {
    "backend-down": "connection refused",
    "config-typo": "has invalid keys: endpiont",
    "credentials-refused": "HTTP Status Code 403",
    "missing-exporter": 'references exporter "otlp_grpc/missing" which is not configured',
    "port-in-use": "address already in use",
    "rbac-forbidden": 'pods is forbidden: User "system:serviceaccount:observability:linkerd-otel-collector"',
    "scrape-refused": ":4191 (linkerd/linkerd-identity-",
    "healthy": "Everything is ready",
}


@pytest.mark.parametrize("name", sorted(real_logs.SCENARIOS))
def test_recorded_lines_are_classified(name):
    if not (real_logs.RECORDED / f"{name}.log").exists():
        pytest.skip(f"not recorded yet: RECORD_OTELCOL_LOGS=1 pytest -m otelcol {__file__}")
    version, text = real_logs.recorded(name)
    assert "0.159.0" in version
    expected, _marker = real_logs.SCENARIOS[name]
    summary = logs.classify(text)
    assert summary[expected].count > 0, {n: c.count for n, c in summary.classes.items()}
    assert any(DETAILS[name] in text for text in summary[expected].problems), list(summary[expected].problems)
    if name == "healthy":
        assert summary.started and not any(summary[c].count for c in logs.CLASSES if c != logs.STARTED)
