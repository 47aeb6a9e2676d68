#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: kernel_modules
short_description: Load kernel modules now and at boot (IPVS, its schedulers, tunnels)
version_added: 0.2.0
description:
  - Loads the kernel modules of O(names) that are not loaded yet, then writes them to O(path), a
    C(modules-load.d) file that C(systemd-modules-load) reads at boot. One call for the whole list.
  - Whether a module is loaded is read from C(/proc/modules), not asked of C(modprobe), because in a
    container C(modprobe) cannot see C(/sys/module) and would try (and fail) to insert a module the host
    kernel has loaded already.
  - The kernel is changed first and the file written last, so a module that cannot be loaded leaves the
    file as it was and fails the task naming the module.
  - Modules are never unloaded (other users may hold them); O(state=absent) only removes O(path), so they
    are no longer loaded at the next boot.
options:
  names:
    description:
      - The modules, for example C(ip_vs), C(ip_vs_wlc), C(ipip). C(-) and C(_) are the same to the kernel.
      - Required with O(state=present).
    type: list
    elements: str
    default: []
  path:
    description:
      - The C(modules-load.d) file that lists O(names) for the next boot, for example
        C(/etc/modules-load.d/lvs-cluster-director.conf). Must be absolute and end in C(.conf).
      - When omitted the modules are only loaded now.
      - Required with O(state=absent).
    type: path
  comment:
    description: The comment the file starts with (one C(#) line per line of text).
    type: str
    default: Written by Ansible (lvs.cluster.kernel_modules).
  state:
    description:
      - V(present) loads O(names) and writes O(path).
      - V(absent) removes O(path); nothing is unloaded.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reports the modules that would be loaded and the file that would change; changes nothing.
  diff_mode:
    support: full
    description: The file before and after.
  platform:
    support: full
    platforms: linux
    description: Linux only (C(/proc/modules), C(modules-load.d)).
requirements:
  - C(modprobe) (kmod) where a module is not loaded yet.
author:
  - lvs.cluster contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: IPVS and the schedulers the services use, now and at boot
  lvs.cluster.kernel_modules:
    names: [ip_vs, ip_vs_wlc, ip_vs_sh]
    path: /etc/modules-load.d/lvs-cluster-director.conf
    comment: Written by lvs.cluster.director from the virtual services of the estate.

- name: Stop loading them at boot
  lvs.cluster.kernel_modules:
    path: /etc/modules-load.d/lvs-cluster-director.conf
    state: absent
'''

RETURN = r'''
loaded:
  description: The modules this call loaded (would load, in check mode).
  returned: always
  type: list
  elements: str
  sample: [ip_vs_sh]
path:
  description: The C(modules-load.d) file, when one was given.
  returned: when O(path) is given
  type: str
  sample: /etc/modules-load.d/lvs-cluster-director.conf
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.lvs.cluster.plugins.module_utils import _kernel_modules as kmod
from ansible_collections.lvs.cluster.plugins.module_utils import _persist as persist


def main():
    module = AnsibleModule(
        argument_spec=dict(
            names=dict(type='list', elements='str', default=[]),
            path=dict(type='path'),
            comment=dict(type='str', default='Written by Ansible (lvs.cluster.kernel_modules).'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        required_if=[('state', 'absent', ['path'])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        names = kmod.validate_names(params['names'])
        path = kmod.validate_path(params['path'])
    except kmod.KernelModuleError as exc:
        module.fail_json(msg=to_native(exc))
    if params['state'] == 'present' and not names:
        module.fail_json(msg='names: give at least one module with state=present')

    result = dict(changed=False, loaded=[])
    if path:
        result['path'] = path
        if os.path.exists(path) and not os.path.isfile(path):
            module.fail_json(msg='path: %s exists and is not a regular file' % path)

    if params['state'] == 'present':
        to_load = kmod.missing(names, kmod.loaded_modules(persist.read_text(kmod.PROC_MODULES) or ''))
        new_file = kmod.render_file(names, params['comment']) if path else None
    else:
        to_load, new_file = [], None
    old_file = persist.read_text(path) if path else None
    file_changes = bool(path) and old_file != new_file
    result['changed'] = bool(to_load) or file_changes
    result['loaded'] = to_load
    if module._diff and path:
        result['diff'] = dict(before_header=path, after_header=path, before=old_file or '', after=new_file or '')
    if module.check_mode or not result['changed']:
        module.exit_json(**result)

    # The kernel first, the file last: a module that cannot be loaded leaves the boot list as it was.
    done = []
    for name in to_load:
        rc, out, err = module.run_command(['modprobe', '--', name], environ_update=dict(LANG='C', LC_ALL='C'))
        if rc != 0:
            module.fail_json(msg='names: cannot load %s: modprobe said %s' % (name, (err or out).strip() or 'rc %d' % rc),
                             loaded=done, changed=bool(done))
        done.append(name)
    if file_changes:
        try:
            persist.put_file(module, path, new_file)
        except (IOError, OSError) as exc:
            module.fail_json(msg='path: cannot write %s: %s' % (path, to_native(exc)), loaded=done, changed=bool(done))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
