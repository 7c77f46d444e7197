"""Build the release artifacts, reproducibly: the zipapp, the krew archive, their sha256, the krew manifest.

    python scripts/dist.py [--out DIR] [--manifest PATH] [--dry-run]

Each step says on stderr what it does and how long the build has taken so far.

Steps (every one deterministic, so two builds of one tree give identical bytes):
1. wheels: our package (built from a clean copy of the tree) and every pin of requirements/zipapp.txt,
   pyyaml built from source without its libyaml extension (PyPI has no pure-Python wheel of it; only
   pyyaml itself is built from source, its build tools come as wheels);
2. install them with --no-deps into a staging site-packages; refuse compiled files, check that every
   Requires-Dist is satisfied and every Requires-Python admits 3.9;
3. shiv --reproducible -> OUT/kubectl-linkerd_otel (shebang `/usr/bin/env python3`);
4. OUT/linkerd-otel-<version>.tar.gz (zipapp, completion helper, LICENSE; sorted, fixed mtime, uid 0,
   gzip mtime 0) and OUT/*.sha256;
5. rewrite the krew manifest from the archive just built (version, uri, sha256).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "zipapp.txt"
ZIPAPP_NAME = "kubectl-linkerd_otel"
COMPLETE_NAME = "kubectl_complete-linkerd_otel"
PLUGIN_NAME = "linkerd-otel"
ENTRY_POINT = "kubectl_linkerd_otel.entry:main"
# shiv's own default for --reproducible (1980-01-01, the earliest time a zip entry can hold).
SOURCE_DATE_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
RELEASE_URL_BASE = os.environ.get(
    "RELEASE_URL_BASE", "https://github.com/linkerd-otel/kubectl-linkerd-otel/releases/download")
OLDEST_PYTHON = "3.9"
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
# Built from their sdist: pyyaml publishes no pure wheel but falls back to pure Python without libyaml.
FROM_SOURCE = ("pyyaml==",)
OWN_PACKAGE = "kubectl-linkerd-otel"
# A dedicated pip cache: pyyaml's wheel is built here without libyaml; a shared cache could hold one
# built with it.
PIP_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kubectl-linkerd-otel-build"

COMPLETE_SCRIPT = """#!/bin/sh
# kubectl (>= 1.26) runs this to complete `kubectl linkerd-otel ...`. It runs the zipapp beside it (found
# through any symlinks to this script) in completion mode, which answers in cobra's __complete protocol.
self=$0
while [ -L "$self" ]; do
  target=$(readlink "$self")
  case $target in
    /*) self=$target ;;
    *) self=$(dirname "$self")/$target ;;
  esac
done
exec env SHIV_ENTRY_POINT=kubectl_linkerd_otel.entry:complete_main "$(dirname "$self")/kubectl-linkerd_otel" "$@"
"""


STEPS = (
    "wheels: ours, every pin of requirements/zipapp.txt (pure-Python wheels; PyYAML built from source)",
    "install them into a staging site-packages; check: no compiled file, every dependency pinned, Python 3.9",
    "the zipapp: shiv --reproducible --compressed",
    "the krew archive and the .sha256 of each artifact",
    "the krew manifest, from the archive just built",
)
_STARTED = time.monotonic()


def say(line: str) -> None:
    """Progress on stderr, a line per step (pip's own output is shown only when it fails)."""
    sys.stderr.write(f"build-dist: {line}\n")
    sys.stderr.flush()


def step(number: int) -> None:
    say(f"[{number}/{len(STEPS)}] {STEPS[number - 1]} ({time.monotonic() - _STARTED:.0f}s so far)")


def die(message: str) -> None:
    sys.stderr.write(f"build-dist: {message}\n")
    sys.exit(1)


def run(*args: str, env: Dict[str, str] = None) -> None:
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(list(args), env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        die(f"command failed ({proc.returncode}): {' '.join(args)}")


def project_version() -> str:
    text = (ROOT / "src" / "kubectl_linkerd_otel" / "__init__.py").read_text()
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        die("no __version__ in src/kubectl_linkerd_otel/__init__.py")
    return match.group(1)


def copy_tree_for_build(dest: Path) -> None:
    """A clean copy of what the wheel needs: no build/ or egg-info litter in the working tree."""
    dest.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    shutil.copy2(ROOT / "LICENSE", dest / "LICENSE")
    readme = ROOT / "README.md"
    if readme.exists():
        shutil.copy2(readme, dest / "README.md")
    else:
        (dest / "README.md").write_text("kubectl-linkerd-otel\n")
    shutil.copytree(ROOT / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))


def pins() -> List[str]:
    found = [line.split("#")[0].strip() for line in LOCK.read_text().splitlines()]
    return [pin for pin in found if pin]


def wheel_commands(work: Path, wheels: Path) -> List[Tuple[str, List[str], Dict[str, str]]]:
    """(what, command, extra environment) of step 1, in order."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--cache-dir", str(PIP_CACHE)]
    locked = pins()
    from_source = [pin for pin in locked if pin.lower().startswith(FROM_SOURCE)]
    pure = work / "pure-wheels.txt"
    commands = [("our wheel, from a clean copy of the tree",
                 [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(work / "project")], {}),
                # Asking for platform `any` and implementation `py` admits only pure-Python wheels, and the
                # target Python version makes pip enforce every Requires-Python against the oldest we support.
                (f"{len(locked) - len(from_source)} pure-Python wheels pinned by {LOCK.relative_to(ROOT)}",
                 [*pip, "download", "--no-deps", "--dest", str(wheels), "--only-binary=:all:",
                  "--platform", "any", "--implementation", "py", "--abi", "none",
                  "--python-version", OLDEST_PYTHON, "--requirement", str(pure)], {})]
    for pin in from_source:
        name = pin.split("==", 1)[0]
        # Only this package from source: its build tools (setuptools, Cython) come as wheels and stay in
        # pip's build environment. `--no-binary=:all:` would compile Cython itself, minutes on 2 cores,
        # for a pure-Python result that is the same.
        commands.append((f"{pin} from its source, pure Python (no libyaml), a few seconds",
                         [*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), f"--no-binary={name}", pin],
                         {"PYYAML_FORCE_LIBYAML": "0"}))
    return commands


def build_wheels(work: Path) -> Path:
    wheels = work / "wheels"
    copy_tree_for_build(work / "project")
    (work / "pure-wheels.txt").write_text(
        "\n".join(pin for pin in pins() if not pin.lower().startswith(FROM_SOURCE)) + "\n")
    for what, command, env in wheel_commands(work, wheels):
        say(f"      {what}")
        run(*command, env=env)
    return wheels


def install_site_packages(work: Path, wheels: Path) -> Path:
    site = work / "site-packages"
    ours = sorted(wheels.glob("kubectl_linkerd_otel-*.whl"))
    if len(ours) != 1:
        die(f"expected one wheel of ours, found {ours}")
    run(sys.executable, "-m", "pip", "--disable-pip-version-check", "install", "--target", str(site),
        "--no-deps", "--no-compile", "--no-index", "--find-links", str(wheels),
        "--requirement", str(LOCK), str(ours[0]))
    # Console scripts carry this machine's interpreter path and are unused (shiv calls ENTRY_POINT);
    # direct_url.json records the temporary wheel path. Their RECORD lines go too (the scripts' hashes
    # depend on the interpreter path), or the bytes would differ from one checkout to the next.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for direct_url in site.glob("*.dist-info/direct_url.json"):
        direct_url.unlink()
    for record in sorted(site.glob("*.dist-info/RECORD")):
        direct_url_line = f"{record.parent.name}/direct_url.json,"
        lines = record.read_text().splitlines(True)
        kept = [line for line in lines
                if not line.startswith(("../", direct_url_line))]
        if kept != lines:
            record.write_text("".join(kept))
    return site


def _packaging():
    try:
        import packaging.requirements as requirements
        import packaging.specifiers as specifiers
        import packaging.utils as utils
        import packaging.version as version
    except ImportError:  # pip always vendors it
        from pip._vendor.packaging import requirements, specifiers, utils, version  # type: ignore
    return requirements, specifiers, utils, version


def check_site_packages(site: Path) -> List[str]:
    """Problems that would make the one file non-portable or incomplete."""
    from email.parser import Parser

    requirements, specifiers, utils, version = _packaging()
    problems = [f"compiled file in the zipapp: {p.relative_to(site)}"
                for p in sorted(site.rglob("*")) if p.name.endswith(COMPILED_SUFFIXES)]
    installed = {}
    metadata = {}
    for dist_info in sorted(site.glob("*.dist-info")):
        meta = Parser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
        name = utils.canonicalize_name(meta["Name"])
        installed[name] = version.Version(meta["Version"])
        metadata[name] = meta
        wheel = (dist_info / "WHEEL").read_text() if (dist_info / "WHEEL").exists() else ""
        if "Root-Is-Purelib: false" in wheel and name != "pyyaml":
            problems.append(f"{name} is not a pure-Python wheel")
    for name, meta in sorted(metadata.items()):
        requires_python = meta.get("Requires-Python")
        if requires_python and not specifiers.SpecifierSet(requires_python).contains(OLDEST_PYTHON):
            problems.append(f"{name} {installed[name]} requires Python {requires_python}, "
                            f"not {OLDEST_PYTHON}")
        for line in meta.get_all("Requires-Dist") or []:
            req = requirements.Requirement(line)
            environments = [{"python_version": v, "python_full_version": v + ".0", "extra": ""}
                            for v in (OLDEST_PYTHON, "3.13")]
            if req.marker is not None and not any(req.marker.evaluate(e) for e in environments):
                continue
            dep = utils.canonicalize_name(req.name)
            if name == OWN_PACKAGE and dep in installed and \
                    not req.specifier.contains(installed[dep], prereleases=True):
                # The lock is what the zipapp runs; pyproject serves pip installs. Say so, loudly.
                sys.stderr.write(f"build-dist: warning: pyproject wants {req}; the zipapp pins "
                                 f"{dep}=={installed[dep]} (see requirements/zipapp.txt)\n")
                continue
            if dep not in installed:
                problems.append(f"{name} needs {req}, which requirements/zipapp.txt does not pin")
            elif not req.specifier.contains(installed[dep], prereleases=True):
                problems.append(f"{name} needs {req}, the lock has {dep}=={installed[dep]}")
    return problems


# shiv's __main__ unpacks the dependencies to ~/.shiv (or SHIV_ROOT) on first run; when that cannot be
# written it dies with a traceback and exit 1, which means "checks failed" to `linkerd check`. This one
# says what to do in one line and exits 2, like every other failure of the plugin.
MAIN_WRAPPER = b"""# -*- coding: utf-8 -*-
import sys

import _bootstrap

_extract = _bootstrap.extract_site_packages


def _extract_or_explain(archive, target_path, *args, **kwargs):
    try:
        return _extract(archive, target_path, *args, **kwargs)
    except OSError as exc:
        sys.stderr.write("Error: cannot unpack kubectl-linkerd-otel into %s: %s; set SHIV_ROOT to a "
                         "writable directory (e.g. SHIV_ROOT=/tmp/shiv)\\n"
                         % (target_path.parent, exc.strerror or exc))
        sys.exit(2)


_bootstrap.extract_site_packages = _extract_or_explain
_bootstrap.bootstrap()
"""


def build_zipapp(site: Path, out: Path) -> Path:
    target = out / ZIPAPP_NAME
    run(sys.executable, "-m", "shiv", "--site-packages", str(site), "--entry-point", ENTRY_POINT,
        "--output-file", str(target), "--python", "/usr/bin/env python3", "--reproducible",
        "--compressed", env={"SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)})
    replace_main(target, MAIN_WRAPPER)
    os.chmod(target, 0o755)
    return target


def replace_main(zipapp: Path, main: bytes) -> None:
    """Rewrite the zipapp with another __main__.py, keeping every entry's order, date and mode, so
    the result stays reproducible."""
    import io
    import zipfile

    raw = zipapp.read_bytes()
    shebang = raw.partition(b"\n")[0]
    rebuilt = io.BytesIO()
    rebuilt.write(shebang + b"\n")      # offsets in the archive then count the shebang, as shiv's do
    with zipfile.ZipFile(io.BytesIO(raw)) as src, \
            zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        if "__main__.py" not in names:
            die("the zipapp has no __main__.py: did shiv change its layout?")
        for info in src.infolist():
            data = main if info.filename == "__main__.py" else src.read(info)
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.external_attr, copy.create_system = info.external_attr, info.create_system
            copy.compress_type = info.compress_type
            dst.writestr(copy, data)
    zipapp.write_bytes(rebuilt.getvalue())


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = SOURCE_DATE_EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def build_archive(zipapp: Path, out: Path, version: str) -> Path:
    archive = out / f"{PLUGIN_NAME}-{version}.tar.gz"
    members = {
        "LICENSE": ((ROOT / "LICENSE").read_bytes(), 0o644),
        COMPLETE_NAME: (COMPLETE_SCRIPT.encode(), 0o755),
        ZIPAPP_NAME: (zipapp.read_bytes(), 0o755),
    }
    with open(archive, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                for name in sorted(members):
                    data, mode = members[name]
                    _tar_add(tar, name, data, mode)
    return archive


def write_sha256(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    Path(f"{path}.sha256").write_text(f"{digest}  {path.name}\n")
    return digest


def render_manifest(version: str, sha256: str, archive_name: str) -> str:
    return f"""\
# Generated by scripts/build-dist.sh from the archive it built: do not edit version, uri or sha256 by hand.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: {PLUGIN_NAME}
spec:
  version: v{version}
  homepage: https://github.com/linkerd-otel/kubectl-linkerd-otel
  shortDescription: Linkerd metrics into OpenTelemetry, diagnosed
  description: |
    Installs an OpenTelemetry collector that scrapes the Linkerd proxies (no linkerd-viz needed) and
    sends their metrics to any OTLP backend, then proves the whole path works: which proxies are
    scraped and why others are not, whether the collector runs, and whether export succeeds.
    Commands: install, uninstall, targets, check. Also serves `linkerd otel` as a Linkerd extension.
  caveats: |
    This plugin is a Python zipapp: it needs python3 >= 3.9 on PATH
    (check with: python3 --version). The first run unpacks it to ~/.shiv (override with SHIV_ROOT).

    Check the setup with:
      kubectl linkerd-otel check
  platforms:
  - selector:
      matchExpressions:
      - key: os
        operator: In
        values:
        - linux
        - darwin
    uri: {RELEASE_URL_BASE}/v{version}/{archive_name}
    sha256: "{sha256}"
    bin: {ZIPAPP_NAME}
    files:
    - from: {ZIPAPP_NAME}
      to: .
    - from: {COMPLETE_NAME}
      to: .
    - from: LICENSE
      to: .
"""


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output directory (default dist/)")
    parser.add_argument("--manifest", default=str(ROOT / "krew-manifest.yaml"),
                        help="krew manifest to rewrite (default krew-manifest.yaml)")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what each step does, and the commands of the first, without running them")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    version = project_version()
    if args.dry_run:
        for number in range(1, len(STEPS) + 1):
            step(number)
            if number == 1:
                for what, command, env in wheel_commands(Path("WORK"), Path("WORK/wheels")):
                    say(f"      {what}: {' '.join(f'{k}={v}' for k, v in env.items())}{' ' if env else ''}"
                        f"{' '.join(command)}")
        return
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-dist-") as tmp:
        work = Path(tmp)
        step(1)
        wheels = build_wheels(work)
        step(2)
        site = install_site_packages(work, wheels)
        problems = check_site_packages(site)
        if problems:
            die("the zipapp would not be portable:\n  " + "\n  ".join(problems))
        step(3)
        zipapp = build_zipapp(site, out)
    step(4)
    zipapp_sha = write_sha256(zipapp)
    archive = build_archive(zipapp, out, version)
    archive_sha = write_sha256(archive)
    step(5)
    Path(args.manifest).write_text(render_manifest(version, archive_sha, archive.name))
    say(f"done in {time.monotonic() - _STARTED:.0f}s")
    print(f"{zipapp}  sha256 {zipapp_sha}")
    print(f"{archive}  sha256 {archive_sha}")
    print(f"{args.manifest}  v{version}")


if __name__ == "__main__":
    main()
