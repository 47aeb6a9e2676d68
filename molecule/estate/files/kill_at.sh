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

# Every process under PID, whatever its session: Mitogen's multiplexer, forked by ansible-playbook, starts a
# session of its own, so killing the run's process group left it behind (two per estate run, found alive 48
# minutes after CI's run).
descendants() {
  local all=$1 level=$1 next
  while [[ -n $level ]]; do
    next=$(ps -eo pid=,ppid= | awk -v level=" $level " 'index(level, " " $2 " ") {printf "%s ", $1}')
    all+=" $next"
    level=$next
  done
  echo $all
}
for _ in $(seq 600); do
  if seen=$(bash -c "$probe" 2>/dev/null) && grep -Eq "$sign" <<<"$seen"; then
    tree=$(descendants $run)
    kill -KILL -- -$run
    # shellcheck disable=SC2086  # the list is words
    kill -KILL $tree 2>/dev/null
    sleep 1
    # zombies do not count: this machine's init does not reap the run's orphans at once
    if ps -eo pid=,pgid=,stat=,args= | awk -v g=$run -v tree=" $tree " '($2 == g || index(tree, " " $1 " ")) && $3 !~ /^Z/' | grep .; then
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
