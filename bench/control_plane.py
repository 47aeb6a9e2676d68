# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Control-plane benchmark: converge a director's IPVS table of N services x R real servers.

Methods, each measured in the same run on the same lab host:
  module       lvs.cluster.ipvs_service with the whole table in one call (what the director role does),
               timed as the Ansible task (ssh, module transfer and run included) and as the whole playbook
  module-host  the same module run on the host itself without Ansible (python3 -m, arguments from a file): what is
               netlink and the module's own work, without ssh, AnsiballZ and the controller
  module-loop  the same module called once per service (a loop), only for the smallest table
  ansible-restore  what an Ansible user writes without this collection: a template task writing the rules
               file and a task running ipvsadm-restore when it changed (after flushing), timed as the two tasks
  ipvsadm      one ipvsadm command per rule, as the usual recipes do (a re-run must flush and re-add)
  restore      one ipvsadm-restore of the whole table (the fastest command-line path; a re-run flushes)
  keepalived   keepalived's own virtual_server blocks (no health checks): first apply = start, then
               reloads; timed on the host from the start/reload command to the journal entry in which
               keepalived says its startup or reload is complete (its checker has programmed IPVS)
Phases: first apply (empty table), unchanged re-run, one weight changed.
Each method's result is checked against ipvsadm -Sn: all methods must build the same table.

Run by bench/run; writes JSON samples to --out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import _bench

BENCH = _bench.BENCH
HOST = 'bench1'
REMOTE_DIR = '/root/bench'
REAL_SERVERS = 10


def ssh(command, check=True):
    return _bench.ssh(HOST, command, check)


def timed_on_host(command):
    """Seconds the command takes on the host itself (no ssh in the measurement)."""
    out = ssh('s=$(date +%%s%%N); %s >/dev/null; e=$(date +%%s%%N); echo $(( (e - s) / 1000 ))' % command)
    return int(out.strip().splitlines()[-1]) / 1e6


def copy_to_host(path):
    _bench.scp_to(HOST, path, REMOTE_DIR)


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


def keepalived_conf(services):
    """The same table as keepalived virtual_server blocks (no checker: keepalived adds every real server)."""
    blocks = ['global_defs {\n    router_id bench1\n}\n']
    for svc in services:
        block = ['virtual_server %s %d {' % (svc['address'], svc['port']), '    lb_algo %s' % svc['scheduler'],
                 '    lb_kind DR', '    protocol TCP']
        for server in svc['servers']:
            block += ['    real_server %s %d {' % (server['address'], svc['port']),
                      '        weight %d' % server['weight'], '    }']
        blocks.append('\n'.join(block + ['}']) + '\n')
    return '\n'.join(blocks)


# Runs on the bench host: ACTION, then waits for keepalived's parent to log "Startup complete" or "Reload complete"
# (logged once every child has read the configuration, the checker after programming IPVS) and prints the
# microseconds from the command to that journal entry's own timestamp. Then checks the table is the one wanted.
KEEPALIVED_TIMER = r'''#!/bin/bash
# usage: ka-timer.sh start|reload CONF LINES WEIGHT2   (LINES: ipvsadm -Sn lines wanted; WEIGHT2: lines with -w 2)
set -u
action=$1 conf=$2 lines=$3 weight2=$4
cp "$conf" /etc/keepalived/keepalived.conf
word=Reload; [[ $action == start ]] && word=Startup
s=$(date +%s%N)
systemctl "$action" keepalived
deadline=$(( $(date +%s) + 600 ))
while (( $(date +%s) < deadline )); do
  # short-unix: "SECONDS.MICROS host ident[pid]: message"; only entries from this command on count
  e=$(journalctl -q -u keepalived --since "@$(( s / 1000000000 ))" -o short-unix \
      | awk -v s="$s" -v word="$word complete" '$1 * 1e9 >= s - 1e6 && index($0, word) { print $1; exit }')
  if [[ -n $e ]]; then
    table=$(ipvsadm -Sn)
    if [[ $(grep -c . <<<"$table") != "$lines" || $(grep -c -- ' -w 2$' <<<"$table") != "$weight2" ]]; then
      echo "keepalived logged '$word complete' but the table is not $lines lines with $weight2 of weight 2" >&2; exit 1
    fi
    awk -v e="$e" -v s="$s" 'BEGIN { printf "%d\n", e * 1e6 - s / 1e3 }'; exit 0
  fi
  sleep 0.1
done
echo "in 600 s keepalived never logged '$word complete'" >&2; exit 1
'''


