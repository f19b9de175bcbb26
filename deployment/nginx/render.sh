#!/usr/bin/env bash
# Renders nginx's configuration for N Modelgate API instances from
# modelgate-lb.conf.template (deployment/README.md, "Several instances behind
# nginx"):
#
#   MODELGATE_UPSTREAMS=10.0.0.11:8000,10.0.0.12:8000,10.0.0.13:8000 \
#   MODELGATE_TLS_CERT=/etc/letsencrypt/live/api.example.com/fullchain.pem \
#   MODELGATE_TLS_KEY=/etc/letsencrypt/live/api.example.com/privkey.pem \
#   deployment/nginx/render.sh /etc/nginx/conf.d/modelgate.conf && nginx -t
#
# Writes OUTPUT (whole or not at all), or stdout when none is given. Checks
# every variable first and names each bad one. Variables (default):
#   MODELGATE_UPSTREAMS          required: host:port,host:port,... one per instance
#   MODELGATE_TLS_CERT           required: certificate chain (PEM)
#   MODELGATE_TLS_KEY            required: its private key (PEM)
#   MODELGATE_BALANCING          round-robin (round-robin | ip-hash)
#   MODELGATE_SERVER_NAME        _ (any name); e.g. api.example.com
#   MODELGATE_HTTP_PORT          80
#   MODELGATE_HTTPS_PORT         443
#   MODELGATE_PLAIN_HTTP_PORT    none: a port where the HTTPS server's locations also
#                                answer without TLS, for clients inside a private
#                                network only (the cluster compose file's Airflow
#                                callback and local curl); never publish it beyond that
#   MODELGATE_PUBLIC_HTTPS_PORT  the HTTPS port clients reach, for redirects
#                                (MODELGATE_HTTPS_PORT; differs behind port mapping)
#   MODELGATE_LISTEN_ADDRESSES   "0.0.0.0 [::]" (space-separated; "0.0.0.0" without IPv6)
#   MODELGATE_MAX_FAILS          3    failures within MODELGATE_FAIL_TIMEOUT that take
#   MODELGATE_FAIL_TIMEOUT       10s  an instance out, and for how long
#   MODELGATE_NGINX_LAYOUT       conf.d: an http-context file for /etc/nginx/conf.d/;
#                                standalone: a complete nginx.conf (nginx.conf.template)
#   MODELGATE_NGINX_WORKERS      auto (standalone only)
#   MODELGATE_ACCESS_LOG         /var/log/nginx/modelgate.access.log (standalone: /dev/stdout)
#   MODELGATE_ERROR_LOG          /var/log/nginx/modelgate.error.log (standalone: stderr)
#   MODELGATE_ACME_ROOT          /var/www/letsencrypt (certbot --webroot)
#   MODELGATE_GRPC_UPSTREAMS     none: host:port,... the instances' gRPC listeners
#                                (API_GRPC_PORT); adds modelgate-grpc.conf.template
#   MODELGATE_GRPC_PORT          8001 (Triton's): where nginx takes gRPC over TLS
# Relative paths are relative to nginx's prefix (-p); the certificate's to the
# directory of the configuration file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

layout=${MODELGATE_NGINX_LAYOUT:-conf.d}
if [ "$layout" = standalone ]; then
  default_access_log=/dev/stdout default_error_log=stderr
else
  default_access_log=/var/log/nginx/modelgate.access.log
  default_error_log=/var/log/nginx/modelgate.error.log
fi
export MODELGATE_BALANCING=${MODELGATE_BALANCING:-round-robin}
export MODELGATE_SERVER_NAME=${MODELGATE_SERVER_NAME:-_}
export MODELGATE_HTTP_PORT=${MODELGATE_HTTP_PORT:-80}
export MODELGATE_HTTPS_PORT=${MODELGATE_HTTPS_PORT:-443}
export MODELGATE_PLAIN_HTTP_PORT=${MODELGATE_PLAIN_HTTP_PORT:-}
export MODELGATE_PUBLIC_HTTPS_PORT=${MODELGATE_PUBLIC_HTTPS_PORT:-$MODELGATE_HTTPS_PORT}
export MODELGATE_LISTEN_ADDRESSES=${MODELGATE_LISTEN_ADDRESSES:-0.0.0.0 [::]}
export MODELGATE_MAX_FAILS=${MODELGATE_MAX_FAILS:-3}
export MODELGATE_FAIL_TIMEOUT=${MODELGATE_FAIL_TIMEOUT:-10s}
export MODELGATE_NGINX_WORKERS=${MODELGATE_NGINX_WORKERS:-auto}
export MODELGATE_ACCESS_LOG=${MODELGATE_ACCESS_LOG:-$default_access_log}
export MODELGATE_ERROR_LOG=${MODELGATE_ERROR_LOG:-$default_error_log}
export MODELGATE_ACME_ROOT=${MODELGATE_ACME_ROOT:-/var/www/letsencrypt}
export MODELGATE_UPSTREAMS=${MODELGATE_UPSTREAMS:-}
export MODELGATE_TLS_CERT=${MODELGATE_TLS_CERT:-}
export MODELGATE_TLS_KEY=${MODELGATE_TLS_KEY:-}
export MODELGATE_GRPC_UPSTREAMS=${MODELGATE_GRPC_UPSTREAMS:-}
export MODELGATE_GRPC_PORT=${MODELGATE_GRPC_PORT:-8001}

