"""lab: a real-kernel lab for lvs.cluster, on a machine whose own kernel has no IPVS.

One Debian 12 guest runs under QEMU software emulation with Debian's own kernel (IPVS, every
scheduler, ipip...). Its lab hosts are systemd-nspawn system containers, each with its own network
namespace, /etc, systemd and sshd, on Linux bridges ("segments") inside the guest. The guest is
sealed: QEMU user networking with restrict=on, only its ssh port forwarded to 127.0.0.1. Ansible on
the controller reaches every host over ssh, jumping through that port.

See docs/lab.md. Run `lab --help` for the commands.
"""

import argparse
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import yaml

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(LAB_DIR)
HOME = os.environ.get('LVS_LAB_HOME') or os.path.join(os.path.expanduser('~'), '.cache', 'lvs-cluster-lab')
KEY = os.path.join(HOME, 'id_ed25519')
IMAGES = os.path.join(HOME, 'images')
GUEST = os.path.join(HOME, 'guest')
SSH_CONFIG = os.path.join(HOME, 'ssh_config')
HOSTS_FILE = os.path.join(HOME, 'hosts.yml')
INVENTORY = os.path.join(HOME, 'inventory.yml')
LABCTL = os.path.join(LAB_DIR, 'guest', 'labctl.py')
IMAGE_INPUTS = os.path.join(LAB_DIR, 'image')

# The Debian release of the guest (and so of every lab host): Debian 12 (bookworm, kernel 6.1) or
# Debian 13 (trixie, kernel 6.12). LVS_LAB_SUITE, `lab image/up --suite` or a scenario file's `suite:`
# chooses; each suite has an image of its own in the cache, keyed by its inputs.
SUITES = ('bookworm', 'trixie')
# What runs a lab host's network: systemd-networkd (the default), or NetworkManager (the RHEL family's,
# and many Ubuntu hosts'), to prove the collection's persistence there.
NETWORKS = ('networkd', 'networkmanager')
DEFAULT_SUITE = 'bookworm'
SUITE = os.environ.get('LVS_LAB_SUITE') or DEFAULT_SUITE


def mirrors(suite):
    return ['deb http://deb.debian.org/debian %s main' % suite,
            'deb http://deb.debian.org/debian %s-updates main' % suite,
            'deb http://deb.debian.org/debian-security %s-security main' % suite]


def choose_suite(suite, source):
    """Set the suite this command works on; refuse one the lab has no image recipe for."""
    global SUITE  # pylint: disable=global-statement
    if suite not in SUITES:
        raise LabError('%s: suite %r is not one the lab builds (%s)' % (source, suite, ', '.join(SUITES)))
    SUITE = suite


# Bump when the way an image is made changes in a way its input files do not show.
IMAGE_FORMAT = '1'
IMAGE_SIZE = '6G'
GUEST_MEMORY_MB = int(os.environ.get('LVS_LAB_MEMORY_MB', '4096'))
GUEST_CPUS = int(os.environ.get('LVS_LAB_CPUS', '2'))
GUEST_CPU_MODEL = os.environ.get('LVS_LAB_CPU_MODEL', 'max')
BOOT_TIMEOUT = 300
GUEST_ALIAS = 'lab-guest'
MGMT_WILDCARD = '172.31.255.*'
LOCK_FILE = os.path.join(HOME, 'lock')
# Commands that change the lab take its lock; the others (status, exec, ssh...) only read it.
LOCKED_COMMANDS = ('image', 'up', 'down', 'create', 'destroy', 'reset', 'stop', 'start', 'restart')
# How long a created, reset or started host may take to answer ssh after its systemd said it was up.
SSH_READY_TIMEOUT = 60


class LabError(Exception):
    pass


def say(msg):
    sys.stderr.write('[lab] %s\n' % msg)
    sys.stderr.flush()


class Step:
    """Announce a long step, then say how long it took (nobody stares at a silent terminal)."""

    def __init__(self, what):
        self.what = what
        self.started = None

    def __enter__(self):
        self.started = time.time()
        say('%s ...' % self.what)
        return self

    def __exit__(self, exc_type, exc, tb):
        took = time.time() - self.started
        say('%s: %s in %.1f s' % (self.what, 'failed' if exc_type else 'done', took))
        return False


