#!/usr/bin/env bash
# Entry point of deployment/nginx/Dockerfile: waits until the instances'
# names resolve (nginx refuses to start on an upstream it cannot resolve),
# makes a self-signed certificate when MODELGATE_TLS_CERT names no file,
# renders nginx.conf with render.sh (layout standalone) and runs nginx in the
# foreground. Everything nginx writes lies under /var/lib/modelgate-nginx.
set -euo pipefail
here=/opt/modelgate-nginx
prefix=/var/lib/modelgate-nginx
mkdir -p "$prefix/tls" && chmod 755 "$prefix"
log() { printf '[modelgate-nginx] %s\n' "$*" >&2; }

export MODELGATE_NGINX_LAYOUT=standalone
export MODELGATE_TLS_CERT=${MODELGATE_TLS_CERT:-$prefix/tls/cert.pem}
export MODELGATE_TLS_KEY=${MODELGATE_TLS_KEY:-$prefix/tls/key.pem}
# Names the self-signed certificate is issued for (subjectAltName entries).
names=${MODELGATE_SELF_SIGNED_NAMES:-DNS:localhost,IP:127.0.0.1,DNS:nginx,DNS:api}
if [ ! -s "$MODELGATE_TLS_CERT" ]; then
  log "no certificate at $MODELGATE_TLS_CERT: making a self-signed one for $names (mount your own for anything but local use)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=modelgate" \
    -addext "subjectAltName=$names" -keyout "$MODELGATE_TLS_KEY" -out "$MODELGATE_TLS_CERT" 2>/dev/null
fi

# host:port,host:port,... of both lists: every host must resolve first.
deadline=$(( $(date +%s) + ${MODELGATE_RESOLVE_TIMEOUT:-60} ))
IFS=',' read -r -a entries <<<"${MODELGATE_UPSTREAMS:-},${MODELGATE_GRPC_UPSTREAMS:-}"
for entry in "${entries[@]}"; do
  host=${entry%:*}
  [ -n "$host" ] || continue
  until getent hosts "$host" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "ERROR: $host does not resolve"; exit 1; }
    sleep 1
  done
done

"$here/render.sh" "$prefix/nginx.conf"
nginx -t -q -p "$prefix/" -c "$prefix/nginx.conf"
log "serving ${MODELGATE_UPSTREAMS:-}"
exec nginx -p "$prefix/" -c "$prefix/nginx.conf" -g 'daemon off;'
