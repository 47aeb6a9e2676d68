# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules: which are loaded, which a list still needs, and the modules-load.d file.

Private to lvs.cluster (the leading underscore): the kernel_modules module's pure logic.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

PROC_MODULES = '/proc/modules'
# modprobe accepts '-' and '_' alike; the kernel (and /proc/modules) always says '_'
_NAME_RE = re.compile(r'^[A-Za-z0-9_-]{1,55}$')  # MODULE_NAME_LEN is 56 with the NUL


class KernelModuleError(ValueError):
    """Bad input, with a message naming the option and the reason."""


def canonical(name):
    return name.replace('-', '_')


def validate_names(names):
    """The names in their first order, without duplicates (as the kernel spells them)."""
    result = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise KernelModuleError('names[%d]: %r is not a kernel module name (letters, digits, "_" and "-",'
                                    ' at most 55 characters)' % (index, name))
        if canonical(name) not in [canonical(seen) for seen in result]:
            result.append(name)
    return result


def validate_path(path):
    if path is None:
        return None
    if not os.path.isabs(path) or not path.endswith('.conf') or os.path.basename(path) == '.conf':
        raise KernelModuleError('path: %r must be an absolute path ending in ".conf" (systemd-modules-load'
                                ' reads only those)' % path)
    return path


def loaded_modules(text):
    """Module names from the text of /proc/modules (its first column)."""
    return set(line.split(' ', 1)[0] for line in text.splitlines() if line.strip())


def missing(names, loaded):
    return [name for name in names if canonical(name) not in loaded]


def render_file(names, comment):
    lines = ['# %s' % line for line in comment.splitlines()] if comment else []
    return '\n'.join(lines + list(names)) + '\n'
