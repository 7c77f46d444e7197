#!/usr/bin/env bash
# Prints the path of a real OpenTelemetry Collector, built on first use with the OpenTelemetry Collector
# Builder (go.opentelemetry.io/collector/cmd/builder, from the Go module proxy) from a manifest kept in
# scripts/otelcol/ (see the header of each for where it comes from). Later runs reuse the binary.
#
# Usage: OTELCOL=$(scripts/otelcol.sh [core|contrib])     (default: core)
#   core     scripts/otelcol/core-0.159.0.yaml: the official manifest of the core distribution, unchanged
#   contrib  scripts/otelcol/contrib-subset-0.159.0.yaml: the contrib components the plugin's rendered
#            configs use, at the contrib manifest's own versions (the whole contrib manifest, 250
#            components, is far too heavy to build here: see docs/testing.md)
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/kubectl-linkerd-otel/otelcol-<distribution>-<version>/, keyed by
# distribution, version and the manifest's sha256. Needs Go (https://go.dev/dl/, 1.26) and the Go module
# proxy. The build holds /tmp/gobuild.lock (one Go build on the machine at a time), runs under nice, a
# timeout (OTELCOL_BUILD_TIMEOUT, seconds, default 3600) and a memory cap (OTELCOL_BUILD_MEM, bytes of
# address space per process via prlimit --as, default 8 GiB; plus GOMEMLIMIT for Go's own heap).
# Progress goes to stderr and to build.log in the cache directory; stdout is only the binary's path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILDER_VERSION=0.159.0
distribution=${1:-core}
case "$distribution" in
  core)    manifest="$here/otelcol/core-$BUILDER_VERSION.yaml"; name=otelcol
           # The Go module proxy this project may use refuses some modules of the official manifest at
           # v0.159.0 ("403 Forbidden: This module version is not available"; 2026-12-06): the first four
           # themselves (`go mod download`), the two kafka components through what they import
           # (pkg/translator/azure, pkg/translator/jaeger and .../zipkin). They are left out of the build,
           # nothing else; none is a component the plugin renders (docs/testing.md).
           exclude=(go.opentelemetry.io/collector/receiver/nopreceiver
                    github.com/open-telemetry/opentelemetry-collector-contrib/receiver/jaegerreceiver
                    github.com/open-telemetry/opentelemetry-collector-contrib/receiver/zipkinreceiver
                    github.com/open-telemetry/opentelemetry-collector-contrib/exporter/zipkinexporter
                    github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver
                    github.com/open-telemetry/opentelemetry-collector-contrib/exporter/kafkaexporter) ;;
  contrib) manifest="$here/otelcol/contrib-subset-$BUILDER_VERSION.yaml"; name=otelcol-contrib; exclude=() ;;
  *) echo "otelcol.sh: unknown distribution '$distribution': use core or contrib" >&2; exit 2 ;;
esac


sum=$( { cat "$manifest"; printf '%s\n' "${exclude[@]}"; } | sha256sum | cut -c1-12)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-linkerd-otel/otelcol-$distribution-$BUILDER_VERSION-$sum"
bin="$cache/build/$name"

runs() { [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9          # one builder per cache directory (parallel test workers wait here, then reuse it)
if ! runs; then
  command -v go >/dev/null 2>&1 || {
    echo "otelcol.sh: Go is not installed: get Go 1.26 from https://go.dev/dl/ (or your package manager)" >&2
    exit 3
  }
  timeout_s=${OTELCOL_BUILD_TIMEOUT:-3600}
  mem=${OTELCOL_BUILD_MEM:-8589934592}
  log="$cache/build.log"
  # the manifest with output_path changed (to the cache) and the excluded modules' lines removed
  sed "s|^\(  output_path:\).*|\1 $cache/build|" "$manifest" > "$cache/manifest.yaml"
  for module in "${exclude[@]}"; do
    grep -q "gomod: $module " "$cache/manifest.yaml" || { echo "otelcol.sh: $module is not in $manifest" >&2; exit 1; }
    sed -i "\|gomod: $module |d" "$cache/manifest.yaml"
    echo "otelcol.sh: left out (not served by the Go module proxy): $module" >&2
  done
  echo "otelcol.sh: building the $distribution collector $BUILDER_VERSION (first time: expect minutes; log: $log)" >&2
  started=$(date +%s)
  # GOMEMLIMIT bounds each Go process's heap softly; prlimit --as bounds it hard. GOFLAGS -p bounds how
  # many compilers run at once (OTELCOL_BUILD_JOBS, default 2).
  export GOMEMLIMIT=${GOMEMLIMIT:-3GiB}
  export GOFLAGS="${GOFLAGS:-} -p=${OTELCOL_BUILD_JOBS:-2}"
  export GOBIN="$cache/tools"
  status=0
  flock /tmp/gobuild.lock bash -c '
    set -euo pipefail
    runs() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }
    runs "$1" && exit 0      # built by another process while this one waited for the lock
    wrap=(timeout "$2" nice -n 10 prlimit --as="$3")
    "${wrap[@]}" go install "go.opentelemetry.io/collector/cmd/builder@v$4"
    "${wrap[@]}" "$GOBIN/builder" --config "$5"
  ' _ "$bin" "$timeout_s" "$mem" "$BUILDER_VERSION" "$cache/manifest.yaml" >"$log" 2>&1 || status=$?
  took=$(( $(date +%s) - started ))
  if [ "$status" -ne 0 ] || ! runs; then
    tail -n 30 "$log" >&2
    echo "otelcol.sh: the build failed (exit $status after ${took}s): see $log" >&2
    exit 1
  fi
  printf 'otelcol.sh: built %s in %dm%02ds (including waiting for /tmp/gobuild.lock)\n' \
    "$bin" $((took / 60)) $((took % 60)) | tee -a "$cache/build-time.txt" >&2
fi
echo "$bin"