# ---- Check everything, then report every problem at once ---------------------
problems=()
bad() { problems+=("$1"); }
is_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }
# A value pasted into the configuration must not end a directive or open a block.
is_plain() { [[ -n $1 && ! $1 =~ [[:space:]\;\{\}\$\#\"\'] ]]; }

case "$layout" in conf.d | standalone) ;; *) bad "MODELGATE_NGINX_LAYOUT must be conf.d or standalone" ;; esac
case "$MODELGATE_BALANCING" in round-robin | ip-hash) ;; *) bad "MODELGATE_BALANCING must be round-robin or ip-hash" ;; esac
for name in MODELGATE_HTTP_PORT MODELGATE_HTTPS_PORT MODELGATE_PUBLIC_HTTPS_PORT MODELGATE_GRPC_PORT; do
  is_port "${!name}" || bad "$name must be a port number (1-65535)"
done
if [ -n "$MODELGATE_PLAIN_HTTP_PORT" ]; then
  is_port "$MODELGATE_PLAIN_HTTP_PORT" || bad "MODELGATE_PLAIN_HTTP_PORT must be a port number (1-65535) or empty"
  for name in MODELGATE_HTTP_PORT MODELGATE_HTTPS_PORT MODELGATE_GRPC_PORT; do
    [ "$MODELGATE_PLAIN_HTTP_PORT" != "${!name}" ] || bad "MODELGATE_PLAIN_HTTP_PORT must differ from $name"
  done
fi
[[ $MODELGATE_MAX_FAILS =~ ^[0-9]+$ ]] || bad "MODELGATE_MAX_FAILS must be a whole number (0 turns failure counting off)"
[[ $MODELGATE_FAIL_TIMEOUT =~ ^[1-9][0-9]*(ms|s|m)?$ ]] || bad "MODELGATE_FAIL_TIMEOUT must be an nginx time such as 10s"
[[ $MODELGATE_NGINX_WORKERS =~ ^(auto|[1-9][0-9]*)$ ]] || bad "MODELGATE_NGINX_WORKERS must be auto or a number"
[[ $MODELGATE_SERVER_NAME =~ ^[A-Za-z0-9_.*-]+( [A-Za-z0-9_.*-]+)*$ ]] ||
  bad "MODELGATE_SERVER_NAME must be host names separated by spaces, or _"
for name in MODELGATE_TLS_CERT MODELGATE_TLS_KEY; do
  [ -n "${!name}" ] || bad "$name is required: the path of a PEM file"
done
for name in MODELGATE_TLS_CERT MODELGATE_TLS_KEY MODELGATE_ACCESS_LOG MODELGATE_ERROR_LOG MODELGATE_ACME_ROOT; do
  [ -z "${!name}" ] || is_plain "${!name}" || bad "$name must be a path without spaces, quotes or any of ; { } \$ #"
done

# `server` lines for the instances a variable lists (host:port,host:port,...).
upstream_servers() {
  local variable=$1 entry entries lines=""
  IFS=',' read -r -a entries <<<"${!variable}"
  for entry in "${entries[@]}"; do
    entry=${entry//[[:space:]]/}
    # host name, IPv4 address or [IPv6 address], then the port
    if [[ $entry =~ ^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):([0-9]+)$ ]] && is_port "${BASH_REMATCH[2]}"; then
      lines+="    server $entry max_fails=$MODELGATE_MAX_FAILS fail_timeout=$MODELGATE_FAIL_TIMEOUT;"$'\n'
    else
      bad "$variable: '$entry' is not host:port"
    fi
  done
  servers_out=$lines
}

servers="" grpc_servers=""
if [ -z "$MODELGATE_UPSTREAMS" ]; then
  bad "MODELGATE_UPSTREAMS must list the instances: host:port,host:port,..."
else
  upstream_servers MODELGATE_UPSTREAMS
  servers=$servers_out
fi
if [ -n "$MODELGATE_GRPC_UPSTREAMS" ]; then
  upstream_servers MODELGATE_GRPC_UPSTREAMS
  grpc_servers=$servers_out
