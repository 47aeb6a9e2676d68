# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control-plane benchmark: converge a director's IPVS table of N services x R real servers.

Methods, each measured in the same run on the same lab host:
  module       lvs.cluster.ipvs_service with the whole table in one call (what the director role does),
               timed as the Ansible task (ssh, module transfer and run included) and as the whole playbook
  module-loop  the same module called once per service (a loop), only for the smallest table
  ipvsadm      one ipvsadm command per rule, as the usual recipes do (a re-run must flush and re-add)
  restore      one ipvsadm-restore of the whole table (the fastest command-line path; a re-run flushes)
Phases: first apply (empty table), unchanged re-run, one weight changed.
Each method's result is checked against ipvsadm -Sn: all methods must build the same table.

Run by bench/run; writes JSON samples to --out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import subprocess
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
HOST = 'bench1'
REMOTE_DIR = '/root/bench'
REAL_SERVERS = 10


def lab_home():
    return os.environ.get('LVS_LAB_HOME') or os.path.join(os.path.expanduser('~'), '.cache', 'lvs-cluster-lab')


def ssh(command, check=True):
    """Run a shell command on the bench host; returns its stdout."""
    proc = subprocess.run(['ssh', '-F', os.path.join(lab_home(), 'ssh_config'), HOST, command],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError('%s on %s failed (%d): %s' % (command, HOST, proc.returncode, proc.stderr.strip()))
    return proc.stdout


def timed_on_host(command):
    """Seconds the command takes on the host itself (no ssh in the measurement)."""
    out = ssh('s=$(date +%%s%%N); %s >/dev/null; e=$(date +%%s%%N); echo $(( (e - s) / 1000 ))' % command)
    return int(out.strip().splitlines()[-1]) / 1e6


def copy_to_host(path):
    subprocess.run(['scp', '-q', '-F', os.path.join(lab_home(), 'ssh_config'), path, '%s:%s/' % (HOST, REMOTE_DIR)], check=True)


def table(size, changed_weight=False):
    """The benchmark's table: size services (wrr), each with the same REAL_SERVERS DR real servers."""
    services = []
    for index in range(size):
        servers = [{'address': '10.251.0.%d' % (rs + 1), 'weight': 1} for rs in range(REAL_SERVERS)]
        if changed_weight and index == 0:
            servers[0]['weight'] = 2
        services.append({'address': '10.252.%d.%d' % (index // 250, index % 250 + 1), 'port': 80, 'scheduler': 'wrr',
                         'servers': servers, 'purge_servers': True})
    return services


def ipvsadm_lines(services):
    lines = []
    for svc in services:
        vip = '%s:%d' % (svc['address'], svc['port'])
        lines.append('-A -t %s -s %s' % (vip, svc['scheduler']))
        for server in svc['servers']:
            lines.append('-a -t %s -r %s:%d -g -w %d' % (vip, server['address'], svc['port'], server['weight']))
    return lines


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


class Bench(object):
    def __init__(self, workdir):
        self.workdir = workdir
        self.samples = []

    def record(self, size, method, phase, run, seconds, **extra):
        sample = dict(size=size, method=method, phase=phase, run=run, seconds=round(seconds, 3), **extra)
        self.samples.append(sample)
        print('  %-5d %-11s %-9s run %d: %8.2f s%s' % (size, method, phase, run, seconds,
                                                       ''.join(' %s=%s' % item for item in sorted(extra.items()))), flush=True)

    def playbook(self, name, table_file):
        """Run a bench playbook; return (task seconds, playbook seconds)."""
        times = os.path.join(self.workdir, 'times.jsonl')
        if os.path.exists(times):
            os.remove(times)
        env = dict(os.environ, LVS_BENCH_TIMES=times, ANSIBLE_CALLBACKS_ENABLED='bench_timer',
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, 'callback_plugins'),
                   ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
        start = time.time()
        proc = subprocess.run(['ansible-playbook', '-i', os.path.join(lab_home(), 'inventory.yml'),
                               os.path.join(BENCH, 'playbooks', name), '-e', 'bench_table=%s' % table_file],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env, check=False)
        wall = time.time() - start
        if proc.returncode != 0:
            raise RuntimeError('%s failed:\n%s' % (name, proc.stdout[-3000:]))
        with open(times) as handle:
            tasks = [json.loads(line) for line in handle]
        return sum(task['seconds'] for task in tasks), wall

    def check_table(self, expected, method):
        got = sorted(ssh('ipvsadm -Sn').splitlines())
        if got != sorted(expected):
            raise RuntimeError('%s built a different table: %d lines, expected %d' % (method, len(got), len(expected)))

    def run_size(self, size, runs, methods, ipvsadm_runs=1):
        base, changed = table(size), table(size, changed_weight=True)
        files = {}
        for label, services in (('base', base), ('changed', changed)):
            path = os.path.join(self.workdir, 'table-%d-%s.json' % (size, label))
            write(path, json.dumps({'bench_services': services}))
            files[label] = path
            lines = ipvsadm_lines(services)
            write(os.path.join(self.workdir, 'rules-%d-%s.sh' % (size, label)),
                  ''.join('ipvsadm %s\n' % line for line in lines))
            write(os.path.join(self.workdir, 'rules-%d-%s.restore' % (size, label)), '\n'.join(lines) + '\n')
            copy_to_host(os.path.join(self.workdir, 'rules-%d-%s.sh' % (size, label)))
            copy_to_host(os.path.join(self.workdir, 'rules-%d-%s.restore' % (size, label)))
        expected = {'base': ipvsadm_lines(base), 'changed': ipvsadm_lines(changed)}
        remote = '%s/rules-%d' % (REMOTE_DIR, size)
        first_vip, first_rs = '%s:80' % base[0]['address'], '%s:80' % base[0]['servers'][0]['address']
        for run in range(1, runs + 1):
            for method in methods:
                if method == 'ipvsadm' and run > ipvsadm_runs:
                    continue
                ssh('ipvsadm -C')
                if method in ('module', 'module-loop'):
                    name = 'table.yml' if method == 'module' else 'table_loop.yml'
                    for phase, label in (('first', 'base'), ('unchanged', 'base'), ('one-weight', 'changed')):
                        task, wall = self.playbook(name, files[label])
                        self.check_table(expected[label], method)
                        self.record(size, method, phase, run, task, playbook_seconds=round(wall, 3))
                elif method == 'ipvsadm':
                    self.record(size, method, 'first', run, timed_on_host('sh %s-base.sh' % remote))
                    self.check_table(expected['base'], method)
                    # a script of ipvsadm -A/-a cannot tell what is there already: a re-run flushes and re-adds
                    self.record(size, method, 'unchanged', run, timed_on_host('ipvsadm -C && sh %s-base.sh' % remote))
                    # the best case: an operator who knows what changed types one command
                    self.record(size, method, 'one-weight', run,
                                timed_on_host('ipvsadm -e -t %s -r %s -g -w 2' % (first_vip, first_rs)))
                    self.check_table(expected['changed'], method)
                elif method == 'restore':
                    self.record(size, method, 'first', run, timed_on_host('ipvsadm-restore < %s-base.restore' % remote))
                    self.check_table(expected['base'], method)
                    self.record(size, method, 'unchanged', run,
                                timed_on_host('ipvsadm -C && ipvsadm-restore < %s-base.restore' % remote))
                    self.record(size, method, 'one-weight', run,
                                timed_on_host('ipvsadm -C && ipvsadm-restore < %s-changed.restore' % remote))
                    self.check_table(expected['changed'], method)
        ssh('ipvsadm -C')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='10,100,1000', help='table sizes (services), comma-separated')
    parser.add_argument('--runs', type=int, default=3, help='runs per size (the largest size runs once)')
    parser.add_argument('--loop-max', type=int, default=10, help='largest table also measured with a loop per service')
    parser.add_argument('--ipvsadm-max', type=int, default=100, help='largest table also measured with ipvsadm per rule')
    parser.add_argument('--ipvsadm-runs', type=int, default=1, help='runs of ipvsadm per rule (a fork per rule is slow here)')
    parser.add_argument('--out', required=True, help='JSON file for the samples')
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(',')]
    ssh('mkdir -p %s' % REMOTE_DIR)
    bench = Bench(tempfile.mkdtemp(prefix='lvs-bench-'))
    kernel = ssh('uname -r').strip()
    for size in sizes:
        methods = ['module', 'restore']
        if size <= args.ipvsadm_max:
            methods.append('ipvsadm')
        if size <= args.loop_max:
            methods.append('module-loop')
        runs = 1 if size == max(sizes) and len(sizes) > 1 and size > 100 else args.runs
        print('table of %d services x %d real servers: %s, %d run(s)' % (size, REAL_SERVERS, ', '.join(methods), runs), flush=True)
        bench.run_size(size, runs, methods, args.ipvsadm_runs)
        # written after each size, so that an interrupted run keeps what it measured
        doc = {'benchmark': 'control_plane', 'real_servers_per_service': REAL_SERVERS, 'kernel': kernel,
               'when': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'samples': bench.samples}
        write(args.out, json.dumps(doc, indent=1) + '\n')
        print('samples written to %s' % args.out, flush=True)


if __name__ == '__main__':
    main()
