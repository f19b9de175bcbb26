#!/usr/bin/env bash
# Creates or updates one of the project's Python environments and prints its
# python path on stdout (everything else goes to stderr):
#
#   PY=$(bash scripts/python-env.sh) && "$PY" scripts/demo_model.py ...
#   PY=$(bash scripts/python-env.sh fuzz) && "${PY%/python}/schemathesis" ...
#
# Environments, each from its own fully pinned requirements file, so that the
# pins of one never meet another's:
#   dev      .venv/          requirements-dev.txt: the MLflow server, `mlflow
#                            models serve` used by bench/, scripts/demo_model.py,
#                            pytest and the pyfunc workers' packages; its pins
#                            mirror the container images' constraint files
#   fuzz     .venv-fuzz/     requirements-fuzz.txt: schemathesis
#   clients  .venv-clients/  requirements-clients.txt: the inference clients
#                            users bring (tritonclient, kserve), for the tests
#   k8s      .venv-k8s/      requirements-k8s.txt: kubernetes-validate, the
#                            schema check of scripts/k8s-validate.sh
#   bench    .venv-bench/    requirements-bench.txt: MLServer and its MLflow
#                            runtime, one of the servers bench/ compares
#
# Idempotent: a stamp in the venv holds the SHA-256 of its requirements file
# and the interpreter version; when both match, nothing is installed (well
# under a second). When the file changed, the venv is synced to it exactly:
# pinned versions installed, packages no longer listed removed.
#
# Installs with uv (pinned in requirements-dev.txt, bootstrapped into the venv
# by pip). A fresh .venv with empty caches takes ~35 s on 2 cores: ~10 s to
# download and install the ~100 pinned packages (pip alone: ~90 s, one wheel at
# a time) and ~25 s to compile bytecode, done at install time because these
# machines set PYTHONDONTWRITEBYTECODE=1: without .pyc files every
# `import mlflow` costs ~6 s more, in every MLflow process the benchmark starts.
#
# Environment (all optional):
#   PYTHON             interpreter to create the venv with [python3]; the images
#                      run Python 3.11, anything else gets a warning
#   MODELGATE_VENV     where the venv lives [<repo>/.venv, <repo>/.venv-<name>]
#   PYTHON_ENV_PIP=1   install with pip only, never uv (slow; a fallback should
#                      uv misbehave somewhere)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${1:-dev}
case "$name" in
  dev) default_venv=$repo/.venv ;;
  fuzz | clients | k8s | bench) default_venv=$repo/.venv-$name ;;
  *) printf '[python-env] ERROR: unknown environment %s (dev, fuzz, clients, k8s or bench)\n' "$name" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3}
venv=${MODELGATE_VENV:-$default_venv}
requirements=$repo/requirements-$name.txt
stamp_file=$venv/.requirements.stamp

log() { printf '[python-env] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -f "$requirements" ] || die "missing $requirements"
command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH (set PYTHON=/path/to/python3.11)"

py_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
  || die "'$PYTHON' does not run"
[ "$py_version" = "3.11" ] \
  || log "warning: $PYTHON is Python $py_version; the container images use 3.11"

# What pip bootstraps uv with: the uv pin from requirements-dev.txt.
uv_pin=$(grep -E '^uv==' "$repo/requirements-dev.txt" || true)
[ -n "$uv_pin" ] || die "requirements-dev.txt must pin uv (uv==X.Y.Z)"

wanted="$(sha256sum "$requirements" | cut -d' ' -f1) python$py_version"

# One installer at a time (two bench runs, or a bench run and a developer).
mkdir -p "$venv"
# (Not .venv/.lock: uv locks that file itself and would wait 5 min for us.)
exec 9>"$venv/.python-env.lock"
flock 9

current_stamp() { cat "$stamp_file" 2>/dev/null || true; }

if [ "$(current_stamp)" = "$wanted" ] && "$venv/bin/python" -c '' 2>/dev/null; then
  echo "$venv/bin/python"
  exit 0
fi

started=$(date +%s)

# (Re)create the venv when it has no working interpreter or a different version.
venv_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
if [ "$venv_version" != "$py_version" ]; then
  log "creating $venv with $PYTHON ($py_version)"
  find "$venv" -mindepth 1 -maxdepth 1 ! -name .python-env.lock -exec rm -rf {} +
  "$PYTHON" -m venv "$venv"
fi
rm -f "$stamp_file"  # a failed install below must not leave a valid stamp

pip_install() {
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

# uv itself: pip installs the pin into .venv; the other environments use that
# one (a `uv pip sync` of a venv that does not list uv would remove it).
bootstrap_uv() {
  if [ "$name" = dev ]; then
    pip_install "$uv_pin" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2) \
      && echo "$venv/bin/uv"
  else
    local dev_python
    dev_python=$(bash "$repo/scripts/python-env.sh" dev) && echo "${dev_python%/python}/uv"
  fi
}

installed_with=
if [ "${PYTHON_ENV_PIP:-}" != 1 ]; then
  if uv_bin=$(bootstrap_uv); then
    # uv does not read pip.conf: trust the system CA store (these machines
    # reach PyPI through a TLS path that only the system bundle trusts), and
    # keep its cache beside pip's.
    log "syncing with $uv_pin"
    if UV_NATIVE_TLS=${UV_NATIVE_TLS:-1} "$uv_bin" pip sync --quiet \
        --compile-bytecode --python "$venv/bin/python" "$requirements"; then
      installed_with=uv
    else
      log "uv pip sync failed; falling back to pip"
    fi
  else
    log "could not install $uv_pin; falling back to pip"
  fi
fi
if [ -z "$installed_with" ]; then
  log "installing with pip (slow)"
  # Every package is pinned, so no resolution is needed; pip does not remove
  # packages that are no longer listed (uv pip sync does).
  pip_install --no-deps -r "$requirements" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  installed_with=pip
fi

"$venv/bin/python" -m pip check --disable-pip-version-check >&2 \
  || die "installed packages are inconsistent (see above): fix $(basename "$requirements")"

printf '%s\n' "$wanted" >"$stamp_file.tmp"
mv "$stamp_file.tmp" "$stamp_file"
log "ready in $(( $(date +%s) - started ))s ($installed_with)"
echo "$venv/bin/python"
