#!/usr/bin/env bash
# The OSS edition must build and pass its tests with ee/ deleted (DESIGN.md): copies the tracked tree without
# ee/ (node_modules as hard links, so the copy costs no space), builds it and runs the test suite there.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/ensure-node.sh

copy=$(mktemp -d "${TMPDIR:-/tmp}/engram-oss-XXXXXX")
trap 'rm -rf "$copy"' EXIT
git ls-files -z | grep -zv '^ee/' | xargs -0 cp --parents -t "$copy"
cp -al node_modules "$copy/node_modules"
cd "$copy"
[ ! -e ee ] || { echo "test-without-ee: ee/ is still in the copy" >&2; exit 1; }
echo "test-without-ee: building and testing the OSS edition in $copy"
node scripts/build.mjs
node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"
