# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the benchmarks' JSON samples (bench/results/*.json) into one Markdown summary.

Medians with the spread (min-max) over the runs, and ratios against the alternatives measured in the
same run: these machines are noisy, so absolute times alone mean little.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import statistics

PHASES = ('first', 'unchanged', 'one-weight')
METHOD_TEXT = {
    'module': 'lvs.cluster.ipvs_service, whole table in one call',
    'module-loop': 'lvs.cluster.ipvs_service, one call per service (loop)',
    'ipvsadm': 'ipvsadm, one command per rule',
    'restore': 'ipvsadm-restore of the whole table',
}


def spread(values):
    """'median (min-max)' of a list of seconds."""
    med = statistics.median(values)
    if len(values) == 1:
        return '%.2f' % med
    return '%.2f (%.2f-%.2f)' % (med, min(values), max(values))


def control_plane(doc):
    samples = doc['samples']
    sizes = sorted({s['size'] for s in samples})
    lines = ['## Control plane: converging a table of N services x %d real servers' % doc['real_servers_per_service'], '',
             'Seconds, median (min-max) over the runs; x = the time divided by the module\'s in the same phase.',
             'The module is timed as the Ansible task (ssh, transfer and run of the module included); ipvsadm and',
             'ipvsadm-restore are timed on the host itself, without any ssh. A re-run of ipvsadm commands or of a',
             'restore file has to flush the table first (it cannot tell what is there); the one-weight change by',
             'ipvsadm is the best case of an operator typing the one command needed. Kernel %s; %s.' % (doc['kernel'], doc['when']), '']
    if doc.get('conditions'):
        lines += ['Conditions: %s' % doc['conditions'], '']
    lines += ['| services | method | runs | first apply | unchanged re-run | one weight changed |',
              '|---:|---|---:|---|---|---|']
    for size in sizes:
        at_size = [s for s in samples if s['size'] == size]
        module = {phase: statistics.median([s['seconds'] for s in at_size if s['method'] == 'module' and s['phase'] == phase])
                  for phase in PHASES}
        for method in ('module', 'module-loop', 'ipvsadm', 'restore'):
            rows = [s for s in at_size if s['method'] == method]
            if not rows:
                continue
            cells = []
            for phase in PHASES:
                values = [s['seconds'] for s in rows if s['phase'] == phase]
                cell = spread(values)
                if method != 'module' and module[phase]:
                    cell += ' (x%.2g)' % (statistics.median(values) / module[phase])
                cells.append(cell)
            runs = len({s['run'] for s in rows})
            lines.append('| %d | %s | %d | %s |' % (size, METHOD_TEXT[method], runs, ' | '.join(cells)))
    module_walls = [s for s in samples if s['method'] == 'module' and 'playbook_seconds' in s]
    if module_walls:
        lines += ['', 'The whole `ansible-playbook` run around the module (controller start-up included), median seconds:', '',
                  '| services | first apply | unchanged re-run | one weight changed |', '|---:|---|---|---|']
        for size in sizes:
            cells = [spread([s['playbook_seconds'] for s in module_walls if s['size'] == size and s['phase'] == phase])
                     for phase in PHASES]
            lines.append('| %d | %s |' % (size, ' | '.join(cells)))
    return lines


RENDERERS = {'control_plane': control_plane}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('results', nargs='+', help='JSON files written by the benchmarks')
    parser.add_argument('--out', required=True, help='the Markdown summary to write')
    args = parser.parse_args()
    lines = ['# lvs.cluster benchmarks', '',
             'Written by `bench/run` (see bench/README.md for how to reproduce). Each section names its raw samples.', '']
    for path in args.results:
        with open(path) as handle:
            doc = json.load(handle)
        lines += RENDERERS[doc['benchmark']](doc)
        lines += ['', 'Raw samples: `%s`' % os.path.relpath(path, os.path.dirname(os.path.abspath(args.out))), '']
    with open(args.out, 'w') as handle:
        handle.write('\n'.join(lines))
    print('summary written to %s' % args.out)


if __name__ == '__main__':
    main()
