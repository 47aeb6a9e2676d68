#!/usr/bin/env bash
# kill_at.sh LOG PROBE SIGN -- ANSIBLE-PLAYBOOK-ARGUMENTS...
# Runs ansible-playbook in a process group of its own (output in LOG) and kills the whole group with SIGKILL as
# soon as the output of PROBE (a bash command line, run every 0.5 s) matches the extended regex SIGN: the
# controller dies with the run half done. Prints the last play and task the killed run had begun. Fails if
# the point never came (5 minutes), the run had ended before it, or a process of the run outlived the kill.
set -o pipefail
log=$1 probe=$2 sign=$3
shift 4
setsid ansible-playbook "$@" >"$log" 2>&1 </dev/null &
run=$!
for _ in $(seq 600); do
  if seen=$(bash -c "$probe" 2>/dev/null) && grep -Eq "$sign" <<<"$seen"; then
    kill -KILL -- -$run
    sleep 1
    # zombies do not count: this machine's init does not reap the run's orphans at once
    if ps -eo pgid=,stat=,args= | awk -v g=$run '$1 == g && $2 !~ /^Z/' | grep .; then
      echo "processes of the run survive"
      exit 1
    fi
    if grep -q 'PLAY RECAP' "$log"; then
      echo "the run had ended before the kill"
      exit 1
    fi
    grep -E '^(PLAY|TASK) \[' "$log" | tail -n 2
    exit 0
  fi
  sleep 0.5
done
kill -KILL -- -$run
echo "never saw the kill point"
exit 1
