"""`validate` judged by the real thing: over the corpus of tests/realcollector/corpus.py (every config
`install` renders, and broken mutations of them), the verdict of `kubectl linkerd-otel validate
--distribution D` equals that of `otelcol validate --config` of the real collector 0.159.0 built from
its manifest (scripts/otelcol.sh). The k8s distribution is not built: its configs are judged by the
contrib-subset build, which has every component they use (docs/testing.md)."""
from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from helpers import run_cli
from realcollector import corpus

# Cases where the two verdicts differ, with the reason (docs/testing.md lists them too).
KNOWN_DISAGREEMENTS: dict = {}

# Known differences outside the corpus, as config text: the plugin reads YAML 1.1 (PyYAML) where the
# collector reads YAML 1.2 (go-yaml v3). (text replaced in the rendered config, reason)
YAML_DIFFERENCES = (
    ("insecure: true", "insecure: yes", "YAML 1.1 reads yes as true; the collector reads the string "
                                        "'yes' and refuses it for a bool"),
    ("insecure: true", "insecure: on", "the same for on/off"),
    ("limit_mib: 409", "limit_mib: 4.09e2", "YAML 1.1 reads 4.09e2 as a string; the collector reads the "
                                            "number 409"),
)


def _real_verdict(binary: str, path: str, env: dict):
    run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.dirname(path)}
    run_env.update(env)
    proc = subprocess.run([binary, "validate", f"--config={path}"], capture_output=True, text=True,
                          env=run_env, timeout=120)
    return proc.returncode == 0, (proc.stderr + proc.stdout).strip()


def _plugin_verdict(path: str, distribution: str):
    result = run_cli("validate", "-f", path, "--distribution", distribution, "-o", "json")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    return report["valid"], "; ".join(p["message"] for p in report["problems"] if p["severity"] == "error")


@pytest.mark.otelcol
def test_validate_agrees_with_the_real_collector(otelcol_core, otelcol_contrib, tmp_path, capsys):
    bases, refused = corpus.rendered(tmp_path)
    # install refuses only delta temporality with the core distribution (it lacks cumulativetodelta)
    assert all("core-" in r and "cumulativetodelta" in r for r in refused), refused
    cases = bases + corpus.mutated(bases)
    binaries = {"core": otelcol_core, "contrib": otelcol_contrib, "k8s": otelcol_contrib}
    paths = []
    for index, case in enumerate(cases):
        path = tmp_path / f"case-{index}.yaml"
        path.write_text(yaml.safe_dump(case.config, sort_keys=False), encoding="utf-8")
        paths.append(str(path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        real = list(pool.map(lambda ip: _real_verdict(binaries[cases[ip[0]].distribution], ip[1],
                                                      cases[ip[0]].env), enumerate(paths)))
    disagreements, mutations_valid = [], []
    for case, path, (real_ok, real_says) in zip(cases, paths, real):
        ours_ok, ours_says = _plugin_verdict(path, case.distribution)
        if case.expect_valid is not None and real_ok != case.expect_valid:
            mutations_valid.append(f"{case.id}: the real collector says {'valid' if real_ok else real_says}")
        if ours_ok != real_ok and case.id not in KNOWN_DISAGREEMENTS:
            disagreements.append(f"{case.id} ({case.distribution}): validate says "
                                 f"{'valid' if ours_ok else 'invalid: ' + ours_says}; otelcol says "
                                 f"{'valid' if real_ok else 'invalid: ' + real_says[-400:]}")
    with capsys.disabled():
        print(f"\nvalidate vs otelcol validate: {len(cases)} configs ({len(bases)} rendered by install, "
              f"{len(cases) - len(bases)} mutations), {len(disagreements)} disagreements, "
              f"{len(KNOWN_DISAGREEMENTS)} known")
    assert not mutations_valid, "\n".join(mutations_valid)
    assert not disagreements, "\n".join(disagreements)


def test_the_rendered_corpus_is_whole(tmp_path):
    """Without the binary too: every mode x distribution x --restrict-metrics renders, deduplicated."""
    bases, refused = corpus.rendered(tmp_path)
    ids = {case.id.split("-")[0] + "-" + case.distribution for case in bases}
    assert ids == {f"{m}-{d}" for m in corpus.MODES for d in corpus.DISTRIBUTIONS}
    assert len(bases) >= 40 and len(refused) == 18


@pytest.mark.otelcol
@pytest.mark.parametrize("old,new,why", YAML_DIFFERENCES, ids=[d[1] for d in YAML_DIFFERENCES])
def test_known_yaml_differences_still_differ(old, new, why, otelcol_core, tmp_path):
    """Documented in docs/testing.md; when this fails, the difference is gone: update the docs."""
    bases, _refused = corpus.rendered_one(tmp_path, "deployment", "core")
    text = yaml.safe_dump(bases.config, sort_keys=False)
    assert old in text
    path = tmp_path / "case.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    real_ok, _ = _real_verdict(otelcol_core, str(path), bases.env)
    ours_ok, _ = _plugin_verdict(str(path), "core")
    assert real_ok != ours_ok, why
