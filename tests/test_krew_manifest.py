"""krew-manifest.yaml obeys krew's own validation, rule by rule.

Rules from kubernetes-sigs/krew: internal/index/validation/validate.go (ValidatePlugin, validatePlatform,
validateFiles, validateSelector), internal/installation/semver (a leading `v`, then Kubernetes'
ParseSemantic), and the krew-index CI (cmd/validate-krew-manifest: no two platforms select one os/arch,
a LICENSE among the installed files). Each rule is also shown to reject a manifest that breaks it.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "krew-manifest.yaml"

API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
SAFE_NAME = re.compile(r"^[\w-]+$", re.ASCII)
SHA256 = re.compile(r"^[a-f0-9]{64}$")
# k8s.io/apimachinery/pkg/util/version: numeric components, then optional -pre and +build.
SEMVER = re.compile(r"^v?([0-9]+(?:\.[0-9]+)*)(-([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
                    r"(\+([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?$")
WINDOWS_FORBIDDEN = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | \
    {f"LPT{i}" for i in range(1, 10)}
# The os/arch pairs krew-index CI installs for (cmd/validate-krew-manifest).
ALL_PLATFORMS = [(os_, arch) for os_ in ("darwin", "linux", "windows")
                 for arch in ("386", "amd64", "arm", "arm64", "ppc64le", "s390x")]


class Invalid(Exception):
    pass


def check_semver(version: str) -> None:
    if not version.startswith("v"):
        raise Invalid(f"version string {version!r} does not start with 'v'")
    match = SEMVER.match(version)
    if not match:
        raise Invalid(f"could not parse {version!r} as version")
    parts = match.group(1).split(".")
    if len(parts) != 3:
        raise Invalid(f"illegal version string {version!r}: semantic versions have 3 components")
    for part in parts:
        if len(part) > 1 and part.startswith("0"):
            raise Invalid(f"illegal zero-prefixed version component {part!r} in {version!r}")
    if match.group(3):
        for ident in match.group(3).split("."):
            if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
                raise Invalid(f"illegal zero-prefixed pre-release {ident!r}")


def check_selector(selector: Optional[dict]) -> None:
    if selector is None:
        raise Invalid("nil selector is not supported")
    labels = selector.get("matchLabels")
    exprs = selector.get("matchExpressions")
    if labels is None and not exprs:
        raise Invalid("empty selector is not supported")
    keys = list(labels or {}) + [expr.get("key") for expr in exprs or []]
    for key in keys:
        if key not in ("os", "arch"):
            raise Invalid(f"key {key!r} not supported")
    if labels is not None and len(labels) == 0:
        raise Invalid("`matchLabels` specified but empty")
    if exprs is not None and len(exprs) == 0:
        raise Invalid("`matchExpressions` specified but empty")
    for expr in exprs or []:
        # metav1.LabelSelectorAsSelector, which krew uses to match platforms, rejects these.
        operator = expr.get("operator")
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise Invalid(f"{operator!r} is not a valid label selector operator")
        if operator in ("In", "NotIn") and not expr.get("values"):
            raise Invalid(f"operator {operator} needs values")
        if operator in ("Exists", "DoesNotExist") and expr.get("values"):
            raise Invalid(f"operator {operator} takes no values")


def check_platform(platform: dict) -> None:
    if not platform.get("uri"):
        raise Invalid("`uri` has to be set")
    if not platform.get("sha256"):
        raise Invalid("`sha256` sum has to be set")
    if not SHA256.match(platform["sha256"]):
        raise Invalid(f"`sha256` value {platform['sha256']} is not valid")
    if not platform.get("bin"):
        raise Invalid("`bin` has to be set")
    files = platform.get("files")
    if files is not None:
        if len(files) == 0:
            raise Invalid("`files` has to be unspecified or non-empty")
        for op in files:
            if not op.get("from"):
                raise Invalid("`from` field has to be set")
            if not op.get("to"):
                raise Invalid("`to` field has to be set")
    check_selector(platform.get("selector"))


def validate_plugin(name: str, plugin: dict) -> None:
    """krew's ValidatePlugin(name, plugin)."""
    if plugin.get("apiVersion") != API_VERSION:
        raise Invalid(f"plugin manifest has apiVersion={plugin.get('apiVersion')!r}")
    if plugin.get("kind") != "Plugin":
        raise Invalid(f"plugin manifest has kind={plugin.get('kind')!r}")
    if not SAFE_NAME.match(name) or name.upper() in WINDOWS_FORBIDDEN:
        raise Invalid(f"the plugin name {name!r} is not allowed")
    if (plugin.get("metadata") or {}).get("name") != name:
        raise Invalid(f"plugin should be named {name!r}")
    spec = plugin.get("spec") or {}
    short = spec.get("shortDescription") or ""
    if not short:
        raise Invalid("should have a short description")
    if "\r" in short or "\n" in short:
        raise Invalid("should not have line breaks in short description")
    if not spec.get("platforms"):
        raise Invalid("should have a platform specified")
    if not spec.get("version"):
        raise Invalid("should have a version specified")
    check_semver(spec["version"])
    for platform in spec["platforms"]:
        check_platform(platform)


