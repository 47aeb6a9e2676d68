# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data-plane benchmark: requests per second and latency through each kind of virtual service.

Targets, all in front of the same two real servers (nginx of playbooks/webapp.yml, port 80), built by
playbooks/site.yml from bench/inventories/dataplane on one director (bench/labs/dataplane.yml):
  direct   the client to rs1 itself, on the inside segment (nothing in between): the baseline
  dr       IPVS direct routing (rr)
  tun      IPVS IP-in-IP tunnelling (rr)
  nat      IPVS masquerading (rr)
  haproxy  haproxy, http mode, roundrobin, on director1's outside address
  nginx    nginx upstream, http, round robin, on director1's outside address
The load generator is wrk on the client host, with the same parameters for every target, in two
connection patterns: 'keepalive' (wrk's default: a few long-lived connections, so IPVS schedules only
those and the cost is the forwarding of packets) and 'close' (a `Connection: close` header: a new TCP
connection per request, so every request is scheduled). Each run measures every target once per
pattern, in an order rotated from run to run; ratios are taken against the direct baseline of the same
run and pattern (the lab is noisy). Before measuring, every target must answer and (but the baseline)
alternate between the two real servers.

Run by bench/run; writes JSON samples to --out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import re
import statistics
import subprocess
import sys

import _bench

BENCH = _bench.BENCH
CLIENT = 'client'
DIRECTOR = 'director1'
# name -> base URL, as bench/inventories/dataplane/group_vars/all.yml and bench/labs/dataplane.yml set them
TARGETS = (
    ('direct', 'http://10.91.0.11:80'),    # from the client's inside leg
    ('dr', 'http://10.90.0.50:80'),
    ('tun', 'http://10.90.0.51:80'),
    ('nat', 'http://10.90.0.52:80'),
    ('haproxy', 'http://10.90.0.2:8080'),
    ('nginx', 'http://10.90.0.2:8081'),
)
PATTERNS = {
    'keepalive': '',
    'close': "-H 'Connection: close'",
}
REAL_SERVERS = ('rs1', 'rs2')


def ssh(host, command, check=True):
    return _bench.ssh(host, command, check)


def build_estate():
    _bench.create_hosts('dataplane.yml')
    _bench.ansible_playbook(['-i', _bench.inventory(), '-i', os.path.join(BENCH, 'inventories', 'dataplane'),
                             os.path.join(_bench.ROOT, 'playbooks', 'webapp.yml'),
                             os.path.join(_bench.ROOT, 'playbooks', 'site.yml')], env=_bench.mitogen_env())  # only wrk is timed here
    # DR and TUN replies leave the real servers with the VIP as their source and, here, cross director1
    # as their router; director1 holds the VIPs, so without accept_local its inside interface drops them
    # as martians (source address is local). A lab need of this topology, not something the roles set.
    ssh(DIRECTOR, 'sysctl -q -w net.ipv4.conf.eth1.accept_local=1')


def check_targets():
    """Every target answers /whoami, and every balanced one alternates between the real servers."""
    problems = []
    for name, url in TARGETS:
        out = ssh(CLIENT, 'for i in 1 2 3 4 5 6; do curl -s -m 5 %s/whoami || echo FAILED; done' % url, check=False)
        answers = [line.split()[0] for line in out.splitlines() if line.strip()]
        wanted = {'rs1'} if name == 'direct' else set(REAL_SERVERS)
        if len(answers) != 6 or 'FAILED' in answers or set(answers) != wanted:
            problems.append('%s (%s): answers %s, wanted all of %s' % (name, url, answers, sorted(wanted)))
        else:
            print('  %-8s %s answers: %s' % (name, url, ' '.join(answers)), flush=True)
    if problems:
        raise RuntimeError('targets not serving as they should:\n  ' + '\n  '.join(problems))


UNITS = {'us': 1e-3, 'ms': 1.0, 's': 1000.0}


def milliseconds(text):
    match = re.match(r'([\d.]+)(us|ms|s)$', text)
    if not match:
        raise ValueError('not a wrk time: %r' % text)
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(out):
    """rps, latency percentiles (ms), requests, and errors from wrk's --latency output."""
    result = {'errors': {'connect': 0, 'read': 0, 'write': 0, 'timeout': 0, 'non_2xx_3xx': 0}}
    rps = re.search(r'^Requests/sec:\s+([\d.]+)', out, re.M)
    requests = re.search(r'^\s*(\d+) requests in', out, re.M)
    if not rps or not requests:
        raise RuntimeError('wrk printed no result:\n%s' % out)
    result['rps'] = float(rps.group(1))
    result['requests'] = int(requests.group(1))
    for percentile in ('50', '90', '99'):
        match = re.search(r'^\s*%s%%\s+(\S+)' % percentile, out, re.M)
        result['p%s_ms' % percentile] = round(milliseconds(match.group(1)), 3)
    socket = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', out)
    if socket:
        for key, value in zip(('connect', 'read', 'write', 'timeout'), socket.groups()):
            result['errors'][key] = int(value)
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    if non_2xx:
        result['errors']['non_2xx_3xx'] = int(non_2xx.group(1))
    return result


def wrk_command(args, pattern, url):
    return 'wrk %s %s %s/' % (args, PATTERNS[pattern], url)


