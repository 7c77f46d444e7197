#!/usr/bin/env bash
# Startup time of the zipapp, warm (already extracted and byte-compiled), next to `kubectl version
# --client` on the same machine. Prints median wall times and their ratio; exits 1 above MAX_RATIO.
# Usage: bench/startup.sh [ZIPAPP]   (default dist/kubectl-linkerd_otel, built if missing)
# Every run of a command is under a memory cap (address space, MEM_MB, default 2048 MiB: each process
# here needs well under 200 MB RSS) and a timeout (STEP_TIMEOUT seconds, default 60); one that hits
# either ends the bench with a LIMIT line and exit status 3. About 10 s and 150 MB in all.
set -euo pipefail
cd "$(dirname "$0")/.."
ZIPAPP="${1:-dist/kubectl-linkerd_otel}"
RUNS="${RUNS:-21}"
MAX_RATIO="${MAX_RATIO:-3}"
MEM_MB="${MEM_MB:-2048}"
STEP_TIMEOUT="${STEP_TIMEOUT:-60}"
[[ -x "$ZIPAPP" ]] || scripts/build-dist.sh >/dev/null
command -v kubectl >/dev/null || { echo "bench/startup.sh: kubectl not on PATH" >&2; exit 2; }

capped_us() {  # wall time in microseconds of one run of "$@", under the cap and the timeout
  local out status=0
  # the clock is read around the command inside the capped shell: neither `timeout` nor that shell's
  # own start is counted, as before the caps
  out=$(ulimit -v $((MEM_MB * 1024)) && timeout -s KILL "$STEP_TIMEOUT" bash -c \
          'start=$(date +%s%N); "$@" >/dev/null 2>&1; rc=$?; end=$(date +%s%N); echo "$rc $(((end - start) / 1000))"' \
          _ "$@") || status=$?
  if ((status != 0)); then
    if ((status == 137)); then
      echo "LIMIT: \`$*\` was stopped by its timeout of ${STEP_TIMEOUT} s: raise it with STEP_TIMEOUT=<seconds>" >&2
    else
      echo "LIMIT: \`$*\` could not run under a cap of ${MEM_MB} MiB of address space (exit $status):" \
           "raise it with MEM_MB=<MiB>" >&2
    fi
    exit 3
  fi
  local rc=${out%% *}
  if ((rc != 0)); then
    echo "LIMIT?: \`$*\` exited $rc under a cap of ${MEM_MB} MiB of address space (a failed allocation ends" \
         "this way): raise it with MEM_MB=<MiB>, or run it alone to see its error" >&2
    exit 3
  fi
  echo "${out#* }"
}

SHIV_ROOT="$(mktemp -d)"
export SHIV_ROOT
trap 'rm -rf "$SHIV_ROOT"' EXIT
# Warm-up: the first run extracts to SHIV_ROOT and Python caches bytecode beside the sources, as on any
# user's machine (some CI images set PYTHONDONTWRITEBYTECODE, which would make every run a cold compile).
capped_us env -u PYTHONDONTWRITEBYTECODE "$ZIPAPP" --help >/dev/null
capped_us kubectl version --client >/dev/null

median_ms() {  # median wall time in ms of RUNS runs of "$@"
  local i
  for ((i = 0; i < RUNS; i++)); do
    capped_us "$@"
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