def _selector_matches(selector: dict, labels: Dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def platforms_for(plugin: dict, os_: str, arch: str) -> List[dict]:
    labels = {"os": os_, "arch": arch}
    return [p for p in plugin["spec"]["platforms"] if _selector_matches(p["selector"], labels)]


def validate_index_rules(plugin: dict) -> None:
    """The krew-index CI's extra rules."""
    for os_, arch in ALL_PLATFORMS:
        if len(platforms_for(plugin, os_, arch)) > 1:
            raise Invalid(f"overlapping platform selectors for {os_}/{arch}")
    for platform in plugin["spec"]["platforms"]:
        sources = [op["from"] for op in platform.get("files") or []]
        if platform.get("files") is not None and not any(
                Path(src).name.upper().startswith("LICENSE") or src in ("*", ".") for src in sources):
            raise Invalid("no LICENSE among the installed files")


KNOWN_FIELDS = {
    "": {"apiVersion", "kind", "metadata", "spec"},
    "spec": {"version", "homepage", "shortDescription", "description", "caveats", "platforms"},
    "platform": {"selector", "uri", "sha256", "bin", "files"},
}


def load_manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


@pytest.fixture
def manifest() -> dict:
    return load_manifest()


def test_manifest_passes_krew_validation(manifest):
    validate_plugin("linkerd-otel", manifest)
    validate_index_rules(manifest)


def test_manifest_has_only_fields_krew_knows(manifest):
    assert set(manifest) <= KNOWN_FIELDS[""]
    assert set(manifest["spec"]) <= KNOWN_FIELDS["spec"]
    for platform in manifest["spec"]["platforms"]:
        assert set(platform) <= KNOWN_FIELDS["platform"]


def test_manifest_serves_linux_and_darwin_on_amd64_and_arm64_but_not_windows(manifest):
    for os_ in ("linux", "darwin"):
        for arch in ("amd64", "arm64"):
            assert len(platforms_for(manifest, os_, arch)) == 1, (os_, arch)
    assert platforms_for(manifest, "windows", "amd64") == []


def test_manifest_installs_the_zipapp_and_license(manifest):
    (platform,) = manifest["spec"]["platforms"]
    assert platform["bin"] == "kubectl-linkerd_otel"
    sources = {op["from"] for op in platform["files"]}
    assert {"kubectl-linkerd_otel", "LICENSE"} <= sources
    assert platform["uri"].endswith(".tar.gz")
    version = manifest["spec"]["version"]
    assert f"/{version}/" in platform["uri"] and version[1:] in platform["uri"].rsplit("/", 1)[1]


def test_manifest_version_is_the_package_version(manifest):
    from kubectl_linkerd_otel import __version__

    assert manifest["spec"]["version"] == f"v{__version__}"


def test_caveats_name_the_python_requirement_and_the_check_command(manifest):
    caveats = manifest["spec"]["caveats"]
    assert "python3 >= 3.9" in caveats
    assert "kubectl linkerd-otel check" in caveats


def test_short_description_fits_krew_search(manifest):
    assert len(manifest["spec"]["shortDescription"]) <= 50


def _broken(manifest: dict, edit) -> dict:
    copy_ = copy.deepcopy(manifest)
    edit(copy_)
    return copy_


def _platform(m: dict) -> dict:
    return m["spec"]["platforms"][0]


BREAKAGES = {
    "apiVersion": lambda m: m.update(apiVersion="krew.googlecontainertools.github.com/v1alpha1"),
    "kind": lambda m: m.update(kind="Plugins"),
    "name mismatch": lambda m: m["metadata"].update(name="linkerd_otel2"),
    "no short description": lambda m: m["spec"].update(shortDescription=""),
    "two-line short description": lambda m: m["spec"].update(shortDescription="a\nb"),
    "no platforms": lambda m: m["spec"].update(platforms=[]),
    "no version": lambda m: m["spec"].pop("version"),
    "version without v": lambda m: m["spec"].update(version="0.1.0"),
    "two-part version": lambda m: m["spec"].update(version="v0.1"),
    "zero-prefixed version": lambda m: m["spec"].update(version="v0.01.0"),
    "no uri": lambda m: _platform(m).pop("uri"),
    "no sha256": lambda m: _platform(m).update(sha256=""),
    "upper-case sha256": lambda m: _platform(m).update(sha256="A" * 64),
    "short sha256": lambda m: _platform(m).update(sha256="a" * 63),
    "no bin": lambda m: _platform(m).update(bin=""),
    "empty files": lambda m: _platform(m).update(files=[]),
    "file without to": lambda m: _platform(m)["files"][0].pop("to"),
    "file without from": lambda m: _platform(m)["files"][0].update({"from": ""}),
    "no selector": lambda m: _platform(m).pop("selector"),
    "empty selector": lambda m: _platform(m).update(selector={}),
    "selector on another key": lambda m: _platform(m).update(
        selector={"matchLabels": {"distro": "debian"}}),
    "empty matchLabels": lambda m: _platform(m).update(
        selector={"matchLabels": {}, "matchExpressions": [{"key": "os", "operator": "Exists"}]}),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_validator_rejects_a_manifest_breaking_each_rule(manifest, breakage):
    broken = _broken(manifest, BREAKAGES[breakage])
    with pytest.raises(Invalid):
        validate_plugin("linkerd-otel", broken)


def test_validator_rejects_unsafe_plugin_names(manifest):
    for name in ("linkerd otel", "linkerd/otel", "CON", "lpt1"):
        broken = _broken(manifest, lambda m, n=name: m["metadata"].update(name=n))
        with pytest.raises(Invalid):
            validate_plugin(name, broken)


def test_index_rules_reject_overlapping_platforms_and_a_missing_license(manifest):
    overlapping = _broken(manifest, lambda m: m["spec"]["platforms"].append(
        dict(_platform(m), selector={"matchLabels": {"os": "linux", "arch": "amd64"}})))
    with pytest.raises(Invalid, match="overlapping"):
        validate_index_rules(overlapping)
    unlicensed = _broken(manifest, lambda m: _platform(m).update(
        files=[op for op in _platform(m)["files"] if op["from"] != "LICENSE"]))
    with pytest.raises(Invalid, match="LICENSE"):
        validate_index_rules(unlicensed)


def test_build_script_renders_a_valid_manifest_for_any_sha():
    """The manifest the build writes (scripts/dist.py) is valid whatever archive it describes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dist_script", ROOT / "scripts" / "dist.py")
    dist = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dist)
    rendered = yaml.safe_load(dist.render_manifest("1.2.3", "0" * 64, "linkerd-otel-1.2.3.tar.gz"))
    validate_plugin("linkerd-otel", rendered)
    validate_index_rules(rendered)
    assert rendered["spec"]["version"] == "v1.2.3"
    assert rendered["spec"]["platforms"][0]["uri"].endswith("/v1.2.3/linkerd-otel-1.2.3.tar.gz")
