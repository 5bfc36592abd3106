#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than
# package-lock.json (a fresh clone, a pull that changed the lock), with the
# Node 24 that scripts/run put first on PATH and the npm beside it. Quiet when
# nothing is to do; one progress line when something is. Idempotent; two
# callers at once wait for one install (flock).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stamp="$root/node_modules/.package-lock.json"
needed() { [ ! -f "$stamp" ] || [ "$root/package-lock.json" -nt "$stamp" ]; }
needed || exit 0
command -v npm >/dev/null 2>&1 || { echo "npm is missing: apt-get install -y npm" >&2; exit 1; }
mkdir -p "$root/.local"
exec 9>"$root/.local/npm-install.lock"
flock 9
needed || exit 0
echo "installing npm dependencies (node_modules is missing or older than package-lock.json) …" >&2
(cd "$root" && npm install --no-audit --no-fund --loglevel=error >&2)
touch "$stamp"
echo "npm dependencies installed" >&2
