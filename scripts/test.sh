#!/usr/bin/env bash
# Runs the whole test suite: unit tests of every crate and the end-to-end tests of the
# `segue` binary in real Chromium against the demo site. Sets up what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
