"""labctl: the guest-side half of the lab. Runs as root inside the QEMU guest.

The controller's `lab` command copies this file into the guest and calls it over ssh with a
JSON document on stdin. It builds the lab's segments (Linux bridges) and its hosts
(systemd-nspawn system containers, each with its own network namespace, /etc and systemd).

Layout in the guest:
  /run/lab/rootfs             read-only bind of the guest's root: every host's lower layer
  /var/lib/lab/hosts/NAME/    upper, work and root (the overlay mount) of host NAME
  /run/netns/lab-NAME         the host's network namespace (made fresh at every host boot)
  /var/lib/lab/state.json     segments and hosts, with the index each host was given

Only the Python standard library: the guest has no venv.
"""

import json
import os
import shutil
import subprocess
import sys
import time

STATE_DIR = '/var/lib/lab'
STATE_FILE = os.path.join(STATE_DIR, 'state.json')
HOSTS_DIR = os.path.join(STATE_DIR, 'hosts')
ROOTFS = '/run/lab/rootfs'
MGMT_BRIDGE = 'br-mgmt'
MGMT_PREFIX = '172.31.255.'
MGMT_GUEST = MGMT_PREFIX + '1'
MGMT_FIRST_HOST = 10
BOOT_TIMEOUT = 480  # four hosts booted in 52 s on a busy machine; 240 s ran out with five guests on 2 cores


class LabError(Exception):
    pass


def log(msg):
    sys.stderr.write('[labctl] %s\n' % msg)
    sys.stderr.flush()


def run(args, check=True, capture=False, quiet_fail=False):
    proc = subprocess.run(args, check=False, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, universal_newlines=True)
    if check and proc.returncode != 0:
        if quiet_fail:
            return None
        raise LabError('%s failed (rc=%d): %s' % (' '.join(args), proc.returncode, proc.stderr.strip()))
    return proc


def load_state():
    if os.path.exists(STATE_FILE):
        with open(STATE_FILE) as handle:
            return json.load(handle)
    return {'segments': {}, 'hosts': {}}


def save_state(state):
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = STATE_FILE + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    os.replace(tmp, STATE_FILE)


def link_exists(name, netns=None):
    args = ['ip'] + (['-n', netns] if netns else []) + ['link', 'show', 'dev', name]
    return run(args, check=False).returncode == 0


def ensure_rootfs():
    """The lower layer: a plain (non-recursive) bind of / shows only the root file system."""
    if not os.path.ismount(ROOTFS):
        os.makedirs(ROOTFS, exist_ok=True)
        run(['mount', '--bind', '/', ROOTFS])
        run(['mount', '-o', 'remount,bind,ro', ROOTFS])


