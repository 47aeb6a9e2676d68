#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: arp_sysctl
short_description: ARP and reverse-path filter sysctls for LVS-DR and LVS-TUN real servers
version_added: 0.1.0
description:
  - Sets C(arp_ignore), C(arp_announce) and, when asked, C(rp_filter) under C(net.ipv4.conf) for
    C(all), C(default) and the named interfaces, at once (by writing C(/proc/sys)) and persistently
    (one file in C(/etc/sysctl.d)).
  - A real server of LVS-DR or LVS-TUN holds the virtual IP on C(lo) or C(tunl0) and must not answer
    ARP for it nor announce it as a source address, or it steals the virtual IP from the director.
    C(arp_ignore=1) and C(arp_announce=2) are the usual values. LVS-TUN also needs C(rp_filter) 0 or 2,
    because the decapsulated packets arrive on C(tunl0), which has no route back to the client.
  - For these three keys the kernel uses the larger of the C(all) value and the interface's own value.
    That is why the module writes the same value to C(all), C(default) (which interfaces created later
    start with) and to each named interface, and why it reports the resulting RV(effective) value of
    every interface.
  - With O(state=absent) the module removes its file and puts back, for each key it had set, the value
    the rest of the sysctl configuration gives it (see notes), like the C(stop) branch of the classic
    real-server scripts but without assuming every value was 0.
