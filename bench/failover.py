# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failover benchmark: how long a keepalived pair takes to move the VIP, and what clients lose meanwhile.

The estate is inventories/ha (two keepalived directors in front of three LVS-DR real servers, VIP
10.20.0.50) on bench/labs/failover.yml, built once with site.yml; each variant only re-applies the
keepalived role (site.yml --tags keepalived) with extra variables:
  v2        VRRP version 2, advert_int 1 s (the inventory as it is)
  v3        VRRP version 3, advert_int --v3-advert (0.5 s by default: with 0.2 s the backup of this emulated lab
            took over spuriously again and again, its timers firing a second late under load)
  v2-sync   v2 with keepalived's IPVS connection sync daemon (keepalived_sync_daemon)
  v3-sync   v3 with it
Events, each followed by a restore (director1 master again, director2 backup, traffic clean):
  keepalived-stop   systemctl stop keepalived on the master (it sends a last advert of priority 0)
  power-off         the master's host powered off without warning (lab stop director1 --hard): its links down and
                    all its processes killed at once (no last advert, no forwarding)
Per sample:
  takeover          the event (the master's own clock for a stop, the guest's for a power cut) to the VIP's
                    arrival on the backup's eth0 (ip -ts monitor there); every lab host shares the guest's clock
  advert_to_vip     the master's last VRRP advert the backup captured (tcpdump on the backup) to that arrival
  failed            requests of the client's paced traffic (haprobe.py paced: a new connection every 0.1 s,
                    each given --timeout s to answer, started whether earlier ones answered or not) that
                    failed, among those started from 1 s before the event until the client settled
  long-lived        one HTTP keep-alive connection opened through the master before the event and asked
                    again after the takeover (haprobe.py hold): survived or broke (reset by the new master)
  spurious          the VIP arrived on the backup between the restore and the event (a flapping pair)
Samples are taken variant after variant (re-applying keepalived for each sample would double the run), so
the ratios compare variants of the same run of the benchmark, minutes apart.

Run by bench/run; writes JSON samples to --out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import _bench

BENCH = _bench.BENCH
ROOT = _bench.ROOT
MASTER, BACKUP, CLIENT = 'director1', 'director2', 'client'
MASTER_ADDRESS = '10.20.0.2'
VIP = '10.20.0.50'
REAL_SERVERS = ('10.20.0.11', '10.20.0.12', '10.20.0.13')
HAPROBE = os.path.join(ROOT, 'molecule', '_shared', 'files', 'haprobe.py')
EVENTS = ('keepalived-stop', 'power-off')
# Where the watchers and probes write on the lab hosts.
VRRP_LOG, ADDR_LOG = '/root/fo-vrrp.log', '/root/fo-addr.log'
TRAFFIC_LOG, HOLD_GO, HOLD_OUT = '/root/fo-traffic.log', '/root/fo-hold.go', '/root/fo-hold.json'


def variants(v3_advert):
    """name -> the extra variables re-applied with the keepalived role (the inventory's instance, changed)."""
    def instance(version, advert):
        return {'name': 'VI_WEB', 'virtual_router_id': 20, 'version': version, 'advert_int': advert,
                'vips': [{'address': VIP, 'label': 'eth0:web'}], 'services': ['web']}
    sync = {'interface': 'eth0', 'instance': 'VI_WEB'}
    out = {}
    for name, version, advert in (('v2', 2, 1), ('v3', 3, v3_advert)):
        out[name] = {'keepalived_vrrp_instances': [instance(version, advert)], 'keepalived_sync_daemon': {}}
        out[name + '-sync'] = {'keepalived_vrrp_instances': [instance(version, advert)], 'keepalived_sync_daemon': sync}
    return out


def log(text):
    print(time.strftime('%H:%M:%S ') + text, flush=True)


def playbook(args):
    seconds, _out = _bench.ansible_playbook(['-i', os.path.join(ROOT, 'inventories', 'ha'), '-i', _bench.inventory()]
                                            + list(args), env=_bench.mitogen_env())
    return seconds


def guest_now():
    """Seconds on the lab's clock (the guest's, which every lab host shares)."""
    return float(_bench.ssh('lab-guest', 'date +%s.%N').strip())


def has_vip(host):
    return bool(_bench.ssh(host, 'ip -o addr show dev eth0 to %s/32' % VIP, check=False).strip())


def wait_vip(host, seconds):
    """Wait on the host itself (no ssh round trips) until the VIP is on its eth0; returns the lab's time then."""
    out = _bench.ssh(host, 'for i in $(seq %d); do [ -n "$(ip -o addr show dev eth0 to %s/32)" ] && break; sleep 0.05; done; '
                     '[ -n "$(ip -o addr show dev eth0 to %s/32)" ] && date +%%s.%%N' % (seconds * 20, VIP, VIP), check=False)
    if not out.strip():
        raise RuntimeError('the VIP did not reach %s within %d s' % (host, seconds))
    return float(out.strip())