def summary(doc):
    """Markdown lines of the summary."""
    spread = _bench.spread
    samples = doc['samples']
    runs = sorted({s['run'] for s in samples})
    lines = ['## Data plane: requests per second and latency through each kind of virtual service', '',
             'wrk on the client, `%s`, against the same two real servers (nginx, a one-line page) through each' % doc['wrk'],
             'target; %d run(s), targets in an order rotated from run to run. Median (min-max) over the runs;' % len(runs),
             'x = the ratio to the direct baseline (the client to rs1 itself, nothing between) of the same run and pattern, median over the',
             'runs (rps: higher is better; latency: lower is better). Errors: wrk\'s socket errors plus non-2xx/3xx',
             'answers, summed over the runs.',
             '',
             'Topology (bench/labs/dataplane.yml): client on the outside segment; director1 between outside and inside;',
             'rs1, rs2 on the inside with their default route via director1. So every target\'s replies cross',
             'director1: NAT replies are rewritten by IPVS, DR and TUN replies (source: the VIP) are only routed by it',
             '(it needs `accept_local=1` on its inside interface for them: the VIPs are its own). The baseline goes from',
             'a second leg of the client on the inside segment straight to rs1 (no director, no extra hop),',
             'and haproxy and nginx on director1 open their own connections to the real servers (nginx keeps idle',
             'upstream connections, haproxy does not by default). Patterns: `keepalive` is wrk\'s default (its few',
             'connections are scheduled once, then only packets are forwarded); `close` sends `Connection: close`, so',
             'every request is a new TCP connection, scheduled by IPVS or accepted by the proxy.',
             'All of it runs in one QEMU guest under software emulation on a 2-core machine shared with other work:',
             'absolute figures are far below real hardware; the ratios are what to read.']
    lines += _bench.conditions(doc)
    for pattern in [p for p in PATTERNS if any(s['pattern'] == p for s in samples)]:
        of_pattern = [s for s in samples if s['pattern'] == pattern]
        direct = {s['run']: s for s in of_pattern if s['target'] == 'direct'}
        lines += ['### Pattern `%s`' % pattern, '',
                  '| target | runs | requests/s | x direct | p50 ms | x direct | p90 ms | p99 ms | errors |',
                  '|---|---:|---|---:|---|---:|---|---|---:|']
        for name, _url in TARGETS:
            rows = [s for s in of_pattern if s['target'] == name]
            if not rows:
                continue
            paired = [s for s in rows if s['run'] in direct]
            rps_ratio = [s['rps'] / direct[s['run']]['rps'] for s in paired if direct[s['run']]['rps']]
            p50_ratio = [s['p50_ms'] / direct[s['run']]['p50_ms'] for s in paired if direct[s['run']]['p50_ms']]
            errors = sum(sum(s['errors'].values()) for s in rows)
            lines.append('| %s | %d | %s | %s | %s | %s | %s | %s | %d |' % (
                name, len(rows), spread([s['rps'] for s in rows], '%.0f'),
                '%.2f' % statistics.median(rps_ratio) if rps_ratio else '-',
                spread([s['p50_ms'] for s in rows], '%.1f'),
                '%.2f' % statistics.median(p50_ratio) if p50_ratio else '-',
                spread([s['p90_ms'] for s in rows], '%.1f'), spread([s['p99_ms'] for s in rows], '%.1f'), errors))
        lines.append('')
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=3, help='runs; each measures every target once per pattern')
    parser.add_argument('--sizes', help='ignored (bench/run passes BENCH_SIZES to every benchmark)')
    parser.add_argument('--duration', type=int, default=6, help='seconds of load per target and pattern')
    parser.add_argument('--connections', type=int, default=8, help='wrk connections (one wrk thread)')
    parser.add_argument('--patterns', default=','.join(PATTERNS), help='connection patterns: keepalive,close')
    parser.add_argument('--out', required=True, help='JSON file for the samples')
    args = parser.parse_args()
    patterns = args.patterns.split(',')
    for pattern in patterns:
        if pattern not in PATTERNS:
            parser.error('unknown pattern %s' % pattern)
    # one thread: the client has the guest's two emulated cores to share with everything else
    wrk_args = '-t1 -c%d -d%ds --latency --timeout 5s' % (args.connections, args.duration)
    print('building the estate (lab hosts, web app, site.yml) ...', flush=True)
    build_estate()
    check_targets()
    kernel = ssh(DIRECTOR, 'uname -r').strip()
    samples = []
    names = [name for name, _url in TARGETS]
    urls = dict(TARGETS)
    for run in range(1, args.runs + 1):
        # rotated, so that no target always comes first or right after the same neighbour
        shift = (run - 1) % len(names)
        order = names[shift:] + names[:shift]
        for pattern in patterns:
            for name in order:
                out = ssh(CLIENT, wrk_command(wrk_args, pattern, urls[name]))
                sample = dict(target=name, pattern=pattern, run=run, **parse_wrk(out))
                samples.append(sample)
                errors = sum(sample['errors'].values())
                print('  run %d %-9s %-8s %8.0f rps  p50 %7.2f ms  p99 %8.2f ms%s' % (
                    run, pattern, name, sample['rps'], sample['p50_ms'], sample['p99_ms'],
                    '  errors %s' % sample['errors'] if errors else ''), flush=True)
        # written after each run, so that an interrupted benchmark keeps what it measured
        doc = {'benchmark': 'dataplane', 'kernel': kernel, 'wrk': wrk_args, 'patterns': patterns,
               'targets': dict(TARGETS), 'samples': samples, 'load': os.getloadavg()[0]}
        _bench.write_json(args.out, doc)
        print('samples written to %s' % args.out, flush=True)


if __name__ == '__main__':
    try:
        main()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        sys.exit('dataplane: %s' % error)
