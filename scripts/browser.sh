#!/usr/bin/env bash
# Installs the headless browser the status-page test drives (test/status.e2e-spec.ts):
# Debian's chromium, through apt. playwright-core never downloads a browser of its
# own; it is pointed at /usr/bin/chromium. Idempotent: does nothing when present.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
