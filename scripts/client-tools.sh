#!/usr/bin/env bash
# Build the real clients the tests drive (issue 31) from their Go modules, once per version, and print
# where they are. The test session calls this once (tests/client_tools.py); later runs reuse the cache.
#
#   scripts/client-tools.sh krew      prints a directory holding `kubectl-krew` and
#                                     `validate-krew-manifest` (sigs.k8s.io/krew $KREW_VERSION)
#   scripts/client-tools.sh linkerd   prints the path of the `linkerd` CLI (linkerd2 $LINKERD_RELEASE)
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/kubectl-linkerd-otel/client-tools/<tool>-<version>/ (delete it to
# rebuild). Go's own caches stay where Go keeps them (GOMODCACHE, GOCACHE), shared with other builds.
# A build holds /tmp/gobuild.lock (one Go build on the machine at a time) and runs under `nice`, a
# timeout (BUILD_TIMEOUT seconds, default 1800) and an address-space cap per process (BUILD_MEM_BYTES,
# default 6 GiB); it says on stderr how long it waited for the lock and how long it built.
#
# Exit status: 0 built or cached (the path on stdout); 3 Go is not installed; 4 the tool cannot be had
# from the Go module proxy (the reason on stderr: see docs/testing.md); 1 the build failed.
# LINKERD2_SRC=<a linkerd2 checkout at $LINKERD_RELEASE> builds the Linkerd CLI from that source instead
# (its dependencies still come from the Go module proxy).
set -euo pipefail

KREW_VERSION=v0.4.3
# The Linkerd release the plugin targets (docs/architecture.md, Design facts: Linkerd): tag version-2.20
# of linkerd/linkerd2, commit eadc1acf79ad (2026-06-22 22:51:59 UTC). Its tags are not semver, so Go names
# the commit by a pseudo-version on the newest semver tag below it (v0.5.0, 2018).
LINKERD_RELEASE=version-2.20
LINKERD_COMMIT=eadc1acf79ad2e766afbdceadb77f1594296fd77
LINKERD_MODULE_VERSION=v0.5.1-0.20260622225159-eadc1acf79ad

BUILD_TIMEOUT="${BUILD_TIMEOUT:-1800}"
BUILD_MEM_BYTES="${BUILD_MEM_BYTES:-$((6 << 30))}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-linkerd-otel/client-tools"
LOCK=/tmp/gobuild.lock

say() { printf 'client-tools: %s\n' "$*" >&2; }

usage() { say "usage: $0 krew|linkerd"; exit 2; }

key_of() {
  case "$1" in
    krew) echo "krew-$KREW_VERSION" ;;
    linkerd) echo "linkerd-$LINKERD_RELEASE" ;;   # from the module or from LINKERD2_SRC: the same commit
    *) usage ;;
  esac
}

result_of() {   # what is printed: the directory (krew) or the binary (linkerd)
  case "$1" in
    krew) echo "$CACHE/$(key_of krew)" ;;
    linkerd) echo "$CACHE/$(key_of linkerd)/linkerd" ;;
  esac
}

ready() { [[ -f "$CACHE/$(key_of "$1")/.complete" ]]; }

# -- the build itself, run by the outer call under the lock, nice, timeout and the cap ---------------
build_krew() {   # $1: output directory
  GOBIN="$1" go install "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" \
    "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION" || return 1
  mv "$1/krew" "$1/kubectl-krew"      # kubectl finds it as `kubectl krew`
}

build_linkerd() {   # $1: output directory
  if [[ -n "${LINKERD2_SRC:-}" ]]; then
    local head
    head=$(git -C "$LINKERD2_SRC" rev-parse HEAD 2>/dev/null || echo unknown)
    if [[ "$head" != "$LINKERD_COMMIT" ]]; then
      say "LINKERD2_SRC=$LINKERD2_SRC is at $head, not $LINKERD_RELEASE ($LINKERD_COMMIT): check that out"
      return 1
    fi
    (cd "$LINKERD2_SRC" && go build -trimpath -o "$1/linkerd" ./cli) || return 1
    return 0
  fi
  local log
  log=$(mktemp)
  if ! GOBIN="$1" go install "github.com/linkerd/linkerd2/cli@$LINKERD_MODULE_VERSION" 2>"$log"; then
    cat "$log" >&2
    if grep -q "This module version is not available\|403 Forbidden\|404 Not Found\|410 Gone" "$log"; then
      rm -f "$log"
      return 4
    fi
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  mv "$1/cli" "$1/linkerd"
}

