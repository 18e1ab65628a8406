#!/usr/bin/env bash
# Installs what segue needs on Debian, idempotently: Chromium (Debian's package, never a
# Playwright download), bubblewrap (the sandbox around workflow code), Node.js if missing,
# the runner's pinned Node packages (npm ci), and builds the workspace. Safe to run again: each step skips what is already there.
#
# usage: scripts/setup.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

profile_flag=()
[[ "${1:-}" == "--release" ]] && profile_flag=(--release)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# The sandbox around workflow code (docs/security.md).
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} from Debian" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: a Rust toolchain (cargo, Rust >= 1.95) is required: https://rustup.rs" >&2
  exit 1
fi

# npm ci installs exactly what package-lock.json pins; skip it when that is already installed.
if ! cmp -s runner-js/package-lock.json runner-js/node_modules/.segue-lock 2>/dev/null; then
  echo "setup: installing the browser runner's Node packages (npm ci)" >&2
  (cd runner-js && npm ci --no-audit --no-fund --loglevel=error)
  cp runner-js/package-lock.json runner-js/node_modules/.segue-lock
fi

echo "setup: building segue${profile_flag:+ (release)}" >&2
cargo build --quiet --workspace "${profile_flag[@]}"
