# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning at scale, on the controller only (no lab): an estate of 100 services over 10, 100 and 1,000
real servers (a generated inventory; the hosts need not exist), planned two ways.

- ``filters``: the filters site.yml uses, called in-process the way its plays call them: the estate
  expanded once, then every role's plan for every host it applies to (two keepalived directors, every
  real server), twice, as site.yml works each plan out twice (its planning play, then the role). CPU
  time of this process (time.process_time). Host variables are plain dicts here (Ansible's HostVars
  templates them on access, which this does not count).
- ``site_yml``: ansible-playbook site.yml on the generated inventory with a tag no task has, so only its
  first two plays run (tags: always): the estate expanded once and every role's plan for every host,
  none of which connects to a host. CPU time (user + sys) of ansible-playbook and its workers.

Usage: python bench/planning.py [--sizes 10,100,1000] [--services 100] [--runs 3] [--no-site-yml]
       [--out bench/results/planning.json]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(ROOT, '.collections'))

import _bench  # noqa: E402  (bench/ is not a package)


def estate_vars(n_services):
    """The group_vars of a generated estate: n_services DR services owned by keepalived on one VRRP pair."""
    services = []
    for index in range(n_services):
        services.append({'name': 'svc%d' % index, 'address': '198.18.%d.%d' % (index // 250, index % 250 + 1),
                         'port': 80, 'mode': 'dr', 'scheduler': 'wrr', 'owner': 'keepalived',
                         'realservers': 'realservers', 'drain_timeout': 10,
                         'health_check': {'type': 'http', 'path': '/', 'interval': 2, 'timeout': 2}})
    return {
        'lvs_virtual_services': services,
        'director_manage_vips': False,
        'keepalived_vrrp_instances': [{
            'name': 'VI_ALL', 'virtual_router_id': 20, 'advert_int': 1,
            'vips': [{'address': svc['address']} for svc in services],
            'services': [svc['name'] for svc in services]}],
    }


def inventory(n_services, n_realservers):
    hosts = {'realservers': {'web%d' % i: {'ansible_host': '10.%d.%d.%d' % (64 + i // 65025, i // 255 % 255, i % 255 + 1)}
                             for i in range(n_realservers)},
             'directors': {'lb1': {'ansible_host': '10.63.0.2'}, 'lb2': {'ansible_host': '10.63.0.3'}}}
    return {'all': {'vars': estate_vars(n_services),
                    'children': {group: {'hosts': members} for group, members in hosts.items()}}}


def plan_with_filters(inv):
    """What site.yml's planning plays compute, through the same filters, in this process."""
    from ansible_collections.lvs.cluster.plugins.filter import estate as estate_filters
    from ansible_collections.lvs.cluster.plugins.filter import keepalived as keepalived_filters
    variables = inv['all']['vars']
    groups = {group: list(spec['hosts']) for group, spec in inv['all']['children'].items()}
    hostvars = {}
    for spec in inv['all']['children'].values():
        for host, hvars in spec['hosts'].items():
            hostvars[host] = dict(variables, **hvars)
    groups['all'] = [host for members in groups.values() for host in members]
    started = time.process_time()
    estate = estate_filters.virtual_services(variables['lvs_virtual_services'], hostvars, groups)
    settings = {'instances': variables['keepalived_vrrp_instances'], 'scripts': [], 'sync_groups': [],
                'sync_daemon': {}, 'defaults': {'interface': 'eth0', 'advert_int': 1, 'version': 2,
                                                'peers_group': 'directors'}}
    for _pass in ('planning play', 'role'):
        for director in groups['directors']:
            estate_filters.director_plan(estate, {})
            keepalived_filters.keepalived_plan(estate, settings, hostvars, groups, director)
        for host in groups['realservers']:
            estate_filters.realserver_plan(estate, host)
    return time.process_time() - started


def plan_with_site_yml(inv, workdir):
    """CPU (user + sys) of ansible-playbook site.yml running only its planning plays on the inventory."""
    path = os.path.join(workdir, 'inventory.json')
    with open(path, 'w') as handle:
        json.dump(inv, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    for key in ('ANSIBLE_STRATEGY', 'ANSIBLE_STRATEGY_PLUGINS'):
        env.pop(key, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    proc = subprocess.run([os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook'), '-i', path,
                           os.path.join(ROOT, 'site.yml'), '--tags', 'bench_planning_only'],
                          env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    wall = time.time() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError('ansible-playbook failed:\n%s' % proc.stdout[-3000:])
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as handle:
            return next(line.split(':', 1)[1].strip() for line in handle if line.startswith('model name'))
    except (IOError, OSError, StopIteration):
        return 'unknown'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', default='10,100,1000', help='real-server counts')
    parser.add_argument('--services', type=int, default=100)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--no-site-yml', action='store_true', help='time the filters only')
    parser.add_argument('--out', default=os.path.join(BENCH, 'results', 'planning.json'))
    args = parser.parse_args()
    doc = {'benchmark': 'planning', 'services': args.services, 'sizes': {}, 'python': sys.version.split()[0],
           'cpu': _cpu_model()}
    workdir = tempfile.mkdtemp(prefix='lvs-bench-planning-')
    try:
        for size in [int(text) for text in args.sizes.split(',')]:
            inv = inventory(args.services, size)
            entry = doc['sizes'].setdefault(str(size), {'filters_cpu': [], 'site_yml_cpu': [], 'site_yml_wall': []})
            for run in range(args.runs):
                entry['filters_cpu'].append(round(plan_with_filters(inv), 3))
                if not args.no_site_yml:
                    cpu, wall = plan_with_site_yml(inv, workdir)
                    entry['site_yml_cpu'].append(round(cpu, 2))
                    entry['site_yml_wall'].append(round(wall, 2))
                print('%d real servers, run %d: filters %.3f s CPU%s' % (
                    size, run + 1, entry['filters_cpu'][-1],
                    '' if args.no_site_yml else ', site.yml plans %.1f s CPU (%.1f s wall)'
                    % (entry['site_yml_cpu'][-1], entry['site_yml_wall'][-1])), flush=True)
                doc['load'] = os.getloadavg()[0]
                _bench.write_json(args.out, doc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def summary(doc):
    lines = ['## Planning at scale (controller only)', '',
             '%d DR services owned by keepalived, every service on every real server; CPU seconds, median'
             ' (min-max) of the runs. `filters`: the estate expanded once and every role\'s plan for every host twice'
             ' (site.yml\'s planning play, then the role), in-process; `site.yml`: ansible-playbook running only site.yml\'s planning plays (user + sys of'
             ' it and its workers). Python %s on the controller (%s), %s; load average at the end %.1f.'
             % (doc['services'], doc['python'], doc['cpu'], doc['when'], doc.get('load', 0)), '',
             ]
    if doc.get('conditions'):
        lines += ['Conditions: %s' % doc['conditions'], '']
    lines += ['| real servers | filters CPU | site.yml plans CPU | site.yml wall |', '|---|---|---|---|']
    for size in sorted(doc['sizes'], key=int):
        entry = doc['sizes'][size]
        site_cpu = _bench.spread(entry['site_yml_cpu']) if entry['site_yml_cpu'] else '-'
        site_wall = _bench.spread(entry['site_yml_wall']) if entry['site_yml_wall'] else '-'
        lines.append('| %s | %s | %s | %s |' % (size, _bench.spread(entry['filters_cpu']), site_cpu, site_wall))
    return lines


if __name__ == '__main__':
    main()
