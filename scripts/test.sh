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
  echo "$rc" >"$logs/$name.rc"  # the verdict, read back at the end (lanes run in subshells)
  printf '==== %s: %s in %d s (log: %s)\n' "$name" "$([[ $rc == 0 ]] && echo passed || echo FAILED)" \
    $((SECONDS - t0)) "tests/output/logs/$name.log"
  return "$rc"
}

# LVS_TEST_LANES=N runs the scenarios in N lanes at once, each lane with a lab guest of its own (its
# own LVS_LAB_HOME, sharing the image), balanced by each scenario's usual minutes, longest first.
# The default is one lane: on 2 cores one emulated guest keeps the CPU busy most of the time, and a
# second one slows the first (timing bounds in the ha scenario), so two lanes are not known to be faster.
declare -A minutes=([ha]=10 [estate]=12 [haproxy]=12 [nginx]=9 [nat]=10 [mariadb]=8 [dr]=4 [modules]=4 [tun]=3 [smoke]=1)
lab_base=${LVS_LAB_HOME:-$HOME/.cache/lvs-cluster-lab}

lane() {  # lane N SCENARIO...: boot lane N's guest, run the scenarios one after the other, stop the guest
  local n=$1 scenario
  shift
  export LVS_LAB_HOME=$lab_base
  if ((n > 0)); then
    LVS_LAB_HOME=$lab_base-lane$n
    mkdir -p "$LVS_LAB_HOME"
    # the same key makes the same image, so the lane boots the image lane 0 built
    cp "$lab_base"/id_ed25519 "$lab_base"/id_ed25519.pub "$LVS_LAB_HOME"/
    ln -sfn "$lab_base/images" "$LVS_LAB_HOME/images"
  fi
  stage "lab-up-$n" lab up || return
  for scenario in "$@"; do
    stage "molecule-$scenario" molecule test -s "$scenario"
  done
  stage "lab-down-$n" lab down
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

# Mitogen for the scenarios (scripts/ansible-env.sh says why; LVS_MITOGEN=0 turns it off).
# shellcheck source=scripts/ansible-env.sh
source scripts/ansible-env.sh

lanes=${LVS_TEST_LANES:-1}
((lanes < 1)) && lanes=1
((lanes > ${#scenarios[@]})) && lanes=${#scenarios[@]}
declare -a lane_list lane_load
for ((n = 0; n < lanes; n++)); do lane_list[n]='' lane_load[n]=0; done
while read -r _ scenario; do
  best=0
  for ((n = 1; n < lanes; n++)); do ((lane_load[n] < lane_load[best])) && best=$n; done
  lane_list[best]+=" $scenario"
  ((lane_load[best] += ${minutes[$scenario]:-10}))
done < <(for scenario in "${scenarios[@]}"; do echo "${minutes[$scenario]:-10} $scenario"; done | sort -rn)

if ((${#scenarios[@]})); then
  stage lab-image lab image  # built once, before the lanes share it
  for ((n = 0; n < lanes; n++)); do
    printf '\n==== lane %d:%s\n' "$n" "${lane_list[n]}"
    # shellcheck disable=SC2086  # the list is words
    lane "$n" ${lane_list[n]} &
  done
  wait
fi

# Verdicts come from each suite's .rc file (the lanes ran in subshells).
passed=() failed=()
for rc_file in "$logs"/*.rc; do
  [[ -e $rc_file ]] || continue
  name=$(basename "$rc_file" .rc)
  if [[ $(cat "$rc_file") == 0 ]]; then passed+=("$name"); else failed+=("$name"); fi
done

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
