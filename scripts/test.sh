#!/usr/bin/env bash
# Runs the whole test suite: unit tests of every crate, the store suite on SQLite and
# PostgreSQL, and the end-to-end tests of the `segue` binary in real Chromium against the
# demo site. Sets up what is missing first (Chromium, Node packages, PostgreSQL, and an
# S3-compatible server, moto, for the artifact store tests). Ends with the packaging smoke
# test (scripts/package-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test-tools
SEGUE_TEST_DATABASE_URL=$(scripts/postgres.sh)
export SEGUE_TEST_DATABASE_URL
SEGUE_TEST_S3_ENDPOINT=$(scripts/s3.sh)
export SEGUE_TEST_S3_ENDPOINT
if command -v cargo-nextest >/dev/null; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
# The relocatable archive: packaged from the debug build just tested, unpacked outside the
# checkout, it serves the demo site and runs the main example with its own runner.
scripts/package-test.sh