def ensure_bridge(name, address=None):
    if not link_exists(name):
        run(['ip', 'link', 'add', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0'])
        # No IPv6 on bridges: the guest must not talk on lab segments.
        with open('/proc/sys/net/ipv6/conf/%s/disable_ipv6' % name, 'w') as handle:
            handle.write('1')
    if address:
        run(['ip', 'addr', 'replace', address, 'dev', name])
    run(['ip', 'link', 'set', name, 'up'])


def bridge_name(segment):
    return 'br-' + segment


def mgmt_address(index):
    return MGMT_PREFIX + str(MGMT_FIRST_HOST + index)


def host_dir(name):
    return os.path.join(HOSTS_DIR, name)


def unit_name(name):
    return 'lab-host-' + name


def netns_name(name):
    return 'lab-' + name


def host_running(name):
    return run(['systemctl', 'is-active', '--quiet', unit_name(name)], check=False).returncode == 0


def _addresses(iface):
    addresses = iface.get('address') or []
    return [addresses] if isinstance(addresses, str) else addresses


def keyfile(ifname, addresses, routes):
    """A NetworkManager keyfile for one interface: static addresses and routes, nothing learned."""
    lines = ['# Lab link %s: written by the lab at the host\'s creation.' % ifname, '[connection]',
             'id=lab-%s' % ifname, 'type=ethernet', 'interface-name=%s' % ifname, 'autoconnect=true', '']
    for family, section in ((4, 'ipv4'), (6, 'ipv6')):
        own = [a for a in addresses if (':' in a) == (family == 6)]
        lines.append('[%s]' % section)
        if not own:
            lines += ['method=%s' % ('disabled' if family == 4 else 'ignore'), '']
            continue
        lines.append('method=manual')
        lines += ['address%d=%s' % (n, address) for n, address in enumerate(own, 1)]
        own_routes = [r for r in routes if (':' in r['via']) == (family == 6)]
        for n, route in enumerate(own_routes, 1):
            to = route.get('to', 'default')
            if to == 'default':
                to = '0.0.0.0/0' if family == 4 else '::/0'
            lines.append('route%d=%s,%s' % (n, to, route['via']))
        if family == 6:
            lines.append('addr-gen-mode=eui64')
        lines.append('')
    return '\n'.join(lines)


# NetworkManager in place of systemd-networkd (network: networkmanager): networkd masked, its enable
# links gone (the image enables it), NetworkManager and its dispatcher enabled (the image disables them).
NETWORKMANAGER_LINKS = {
    'etc/systemd/system/systemd-networkd.service': '/dev/null',
    'etc/systemd/system/systemd-networkd.socket': '/dev/null',
    'etc/systemd/system/multi-user.target.wants/systemd-networkd.service': None,
    'etc/systemd/system/sockets.target.wants/systemd-networkd.socket': None,
    'etc/systemd/system/sysinit.target.wants/systemd-network-generator.service': None,
    'etc/systemd/system/multi-user.target.wants/NetworkManager.service': '/lib/systemd/system/NetworkManager.service',
    'etc/systemd/system/dbus-org.freedesktop.NetworkManager.service': '/lib/systemd/system/NetworkManager.service',
    'etc/systemd/system/dbus-org.freedesktop.nm-dispatcher.service':
        '/lib/systemd/system/NetworkManager-dispatcher.service',
}


def network_links(spec):
    """{path: symlink target, or None to remove} of the host's network stack."""
    return dict(NETWORKMANAGER_LINKS) if spec.get('network') == 'networkmanager' else {}


def network_files(name, spec, index, all_hosts):
    """The host's own network configuration in its /etc (systemd-networkd files, or NetworkManager
    keyfiles): its addresses survive its reboots."""
    files = {}
    if spec.get('network') == 'networkmanager':
        connections = 'etc/NetworkManager/system-connections/'
        files[connections + 'lab-mgmt0.nmconnection'] = keyfile('mgmt0', ['%s/24' % mgmt_address(index)], [])
        for ifname, iface in sorted(spec.get('interfaces', {}).items()):
            files[connections + 'lab-%s.nmconnection' % ifname] = keyfile(ifname, _addresses(iface),
                                                                          iface.get('routes', []))
        if spec.get('forward'):
            files['etc/sysctl.d/05-lab-forward.conf'] = 'net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\n'
        return _common_files(name, all_hosts, files)
    files['etc/systemd/network/05-mgmt0.network'] = (
        '# Lab management link: Ansible reaches the host here, outside every topology under test.\n'
        '[Match]\nName=mgmt0\n\n[Network]\nAddress=%s/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n'
        % mgmt_address(index))
    for ifname, iface in sorted(spec.get('interfaces', {}).items()):
        addresses = _addresses(iface)
        lines = ['[Match]', 'Name=%s' % ifname, '', '[Network]']
        lines += ['Address=%s' % address for address in addresses]
        lines += ['LinkLocalAddressing=%s' % ('ipv6' if any(':' in a for a in addresses) else 'no'),
                  'IPv6AcceptRA=no', 'ConfigureWithoutCarrier=yes']
        if spec.get('forward'):
            lines.append('IPForward=yes')
        for route in iface.get('routes', []):
            lines += ['', '[Route]', 'Destination=%s' % route.get('to', 'default'), 'Gateway=%s' % route['via']]
        files['etc/systemd/network/10-%s.network' % ifname] = '\n'.join(lines) + '\n'
    return _common_files(name, all_hosts, files)


def _common_files(name, all_hosts, files):
    hosts_lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback',
                   '127.0.1.1\t%s' % name]
    for other, other_spec in sorted(all_hosts.items()):
        hosts_lines.append('%s\t%s.mgmt' % (mgmt_address(other_spec['index']), other))
    files['etc/hosts'] = '\n'.join(hosts_lines) + '\n'
    files['etc/hostname'] = name + '\n'
    files['etc/machine-id'] = ''
    return files


def write_host_files(root, files, links=None):
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write(content)
        if rel.endswith('.nmconnection'):
            os.chmod(path, 0o600)  # NetworkManager ignores a keyfile others may read
    for rel, target in (links or {}).items():
        path = os.path.join(root, rel)
        if os.path.lexists(path):
            os.unlink(path)
        if target is not None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(target, path)


def make_netns(name, spec, index):
    """A fresh network namespace: what a host finds at boot (no addresses, no IPVS table)."""
    ns = netns_name(name)
    delete_netns(name)
    run(['ip', 'netns', 'add', ns])
    links = [('mgmt0', MGMT_BRIDGE)]
    links += [(ifname, bridge_name(iface['segment'])) for ifname, iface in sorted(spec.get('interfaces', {}).items())]
    for number, (ifname, bridge) in enumerate(links):
        outer = 'lv%di%d' % (index, number)
        if link_exists(outer):
            run(['ip', 'link', 'del', outer])
        # A fixed MAC per host and interface: a rebooted host keeps its NIC's address, as hardware does,
        # so neighbours' ARP caches stay right.
        mac = '02:1a:%02x:%02x:%02x:%02x' % ((index >> 8) & 0xff, index & 0xff, number, 0x01)
        run(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', ifname, 'address', mac, 'netns', ns])
        run(['ip', 'link', 'set', outer, 'master', bridge, 'up'])


def delete_netns(name):
    ns = netns_name(name)
    if not os.path.exists('/run/netns/' + ns):
        return
    # Kill what still runs inside it first, else the namespace lingers with its veths.
    kill_netns_processes(name)
    run(['ip', 'netns', 'del', ns], check=False)


def kill_netns_processes(name):
    pids = run(['ip', 'netns', 'pids', netns_name(name)], check=False, capture=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (OSError, ValueError):
            pass


def mount_overlay(name):
    base = host_dir(name)
    root = os.path.join(base, 'root')
    for sub in ('upper', 'work', 'root'):
        os.makedirs(os.path.join(base, sub), exist_ok=True)
    if not os.path.ismount(root):
        run(['mount', '-t', 'overlay', 'lab-' + name, '-o',
             'lowerdir=%s,upperdir=%s/upper,workdir=%s/work' % (ROOTFS, base, base), root])
    return root


def unmount_overlay(name):
    root = os.path.join(host_dir(name), 'root')
    if os.path.ismount(root):
        run(['umount', root], check=False)
        if os.path.ismount(root):
            run(['umount', '-l', root], check=False)


def start_host(name, state):
    spec = state['hosts'][name]
    if host_running(name):
        return
    run(['systemctl', 'reset-failed', unit_name(name)], check=False)
    root = mount_overlay(name)
    make_netns(name, spec, spec['index'])
    run(['systemd-run', '--unit', unit_name(name), '--description', 'lab host ' + name,
         '-p', 'KillMode=mixed', '-p', 'Delegate=yes', '-p', 'TasksMax=infinity',
         # A host owns its network namespace, so its /proc/sys/net must be writable (sysctls).
         '--setenv=SYSTEMD_NSPAWN_API_VFS_WRITABLE=network',
         'systemd-nspawn', '--quiet', '--boot', '--directory', root, '--machine', name,
         '--network-namespace-path=/run/netns/' + netns_name(name),
         '--capability=CAP_NET_ADMIN', '--private-users=no',
         '--resolv-conf=off', '--timezone=off', '--link-journal=no', '--console=passive',
         '--setenv=LAB_HOST=' + name])


def host_state(name):
    """(system state, failed units, whether sshd runs) of a booting host, as its own systemd says."""
    state = run(['systemctl', '-M', name, 'is-system-running'], check=False, capture=True).stdout.strip()
    failed = []
    sshd = False
    if state in ('running', 'degraded', 'maintenance'):
        failed = run(['systemctl', '-M', name, '--failed', '--no-legend', '--plain'], check=False,
                     capture=True).stdout.split()[0::4]
        sshd = run(['systemctl', '-M', name, 'is-active', 'ssh.service'], check=False,
                   capture=True).stdout.strip() == 'active'
    return state, failed, sshd


def wait_ready(names, timeout=BOOT_TIMEOUT):
    """Wait until every host has finished booting with sshd running; fail loudly on one that does not.

    A host counts as ready only when its systemd is done (running, or degraded with failed units
    named) and its sshd runs: a host that runs but never becomes ready is an error, not a success.
    """
    pending = set(names)
    deadline = time.time() + timeout
    last = {}
    while pending and time.time() < deadline:
        for name in sorted(pending):
            if not host_running(name):
                raise LabError('host %s stopped while booting; see: journalctl -u %s' % (name, unit_name(name)))
            state, failed, sshd = host_state(name)
            last[name] = (state, failed, sshd)
            if state in ('running', 'degraded') and sshd:
                if failed:
                    log('host %s is up, degraded: failed units %s' % (name, ' '.join(failed)))
                pending.discard(name)
            elif state in ('degraded', 'maintenance') and 'ssh.service' in failed:
                raise LabError('host %s booted but its sshd failed (failed units: %s); see: journalctl -M %s -b -u ssh'
                               % (name, ' '.join(failed), name))
        if pending:
            time.sleep(0.5)
    if pending:
        detail = '; '.join('%s: %s%s' % (name, last.get(name, ('no answer',))[0] or 'no answer',
                                         '' if last.get(name, (0, 0, False))[2] else ', sshd not running')
                           for name in sorted(pending))
        raise LabError('hosts not ready after %d s (%s); see: journalctl -M NAME -b, or journalctl -u lab-host-NAME'
                       % (timeout, detail))


def stop_host(name, hard=False):
    """Power the host off; with hard, a power cut: returns when its links went down (None if it was off)."""
    cut_at = None
    if host_running(name):
        if hard:
            # Power cut: nothing inside gets to say goodbye (no VRRP priority 0, no FIN) and nothing
            # forwards a packet more. Killing systemd-nspawn alone leaves the host's processes running
            # in machine-NAME.scope for a second or two, and its kernel forwarding until the namespace
            # goes: so its links go down first, then every process in it dies.
            ns = netns_name(name)
            links = run(['ip', '-n', ns, '-o', 'link', 'show'], check=False, capture=True).stdout.splitlines()
            names = [line.split(':')[1].strip().split('@')[0] for line in links]
            batch = ''.join('link set %s down\n' % ifname for ifname in names if ifname != 'lo')
            # on the guest's clock, which every lab host shares: what a takeover time is measured from
            cut_at = time.time()
            subprocess.run(['ip', '-n', ns, '-batch', '-'], input=batch, universal_newlines=True, check=False)
            kill_netns_processes(name)
            run(['systemctl', 'kill', '--signal=SIGKILL', unit_name(name), 'machine-%s.scope' % name], check=False)
        else:
            run(['machinectl', 'poweroff', name], check=False)
        deadline = time.time() + 60
        while host_running(name) and time.time() < deadline:
            time.sleep(0.3)
        if host_running(name):
            run(['systemctl', 'kill', '--signal=SIGKILL', unit_name(name)], check=False)
            time.sleep(1)
    run(['systemctl', 'stop', unit_name(name)], check=False)
    run(['systemctl', 'reset-failed', unit_name(name)], check=False)
    delete_netns(name)
    return cut_at


def destroy_host(name, state):
    stop_host(name, hard=True)
    unmount_overlay(name)
    shutil.rmtree(host_dir(name), ignore_errors=True)
    state['hosts'].pop(name, None)


def free_index(state):
    used = {spec['index'] for spec in state['hosts'].values()}
    index = 0
    while index in used:
        index += 1
    return index


def cmd_create(doc):
    """Create segments and hosts; a host that exists with the same spec is left running as it is."""
    started = time.time()
    state = load_state()
    ensure_rootfs()
    ensure_bridge(MGMT_BRIDGE, MGMT_GUEST + '/24')
    for segment in doc.get('segments', {}):
        ensure_bridge(bridge_name(segment))
        state['segments'][segment] = doc['segments'][segment] or {}
    created = []
    for name, spec in sorted(doc.get('hosts', {}).items()):
        for iface in spec.get('interfaces', {}).values():
            if iface['segment'] not in state['segments']:
                raise LabError('host %s: segment %s is not declared' % (name, iface['segment']))
        old = state['hosts'].get(name)
        wanted = dict(spec)
        if old is not None:
            same = {k: v for k, v in old.items() if k != 'index'} == wanted
            if same and host_running(name):
                continue
            destroy_host(name, state)
        wanted['index'] = free_index(state)
        state['hosts'][name] = wanted
        created.append(name)
    save_state(state)
    for name in created:
        root = mount_overlay(name)
        spec = state['hosts'][name]
        write_host_files(root, network_files(name, spec, spec['index'], state['hosts']), network_links(spec))
    for name in created:
        start_host(name, state)
    wait_ready(created)
    log('%d host(s) created and booted in %.1f s: %s' % (len(created), time.time() - started, ' '.join(created) or '-'))
    print(json.dumps(summary(state)))


def cmd_destroy(doc):
    state = load_state()
    names = doc.get('hosts') or sorted(state['hosts'])
    for name in names:
        destroy_host(name, state)
    if doc.get('all'):
        for segment in list(state['segments']):
            run(['ip', 'link', 'del', bridge_name(segment)], check=False)
            state['segments'].pop(segment)
    save_state(state)
    print(json.dumps(summary(state)))


def cmd_reset(doc):
    """Fresh hosts from the same spec: delete the upper layers, keep names and addresses."""
    started = time.time()
    state = load_state()
    names = doc.get('hosts') or sorted(state['hosts'])
    for name in names:
        stop_host(name, hard=True)
        unmount_overlay(name)
        shutil.rmtree(host_dir(name), ignore_errors=True)
    for name in names:
        root = mount_overlay(name)
        spec = state['hosts'][name]
        write_host_files(root, network_files(name, spec, spec['index'], state['hosts']), network_links(spec))
        start_host(name, state)
    wait_ready(names)
    log('%d host(s) reset in %.1f s' % (len(names), time.time() - started))
    print(json.dumps(summary(state)))


def cmd_power(doc):
    state = load_state()
    name = doc['host']
    if name not in state['hosts']:
        raise LabError('no such host: %s' % name)
    action = doc['action']
    if action in ('stop', 'restart'):
        cut_at = stop_host(name, hard=doc.get('hard', False))
        if cut_at:
            log('power cut of %s at %.3f' % (name, cut_at))
    if action in ('start', 'restart'):
        started = time.time()
        start_host(name, state)
        if doc.get('wait', True):
            wait_ready([name])
        log('host %s booted in %.1f s' % (name, time.time() - started))
    print(json.dumps(summary(state)))


def summary(state):
    hosts = {}
    for name, spec in sorted(state['hosts'].items()):
        hosts[name] = {'index': spec['index'], 'mgmt_address': mgmt_address(spec['index']),
                       'running': host_running(name)}
    return {'segments': sorted(state['segments']), 'hosts': hosts}


def cmd_status(_doc):
    print(json.dumps(summary(load_state())))


COMMANDS = {'create': cmd_create, 'destroy': cmd_destroy, 'reset': cmd_reset,
            'power': cmd_power, 'status': cmd_status}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write('usage: labctl {%s} < request.json\n' % ','.join(sorted(COMMANDS)))
        return 2
    raw = sys.stdin.read() if not sys.stdin.isatty() else ''
    doc = json.loads(raw) if raw.strip() else {}
    try:
        COMMANDS[sys.argv[1]](doc)
    except LabError as exc:
        sys.stderr.write('[labctl] error: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
