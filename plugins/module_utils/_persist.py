# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The persistence engine of lo_vip, director_vip, nat_route and arp_sysctl: plan files, diff
them, apply the kernel changes and then the files as one series of undoable steps, reload each
network back end once, and roll every step back when one fails.

Order, the same for every module: kernel changes first, files last. The kernel is what refuses
(a missing device, an address or route it will not take); a file is written only once the kernel
state it describes exists, so a refused change never leaves a file that would bring half of it
back at boot, and a file we hold the old text of is the easiest step to undo.

A module supplies what is its own: the kernel steps (each with its undo), an Owner (the names
and marks of its files) and what it wants persisted; the network back ends (_persist_networkd,
_persist_ifupdown) plan the files. Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import tempfile

from ansible.module_utils.common.text.converters import to_native

PERSISTENCE_CHOICES = ('auto', 'networkd', 'networkmanager', 'ifupdown', 'none')
# Files the host runs rather than reads (NetworkManager's dispatcher scripts): written 0755.
EXECUTABLE_DIRS = ('/etc/NetworkManager/dispatcher.d',)


def argument_spec():
    """The options of every module that persists through the network back ends."""
    return dict(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        persistence=dict(type='str', default='auto', choices=list(PERSISTENCE_CHOICES)),
        reload_networkd=dict(type='bool', default=True),
    )


# Who writes a set of persistence files: the mark in their header, the prefix of its networkd
# drop-ins, its ifupdown file name (%s = device), whether it may create a .network file of its
# own for the device (lo_vip, for lo and the tunnel devices, which have none), whether its
# ifupdown file brings the device up itself (an `auto` line), and whether an address lives on one
# device only (its drop-ins on other devices' files go when it is bound elsewhere).
Owner = collections.namedtuple('Owner', 'mark dropin_prefix ifupdown_template create_network_file auto_line exclusive')

# One file of a plan: new is None to remove it.
FileChange = collections.namedtuple('FileChange', 'path old new')


class PersistError(ValueError):
    """A persistence choice that cannot work; the message names the option."""


class StepFailed(Exception):
    """A step that raised: what it was, and the error."""

    def __init__(self, what, exc):
        Exception.__init__(self, '%s: %s' % (what, to_native(exc)))


def read_text(path, root=''):
    try:
        with open(root + path, 'r') as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def file_mode(path):
    """0755 for a script the host runs, 0644 for the rest."""
    return 0o755 if os.path.dirname(path) in EXECUTABLE_DIRS else 0o644


def write_file_atomic(module, path, content):
    """A temporary file beside path, then module.atomic_move: a reader never sees half a file.
    The mode is set again after the move, which gives a new file 0644 whatever the temporary had."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix='.ansible-', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        os.chmod(tmp, file_mode(path))
        module.atomic_move(tmp, path)
        os.chmod(path, file_mode(path))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def put_file(module, path, content):
    """Write path, or remove it when content is None (an emptied drop-in folder goes too)."""
    if content is not None:
        write_file_atomic(module, path, content)
        return
    if os.path.lexists(path):
        os.unlink(path)
    directory = os.path.dirname(path)
    if directory.endswith('.network.d') and os.path.isdir(directory) and not os.listdir(directory):
        os.rmdir(directory)


def file_changes(plan):
    """[FileChange] for {path: new content or None}, in path order, leaving out files already so.

    Raises PersistError when a path exists and is not a regular file (it is not ours to replace)."""
    changes = []
    for path in sorted(plan):
        if os.path.lexists(path) and not os.path.isfile(path):
            raise PersistError('persistence: %s exists and is not a regular file' % path)
        old = read_text(path)
        if old != plan[path]:
            changes.append(FileChange(path, old, plan[path]))
    return changes


def state_diffs(header, before, after, changes):
    """The diff list of a call: the kernel state (lines of text) before and after, then each file."""
    diffs = [dict(before_header=header, after_header=header,
                  before=''.join('%s\n' % line for line in before), after=''.join('%s\n' % line for line in after))]
    for change in changes:
        diffs.append(dict(before_header=change.path, after_header=change.path,
                          before=change.old or '', after=change.new or ''))
    return diffs


# ---------------------------------------------------------------- back ends

def plan_device_route_files(routes, state, device_files, parse, render, path):
    """The route plan of a back end that keeps one file per device (ifupdown, NetworkManager):
    ({path: content or None}, [paths holding the routes]).

    device_files: [(path, device)] of the owner's files now. A route (destination and metric) goes
    through one device, so present drops it from every file before it is written to the device's;
    absent drops it only where it goes via the gateway given. parse(text, device) and
    render(device, routes) read and write a file; path(device) names the device's file."""
    plan = {}
    keys = set((r.dst, r.metric) for r in routes)
    gone = set((r.dst, r.metric, r.gateway) for r in routes)
    for file_path, device in device_files:
        existing = parse(read_text(file_path), device)
        if state == 'present':
            kept = [r for r in existing if (r.dst, r.metric) not in keys]
        else:
            kept = [r for r in existing if (r.dst, r.metric, r.gateway) not in gone]
        if kept != existing:
            plan[file_path] = render(device, kept)
    if state == 'absent':
        return plan, []
    device = routes[0].device
    own = path(device)
    existing = [r for r in parse(read_text(own), device) if (r.dst, r.metric) not in keys]
    plan[own] = render(device, existing + list(routes))
    return plan, [own]


