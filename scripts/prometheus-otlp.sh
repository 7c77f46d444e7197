#!/usr/bin/env bash
# Prints the path of a real Prometheus 3 server that ingests OTLP (run it with
# --web.enable-otlp-receiver: POST /api/v1/otlp/v1/metrics) and answers PromQL, built on first use from
# its Go module github.com/prometheus/prometheus (cmd/prometheus) from the Go module proxy. Debian's
# Prometheus package (../shared/tools/prometheus.sh) is built without the OTLP receiver.
#
# Usage: PROM=$(scripts/prometheus-otlp.sh)
#
# The version is the one the prometheus receiver of the pinned collector embeds (v0.313.2: Prometheus
# 3.13.2; go.mod of opentelemetry-collector-contrib/receiver/prometheusreceiver v0.159.0), so the
# backend and the collector share their PromQL/relabeling code and the Go module cache. Built without
# the web UI's assets (the `builtinassets` build tag): the HTTP API is complete, the UI pages are not.
# Prometheus's go.mod has a `replace`, which `go install module@version` refuses: the build goes
# through a two-line wrapper module that copies it.
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/kubectl-linkerd-otel/prometheus-<version>/. Needs Go 1.26
# (https://go.dev/dl/). The build holds /tmp/gobuild.lock, runs under nice, a timeout
# (PROMETHEUS_BUILD_TIMEOUT, s, default 2400) and a memory cap (PROMETHEUS_BUILD_MEM, bytes of address
# space per process, default 8 GiB; GOMEMLIMIT for Go's heap). stdout is only the binary's path.
set -euo pipefail

VERSION=v0.313.2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-linkerd-otel/prometheus-$VERSION"
bin="$cache/prometheus"
runs() { [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; }

mkdir -p "$cache/src"
exec 9>"$cache/.lock"
flock 9          # one builder per cache directory (parallel test workers wait here, then reuse it)
if ! runs; then
  command -v go >/dev/null 2>&1 || {
    echo "prometheus-otlp.sh: Go is not installed: get Go 1.26 from https://go.dev/dl/ (or your package manager)" >&2
    exit 3
  }
  log="$cache/build.log"
  echo "prometheus-otlp.sh: building Prometheus $VERSION (first time: expect minutes; log: $log)" >&2
  started=$(date +%s)
  export GOMEMLIMIT=${GOMEMLIMIT:-3GiB}
  export GOFLAGS="${GOFLAGS:-} -p=${PROMETHEUS_BUILD_JOBS:-2}"
  status=0
  flock /tmp/gobuild.lock bash -c '
    set -euo pipefail
    [ -x "$1" ] && "$1" --version >/dev/null 2>&1 && exit 0
    wrap=(timeout "$2" nice -n 10 prlimit --as="$3")
    cd "$4/src"
    cat > go.mod <<EOF
module prometheus-otlp-build

go 1.25.0

replace cloud.google.com/go => cloud.google.com/go v0.123.0
EOF
    x=${5#v0.}; minor=${x%%.*}; semver="3.${minor#3}.${x#*.}"     # v0.313.2 is Prometheus 3.13.2
    "${wrap[@]}" go get "github.com/prometheus/prometheus/cmd/prometheus@$5"
    "${wrap[@]}" go build -trimpath -ldflags="-s -w -X github.com/prometheus/common/version.Version=$semver" \
      -o "$1" github.com/prometheus/prometheus/cmd/prometheus
  ' _ "$bin" "${PROMETHEUS_BUILD_TIMEOUT:-2400}" "${PROMETHEUS_BUILD_MEM:-8589934592}" "$cache" "$VERSION" \
    >"$log" 2>&1 || status=$?
  took=$(( $(date +%s) - started ))
  if [ "$status" -ne 0 ] || ! runs; then
    tail -n 30 "$log" >&2
    echo "prometheus-otlp.sh: the build failed (exit $status after ${took}s): see $log" >&2
    exit 1
  fi
  printf 'prometheus-otlp.sh: built %s in %dm%02ds (including waiting for /tmp/gobuild.lock)\n' \
    "$bin" $((took / 60)) $((took % 60)) | tee -a "$cache/build-time.txt" >&2
fi
echo "$bin"
