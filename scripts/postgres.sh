#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the tests may use (they create and drop their
# own databases in it). Uses SEGUE_TEST_DATABASE_URL when set, else a server answering
# on 127.0.0.1:5432 with trust auth, else installs Debian's postgresql and starts a
# throwaway cluster on port 55432 (idempotent: an already running one is reused).
set -euo pipefail

if [[ -n "${SEGUE_TEST_DATABASE_URL:-}" ]]; then
  echo "$SEGUE_TEST_DATABASE_URL"
  exit 0
fi

answers() { psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1; }

if command -v psql >/dev/null && answers "postgres://postgres@127.0.0.1:5432/postgres"; then
  echo "postgres://postgres@127.0.0.1:5432/postgres"
  exit 0
fi

port=55432
url="postgres://postgres@127.0.0.1:$port/postgres"
if command -v psql >/dev/null && answers "$url"; then
  echo "$url"
  exit 0
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "postgres: need root (or sudo) to run: $*" >&2; exit 1
  fi
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "postgres: installing Debian's postgresql for the store tests" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
dir=/tmp/segue-test-postgres
if [[ ! -f "$dir/PG_VERSION" ]]; then
  as_root mkdir -p "$dir"
  as_root chown postgres "$dir"
  as_root su postgres -s /bin/sh -c "'$bin/initdb' -D '$dir' -U postgres --auth=trust" >/dev/null
fi
as_root su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$dir' -o '-p $port -k /tmp -c listen_addresses=127.0.0.1' -l '$dir/log' -w start" >/dev/null
echo "$url"