options:
  state:
    description:
      - V(present) writes the values now and into O(sysctl_file).
      - V(absent) removes O(sysctl_file) and restores the keys that file set, plus the keys the other
        options name, to the values the remaining configuration gives them.
      - A V(present) run that no longer sets a key the file set before (an interface or O(rp_filter)
        dropped from the options) restores that key the same way.
    type: str
    choices: [present, absent]
    default: present
  interfaces:
    description:
      - Interfaces that get the values too, in addition to C(all) and C(default), which are always managed
        (naming them here is harmless).
      - Names with dots such as C(eth0.100) work; in the file they are written in the slash form
        C(net/ipv4/conf/eth0.100/arp_ignore = 1), where dots are literal.
      - With O(state=present) an interface that does not exist is an error naming it, unless
        O(allow_missing_interfaces=true).
    type: list
    elements: str
    default: []
  arp_ignore:
    description:
      - Value of C(arp_ignore), 0 to 8. C(1) answers ARP only for addresses configured on the
        receiving interface, so the virtual IP on C(lo) or C(tunl0) is never answered for.
    type: int
    default: 1
  arp_announce:
    description:
      - Value of C(arp_announce), 0 to 2. C(2) always uses the best local address of the outgoing
        interface as ARP source, never the virtual IP.
    type: int
    default: 2
  rp_filter:
    description:
      - Value of C(rp_filter), 0 (off), 1 (strict) or 2 (loose). LVS-TUN real servers need 0 or 2.
      - Not managed when omitted.
    type: int
  sysctl_file:
    description:
      - The file that holds the settings. Must be directly in C(/etc/sysctl.d) and end in C(.conf).
      - The default sorts after systemd's C(50-default.conf) and before Debian's C(99-sysctl.conf)
        (a link to C(/etc/sysctl.conf)), so an administrator's C(/etc/sysctl.conf) still has the last word at boot.
    type: path
    default: /etc/sysctl.d/90-lvs-cluster-arp.conf
  allow_missing_interfaces:
    description:
      - With V(true), an interface in O(interfaces) that does not exist yet is only written to
        O(sysctl_file) (systemd's udev rule applies C(sysctl.d) settings to an interface when it appears),
        with a warning, instead of failing.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports what would change; writes neither C(/proc/sys) nor the file.
  diff_mode:
    support: full
    description: Two diffs, the runtime values and the file.
  platform:
    support: full
    platforms: linux
    description: Linux only (C(/proc/sys)).
notes:
  - Values are written directly to C(/proc/sys/net/ipv4/conf/<interface>/<key>); C(sysctl) is not run.
    The file is written to a temporary file in C(/etc/sysctl.d) and moved into place.
  - "On failure the module rolls back: it writes the kernel values first (C(all) first) and the file last; when a step
    fails, every value written before is set back to what it was and the file put back, the task fails, and
    RV(rollback) says what was undone and any undo that failed too (with its error), RV(written) the values still
    in effect."
  - "What O(state=absent) restores, precisely: for each key path it reapplies what the remaining
    configuration says, read the way C(systemd-sysctl) reads it: C(*.conf) files in C(/etc/sysctl.d),
    C(/run/sysctl.d), C(/usr/local/lib/sysctl.d), C(/usr/lib/sysctl.d) (and C(/lib/sysctl.d)), a file
    name in an earlier directory hiding the same name in a later one, read in file-name order, then
    C(/etc/sysctl.conf) if no C(sysctl.d) link points at it. The last explicit assignment of a key wins;
    an explicit assignment beats any glob such as systemd's C(net.ipv4.conf.*.rp_filter = 2); a glob
    does not apply to a key excluded with a C(-key) line. When nothing configures the key it gets the
    kernel default 0. For a named interface 0 is neutral: the kernel acts on the larger of the C(all)
    value and the interface's own, so the interface simply follows C(all) again."
  - The value restored and where it came from are returned in RV(restored), with the interfaces that took the old
    C(default) value when they were created and follow C(default) again.
  - Every run compares the running values with the wanted ones, so a value changed by other means (for example
    C(sysctl -w)) is put back and reported as a change.
  - Only IPv4 has these keys; IPv6 neighbour discovery has no C(arp_ignore) equivalent.
requirements:
  - Linux with C(/proc/sys) writable for C(net.ipv4.conf) (true for root on a host or in a container
    with its own network namespace).
seealso:
  - module: lvs.cluster.lo_vip
  - name: ip-sysctl.txt, the kernel's documentation of arp_ignore, arp_announce and rp_filter
    link: https://www.kernel.org/doc/Documentation/networking/ip-sysctl.txt
    description: Meaning of every value.
author:
  - lvs.cluster contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: LVS-DR real server, usual values for all, default and eth0
  lvs.cluster.arp_sysctl:
    interfaces: [eth0]

- name: LVS-TUN real server, loose reverse-path filter, VLAN interface
  lvs.cluster.arp_sysctl:
    interfaces: [eth0.100, tunl0]
    arp_ignore: 1
    arp_announce: 2
    rp_filter: 2

- name: Settings for an interface created later by another role
  lvs.cluster.arp_sysctl:
    interfaces: [bond0]
    allow_missing_interfaces: true

- name: Stop being a real server, put back what the rest of the configuration says
  lvs.cluster.arp_sysctl:
    state: absent
'''

RETURN = r'''
sysctl_file:
  description: The managed file.
  returned: always
  type: str
  sample: /etc/sysctl.d/90-lvs-cluster-arp.conf
settings:
  description:
    - The values of the managed keys after the call (predicted in check mode), by interface and key.
    - An interface that does not exist is left out.
  returned: always
  type: dict
  sample: {"all": {"arp_announce": 2, "arp_ignore": 1}, "default": {"arp_announce": 2, "arp_ignore": 1},
           "eth0": {"arp_announce": 2, "arp_ignore": 1}}
effective:
  description:
    - For every existing interface, the value the kernel acts on for each key, the larger of the C(all)
      value and the interface's own, after the call (predicted in check mode).
  returned: always
  type: dict
  sample: {"eth0": {"arp_announce": 2, "arp_ignore": 1, "rp_filter": 2}, "lo": {"arp_announce": 2, "arp_ignore": 1, "rp_filter": 0}}
restored:
  description:
    - With O(state=absent), each key path restored, the value put back and where it comes from
      (a configuration file, or C(kernel default)).
    - Also each interface that held the value the old file gave C(default) where the call changes C(default)
      (source C(default (taken when the interface was created))). An interface created after C(systemd-sysctl) ran,
      which after a reboot is every network device, starts with C(default)'s value and keeps it; it follows C(default)
      again unless the configuration sets its key or it holds another value.
  returned: when state is absent, or when a present run drops keys its file set before or changes C(default)
  type: dict
  sample: {"net/ipv4/conf/all/rp_filter": {"value": 0, "source": "kernel default"},
           "net/ipv4/conf/eth0/rp_filter": {"value": 2, "source": "/etc/sysctl.d/50-site.conf"}}
missing_interfaces:
  description: Named interfaces that do not exist (only possible with O(allow_missing_interfaces) or O(state=absent)).
  returned: always
  type: list
  elements: str
  sample: []
written:
  description: On failure, the key paths whose new value is still in effect after the rollback (empty when all went back).
  returned: failure after a change was started
  type: list
  elements: str
  sample: []
changed_files:
  description: On failure, the sysctl.d file if it was written (or removed) and could not be put back.
  returned: failure after a change was started
  type: list
  elements: str
  sample: ["/etc/sysctl.d/90-lvs-cluster-arp.conf"]
rollback:
  description:
    - On a failure after the values and the file started to change, C(undone) lists the steps rolled back (last
      first), and C(not_restored) the undos that failed too, each with its error (what they name is still in effect).
  returned: failure after a change was started
  type: dict
  sample: {"undone": ["write 1 to /proc/sys/net/ipv4/conf/all/arp_ignore"], "not_restored": []}
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist
from ansible_collections.lvs.cluster.plugins.module_utils import _sysctl as sysctl

PROC_SYS = '/proc/sys'


def apply(module, to_write, before, changes):
    """The kernel values first ('all' first: a raised 'all' takes effect on every interface at once),
    then the file, each an undoable step of the persistence engine; returns the Steps, or fails the
    module after rolling every step back."""
    steps = persist.Steps()
    try:
        for key in sorted(to_write, key=lambda item: sysctl.split_key_path(item)[0] != sysctl.ALL):
            old = before[key]
            steps.run('write %d to %s' % (to_write[key], os.path.join(PROC_SYS, key)),
                      lambda k=key: sysctl.write_proc_value(k, to_write[k], PROC_SYS),
                      (lambda k=key, v=old: sysctl.write_proc_value(k, v, PROC_SYS)) if old is not None else (lambda: None),
                      ('written', key))
        steps.files(module, changes)
    except Exception as exc:  # pylint: disable=broad-except  # every failure rolls back
        return steps, exc
    return steps, None


def by_interface(values):
    """{key_path: value} -> {interface: {key: value}}."""
    result = {}
    for path, value in values.items():
        interface, key = sysctl.split_key_path(path)
        if value is not None:
            result.setdefault(interface, {})[key] = value
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            interfaces=dict(type='list', elements='str', default=[]),
            arp_ignore=dict(type='int', default=1),
            arp_announce=dict(type='int', default=2),
            rp_filter=dict(type='int'),
            sysctl_file=dict(type='path', default='/etc/sysctl.d/90-lvs-cluster-arp.conf'),
            allow_missing_interfaces=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']

    # Every check comes before the first write.
    try:
        path = sysctl.validate_sysctl_file(params['sysctl_file'])
        interfaces = sysctl.unique_interfaces(params['interfaces'])
        values = {}
        for key in sysctl.KEY_ORDER:
            if params[key] is not None:
                values[key] = sysctl.validate_value(key, params[key])
    except sysctl.SysctlError as exc:
        module.fail_json(msg=to_native(exc))

    if not os.path.isdir(os.path.join(PROC_SYS, sysctl.CONF_DIR)):
        module.fail_json(msg='%s does not exist: IPv4 is not available on this host'
                         % os.path.join(PROC_SYS, sysctl.CONF_DIR))

    existing = set(sysctl.list_interfaces(PROC_SYS))
    missing = [name for name in interfaces if name not in existing]
    if missing and state == 'present' and not params['allow_missing_interfaces']:
        module.fail_json(
            msg='interfaces: %s not exist (no %s); create %s first or set allow_missing_interfaces=true'
                % (', '.join(missing) + (' does' if len(missing) == 1 else ' do'),
                   ', '.join(os.path.join(PROC_SYS, sysctl.CONF_DIR, name) for name in missing),
                   'it' if len(missing) == 1 else 'them'),
            missing_interfaces=missing)
    for name in missing:
        if state == 'present':
            module.warn('interface %s does not exist: its settings are only written to %s' % (name, path))

    old_file = persist.read_text(path)
    if os.path.exists(path) and not os.path.isfile(path):
        module.fail_json(msg='sysctl_file: %s exists and is not a regular file' % path)

    result = dict(changed=False, sysctl_file=path, missing_interfaces=missing)

    def present_or_pseudo(key):
        interface = sysctl.split_key_path(key)[0]
        return interface in existing or interface in sysctl.PSEUDO_INTERFACES

    # Keys to put back: with state=absent, those the file set and those the options name; with
    # state=present, those the file set before but no longer does. Either way, to the value the
    # configuration gives them once this call is done (the new file included).
    files = sysctl.config_files(exclude=(path,))
    if state == 'present':
        wanted = sysctl.desired_values(interfaces, values)
        new_file = sysctl.render_file(wanted)
        planned = dict((key, value) for key, value in wanted.items() if present_or_pseudo(key))
        paths = [key for key in sysctl.managed_paths_from_file(old_file or '') if key not in wanted]
        assignments = sysctl.read_assignments(sysctl.with_file(files, path), overrides={path: new_file})
    else:
        new_file = None
        paths = sysctl.managed_paths_from_file(old_file or '')
        paths.extend(key for key in sysctl.desired_values(interfaces, values) if key not in paths)
        assignments = sysctl.read_assignments(files)
    paths = [key for key in paths if present_or_pseudo(key)]
    restore = sysctl.restore_values(paths, assignments)
    if state == 'absent':
        planned = {}
    planned.update((key, restore[key][0]) for key in paths)
    inherited = sysctl.inherited_values(old_file, planned, sorted(existing), assignments,
                                        lambda key: sysctl.read_proc_value(key, PROC_SYS))
    planned.update((key, value) for key, (value, _source) in inherited.items())
    restore.update(inherited)
    paths.extend(sorted(inherited))
    if paths or state == 'absent':
        result['restored'] = dict((key, dict(value=restore[key][0], source=restore[key][1])) for key in paths)

    before = dict((key, sysctl.read_proc_value(key, PROC_SYS)) for key in planned)
    to_write = dict((key, value) for key, value in planned.items() if before[key] != value)
    file_changes = old_file != new_file
    result['changed'] = bool(to_write) or file_changes

    if module._diff:
        result['diff'] = [
            dict(before_header='%s (runtime values)' % os.path.join(PROC_SYS, sysctl.CONF_DIR),
                 after_header='%s (runtime values)' % os.path.join(PROC_SYS, sysctl.CONF_DIR),
                 before=sysctl.render_values(before), after=sysctl.render_values(planned)),
            dict(before_header=path, after_header=path, before=old_file or '', after=new_file or ''),
        ]

    # Permission problems, too, before the first write: a container without its own network
    # namespace has /proc/sys/net read-only.
    for key in to_write:
        full = os.path.join(PROC_SYS, key)
        if not os.access(full, os.W_OK):
            module.fail_json(msg='cannot write %s: it is read-only here (not root, or a container without '
                                 'a writable /proc/sys/net)' % full)
    if file_changes and not os.access(os.path.dirname(path) if os.path.isdir(os.path.dirname(path)) else '/etc', os.W_OK):
        module.fail_json(msg='sysctl_file: cannot write in %s' % os.path.dirname(path))

    if result['changed'] and not module.check_mode:
        changes = [persist.FileChange(path, old_file, new_file)] if file_changes else []
        steps, error = apply(module, to_write, before, changes)
        if error is not None:
            steps.rollback()
            result['settings'] = by_interface(dict((key, sysctl.read_proc_value(key, PROC_SYS)) for key in planned))
            steps.fail(module, error, result, ('written', 'changed_files'))

    def read_after(key):
        if key in planned and (module.check_mode or key in to_write):
            return planned[key]
        return sysctl.read_proc_value(key, PROC_SYS)

    result['settings'] = by_interface(dict((key, read_after(key)) for key in planned))
    result['effective'] = sysctl.effective_report(sysctl.list_interfaces(PROC_SYS), read_after)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
