#!/usr/bin/env bash
# Installs everything the collection's commands need on a fresh Debian 12 or 13 controller (run as
# root): the apt packages for the QEMU lab, the Python venv with the pinned requirements, and the link
# that lets a checkout resolve lvs.cluster.* FQCNs. Idempotent: a second run only checks.
#
# The venv gets the newest ansible-core the controller's Python allows: 2.21 on Python 3.12 or newer
# (Debian 13's python3 is 3.13; a Debian 12 machine may have 3.12/3.13 under pyenv), else 2.19 (Debian
# 12's python3 is 3.11). PYTHON=/path/to/python chooses the interpreter; LVS_ANSIBLE_CORE=2.19|2.20|2.21
# the version (requirements-ansible-core-VERSION.txt).
#
# `scripts/setup.sh --core VERSION` instead makes (or checks) the small venv .cache/venvs/core-VERSION
# with that ansible-core and what the unit tests and ansible-test sanity need (requirements-test.txt),
# and prints its path: scripts/test.sh runs unit and sanity on every supported version with them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '[setup] %s\n' "$*" >&2; }
t0=$SECONDS
supported=(2.21 2.20 2.19)  # newest first

python_minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }

# The newest Python 3.12+ on this machine (PATH, then pyenv's versions), else python3. A pyenv shim of a
# version that is not active answers with an error, hence the check that it runs.
find_python() {
  local candidate minor best='' best_minor=0
  for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 \
    /opt/pyenv*/versions/3.1[2-9]*/bin/python3 python3; do
    minor=$(python_minor "$candidate") || continue
    [[ -n $minor ]] || continue
    if ((${minor#3.} > best_minor)); then best=$candidate best_minor=${minor#3.}; fi
  done
  [[ -n $best ]] || { log "no python3 found"; exit 1; }
  command -v "$best" || echo "$best"
}

# The newest supported ansible-core for a Python: 2.20 and later need 3.12 or newer.
core_for() {
  local minor=${1#3.}
  if ((minor >= 12)); then echo 2.21; else echo 2.19; fi
}

# make_venv DIR PYTHON REQUIREMENTS...: (re)make DIR with PYTHON unless it has the same interpreter and
# the same requirements already.
make_venv() {
  local dir=$1 python=$2 stamp want
  shift 2
  want=$( (python_minor "$python"; cat "$@") | sha256sum | cut -d' ' -f1)
  stamp=$dir/.requirements.sha256
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return 0
  if [[ -x $dir/bin/python && $(python_minor "$dir/bin/python") != $(python_minor "$python") ]]; then
    log "$dir has Python $(python_minor "$dir/bin/python"), not $(python_minor "$python"): making it anew"
    rm -rf "$dir"
  fi
  [[ -x $dir/bin/python ]] || { log "creating the venv $dir (Python $(python_minor "$python"))"; "$python" -m venv "$dir"; }
  log "installing $* into $dir"
  "$dir/bin/pip" install -q --disable-pip-version-check --upgrade pip
  local args=()
  for file in "$@"; do args+=(-r "$file"); done
  "$dir/bin/pip" install -q --disable-pip-version-check "${args[@]}"
  echo "$want" >"$stamp"
}

if [[ ${1:-} == --core ]]; then
  core=${2:?usage: setup.sh --core VERSION}
  [[ -f requirements-ansible-core-$core.txt ]] || { log "no requirements-ansible-core-$core.txt"; exit 2; }
  # 2.19 with the OS's own python3 (3.11 on Debian 12: the plain Debian 12 controller), the others with
  # the newest Python here
  python=${PYTHON:-$(find_python)}
  if [[ $core == 2.19 && -z ${PYTHON:-} && -x /usr/bin/python3 ]]; then python=/usr/bin/python3; fi
  minor=$(python_minor "$python")
  if [[ $core != 2.19 ]] && ((${minor#3.} < 12)); then
    log "ansible-core $core needs Python 3.12 or newer; this machine's newest is $minor"
    exit 3
  fi
  dir=$root/.cache/venvs/core-$core
  mkdir -p "$root/.cache/venvs"
  core_pin=$(mktemp)
  grep '^ansible-core==' "requirements-ansible-core-$core.txt" >"$core_pin"
  make_venv "$dir" "$python" "$core_pin" requirements-test.txt
  rm -f "$core_pin"
  echo "$dir"
  exit 0
fi

# ifupdown: the unit test of lo_vip's ifupdown persistence runs `ifup -a` in a namespace of its own
# (it skipped without it); its networking.service only brings up lo on a machine without interfaces.
apt_packages=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client python3-venv rsync git ifupdown)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing apt packages: ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-$(find_python)}
minor=$(python_minor "$python")
core=${LVS_ANSIBLE_CORE:-$(core_for "$minor")}
[[ " ${supported[*]} " == *" $core "* ]] || { log "LVS_ANSIBLE_CORE=$core is not one of ${supported[*]}"; exit 2; }
make_venv .venv "$python" "requirements-ansible-core-$core.txt" requirements-tools.txt requirements-test.txt
log "controller: Python $minor ($python), $(.venv/bin/ansible --version | head -n 1)"

# A checkout resolves its own FQCNs through this link (ansible.cfg's collections_path points here).
mkdir -p .collections/ansible_collections/lvs
ln -sfn "$root" .collections/ansible_collections/lvs/cluster

# The lab CLI, on the venv's PATH.
ln -sfn "$root/lab/lab" .venv/bin/lab
log "ready in $((SECONDS - t0)) s"