def traffic_report(since, until):
    return json.loads(_bench.ssh(CLIENT, 'python3 /root/haprobe.py report %s %.3f %.3f' % (TRAFFIC_LOG, since, until)))


def wait_settled(timeout=240):
    """director1 master with the VIP and all real servers in its table, director2 without the VIP, and the client's
    last 2 s of requests all answered. Returns the lab's time when that was so."""
    deadline = time.time() + timeout
    master_check = 'ip -o addr show dev eth0 to %s/32; ipvsadm -Ln -t %s:80' % (VIP, VIP)
    while time.time() < deadline:
        master = _bench.ssh(MASTER, master_check, check=False)
        if 'inet %s/32' % VIP in master and all('%s:80' % rs in master for rs in REAL_SERVERS) and not has_vip(BACKUP):
            now = guest_now()
            time.sleep(2)
            if traffic_report(now, now + 2)['failed'] == 0 and not has_vip(BACKUP):
                return now + 2
        time.sleep(0.5)
    raise RuntimeError('the pair did not settle within %d s (director1 master, director2 backup, traffic clean)' % timeout)


class Bench(object):
    def __init__(self, timeout, settle):
        self.timeout = timeout
        self.settle = settle
        self.samples = []

    def start_watchers(self):
        """On the backup, for the whole run: VRRP adverts (tcpdump -tt) and address changes (ip -ts monitor)."""
        _bench.ssh(BACKUP, 'systemctl stop fo-vrrp fo-addr 2>/dev/null; systemctl reset-failed fo-vrrp fo-addr 2>/dev/null; rm -f %s %s; '
                   'systemd-run --quiet --unit=fo-vrrp --property=StandardOutput=file:%s timeout 7200 tcpdump -i eth0 -n -tt -l "ip proto 112"; '
                   'systemd-run --quiet --unit=fo-addr --property=StandardOutput=file:%s timeout 7200 ip -ts monitor address dev eth0'
                   % (VRRP_LOG, ADDR_LOG, VRRP_LOG, ADDR_LOG))

    def start_traffic(self):
        _bench.ssh(CLIENT, 'systemctl stop fo-traffic 2>/dev/null; systemctl reset-failed fo-traffic 2>/dev/null; rm -f %s; '
                   'systemd-run --quiet --unit=fo-traffic python3 /root/haprobe.py paced http://%s/ %s 7200 %s 0.1'
                   % (TRAFFIC_LOG, VIP, TRAFFIC_LOG, self.timeout))

    def stop_traffic(self):
        _bench.ssh(CLIENT, 'systemctl stop fo-traffic 2>/dev/null', check=False)

    def open_long_lived(self, sync):
        """A keep-alive connection through the master; with sync, wait until the backup holds its entry too."""
        out = _bench.ssh(CLIENT, 'systemctl stop fo-hold 2>/dev/null; systemctl reset-failed fo-hold 2>/dev/null; rm -f %s %s; '
                         # 20 s per answer: data retransmits back off (0.2, 0.4 ... 3.2 s) across a takeover
                         'systemd-run --quiet --unit=fo-hold python3 /root/haprobe.py hold %s 80 %s %s 300 20; '
                         'for i in $(seq 200); do [ -e %s ] && break; sleep 0.1; done; cat %s'
                         % (HOLD_GO, HOLD_OUT, VIP, HOLD_GO, HOLD_OUT, HOLD_OUT, HOLD_OUT))
        port = json.loads(out)['local_port']
        synced = None
        if sync:
            started = time.time()
            while time.time() - started < 30:
                if ('%s:%d' % ('10.20.0.100', port)) in _bench.ssh(BACKUP, 'ipvsadm -Lnc'):
                    synced = round(time.time() - started, 1)
                    break
                time.sleep(1)
        return port, synced

    def close_long_lived(self):
        out = _bench.ssh(CLIENT, 'touch %s; for i in $(seq 400); do grep -q \'"done"\' %s && break; sleep 0.1; done; cat %s'
                         % (HOLD_GO, HOLD_OUT, HOLD_OUT))
        return json.loads(out)

    def event(self, event):
        """Do it; return when it happened on the lab's clock."""
        if event == 'keepalived-stop':
            return float(_bench.ssh(MASTER, 'date +%s.%N; systemctl stop keepalived').split()[0])
        # A power cut: lab stop --hard takes the host's links down and kills every process of it at once
        # (no last advert, no forwarding), and says when on the lab's clock.
        proc = subprocess.run(['lab', 'stop', MASTER, '--hard'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True, check=True)
        return float(re.search(r'power cut of \S+ at ([0-9.]+)', proc.stderr).group(1))

    def restore(self, event):
        if event == 'keepalived-stop':
            _bench.ssh(MASTER, 'systemctl start keepalived')
        else:
            _bench.lab('start', MASTER)

    def sample(self, variant, sync, event, run, settled_at):
        port, synced = self.open_long_lived(sync)
        time.sleep(1)
        at = self.event(event)
        vip_seen = wait_vip(BACKUP, 60)
        # let the late requests of the takeover answer or time out before reading the client's log
        time.sleep(max(self.settle, float(self.timeout) + 1))
        end = guest_now()
        held = self.close_long_lived()
        # the first VIP arrival after the restore: before the event it is a spurious takeover
        first = json.loads(_bench.ssh(BACKUP, 'python3 /root/haprobe.py takeover %s %s %s %s %.3f'
                                      % (VRRP_LOG, ADDR_LOG, VIP, MASTER_ADDRESS, settled_at)))
        spurious = first['vip_added'] is not None and first['vip_added'] < at
        took = json.loads(_bench.ssh(BACKUP, 'python3 /root/haprobe.py takeover %s %s %s %s %.3f'
                                     % (VRRP_LOG, ADDR_LOG, VIP, MASTER_ADDRESS, at)))
        client = traffic_report(at - 1, end)
        vip_added = took['vip_added'] or vip_seen
        sample = {
            'variant': variant, 'event': event, 'run': run, 'event_at': round(at, 3),
            'takeover_s': round(vip_added - at, 3),
            'advert_to_vip_s': took.get('takeover'),
            'last_advert': took.get('last_peer_advert'),
            'requests': client['requests'], 'failed': client['failed'],
            'failure_span_s': round(client['failures'][-1]['at'] - client['failures'][0]['at'], 3) if client['failures'] else 0.0,
            'long_lived_survived': 'error' not in held and held.get('done', False) and len(held.get('answers', [])) >= 2,
            'long_lived': {'port': port, 'synced_after_s': synced, 'answers': held.get('answers'), 'error': held.get('error')},
            'spurious_takeover': spurious,
        }
        log('  %-7s %-15s run %d: takeover %.2f s (last advert -> VIP %s s), %d/%d requests failed, long-lived %s%s'
            % (variant, event, run, sample['takeover_s'], sample['advert_to_vip_s'], sample['failed'], sample['requests'],
               'survived' if sample['long_lived_survived'] else 'broke (%s)' % held.get('error'),
               ', SPURIOUS takeover before the event' if spurious else ''))
        restore_start = time.time()
        self.restore(event)
        settled = wait_settled()
        sample['restore_s'] = round(time.time() - restore_start, 1)
        self.samples.append(sample)
        return settled


def apply_variant(name, extra_vars, workdir):
    path = os.path.join(workdir, '%s.json' % name)
    with open(path, 'w') as handle:
        json.dump(extra_vars, handle)
    return playbook([os.path.join(ROOT, 'site.yml'), '--tags', 'keepalived', '--limit', 'directors', '-e', '@' + path])


VARIANT_TEXT = {
    'v2': 'VRRPv2, advert_int 1 s',
    'v3': 'VRRPv3, advert_int %s s',
    'v2-sync': 'VRRPv2, advert_int 1 s, connection sync',
    'v3-sync': 'VRRPv3, advert_int %s s, connection sync',
}


def summary(doc):
    """Markdown lines of the summary."""
    spread = _bench.spread
    samples = doc['samples']
    order = [name for name in ('v2', 'v2-sync', 'v3', 'v3-sync') if any(s['variant'] == name for s in samples)]
    base = {event: statistics.median([s['takeover_s'] for s in samples if s['variant'] == 'v2' and s['event'] == event])
            for event in EVENTS if any(s['variant'] == 'v2' and s['event'] == event for s in samples)}
    lines = ['## Failover: VIP takeover by the backup director, and what the clients lose', '',
             'inventories/ha (keepalived pair, LVS-DR, three real servers). Takeover: seconds from the event (keepalived',
             'stopped on the master; or the master\'s host powered off without warning: its link cut and its processes',
             'killed at once from the lab guest) to the VIP\'s arrival on the backup (`ip -ts monitor`); the lab hosts share one clock.',
             'Last advert: from the master\'s last VRRP advert the backup captured to that arrival. Failed: requests of the',
             'client\'s paced traffic (a new connection every 0.1 s, %s s to answer each) that failed, from 1 s before the' % doc['timeout'],
             'event until the client settled. Long-lived: a keep-alive connection opened through the master, asked again',
             'after the takeover (k survived of n). x v2: the takeover median over that of VRRPv2 with the same event, in',
             'the same run. Median (min-max) over %d run(s); variants are measured one after the other.' % doc['runs']]
    lines += _bench.conditions(doc, 'keepalived %s' % doc.get('keepalived', '?'))
    lines += ['| variant | event | takeover s | x v2 | last advert -> VIP s | failed requests | long-lived connection survived |',
              '|---|---|---|---:|---|---|---|']
    for name in order:
        for event in EVENTS:
            rows = [s for s in samples if s['variant'] == name and s['event'] == event]
            if not rows:
                continue
            takeover = [s['takeover_s'] for s in rows]
            adverts = [s['advert_to_vip_s'] for s in rows if s['advert_to_vip_s'] is not None]
            ratio = ('x%.2f' % (statistics.median(takeover) / base[event])) if base.get(event) else '-'
            text = VARIANT_TEXT[name] % doc['v3_advert'] if '%' in VARIANT_TEXT[name] else VARIANT_TEXT[name]
            lines.append('| %s | %s | %s | %s | %s | %s | %d of %d |' % (
                text, event, spread(takeover), ratio, spread(adverts) if adverts else '-',
                spread([s['failed'] for s in rows], '%d' if all(s['failed'] == int(s['failed']) for s in rows) else '%.1f'),
                sum(1 for s in rows if s['long_lived_survived']), len(rows)))
    spurious = [s for s in samples if s['spurious_takeover']]
    lines += ['', 'Spurious takeovers (the VIP on the backup before an event): %s.'
              % (', '.join('%s run %d before %s' % (s['variant'], s['run'], s['event']) for s in spurious) or 'none')]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=3, help='samples per variant and event')
    parser.add_argument('--sizes', help='ignored (bench/run passes it to every benchmark)')
    parser.add_argument('--variants', default='v2,v2-sync,v3,v3-sync', help='comma-separated, from v2 v2-sync v3 v3-sync')
    parser.add_argument('--v3-advert', type=float, default=0.5, help='VRRPv3 advert_int in seconds')
    parser.add_argument('--timeout', type=float, default=1.0, help='seconds each client request gets to answer')
    parser.add_argument('--settle', type=float, default=3.0, help='seconds after the takeover before the client is read')
    parser.add_argument('--reuse', action='store_true', help='keep the lab hosts and the built estate (development)')
    parser.add_argument('--out', required=True, help='JSON file for the samples')
    args = parser.parse_args()
    chosen = args.variants.split(',')
    all_variants = variants(args.v3_advert)
    unknown = [name for name in chosen if name not in all_variants]
    if unknown:
        parser.error('unknown variant(s): %s' % ', '.join(unknown))
    started = time.time()
    if not args.reuse:
        log('creating the hosts of bench/labs/failover.yml')
        _bench.create_hosts('failover.yml')
        log('building inventories/ha: webapp.yml and site.yml')
        log('  done in %.0f s' % playbook([os.path.join(ROOT, 'playbooks', 'webapp.yml'), os.path.join(ROOT, 'site.yml')]))
    for host in (CLIENT, BACKUP):
        _bench.scp_to(host, HAPROBE, '/root')
    doc = {'benchmark': 'failover', 'runs': args.runs, 'v3_advert': args.v3_advert, 'timeout': args.timeout,
           'kernel': _bench.ssh(MASTER, 'uname -r').strip(),
           'keepalived': _bench.ssh(MASTER, 'keepalived --version 2>&1 | head -1').strip(), 'samples': [], 'apply_s': {}}
    bench = Bench(args.timeout, args.settle)
    bench.start_watchers()
    workdir = tempfile.mkdtemp(prefix='lvs-bench-failover-')
    for name in chosen:
        log('variant %s: applying keepalived' % name)
        doc['apply_s'][name] = round(apply_variant(name, all_variants[name], workdir), 1)
        bench.start_traffic()
        settled = wait_settled()
        for run in range(1, args.runs + 1):
            for event in EVENTS:
                settled = bench.sample(name, name.endswith('-sync'), event, run, settled)
        bench.stop_traffic()
        # 'when' and the load are those of the latest write (write_json keeps a 'when' already there)
        doc.pop('when', None)
        doc.update(samples=bench.samples, load=os.getloadavg()[0], seconds=round(time.time() - started))
        # written after each variant, so that an interrupted run keeps what it measured
        _bench.write_json(args.out, doc)
        log('samples written to %s' % args.out)
    _bench.ssh(BACKUP, 'systemctl stop fo-vrrp fo-addr', check=False)
    log('done in %.0f s' % (time.time() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
