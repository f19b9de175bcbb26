#!/usr/bin/env bash
# Makes a Docker-API container engine available on a machine that has only the
# docker client and cannot reach any container registry (see
# notes/container-engine.md): Podman from Debian's packages serving the Docker
# API on a socket, plus a Debian base image built locally with debootstrap.
#
# Idempotent: on a warm machine every step is a quick check and the script
# finishes in seconds. Run as root.
#
#   eval "$(scripts/container-engine.sh)"   # progress on stderr, exports on stdout
#
# Environment (all optional):
#   DOCKER_HOST     an engine that already answers here is used as is
#   BASE_IMAGE      name of the base image to build (localhost/modelgate-base:bookworm)
#   DEBIAN_MIRROR   mirror for debootstrap (default: the one apt uses here)
#   PODMAN_LOG      log of the background API service (/var/log/podman-service.log)
set -euo pipefail

PODMAN_SOCKET=/run/podman/podman.sock
BASE_IMAGE=${BASE_IMAGE:-localhost/modelgate-base:bookworm}
PODMAN_LOG=${PODMAN_LOG:-/var/log/podman-service.log}
# Packages of the base image: python3-venv because Debian's python refuses
# pip installs outside a virtualenv (PEP 668); procps for ps when debugging.
BASE_PACKAGES=python3,python3-venv,python3-pip,ca-certificates,curl,procps

log() { printf '[container-engine] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (installs packages, writes /etc/containers, starts a system service)"

# True when a Docker-API engine answers /_ping at the given DOCKER_HOST-style address.
engine_answers() {
  case "$1" in
    unix://*) [ -S "${1#unix://}" ] && curl -fsS --max-time 3 --unix-socket "${1#unix://}" http://d/_ping >/dev/null 2>&1 ;;
    tcp://*)  curl -fsS --max-time 3 "http://${1#tcp://}/_ping" >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

# Installs the Debian packages that are missing; runs apt-get update only when
# something is actually missing, so a warm machine never touches the network.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# Podman's default rlimits exceed this kind of host's hard limits and
# container start fails with "setrlimit ... Operation not permitted": cap
# nofile at the host's hard limit; nproc 4096 is what worked (65535 did not).
# crun refuses the host's hybrid cgroups, runc runs.
write_containers_conf() {
  local nofile conf=/etc/containers/containers.conf
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  mkdir -p /etc/containers
  local want
  want=$(cat <<CONF
# Written by modelgate scripts/container-engine.sh (see notes/container-engine.md)
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
)
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
    [ -f "$conf" ] && cp "$conf" "$conf.bak.$(date +%s)"
    printf '%s\n' "$want" >"$conf"
    log "wrote $conf (nofile=$nofile, nproc=4096, runtime=runc)"
  fi
}

start_podman_service() {
  mkdir -p "$(dirname "$PODMAN_SOCKET")"
  rm -f "$PODMAN_SOCKET"  # a stale socket from a dead service would block the new one
  log "starting podman API service on $PODMAN_SOCKET (log: $PODMAN_LOG)"
  # setsid + nohup: the service must outlive this script and its terminal.
  setsid nohup podman system service --time=0 "unix://$PODMAN_SOCKET" >>"$PODMAN_LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    engine_answers "unix://$PODMAN_SOCKET" && return 0
    sleep 0.5
  done
  die "podman API service did not answer on $PODMAN_SOCKET within 30 s; see $PODMAN_LOG"
}

# The Debian mirror apt already uses (deb822 .sources or one-line .list
# format), so debootstrap goes through the same reachable path.
apt_mirror() {
  local uri
  uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
           grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
         } | grep -v security | grep '/debian/\?$' | head -n1 || true)
  [ -n "$uri" ] || die "no Debian mirror in apt's sources (/etc/apt/sources.list*): set DEBIAN_MIRROR"
  printf '%s\n' "$uri"
}

# No registry is reachable, so the base image is a debootstrapped Debian root
# filesystem imported into podman. Dockerfiles take it as BASE_IMAGE.
build_base_image() {
  if podman image exists "$BASE_IMAGE"; then
    log "base image $BASE_IMAGE present"
    return 0
  fi
  local mirror root started
  mirror=${DEBIAN_MIRROR:-$(apt_mirror)}
  root=$(mktemp -d /var/tmp/modelgate-rootfs.XXXXXX)
  # shellcheck disable=SC2064 # expand $root now: it is local to this function
  trap "rm -rf '$root'" EXIT
  started=$(date +%s)
  log "debootstrapping bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$root" "$mirror" \
    >"$root.log" 2>&1 || die "debootstrap failed; see $root.log"
  # Package caches are useless in an image and cost ~30 MB.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root.log"
  tar -C "$root" -c . | podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_IMAGE" >/dev/null || die "podman import of $BASE_IMAGE failed"
  rm -rf "$root"
  trap - EXIT
  log "built $BASE_IMAGE in $(( $(date +%s) - started )) s"
}

main() {
  local host=${DOCKER_HOST:-unix://$PODMAN_SOCKET}
  if engine_answers "$host"; then
    log "engine answers at $host"
  elif engine_answers "unix://$PODMAN_SOCKET"; then
    host=unix://$PODMAN_SOCKET
    log "engine answers at $host"
  else
    command -v curl >/dev/null || ensure_packages curl
    # dnsname: without it podman's CNI networks have no DNS, so containers
    # cannot reach each other by name or network alias (e.g. http://mlflow:5000).
    ensure_packages podman runc debootstrap golang-github-containernetworking-plugin-dnsname
    write_containers_conf
    start_podman_service
    host=unix://$PODMAN_SOCKET
  fi
  # The base image is built and stored with the podman CLI, which shares its
  # storage with the API service on the socket.
  command -v podman >/dev/null || die "podman is needed to build $BASE_IMAGE"
  command -v debootstrap >/dev/null || podman image exists "$BASE_IMAGE" || ensure_packages debootstrap
  build_base_image
  echo "export DOCKER_HOST=$host"
  echo "export TESTCONTAINERS_RYUK_DISABLED=true  # the reaper image cannot be pulled here"
}

main "$@"
