#!/usr/bin/env bash
# Runs a command under Node.js >= 24.9, installing it first when the machine's Node is older, so that
# `npm start` and `npm test` work on a fresh machine whatever Node it came with.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ensure-node.sh" >&2
exec "$@"
