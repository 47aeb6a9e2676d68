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
  # The whole output goes to the log; the terminal (and CI's record) gets the unit tests' own output
  # and, when a suite fails, the end of its log, so the closing line below is easy to find.
  if [[ $name == unit || -n ${LVS_TEST_VERBOSE:-} ]]; then
    "$@" 2>&1 | tee "$logs/$name.log"
    rc=${PIPESTATUS[0]}
  else
    "$@" >"$logs/$name.log" 2>&1
    rc=$?
    ((rc == 0)) || tail -n 150 "$logs/$name.log"
  fi
  if ((rc == 0)); then passed+=("$name"); else failed+=("$name"); fi
  printf '==== %s: %s in %d s (log: %s)\n' "$name" "$([[ $rc == 0 ]] && echo passed || echo FAILED)" \
    $((SECONDS - t0)) "tests/output/logs/$name.log"
  return "$rc"
}

./scripts/setup.sh || { echo "setup failed"; exit 1; }
rm -rf "$logs" && mkdir -p "$logs"

if (($# == 0)); then
  scenarios=()
  for dir in molecule/*/; do
    [[ -f $dir/molecule.yml ]] && scenarios+=("$(basename "$dir")")
  done
  stage yamllint yamllint --strict .
  stage ansible-lint ansible-lint
  stage sanity ./scripts/sanity.sh
  stage unit python -m pytest tests/unit
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
# The plain closing line CI reads ('N passed, N failed' alone on the last line). Each unit test counts as one test, and so does each other suite
# (a lint, the sanity run, a molecule scenario); the unit suite's own verdict is its tests'.
unit_passed=0 unit_failed=0
if [[ -f $logs/unit.log ]] && summary=$(grep -E '^=+ .*[0-9]+ (passed|failed)' "$logs/unit.log" | tail -1); then
  [[ $summary =~ ([0-9]+)\ passed ]] && unit_passed=${BASH_REMATCH[1]}
  [[ $summary =~ ([0-9]+)\ failed ]] && unit_failed=${BASH_REMATCH[1]}
fi
others_passed=0 others_failed=0
for name in "${passed[@]}"; do [[ $name == unit ]] || ((others_passed += 1)); done
for name in "${failed[@]}"; do [[ $name == unit ]] || ((others_failed += 1)); done
if [[ " ${failed[*]} " == *" unit "* ]] && ((unit_failed == 0)); then unit_failed=1; fi
printf '%d passed, %d failed\n' $((unit_passed + others_passed)) $((unit_failed + others_failed))
((${#failed[@]} == 0))
