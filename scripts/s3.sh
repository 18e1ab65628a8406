#!/usr/bin/env bash
# Prints the endpoint of an S3-compatible server the tests may use, holding the bucket
# `segue-test` (each test writes under its own prefix). Uses SEGUE_TEST_S3_ENDPOINT when
# set, else moto in server mode (from PyPI, versions pinned in scripts/moto-requirements.txt,
# in a virtual environment under ~/.cache/segue) on 127.0.0.1:54566. Idempotent: a server
# already answering there is reused.
set -euo pipefail
cd "$(dirname "$0")/.."

bucket=segue-test
if [[ -n "${SEGUE_TEST_S3_ENDPOINT:-}" ]]; then
  echo "$SEGUE_TEST_S3_ENDPOINT"
  exit 0
fi

port=54566
endpoint="http://127.0.0.1:$port"

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "s3: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "s3: installing Debian's python3 and python3-venv for the S3 test server" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi

# Answers with the bucket's listing once the server is up and the bucket exists.
answers() {
  python3 - "$endpoint" "$1" <<'PY'
import sys, urllib.request
endpoint, create = sys.argv[1], sys.argv[2] == "create"
try:
    if create:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/segue-test", method="PUT"), timeout=5)
    urllib.request.urlopen(f"{endpoint}/segue-test?max-keys=1", timeout=5)
except Exception:
    sys.exit(1)
PY
}

if answers create; then
  echo "$endpoint"
  exit 0
fi

requirements=scripts/moto-requirements.txt
venv="${XDG_CACHE_HOME:-$HOME/.cache}/segue/moto-$(sha256sum "$requirements" | cut -c1-12)"
if [[ ! -x "$venv/bin/moto_server" ]]; then
  echo "s3: installing moto (S3 test server) into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
fi

log="$venv/server.log"
setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if answers create; then
    echo "$endpoint"
    exit 0
  fi
  sleep 0.5
done
echo "s3: moto did not answer on $endpoint with bucket $bucket; its log:" >&2
tail -n 20 "$log" >&2
exit 1
