#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or was installed
# from another package-lock.json (a fresh clone, a pull that changed the lock),
# with the Node 24 that scripts/run put first on PATH and the npm beside it.
# What was installed is stamped with the lock's sha256 (node_modules/.bulwark-lock),
# so a checkout that shares an installed node_modules (the first-run test's
# clone) is not installed twice; an npm install run by hand (CI) is recognised
# by npm's own node_modules/.package-lock.json being newer than the lock.
# Quiet when nothing is to do; one progress line when something is.
# Idempotent; two callers at once wait for one install (flock).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock="$root/package-lock.json"
npm_stamp="$root/node_modules/.package-lock.json"
our_stamp="$root/node_modules/.bulwark-lock"
want="$(sha256sum "$lock" | cut -d' ' -f1)"
current() {
  [ -f "$npm_stamp" ] || return 1
  if [ -f "$our_stamp" ]; then [ "$(cat "$our_stamp")" = "$want" ]; return; fi
  [ "$npm_stamp" -nt "$lock" ] || return 1
  echo "$want" > "$our_stamp"
}
current && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm is missing: apt-get install -y npm" >&2; exit 1; }
mkdir -p "$root/.local"
exec 9>"$root/.local/npm-install.lock"
flock 9
current && exit 0
echo "installing npm dependencies (node_modules is missing or from another package-lock.json) …" >&2
(cd "$root" && npm install --no-audit --no-fund --loglevel=error >&2)
echo "$want" > "$our_stamp"
echo "npm dependencies installed" >&2