def module_tree(workdir):
    """A tarball of what the module needs to run on the host without Ansible: ansible.module_utils (the part
    AnsiballZ ships) and the collection's modules and module_utils, under one directory for PYTHONPATH."""
    import ansible.module_utils
    tree = os.path.join(workdir, 'modrun')
    subprocess.run(['mkdir', '-p', os.path.join(tree, 'ansible'), os.path.join(tree, 'ansible_collections', 'lvs', 'cluster', 'plugins')],
                   check=True)
    write(os.path.join(tree, 'ansible', '__init__.py'), '')
    subprocess.run(['cp', '-r', os.path.dirname(ansible.module_utils.__file__), os.path.join(tree, 'ansible')], check=True)
    for part in ('modules', 'module_utils'):
        subprocess.run(['cp', '-r', os.path.join(_bench.ROOT, 'plugins', part),
                        os.path.join(tree, 'ansible_collections', 'lvs', 'cluster', 'plugins')], check=True)
    archive = os.path.join(workdir, 'modrun.tar')
    subprocess.run(['tar', '-C', tree, '--exclude=__pycache__', '-cf', archive, '.'], check=True)
    return archive


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
                   ANSIBLE_CONFIG=os.path.join(_bench.ROOT, 'ansible.cfg'))
        start = time.time()
        proc = subprocess.run(['ansible-playbook', '-i', _bench.inventory(),
                               os.path.join(BENCH, 'playbooks', name), '-e', 'bench_table=%s' % table_file],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env, check=False)
        wall = time.time() - start
        if proc.returncode != 0:
            raise RuntimeError('%s failed:\n%s' % (name, proc.stdout[-3000:]))
        with open(times) as handle:
            tasks = [json.loads(line) for line in handle]
        return sum(task['seconds'] for task in tasks if task['status'] != 'skipped'), wall

    def check_table(self, expected, method):
        got = sorted(ssh('ipvsadm -Sn').splitlines())
        if got != sorted(expected):
            raise RuntimeError('%s built a different table: %d lines, expected %d' % (method, len(got), len(expected)))

    def run_size(self, size, runs, methods, ipvsadm_runs=1, after_run=None):
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
            write(os.path.join(self.workdir, 'keepalived-%d-%s.conf' % (size, label)), keepalived_conf(services))
            write(os.path.join(self.workdir, 'args-%d-%s.json' % (size, label)),
                  json.dumps({'ANSIBLE_MODULE_ARGS': {'services': services}}))
            for kind in ('rules-%d-%s.sh', 'rules-%d-%s.restore', 'keepalived-%d-%s.conf', 'args-%d-%s.json'):
                copy_to_host(os.path.join(self.workdir, kind % (size, label)))
        expected = {'base': ipvsadm_lines(base), 'changed': ipvsadm_lines(changed)}
        remote = '%s/rules-%d' % (REMOTE_DIR, size)
        first_vip, first_rs = '%s:80' % base[0]['address'], '%s:80' % base[0]['servers'][0]['address']
        for run in range(1, runs + 1):
            for method in methods:
                if method == 'ipvsadm' and run > ipvsadm_runs:
                    continue
                ssh('ipvsadm -C; rm -f /etc/ipvsadm.rules')
                if method in ('module', 'module-loop', 'ansible-restore'):
                    name = {'module': 'table.yml', 'module-loop': 'table_loop.yml', 'ansible-restore': 'table_restore.yml'}[method]
                    for phase, label in (('first', 'base'), ('unchanged', 'base'), ('one-weight', 'changed')):
                        task, wall = self.playbook(name, files[label])
                        self.check_table(expected[label], method)
                        self.record(size, method, phase, run, task, playbook_seconds=round(wall, 3))
                elif method == 'module-host':
                    run_module = ('PYTHONPATH=%s/modrun python3 -m ansible_collections.lvs.cluster.plugins.modules.ipvs_service %s/args-%d-'
                                  % (REMOTE_DIR, REMOTE_DIR, size))
                    for phase, label in (('first', 'base'), ('unchanged', 'base'), ('one-weight', 'changed')):
                        self.record(size, method, phase, run, timed_on_host(run_module + label + '.json'))
                        self.check_table(expected[label], method)
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
                elif method == 'keepalived':
                    lines = len(expected['base'])
                    for phase, action, label, weight2 in (('first', 'start', 'base', 0), ('unchanged', 'reload', 'base', 0),
                                                          ('one-weight', 'reload', 'changed', 1)):
                        out = ssh('bash %s/ka-timer.sh %s %s/keepalived-%d-%s.conf %d %d'
                                  % (REMOTE_DIR, action, REMOTE_DIR, size, label, lines, weight2))
                        self.record(size, method, phase, run, int(out.strip().splitlines()[-1]) / 1e6)
                    self.check_table(expected['changed'], method)
                    ssh('systemctl stop keepalived')
            if after_run:
                after_run()  # written after each run, so that an interrupted benchmark keeps what it measured
        ssh('ipvsadm -C')


