#!/usr/bin/env bash
# Startup time of the zipapp, warm (already extracted and byte-compiled), next to `kubectl version
# --client` on the same machine. Prints median wall times and their ratio; exits 1 above MAX_RATIO.
# Usage: bench/startup.sh [ZIPAPP]   (default dist/kubectl-linkerd_otel, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
ZIPAPP="${1:-dist/kubectl-linkerd_otel}"
RUNS="${RUNS:-21}"
MAX_RATIO="${MAX_RATIO:-3}"
[[ -x "$ZIPAPP" ]] || scripts/build-dist.sh >/dev/null
command -v kubectl >/dev/null || { echo "bench/startup.sh: kubectl not on PATH" >&2; exit 2; }

SHIV_ROOT="$(mktemp -d)"
export SHIV_ROOT
trap 'rm -rf "$SHIV_ROOT"' EXIT
# Warm-up: the first run extracts to SHIV_ROOT and Python caches bytecode beside the sources, as on any
# user's machine (some CI images set PYTHONDONTWRITEBYTECODE, which would make every run a cold compile).
env -u PYTHONDONTWRITEBYTECODE "$ZIPAPP" --help >/dev/null
kubectl version --client >/dev/null 2>&1

median_ms() {  # median wall time in ms of RUNS runs of "$@"
  local i start end
  for ((i = 0; i < RUNS; i++)); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(((end - start) / 1000))
  done | sort -n | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)] / 1000}'
}

plugin=$(median_ms "$ZIPAPP" --help)
kubectl_ms=$(median_ms kubectl version --client)
python_ms=$(median_ms python3 -c pass)
ratio=$(awk -v a="$plugin" -v b="$kubectl_ms" 'BEGIN {printf "%.2f", a / b}')
echo "python3:                             $(python3 -c 'import sys; print(sys.version.split()[0])') ($(command -v python3))"
echo "kubectl-linkerd_otel --help (warm):  ${plugin} ms   (median of $RUNS)"
echo "kubectl version --client:            ${kubectl_ms} ms"
echo "python3 -c pass (interpreter floor): ${python_ms} ms"
echo "ratio plugin / kubectl:              ${ratio} (must be <= ${MAX_RATIO})"
case "$(command -v python3)" in
  */shims/*) echo "note: python3 is a version-manager shim (a shell script run before Python on every start);" \
                  "its cost is counted above" ;;
esac
awk -v r="$ratio" -v m="$MAX_RATIO" 'BEGIN {exit !(r <= m)}'