def backends():
    """The network back ends, in the order persistence=auto tries them (the first whose probe
    says it runs this host wins). Each is an object with name, probe_text, in_use(root),
    unusable(root), plan_addresses, plan_routes and reload. NetworkManager before ifupdown: where
    both run, NetworkManager leaves a device that ifupdown configures unmanaged, so a stanza
    written for ifupdown would take the device away from it."""
    from ansible_collections.lvs.cluster.plugins.module_utils import (
        _persist_ifupdown, _persist_networkd, _persist_networkmanager)
    return [_persist_networkd.BACKEND, _persist_networkmanager.BACKEND, _persist_ifupdown.BACKEND]


def choose_backends(persistence, state, available=None, root=''):
    """The back ends a call writes (present) or cleans (absent); raises PersistError naming the option.

    auto + present: the first back end in use. auto + absent: all of them, so that the files of
    an earlier call are found whatever wrote them. An explicit back end that could not work on
    this host (its files would never be read at boot) is refused."""
    available = backends() if available is None else available
    if persistence == 'none':
        return []
    if persistence == 'auto':
        if state == 'absent':
            return list(available)
        for backend in available:
            if backend.in_use(root):
                return [backend]
        raise PersistError('persistence: auto found none of %s running this host (%s); set persistence to one '
                           'of them, or none' % (', '.join(b.name for b in available),
                                                 '; '.join(b.probe_text for b in available)))
    chosen = [b for b in available if b.name == persistence]
    if not chosen:
        raise PersistError('persistence: %r is not one of %s' % (persistence, ', '.join(PERSISTENCE_CHOICES)))
    if state == 'present':
        why = chosen[0].unusable(root)
        if why:
            raise PersistError('persistence: %s cannot work here: %s' % (persistence, why))
    return chosen


def reload_backends(module, chosen, changes, enabled=True):
    """Reload each back end once for the files of it that changed; returns the warnings."""
    warnings = []
    if not enabled or module.check_mode:
        return warnings
    paths = [change.path for change in changes]
    for backend in chosen:
        why = backend.reload(module, paths)
        if why:
            warnings.append(why)
    return warnings


# ---------------------------------------------------------------- steps and rollback

class Step(object):
    """One change: what it is (for messages), how to undo it, and what the result reports it as
    ([(return key, value)], such as [('added', '10.98.0.1/32')])."""

    __slots__ = ('what', 'undo', 'reports')

    def __init__(self, what, undo, report):
        self.what = what
        self.undo = undo
        self.reports = report if isinstance(report, list) else [report] if report else []


class Steps(object):
    """The steps a call made, in order; rollback undoes them last first."""

    def __init__(self):
        self.done = []
        self.undone = []
        self.not_restored = []
        self.rolled_back = False

    def run(self, what, do, undo, report=None):
        """Run do(); once it succeeded, the step is recorded with its undo and report (a pair or a list of pairs)."""
        try:
            result = do()
        except Exception as exc:  # pylint: disable=broad-except  # NetlinkError, OSError alike
            raise StepFailed(what, exc)
        self.done.append(Step(what, undo, report))
        return result

    def files(self, module, changes):
        """Write or remove each file, each an undoable step (the old text is put back)."""
        for change in changes:
            self.run('%s %s' % ('remove' if change.new is None else 'write', change.path),
                     lambda c=change: put_file(module, c.path, c.new),
                     lambda c=change: put_file(module, c.path, c.old),
                     ('changed_files', change.path))

    def rollback(self):
        """Undo every step, last first; an undo that fails is recorded, the others still run. Once."""
        if self.rolled_back:
            return
        self.rolled_back = True
        for step in reversed(self.done):
            try:
                step.undo()
                self.undone.append(step)
            except Exception as exc:  # pylint: disable=broad-except  # any error: report it, go on undoing
                self.not_restored.append('%s: %s' % (step.what, to_native(exc)))
        self.done = [step for step in self.done if step not in self.undone]

    def report(self, key):
        """The values of the steps reported under key that are in effect (done and not undone)."""
        return [value for step in self.done for name, value in step.reports if name == key]

    def fail(self, module, exc, result, keys):
        """Roll back after exc (a StepFailed, or any error between steps), unless done already, and fail
        with a result that says what is still done and what could not be restored."""
        failed_at = to_native(exc)
        self.rollback()
        for key in keys:
            result[key] = self.report(key)
        result['changed'] = bool(self.done)
        result['rollback'] = dict(undone=[step.what for step in self.undone], not_restored=self.not_restored)
        msg = 'failed, and rolled back %d earlier step(s): %s' % (len(self.undone), failed_at)
        if self.not_restored:
            msg += '; could NOT restore: %s' % '; '.join(self.not_restored)
        module.fail_json(msg=msg, **result)
