# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a test run's time went: the slowest tasks of the bench_timer lines that scripts/test.sh keeps.

Usage: python3 bench/task_times.py [--top N] tests/output/logs/molecule-*.times.jsonl

A task's time is its slowest host's (hosts run a task side by side); tasks of the same name are summed
across runs and files, so a step paid in every scenario shows as one line with its count.
"""

import argparse
import collections
import json


def task_seconds(lines):
    """{uuid: (name, seconds)}: each task run's wall time, the slowest of its hosts."""
    runs = {}
    for line in lines:
        uuid = line.get('uuid') or (line['task'], line['host'])
        name, seconds = runs.get(uuid, (line['task'], 0.0))
        runs[uuid] = (name, max(seconds, line['seconds']))
    return runs


def by_name(runs):
    """[(name, total seconds, count)], slowest total first."""
    totals = collections.defaultdict(lambda: [0.0, 0])
    for name, seconds in runs.values():
        totals[name][0] += seconds
        totals[name][1] += 1
    return sorted(((name, total, count) for name, (total, count) in totals.items()), key=lambda row: -row[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--top', type=int, default=30)
    parser.add_argument('files', nargs='+')
    args = parser.parse_args()
    overall = {}
    for path in args.files:
        with open(path) as handle:
            runs = task_seconds(json.loads(line) for line in handle if line.strip())
        print('%-60s %7.0f s in %d task runs' % (path, sum(seconds for _name, seconds in runs.values()), len(runs)))
        overall.update(runs)
    print('\n%8s %6s  %s' % ('seconds', 'runs', 'task'))
    for name, total, count in by_name(overall)[:args.top]:
        print('%8.0f %6d  %s' % (total, count, name))


if __name__ == '__main__':
    main()
