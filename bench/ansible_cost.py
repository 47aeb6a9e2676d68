# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible cost benchmark: site.yml building the main job's estate with N real servers.

The estate is inventories/ha (two keepalived directors in front of LVS-DR real servers, its group_vars
as they are) with N = 2, 4, 8 real servers. Per run, every host is reset to a fresh lab host first (new
disk layer, empty kernel state), then site.yml runs twice: the first apply, then the unchanged re-run.
Measured: the playbook's wall time, and per host the tasks that ran and the module runs (a loop counts
each item), from the bench_timer callback. A director's module runs must not grow with N: the modules
take whole lists, so a regression to a loop per real server shows up here.

Stock Ansible, as users run it; --mitogen also measures each phase with the Mitogen strategy the test
harness uses (scripts/ansible-env.sh).

Run by bench/run; writes JSON samples to --out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import statistics
import tempfile

import _bench

ESTATE = os.path.join(_bench.ROOT, 'inventories', 'ha')
PHASES = ('first', 'unchanged')
# tasks that run on the controller only: no module runs on the host
CONTROLLER_ACTIONS = {'ansible.builtin.set_fact', 'set_fact', 'ansible.builtin.assert', 'assert', 'ansible.builtin.debug',
                      'debug', 'ansible.builtin.fail', 'fail', 'ansible.builtin.meta', 'meta', 'ansible.builtin.group_by',
                      'group_by', 'ansible.builtin.add_host', 'add_host', 'ansible.builtin.include_role',
                      'ansible.builtin.include_tasks', 'ansible.builtin.import_role', 'ansible.builtin.set_stats'}


def estate_inventory(workdir, count):
    """inventories/ha's hosts with COUNT real servers, beside inventories/ha's group_vars."""
    path = os.path.join(workdir, 'estate-%d' % count)
    os.makedirs(path, exist_ok=True)
    link = os.path.join(path, 'group_vars')
    if not os.path.islink(link):
        os.symlink(os.path.join(ESTATE, 'group_vars'), link)
    lines = ['directors:', '  hosts:', '    director1: {lvs_address: 10.20.0.2}', '    director2: {lvs_address: 10.20.0.3}',
             'realservers:', '  children:', '    webservers:', '      hosts:']
    lines += ['        web%d: {lvs_address: 10.20.0.%d}' % (i, 10 + i) for i in range(1, count + 1)]
    lines += ['retired:', '  hosts: {}']
    with open(os.path.join(path, 'hosts.yml'), 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    return path


def per_host(times_file):
    """{host: {'tasks': n, 'module_runs': n, 'changed': n}} from bench_timer's lines (skipped tasks left out)."""
    hosts = {}
    with open(times_file) as handle:
        for line in handle:
            task = json.loads(line)
            if task['status'] == 'skipped':
                continue
            counts = hosts.setdefault(task['host'], {'tasks': 0, 'module_runs': 0, 'changed': 0})
            counts['tasks'] += 1
            counts['changed'] += int(task['changed'])
            if task.get('action') not in CONTROLLER_ACTIONS:
                counts['module_runs'] += task['items'] if task.get('items') is not None else 1
    return hosts


def run_site(inventory_dir, workdir, extra_env):
    times = os.path.join(workdir, 'times.jsonl')
    if os.path.exists(times):
        os.remove(times)
    env = dict(extra_env, LVS_BENCH_TIMES=times, ANSIBLE_CALLBACKS_ENABLED='bench_timer',
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(_bench.BENCH, 'callback_plugins'))
    seconds, output = _bench.ansible_playbook(['-i', inventory_dir, '-i', _bench.inventory(),
                                               os.path.join(_bench.ROOT, 'playbooks', 'site.yml')], env=env)
    recap = [line for line in output.splitlines() if ' : ok=' in line]
    return seconds, per_host(times), recap


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='2,4,8', help='real-server counts, comma-separated (at most 8)')
    parser.add_argument('--runs', type=int, default=3, help='runs per size and method')
    parser.add_argument('--mitogen', action='store_true', help='also measure with the Mitogen strategy')
    parser.add_argument('--out', required=True, help='JSON file for the samples')
    args = parser.parse_args()
    counts = [int(size) for size in args.sizes.split(',')]
    methods = [('stock', {})] + ([('mitogen', _bench.mitogen_env(required=True))] if args.mitogen else [])
    workdir = tempfile.mkdtemp(prefix='lvs-bench-cost-')
    _bench.create_hosts('ansible_cost.yml')
    kernel = _bench.ssh('director1', 'uname -r').strip()
    all_hosts = ['director1', 'director2'] + ['web%d' % i for i in range(1, 9)]
    samples = []
    for count in counts:
        inventory_dir = estate_inventory(workdir, count)
        for run in range(1, args.runs + 1):
            for method, env in methods:
                _bench.lab('reset', *all_hosts)  # fresh hosts: the first apply installs and configures everything
                for phase in PHASES:
                    seconds, hosts, recap = run_site(inventory_dir, workdir, env)
                    sample = {'real_servers': count, 'method': method, 'phase': phase, 'run': run,
                              'seconds': round(seconds, 3), 'hosts': hosts, 'recap': recap}
                    samples.append(sample)
                    print('  %d real servers  %-7s %-9s run %d: %7.1f s  director1 %s  web1 %s'
                          % (count, method, phase, run, seconds, hosts.get('director1'), hosts.get('web1')), flush=True)
                    if phase == 'unchanged' and any(' changed=0 ' not in line for line in recap):
                        raise RuntimeError('the re-run changed something:\n%s' % '\n'.join(recap))
            # written as it goes, so that an interrupted run keeps what it measured
            _bench.write_json(args.out, {'benchmark': 'ansible_cost', 'kernel': kernel, 'samples': samples,
                                         'load': os.getloadavg()[0], 'estate': 'inventories/ha'})
    print('samples written to %s' % args.out)


