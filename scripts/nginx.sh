#!/usr/bin/env bash
# Installs what the nginx configuration test needs (test/nginx-config.int-spec.ts,
# test/support/nginx.ts): Debian's nginx-light for /usr/sbin/nginx, gettext-base
# for envsubst (deployment/nginx/render.sh) and openssl for its self-signed
# certificate, through apt. Idempotent: installs only what is missing, and
# nothing when all three are there.
#
# The tests run their own nginx from a temporary directory with their own
# nginx.conf on free loopback ports; they never read /etc/nginx or use port 80.
# So whatever the package does on installing (Debian's postinst starts the
# system nginx with its default site on :80 where an init system lets it, and
# :80 is free) is left as it is: it is in nobody's way.
set -euo pipefail

packages=()
[ -x /usr/sbin/nginx ] || packages+=(nginx-light)
command -v envsubst >/dev/null || packages+=(gettext-base)
command -v openssl >/dev/null || packages+=(openssl)
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
/usr/sbin/nginx -v
