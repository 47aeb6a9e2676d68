#!/usr/bin/env bash
# ansible-test sanity on a copy of the tracked files laid out as ansible_collections/lvs/cluster
# (ansible-test insists on that path). No ignore files: everything it reports must be fixed.
# LVS_VENV=DIR runs the ansible-test of another venv (scripts/test.sh: every supported ansible-core).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${LVS_VENV:-$root/.venv}
work=${LVS_SANITY_DIR:-${TMPDIR:-/tmp}/lvs-cluster-sanity}
dest=$work/ansible_collections/lvs/cluster
# ansible-test bootstraps pip in its venvs with a get-pip script from a host that cannot be reached
# here; install our stand-in under the name it looks for, unless a real one is cached already.
pip_version=$(grep -ho "pip='[0-9.]*'" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
  | head -n 1 | grep -o '[0-9][0-9.]*' || true)
if [[ -n $pip_version ]]; then
  cached=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
  if [[ ! -f $cached ]] || grep -q 'stand-in' "$cached"; then
    mkdir -p "$(dirname "$cached")"
    cp tests/sanity/get_pip_standin.py "$cached"
  fi
fi
rm -rf "$work"
mkdir -p "$dest"
git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- "$root"/ "$dest"/
cd "$dest"
git init -q && git add -A
exec "$venv/bin/ansible-test" sanity --venv --python "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