locked_build() {   # $1: tool. Runs holding the lock: someone else may have built it meanwhile.
  local tool="$1" key dir tmp status=0 started
  key=$(key_of "$tool")
  dir="$CACHE/$key"
  ready "$tool" && return 0
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.$key.XXXXXX")
  started=$(date +%s)
  "build_$tool" "$tmp" || status=$?
  if [[ "$status" -ne 0 ]]; then
    rm -rf "$tmp"
    return "$status"
  fi
  chmod 755 "$tmp"
  local from="the Go module proxy"
  [[ "$tool" == linkerd && -n "${LINKERD2_SRC:-}" ]] && from="LINKERD2_SRC ($LINKERD_COMMIT)"
  printf '%s built from %s in %ss on %s\n' "$key" "$from" "$(( $(date +%s) - started ))" \
    "$(date -u +%FT%TZ)" > "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

main() {
  [[ $# -eq 1 ]] || usage
  local tool="$1"
  key_of "$tool" >/dev/null
  if ready "$tool"; then
    say "$(key_of "$tool"): cached in $CACHE ($(cat "$CACHE/$(key_of "$tool")/.complete"))"
    result_of "$tool"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    say "Go is not installed: install Go >= 1.25 (https://go.dev/doc/install, or apt-get install golang-go) to build $tool"
    return 3
  fi
  if [[ "$tool" == linkerd && -z "${LINKERD2_SRC:-}" ]]; then
    # Ask the proxy whether it serves the module before queueing for the lock: today it does not, and
    # the answer takes a second where the lock may take minutes. A scratch module cache keeps the shared
    # one untouched (Go writes it only under the lock).
    local probe out
    probe=$(mktemp -d)
    out=$(GOMODCACHE="$probe" GOTOOLCHAIN=local timeout 120 \
      go list -m -json "github.com/linkerd/linkerd2@$LINKERD_MODULE_VERSION" 2>&1 >/dev/null) || true
    chmod -R u+w "$probe" 2>/dev/null || true
    rm -rf "$probe"
    if grep -q "This module version is not available\|403 Forbidden\|404 Not Found\|410 Gone" <<<"$out"; then
      printf '%s\n' "$out" >&2
      say "linkerd $(key_of linkerd) cannot be had from the Go module proxy (above): see docs/testing.md"
      return 4
    fi
  fi
  local asked built status=0
  asked=$(date +%s.%N)
  say "building $(key_of "$tool") with $(go version | cut -d' ' -f3) (waiting for $LOCK if another Go build runs)"
  # The lock is taken first, so the timeout counts the build only.
  flock "$LOCK" nice -n 10 timeout "$BUILD_TIMEOUT" prlimit --as="$BUILD_MEM_BYTES" \
    env GOTOOLCHAIN=local bash "$0" --locked-build "$tool" || status=$?
  built=$(date +%s.%N)
  if [[ "$status" -eq 124 ]]; then
    say "building $tool took more than BUILD_TIMEOUT=${BUILD_TIMEOUT}s: stopped (raise BUILD_TIMEOUT on a slow machine)"
    return 1
  fi
  if [[ "$status" -eq 4 ]]; then
    say "$tool $(key_of "$tool") cannot be had from the Go module proxy (above): see docs/testing.md"
    return 4
  fi
  if [[ "$status" -ne 0 ]]; then
    say "building $tool failed (exit $status; the Go output is above)"
    return 1
  fi
  say "$(key_of "$tool"): $(cat "$CACHE/$(key_of "$tool")/.complete"); $(awk -v a="$asked" -v b="$built" \
    'BEGIN { printf "%.0f", b - a }')s in all, lock wait included"
  result_of "$tool"
}

if [[ "${1:-}" == "--locked-build" ]]; then
  shift
  locked_build "$1"
  exit $?
fi
main "$@"
