# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's values for the host's OS family: package names, paths, groups and unit details that differ
between Debian's packages and the RHEL family's.

Ansible's facts name the family already (Ubuntu is Debian; Rocky, Alma, CentOS, Fedora, Oracle Linux and
openEuler are RedHat), so the choice is by ansible_facts.os_family. Private to this collection: its
interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

# The family whose values stand in before the role has read the facts: a role's argument validation
# templates its defaults before its first task (the one that reads the OS family) has run.
BEFORE_FACTS = 'Debian'


def values(by_family, facts, role):
    """by_family[os_family] for these facts; raises PlanError naming the role's variables to set when no
    entry fits the family."""
    if not isinstance(by_family, dict) or not by_family:
        raise PlanError('%s: the per-OS values must be a mapping of OS family to values' % role)
    family = (facts or {}).get('os_family') if isinstance(facts, dict) else None
    if not family:
        family = BEFORE_FACTS
    if family not in by_family:
        names = sorted(set(name for entry in by_family.values() for name in entry))
        raise PlanError('%s knows the values of the OS families %s, not of %s (ansible_facts.os_family): set %s '
                        'for this host yourself' % (role, ', '.join(sorted(by_family)), family,
                                                    ', '.join('%s_%s' % (role, name) for name in names)))
    return by_family[family]
