#!/usr/bin/env bash
# The main job on the built-in lab: set everything up, boot the lab guest, create the hosts of
# lab/topologies/dr-ha.yml and build the example estate inventories/ha on them with site.yml: two
# keepalived directors in front of three LVS-DR real servers serving a page that names the host.
# Then show requests from the client going round the real servers and the master's table.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
./scripts/setup.sh
# shellcheck source=scripts/ansible-env.sh
source scripts/ansible-env.sh  # the venv, the collection path, Mitogen (LVS_MITOGEN=0: stock Ansible)
lab up
lab create lab/topologies/dr-ha.yml
lab_inventory=${LVS_LAB_HOME:-$HOME/.cache/lvs-cluster-lab}/inventory.yml
inventory=(-i inventories/ha -i "$lab_inventory")

echo
echo "== The stand-in application on the real servers (a page naming the host)"
ansible-playbook "${inventory[@]}" playbooks/webapp.yml
echo
echo "== site.yml: the whole estate from inventories/ha"
start=$SECONDS
ansible-playbook "${inventory[@]}" site.yml
echo "site.yml converged in $((SECONDS - start)) s"

# keepalived's HTTP check puts each real server in the table once it answers (a few seconds).
for _ in $(seq 30); do
  [[ $(lab exec director1 -- ipvsadm -Ln | grep -c -- '-> 10\.20\.0\.1[123]:80') == 3 ]] && break
  sleep 1
done
echo
echo "== Six requests from the client to the VIP http://10.20.0.50/ (round robin over web1, web2, web3):"
lab exec client -- 'for i in 1 2 3 4 5 6; do curl -s --max-time 2 http://10.20.0.50/; done'
echo
echo "== Who holds the VIP:"
lab exec director1 -- ip -br addr show eth0
lab exec director2 -- ip -br addr show eth0
echo
echo "== The master's IPVS table (director1), with its counters:"
lab exec director1 -- ipvsadm -Ln --stats
cat <<EOT

Try a failover:
  lab exec director1 -- systemctl stop keepalived     # director2 takes the VIP within ~3 s
  lab exec client -- 'for i in 1 2 3; do curl -s http://10.20.0.50/; done'
  lab exec director2 -- ipvsadm -Ln --stats
  lab exec director1 -- systemctl start keepalived    # director1 takes it back (higher priority)
Scale: add web4 to lab/topologies/dr-ha.yml and inventories/ha/hosts.yml, run 'lab create
lab/topologies/dr-ha.yml' and this site.yml again; move a host to the group 'retired' to take it out.
  ansible-playbook ${inventory[*]} site.yml --check --diff   # what a change would do
Tear it all down:
  lab down                                            # stops the guest; nothing is left running
EOT
