#!/usr/bin/env bash
# Builds a relocatable archive of segue: the binary (the demo site is built into it,
# `segue demo`), the browser runner with its pinned Node packages, and the examples.
# Unpacked anywhere, the binary finds its runner beside itself
# (`<prefix>/lib/segue/runner-js` for `<prefix>/bin/segue`, crates/runner/src/locate.rs):
#
#   segue-VERSION-linux-ARCH/
#     bin/segue
#     lib/segue/runner-js/   runner.js, package.json, package-lock.json, node_modules/
#     examples/              the example workflows (README.md, "Examples")
#     README.md
#
# The machine it runs on needs Debian's chromium, bubblewrap and Node.js (20 or newer);
# see README.md, "Install anywhere". Builds the binary when it is missing or stale (cargo
# decides), installs the runner's packages with `npm ci --omit=dev` from the registry
# (no browser download: segue uses Debian's Chromium), and prints the archive's path on
# stdout. Safe to run again: the staging folder and the archive are rebuilt from scratch.
#
# usage: scripts/package.sh [--profile release|debug] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
out=target/package
while (($#)); do
  case "$1" in
    --profile) profile="${2:?--profile needs release or debug}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package: unknown argument: $1 (usage: scripts/package.sh [--profile release|debug] [--out DIR])" >&2; exit 2 ;;
  esac
done
case "$profile" in
  release) cargo_profile=(--release) ;;
  debug) cargo_profile=() ;;
  *) echo "package: --profile is release or debug, not '$profile'" >&2; exit 2 ;;
esac
for tool in cargo npm tar gzip; do
  command -v "$tool" >/dev/null || { echo "package: $tool is required (scripts/setup.sh installs what segue needs)" >&2; exit 1; }
done

# The same package selection as scripts/setup.sh, so a debug build it made is reused as is.
echo "package: building segue ($profile)" >&2
cargo build --quiet --locked --workspace --bin segue "${cargo_profile[@]}"
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
binary="${target_dir:-target}/$profile/segue"
[[ -x "$binary" ]] || { echo "package: no binary at $binary after the build" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' crates/cli/Cargo.toml | head -n 1)
name="segue-$version-linux-$(uname -m)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage="$out/$name"
rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage/bin" "$stage/lib/segue/runner-js" "$stage/examples"

# Without debug information: a debug build's symbols are hundreds of MB and no use here.
if command -v strip >/dev/null; then
  strip --strip-debug -o "$stage/bin/segue" "$binary"
else
  cp "$binary" "$stage/bin/segue"
fi
chmod 0755 "$stage/bin/segue"

cp runner-js/runner.js runner-js/package.json runner-js/package-lock.json "$stage/lib/segue/runner-js/"
echo "package: installing the runner's Node packages (npm ci --omit=dev)" >&2
# playwright-core downloads no browser on its own; the variable makes sure of it, and
# --ignore-scripts runs no package's install scripts.
(cd "$stage/lib/segue/runner-js" &&
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --omit=dev --ignore-scripts --prefer-offline \
    --no-audit --no-fund --loglevel=error >&2)

cp examples/*.json "$stage/examples/"
cp README.md "$stage/"

# Reproducible apart from the contents: fixed owner, order and modification times.
tar --create --file - --directory "$out" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@${SOURCE_DATE_EPOCH:-0}" "$name" | gzip -n >"$out/$name.tar.gz.part"
mv "$out/$name.tar.gz.part" "$out/$name.tar.gz"
echo "package: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1))" >&2
echo "$out/$name.tar.gz"
