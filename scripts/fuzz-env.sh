#!/usr/bin/env bash
# Creates or updates .venv-fuzz/ at the repository root from requirements-fuzz.txt
# and prints the path of its `schemathesis` on stdout (everything else goes to
# stderr):
#
#   ST=$(bash scripts/fuzz-env.sh) && "$ST" run http://127.0.0.1:8000/docs/openapi.json
#
# A venv of its own, apart from .venv (scripts/python-env.sh): schemathesis and
# its dependencies are pinned independently of requirements-dev.txt, whose pins
# mirror the container images' constraint files.
#
# Idempotent: a stamp in the venv holds the SHA-256 of requirements-fuzz.txt and
# the interpreter version; when both match, nothing is installed.
#
# Environment (all optional):
#   PYTHON             interpreter to create the venv with [python3]
#   MODELGATE_FUZZ_VENV where the venv lives [<repo>/.venv-fuzz]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
venv=${MODELGATE_FUZZ_VENV:-$repo/.venv-fuzz}
requirements=$repo/requirements-fuzz.txt
stamp_file=$venv/.requirements.stamp

log() { printf '[fuzz-env] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -f "$requirements" ] || die "missing $requirements"
command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH (set PYTHON=/path/to/python3)"
py_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
  || die "'$PYTHON' does not run"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1) python$py_version"

mkdir -p "$venv"
exec 9>"$venv/.fuzz-env.lock"
flock 9

if [ "$(cat "$stamp_file" 2>/dev/null || true)" = "$wanted" ] && "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
  echo "$venv/bin/schemathesis"
  exit 0
fi

started=$(date +%s)
venv_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
if [ "$venv_version" != "$py_version" ]; then
  log "creating $venv with $PYTHON ($py_version)"
  find "$venv" -mindepth 1 -maxdepth 1 ! -name .fuzz-env.lock -exec rm -rf {} +
  "$PYTHON" -m venv "$venv"
fi
rm -f "$stamp_file"  # a failed install below must not leave a valid stamp

# Every package is pinned, so no resolution is needed.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements" \
  2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
"$venv/bin/python" -m pip check --disable-pip-version-check >&2 \
  || die "installed packages are inconsistent (see above): fix requirements-fuzz.txt"

printf '%s\n' "$wanted" >"$stamp_file.tmp"
mv "$stamp_file.tmp" "$stamp_file"
log "ready in $(( $(date +%s) - started ))s"
echo "$venv/bin/schemathesis"
