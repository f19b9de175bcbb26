#!/usr/bin/env bash
# Stops a test stack kept with MODELGATE_STACK_KEEP=1 (test/support/shared-stack.ts):
# removes the containers and networks its stack file names, then the file.
#
#   MODELGATE_STACK_KEEP=1 npx jest --runInBand test/serving.e2e-spec.ts   # starts and keeps it
#   MODELGATE_STACK_KEEP=1 npx jest --runInBand test/serving.e2e-spec.ts   # reuses it
#   npm run stack:down
set -euo pipefail
cd "$(dirname "$0")/.."
file=${MODELGATE_STACK_FILE:-.cache/stack.json}
if [ ! -f "$file" ]; then
  echo "[stack-down] no kept stack ($file does not exist)"
  exit 0
fi
ids=$(node -e 'const s = require(require("path").resolve(process.argv[1])); console.log((s.containerIds || []).join(" "))' "$file")
for id in $ids; do
  podman rm -f "$id" >/dev/null 2>&1 && echo "[stack-down] removed container ${id:0:12}" \
    || echo "[stack-down] container ${id:0:12} was already gone"
done
nets=$(node -e 'const s = require(require("path").resolve(process.argv[1])); console.log((s.networkIds || []).join(" "))' "$file")
for id in $nets; do
  podman network rm -f "$id" >/dev/null 2>&1 && echo "[stack-down] removed network ${id:0:12}" \
    || echo "[stack-down] network ${id:0:12} was already gone"
done
rm -f "$file"