PHASES = ('first', 'unchanged', 'one-weight')
METHOD_TEXT = {
    'module': 'lvs.cluster.ipvs_service, whole table in one call',
    'module-host': 'the same module run on the host without Ansible',
    'module-loop': 'lvs.cluster.ipvs_service, one call per service (loop)',
    'ansible-restore': 'Ansible: template the rules file, ipvsadm-restore when it changed',
    'ipvsadm': 'ipvsadm, one command per rule',
    'restore': 'ipvsadm-restore of the whole table',
    'keepalived': 'keepalived virtual_server blocks (start, then reload)',
}


def summary(doc):
    """Markdown lines of the summary."""
    spread = _bench.spread
    samples = doc['samples']
    sizes = sorted({s['size'] for s in samples})
    lines = ['## Control plane: converging a table of N services x %d real servers' % doc['real_servers_per_service'], '',
             'Seconds, median (min-max) over the runs; x = the time divided by ipvsadm-restore\'s in the same phase and run',
             '(the issue\'s targets for the module as an Ansible task: first apply <= x1.5, unchanged <= x1.0, one weight <= x0.5).',
             'The module is timed as the Ansible task (ssh, transfer and run of the module included), and run on the host',
             'without Ansible (`python3 -m` with its arguments in a file: netlink and the module\'s own work, Python start-up',
             'included); "Ansible: template ..., ipvsadm-restore" as its two tasks; ipvsadm and ipvsadm-restore on the host',
             'itself, without any ssh.']
    if any(s['method'] == 'keepalived' for s in samples):
        lines += ['keepalived is timed on the host from its start or reload command to the timestamp of its own',
                  '"Startup complete" or "Reload complete" journal entry (logged once its checker has programmed IPVS).']
    lines += ['A re-run of ipvsadm commands or of a restore file has to flush the table first (it cannot tell what is',
              'there); the one-weight change by ipvsadm is the best case of an operator typing the one command needed.']
    lines += _bench.conditions(doc)
    lines += ['| services | method | runs | first apply | unchanged re-run | one weight changed |',
              '|---:|---|---:|---|---|---|']
    for size in sizes:
        at_size = [s for s in samples if s['size'] == size]
        restore = {phase: statistics.median([s['seconds'] for s in at_size if s['method'] == 'restore' and s['phase'] == phase] or [0])
                   for phase in PHASES}
        for method in ('module', 'module-host', 'module-loop', 'ansible-restore', 'ipvsadm', 'restore', 'keepalived'):
            rows = [s for s in at_size if s['method'] == method]
            if not rows:
                continue
            cells = []
            for phase in PHASES:
                values = [s['seconds'] for s in rows if s['phase'] == phase]
                if not values:
                    cells.append('-')
                    continue
                cell = spread(values)
                if method != 'restore' and restore[phase]:
                    cell += ' (x%.2g)' % (statistics.median(values) / restore[phase])
                cells.append(cell)
            runs = len({s['run'] for s in rows})
            lines.append('| %d | %s | %d | %s |' % (size, METHOD_TEXT[method], runs, ' | '.join(cells)))
    if doc.get('previous'):
        lines += ['', doc['previous']['title'], '', '| services | method | first apply | unchanged re-run | one weight changed |',
                  '|---:|---|---|---|---|']
        for row in doc['previous']['rows']:
            lines.append('| %d | %s | %s |' % (row['size'], row['method'], ' | '.join('%.2f' % value for value in row['seconds'])))
    module_walls = [s for s in samples if s['method'] == 'module' and 'playbook_seconds' in s]
    if module_walls:
        lines += ['', 'The whole `ansible-playbook` run around the module (controller start-up included), median seconds:', '',
                  '| services | first apply | unchanged re-run | one weight changed |', '|---:|---|---|---|']
        for size in sizes:
            cells = [spread([s['playbook_seconds'] for s in module_walls if s['size'] == size and s['phase'] == phase] or [0])
                     for phase in PHASES]
            lines.append('| %d | %s |' % (size, ' | '.join(cells)))
    return lines


