# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/status.yml: the estate's status, and its view for a terminal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.plugin_utils import _status
from ansible_collections.lvs.cluster.plugins.plugin_utils._filter_errors import refusing


@refusing('bad estate')
def estate_status(services, observed, directors):
    """The expanded estate set against what each host showed: VIP holders, real servers per director, findings."""
    return _status.estate_status(services, dict(observed), list(directors))


def estate_status_text(status):
    """estate_status as lines for a terminal."""
    return _status.status_text(status)


class FilterModule(object):
    def filters(self):
        return {
            'estate_status': estate_status,
            'estate_status_text': estate_status_text,
        }
