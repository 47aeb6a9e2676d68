#!/usr/bin/env bash
# Profiles the read of a big IPVS table by the collection's module_utils, on a lab host (not a benchmark:
# cProfile's own cost inflates the times). Usage: bench/profile/run.sh [SERVICES] [PROFILED]
# (defaults 1000 services of 10 real servers, the first 200 profiled). Needs the lab up (lab up) and
# free of hosts; leaves the host bench1 behind (lab destroy).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
services=${1:-1000} profiled=${2:-200}
export PATH=$root/.venv/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$root/.collections ANSIBLE_CONFIG=$root/ansible.cfg
home=${LVS_LAB_HOME:-$HOME/.cache/lvs-cluster-lab}
lab create bench/labs/control_plane.yml
lab inventory -o "$home/inventory.yml"
ansible-playbook -i "$home/inventory.yml" bench/playbooks/prepare.yml >/dev/null
ssh_bench() { ssh -F "$home/ssh_config" bench1 "$@"; }
python -c "
import sys; sys.path.insert(0, 'bench')
import control_plane
print('\n'.join(control_plane.ipvsadm_lines(control_plane.table($services))))" | ssh_bench 'ipvsadm -C && ipvsadm-restore'
ssh_bench 'rm -rf /root/profile && mkdir -p /root/profile/ansible_collections/lvs/cluster'
tar -cf - plugins/module_utils bench/profile/ipvs_read.py | ssh_bench 'tar -C /root/profile/ansible_collections/lvs/cluster -xf -'
ssh_bench "python3 /root/profile/ansible_collections/lvs/cluster/bench/profile/ipvs_read.py /root/profile $profiled"
