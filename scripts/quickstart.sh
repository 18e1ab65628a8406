#!/usr/bin/env bash
# Sets everything up, serves the bundled demo site and runs the main example workflow
# (the reference's complete example, adapted to the demo shop) in headless Chromium.
# The workflow's outputs are printed on stdout; progress goes to stderr.
#
# usage: scripts/quickstart.sh [SEARCH_QUERY]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --release
segue=target/release/segue
query="${1:-mug}"

demo_pid=""
cleanup() { [[ -n "$demo_pid" ]] && kill "$demo_pid" 2>/dev/null || true; }
trap cleanup EXIT

# The examples are written against the demo's default address.
if ! (exec 3<>/dev/tcp/127.0.0.1/8077) 2>/dev/null; then
  "$segue" demo --listen 127.0.0.1:8077 &
  demo_pid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8077) 2>/dev/null && break; sleep 0.1; done
fi

echo "running examples/shop_price_check.json with search_query=$query" >&2
"$segue" run examples/shop_price_check.json --input "search_query=$query"
