#!/usr/bin/env bash
# Build dist/kubectl-linkerd_otel (shiv zipapp), dist/linkerd-otel-<version>.tar.gz, their .sha256, and
# rewrite krew-manifest.yaml from the archive. Reproducible: same tree, same bytes.
# Usage: scripts/build-dist.sh [--out DIR] [--manifest PATH] [--dry-run]
# Each step says on stderr what it does; --dry-run only says so (and the commands of the first).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
exec "$PYTHON" scripts/dist.py "$@"
