#!/usr/bin/env bash
# Sets everything up and runs every test: lint, sanity and unit on every supported ansible-core, then
# every molecule scenario in the QEMU lab (one guest shared by the scenarios of one Debian release;
# hosts are recreated per scenario). Exits non-zero on any failure.
# Usage: scripts/test.sh [SCENARIO...]   (default: everything, every scenario under molecule/)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=$root/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$root/.collections
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0} PY_COLORS=${PY_COLORS:-0} NO_COLOR=${NO_COLOR:-1}
logs=$root/tests/output/logs
start=$SECONDS

# Suites named lab-* set the lab up or take it down: they fail the run when they fail, but they are not
# tests and the closing line does not count them.
stage() {  # stage NAME COMMAND...: run one suite, keep its log, record the verdict and the time
  local name=$1 t0=$SECONDS rc
  shift
  printf '\n==== %s: %s\n' "$name" "$*"
  # The whole output goes to the log; the terminal (and CI's record) gets the unit tests' own output
  # and, when a suite fails, the end of its log, so the closing line below is easy to find.
  if [[ $name == unit* || -n ${LVS_TEST_VERBOSE:-} ]]; then
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

skip() {  # skip NAME REASON: a suite that was planned and does not run (counted as skipped)
  printf '\n==== %s: skipped (%s)\n' "$1" "$2"
  echo "$2" >"$logs/$1.skipped"
}

# The Debian release a scenario's lab hosts run: `suite:` in its lab.yml (the lab's default: bookworm).
suite_of() {
  local suite
  suite=$(sed -n 's/^suite:[[:space:]]*\([a-z]*\).*/\1/p' "molecule/$1/lab.yml" 2>/dev/null | head -n 1)
  echo "${suite:-bookworm}"
}

# LVS_TEST_LANES=N runs the scenarios in N lanes at once, each lane with a lab guest of its own (its
# own LVS_LAB_HOME, sharing the image), balanced by each scenario's usual minutes (below).
# The default is two lanes: one guest leaves part of the 2-core machine idle (its load average stayed
# at 1.3-1.9), and one lane would not finish within CI's 90 minutes. The minutes are each scenario's
# time in the whole run (./.ci/run) of 2026-12-07 16:41 at 7b59336, rounded up: 4,816 s in all, its
# lanes 76 and 62 minutes, split longest first onto the least loaded lane.
declare -A minutes=([ha]=18 [estate]=25 [haproxy]=23 [nginx]=13 [nat]=11 [mariadb]=20 [dr]=8 [modules]=7 [tun]=7
  [installed]=12)
lab_base=${LVS_LAB_HOME:-$HOME/.cache/lvs-cluster-lab}

lane() {  # lane N SCENARIO...: boot lane N's guest, run the scenarios one after the other, stop the guest
  local n=$1 scenario suite running=''
  shift
  export LVS_LAB_HOME=$lab_base
  if ((n > 0)); then
    LVS_LAB_HOME=$lab_base-lane$n
    mkdir -p "$LVS_LAB_HOME"
    # the same key makes the same image, so the lane boots the image lane 0 built
    cp "$lab_base"/id_ed25519 "$lab_base"/id_ed25519.pub "$LVS_LAB_HOME"/
    ln -sfn "$lab_base/images" "$LVS_LAB_HOME/images"
  fi
  for scenario in "$@"; do
    suite=${suite_by[$scenario]}
    if [[ $suite != "$running" ]]; then
      # a guest of the scenario's Debian release (the lane's scenarios are grouped by release: one switch)
      if ! stage "lab-up-$n-$suite" lab up --suite "$suite"; then
        running=''
        skip "molecule-$scenario" "no $suite guest"
        continue
      fi
      running=$suite
    fi
    # every task's time per host, for bench/task_times.py (where the run's time went)
    LVS_BENCH_TIMES=$logs/molecule-$scenario.times.jsonl ANSIBLE_CALLBACKS_ENABLED=bench_timer \
      ANSIBLE_CALLBACK_PLUGINS=$root/bench/callback_plugins stage "molecule-$scenario" molecule test -s "$scenario"
  done
  stage "lab-down-$n" lab down
}

./scripts/setup.sh || { echo "setup failed"; exit 1; }
rm -rf "$logs" && mkdir -p "$logs"

# ansible-core on the main venv (the newest the controller's Python allows) and the others supported.
main_core=$(.venv/bin/python -c 'import ansible.release as r; print(".".join(r.__version__.split(".")[:2]))')
other_cores=()
for core in 2.21 2.20 2.19; do [[ $core == "$main_core" ]] || other_cores+=("$core"); done

static_suites() {  # lint, sanity and unit on every supported ansible-core
  stage yamllint yamllint --strict .
  stage ansible-lint ansible-lint
  stage "sanity-core$main_core" ./scripts/sanity.sh
  stage "unit-core$main_core" python -m pytest tests/unit
  # The other supported ansible-core versions: unit and sanity in small cached venvs (scripts/setup.sh
  # --core); a version the controller's Python cannot run is reported as skipped, and so are all of them
  # with LVS_TEST_OTHER_CORES=0 (a quicker local run; CI runs them). Each takes 1-1.5 min here idle.
  for core in "${other_cores[@]}"; do
    if [[ ${LVS_TEST_OTHER_CORES:-1} == 0 ]]; then
      skip "sanity-core$core" "LVS_TEST_OTHER_CORES=0"
      skip "unit-core$core" "LVS_TEST_OTHER_CORES=0"
    elif venv=$(./scripts/setup.sh --core "$core" 2>"$logs/setup-core$core.log" | tail -n 1) && [[ -n $venv ]]; then
      stage "sanity-core$core" env LVS_VENV="$venv" ./scripts/sanity.sh
      stage "unit-core$core" "$venv/bin/python" -m pytest tests/unit
    else
      reason=$(tail -n 1 "$logs/setup-core$core.log")
      skip "sanity-core$core" "$reason"
      skip "unit-core$core" "$reason"
    fi
  done
}

if (($# == 0)); then
  scenarios=()
  for dir in molecule/*/; do
    [[ -f $dir/molecule.yml ]] && scenarios+=("$(basename "$dir")")
  done
else
  scenarios=("$@")
fi
declare -A suite_by  # each scenario's Debian release, read once from its lab.yml
for scenario in "${scenarios[@]}"; do suite_by[$scenario]=$(suite_of "$scenario"); done

lanes=${LVS_TEST_LANES:-2}
((lanes < 1)) && lanes=1
((lanes > ${#scenarios[@]})) && lanes=${#scenarios[@]}
declare -a lane_list lane_load
for ((n = 0; n < lanes; n++)); do lane_list[n]='' lane_load[n]=0; done
# The scenarios of a release other than bookworm go to one lane together (one guest switch in the run,
# not one per lane); the rest are balanced, longest first, onto the least loaded lane.
declare -A suite_load suite_list
for scenario in "${scenarios[@]}"; do
  suite=${suite_by[$scenario]}
  [[ $suite == bookworm ]] && continue
  suite_load[$suite]=$((${suite_load[$suite]:-0} + ${minutes[$scenario]:-10}))
  suite_list[$suite]="${suite_list[$suite]:-} $scenario"
done
# The units to place, longest first: each bookworm scenario, and each other release's scenarios together.
declare -a unit_load unit_items
while read -r load items; do
  unit_load+=("$load")
  unit_items+=("$items")
done < <(
  {
    for scenario in "${scenarios[@]}"; do
      [[ ${suite_by[$scenario]} == bookworm ]] && echo "${minutes[$scenario]:-10} $scenario"
    done
    for suite in "${!suite_list[@]}"; do echo "${suite_load[$suite]}${suite_list[$suite]}"; done
  } | sort -rn
)
units=${#unit_load[@]}
if ((lanes == 2 && units <= 16)); then
  # Two lanes: the split whose longer lane is shortest, tried exhaustively (2^units splits, a few hundred):
  # with the minutes above, longest first onto the least loaded lane gives 74 and 70 minutes, this 72 and 72.
  best_mask=0 best_max=999999
  for ((mask = 0; mask < 1 << (units - 1); mask++)); do
    load0=0 load1=0
    for ((i = 0; i < units; i++)); do
      if (((mask >> i) & 1)); then ((load1 += unit_load[i])); else ((load0 += unit_load[i])); fi
    done
    longer=$((load0 > load1 ? load0 : load1))
    ((longer < best_max)) && best_max=$longer best_mask=$mask
  done
  for ((i = 0; i < units; i++)); do
    n=$(((best_mask >> i) & 1))
    lane_list[n]+=" ${unit_items[i]}"
    ((lane_load[n] += unit_load[i]))
  done
else
  for ((i = 0; i < units; i++)); do
    best=0
    for ((n = 1; n < lanes; n++)); do ((lane_load[n] < lane_load[best])) && best=$n; done
    lane_list[best]+=" ${unit_items[i]}"
    ((lane_load[best] += unit_load[i]))
  done
fi

lab_suites() {  # the images, then the lanes of scenarios
  # Mitogen for the scenarios (scripts/ansible-env.sh says why; LVS_MITOGEN=0 turns it off); this runs
  # in the background job only, so the static suites run stock Ansible
  # shellcheck source=scripts/ansible-env.sh
  source scripts/ansible-env.sh
  if ((${#scenarios[@]})); then
    # each Debian release the scenarios need, built once before the lanes share it
    mapfile -t suites < <(printf '%s\n' "${suite_by[@]}" | sort -u)
    images_ok=1
    for suite in "${suites[@]}"; do
      stage "lab-image-$suite" lab image --suite "$suite" || images_ok=0
    done
    if ((images_ok)); then
      for ((n = 0; n < lanes; n++)); do
        # grouped by Debian release (bookworm first), longest first within a release: one guest switch
        # shellcheck disable=SC2086  # the list is words
        ordered=$(for scenario in ${lane_list[n]}; do echo "${suite_by[$scenario]} $scenario"; done \
          | sort -s -k1,1 | cut -d' ' -f2 | tr '\n' ' ')
        printf '\n==== lane %d: %s\n' "$n" "$ordered"
        # shellcheck disable=SC2086
        lane "$n" $ordered &
      done
      wait
    else
      for scenario in "${scenarios[@]}"; do skip "molecule-$scenario" "no lab image"; done
    fi
  fi
}

# The scenarios start at once (image build, guests) and the static suites run meanwhile: a lane's
# guest leaves part of the 2-core machine idle while it boots and between Ansible's tasks. The static
# suites run at the lowest CPU priority, so that they take only that idle time: the scenarios time
# failovers and drains in the emulated guests, and a guest starved of CPU fails them (a haproxy
# failover run beside sanity saw requests time out before anything was stopped).
lab_suites &
lab_pid=$!
if (($# == 0)); then
  renice -n 19 -p "$BASHPID" >/dev/null
  static_suites
fi
wait "$lab_pid"

# Verdicts come from each suite's .rc file (the lanes ran in subshells); a planned scenario with
# neither a verdict nor a skip note never ran (its lane died): it counts as failed.
for scenario in "${scenarios[@]}"; do
  [[ -e $logs/molecule-$scenario.rc || -e $logs/molecule-$scenario.skipped ]] || echo 1 >"$logs/molecule-$scenario.rc"
done
passed=() failed=() setup_failed=() skipped=()
for rc_file in "$logs"/*.rc; do
  [[ -e $rc_file ]] || continue
  name=$(basename "$rc_file" .rc)
  if [[ $(cat "$rc_file") == 0 ]]; then
    [[ $name == lab-* ]] || passed+=("$name")
  elif [[ $name == lab-* ]]; then
    setup_failed+=("$name")
  else
    failed+=("$name")
  fi
done
for skip_file in "$logs"/*.skipped; do
  [[ -e $skip_file ]] && skipped+=("$(basename "$skip_file" .skipped)")
done

printf '\n==== %d suites in %d s\n' $((${#passed[@]} + ${#failed[@]})) $((SECONDS - start))
((${#failed[@]})) && printf 'failed: %s\n' "${failed[*]}"
# Why each failed, here at the end where a CI that keeps only the output's tail still shows it: a scenario's
# failed task (the lines before molecule's verdict), else the log's last lines.
for name in "${failed[@]}"; do
  log=$logs/$name.log
  [[ -e $log ]] || continue
  printf '\n---- %s, why it failed (%s):\n' "$name" "$log"
  verdict=$(grep -n -m 1 'CRITICAL Ansible return code' "$log" | cut -d: -f1)
  if [[ -n $verdict ]]; then
    head -n "$verdict" "$log" | tail -n 40
  else
    tail -n 20 "$log"
  fi | cut -c 1-300
done
((${#setup_failed[@]})) && printf 'lab set-up failed: %s\n' "${setup_failed[*]}"
((${#skipped[@]})) && printf 'skipped: %s\n' "${skipped[*]}"
# The plain closing line CI reads ('N passed, N failed, N skipped' alone on the last line). Each unit
# test counts as one test (on every ansible-core), and so does each other suite (a lint, a sanity run,
# a molecule scenario); a unit suite's own verdict is its tests'. Lab set-up steps are not tests.
tests_passed=0 tests_failed=0 tests_skipped=0
for name in "${passed[@]}" "${failed[@]}"; do
  if [[ $name == unit* ]]; then
    summary=$(grep -E '^=+ .*[0-9]+ (passed|failed|skipped)' "$logs/$name.log" | tail -n 1)
    unit_passed=0 unit_failed=0 unit_skipped=0
    [[ $summary =~ ([0-9]+)\ passed ]] && unit_passed=${BASH_REMATCH[1]}
    [[ $summary =~ ([0-9]+)\ failed ]] && unit_failed=${BASH_REMATCH[1]}
    [[ $summary =~ ([0-9]+)\ skipped ]] && unit_skipped=${BASH_REMATCH[1]}
    [[ $(cat "$logs/$name.rc") != 0 ]] && ((unit_failed == 0)) && unit_failed=1
    ((tests_passed += unit_passed, tests_failed += unit_failed, tests_skipped += unit_skipped))
  elif [[ " ${passed[*]} " == *" $name "* ]]; then
    ((tests_passed += 1))
  else
    ((tests_failed += 1))
  fi
done
((tests_skipped += ${#skipped[@]}))
printf '%d passed, %d failed, %d skipped\n' "$tests_passed" "$tests_failed" "$tests_skipped"
((${#failed[@]} == 0 && ${#setup_failed[@]} == 0))
