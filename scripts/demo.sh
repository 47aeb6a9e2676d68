#!/usr/bin/env bash
# The main job on the built-in lab: set everything up, boot the lab guest, create the example estate's
# hosts and show them. (Later stages of the collection build the LVS estate on them with site.yml.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
./scripts/setup.sh
export PATH=$root/.venv/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$root/.collections
lab up
lab create lab/topologies/dr-ha.yml
lab status
inventory=${LVS_LAB_HOME:-$HOME/.cache/lvs-cluster-lab}/inventory.yml
echo
echo "Every host answers Ansible:"
ansible -i "$inventory" all -m ansible.builtin.ping
cat <<EOT

Try it:
  lab ssh director1                      # a shell on a lab host
  lab exec web1 -- ip -br addr           # one command on a host
  ansible -i $inventory all -m ansible.builtin.setup -a filter=ansible_kernel
  lab down                               # stop the guest; nothing is left running
EOT
