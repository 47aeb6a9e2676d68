#!/usr/bin/env bash
# Installs everything the collection's commands need on a fresh Debian 12 controller (run as root):
# the apt packages for the QEMU lab, the Python venv with the pinned requirements, the link that lets
# a checkout resolve lvs.cluster.* FQCNs, and the pyroute2 wheel the roles copy to targets.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '[setup] %s\n' "$*"; }
t0=$SECONDS

apt_packages=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client python3-venv rsync git)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing apt packages: ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  log "creating the Python venv in .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  log "installing the pinned Python requirements"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" >"$stamp"
fi

# A checkout resolves its own FQCNs through this link (ansible.cfg's collections_path points here).
mkdir -p .collections/ansible_collections/lvs
ln -sfn "$root" .collections/ansible_collections/lvs/cluster

# The lab CLI, on the venv's PATH.
ln -sfn "$root/lab/lab" .venv/bin/lab

# The pyroute2 wheel that roles copy to targets that have no internet access.
pyroute2_version=$(sed -n 's/^pyroute2==//p' requirements.txt)
mkdir -p .cache/wheels
if ! ls .cache/wheels/pyroute2-"$pyroute2_version"-*.whl >/dev/null 2>&1; then
  log "downloading the pyroute2 $pyroute2_version wheel for targets"
  .venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -d .cache/wheels "pyroute2==$pyroute2_version"
fi
log "ready in $((SECONDS - t0)) s"