def summary(doc):
    """Markdown lines of the summary."""
    samples = doc['samples']
    counts = sorted({s['real_servers'] for s in samples})
    methods = [m for m in ('stock', 'mitogen') if any(s['method'] == m for s in samples)]
    lines = ['## Ansible cost: site.yml for the main job\'s estate with N real servers', '',
             'inventories/ha (two keepalived directors, LVS-DR) with N real servers, every host fresh before the first',
             'apply. Seconds of the whole `ansible-playbook site.yml`, median (min-max) over the runs; tasks and module',
             'runs per host (a loop counts each item; skipped tasks and controller-only tasks left out of module',
             'runs). x = the time divided by the 2-real-server time of the same method and phase.']
    lines += _bench.conditions(doc)
    lines += ['| real servers | Ansible | first apply (s) | unchanged re-run (s) '
              '| director1 tasks / module runs (first, re-run) | web1 tasks / module runs (first, re-run) |',
              '|---:|---|---|---|---|---|']
    for method in methods:
        base = {phase: statistics.median([s['seconds'] for s in samples if s['method'] == method and s['phase'] == phase
                                          and s['real_servers'] == counts[0]]) for phase in PHASES}
        for count in counts:
            rows = [s for s in samples if s['method'] == method and s['real_servers'] == count]
            if not rows:
                continue
            cells = []
            for phase in PHASES:
                values = [s['seconds'] for s in rows if s['phase'] == phase]
                cell = _bench.spread(values, '%.1f')
                if count != counts[0]:
                    cell += ' (x%.2g)' % (statistics.median(values) / base[phase])
                cells.append(cell)
            for host in ('director1', 'web1'):
                first = [s['hosts'][host] for s in rows if s['phase'] == 'first'][0]
                again = [s['hosts'][host] for s in rows if s['phase'] == 'unchanged'][0]
                cells.append('%d / %d, %d / %d' % (first['tasks'], first['module_runs'], again['tasks'], again['module_runs']))
            lines.append('| %d | %s | %s |' % (count, method, ' | '.join(cells)))
    return lines


if __name__ == '__main__':
    main()
