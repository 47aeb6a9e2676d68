# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steps of a module's whole life in a network namespace, shared by the address and route modules' tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def lifecycle_steps(args, show, files, again=None):
    """Check mode, apply with diff, apply again (with `again`, the same request said another way, if given),
    then absent in check mode, absent, and absent again; `show` and `files` read after check mode, the apply
    and the removal. run_steps gives back twelve results in that order:
    check, show, files, applied, show, files, again, absent_check, gone, show, files, gone_again."""
    return [
        ('module', args, True, True),
        ('sh', show),
        ('sh', files),
        ('module', args, False, True),
        ('sh', show),
        ('sh', files),
        ('module', args if again is None else again),
        ('module', dict(args, state='absent'), True),
        ('module', dict(args, state='absent'), False, True),
        ('sh', show),
        ('sh', files),
        ('module', dict(args, state='absent')),
    ]
