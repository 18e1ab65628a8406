#!/usr/bin/env bash
# The packaging smoke test, run by scripts/test.sh after the Rust suites: packages the
# debug build (scripts/package.sh --profile debug; no release build), unpacks the archive
# into a temporary folder outside the checkout and, from there, serves the demo site with
# the unpacked binary and runs the main example (examples/shop_price_check.json, pointed
# at the demo's port). Checks the outputs, and that the binary took its runner from the
# unpacked archive (its `SEGUE_LOG=segue::boundary=debug` line), not from this checkout's runner-js/.
#
# usage: scripts/package-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)

fail() { echo "package-test: $*" >&2; exit 1; }

archive=$(scripts/package.sh --profile debug)
work=$(mktemp -d)
demo_pid=""
cleanup() {
  if [[ -n "$demo_pid" ]]; then kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
[[ "$work/" != "$checkout/"* ]] || fail "the temporary folder $work is inside the checkout"
# Run as root, sandboxes run as `nobody`, and bubblewrap (0.8) must reach the runner's
# folder by path: mktemp's 0700 folder would hide it (README.md, "Install anywhere").
chmod 0755 "$work"

tar -xzf "$archive" -C "$work"
root="$work/$(basename "$archive" .tar.gz)"
segue="$root/bin/segue"
[[ -x "$segue" ]] || fail "no bin/segue in $archive"
cd "$work"
# Only the binary's own lookup may say where the runner is.
unset SEGUE_RUNNER_DIR

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A free port: a random one nothing answers on, retried should the demo fail to bind it.
for _ in $(seq 10); do
  port=$((20000 + RANDOM % 30000))
  port_open "$port" && continue
  "$segue" demo --listen "127.0.0.1:$port" 2>"$work/demo.log" &
  demo_pid=$!
  for _ in $(seq 100); do
    port_open "$port" && break
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$demo_pid" 2>/dev/null && port_open "$port" && break
  wait "$demo_pid" 2>/dev/null || true
  demo_pid=""
done
[[ -n "$demo_pid" ]] || fail "the unpacked segue demo did not start: $(cat "$work/demo.log")"

sed "s#http://127.0.0.1:8077#http://127.0.0.1:$port#g" "$root/examples/shop_price_check.json" >shop_price_check.json
echo "package-test: running the main example from $work with the unpacked segue" >&2
if ! SEGUE_LOG=segue::boundary=debug "$segue" run shop_price_check.json --input search_query=mug >outputs.json 2>run.log; then
  cat run.log >&2
  fail "the run failed"
fi

# tracing colours its fields; compare the plain text.
runner_line=$(sed 's/\x1b\[[0-9;]*m//g' run.log | grep -m 1 'runner_dir=' || true)
[[ "$runner_line" == *"runner_dir=$root/lib/segue/runner-js "* ]] ||
  fail "the binary did not use the unpacked runner ($root/lib/segue/runner-js): ${runner_line:-no runner_dir line}"

node -e '
  const got = JSON.parse(require("node:fs").readFileSync("outputs.json", "utf8"));
  require("node:assert").deepStrictEqual(got, { top_result_title: "Stainless Steel Travel Mug 16oz", top_result_price: 18.99 });
' || fail "unexpected outputs: $(cat outputs.json)"
echo "package-test: ok: $(basename "$archive") unpacked in $work ran the main example with its own runner" >&2
