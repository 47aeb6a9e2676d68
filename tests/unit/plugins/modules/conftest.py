# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network-namespace harness of the module tests: each test runs its steps in one fresh
network and mount namespace (`unshare -n -m`), with tmpfs over the directories the modules write
(systemd-networkd, ifupdown's interfaces.d, sysctl.d) and over networkd's runtime state, so
nothing outside the namespace changes and the host's own configuration does not leak in.

A step is ('sh', command) or ('module', args, check_mode, diff_mode, inject). inject makes calls
fail where the module's steps meet the system, as a kernel or file system refusal would (OSError):
[(NETLINK_ADD, [2])] fails the 2nd address added over netlink, [(ATOMIC_MOVE, [1])] the first
file moved into place. Skipped where unshare is not allowed (not root) or pyroute2 is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, '.collections')
SEP = '@@STEP@@'
NETLINK = 'ansible_collections.lvs.cluster.plugins.module_utils._rtnetlink.Netlink.'
NETLINK_ADD = NETLINK + 'add'
NETLINK_DELETE = NETLINK + 'delete'
NETLINK_REPLACE_ROUTE = NETLINK + 'replace_route'
ATOMIC_MOVE = 'ansible.module_utils.basic.AnsibleModule.atomic_move'
HIDDEN = ('/etc/systemd/network', '/run/systemd/netif', '/etc/network/interfaces.d', '/etc/sysctl.d', '/run/sysctl.d',
          '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d')

# Runs a module with one call of a class's method failing (OSError), as a kernel or file system
# refusal would, then hands over to the module as `python -m` would.
INJECT = r'''
import errno, importlib, json, runpy, sys
module, args, injections = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])


def inject(target, calls):
    owner_path, attr = target.rsplit('.', 1)
    try:  # a module's function
        owner = importlib.import_module(owner_path)
    except ImportError:  # a class's method
        package, name = owner_path.rsplit('.', 1)
        owner = getattr(importlib.import_module(package), name)
    real = getattr(owner, attr)
    count = [0]

    def failing(*pos, **kw):
        count[0] += 1
        if count[0] in calls:
            raise OSError(errno.EPERM, 'injected failure of %s (call %d)' % (attr, count[0]))
        return real(*pos, **kw)

    setattr(owner, attr, failing)


for target, calls in injections:
    inject(target, calls)
sys.argv = [module, args]
runpy.run_module(module, run_name='__main__', alter_sys=True)
'''


def _unshare_works():
    try:
        return subprocess.call(['unshare', '-n', '-m', 'true'], stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False


def _has_pyroute2():
    try:
        import pyroute2  # noqa: F401  pylint: disable=unused-import
        return True
    except ImportError:
        return False


def _module_line(module, step):
    args = dict(step[1])
    args['_ansible_check_mode'] = bool(step[2]) if len(step) > 2 else False
    args['_ansible_diff'] = bool(step[3]) if len(step) > 3 else False
    payload = json.dumps({'ANSIBLE_MODULE_ARGS': args})
    inject = step[4] if len(step) > 4 else None
    if inject is None:
        return '%s -m %s %s' % (shlex.quote(sys.executable), module, shlex.quote(payload))
    return '%s -c %s %s %s %s' % (shlex.quote(sys.executable), shlex.quote(INJECT), module, shlex.quote(payload),
                                  shlex.quote(json.dumps(inject)))


def run_in_namespace(module, steps, setup=()):
    """Run setup, then the steps, in one fresh namespace; JSON for module steps, stdout for shell steps."""
    lines = ['set -u']
    lines += ['if [ -d %s ]; then mount -t tmpfs tmpfs %s; fi' % (path, path) for path in HIDDEN]
    lines += ['if [ -f /etc/sysctl.conf ]; then mount --bind /dev/null /etc/sysctl.conf; fi', 'ip link set lo up']
    lines += list(setup)
    for step in steps:
        lines.append('echo %s' % SEP)
        lines.append(_module_line(module, step) if step[0] == 'module' else step[1])
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    out = subprocess.run(['unshare', '-n', '-m', 'bash', '-c', '\n'.join(lines)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    chunks = out.stdout.split(SEP + '\n')[1:]
    assert len(chunks) == len(steps), out.stderr
    return [json.loads(chunk) if step[0] == 'module' else chunk for step, chunk in zip(steps, chunks)]


class Namespace(object):
    """netns(module, steps, setup) runs them; the targets for inject are attributes."""
    NETLINK_ADD = NETLINK_ADD
    NETLINK_DELETE = NETLINK_DELETE
    NETLINK_REPLACE_ROUTE = NETLINK_REPLACE_ROUTE
    ATOMIC_MOVE = ATOMIC_MOVE

    def __call__(self, module, steps, setup=()):
        return run_in_namespace(module, steps, setup)


@pytest.fixture
def netns():
    """A Namespace, or a skip where the namespace cannot be made."""
    if not _unshare_works() or not os.path.isdir('/etc/systemd/network') or not _has_pyroute2():
        pytest.skip('needs root, unshare -n -m, /etc/systemd/network and pyroute2')
    return Namespace()
