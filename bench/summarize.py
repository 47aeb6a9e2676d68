# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the benchmarks' JSON samples (bench/results/*.json) into one Markdown summary.

Each JSON names its benchmark; bench/BENCHMARK.py's summary(doc) renders its section (medians with the
spread over the runs, and ratios against the alternatives measured in the same run: these machines are
noisy, so absolute times alone mean little).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import importlib
import json
import os

ORDER = ('control_plane', 'planning', 'ansible_cost', 'failover', 'dataplane')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('results', nargs='+', help='JSON files written by the benchmarks')
    parser.add_argument('--out', required=True, help='the Markdown summary to write')
    args = parser.parse_args()
    docs = []
    for path in args.results:
        with open(path) as handle:
            docs.append((json.load(handle), path))
    docs.sort(key=lambda item: ORDER.index(item[0]['benchmark']) if item[0]['benchmark'] in ORDER else len(ORDER))
    lines = ['# lvs.cluster benchmarks', '',
             'Written by `bench/run` (see bench/README.md for how to reproduce). Each section names its raw samples.', '']
    for doc, path in docs:
        lines += importlib.import_module(doc['benchmark']).summary(doc)
        lines += ['', 'Raw samples: `%s`' % os.path.relpath(path, os.path.dirname(os.path.abspath(args.out))), '']
    with open(args.out, 'w') as handle:
        handle.write('\n'.join(lines))
    print('summary written to %s' % args.out)


if __name__ == '__main__':
    main()