def run(args, check=True, **kwargs):
    proc = subprocess.run(args, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise LabError('%s failed with exit code %d' % (' '.join(str(a) for a in args[:3]), proc.returncode))
    return proc


class LabLock:
    """One command at a time per lab home: a `lab destroy` run while `lab create` was still creating
    left hosts with the wrong management addresses. A second command waits for the first (it says
    which), then runs; the kernel drops the lock when its holder dies, so a killed command never
    leaves the lab locked."""

    def __init__(self, command):
        self.command = command
        self.handle = None

    def __enter__(self):
        os.makedirs(HOME, exist_ok=True)
        self.handle = open(LOCK_FILE, 'a+')  # pylint: disable=consider-using-with
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            self.handle.seek(0)
            holder = self.handle.read().strip() or 'another lab command'
            say('waiting for %s to finish (lock %s)' % (holder, LOCK_FILE))
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write('`lab %s` (pid %d)\n' % (self.command, os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        self.handle.seek(0)
        self.handle.truncate()
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
        return False


# ---------------------------------------------------------------- image

def image_hash():
    """Hash of everything that goes into the image: an unchanged image is never rebuilt."""
    digest = hashlib.sha256()
    digest.update(IMAGE_FORMAT.encode())
    digest.update(SUITE.encode())
    digest.update('\n'.join(mirrors(SUITE)).encode())
    for base, dirs, files in os.walk(IMAGE_INPUTS):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            if name.startswith('packages-') and name != 'packages-%s.txt' % SUITE:
                continue  # another suite's packages: not an input of this image
            digest.update(os.path.relpath(path, IMAGE_INPUTS).encode())
            digest.update(oct(os.stat(path).st_mode & 0o7777).encode())
            with open(path, 'rb') as handle:
                digest.update(handle.read())
    with open(KEY + '.pub', 'rb') as handle:
        digest.update(handle.read())
    return digest.hexdigest()[:16]


def ensure_key():
    os.makedirs(HOME, exist_ok=True)
    if not os.path.exists(KEY):
        run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'lvs-cluster-lab', '-f', KEY])


def packages():
    """packages.txt (every suite) and packages-SUITE.txt (this suite's own names and extras)."""
    names = []
    for listing in ('packages.txt', 'packages-%s.txt' % SUITE):
        path = os.path.join(IMAGE_INPUTS, listing)
        if os.path.exists(path):
            with open(path) as handle:
                names += [line.split('#', 1)[0].strip() for line in handle]
    return [name for name in names if name]


def cmd_image(args):
    if getattr(args, 'suite', None):
        choose_suite(args.suite, '--suite')
    ensure_key()
    digest = image_hash()
    target = os.path.join(IMAGES, digest)
    if os.path.exists(os.path.join(target, 'root.img')) and not args.force:
        say('image %s (%s) is up to date (%s)' % (digest, SUITE, target))
        return target
    for tool in ('mmdebstrap', 'mkfs.ext4', 'qemu-img', 'qemu-system-x86_64'):
        if shutil.which(tool) is None:
            raise LabError('%s is missing: run scripts/setup.sh (it installs the lab\'s apt packages)' % tool)
    os.makedirs(IMAGES, exist_ok=True)
    build = tempfile.mkdtemp(prefix='build-', dir=IMAGES)
    tree = os.path.join(build, 'tree')
    log_path = os.path.join(build, 'build.log')
    try:
        env = dict(os.environ)
        with open(KEY + '.pub') as handle:
            env['LAB_PUBKEY'] = handle.read().strip()
        with Step('building the %s guest tree with mmdebstrap (%d packages; log: %s)'
                  % (SUITE, len(packages()), log_path)):
            with open(log_path, 'w') as log:
                proc = subprocess.run(
                    ['mmdebstrap', '--variant=minbase', '--include=' + ','.join(packages()),
                     '--skip=cleanup/apt/lists',
                     '--setup-hook=cp -a %s/rootfs/. "$1"/' % IMAGE_INPUTS,
                     '--customize-hook=%s/customize.sh "$1"' % IMAGE_INPUTS,
                     SUITE, tree] + mirrors(SUITE), stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
            if proc.returncode != 0:
                raise LabError('mmdebstrap failed; the last lines of %s:\n%s' % (log_path, tail(log_path, 25)))
        with Step('making the disk image'):
            boot = os.path.join(tree, 'boot')
            kernels = sorted(f for f in os.listdir(boot) if f.startswith('vmlinuz-'))
            if not kernels:
                raise LabError('the guest tree has no kernel in /boot')
            version = kernels[-1][len('vmlinuz-'):]
            shutil.copy(os.path.join(boot, 'vmlinuz-' + version), os.path.join(build, 'vmlinuz'))
            shutil.copy(os.path.join(boot, 'initrd.img-' + version), os.path.join(build, 'initrd.img'))
            run(['mkfs.ext4', '-q', '-F', '-L', 'labroot', '-d', tree, os.path.join(build, 'root.img'), IMAGE_SIZE],
                stdout=subprocess.DEVNULL)
            shutil.rmtree(tree)
            with open(os.path.join(build, 'kernel-version'), 'w') as handle:
                handle.write(version + '\n')
            with open(os.path.join(build, 'suite'), 'w') as handle:
                handle.write(SUITE + '\n')
        if os.path.exists(target):
            shutil.rmtree(target)
        os.rename(build, target)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    prune_images(keep=digest)
    say('image %s (%s) ready in %s' % (digest, SUITE, target))
    return target


def prune_images(keep):
    """Remove images (about 1.3 GB each) and abandoned builds that nothing used for a day.

    Not at once: another lab home may share this images folder (a second lab for parallel work),
    with its own key and so its own image, booted or building right now. `lab up` touches the image
    it boots, so an image in use is never a day old.
    """
    now = time.time()
    for other in os.listdir(IMAGES):
        path = os.path.join(IMAGES, other)
        if other == keep or other == running_image() or not os.path.isdir(path):
            continue
        if now - os.stat(path).st_mtime > 24 * 3600:
            shutil.rmtree(path, ignore_errors=True)


def tail(path, lines):
    try:
        with open(path, errors='replace') as handle:
            return ''.join(handle.readlines()[-lines:])
    except OSError:
        return '(no %s)' % path


# ---------------------------------------------------------------- guest

def guest_file(name):
    return os.path.join(GUEST, name)


def read_guest(name):
    try:
        with open(guest_file(name)) as handle:
            return handle.read().strip()
    except OSError:
        return None


def guest_pid():
    """PID of the QEMU this lab started, or None. Never trusts a PID that is not our QEMU."""
    pid = read_guest('qemu.pid')
    if not pid:
        return None
    try:
        with open('/proc/%s/cmdline' % pid, 'rb') as handle:
            cmdline = handle.read().decode(errors='replace')
    except OSError:
        return None
    if 'qemu-system' in cmdline and guest_file('overlay.qcow2') in cmdline:
        return int(pid)
    return None


def running_image():
    return read_guest('image') if guest_pid() else None


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_ssh_config(port):
    common = ['  User root', '  IdentityFile %s' % KEY, '  IdentitiesOnly yes', '  StrictHostKeyChecking no',
              '  UserKnownHostsFile /dev/null', '  LogLevel ERROR', '  BatchMode yes', '  ServerAliveInterval 5']
    lines = ['# Written by lab; ssh -F %s HOST reaches a lab host through the guest.' % SSH_CONFIG,
             'Host %s' % GUEST_ALIAS, '  HostName 127.0.0.1', '  Port %d' % port]
    lines += common + ['  ControlMaster auto', '  ControlPath %s/cm-%%C' % HOME, '  ControlPersist 15m', '']
    hosts = load_hosts()
    for name in sorted(hosts.get('hosts', {})):
        address = hosts['hosts'][name].get('mgmt_address')
        if address:
            lines += ['Host %s' % name, '  HostName %s' % address, '']
    lines += ['Host %s %s' % (MGMT_WILDCARD, ' '.join(sorted(hosts.get('hosts', {})))),
              '  ProxyJump %s' % GUEST_ALIAS] + common + ['']
    with open(SSH_CONFIG, 'w') as handle:
        handle.write('\n'.join(lines))


def ssh_guest(command, input_text=None, check=True, capture=True):
    proc = subprocess.run(['ssh', '-F', SSH_CONFIG, GUEST_ALIAS, command], input=input_text, check=False,
                          stdout=subprocess.PIPE if capture else None, stderr=None, universal_newlines=True)
    if check and proc.returncode != 0:
        raise LabError('in the guest, `%s` failed (exit %d); console log: %s'
                       % (command[:60], proc.returncode, guest_file('console.log')))
    return proc


def labctl(command, doc):
    """Run the guest half with a JSON request; it is copied in first, so it never needs an image rebuild."""
    with open(LABCTL) as handle:
        script = handle.read()
    ssh_guest('mkdir -p /run/lab && cat > /run/lab/labctl.py', input_text=script)
    proc = ssh_guest('python3 /run/lab/labctl.py %s' % command, input_text=json.dumps(doc), check=False)
    if proc.returncode != 0:
        raise LabError('labctl %s failed in the guest (see above); more: lab exec guest -- journalctl -b -n 100' % command)
    return json.loads(proc.stdout)


def guest_reachable():
    return subprocess.run(['ssh', '-F', SSH_CONFIG, '-o', 'ConnectTimeout=3', GUEST_ALIAS, 'true'], check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def spec_suite(path):
    """The suite a scenario file asks for (`suite:`), or the lab's default."""
    with open(path) as handle:
        spec = yaml.safe_load(handle)
    suite = spec.get('suite') if isinstance(spec, dict) else None
    return suite or os.environ.get('LVS_LAB_SUITE') or DEFAULT_SUITE


def cmd_up(args):
    if getattr(args, 'spec', None):
        choose_suite(spec_suite(args.spec), args.spec)
    elif getattr(args, 'suite', None):
        choose_suite(args.suite, '--suite')
    image_dir = cmd_image(argparse.Namespace(force=False))
    digest = os.path.basename(image_dir)
    os.utime(image_dir)  # in use: prune_images keeps it
    pid = guest_pid()
    if pid:
        if read_guest('image') == digest and guest_reachable():
            say('guest already running (pid %d, %s image %s, ssh port %s): reusing it'
                % (pid, SUITE, digest, read_guest('port')))
            return
        say('the running guest (pid %d) uses image %s, not %s: stopping it' % (pid, read_guest('image'), digest))
        cmd_down(args)
    os.makedirs(GUEST, exist_ok=True)
    overlay = guest_file('overlay.qcow2')
    for stale in ('overlay.qcow2', 'qemu.pid', 'console.log'):
        if os.path.exists(guest_file(stale)):
            os.remove(guest_file(stale))
    save_hosts({'hosts': {}})
    run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', os.path.join(image_dir, 'root.img'), '-F', 'raw', overlay])
    port = free_port()
    with Step('booting the guest (QEMU, software emulation, %d MiB, ssh on 127.0.0.1:%d)' % (GUEST_MEMORY_MB, port)):
        run(['qemu-system-x86_64', '-name', 'lvs-cluster-lab', '-accel', 'tcg,thread=multi', '-smp', str(GUEST_CPUS),
             '-cpu', GUEST_CPU_MODEL, '-m', str(GUEST_MEMORY_MB), '-display', 'none', '-no-reboot',
             '-kernel', os.path.join(image_dir, 'vmlinuz'), '-initrd', os.path.join(image_dir, 'initrd.img'),
             '-append', 'console=ttyS0 root=/dev/vda rw quiet panic=-1',
             '-drive', 'file=%s,if=virtio,format=qcow2,cache=unsafe' % overlay,
             # Sealed: user networking with restrict=on has no route out; only ssh comes in.
             '-netdev', 'user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22' % port,
             '-device', 'virtio-net-pci,netdev=n0',
             '-serial', 'file:' + guest_file('console.log'),
             '-daemonize', '-pidfile', guest_file('qemu.pid')])
        with open(guest_file('port'), 'w') as handle:
            handle.write(str(port))
        with open(guest_file('image'), 'w') as handle:
            handle.write(digest)
        with open(guest_file('suite'), 'w') as handle:
            handle.write(SUITE)
        write_ssh_config(port)
        deadline = time.time() + BOOT_TIMEOUT
        while not guest_reachable():
            if not guest_pid():
                raise LabError('QEMU exited while booting; console log %s ends with:\n%s'
                               % (guest_file('console.log'), tail(guest_file('console.log'), 20)))
            if time.time() > deadline:
                raise LabError('no ssh after %d s; console log %s ends with:\n%s'
                               % (BOOT_TIMEOUT, guest_file('console.log'), tail(guest_file('console.log'), 20)))
            time.sleep(1)
    proc = ssh_guest('systemctl is-system-running --wait; systemctl --failed --no-legend', check=False)
    if proc.stdout.split('\n', 1)[0].strip() != 'running':
        say('warning: the guest is %s' % proc.stdout.strip())


def cmd_down(_args):
    pid = guest_pid()
    if pid:
        with Step('stopping the guest (pid %d)' % pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.time() + 15
            while guest_pid() and time.time() < deadline:
                time.sleep(0.2)
            if guest_pid():
                os.kill(pid, signal.SIGKILL)
                time.sleep(0.5)
    else:
        say('no guest of this lab is running')
    # The multiplexed ssh master to the guest is ours too.
    if os.path.exists(SSH_CONFIG):
        subprocess.run(['ssh', '-F', SSH_CONFIG, '-O', 'exit', GUEST_ALIAS], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    for name in ('overlay.qcow2', 'qemu.pid', 'port', 'image', 'suite'):
        if os.path.exists(guest_file(name)):
            os.remove(guest_file(name))
    for path in (HOSTS_FILE, INVENTORY, SSH_CONFIG):
        if os.path.exists(path):
            os.remove(path)
    if guest_pid():
        raise LabError('QEMU (pid %d) is still running' % pid)


def require_guest():
    if not guest_pid():
        raise LabError('the guest is not running: run `lab up` first')
    if not os.path.exists(SSH_CONFIG):
        write_ssh_config(int(read_guest('port')))


# ---------------------------------------------------------------- hosts

def load_hosts():
    if os.path.exists(HOSTS_FILE):
        with open(HOSTS_FILE) as handle:
            return yaml.safe_load(handle) or {'hosts': {}}
    return {'hosts': {}}


def save_hosts(doc):
    os.makedirs(HOME, exist_ok=True)
    with open(HOSTS_FILE, 'w') as handle:
        yaml.safe_dump(doc, handle, default_flow_style=False, sort_keys=True)


def validate_spec(spec, source):
    """Refuse a bad scenario file with a message that names the place, before the guest is touched."""
    if not isinstance(spec, dict) or not isinstance(spec.get('hosts'), dict) or not spec['hosts']:
        raise LabError('%s: needs a mapping `hosts:` with at least one host' % source)
    if spec.get('suite') is not None and spec['suite'] not in SUITES:
        raise LabError('%s: `suite:` must be one of %s' % (source, ', '.join(SUITES)))
    segments = spec.get('segments') or {}
    if not isinstance(segments, dict):
        raise LabError('%s: `segments:` must be a mapping of segment name to options' % source)
    for segment in segments:
        if len('br-' + segment) > 15 or not segment.replace('-', '').isalnum():
            raise LabError('%s: segment name %r must be alphanumeric and at most 12 characters '
                           '(Linux interface names are limited to 15)' % (source, segment))
    for name, host in spec['hosts'].items():
        if not name.replace('-', '').isalnum() or len(name) > 32:
            raise LabError('%s: host name %r must be alphanumeric (dashes allowed), at most 32 characters' % (source, name))
        host = host or {}
        if host.get('network', NETWORKS[0]) not in NETWORKS:
            raise LabError('%s: hosts.%s.network must be one of %s' % (source, name, ', '.join(NETWORKS)))
        for ifname, iface in (host.get('interfaces') or {}).items():
            where = '%s: hosts.%s.interfaces.%s' % (source, name, ifname)
            if len(ifname) > 15 or ifname == 'mgmt0':
                raise LabError('%s: interface names are at most 15 characters and mgmt0 is the lab\'s own' % where)
            if not isinstance(iface, dict) or iface.get('segment') not in segments:
                raise LabError('%s: `segment` must name one of the declared segments (%s)'
                               % (where, ', '.join(sorted(segments)) or 'none declared'))
            addresses = iface.get('address') or []
            for address in [addresses] if isinstance(addresses, str) else addresses:
                if '/' not in str(address):
                    raise LabError('%s: address %r needs a prefix length, e.g. 10.10.0.11/24' % (where, address))


def guest_spec(spec):
    hosts = {}
    for name, host in spec['hosts'].items():
        host = host or {}
        hosts[name] = {'interfaces': host.get('interfaces') or {}, 'forward': bool(host.get('forward'))}
        if host.get('network', NETWORKS[0]) != NETWORKS[0]:
            hosts[name]['network'] = host['network']
    return {'segments': spec.get('segments') or {}, 'hosts': hosts}


def record_hosts(spec, result):
    doc = load_hosts()
    for name, host in spec.get('hosts', {}).items():
        host = dict(host or {})
        host['mgmt_address'] = result['hosts'][name]['mgmt_address']
        doc['hosts'][name] = host
    for name in list(doc['hosts']):
        if name not in result['hosts']:
            doc['hosts'].pop(name)
    save_hosts(doc)
    write_ssh_config(int(read_guest('port')))
    write_inventory(INVENTORY)


def wait_ssh(names):
    """Every host named answers ssh on its management address, or the command fails naming it."""
    deadline = time.time() + SSH_READY_TIMEOUT
    pending = sorted(names)
    while pending:
        pending = [name for name in pending if subprocess.run(
            ['ssh', '-F', SSH_CONFIG, '-o', 'ConnectTimeout=5', name, 'true'], check=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0]
        if pending and time.time() > deadline:
            raise LabError('host(s) %s booted but do not answer ssh after %d s; see: lab exec guest -- '
                           'journalctl -M HOST -b -u ssh' % (' '.join(pending), SSH_READY_TIMEOUT))
        if pending:
            time.sleep(1)


def cmd_create(args):
    with open(args.spec) as handle:
        spec = yaml.safe_load(handle)
    validate_spec(spec, args.spec)
    require_guest()
    wanted = spec.get('suite') or os.environ.get('LVS_LAB_SUITE') or DEFAULT_SUITE
    running = read_guest('suite') or DEFAULT_SUITE
    if wanted != running:
        raise LabError('%s asks for a %s guest, the running guest is %s: run `lab up --spec %s` first'
                       % (args.spec, wanted, running, args.spec))
    with Step('creating %d lab host(s) from %s' % (len(spec['hosts']), args.spec)):
        result = labctl('create', guest_spec(spec))
        record_hosts(spec, result)
        wait_ssh(spec['hosts'])
    say('inventory: %s   ssh config: %s' % (INVENTORY, SSH_CONFIG))


def cmd_destroy(args):
    require_guest()
    doc = {'hosts': args.hosts, 'all': not args.hosts}
    with Step('destroying %s' % (' '.join(args.hosts) if args.hosts else 'every lab host and segment')):
        result = labctl('destroy', doc)
        record_hosts({'hosts': {}}, result)


def cmd_reset(args):
    require_guest()
    with Step('resetting %s to fresh hosts' % (' '.join(args.hosts) if args.hosts else 'every lab host')):
        result = labctl('reset', {'hosts': args.hosts})
        wait_ssh(args.hosts or result['hosts'])


def power(action, args):
    require_guest()
    doc = {'host': args.host, 'action': action, 'hard': getattr(args, 'hard', False)}
    label = {'stop': 'powering off', 'start': 'powering on', 'restart': 'rebooting'}[action]
    with Step('%s %s%s' % (label, args.host, ' (hard)' if doc['hard'] else '')):
        labctl('power', doc)
        if action in ('start', 'restart'):
            wait_ssh([args.host])


def inventory_doc():
    doc = load_hosts()
    # Ansible's ssh multiplexing sockets are named by address, port and user: every lab hands out the same
    # 172.31.255.x addresses, so labs on one controller (LVS_LAB_HOME) need sockets of their own, or a run
    # reuses another lab's connection and changes that lab's host.
    common = {'ansible_user': 'root', 'ansible_ssh_private_key_file': KEY,
              'ansible_ssh_common_args': '-F %s' % SSH_CONFIG, 'ansible_python_interpreter': '/usr/bin/python3',
              'ansible_control_path_dir': os.path.join(HOME, 'cp')}
    inventory = {'all': {'vars': {}, 'hosts': {}, 'children': {}}}
    for name, host in sorted(doc['hosts'].items()):
        hostvars = dict(common)
        hostvars['ansible_host'] = host['mgmt_address']
        hostvars['lab_mgmt_address'] = host['mgmt_address']
        interfaces = host.get('interfaces') or {}
        hostvars['lab_interfaces'] = interfaces
        # The first address of each segment, by segment name: what scenarios use as "the host's address there".
        hostvars['lab_addresses'] = {}
        for iface in interfaces.values():
            address = iface.get('address')
            address = address[0] if isinstance(address, list) else address
            if address:
                hostvars['lab_addresses'].setdefault(iface['segment'], address.split('/')[0])
        hostvars.update(host.get('vars') or {})
        inventory['all']['hosts'][name] = hostvars
        for group in host.get('groups') or []:
            inventory['all']['children'].setdefault(group, {'hosts': {}})['hosts'][name] = None
    return inventory


def write_inventory(path):
    with open(path, 'w') as handle:
        handle.write('# Written by lab from the hosts it created. Regenerate: lab inventory\n')
        yaml.safe_dump(inventory_doc(), handle, default_flow_style=False, sort_keys=False)


def cmd_inventory(args):
    require_guest()
    write_inventory(args.output or INVENTORY)
    say('inventory written to %s' % (args.output or INVENTORY))


def cmd_instance_config(_args):
    """The instance list molecule's delegated driver reads (MOLECULE_INSTANCE_CONFIG)."""
    doc = load_hosts()
    items = [{'instance': name, 'address': host['mgmt_address'], 'user': 'root', 'port': 22, 'identity_file': KEY}
             for name, host in sorted(doc['hosts'].items())]
    yaml.safe_dump(items, sys.stdout, default_flow_style=False)


def cmd_exec(args):
    require_guest()
    target = GUEST_ALIAS if args.host == 'guest' else args.host
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    proc = subprocess.run(['ssh', '-F', SSH_CONFIG, target] + command, check=False)
    sys.exit(proc.returncode)


def cmd_ssh(args):
    require_guest()
    target = GUEST_ALIAS if args.host in (None, 'guest') else args.host
    os.execvp('ssh', ['ssh', '-F', SSH_CONFIG, '-t', target])


def cmd_status(_args):
    pid = guest_pid()
    if not pid:
        print('guest: not running   (lab up starts it)')
        return
    print('guest: running, pid %d, %s image %s, ssh 127.0.0.1:%s, console log %s'
          % (pid, read_guest('suite') or DEFAULT_SUITE, read_guest('image'), read_guest('port'),
             guest_file('console.log')))
    result = labctl('status', {})
    hosts = load_hosts()['hosts']
    print('segments: %s' % (' '.join(result['segments']) or '-'))
    print('%-14s %-8s %-15s %s' % ('host', 'state', 'mgmt0', 'interfaces'))
    for name, info in sorted(result['hosts'].items()):
        ifaces = hosts.get(name, {}).get('interfaces') or {}
        text = ', '.join('%s=%s@%s' % (i, v.get('address'), v.get('segment')) for i, v in sorted(ifaces.items()))
        print('%-14s %-8s %-15s %s' % (name, 'running' if info['running'] else 'stopped', info['mgmt_address'], text))
    print('inventory: %s\nssh:       ssh -F %s HOST' % (INVENTORY, SSH_CONFIG))


def cmd_console(args):
    print(tail(guest_file('console.log'), args.lines), end='')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='lab', description=__doc__.split('\n\n', maxsplit=1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='State lives in %s (LVS_LAB_HOME overrides it).' % HOME)
    sub = parser.add_subparsers(dest='command', required=True)
    image = sub.add_parser('image', help='build the guest image unless an identical one is cached')
    image.add_argument('--force', action='store_true', help='rebuild even if cached')
    image.add_argument('--suite', choices=SUITES, help='Debian release of the guest (default: LVS_LAB_SUITE or %s)'
                       % DEFAULT_SUITE)
    image.set_defaults(func=cmd_image)
    up = sub.add_parser('up', help='build the image if needed and boot the guest (reuses a running one)')
    up.add_argument('--suite', choices=SUITES, help='Debian release of the guest (default: LVS_LAB_SUITE or %s)'
                    % DEFAULT_SUITE)
    up.add_argument('--spec', help="a scenario file: boot the suite its `suite:` names")
    up.set_defaults(func=cmd_up)
    sub.add_parser('down', help='stop the guest (only the QEMU this lab started) and forget its hosts').set_defaults(func=cmd_down)
    create = sub.add_parser('create', help='create the segments and hosts a scenario file declares')
    create.add_argument('spec', help='YAML file with segments: and hosts: (see docs/lab.md)')
    create.set_defaults(func=cmd_create)
    for name, func, text in (('destroy', cmd_destroy, 'remove hosts (all hosts and segments if none named)'),
                             ('reset', cmd_reset, 'make hosts fresh again: new disk layer and network namespace')):
        parser_x = sub.add_parser(name, help=text)
        parser_x.add_argument('hosts', nargs='*')
        parser_x.set_defaults(func=func)
    for action, text in (('stop', 'power a host off'), ('start', 'power a host on'),
                         ('restart', 'reboot a host: its disk stays, its kernel state (addresses, IPVS) starts empty')):
        parser_x = sub.add_parser(action, help=text)
        parser_x.add_argument('host')
        if action == 'stop':
            parser_x.add_argument('--hard', action='store_true', help='cut the power: no clean shutdown')
        parser_x.set_defaults(func=lambda args, action=action: power(action, args))
    inventory = sub.add_parser('inventory', help='write the Ansible inventory of the current hosts')
    inventory.add_argument('--output', '-o')
    inventory.set_defaults(func=cmd_inventory)
    sub.add_parser('instance-config', help='print the instance list for molecule').set_defaults(func=cmd_instance_config)
    execp = sub.add_parser('exec', help='run a command in a host (or in "guest")')
    execp.add_argument('host')
    execp.add_argument('command', nargs=argparse.REMAINDER)
    execp.set_defaults(func=cmd_exec)
    sshp = sub.add_parser('ssh', help='open a shell in a host (or the guest)')
    sshp.add_argument('host', nargs='?')
    sshp.set_defaults(func=cmd_ssh)
    sub.add_parser('status', help='show the guest and its hosts').set_defaults(func=cmd_status)
    console = sub.add_parser('console', help="show the end of the guest's console log")
    console.add_argument('--lines', '-n', type=int, default=40)
    console.set_defaults(func=cmd_console)
    args = parser.parse_args(argv)
    try:
        if args.command in LOCKED_COMMANDS:
            with LabLock(args.command):
                args.func(args)
        else:
            args.func(args)
    except LabError as exc:
        say('error: %s' % exc)
        return 1
    except KeyboardInterrupt:
        say('interrupted')
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