fi

http_listen="" https_listen="" grpc_listen="" plain_listen=""
for address in $MODELGATE_LISTEN_ADDRESSES; do
  if [[ $address =~ ^(\*|[0-9]{1,3}(\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:.]+\])$ ]]; then
    http_listen+="    listen $address:$MODELGATE_HTTP_PORT;"$'\n'
    https_listen+="    listen $address:$MODELGATE_HTTPS_PORT ssl http2;"$'\n'
    grpc_listen+="    listen $address:$MODELGATE_GRPC_PORT ssl http2;"$'\n'
    [ -z "$MODELGATE_PLAIN_HTTP_PORT" ] || plain_listen+="    listen $address:$MODELGATE_PLAIN_HTTP_PORT;"$'\n'
  else
    bad "MODELGATE_LISTEN_ADDRESSES: '$address' is not an IPv4 address, [IPv6 address] or *"
  fi
done
[ -n "${MODELGATE_LISTEN_ADDRESSES// /}" ] || bad "MODELGATE_LISTEN_ADDRESSES must name at least one address"

if [ ${#problems[@]} -gt 0 ]; then
  echo "render.sh: cannot render the nginx configuration:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 2
fi

# ---- Render --------------------------------------------------------------------
if [ "$MODELGATE_BALANCING" = ip-hash ]; then
  export MODELGATE_BALANCING_DIRECTIVE="    # Sticky: a client address (for IPv4, its first three octets) reaches the
    # same instance while that one is up, and another one while it is out.
    ip_hash;"
else
  export MODELGATE_BALANCING_DIRECTIVE="    # Round robin (nginx's default): each request goes to the next instance."
fi
export MODELGATE_UPSTREAM_SERVERS=${servers%$'\n'}
export MODELGATE_HTTP_LISTEN=${http_listen%$'\n'}
if [ -n "$plain_listen" ]; then
  https_listen+="    # Without TLS, for clients inside the private network only (MODELGATE_PLAIN_HTTP_PORT)."$'\n'
  https_listen+=$plain_listen
fi
export MODELGATE_HTTPS_LISTEN=${https_listen%$'\n'}
if [ "$MODELGATE_PUBLIC_HTTPS_PORT" = 443 ]; then
  export MODELGATE_HTTPS_PORT_SUFFIX=""
else
  export MODELGATE_HTTPS_PORT_SUFFIX=":$MODELGATE_PUBLIC_HTTPS_PORT"
fi

# Only these are replaced; every other $word is nginx's.
site_vars='${MODELGATE_BALANCING_DIRECTIVE} ${MODELGATE_UPSTREAM_SERVERS}
  ${MODELGATE_HTTP_LISTEN} ${MODELGATE_HTTPS_LISTEN} ${MODELGATE_HTTPS_PORT_SUFFIX}
  ${MODELGATE_SERVER_NAME} ${MODELGATE_TLS_CERT} ${MODELGATE_TLS_KEY}
  ${MODELGATE_ACCESS_LOG} ${MODELGATE_ERROR_LOG} ${MODELGATE_ACME_ROOT}'
site=$(envsubst "$site_vars" <"$here/modelgate-lb.conf.template")
if [ -n "$grpc_servers" ]; then
  export MODELGATE_GRPC_UPSTREAM_SERVERS=${grpc_servers%$'\n'}
  export MODELGATE_GRPC_LISTEN=${grpc_listen%$'\n'}
  grpc_vars='${MODELGATE_BALANCING_DIRECTIVE} ${MODELGATE_GRPC_UPSTREAM_SERVERS}
    ${MODELGATE_GRPC_LISTEN} ${MODELGATE_SERVER_NAME} ${MODELGATE_TLS_CERT}
    ${MODELGATE_TLS_KEY} ${MODELGATE_ACCESS_LOG} ${MODELGATE_ERROR_LOG}'
  site+=$'\n'$(envsubst "$grpc_vars" <"$here/modelgate-grpc.conf.template")
fi

if [ "$layout" = standalone ]; then
  # Indented one level, inside http {}.
  export MODELGATE_SITE
  MODELGATE_SITE=$(printf '%s\n' "$site" | sed 's/^\(.\)/    \1/')
  config=$(envsubst '${MODELGATE_NGINX_WORKERS} ${MODELGATE_ERROR_LOG} ${MODELGATE_SITE}' \
    <"$here/nginx.conf.template")
else
  config=$site
fi

if [ $# -eq 0 ]; then
  printf '%s\n' "$config"
else
  # Written beside the target, then moved: nginx never reads half a file.
  printf '%s\n' "$config" >"$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
fi
