# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every benchmark in bench/ shares: the lab (its hosts, ssh to them, Ansible runs), JSON samples
and the median/spread text of the summary. Each benchmark is bench/NAME.py with a main() that measures
and writes its JSON (key 'benchmark': NAME), and a summary(doc) that returns its Markdown lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import statistics
import subprocess
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)


def lab_home():
    return os.environ.get('LVS_LAB_HOME') or os.path.join(os.path.expanduser('~'), '.cache', 'lvs-cluster-lab')


def inventory():
    return os.path.join(lab_home(), 'inventory.yml')


def lab(*args):
    """Run the lab CLI (lab create FILE, lab stop HOST, ...); raises when it fails."""
    subprocess.run(['lab'] + list(args), check=True, stdout=subprocess.DEVNULL)


def create_hosts(topology):
    """Replace the lab's hosts by the topology's (a file under bench/labs/) and write the inventory."""
    lab('destroy')
    lab('create', os.path.join(BENCH, 'labs', topology))
    lab('inventory', '-o', inventory())


def ssh(host, command, check=True):
    """Run a shell command on a lab host; returns its stdout."""
    proc = subprocess.run(['ssh', '-F', os.path.join(lab_home(), 'ssh_config'), host, command],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError('%s on %s failed (%d): %s' % (command, host, proc.returncode, proc.stderr.strip()))
    return proc.stdout


def scp_to(host, path, remote_dir):
    subprocess.run(['scp', '-q', '-F', os.path.join(lab_home(), 'ssh_config'), path, '%s:%s/' % (host, remote_dir)],
                   check=True)


def ansible_playbook(args, env=None, check=True):
    """Run ansible-playbook with the checkout's config; returns (seconds, output)."""
    run_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    run_env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(ROOT, '.collections'))
    run_env.update(env or {})
    start = time.time()
    proc = subprocess.run(['ansible-playbook'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=run_env, cwd=ROOT, check=False)
    seconds = time.time() - start
    if check and proc.returncode != 0:
        raise RuntimeError('ansible-playbook %s failed:\n%s' % (' '.join(args), proc.stdout[-4000:]))
    return seconds, proc.stdout


def mitogen_env(required=False):
    """The environment that runs a playbook with Mitogen (as scripts/ansible-env.sh does for the tests), for
    setup runs whose speed is not what a benchmark measures: {} when it is not installed or LVS_MITOGEN=0,
    unless REQUIRED (a benchmark that measures Mitogen itself)."""
    if not required and os.environ.get('LVS_MITOGEN', '1') == '0':
        return {}
    try:
        import ansible_mitogen
    except ImportError:
        if required:
            raise
        return {}
    return {'ANSIBLE_STRATEGY': 'mitogen_linear',
            'ANSIBLE_STRATEGY_PLUGINS': os.path.join(os.path.dirname(ansible_mitogen.__file__), 'plugins', 'strategy')}


def write_json(path, doc):
    doc.setdefault('when', time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
    with open(path, 'w') as handle:
        handle.write(json.dumps(doc, indent=1) + '\n')


def spread(values, fmt='%.2f'):
    """'median (min-max)' of a list of numbers."""
    med = statistics.median(values)
    if len(values) == 1:
        return fmt % med
    return (fmt + ' (' + fmt + '-' + fmt + ')') % (med, min(values), max(values))


def conditions(doc, software=''):
    """The summary lines that say what a benchmark ran on: kernel (and SOFTWARE), when, the machine's
    load at the end, and any conditions noted in the JSON by hand."""
    lines = ['Kernel %s%s; %s; load average of the machine at the end %.1f.'
             % (doc['kernel'], ', ' + software if software else '', doc['when'], doc.get('load', 0)), '']
    if doc.get('conditions'):
        lines += ['Conditions: %s' % doc['conditions'], '']
    return lines