def save(bench, out, kernel, previous):
    doc = {'benchmark': 'control_plane', 'real_servers_per_service': REAL_SERVERS, 'kernel': kernel,
           'samples': bench.samples, 'load': os.getloadavg()[0]}
    if previous:
        doc['previous'] = previous
    _bench.write_json(out, doc)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='10,100,1000', help='table sizes (services), comma-separated')
    parser.add_argument('--runs', type=int, default=3, help='runs per size (sizes above --single-above run once)')
    parser.add_argument('--single-above', type=int, default=1000, help='tables larger than this are measured once')
    parser.add_argument('--loop-max', type=int, default=10, help='largest table also measured with a loop per service')
    parser.add_argument('--ipvsadm-max', type=int, default=100, help='largest table also measured with ipvsadm per rule')
    parser.add_argument('--ipvsadm-runs', type=int, default=1, help='runs of ipvsadm per rule (a fork per rule is slow here)')
    parser.add_argument('--no-keepalived', dest='keepalived', action='store_false',
                        help="leave out keepalived's virtual_server blocks")
    parser.add_argument('--out', required=True, help='JSON file for the samples')
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(',')]
    previous = None
    if os.path.exists(args.out):
        # figures of an earlier version kept by hand in the JSON ('previous'), carried over to the new samples
        with open(args.out) as handle:
            previous = json.load(handle).get('previous')
    _bench.create_hosts('control_plane.yml')
    _bench.ansible_playbook(['-i', _bench.inventory(), os.path.join(BENCH, 'playbooks', 'prepare.yml')])
    ssh('mkdir -p %s' % REMOTE_DIR)
    bench = Bench(tempfile.mkdtemp(prefix='lvs-bench-'))
    write(os.path.join(bench.workdir, 'ka-timer.sh'), KEEPALIVED_TIMER)
    copy_to_host(os.path.join(bench.workdir, 'ka-timer.sh'))
    copy_to_host(module_tree(bench.workdir))
    ssh('mkdir -p %s/modrun && tar -C %s/modrun -xf %s/modrun.tar' % (REMOTE_DIR, REMOTE_DIR, REMOTE_DIR))
    kernel = ssh('uname -r').strip()
    for size in sizes:
        methods = ['module', 'module-host', 'ansible-restore', 'restore'] + (['keepalived'] if args.keepalived else [])
        if size <= args.ipvsadm_max:
            methods.append('ipvsadm')
        if size <= args.loop_max:
            methods.append('module-loop')
        runs = 1 if size > args.single_above else args.runs
        print('table of %d services x %d real servers: %s, %d run(s)' % (size, REAL_SERVERS, ', '.join(methods), runs), flush=True)
        bench.run_size(size, runs, methods, args.ipvsadm_runs, after_run=lambda: save(bench, args.out, kernel, previous))
        print('samples written to %s' % args.out, flush=True)


if __name__ == '__main__':
    main()
