#!/usr/bin/env bash
# Sets everything up and runs every test: lint, sanity, unit, then every molecule scenario in the
# QEMU lab (one guest shared by all scenarios; hosts are recreated per scenario). Exits non-zero on
# any failure. Usage: scripts/test.sh [SCENARIO...]   (default: every scenario under molecule/)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=$root/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$root/.collections
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0} PY_COLORS=${PY_COLORS:-0} NO_COLOR=${NO_COLOR:-1}
logs=$root/tests/output/logs
start=$SECONDS
passed=() failed=()

stage() {  # stage NAME COMMAND...: run one suite, keep its log, record the verdict and the time
  local name=$1 t0=$SECONDS rc
  shift
  printf '\n==== %s: %s\n' "$name" "$*"
  "$@" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  if ((rc == 0)); then passed+=("$name"); else failed+=("$name"); fi
  printf '==== %s: %s in %d s (log: %s)\n' "$name" "$([[ $rc == 0 ]] && echo passed || echo FAILED)" \
    $((SECONDS - t0)) "tests/output/logs/$name.log"
  return "$rc"
}

./scripts/setup.sh || { echo "setup failed"; exit 1; }
mkdir -p "$logs"

if (($# == 0)); then
  scenarios=()
  for dir in molecule/*/; do
    [[ -f $dir/molecule.yml ]] && scenarios+=("$(basename "$dir")")
  done
  stage yamllint yamllint --strict .
  stage ansible-lint ansible-lint
  stage sanity ./scripts/sanity.sh
  stage unit python -m pytest tests/unit -q
else
  scenarios=("$@")
fi

stage lab-up lab up
for scenario in "${scenarios[@]}"; do
  stage "molecule-$scenario" molecule test -s "$scenario"
done
stage lab-down lab down

printf '\n==== %d suites in %d s\n' $((${#passed[@]} + ${#failed[@]})) $((SECONDS - start))
((${#failed[@]})) && printf 'failed: %s\n' "${failed[*]}"
# The plain closing line CI reads.
printf 'suites: %d passed, %d failed\n' "${#passed[@]}" "${#failed[@]}"
((${#failed[@]} == 0))
